//! Property test over generated simulation specs: every numeric field drawn
//! across its type's whole range (NaN, ±∞, 0, −0, the largest and smallest
//! values, and ordinary ones). Each spec either compiles and runs to the end
//! within the limits it was checked against, or is refused with every
//! problem naming a field of the spec — never a panic, a hang or an
//! allocation the limits did not allow.

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use smefin::kernel::money::Yuan;
use smefin::riskpool::spec::{
    BreakerSpec, Copula, DependenceSpec, ImportanceSamplingSpec, LgdSpec, LoanSpec, OutputSpec,
    PoolSpec, PortfolioSpec, ScenarioSpec, SegmentSpec, TopUpSpec,
};
use smefin::riskpool::{self, Control, Limits, Model, Spec};

fn f64s() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(1e10),
        Just(700.0),
        any::<f64>(),
        -2.0..2.0f64,
        0.0..1.0f64,
        0.0..1.0f64,
    ]
}

fn u32s() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(4),
        Just(8),
        Just(9),
        Just(12),
        Just(u32::MAX),
        any::<u32>(),
        0..16u32
    ]
}

fn u64s() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(50),
        Just(200),
        Just(201),
        Just(500),
        Just(501),
        Just(u64::MAX),
        any::<u64>(),
        0..300u64
    ]
}

fn yuan() -> impl Strategy<Value = Yuan> {
    prop_oneof![
        Just("0"),
        Just("0.01"),
        Just("1"),
        Just("300万"),
        Just("3000万"),
        Just("6亿"),
        Just("100000000亿"),
        Just("99999999亿"),
    ]
    .prop_map(|s| Yuan::parse(s).unwrap())
}

fn lgd() -> impl Strategy<Value = LgdSpec> {
    prop_oneof![
        f64s().prop_map(LgdSpec::Fixed),
        (f64s(), f64s()).prop_map(|(mean, sd)| LgdSpec::Beta { mean, sd }),
    ]
}

fn sector() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("制造业".to_string()),
        Just("b".to_string())
    ]
}

fn loan() -> impl Strategy<Value = LoanSpec> {
    (
        yuan(),
        f64s(),
        lgd(),
        sector(),
        u32s(),
        proptest::option::of(yuan()),
    )
        .prop_map(
            |(amount, pd, lgd, sector, term_months, turnover)| LoanSpec {
                id: String::new(),
                amount,
                pd,
                lgd,
                sector,
                term_months,
                turnover,
            },
        )
}

fn segment() -> impl Strategy<Value = SegmentSpec> {
    (
        u64s(),
        proptest::option::of(yuan()),
        proptest::option::of(yuan()),
        f64s(),
        f64s(),
        lgd(),
        sector(),
        u32s(),
    )
        .prop_map(
            |(count, amount, total, size_sigma, pd, lgd, sector, term_months)| SegmentSpec {
                name: String::new(),
                count,
                amount,
                total,
                size_sigma,
                pd,
                lgd,
                sector,
                term_months,
                turnover: None,
            },
        )
}

fn pool() -> impl Strategy<Value = PoolSpec> {
    (
        yuan(),
        f64s(),
        proptest::option::of(yuan()),
        u32s(),
        proptest::option::of((yuan(), yuan(), yuan())),
        proptest::option::of((proptest::option::of(f64s()), proptest::option::of(f64s()))),
    )
        .prop_map(|(capital, share, cap, lag, top_up, breaker)| PoolSpec {
            capital,
            compensation_share: share,
            per_loan_cap: cap,
            recovery_lag: lag,
            top_up: top_up.map(|(below, refill_to, max_per_year)| TopUpSpec {
                below,
                refill_to,
                max_per_year,
            }),
            breaker: breaker.map(|(default_rate, compensation_ratio)| BreakerSpec {
                default_rate,
                compensation_ratio,
            }),
        })
}

fn dependence() -> impl Strategy<Value = DependenceSpec> {
    (f64s(), f64s(), any::<bool>(), f64s(), any::<bool>(), f64s()).prop_map(
        |(rho, sector_rho, t, nu, basel_sme, eur_cny)| DependenceSpec {
            rho,
            sector_rho,
            copula: if t { Copula::T } else { Copula::Gaussian },
            nu,
            basel_sme,
            eur_cny,
        },
    )
}

fn scenario() -> impl Strategy<Value = ScenarioSpec> {
    (
        prop_oneof![
            Just("baseline"),
            Just("adverse"),
            Just("severe"),
            Just("sector_shock"),
            Just("nope")
        ],
        proptest::option::of(f64s()),
        proptest::option::of(f64s()),
        proptest::option::of(f64s()),
        proptest::option::of(f64s()),
        any::<bool>(),
    )
        .prop_map(|(preset, pd, rho, lgd, sector_pd, shock)| ScenarioSpec {
            preset: preset.to_string(),
            pd_multiplier: pd,
            rho_shift: rho,
            lgd_shift: lgd,
            shock_sectors: if shock {
                vec!["制造业".into()]
            } else {
                vec![]
            },
            sector_pd_multiplier: sector_pd,
        })
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (any::<u64>(), u64s(), u32s(), u32s(), f64s()),
        pool(),
        dependence(),
        scenario(),
        (
            proptest::collection::vec(loan(), 0..4),
            proptest::collection::vec(segment(), 0..3),
        ),
        (u32s(), f64s(), f64s()),
        proptest::option::of(proptest::option::of(f64s())),
    )
        .prop_map(
            |(
                (seed, scenarios, periods, ppy, factor_ar),
                pool,
                dependence,
                scenario,
                (loans, segments),
                (bins, max_rate, tail),
                is,
            )| Spec {
                seed,
                scenarios,
                periods,
                periods_per_year: ppy,
                factor_ar,
                pool,
                dependence,
                scenario,
                portfolio: PortfolioSpec {
                    loans,
                    csv: None,
                    segments,
                },
                output: OutputSpec {
                    histogram_bins: bins,
                    histogram_max_rate: max_rate,
                    tail_level: tail,
                },
                importance_sampling: is.map(|shift| ImportanceSamplingSpec { shift }),
            },
        )
}

/// The top-level names a violation's field may start with.
const FIELDS: &[&str] = &[
    "seed",
    "scenarios",
    "periods",
    "periods_per_year",
    "factor_ar",
    "pool",
    "dependence",
    "scenario",
    "portfolio",
    "output",
    "importance_sampling",
];

const LIMITS: Limits = Limits {
    max_loans: 500,
    max_scenarios: 200,
    max_periods: 8,
    max_run_bytes: 64 << 20,
    max_analytic_work: 1_000_000_000,
    max_work: 2_000_000,
};

/// Compiles and runs `spec` on another thread; a run still going after
/// `HANG` is a hang (a finding, reported with the spec).
fn compile_and_run(spec: Spec) -> Result<(), Vec<(String, String)>> {
    const HANG: Duration = Duration::from_secs(120);
    let (tx, rx) = mpsc::channel();
    let shown = format!("{spec:?}");
    std::thread::spawn(move || {
        let r = match Model::compile(&spec, &LIMITS) {
            Err(e) => Err(e
                .violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()),
            Ok(m) => {
                let res = m.resources();
                assert!(
                    res.work <= LIMITS.max_work,
                    "work {} over the limit",
                    res.work
                );
                assert!(
                    res.bytes <= LIMITS.max_run_bytes,
                    "bytes {} over the limit",
                    res.bytes
                );
                let (raw, _) =
                    riskpool::monte_carlo(&m, 1, &Control::default()).expect("not cancelled");
                assert_eq!(raw.len() as u64, spec.scenarios);
                Ok(())
            }
        };
        let _ = tx.send(r);
    });
    match rx.recv_timeout(HANG) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no answer in {HANG:?}: {shown}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("panicked on {shown}"),
    }
}

/// The built-in book (200 loans, 100 scenarios) with the fields whose bit
/// is set in `mask` taken from `drawn`: most fields stay valid, so specs
/// reach the engine's paths as well as the refusals.
fn mixed(drawn: Spec, mask: u64) -> Spec {
    let mut s = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    s.scenarios = 100;
    s.portfolio.segments[0].count = 200;
    let mut bit = 0;
    let mut take = || {
        bit += 1;
        mask >> (bit - 1) & 1 == 1
    };
    macro_rules! mix {
        ($($f:ident).+) => {
            if take() {
                s.$($f).+ = drawn.$($f).+.clone();
            }
        };
    }
    mix!(seed);
    mix!(scenarios);
    mix!(periods);
    mix!(periods_per_year);
    mix!(factor_ar);
    mix!(pool.capital);
    mix!(pool.compensation_share);
    mix!(pool.per_loan_cap);
    mix!(pool.recovery_lag);
    mix!(pool.top_up);
    mix!(pool.breaker);
    mix!(dependence.rho);
    mix!(dependence.sector_rho);
    mix!(dependence.copula);
    mix!(dependence.nu);
    mix!(dependence.basel_sme);
    mix!(dependence.eur_cny);
    mix!(scenario);
    mix!(portfolio.loans);
    mix!(output.histogram_bins);
    mix!(output.histogram_max_rate);
    mix!(output.tail_level);
    mix!(importance_sampling);
    if take() {
        s.portfolio.segments = drawn.portfolio.segments.clone();
    } else if take()
        && let Some(d) = drawn.portfolio.segments.first()
    {
        let seg = &mut s.portfolio.segments[0];
        seg.size_sigma = d.size_sigma;
        seg.pd = d.pd;
        seg.lgd = d.lgd;
        seg.term_months = d.term_months;
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn every_spec_runs_or_is_refused_naming_its_fields(
        drawn in spec(),
        // Dense masks reach the refusals, sparse ones (a field in eight)
        // the engine.
        mask in prop_oneof![
            any::<u64>(),
            (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| a & b & c),
        ],
    ) {
        let spec = mixed(drawn, mask);
        if let Err(violations) = compile_and_run(spec) {
            prop_assert!(!violations.is_empty());
            for (field, description) in &violations {
                let head = field.split(['.', '[']).next().unwrap_or("");
                prop_assert!(FIELDS.contains(&head), "field `{field}` ({description})");
                prop_assert!(!description.is_empty(), "{field}");
            }
        }
    }
}

#[test]
fn the_property_reaches_the_engine() {
    // A slice of the same generator, counted: at least one spec in twenty
    // must compile and run, or the property tests only the refusals.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let n = 300;
    let mut ran = 0;
    for _ in 0..n {
        let drawn = spec().new_tree(&mut runner).unwrap().current();
        let (a, b, c) = any::<(u64, u64, u64)>()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        ran += u32::from(compile_and_run(mixed(drawn, a & b & c)).is_ok());
    }
    assert!(ran * 20 >= n, "only {ran} of {n} specs ran");
}

/// Each of the specs that hung, exhausted memory or panicked before, as a
/// test of its own.
#[test]
fn the_specs_that_took_the_server_down_are_refused_or_run() {
    let base = || Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    let limits = Limits::default();
    for sigma in [1e10, 1e308, f64::INFINITY, f64::NAN, 700.0] {
        let mut s = base();
        s.portfolio.segments[0].size_sigma = sigma;
        s.portfolio.segments[0].amount = None;
        s.portfolio.segments[0].total = Some(Yuan::parse("6亿").unwrap());
        let e = Model::compile(&s, &limits).unwrap_err();
        assert_eq!(
            e.violations[0].field, "portfolio.segments[0].size_sigma",
            "{sigma}"
        );
    }
    for lag in [u32::MAX, 100_000_000, 121] {
        let mut s = base();
        s.periods = 4;
        s.pool.recovery_lag = lag;
        let e = Model::compile(&s, &limits).unwrap_err();
        assert_eq!(e.violations[0].field, "pool.recovery_lag", "{lag}");
    }
    // A lag beyond the horizon is meaningful: the pool pays the gross
    // claim (its share of the exposure) and the recovery comes after the
    // horizon, so nothing is returned within it.
    for periods in [1, 2] {
        let mut s = base();
        s.scenarios = 2_000;
        s.periods = periods;
        s.pool.recovery_lag = 3;
        let m = Model::compile(&s, &limits).unwrap();
        let (raw, _) = riskpool::monte_carlo(&m, 1, &Control::default()).unwrap();
        let mut no_lag = s.clone();
        no_lag.pool.recovery_lag = 0;
        let m0 = Model::compile(&no_lag, &limits).unwrap();
        let (raw0, _) = riskpool::monte_carlo(&m0, 1, &Control::default()).unwrap();
        // Same defaults; the pool's net payment is its share of the
        // exposure (≥ its share of the loss) whenever anything defaulted.
        assert_eq!(raw.defaults, raw0.defaults);
        for i in 0..raw.len() {
            assert!(
                raw.compensation[i] + raw.unfunded[i] >= raw0.compensation[i] + raw0.unfunded[i]
            );
            if raw.defaults[i] > 0 {
                assert!(
                    raw.compensation[i] + raw.unfunded[i] > raw0.compensation[i] + raw0.unfunded[i]
                );
            }
        }
    }
    // Memory estimated before anything is allocated: 20M scenarios of a
    // million loans, within each count limit, is refused as a whole.
    let mut s = base();
    s.scenarios = 20_000_000;
    s.portfolio.segments[0].count = 1_000_000;
    let e = Model::compile(&s, &limits).unwrap_err();
    let fields: Vec<&str> = e.violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["scenarios"], "{e}");
    assert!(e.to_string().contains("riskpool.max_work"), "{e}");
    // A book beyond 100万亿 in all would overflow a run's sums in fen.
    let mut s = base();
    s.portfolio.segments[0].count = 1_000_000;
    s.portfolio.segments[0].total = None;
    s.portfolio.segments[0].size_sigma = 0.0;
    s.portfolio.segments[0].amount = Some(Yuan::parse("2亿").unwrap());
    s.scenarios = 10;
    let e = Model::compile(&s, &limits).unwrap_err();
    assert_eq!(e.violations[0].field, "portfolio", "{e}");
}
