//! The compiled model: a [`Spec`] validated against [`Limits`] and turned
//! into what the engine needs (loans in fen, PDs and LGDs after the scenario,
//! correlations).
//!
//! Every problem is reported with its field path (`portfolio.loans[3].pd`,
//! `dependence.rho`), all at once.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use statrs::distribution::StudentsT;

pub use super::book::{CopulaLaw, Lgd, Loan};
use super::plan::Plan;
use super::scenarios::{self, Preset};
use super::spec::{
    Copula, DependenceSpec, LgdSpec, Limits, LoanSpec, SegmentSpec, Spec, SpecError,
};
pub use super::validate::{MAX_SPEC_FEN, Resources};
use super::validate::{
    book_specs, check_book_money, check_dependence, check_importance, check_output, check_pool,
    check_prob, check_resources, check_run, check_segments,
};
use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;

/// A compiled, validated model: everything the engine needs. Only
/// [`Model::compile`] builds one (and the solver's rescaled copies), so
/// what is read from it has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    spec: Spec,
    preset: Preset,
    loans: Vec<Loan>,
    sectors: Vec<String>,
    capital_fen: i64,
    cap_fen: Option<i64>,
    copula: CopulaLaw,
    plan: Plan,
}

impl Model {
    /// The spec it came from (for reports and shard files).
    pub fn spec(&self) -> &Spec {
        &self.spec
    }
    /// The resolved preset.
    pub fn preset(&self) -> &Preset {
        &self.preset
    }
    /// Loans.
    pub fn loans(&self) -> &[Loan] {
        &self.loans
    }
    /// Sector names, by index.
    pub fn sectors(&self) -> &[String] {
        &self.sectors
    }
    /// Capital, fen.
    pub fn capital_fen(&self) -> i64 {
        self.capital_fen
    }
    /// Per-loan cap, fen.
    pub fn cap_fen(&self) -> Option<i64> {
        self.cap_fen
    }
    /// The copula's laws.
    pub fn copula(&self) -> &CopulaLaw {
        &self.copula
    }
    /// The plan both engines read.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
    /// The same model with every loan's amount times `f` (rounded to the fen).
    pub fn with_book_scaled(&self, f: f64) -> Model {
        let loans: Vec<Loan> = (self.loans.iter())
            .map(|l| Loan {
                amount_fen: (l.amount_fen as f64 * f).round() as i64,
                ..*l
            })
            .collect();
        let plan = Plan::new(&loans, &self.spec, &self.copula, self.cap_fen);
        Model {
            spec: self.spec.clone(),
            preset: self.preset.clone(),
            loans,
            sectors: self.sectors.clone(),
            capital_fen: self.capital_fen,
            cap_fen: self.cap_fen,
            copula: self.copula,
            plan,
        }
    }
    /// The same model with the capital times `f` (rounded, at least 1 fen).
    pub fn with_capital_scaled(&self, f: f64) -> Model {
        let mut m = self.clone();
        m.capital_fen = ((self.capital_fen as f64 * f).round() as i64).max(1);
        m
    }
}

impl Model {
    /// Exposure over capital (the capital is at least 1 fen).
    pub fn leverage(&self) -> f64 {
        self.exposure_fen() as f64 / self.capital_fen() as f64
    }
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

/// A loan's ρ with the preset's shift added, kept where the factor model
/// stays valid beside its sector's ρ (the model and the stress cells' labels
/// read it alike).
pub fn shifted_rho(rho: f64, shift: f64, sector_rho: f64) -> f64 {
    (rho + shift).clamp(0.0, (0.999 - sector_rho).max(0.0))
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
        let preset = check_settings(spec, limits, &mut errs);
        let (p, d) = (&spec.pool, &spec.dependence);

        // The book: declared counts and money checked, and the run sized,
        // before any loan is built.
        let specs = book_specs(spec, csv_text, &mut errs);
        let total_count = check_segments(spec, specs.len() as u64, &mut errs);
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
        check_book_money(spec, &specs, &mut errs);
        check_resources(spec, total_count, limits, &mut errs);

        let copula = copula_law(d, &mut errs);
        // Nothing is generated for a spec with a problem (a bad size_sigma
        // or total would otherwise be used to draw and split a whole book);
        // its templates are still checked, so every problem is reported.
        let generate = errs.is_empty();
        let mut templates = Templates::new(spec, &preset);
        let loans = build_loans(
            spec,
            &specs,
            total_count,
            generate,
            &mut templates,
            &mut errs,
        );
        let sectors = templates.sectors;
        if sectors.len() > u16::MAX as usize {
            errs.push(FieldViolation::new(
                "portfolio",
                "too many sectors (at most 65535)",
            ));
        }
        match copula {
            Some(copula) if errs.is_empty() => {
                let cap_fen = p.per_loan_cap.map(Yuan::to_fen);
                let plan = Plan::new(&loans, spec, &copula, cap_fen);
                Ok(Model {
                    spec: spec.clone(),
                    preset,
                    loans,
                    sectors,
                    capital_fen: p.capital.to_fen(),
                    cap_fen,
                    copula,
                    plan,
                })
            }
            _ => Err(SpecError { violations: errs }),
        }
    }
}

/// The run, pool, dependence, scenario, output and importance-sampling
/// settings checked; the scenario's preset (the baseline when it is
/// unknown, the problem recorded).
fn check_settings(spec: &Spec, limits: &Limits, errs: &mut Vec<FieldViolation>) -> Preset {
    check_run(spec, limits, errs);
    check_pool(&spec.pool, limits, errs);
    let preset = match scenarios::resolve(&spec.scenario) {
        Ok(p) => p,
        Err((f, m)) => {
            errs.push(FieldViolation::new(f, m));
            Preset::baseline()
        }
    };
    check_dependence(&spec.dependence, errs);
    check_output(&spec.output, errs);
    check_importance(spec, errs);
    preset
}

/// The book's loans: the listed ones, then each segment's, their sizes
/// drawn from the seed's last stream; nothing is generated when `generate`
/// is false (a spec with a problem), though every template is checked.
fn build_loans(
    spec: &Spec,
    specs: &[(String, LoanSpec)],
    total_count: u64,
    generate: bool,
    templates: &mut Templates<'_>,
    errs: &mut Vec<FieldViolation>,
) -> Vec<Loan> {
    let capacity = if generate { total_count } else { 0 };
    let mut loans = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    for (field, l) in specs {
        let t = templates.loan(field, &LoanTemplateSpec::of_loan(l), errs);
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
        let t = templates.loan(
            &format!("portfolio.segments[{si}]"),
            &LoanTemplateSpec::of_segment(s),
            errs,
        );
        if !generate {
            continue;
        }
        // (Neither or both of amount and total: reported above.)
        if let Some(amounts) = segment_amounts(s, &mut size_rng) {
            loans.extend(amounts.into_iter().map(|a| Loan { amount_fen: a, ..t }));
        }
    }
    loans
}

/// The copula's laws; `None` (with a problem recorded) when ν admits none.
fn copula_law(d: &DependenceSpec, errs: &mut Vec<FieldViolation>) -> Option<CopulaLaw> {
    match d.copula {
        Copula::Gaussian => Some(CopulaLaw::Gaussian),
        Copula::T => match (StudentsT::new(0.0, 1.0, d.nu), ChiSquared::new(d.nu)) {
            (Ok(student), Ok(chi2)) => Some(CopulaLaw::T {
                nu: d.nu,
                student,
                chi2,
            }),
            _ => {
                // check_dependence has said why; this only guards the law.
                if !errs.iter().any(|e| e.field == "dependence.nu") {
                    errs.push(FieldViolation::new(
                        "dependence.nu",
                        format!("{} admits no t distribution", d.nu),
                    ));
                }
                None
            }
        },
    }
}

/// Segment amounts in fen: `count` equal ones, or `total` split exactly
/// over lognormal weights drawn from `rng`.
fn segment_amounts(s: &SegmentSpec, rng: &mut ChaCha8Rng) -> Option<Vec<i64>> {
    match (s.amount, s.total) {
        (Some(a), None) => Some(vec![a.to_fen(); s.count as usize]),
        (None, Some(t)) => {
            let w: Vec<f64> = (0..s.count)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    (s.size_sigma * z).exp()
                })
                .collect();
            Some(split_exact(t.to_fen(), &w))
        }
        _ => None,
    }
}

/// Every field of a loan but its amount, validated once per loan spec or
/// per segment (so a bad segment is reported once, and a segment of a
/// million loans is checked once, not a million times), with the scenario
/// applied and sectors numbered in order of appearance.
struct Templates<'s> {
    preset: &'s Preset,
    dependence: &'s DependenceSpec,
    shocked: std::collections::HashSet<&'s str>,
    months_per_period: u32,
    sectors: Vec<String>,
    sector_index: std::collections::HashMap<String, usize>,
}

impl<'s> Templates<'s> {
    fn new(spec: &'s Spec, preset: &'s Preset) -> Self {
        Templates {
            preset,
            dependence: &spec.dependence,
            shocked: spec
                .scenario
                .shock_sectors
                .iter()
                .map(String::as_str)
                .collect(),
            // (periods_per_year is checked in check_run; a bad one must not
            // divide by 0.)
            months_per_period: match spec.periods_per_year {
                ppy @ (1 | 2 | 4 | 12) => 12 / ppy,
                _ => 12,
            },
            sectors: Vec::new(),
            sector_index: std::collections::HashMap::new(),
        }
    }

    fn loan(
        &mut self,
        field: &str,
        l: &LoanTemplateSpec<'_>,
        errs: &mut Vec<FieldViolation>,
    ) -> Loan {
        let (preset, d) = (self.preset, self.dependence);
        check_prob(errs, &format!("{field}.pd"), l.pd, false, false);
        if l.term_months == 0 || l.term_months > 600 {
            errs.push(FieldViolation::new(
                format!("{field}.term_months"),
                "must be in 1..=600",
            ));
        }
        let sector_mult = if self.shocked.contains(l.sector) {
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
        // (A bad sector_rho is reported in check_dependence; the bound stays
        // a valid one whatever it is.)
        let rho = shifted_rho(rho, preset.rho_shift, d.sector_rho);
        let sector = match self.sector_index.get(l.sector) {
            Some(&i) => i,
            None => {
                self.sectors.push(l.sector.to_string());
                self.sector_index
                    .insert(l.sector.to_string(), self.sectors.len() - 1);
                self.sectors.len() - 1
            }
        };
        Loan {
            amount_fen: 0,
            pd,
            lgd,
            sector: u16::try_from(sector).unwrap_or(u16::MAX),
            term_periods: l.term_months.div_ceil(self.months_per_period).max(1),
            rho,
        }
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
