//! The simulation spec (TOML or JSON, same field names) and its compilation
//! into a validated [`Model`].
//!
//! Every problem is reported with its field path (`portfolio.loans[3].pd`,
//! `dependence.rho`), all at once.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::scenarios::{self, Preset};
use crate::enterprise::FieldViolation;
use crate::money::Yuan;

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
    /// Most periods.
    pub max_periods: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_loans: 1_000_000,
            max_scenarios: 20_000_000,
            max_periods: 120,
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
#[error("invalid spec: {}", crate::enterprise::describe_all(.violations))]
pub struct SpecError {
    /// Every problem found.
    pub violations: Vec<FieldViolation>,
}

impl SpecError {
    fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
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

    /// Reads a spec file: JSON when it ends in `.json`, TOML otherwise, or
    /// the built-in default for the name `default`.
    pub fn from_path(path: &Path) -> Result<Spec, SpecError> {
        if path.as_os_str() == "default" {
            return Spec::from_toml(DEFAULT_SPEC_TOML);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::one("(file)", format!("{}: {e}", path.display())))?;
        let mut spec = if path.extension().is_some_and(|e| e == "json") {
            Spec::from_json(&text)?
        } else {
            Spec::from_toml(&text)?
        };
        // A relative CSV path is relative to the spec file.
        if let (Some(csv), Some(dir)) = (&spec.portfolio.csv, path.parent()) {
            if csv.is_relative() {
                spec.portfolio.csv = Some(dir.join(csv));
            }
        }
        Ok(spec)
    }
}

/// LGD of a compiled loan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lgd {
    /// Fixed.
    Fixed(f64),
    /// Beta(a, b).
    Beta(f64, f64),
}

impl Lgd {
    /// The mean LGD.
    pub fn mean(self) -> f64 {
        match self {
            Lgd::Fixed(x) => x,
            Lgd::Beta(a, b) => a / (a + b),
        }
    }
}

/// A compiled loan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loan {
    /// Exposure, fen.
    pub amount_fen: i64,
    /// Annual PD after the scenario.
    pub pd: f64,
    /// LGD after the scenario.
    pub lgd: Lgd,
    /// Sector index.
    pub sector: u16,
    /// Term in periods (≥ 1).
    pub term_periods: u32,
    /// Global asset correlation ρ after the scenario.
    pub rho: f64,
}

/// A compiled, validated model: everything the engine needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The spec it came from (for reports and shard files).
    pub spec: Spec,
    /// The resolved preset.
    pub preset: Preset,
    /// Loans.
    pub loans: Vec<Loan>,
    /// Sector names, by index.
    pub sectors: Vec<String>,
    /// Capital, fen.
    pub capital_fen: i64,
    /// Per-loan cap, fen.
    pub cap_fen: Option<i64>,
}

impl Model {
    /// Total exposure, fen.
    pub fn exposure_fen(&self) -> i64 {
        self.loans.iter().map(|l| l.amount_fen).sum()
    }
}

fn check_prob(errs: &mut Vec<FieldViolation>, field: &str, v: f64, lo_open: bool, hi_open: bool) {
    let bad = !v.is_finite()
        || !(0.0..=1.0).contains(&v)
        || (lo_open && v <= 0.0)
        || (hi_open && v >= 1.0);
    if bad {
        let range = match (lo_open, hi_open) {
            (false, false) => "[0, 1]",
            (false, true) => "[0, 1)",
            (true, false) => "(0, 1]",
            (true, true) => "(0, 1)",
        };
        errs.push(FieldViolation::new(field, format!("{v} is not in {range}")));
    }
}

fn lgd_of(errs: &mut Vec<FieldViolation>, field: &str, l: LgdSpec, shift: f64) -> Lgd {
    match l {
        LgdSpec::Fixed(x) => {
            check_prob(errs, field, x, false, false);
            Lgd::Fixed((x + shift).clamp(0.0, 1.0))
        }
        LgdSpec::Beta { mean, sd } => {
            check_prob(errs, &format!("{field}.mean"), mean, true, true);
            let m = (mean + shift).clamp(1e-6, 1.0 - 1e-6);
            let v = sd * sd;
            if !sd.is_finite() || sd <= 0.0 || v >= m * (1.0 - m) {
                errs.push(FieldViolation::new(
                    format!("{field}.sd"),
                    format!(
                        "{sd} must be > 0 and below √(mean·(1−mean)) = {:.4}",
                        (m * (1.0 - m)).sqrt()
                    ),
                ));
                return Lgd::Fixed(m);
            }
            let common = m * (1.0 - m) / v - 1.0;
            Lgd::Beta(m * common, (1.0 - m) * common)
        }
    }
}

/// Basel IRB correlation for corporate exposures with the SME firm-size
/// adjustment (BCBS 2006, ¶272–273): with k = (1 − e^{−50·PD})/(1 − e^{−50}),
/// ρ = 0.12·k + 0.24·(1 − k) − 0.04·(1 − (S − 5)/45), S = turnover in €m
/// clamped to [5, 50].
pub fn basel_sme_rho(pd: f64, turnover_eur_m: f64) -> f64 {
    let k = (1.0 - (-50.0 * pd).exp()) / (1.0 - (-50.0f64).exp());
    let s = turnover_eur_m.clamp(5.0, 50.0);
    0.12 * k + 0.24 * (1.0 - k) - 0.04 * (1.0 - (s - 5.0) / 45.0)
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

/// The fields a loan and a segment share: all of a loan but its amount.
struct LoanTemplateSpec<'a> {
    pd: f64,
    lgd: LgdSpec,
    sector: &'a str,
    term_months: u32,
    turnover: Option<Yuan>,
}

impl<'a> LoanTemplateSpec<'a> {
    fn of_loan(l: &'a LoanSpec) -> Self {
        LoanTemplateSpec {
            pd: l.pd,
            lgd: l.lgd,
            sector: &l.sector,
            term_months: l.term_months,
            turnover: l.turnover,
        }
    }
    fn of_segment(s: &'a SegmentSpec) -> Self {
        LoanTemplateSpec {
            pd: s.pd,
            lgd: s.lgd,
            sector: &s.sector,
            term_months: s.term_months,
            turnover: s.turnover,
        }
    }
}

/// Splits `total` fen over `weights` exactly: floor shares, then the
/// remaining fen to the largest remainders (ties by index).
fn split_exact(total: i64, weights: &[f64]) -> Vec<i64> {
    let sum: f64 = weights.iter().sum();
    let raw: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut out: Vec<i64> = raw.iter().map(|r| r.floor() as i64).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (raw[b] - raw[b].floor())
            .total_cmp(&(raw[a] - raw[a].floor()))
            .then(a.cmp(&b))
    });
    let mut k = 0;
    while left > 0 && !order.is_empty() {
        out[order[k % order.len()]] += 1;
        left -= 1;
        k += 1;
    }
    out
}

impl Model {
    /// Validates a spec against limits and compiles it.
    pub fn compile(spec: &Spec, limits: &Limits) -> Result<Model, SpecError> {
        let mut errs = Vec::new();
        if spec.scenarios == 0 || spec.scenarios > limits.max_scenarios {
            errs.push(FieldViolation::new(
                "scenarios",
                format!("{} is not in 1..={}", spec.scenarios, limits.max_scenarios),
            ));
        }
        if spec.periods == 0 || spec.periods > limits.max_periods {
            errs.push(FieldViolation::new(
                "periods",
                format!("{} is not in 1..={}", spec.periods, limits.max_periods),
            ));
        }
        if !matches!(spec.periods_per_year, 1 | 2 | 4 | 12) {
            errs.push(FieldViolation::new(
                "periods_per_year",
                "must be 1, 2, 4 or 12",
            ));
        }
        if !spec.factor_ar.is_finite() || spec.factor_ar.abs() >= 1.0 {
            errs.push(FieldViolation::new(
                "factor_ar",
                format!("{} is not in (−1, 1)", spec.factor_ar),
            ));
        }
        let p = &spec.pool;
        if p.capital.0.is_zero() {
            errs.push(FieldViolation::new(
                "pool.capital",
                "must be greater than zero",
            ));
        }
        check_prob(
            &mut errs,
            "pool.compensation_share",
            p.compensation_share,
            false,
            false,
        );
        if let Some(b) = &p.breaker {
            if let Some(r) = b.default_rate {
                check_prob(&mut errs, "pool.breaker.default_rate", r, true, false);
            }
            if let Some(r) = b.compensation_ratio {
                if !r.is_finite() || r <= 0.0 {
                    errs.push(FieldViolation::new(
                        "pool.breaker.compensation_ratio",
                        format!("{r} must be > 0"),
                    ));
                }
            }
        }
        if let Some(t) = &p.top_up {
            if t.refill_to < t.below {
                errs.push(FieldViolation::new(
                    "pool.top_up.refill_to",
                    "must be at least `below`",
                ));
            }
        }
        let d = &spec.dependence;
        let preset = match scenarios::resolve(&spec.scenario) {
            Ok(p) => p,
            Err((f, m)) => {
                errs.push(FieldViolation::new(f, m));
                Preset::baseline()
            }
        };
        if !d.basel_sme {
            check_prob(&mut errs, "dependence.rho", d.rho, false, true);
        }
        check_prob(
            &mut errs,
            "dependence.sector_rho",
            d.sector_rho,
            false,
            true,
        );
        if d.copula == Copula::T && (!d.nu.is_finite() || d.nu <= 2.0 || d.nu > 1000.0) {
            errs.push(FieldViolation::new(
                "dependence.nu",
                format!("{} is not in (2, 1000]", d.nu),
            ));
        }
        if !d.eur_cny.is_finite() || d.eur_cny <= 0.0 {
            errs.push(FieldViolation::new("dependence.eur_cny", "must be > 0"));
        }
        let o = &spec.output;
        if o.histogram_bins == 0 || o.histogram_bins > 10_000 {
            errs.push(FieldViolation::new(
                "output.histogram_bins",
                "must be in 1..=10000",
            ));
        }
        if !o.histogram_max_rate.is_finite()
            || o.histogram_max_rate <= 0.0
            || o.histogram_max_rate > 1.0
        {
            errs.push(FieldViolation::new(
                "output.histogram_max_rate",
                "must be in (0, 1]",
            ));
        }
        check_prob(&mut errs, "output.tail_level", o.tail_level, true, true);
        if let Some(is) = &spec.importance_sampling {
            if spec.periods != 1 || d.copula != Copula::Gaussian || d.sector_rho > 0.0 {
                errs.push(FieldViolation::new(
                    "importance_sampling",
                    "needs a single period, the Gaussian copula and no sector factors",
                ));
            }
            if let Some(s) = is.shift {
                if !s.is_finite() || s.abs() > 10.0 {
                    errs.push(FieldViolation::new(
                        "importance_sampling.shift",
                        format!("{s} is not in [−10, 10]"),
                    ));
                }
            }
        }

        // The book.
        let mut specs: Vec<(String, LoanSpec)> = Vec::new();
        for (i, l) in spec.portfolio.loans.iter().enumerate() {
            specs.push((format!("portfolio.loans[{i}]"), l.clone()));
        }
        if let Some(csv) = &spec.portfolio.csv {
            match std::fs::read_to_string(csv) {
                Ok(text) => match loans_from_csv(&text, "portfolio.csv") {
                    Ok(ls) => {
                        for (i, l) in ls.into_iter().enumerate() {
                            specs.push((format!("portfolio.csv:{}", i + 2), l));
                        }
                    }
                    Err(e) => errs.extend(e.violations),
                },
                Err(e) => errs.push(FieldViolation::new(
                    "portfolio.csv",
                    format!("{}: {e}", csv.display()),
                )),
            }
        }
        let mut total_count: u64 = specs.len() as u64;
        for (si, s) in spec.portfolio.segments.iter().enumerate() {
            total_count = total_count.saturating_add(s.count);
            let f = format!("portfolio.segments[{si}]");
            if s.count == 0 {
                errs.push(FieldViolation::new(
                    format!("{f}.count"),
                    "must be at least 1",
                ));
            }
            if !s.size_sigma.is_finite() || s.size_sigma < 0.0 || s.size_sigma > 5.0 {
                errs.push(FieldViolation::new(
                    format!("{f}.size_sigma"),
                    "must be in [0, 5]",
                ));
            }
            match (s.amount, s.total) {
                (Some(_), Some(_)) => errs.push(FieldViolation::new(
                    f.clone(),
                    "give either `amount` (per loan) or `total`, not both",
                )),
                (None, None) => errs.push(FieldViolation::new(
                    f.clone(),
                    "needs `amount` (per loan) or `total`",
                )),
                (Some(_), None) if s.size_sigma > 0.0 => errs.push(FieldViolation::new(
                    format!("{f}.size_sigma"),
                    "lognormal sizes need `total`",
                )),
                _ => {}
            }
        }
        if total_count == 0 {
            errs.push(FieldViolation::new(
                "portfolio",
                "has no loans (give loans, csv or segments)",
            ));
        }
        if total_count > limits.max_loans {
            errs.push(FieldViolation::new(
                "portfolio",
                format!(
                    "{total_count} loans exceed the limit of {}",
                    limits.max_loans
                ),
            ));
            return Err(SpecError { violations: errs });
        }
        // Every field of a loan but its amount, validated once per loan spec
        // or per segment (so a bad segment is reported once, and a segment of
        // a million loans is checked once, not a million times).
        let mut sectors: Vec<String> = Vec::new();
        let months_per_period = 12 / spec.periods_per_year.max(1);
        let mut template =
            |field: &str, l: &LoanTemplateSpec<'_>, errs: &mut Vec<FieldViolation>| -> Loan {
                check_prob(errs, &format!("{field}.pd"), l.pd, false, false);
                if l.term_months == 0 || l.term_months > 600 {
                    errs.push(FieldViolation::new(
                        format!("{field}.term_months"),
                        "must be in 1..=600",
                    ));
                }
                let sector_mult = if spec.scenario.shock_sectors.iter().any(|s| s == l.sector) {
                    preset.sector_pd_multiplier
                } else {
                    1.0
                };
                let pd = (l.pd * preset.pd_multiplier * sector_mult).clamp(0.0, 1.0);
                let lgd = lgd_of(errs, &format!("{field}.lgd"), l.lgd, preset.lgd_shift);
                let rho = if d.basel_sme {
                    let turnover = l
                        .turnover
                        .map_or(5.0, |t| t.to_fen() as f64 / 100.0 / d.eur_cny / 1e6);
                    basel_sme_rho(pd, turnover)
                } else {
                    d.rho
                };
                let rho = (rho + preset.rho_shift).clamp(0.0, 0.999 - d.sector_rho);
                let sector = match sectors.iter().position(|s| s == l.sector) {
                    Some(i) => i,
                    None => {
                        sectors.push(l.sector.to_string());
                        sectors.len() - 1
                    }
                };
                Loan {
                    amount_fen: 0,
                    pd,
                    lgd,
                    sector: u16::try_from(sector).unwrap_or(u16::MAX),
                    term_periods: l.term_months.div_ceil(months_per_period).max(1),
                    rho,
                }
            };
        let mut loans = Vec::with_capacity(usize::try_from(total_count).unwrap_or(0));
        for (field, l) in &specs {
            let t = template(field, &LoanTemplateSpec::of_loan(l), &mut errs);
            loans.push(Loan {
                amount_fen: l.amount.to_fen(),
                ..t
            });
        }
        // Segment sizes are drawn from the seed's last stream, so the book is
        // the same whatever the scenario count or sharding.
        let mut size_rng = ChaCha8Rng::seed_from_u64(spec.seed);
        size_rng.set_stream(u64::MAX);
        for (si, s) in spec.portfolio.segments.iter().enumerate() {
            let amounts: Vec<i64> = match (s.amount, s.total) {
                (Some(a), None) => vec![a.to_fen(); s.count as usize],
                (None, Some(t)) => {
                    let w: Vec<f64> = (0..s.count)
                        .map(|_| {
                            let z: f64 = StandardNormal.sample(&mut size_rng);
                            (s.size_sigma * z).exp()
                        })
                        .collect();
                    split_exact(t.to_fen(), &w)
                }
                // reported above
                _ => continue,
            };
            let t = template(
                &format!("portfolio.segments[{si}]"),
                &LoanTemplateSpec::of_segment(s),
                &mut errs,
            );
            loans.extend(amounts.into_iter().map(|a| Loan { amount_fen: a, ..t }));
        }
        if sectors.len() > u16::MAX as usize {
            errs.push(FieldViolation::new(
                "portfolio",
                "too many sectors (at most 65535)",
            ));
        }
        if !errs.is_empty() {
            return Err(SpecError { violations: errs });
        }
        Ok(Model {
            spec: spec.clone(),
            preset,
            loans,
            sectors,
            capital_fen: p.capital.to_fen(),
            cap_fen: p.per_loan_cap.map(Yuan::to_fen),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_compiles_to_the_gongxintong_pool() {
        let spec = Spec::from_toml(DEFAULT_SPEC_TOML).unwrap();
        let m = Model::compile(&spec, &Limits::default()).unwrap();
        assert_eq!(m.capital_fen, 3_000_000_000);
        assert_eq!(m.exposure_fen(), 60_000_000_000);
        assert_eq!(m.loans.len(), 2000);
    }

    #[test]
    fn lognormal_sizes_sum_exactly_to_the_total() {
        let spec = Spec::from_toml(
            r#"
            [[portfolio.segments]]
            count = 777
            total = "6亿"
            size_sigma = 1.0
            pd = 0.02
            "#,
        )
        .unwrap();
        let m = Model::compile(&spec, &Limits::default()).unwrap();
        assert_eq!(m.exposure_fen(), 60_000_000_000);
        let max = m.loans.iter().map(|l| l.amount_fen).max().unwrap();
        let min = m.loans.iter().map(|l| l.amount_fen).min().unwrap();
        assert!(max > 5 * min);
        // the same seed gives the same book
        let m2 = Model::compile(&spec, &Limits::default()).unwrap();
        assert_eq!(m.loans, m2.loans);
    }

    #[test]
    fn bad_specs_name_every_field() {
        let spec = Spec::from_toml(
            r#"
            scenarios = 0
            [pool]
            compensation_share = 1.5
            [dependence]
            rho = 1.0
            [[portfolio.loans]]
            amount = "100万"
            pd = -0.1
            [[portfolio.loans]]
            amount = "100万"
            pd = nan
            lgd = { mean = 0.5, sd = 0.6 }
            "#,
        )
        .unwrap();
        let err = Model::compile(&spec, &Limits::default()).unwrap_err();
        let fields: Vec<&str> = err.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "scenarios",
                "pool.compensation_share",
                "dependence.rho",
                "portfolio.loans[0].pd",
                "portfolio.loans[1].pd",
                "portfolio.loans[1].lgd.sd"
            ]
        );
        let e = Spec::from_toml("[pool]\ncapital = \"-5\"\n").unwrap_err();
        assert_eq!(e.violations[0].field, "pool.capital");
        let e = Spec::from_toml("[pool]\ncapitl = \"5\"\n").unwrap_err();
        assert!(e.violations[0].description.contains("capitl"), "{e}");
        let e = Spec::from_json(r#"{"scenarios": 1e12}"#).unwrap_err();
        assert_eq!(e.violations[0].field, "scenarios");
        let spec = Spec {
            scenarios: 1_000_000_000_000,
            ..Spec::from_toml(DEFAULT_SPEC_TOML).unwrap()
        };
        let e = Model::compile(&spec, &Limits::default()).unwrap_err();
        assert_eq!(e.violations[0].field, "scenarios");
    }

    #[test]
    fn a_bad_segment_is_reported_once() {
        let spec =
            Spec::from_toml("[[portfolio.segments]]\ncount = 1000\namount = \"10万\"\npd = 1.5\n")
                .unwrap();
        let err = Model::compile(&spec, &Limits::default()).unwrap_err();
        let fields: Vec<&str> = err.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, vec!["portfolio.segments[0].pd"]);
    }

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

    #[test]
    fn basel_sme_correlation() {
        // large corporates at PD → 0: 0.24; SME adjustment at S = 5: −0.04
        assert!((basel_sme_rho(1e-9, 50.0) - 0.24).abs() < 1e-6);
        assert!((basel_sme_rho(1e-9, 5.0) - 0.20).abs() < 1e-6);
        assert!((basel_sme_rho(1.0, 50.0) - 0.12).abs() < 1e-9);
    }

    #[test]
    fn split_exact_is_exact() {
        let v = split_exact(1001, &[1.0, 1.0, 1.0]);
        assert_eq!(v.iter().sum::<i64>(), 1001);
        assert_eq!(v, vec![334, 334, 333]);
    }
}
