//! Shards and merges: a run split over machines by scenario range, each
//! part carrying what made it, and the parts checked and joined again.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::control::{Cancelled, Control};
use super::engine::engine_for;
use super::model::Model;
use super::raw::Raw;
use super::spec::Spec;
use super::stats;

/// The scenario range of shard `k` of `n` (0-based k).
pub fn shard_range(scenarios: u64, k: u64, n: u64) -> Range<u64> {
    let a = (u128::from(scenarios) * u128::from(k) / u128::from(n)) as u64;
    let b = (u128::from(scenarios) * u128::from(k + 1) / u128::from(n)) as u64;
    a..b
}

/// A shard's output: the spec, which shard, what made it, and its raw
/// outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Format tag.
    pub format: String,
    /// The spec every shard must share.
    pub spec: Spec,
    /// Shard index (0-based).
    pub shard: u64,
    /// Number of shards.
    pub shards: u64,
    /// The smefin version that ran it: versions may draw differently.
    pub smefin_version: String,
    /// [`inputs_digest`] of the spec (seed and scenario count included),
    /// the loan book's CSV and the smefin version.
    pub digest: String,
    /// Raw outcomes of the shard's scenarios.
    pub raw: Raw,
    /// Sector losses of the shard's own worst scenarios (every one that can
    /// be among the whole run's worst), so that the merge need not simulate
    /// them again: (scenario index, loss by sector).
    #[serde(default)]
    pub tail_sectors: Vec<(u64, Vec<i64>)>,
}

/// The scenarios of a shard that can be among the worst `1 − alpha` of a
/// run of `total` scenarios: those at least as bad as the shard's own m-th
/// worst, m being the whole run's tail count. (Plain Monte Carlo; under
/// importance sampling the tail is weighted, and the merge simulates it.)
fn tail_candidates(raw: &Raw, total: u64, alpha: f64) -> Vec<usize> {
    if raw.weight.is_some() || raw.is_empty() {
        return Vec::new();
    }
    let m = (stats::ceil_tol(stats::tail_mass(total as usize, alpha)) as usize).clamp(1, raw.len());
    let mut sorted = raw.loss.clone();
    let (_, &mut t, _) = sorted.select_nth_unstable_by(m - 1, |a, b| b.cmp(a));
    (0..raw.len()).filter(|&i| raw.loss[i] >= t).collect()
}

/// Tag of part files.
pub const PART_FORMAT: &str = "smefin-riskpool-part/3";

/// This build's version, as part files record it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// SHA-256 (hex) of everything that decides a run's outcomes: the spec as
/// JSON (its seed and scenario count among its fields), the text of the loan
/// book CSV it names, and the smefin version.
pub fn inputs_digest(spec: &Spec, book_csv: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(spec).unwrap_or_default());
    h.update([0]);
    h.update(book_csv.unwrap_or("").as_bytes());
    h.update([0]);
    h.update(VERSION.as_bytes());
    hex::encode(h.finalize())
}

/// Runs one shard; `book_csv` is the text of the loan CSV the spec names
/// (for the digest).
pub fn run_shard(
    model: &Model,
    book_csv: Option<&str>,
    k: u64,
    n: u64,
    threads: usize,
    control: &Control,
) -> Result<Part, Cancelled> {
    let engine = engine_for(model);
    let raw = engine.run(shard_range(model.spec().scenarios, k, n), threads, control)?;
    // The merge's risk contributions need the sector losses of the run's
    // worst scenarios; each shard computes its own candidates, in parallel
    // with the others, rather than the merge alone computing them all.
    let tail_sectors = if engine.sectors() > 1 {
        use rayon::prelude::*;
        tail_candidates(&raw, model.spec().scenarios, model.spec().output.tail_level)
            .par_iter()
            .map(|&i| {
                control.check()?;
                let g = raw.start + i as u64;
                Ok((g, engine.sector_losses(g)))
            })
            .collect::<Result<Vec<_>, Cancelled>>()?
    } else {
        Vec::new()
    };
    Ok(Part {
        format: PART_FORMAT.into(),
        spec: model.spec().clone(),
        shard: k,
        shards: n,
        smefin_version: VERSION.into(),
        digest: inputs_digest(model.spec(), book_csv),
        raw,
        tail_sectors,
    })
}

/// Why parts could not be merged; each names the part files concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No parts.
    #[error("no parts given")]
    Empty,
    /// A part is not a part file of the kind being merged.
    #[error("{0}: not a {1} file")]
    Format(String, &'static str),
    /// A part belongs to another run.
    #[error("{part}: not the same run as {first}: {what}")]
    Mixed {
        /// The part.
        part: String,
        /// The first part, which the others are compared with.
        first: String,
        /// What differs.
        what: String,
    },
    /// A shard was given twice.
    #[error("shard {shard} of {shards} is given twice: {a} and {b}")]
    Twice {
        /// Shard index.
        shard: u64,
        /// Number of shards.
        shards: u64,
        /// One file.
        a: String,
        /// The other.
        b: String,
    },
    /// Shards are missing.
    #[error("{count} of {shards} shards missing: {}", list(missing, *count))]
    Missing {
        /// The first missing shard indices (at most 20).
        missing: Vec<u64>,
        /// How many are missing.
        count: u64,
        /// Number of shards.
        shards: u64,
    },
    /// The parts were run on another loan book or by another smefin.
    #[error("{0}")]
    Inputs(String),
    /// A part's outcomes do not match its shard.
    #[error("{part}: {reason}")]
    Mismatch {
        /// The part.
        part: String,
        /// What is wrong.
        reason: String,
    },
}

/// `0, 3, 5` (the first 20 of `count`).
fn list(v: &[u64], count: u64) -> String {
    let mut s: Vec<String> = v.iter().take(20).map(u64::to_string).collect();
    if count > s.len() as u64 {
        s.push(format!("… ({} more)", count - s.len() as u64));
    }
    s.join(", ")
}

/// What `merge` needs of a part file, of a simulation or of a stress grid.
pub trait Sharded {
    /// The format tag this kind of part must carry.
    const FORMAT: &'static str;
    /// The format tag it carries.
    fn format(&self) -> &str;
    /// Shard index (0-based) and number of shards.
    fn shard(&self) -> (u64, u64);
    /// What differs between two parts' runs (None: the same run), first
    /// the cause a user can act on.
    fn run_difference(&self, other: &Self) -> Option<String>;
}

/// What differs between two runs' common inputs.
pub(crate) fn input_difference(
    (a, a_version, a_digest): (&Spec, &str, &str),
    (b, b_version, b_digest): (&Spec, &str, &str),
) -> Option<String> {
    if a_version != b_version {
        return Some(format!("smefin {a_version} against {b_version}"));
    }
    if a.seed != b.seed {
        return Some(format!("seed {} against {}", a.seed, b.seed));
    }
    if a.scenarios != b.scenarios {
        return Some(format!("{} scenarios against {}", a.scenarios, b.scenarios));
    }
    if a != b {
        return Some("the specs differ".into());
    }
    if a_digest != b_digest {
        return Some("the loan books differ (input digests differ)".into());
    }
    None
}

impl Sharded for Part {
    const FORMAT: &'static str = PART_FORMAT;
    fn format(&self) -> &str {
        &self.format
    }
    fn shard(&self) -> (u64, u64) {
        (self.shard, self.shards)
    }
    fn run_difference(&self, o: &Self) -> Option<String> {
        if self.shards != o.shards {
            return Some(format!("{} shards against {}", self.shards, o.shards));
        }
        input_difference(
            (&self.spec, &self.smefin_version, &self.digest),
            (&o.spec, &o.smefin_version, &o.digest),
        )
    }
}

/// Checks that named parts are of one kind and one run and cover every
/// shard exactly once; returns them by shard.
pub fn check_parts<P: Sharded>(
    mut parts: Vec<(String, P)>,
) -> Result<Vec<(String, P)>, MergeError> {
    let Some((first, p0)) = parts.first() else {
        return Err(MergeError::Empty);
    };
    for (name, p) in &parts {
        if p.format() != P::FORMAT {
            return Err(MergeError::Format(name.clone(), P::FORMAT));
        }
        if let Some(what) = p0.run_difference(p) {
            return Err(MergeError::Mixed {
                part: name.clone(),
                first: first.clone(),
                what,
            });
        }
        let (k, n) = p.shard();
        if k >= n {
            return Err(MergeError::Mismatch {
                part: name.clone(),
                reason: format!("shard {k} of {n} does not exist"),
            });
        }
    }
    let shards = p0.shard().1;
    parts.sort_by_key(|(_, p)| p.shard().0);
    for w in parts.windows(2) {
        if w[0].1.shard().0 == w[1].1.shard().0 {
            return Err(MergeError::Twice {
                shard: w[0].1.shard().0,
                shards,
                a: w[0].0.clone(),
                b: w[1].0.clone(),
            });
        }
    }
    if parts.len() as u64 != shards {
        // (counted, not listed: a part may claim 10¹⁸ shards)
        let have: std::collections::BTreeSet<u64> =
            parts.iter().map(|(_, p)| p.shard().0).collect();
        return Err(MergeError::Missing {
            missing: (0..shards).filter(|k| !have.contains(k)).take(20).collect(),
            count: shards - have.len() as u64,
            shards,
        });
    }
    Ok(parts)
}

/// Merges the parts of a sharded run into the raw outcomes of the whole run,
/// checking that they are of one run and cover every shard exactly once.
/// Parts are named `part 0`, `part 1`… in errors; [`merge_named`] takes names.
pub fn merge(parts: Vec<Part>) -> Result<(Spec, Raw), MergeError> {
    merge_named(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("part {i}"), p))
            .collect(),
    )
    .map(|m| (m.spec, m.raw))
}

/// A merged run: the spec, every scenario's outcome, and the sector losses
/// of tail scenarios the shards computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The spec.
    pub spec: Spec,
    /// Raw outcomes of every scenario.
    pub raw: Raw,
    /// For [`stats::summarize_with`].
    pub tail_sectors: stats::TailSectors,
    /// The parts' [`inputs_digest`] (they agree on it).
    pub digest: String,
    /// The smefin that wrote them.
    pub smefin_version: String,
}

impl Merged {
    /// Whether `book_csv` (the loan book the spec names, as read now) and
    /// this smefin are the ones the shards ran on: the summary is computed
    /// from them, so both must be the shards' own.
    pub fn check_inputs(&self, book_csv: Option<&str>) -> Result<(), MergeError> {
        if self.digest == inputs_digest(&self.spec, book_csv) {
            return Ok(());
        }
        Err(MergeError::Inputs(if self.smefin_version != VERSION {
            format!(
                "the parts were written by smefin {}; this is smefin {VERSION}: merge with the version that ran them",
                self.smefin_version
            )
        } else {
            match &self.spec.portfolio.csv {
                Some(f) => format!(
                    "the loan book {} is not the one the shards ran on (its digest differs)",
                    f.display()
                ),
                None => "the parts' input digest does not match their spec".to_string(),
            }
        }))
    }
}

/// Checks a part's outcomes for internal consistency before they are
/// merged: every per-scenario column as long as its scenario range, a
/// weight column exactly under importance sampling, periods within the
/// horizon, money that cannot be negative not negative, the banks' loss the
/// loss less the compensation, no more defaults than the book's loans can
/// make (when the spec names them), and histograms that count each
/// scenario once per period. Each refusal names the field.
fn check_raw(raw: &Raw, spec: &Spec) -> Result<(), String> {
    let n = raw
        .end
        .checked_sub(raw.start)
        .ok_or_else(|| format!("raw.end {} is before raw.start {}", raw.end, raw.start))?;
    let columns: [(&str, usize); 7] = [
        ("defaults", raw.defaults.len()),
        ("loss", raw.loss.len()),
        ("compensation", raw.compensation.len()),
        ("unfunded", raw.unfunded.len()),
        ("bank_loss", raw.bank_loss.len()),
        ("exhausted_period", raw.exhausted_period.len()),
        ("breaker_period", raw.breaker_period.len()),
    ];
    for (name, len) in columns {
        if len as u64 != n {
            return Err(format!(
                "raw.{name} has {len} values for the {n} scenarios {}..{}",
                raw.start, raw.end
            ));
        }
    }
    match (spec.importance_sampling.is_some(), &raw.weight) {
        (true, None) => {
            return Err("raw.weight: no weight column on a run with importance sampling".into());
        }
        (true, Some(w)) if w.len() as u64 != n => {
            return Err(format!(
                "raw.weight has {} values for {n} scenarios",
                w.len()
            ));
        }
        (false, Some(_)) => {
            return Err("raw.weight: a weight column on a run without importance sampling".into());
        }
        _ => {}
    }
    if let Some(w) = raw
        .weight
        .iter()
        .flatten()
        .find(|w| !(w.is_finite() && **w >= 0.0))
    {
        return Err(format!("raw.weight holds {w}, not a likelihood ratio"));
    }
    check_values(raw, spec)?;
    let periods = spec.periods;
    if raw.balance_hist.len() as u64 != u64::from(periods) {
        return Err(format!(
            "raw.balance_hist has {} periods, the spec {periods}",
            raw.balance_hist.len()
        ));
    }
    for (t, row) in raw.balance_hist.iter().enumerate() {
        let sum = row.iter().try_fold(0u64, |a, &c| a.checked_add(c));
        if row.len() != super::raw::BALANCE_BINS || sum != Some(n) {
            return Err(format!(
                "raw.balance_hist[{t}] does not count each of the {n} scenarios once in {} bins",
                super::raw::BALANCE_BINS
            ));
        }
    }
    if !raw.top_ups.is_empty()
        && (raw.top_ups.len() as u64 != u64::from(periods) || raw.top_ups.iter().any(|&c| c > n))
    {
        return Err(format!(
            "raw.top_ups must count at most the {n} scenarios in each of {periods} periods"
        ));
    }
    Ok(())
}

/// The values of a part's columns: periods within the horizon, no
/// negative money, the banks' loss the loss less the compensation, and no
/// more defaults than the book's loans can make.
fn check_values(raw: &Raw, spec: &Spec) -> Result<(), String> {
    let periods = spec.periods;
    for (name, col) in [
        ("exhausted_period", &raw.exhausted_period),
        ("breaker_period", &raw.breaker_period),
    ] {
        if let Some(p) = col.iter().flatten().find(|p| u32::from(p.get()) > periods) {
            return Err(format!(
                "raw.{name} holds period {p}, beyond the horizon of {periods}"
            ));
        }
    }
    for (name, col) in [("loss", &raw.loss), ("unfunded", &raw.unfunded)] {
        if let Some(v) = col.iter().find(|&&v| v < 0) {
            return Err(format!("raw.{name} holds {v} fen, below 0"));
        }
    }
    let wrong = (0..raw.loss.len())
        .find(|&i| raw.loss[i].checked_sub(raw.compensation[i]) != Some(raw.bank_loss[i]));
    if let Some(i) = wrong {
        return Err(format!(
            "raw.bank_loss of scenario {} is not its loss less its compensation",
            raw.start + i as u64
        ));
    }
    if spec.portfolio.csv.is_none() {
        let loans: u64 = spec.portfolio.loans.len() as u64
            + spec.portfolio.segments.iter().map(|s| s.count).sum::<u64>();
        let most = loans.saturating_mul(u64::from(periods.max(1)));
        if let Some(d) = raw.defaults.iter().find(|&&d| u64::from(d) > most) {
            return Err(format!(
                "raw.defaults holds {d} defaults, more than the book's {loans} loans can make in {periods} periods"
            ));
        }
    }
    Ok(())
}

/// [`merge`] with a name (the file) for each part.
pub fn merge_named(parts: Vec<(String, Part)>) -> Result<Merged, MergeError> {
    for (name, p) in &parts {
        check_raw(&p.raw, &p.spec).map_err(|reason| MergeError::Mismatch {
            part: name.clone(),
            reason,
        })?;
    }
    let parts = check_parts(parts)?;
    for (name, p) in &parts {
        let want = shard_range(p.spec.scenarios, p.shard, p.shards);
        if p.raw.start != want.start
            || p.raw.end != want.end
            || p.raw.len() as u64 != want.end - want.start
        {
            return Err(MergeError::Mismatch {
                part: name.clone(),
                reason: format!(
                    "holds scenarios {}..{}, shard {} of {} is {:?}",
                    p.raw.start, p.raw.end, p.shard, p.shards, want
                ),
            });
        }
    }
    for (name, p) in &parts {
        // a part vouches only for its own scenarios
        if let Some((i, _)) = p
            .tail_sectors
            .iter()
            .find(|(i, _)| !p.raw.range().contains(i))
        {
            return Err(MergeError::Mismatch {
                part: name.clone(),
                reason: format!(
                    "holds the sector losses of scenario {i}, outside its scenarios {}..{}",
                    p.raw.start, p.raw.end
                ),
            });
        }
    }
    let first = parts[0].0.clone();
    let spec = parts[0].1.spec.clone();
    let (digest, smefin_version) = (parts[0].1.digest.clone(), parts[0].1.smefin_version.clone());
    let mut tail_sectors = stats::TailSectors::new();
    let mut raw: Option<Raw> = None;
    for (_, p) in parts {
        tail_sectors.extend(p.tail_sectors);
        match &mut raw {
            None => raw = Some(p.raw),
            Some(r) => r.append(p.raw).map_err(|reason| MergeError::Mismatch {
                part: first.clone(),
                reason,
            })?,
        }
    }
    Ok(Merged {
        spec,
        raw: raw.unwrap_or_default(),
        tail_sectors,
        digest,
        smefin_version,
    })
}
