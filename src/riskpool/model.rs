//! The compiled model: a [`Spec`] validated against [`Limits`] and turned
//! into what the engine needs (loans in fen, PDs and LGDs after the scenario,
//! correlations).
//!
//! Every problem is reported with its field path (`portfolio.loans[3].pd`,
//! `dependence.rho`), all at once.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::scenarios::{self, Preset};
use super::spec::{
    Copula, LgdSpec, Limits, LoanSpec, SegmentSpec, Spec, SpecError, loans_from_csv,
};
use crate::enterprise::FieldViolation;
use crate::money::Yuan;

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

    /// What one run of this model is estimated to hold and do.
    pub fn resources(&self) -> Resources {
        let sectors = if self.spec.dependence.sector_rho > 0.0 {
            self.sectors.len() as u64
        } else {
            0
        };
        Resources::estimate(
            self.loans.len() as u64,
            sectors,
            u64::from(self.spec.periods),
            self.spec.scenarios,
            u64::from(self.spec.output.histogram_bins),
            self.spec.importance_sampling.is_some(),
        )
    }
}

/// Most money a spec may name, fen: 100万亿 (10¹⁴ yuan), for the capital,
/// the per-loan cap, each top-up figure, one loan, a segment and the whole
/// book. A run's sums over 120 periods of re-lending then stay far below
/// i64's 9.2·10¹⁸ fen.
pub const MAX_SPEC_FEN: i64 = 10_000_000_000_000_000;

/// Bytes a run holds per scenario: seven outcome columns (40 bytes), the
/// summary's working copies of the money columns, and the weight under
/// importance sampling.
const BYTES_PER_SCENARIO: u64 = 64;
/// Bytes a run holds per loan: the compiled loan, the engine's fixed
/// amounts, LGD sampler and class index, and each worker's state.
const BYTES_PER_LOAN: u64 = 256;
/// Bytes per period: balance histograms (the run's and each batch's) and
/// the recovery queue.
const BYTES_PER_PERIOD: u64 = 8 * 2 * super::engine::BALANCE_BINS as u64 + 64;

/// What a run is estimated to hold and do, computed from the spec's declared
/// sizes before anything is allocated, and checked against [`Limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Peak memory of one run, bytes (an upper estimate).
    pub bytes: u64,
    /// Work: (loans + sector factors) × periods × scenarios.
    pub work: u64,
}

impl Resources {
    /// The estimate for a book of `loans` loans (and `sectors` sector
    /// factors drawn per period), `periods` × `scenarios`, `bins` histogram
    /// bins; `weighted` under importance sampling.
    pub fn estimate(
        loans: u64,
        sectors: u64,
        periods: u64,
        scenarios: u64,
        bins: u64,
        weighted: bool,
    ) -> Resources {
        let per_scenario = BYTES_PER_SCENARIO + if weighted { 8 } else { 0 };
        let bytes = scenarios
            .saturating_mul(per_scenario)
            .saturating_add(loans.saturating_mul(BYTES_PER_LOAN))
            .saturating_add(sectors.saturating_mul(64))
            .saturating_add(periods.saturating_mul(BYTES_PER_PERIOD))
            .saturating_add(bins.saturating_mul(8));
        let work = loans
            .saturating_add(sectors)
            .saturating_mul(periods.max(1))
            .saturating_mul(scenarios);
        Resources { bytes, work }
    }

    /// `runs` runs of this size one after the other (a grid, a solver):
    /// the work adds up, the memory does not.
    pub fn times(self, runs: u64) -> Resources {
        Resources {
            bytes: self.bytes,
            work: self.work.saturating_mul(runs),
        }
    }

    /// The violations of `limits`, named `field`.
    pub fn check(&self, limits: &Limits, field: &str) -> Vec<FieldViolation> {
        let mut errs = Vec::new();
        if self.bytes > limits.max_run_bytes {
            errs.push(FieldViolation::new(
                field,
                format!(
                    "the run would hold about {} MB, over the limit of {} MB (riskpool.max_run_bytes); use fewer scenarios or loans, or shards",
                    self.bytes.div_ceil(1 << 20),
                    limits.max_run_bytes >> 20
                ),
            ));
        }
        if self.work > limits.max_work {
            errs.push(FieldViolation::new(
                field,
                format!(
                    "the request would take {:.3e} loan-period-scenarios of work, over the limit of {:.3e} (riskpool.max_work); use fewer scenarios, loans or periods, or shards",
                    self.work as f64, limits.max_work as f64
                ),
            ));
        }
        errs
    }
}

fn check_fen(errs: &mut Vec<FieldViolation>, field: &str, y: Yuan, positive: bool) {
    let fen = y.to_fen();
    if fen > MAX_SPEC_FEN || (positive && fen <= 0) {
        let lo = if positive {
            "more than 0"
        } else {
            "at least 0"
        };
        errs.push(FieldViolation::new(
            field,
            format!("{} must be {lo} and at most 100万亿", y.human()),
        ));
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
            // Beta(a, b) with a, b ≥ 10⁻³ and ≤ 10⁹: a sampler that neither
            // degenerates nor stalls.
            let common = m * (1.0 - m) / v - 1.0;
            let sane = common.is_finite()
                && (m * common).min((1.0 - m) * common) >= 1e-3
                && (m * common).max((1.0 - m) * common) <= 1e9;
            if !sd.is_finite() || sd <= 0.0 || v >= m * (1.0 - m) || !sane {
                errs.push(FieldViolation::new(
                    format!("{field}.sd"),
                    format!(
                        "{sd} must be > 0 and below √(mean·(1−mean)) = {:.4}, with Beta parameters in [0.001, 1e9]",
                        (m * (1.0 - m)).sqrt()
                    ),
                ));
                return Lgd::Fixed(m);
            }
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
    let n = weights.len();
    let sum: f64 = weights.iter().sum();
    if n == 0 {
        return Vec::new();
    }
    if !(sum.is_finite() && sum > 0.0) {
        // Equal shares (a caller's sizes were validated, so this is only a
        // guard): never a loop over the fen.
        let w = vec![1.0; n];
        return split_exact(total, &w);
    }
    let raw: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut out: Vec<i64> = raw.iter().map(|r| r.floor() as i64).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        (raw[b] - raw[b].floor())
            .total_cmp(&(raw[a] - raw[a].floor()))
            .then(a.cmp(&b))
    });
    // The fen the floors left (or, after rounding error, took too many):
    // whole rounds to everyone, then one each by largest remainder — O(n)
    // whatever the amount.
    let left = total - out.iter().sum::<i64>();
    let (each, rest) = (left.div_euclid(n as i64), left.rem_euclid(n as i64));
    for (k, &i) in order.iter().enumerate() {
        out[i] += each + i64::from((k as i64) < rest);
    }
    out
}

impl Model {
    /// Validates a spec against limits and compiles it. A spec that names a
    /// `portfolio.csv` needs its text: see [`Model::compile_with_csv`].
    pub fn compile(spec: &Spec, limits: &Limits) -> Result<Model, SpecError> {
        Model::compile_with_csv(spec, None, limits)
    }

    /// [`Model::compile`], with the text of the loan CSV the spec names
    /// (read by an adapter: the domain reads no file).
    pub fn compile_with_csv(
        spec: &Spec,
        csv_text: Option<&str>,
        limits: &Limits,
    ) -> Result<Model, SpecError> {
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
        check_fen(&mut errs, "pool.capital", p.capital, true);
        if let Some(c) = p.per_loan_cap {
            check_fen(&mut errs, "pool.per_loan_cap", c, false);
        }
        if p.recovery_lag > limits.max_periods {
            errs.push(FieldViolation::new(
                "pool.recovery_lag",
                format!(
                    "{} is not in 0..={} (riskpool.max_periods); a recovery due after the horizon is not returned within it",
                    p.recovery_lag, limits.max_periods
                ),
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
                if !r.is_finite() || r <= 0.0 || r > 1000.0 {
                    errs.push(FieldViolation::new(
                        "pool.breaker.compensation_ratio",
                        format!("{r} is not in (0, 1000]"),
                    ));
                }
            }
        }
        if let Some(t) = &p.top_up {
            check_fen(&mut errs, "pool.top_up.below", t.below, false);
            check_fen(&mut errs, "pool.top_up.refill_to", t.refill_to, false);
            check_fen(&mut errs, "pool.top_up.max_per_year", t.max_per_year, false);
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
        if !d.eur_cny.is_finite() || d.eur_cny <= 0.0 || d.eur_cny > 1e6 {
            errs.push(FieldViolation::new(
                "dependence.eur_cny",
                format!("{} is not in (0, 10⁶]", d.eur_cny),
            ));
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
            match csv_text {
                Some(text) => match loans_from_csv(text, "portfolio.csv") {
                    Ok(ls) => {
                        for (i, l) in ls.into_iter().enumerate() {
                            specs.push((format!("portfolio.csv:{}", i + 2), l));
                        }
                    }
                    Err(e) => errs.extend(e.violations),
                },
                None => errs.push(FieldViolation::new(
                    "portfolio.csv",
                    format!("{}: the file's loans were not given", csv.display()),
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
        // The whole book, in exact integer fen, before any loan is built.
        let mut book: i128 = 0;
        for (field, l) in &specs {
            check_fen(&mut errs, &format!("{field}.amount"), l.amount, false);
            book += i128::from(l.amount.to_fen());
        }
        for (si, s) in spec.portfolio.segments.iter().enumerate() {
            let f = format!("portfolio.segments[{si}]");
            if let Some(a) = s.amount {
                check_fen(&mut errs, &format!("{f}.amount"), a, false);
                book += i128::from(a.to_fen()) * i128::from(s.count);
            }
            if let Some(t) = s.total {
                check_fen(&mut errs, &format!("{f}.total"), t, false);
                book += i128::from(t.to_fen());
            }
        }
        if book > i128::from(MAX_SPEC_FEN) {
            errs.push(FieldViolation::new(
                "portfolio",
                format!(
                    "the book totals {} yuan, over the limit of 100万亿",
                    book / 100
                ),
            ));
        }
        let sector_factors = if d.sector_rho > 0.0 { total_count } else { 0 };
        let counts_ok = (1..=limits.max_scenarios).contains(&spec.scenarios)
            && (1..=limits.max_periods).contains(&spec.periods);
        errs.extend(
            counts_ok
                .then(|| {
                    Resources::estimate(
                        total_count,
                        sector_factors,
                        u64::from(spec.periods),
                        spec.scenarios,
                        u64::from(o.histogram_bins),
                        spec.importance_sampling.is_some(),
                    )
                    .check(limits, "scenarios")
                })
                .into_iter()
                .flatten(),
        );

        // Every field of a loan but its amount, validated once per loan spec
        // or per segment (so a bad segment is reported once, and a segment of
        // a million loans is checked once, not a million times).
        let mut sectors: Vec<String> = Vec::new();
        let mut sector_index: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        let shocked: std::collections::HashSet<&str> = spec
            .scenario
            .shock_sectors
            .iter()
            .map(String::as_str)
            .collect();
        // (periods_per_year is checked above; a bad one must not divide by 0.)
        let months_per_period = match spec.periods_per_year {
            ppy @ (1 | 2 | 4 | 12) => 12 / ppy,
            _ => 12,
        };
        let mut template =
            |field: &str, l: &LoanTemplateSpec<'_>, errs: &mut Vec<FieldViolation>| -> Loan {
                check_prob(errs, &format!("{field}.pd"), l.pd, false, false);
                if l.term_months == 0 || l.term_months > 600 {
                    errs.push(FieldViolation::new(
                        format!("{field}.term_months"),
                        "must be in 1..=600",
                    ));
                }
                let sector_mult = if shocked.contains(l.sector) {
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
                // (A bad sector_rho is reported above; the bound stays a
                // valid one whatever it is.)
                let rho = (rho + preset.rho_shift).clamp(0.0, (0.999 - d.sector_rho).max(0.0));
                let sector = *sector_index.entry(l.sector.to_string()).or_insert_with(|| {
                    sectors.push(l.sector.to_string());
                    sectors.len() - 1
                });
                Loan {
                    amount_fen: 0,
                    pd,
                    lgd,
                    sector: u16::try_from(sector).unwrap_or(u16::MAX),
                    term_periods: l.term_months.div_ceil(months_per_period).max(1),
                    rho,
                }
            };
        // Nothing is generated for a spec with a problem (a bad size_sigma
        // or total would otherwise be used to draw and split a whole book);
        // its templates are still checked, so every problem is reported.
        let generate = errs.is_empty();
        let capacity = if generate { total_count } else { 0 };
        let mut loans = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
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
            let t = template(
                &format!("portfolio.segments[{si}]"),
                &LoanTemplateSpec::of_segment(s),
                &mut errs,
            );
            if !generate {
                continue;
            }
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
    use crate::riskpool::spec::DEFAULT_SPEC_TOML;

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
