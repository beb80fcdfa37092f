//! The simulation spec (TOML or JSON, same field names), as written: its
//! types, parsing, and the loan CSV reader. [`super::model`] validates it and
//! compiles it into a [`Model`](super::model::Model).
//!
//! Every problem is reported with its field path (`portfolio.loans[3].pd`,
//! `dependence.rho`), all at once.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;

/// The built-in example spec: the 工信通 pool, 3000万 behind 6亿.
pub const DEFAULT_SPEC_TOML: &str = include_str!("default_spec.toml");

/// Limits a spec must respect (configurable in the server and CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most loans in a book.
    pub max_loans: u64,
    /// Most scenarios in one run.
    pub max_scenarios: u64,
    /// Most periods (also the longest `pool.recovery_lag`).
    pub max_periods: u32,
    /// Most memory one run may be estimated to hold, bytes (see
    /// [`super::model::Resources`]).
    pub max_run_bytes: u64,
    /// Most work one request may be estimated to take, in loan-periods ×
    /// scenarios (a grid or solver request counts every run it makes).
    pub max_work: u64,
    /// Most work the exact method may take in one run, in multiply-adds of
    /// its cost model (see [`super::analytic::Cost`]).
    pub max_analytic_work: u64,
}

/// The default of `riskpool.max_analytic_work`, in the cost model's
/// multiply-adds (an upper count: the kernels skip the empty parts of every
/// window, and one core gets through 2–12·10¹⁰ of them a second, measured
/// on five kinds of book): a minute or two of one core at most.
pub const DEFAULT_MAX_ANALYTIC_WORK: u64 = 2_000_000_000_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_loans: 1_000_000,
            max_scenarios: 20_000_000,
            max_periods: 120,
            max_run_bytes: 2 << 30,
            max_work: 2_000_000_000_000,
            max_analytic_work: DEFAULT_MAX_ANALYTIC_WORK,
        }
    }
}

/// A simulation spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Spec {
    /// Seed of every random stream.
    pub seed: u64,
    /// Number of scenarios.
    pub scenarios: u64,
    /// Periods in the horizon (1 = a single period).
    pub periods: u32,
    /// Periods per year (1 annual, 4 quarterly, 12 monthly).
    pub periods_per_year: u32,
    /// AR(1) coefficient φ of the systematic factor across periods.
    pub factor_ar: f64,
    /// The pool.
    pub pool: PoolSpec,
    /// Default dependence.
    pub dependence: DependenceSpec,
    /// Stress scenario.
    pub scenario: ScenarioSpec,
    /// The book.
    pub portfolio: PortfolioSpec,
    /// Output options.
    pub output: OutputSpec,
    /// Importance sampling for rare events (single period, Gaussian copula).
    pub importance_sampling: Option<ImportanceSamplingSpec>,
}

/// Importance sampling: the global factor's mean is shifted to `shift`
/// (Glasserman & Li 2005). Without `shift`, the factor value at which the
/// expected claims equal the pool capital is used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportanceSamplingSpec {
    /// Mean of the shifted factor (negative: towards more defaults).
    pub shift: Option<f64>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            seed: 1,
            scenarios: 100_000,
            periods: 1,
            periods_per_year: 1,
            factor_ar: 0.0,
            pool: PoolSpec::default(),
            dependence: DependenceSpec::default(),
            scenario: ScenarioSpec::default(),
            portfolio: PortfolioSpec::default(),
            output: OutputSpec::default(),
            importance_sampling: None,
        }
    }
}

/// Pool rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolSpec {
    /// Capital at the start.
    pub capital: Yuan,
    /// Share of each net loss the pool pays.
    pub compensation_share: f64,
    /// Most the pool pays for one loan.
    pub per_loan_cap: Option<Yuan>,
    /// Periods between a default and its recovery (0: the net loss is
    /// claimed at once).
    pub recovery_lag: u32,
    /// Refill rule.
    pub top_up: Option<TopUpSpec>,
    /// Circuit breaker (熔断).
    pub breaker: Option<BreakerSpec>,
}

impl Default for PoolSpec {
    fn default() -> Self {
        PoolSpec {
            capital: Yuan::wan(3000),
            compensation_share: 0.5,
            per_loan_cap: None,
            recovery_lag: 0,
            top_up: None,
            breaker: None,
        }
    }
}

/// Refill to `refill_to` at the end of a period when the balance is below
/// `below`, at most `max_per_year` in a year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpSpec {
    /// Trigger.
    pub below: Yuan,
    /// Target.
    pub refill_to: Yuan,
    /// Yearly maximum.
    pub max_per_year: Yuan,
}

/// New lending stops when a threshold is crossed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerSpec {
    /// Cumulative defaulted amount / cumulative amount lent.
    pub default_rate: Option<f64>,
    /// Cumulative compensation paid / capital provided (initial + top-ups).
    pub compensation_ratio: Option<f64>,
}

/// Copula family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Copula {
    /// Gaussian one-factor.
    Gaussian,
    /// Student-t: factor and idiosyncratic parts scaled by the same √(ν/χ²ν).
    T,
}

/// Default dependence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DependenceSpec {
    /// Asset correlation ρ with the global factor (not the loading √ρ).
    pub rho: f64,
    /// Extra correlation ρ_s within a sector (0: no sector factors).
    pub sector_rho: f64,
    /// Copula.
    pub copula: Copula,
    /// Degrees of freedom of the t copula.
    pub nu: f64,
    /// Derive ρ from PD and turnover with the Basel IRB SME formula.
    pub basel_sme: bool,
    /// Yuan per euro, for the Basel turnover adjustment (UNCERTAIN: a
    /// documented default, set it to the rate of the analysis date).
    pub eur_cny: f64,
}

impl Default for DependenceSpec {
    fn default() -> Self {
        DependenceSpec {
            rho: 0.15,
            sector_rho: 0.0,
            copula: Copula::Gaussian,
            nu: 5.0,
            basel_sme: false,
            eur_cny: 7.8,
        }
    }
}

/// The stress scenario: a preset with overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScenarioSpec {
    /// `baseline`, `adverse`, `severe` or `sector_shock`.
    pub preset: String,
    /// Overrides the preset's PD multiplier.
    pub pd_multiplier: Option<f64>,
    /// Overrides the preset's ρ shift.
    pub rho_shift: Option<f64>,
    /// Overrides the preset's LGD shift.
    pub lgd_shift: Option<f64>,
    /// Sectors hit by `sector_shock`.
    pub shock_sectors: Vec<String>,
    /// Overrides the preset's PD multiplier for shocked sectors.
    pub sector_pd_multiplier: Option<f64>,
}

impl Default for ScenarioSpec {
    fn default() -> Self {
        ScenarioSpec {
            preset: "baseline".into(),
            pd_multiplier: None,
            rho_shift: None,
            lgd_shift: None,
            shock_sectors: Vec::new(),
            sector_pd_multiplier: None,
        }
    }
}

/// Loss given default: a fixed fraction or Beta(mean, sd).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LgdSpec {
    /// Fixed.
    Fixed(f64),
    /// Beta with this mean and standard deviation.
    Beta {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        sd: f64,
    },
}

impl Default for LgdSpec {
    fn default() -> Self {
        LgdSpec::Fixed(0.6)
    }
}

/// One loan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoanSpec {
    /// Identifier.
    #[serde(default)]
    pub id: String,
    /// Exposure.
    pub amount: Yuan,
    /// Annual PD.
    pub pd: f64,
    /// LGD.
    #[serde(default)]
    pub lgd: LgdSpec,
    /// Sector.
    #[serde(default)]
    pub sector: String,
    /// Term, months.
    #[serde(default = "twelve")]
    pub term_months: u32,
    /// Annual turnover (for the Basel SME correlation).
    #[serde(default)]
    pub turnover: Option<Yuan>,
}

fn twelve() -> u32 {
    12
}

/// A generated segment of loans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentSpec {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Number of loans.
    pub count: u64,
    /// Each loan's amount (equal sizes).
    #[serde(default)]
    pub amount: Option<Yuan>,
    /// Total of the segment (sizes scaled to it exactly, to the fen).
    #[serde(default)]
    pub total: Option<Yuan>,
    /// σ of lognormal sizes (0: equal sizes); needs `total`.
    #[serde(default)]
    pub size_sigma: f64,
    /// Annual PD.
    pub pd: f64,
    /// LGD.
    #[serde(default)]
    pub lgd: LgdSpec,
    /// Sector.
    #[serde(default)]
    pub sector: String,
    /// Term, months.
    #[serde(default = "twelve")]
    pub term_months: u32,
    /// Annual turnover of each firm (Basel SME correlation).
    #[serde(default)]
    pub turnover: Option<Yuan>,
}

/// The book: explicit loans, a CSV file and generated segments, together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortfolioSpec {
    /// Explicit loans.
    pub loans: Vec<LoanSpec>,
    /// CSV with `id,amount,pd,lgd,sector,term_months`.
    pub csv: Option<PathBuf>,
    /// Generated segments.
    pub segments: Vec<SegmentSpec>,
}

/// Output options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSpec {
    /// Loss histogram bins.
    pub histogram_bins: u32,
    /// Loss rate (loss / exposure) at the top of the last bin.
    pub histogram_max_rate: f64,
    /// Level of VaR, ES and risk contributions.
    pub tail_level: f64,
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            histogram_bins: 80,
            histogram_max_rate: 0.2,
            tail_level: 0.99,
        }
    }
}

/// A spec that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid spec: {}", crate::kernel::violation::describe_all(.violations))]
pub struct SpecError {
    /// Every problem found.
    pub violations: Vec<FieldViolation>,
}

impl SpecError {
    /// One problem.
    pub(crate) fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        SpecError {
            violations: vec![FieldViolation::new(field, description)],
        }
    }
}

impl Spec {
    /// Parses TOML.
    pub fn from_toml(s: &str) -> Result<Spec, SpecError> {
        let v: toml::Value =
            toml::from_str(s).map_err(|e| SpecError::one("(toml)", e.message().to_string()))?;
        serde_path_to_error::deserialize(v).map_err(|e| {
            let path = e.path().to_string();
            SpecError::one(
                path,
                e.into_inner()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
    }

    /// Parses JSON.
    pub fn from_json(s: &str) -> Result<Spec, SpecError> {
        let de = &mut serde_json::Deserializer::from_str(s);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            SpecError::one(path, e.into_inner().to_string())
        })
    }
}

/// Reads loans from CSV text: header `id,amount,pd,lgd,sector,term_months`
/// (`sector` and `term_months` optional columns).
pub fn loans_from_csv(text: &str, origin: &str) -> Result<Vec<LoanSpec>, SpecError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| SpecError::one(origin, e.to_string()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(ci), Some(ca), Some(cp), Some(cl)) =
        (col("id"), col("amount"), col("pd"), col("lgd"))
    else {
        return Err(SpecError::one(
            origin,
            "header must contain id,amount,pd,lgd (and optionally sector,term_months)",
        ));
    };
    let (cs, ct) = (col("sector"), col("term_months"));
    let mut loans = Vec::new();
    let mut errs = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errs.push(FieldViolation::new(
                    format!("{origin}:{row}"),
                    e.to_string(),
                ));
                continue;
            }
        };
        let get = |c: usize| rec.get(c).unwrap_or("");
        let num = |c: usize, name: &str, errs: &mut Vec<FieldViolation>| -> f64 {
            get(c).parse::<f64>().unwrap_or_else(|_| {
                errs.push(FieldViolation::new(
                    format!("{origin}:{row}.{name}"),
                    format!("`{}` is not a number", get(c)),
                ));
                f64::NAN
            })
        };
        let amount = match Yuan::parse(get(ca)) {
            Ok(a) => a,
            Err(e) => {
                errs.push(FieldViolation::new(
                    format!("{origin}:{row}.amount"),
                    e.to_string(),
                ));
                Yuan::ZERO
            }
        };
        let pd = num(cp, "pd", &mut errs);
        let lgd = num(cl, "lgd", &mut errs);
        let term_months = match ct.map(get) {
            None | Some("") => 12,
            Some(t) => t.parse().unwrap_or_else(|_| {
                errs.push(FieldViolation::new(
                    format!("{origin}:{row}.term_months"),
                    format!("`{t}` is not a whole number of months"),
                ));
                12
            }),
        };
        loans.push(LoanSpec {
            id: get(ci).to_string(),
            amount,
            pd,
            lgd: LgdSpec::Fixed(lgd),
            sector: cs.map(get).unwrap_or("").to_string(),
            term_months,
            turnover: None,
        });
    }
    if errs.is_empty() {
        Ok(loans)
    } else {
        Err(SpecError { violations: errs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_loans() {
        let ls = loans_from_csv(
            "id,amount,pd,lgd,sector,term_months\na,100万,0.02,0.6,制造业,12\nb,50万,0.05,0.4,,\n",
            "f",
        )
        .unwrap();
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[1].term_months, 12);
        let e = loans_from_csv("id,amount,pd,lgd\na,x,0.02,y\n", "f").unwrap_err();
        let fields: Vec<&str> = e.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, vec!["f:2.amount", "f:2.lgd"]);
        assert!(loans_from_csv("a,b\n1,2\n", "f").is_err());
    }
}
