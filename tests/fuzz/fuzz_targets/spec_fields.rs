//! Every numeric field of a simulation spec, drawn from the fuzz input
//! across its type's whole range (NaN, ±∞, 0, −0, extremes, any bit
//! pattern): the spec compiles and runs within the limits it was checked
//! against, or is refused naming its fields. Run with libFuzzer's
//! `-timeout` and `-rss_limit_mb`, so a hang or a blow-up is a finding.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smefin::kernel::money::Yuan;
use smefin::riskpool::spec::{
    BreakerSpec, Copula, ImportanceSamplingSpec, LgdSpec, LoanSpec, SegmentSpec, TopUpSpec,
};
use smefin::riskpool::{self, Control, Limits, Model, Spec};

/// Reads fields from the input; past its end every read is 0.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |a, _| a << 8 | u64::from(self.byte()))
    }
    fn f64(&mut self) -> f64 {
        match self.byte() % 16 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => 0.0,
            4 => -0.0,
            5 => f64::MAX,
            6 => f64::MIN_POSITIVE,
            7 => 5e-324,
            8 => 1e10,
            9 => 700.0,
            10 | 11 => f64::from(self.byte()) / 255.0,
            12 => f64::from(self.byte()) / 64.0 - 2.0,
            _ => f64::from_bits(self.u64()),
        }
    }
    fn count(&mut self) -> u64 {
        match self.byte() % 8 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::from(u32::MAX),
            4 => self.u64(),
            _ => u64::from(self.byte()) * 2,
        }
    }
    fn u32(&mut self) -> u32 {
        u32::try_from(self.count() & u64::from(u32::MAX)).unwrap_or(0)
    }
    fn yuan(&mut self) -> Yuan {
        let s = match self.byte() % 8 {
            0 => "0",
            1 => "0.01",
            2 => "300万",
            3 => "3000万",
            4 => "6亿",
            5 => "100000000亿",
            6 => "99999999亿",
            _ => "1",
        };
        Yuan::parse(s).unwrap()
    }
    fn opt(&mut self) -> bool {
        self.byte() % 2 == 1
    }
    fn lgd(&mut self) -> LgdSpec {
        if self.opt() {
            LgdSpec::Beta { mean: self.f64(), sd: self.f64() }
        } else {
            LgdSpec::Fixed(self.f64())
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut i = Input(data);
    // The built-in book, 200 loans: each field is replaced by a drawn value
    // or kept, so both the refusals and the engine's paths are reached.
    let mut s = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    s.scenarios = 100;
    s.portfolio.segments[0].count = 200;
    if i.opt() {
        s.seed = i.u64();
    }
    if i.opt() {
        s.scenarios = i.count();
    }
    if i.opt() {
        s.periods = i.u32();
    }
    if i.opt() {
        s.periods_per_year = i.u32();
    }
    if i.opt() {
        s.factor_ar = i.f64();
    }
    if i.opt() {
        s.pool.capital = i.yuan();
    }
    if i.opt() {
        s.pool.compensation_share = i.f64();
    }
    if i.opt() {
        s.pool.per_loan_cap = i.opt().then(|| i.yuan());
    }
    if i.opt() {
        s.pool.recovery_lag = i.u32();
    }
    if i.opt() {
        s.pool.top_up = Some(TopUpSpec { below: i.yuan(), refill_to: i.yuan(), max_per_year: i.yuan() });
    }
    if i.opt() {
        let default_rate = i.opt().then(|| i.f64());
        let compensation_ratio = i.opt().then(|| i.f64());
        s.pool.breaker = Some(BreakerSpec { default_rate, compensation_ratio });
    }
    if i.opt() {
        s.dependence.rho = i.f64();
    }
    if i.opt() {
        s.dependence.sector_rho = i.f64();
    }
    if i.opt() {
        s.dependence.copula = if i.opt() { Copula::T } else { Copula::Gaussian };
    }
    if i.opt() {
        s.dependence.nu = i.f64();
    }
    if i.opt() {
        s.dependence.basel_sme = i.opt();
    }
    if i.opt() {
        s.dependence.eur_cny = i.f64();
    }
    if i.opt() {
        s.scenario.preset = ["baseline", "adverse", "severe", "sector_shock"][usize::from(i.byte() % 4)].into();
    }
    if i.opt() {
        s.scenario.pd_multiplier = i.opt().then(|| i.f64());
    }
    if i.opt() {
        s.scenario.rho_shift = i.opt().then(|| i.f64());
    }
    if i.opt() {
        s.scenario.lgd_shift = i.opt().then(|| i.f64());
    }
    if i.opt() {
        s.scenario.sector_pd_multiplier = i.opt().then(|| i.f64());
    }
    if i.opt() {
        s.scenario.shock_sectors = vec!["a".into()];
    }
    for _ in 0..i.byte() % 3 {
        s.portfolio.loans.push(LoanSpec {
            id: String::new(),
            amount: i.yuan(),
            pd: i.f64(),
            lgd: i.lgd(),
            sector: if i.opt() { "a".into() } else { String::new() },
            term_months: i.u32(),
            turnover: i.opt().then(|| i.yuan()),
        });
    }
    if i.opt() {
        s.portfolio.segments.clear();
    }
    for _ in 0..i.byte() % 3 {
        s.portfolio.segments.push(SegmentSpec {
            name: String::new(),
            count: i.count(),
            amount: i.opt().then(|| i.yuan()),
            total: i.opt().then(|| i.yuan()),
            size_sigma: i.f64(),
            pd: i.f64(),
            lgd: i.lgd(),
            sector: if i.opt() { "a".into() } else { String::new() },
            term_months: i.u32(),
            turnover: i.opt().then(|| i.yuan()),
        });
    }
    if i.opt() {
        s.output.histogram_bins = i.u32();
    }
    if i.opt() {
        s.output.histogram_max_rate = i.f64();
    }
    if i.opt() {
        s.output.tail_level = i.f64();
    }
    if i.opt() {
        s.importance_sampling = Some(ImportanceSamplingSpec { shift: i.opt().then(|| i.f64()) });
    }
    let limits = Limits {
        max_loans: 500,
        max_scenarios: 200,
        max_periods: 8,
        max_run_bytes: 64 << 20,
        max_analytic_work: 1_000_000_000,
        max_work: 2_000_000,
    };
    match Model::compile(&s, &limits) {
        Ok(m) => {
            let r = m.resources();
            assert!(r.work <= limits.max_work && r.bytes <= limits.max_run_bytes);
            let (raw, _) = riskpool::monte_carlo(&m, 1, &Control::default()).expect("not cancelled");
            assert_eq!(raw.len() as u64, s.scenarios);
        }
        Err(e) => {
            assert!(!e.violations.is_empty());
            for v in &e.violations {
                assert!(!v.field.is_empty() && !v.description.is_empty(), "{v:?}");
            }
        }
    }
});
