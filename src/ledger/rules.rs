//! Programmes and their dated rule versions, as data: the pool's share of a
//! loss, the caps, the credit scale, the deadlines, the breaker. A loan
//! keeps the version in force on the day it was enrolled.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::kernel::money::Yuan;

/// The built-in programmes (`programmes.toml`).
pub const BUILTIN: &str = include_str!("programmes.toml");

/// One version of a programme's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleVersion {
    /// First day in force.
    pub from: NaiveDate,
    /// The programme's credit scale: most outstanding over every bank.
    pub credit_scale: Yuan,
    /// The pool's share of a loan's loss (0 < share ≤ 1).
    pub pool_share: Decimal,
    /// Most the pool pays on one loan.
    pub coverage_cap: Option<Yuan>,
    /// Most one firm may have outstanding under the programme.
    pub firm_cap: Option<Yuan>,
    /// Most outstanding as a multiple of the capital injected.
    pub leverage_limit: Option<Decimal>,
    /// Days after disbursement within which a loan must be enrolled.
    pub enrol_deadline_days: u32,
    /// Days past due from which a claim may be filed (or charge-off).
    pub claim_trigger_days: u32,
    /// 不良率 (outstanding ≥ the trigger's days past due, over all
    /// outstanding) at which the breaker warns.
    pub breaker_warn: Decimal,
    /// 不良率 at which new enrolment stops.
    pub breaker_suspend: Decimal,
    /// Each cooperating bank's credit line under the programme (most it may
    /// have outstanding); a bank not named has only the programme's scale.
    #[serde(default)]
    pub bank_lines: BTreeMap<String, Yuan>,
    /// How the pool's cash is refilled.
    #[serde(default)]
    pub top_up: Option<TopUpRule>,
    /// The texts the figures rest on.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The figures that rest on no text: documented defaults.
    #[serde(default)]
    pub uncertain: Vec<String>,
}

/// How the pool's cash is refilled: to `target` at each year end, and (if
/// `below_share` is set) at once whenever the cash falls below that share
/// of the outstanding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpRule {
    /// The cash the pool is brought back to.
    pub target: Yuan,
    /// Refill at once when cash < this share of the outstanding.
    #[serde(default)]
    pub below_share: Option<Decimal>,
}

impl RuleVersion {
    /// The claim a default with `outstanding` unpaid brings: that × the
    /// pool's share, within the coverage cap; exact (a claim filed is this
    /// to the fen, which the fen-exact cap leaves whole).
    pub fn claim_of(&self, outstanding: Yuan) -> Decimal {
        let c = outstanding.0 * self.pool_share;
        self.coverage_cap.map_or(c, |cap| c.min(cap.0))
    }
}

/// A programme: its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Programme {
    /// Stable id (`gongxintong`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The catalogue product a loan must qualify for.
    pub product_id: String,
    /// Its rule versions, oldest first.
    #[serde(rename = "version")]
    pub versions: Vec<RuleVersion>,
}

impl Programme {
    /// The version in force on `d`, if the programme had begun.
    pub fn version_on(&self, d: NaiveDate) -> Option<&RuleVersion> {
        self.versions.iter().rev().find(|v| v.from <= d)
    }

    /// The version that began on `from`.
    pub fn version_from(&self, from: NaiveDate) -> Option<&RuleVersion> {
        self.versions.iter().find(|v| v.from == from)
    }
}

/// Programmes as a file holds them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Programmes {
    programme: Vec<Programme>,
}

/// Reads programmes from TOML, each checked; the error names the programme,
/// the version and the key.
pub fn parse(text: &str) -> Result<Vec<Programme>, String> {
    let f: Programmes = toml::from_str(text).map_err(|e| e.to_string())?;
    for p in &f.programme {
        check(p)?;
    }
    Ok(f.programme)
}

/// The built-in programmes.
pub fn builtin() -> Vec<Programme> {
    // (checked by a test)
    parse(BUILTIN).unwrap_or_default()
}

fn check(p: &Programme) -> Result<(), String> {
    let at =
        |i: usize, key: &str, why: &str| format!("programme `{}` version[{i}].{key}: {why}", p.id);
    if p.versions.is_empty() {
        return Err(format!("programme `{}`: no version", p.id));
    }
    let one = Decimal::ONE;
    for (i, v) in p.versions.iter().enumerate() {
        if i > 0 && v.from <= p.versions[i - 1].from {
            return Err(at(i, "from", "versions must be in date order"));
        }
        if v.pool_share <= Decimal::ZERO || v.pool_share > one {
            return Err(at(i, "pool_share", "must be above 0 and at most 1"));
        }
        if v.credit_scale <= Yuan::ZERO {
            return Err(at(i, "credit_scale", "must be above zero"));
        }
        let rate_ok = |r: Decimal| r > Decimal::ZERO && r < one;
        if !rate_ok(v.breaker_warn)
            || !rate_ok(v.breaker_suspend)
            || v.breaker_warn > v.breaker_suspend
        {
            return Err(at(
                i,
                "breaker_warn",
                "warn and suspend levels must lie in (0, 1), warn at most suspend",
            ));
        }
        if let Some((bank, _)) = v.bank_lines.iter().find(|(_, y)| **y <= Yuan::ZERO) {
            return Err(at(i, &format!("bank_lines.{bank}"), "must be above zero"));
        }
        if let Some(t) = &v.top_up {
            if t.target <= Yuan::ZERO {
                return Err(at(i, "top_up.target", "must be above zero"));
            }
            if t.below_share
                .is_some_and(|s| s <= Decimal::ZERO || s >= one)
            {
                return Err(at(i, "top_up.below_share", "must lie in (0, 1)"));
            }
        }
        if v.claim_trigger_days == 0 {
            return Err(at(i, "claim_trigger_days", "must be at least 1"));
        }
        if v.sources.is_empty() && v.uncertain.is_empty() {
            return Err(at(
                i,
                "sources",
                "cite the text, or list the figures in `uncertain`",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_programmes_load_and_date_their_scale() {
        let all = parse(BUILTIN).unwrap();
        let g = all.iter().find(|p| p.id == "gongxintong").unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            g.version_on(d("2022-04-26")).unwrap().credit_scale,
            Yuan::parse("3亿").unwrap()
        );
        assert_eq!(
            g.version_on(d("2022-04-27")).unwrap().credit_scale,
            Yuan::parse("6亿").unwrap()
        );
        assert!(g.version_on(d("2021-01-01")).is_none());
        assert!(g.versions.iter().all(|v| !v.uncertain.is_empty()));
    }

    #[test]
    fn bad_versions_are_named() {
        let bad = BUILTIN.replacen("pool_share = \"0.5\"", "pool_share = \"1.5\"", 1);
        let e = parse(&bad).unwrap_err();
        assert!(
            e.contains("programme `gongxintong` version[0].pool_share"),
            "{e}"
        );
        let bad = BUILTIN.replacen("breaker_warn = \"0.03\"", "breaker_warn = \"0.08\"", 1);
        assert!(parse(&bad).unwrap_err().contains("breaker_warn"));
    }
}
