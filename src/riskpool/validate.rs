//! Validation of a spec, stage by stage: the run's counts, the pool, the
//! dependence, the output, importance sampling, the book's counts and money,
//! and the run's size (memory and work) against [`Limits`] — every problem
//! with its field path, all at once, before anything is built.

use super::spec::Copula;
use super::spec::{DependenceSpec, Limits, LoanSpec, OutputSpec, PoolSpec, Spec, loans_from_csv};
use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;

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
const BYTES_PER_PERIOD: u64 = 8 * 2 * super::raw::BALANCE_BINS as u64 + 64;

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

pub(super) fn check_fen(errs: &mut Vec<FieldViolation>, field: &str, y: Yuan, positive: bool) {
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

pub(super) fn check_prob(
    errs: &mut Vec<FieldViolation>,
    field: &str,
    v: f64,
    lo_open: bool,
    hi_open: bool,
) {
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

/// The run's counts and the factor's dynamics.
pub(super) fn check_run(spec: &Spec, limits: &Limits, errs: &mut Vec<FieldViolation>) {
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
}

/// The pool: money, lag, shares, breaker, top-up.
pub(super) fn check_pool(p: &PoolSpec, limits: &Limits, errs: &mut Vec<FieldViolation>) {
    check_fen(errs, "pool.capital", p.capital, true);
    if let Some(c) = p.per_loan_cap {
        check_fen(errs, "pool.per_loan_cap", c, false);
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
        errs,
        "pool.compensation_share",
        p.compensation_share,
        false,
        false,
    );
    if let Some(b) = &p.breaker {
        if let Some(r) = b.default_rate {
            check_prob(errs, "pool.breaker.default_rate", r, true, false);
        }
        if let Some(r) = b.compensation_ratio
            && (!r.is_finite() || r <= 0.0 || r > 1000.0)
        {
            errs.push(FieldViolation::new(
                "pool.breaker.compensation_ratio",
                format!("{r} is not in (0, 1000]"),
            ));
        }
    }
    if let Some(t) = &p.top_up {
        check_fen(errs, "pool.top_up.below", t.below, false);
        check_fen(errs, "pool.top_up.refill_to", t.refill_to, false);
        check_fen(errs, "pool.top_up.max_per_year", t.max_per_year, false);
        if t.refill_to < t.below {
            errs.push(FieldViolation::new(
                "pool.top_up.refill_to",
                "must be at least `below`",
            ));
        }
    }
}

/// The dependence: correlations, copula, exchange rate.
pub(super) fn check_dependence(d: &DependenceSpec, errs: &mut Vec<FieldViolation>) {
    if !d.basel_sme {
        check_prob(errs, "dependence.rho", d.rho, false, true);
    }
    check_prob(errs, "dependence.sector_rho", d.sector_rho, false, true);
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
}

/// The output options.
pub(super) fn check_output(o: &OutputSpec, errs: &mut Vec<FieldViolation>) {
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
    check_prob(errs, "output.tail_level", o.tail_level, true, true);
}

/// Importance sampling: where it applies, and its shift.
pub(super) fn check_importance(spec: &Spec, errs: &mut Vec<FieldViolation>) {
    let d = &spec.dependence;
    if let Some(is) = &spec.importance_sampling {
        if spec.periods != 1 || d.copula != Copula::Gaussian || d.sector_rho > 0.0 {
            errs.push(FieldViolation::new(
                "importance_sampling",
                "needs a single period, the Gaussian copula and no sector factors",
            ));
        }
        if let Some(s) = is.shift
            && (!s.is_finite() || s.abs() > 10.0)
        {
            errs.push(FieldViolation::new(
                "importance_sampling.shift",
                format!("{s} is not in [−10, 10]"),
            ));
        }
    }
}

/// The explicit loans and the CSV's, each with its field path.
pub(super) fn book_specs(
    spec: &Spec,
    csv_text: Option<&str>,
    errs: &mut Vec<FieldViolation>,
) -> Vec<(String, LoanSpec)> {
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
    specs
}

/// The segments' counts, size rules and amount-or-total; returns the book's
/// loan count (`listed` loans plus the segments').
pub(super) fn check_segments(spec: &Spec, listed: u64, errs: &mut Vec<FieldViolation>) -> u64 {
    let mut total_count = listed;
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
    total_count
}

/// Every amount of the book, and the whole book, in exact integer fen.
pub(super) fn check_book_money(
    spec: &Spec,
    specs: &[(String, LoanSpec)],
    errs: &mut Vec<FieldViolation>,
) {
    let mut book: i128 = 0;
    for (field, l) in specs {
        check_fen(errs, &format!("{field}.amount"), l.amount, false);
        book += i128::from(l.amount.to_fen());
    }
    for (si, s) in spec.portfolio.segments.iter().enumerate() {
        let f = format!("portfolio.segments[{si}]");
        if let Some(a) = s.amount {
            check_fen(errs, &format!("{f}.amount"), a, false);
            book += i128::from(a.to_fen()) * i128::from(s.count);
        }
        if let Some(t) = s.total {
            check_fen(errs, &format!("{f}.total"), t, false);
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
}

/// The run's memory and work against the limits, from its declared sizes
/// (only when the counts themselves are within their limits).
pub(super) fn check_resources(
    spec: &Spec,
    loans: u64,
    limits: &Limits,
    errs: &mut Vec<FieldViolation>,
) {
    let counts_ok = (1..=limits.max_scenarios).contains(&spec.scenarios)
        && (1..=limits.max_periods).contains(&spec.periods);
    if !counts_ok {
        return;
    }
    let sector_factors = if spec.dependence.sector_rho > 0.0 {
        loans
    } else {
        0
    };
    errs.extend(
        Resources::estimate(
            loans,
            sector_factors,
            u64::from(spec.periods),
            spec.scenarios,
            u64::from(spec.output.histogram_bins),
            spec.importance_sampling.is_some(),
        )
        .check(limits, "scenarios"),
    );
}
