//! Value stability of every engine path (as rand_distr's
//! `value_stability.rs` does): a small run of each at a fixed seed, summed in
//! exact integers (fen, counts) and, under importance sampling, the weights'
//! bits. A change to the engine that moves any draw moves these; a change
//! that should not (a refactor, a split of a long function) must leave them.

use smefin::riskpool::{self, Control, Limits, Model, Spec};

/// (defaults, loss fen, net compensation fen, unfunded fen, bank loss fen,
/// scenarios exhausted, scenarios whose breaker tripped, Σ weights bits)
type Digest = (u64, i64, i64, i64, i64, u64, u64, u64);

fn digest(toml: &str) -> Digest {
    let spec = Spec::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
    let m = Model::compile(&spec, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let (raw, _) = riskpool::monte_carlo(&m, 2, &Control::default()).unwrap();
    (
        raw.defaults.iter().map(|&d| u64::from(d)).sum(),
        raw.loss.iter().sum(),
        raw.compensation.iter().sum(),
        raw.unfunded.iter().sum(),
        raw.bank_loss.iter().sum(),
        raw.exhausted_period.iter().flatten().count() as u64,
        raw.breaker_period.iter().flatten().count() as u64,
        raw.weight.iter().flatten().sum::<f64>().to_bits(),
    )
}

const BOOK: &str = r#"
[[portfolio.segments]]
count = 300
total = "9000万"
pd = 0.03
lgd = 0.6
sector = "制造业"
"#;

fn paths() -> Vec<(&'static str, String)> {
    vec![
        ("gaussian", format!("seed = 11\nscenarios = 4000\n[pool]\ncapital = \"300万\"\n{BOOK}")),
        (
            "t_copula",
            format!("seed = 12\nscenarios = 4000\n[pool]\ncapital = \"300万\"\n[dependence]\ncopula = \"t\"\nnu = 5\n{BOOK}"),
        ),
        (
            "beta_lgd",
            "seed = 13\nscenarios = 4000\n[pool]\ncapital = \"300万\"\n[[portfolio.segments]]\ncount = 300\ntotal = \"9000万\"\npd = 0.03\nlgd = { mean = 0.45, sd = 0.2 }\n".to_string(),
        ),
        (
            "sector_factors",
            "seed = 14\nscenarios = 4000\n[pool]\ncapital = \"300万\"\n[dependence]\nrho = 0.1\nsector_rho = 0.1\n[[portfolio.segments]]\ncount = 150\ntotal = \"4500万\"\npd = 0.03\nsector = \"a\"\n[[portfolio.segments]]\ncount = 150\ntotal = \"4500万\"\npd = 0.02\nsector = \"b\"\n".to_string(),
        ),
        (
            "multi_period_breaker_lag_top_up",
            format!(
                "seed = 15\nscenarios = 2000\nperiods = 12\nperiods_per_year = 4\nfactor_ar = 0.6\n[pool]\ncapital = \"300万\"\nrecovery_lag = 2\ntop_up = {{ below = \"100万\", refill_to = \"300万\", max_per_year = \"200万\" }}\nbreaker = {{ default_rate = 0.05 }}\n{}",
                BOOK.replace("lgd = 0.6", "lgd = 0.6\nterm_months = 6")
            ),
        ),
        (
            "importance_sampling",
            format!("seed = 16\nscenarios = 4000\n[pool]\ncapital = \"800万\"\n[importance_sampling]\n{BOOK}"),
        ),
        (
            "lognormal_sizes",
            "seed = 17\nscenarios = 4000\n[pool]\ncapital = \"300万\"\n[[portfolio.segments]]\ncount = 300\ntotal = \"9000万\"\nsize_sigma = 1.2\npd = 0.03\n".to_string(),
        ),
    ]
}

const GOLDEN: &[(&str, Digest)] = &[
    (
        "gaussian",
        (
            35976,
            647568000000,
            311370000000,
            12414000000,
            336198000000,
            116,
            0,
            9223372036854775808,
        ),
    ),
    (
        "t_copula",
        (
            36985,
            665730000000,
            257973000000,
            74892000000,
            407757000000,
            302,
            0,
            9223372036854775808,
        ),
    ),
    (
        "beta_lgd",
        (
            36042,
            485814108592,
            239428156650,
            3478906739,
            246385951942,
            43,
            0,
            9223372036854775808,
        ),
    ),
    (
        // Moved on 2026-11-28, deliberately: classes whose loans all cost
        // the same no longer draw which loans default in a single period,
        // so the second class's draws come earlier in the stream.
        "sector_factors",
        (
            29820,
            536760000000,
            262179000000,
            6201000000,
            274581000000,
            75,
            0,
            9223372036854775808,
        ),
    ),
    (
        // Moved on 2026-12-07, deliberately: a lagged recovery returns to
        // the pool in proportion to what the pool paid of its period's
        // claims (it had returned the pool's full share even of claims it
        // never paid). Defaults and losses are unchanged; the net
        // compensation rises 2.0%, the banks' loss falls 2.1%.
        "multi_period_breaker_lag_top_up",
        (
            50942,
            916956000000,
            485776000000,
            36211200000,
            431180000000,
            375,
            115,
            9223372036854775808,
        ),
    ),
    (
        "importance_sampling",
        (
            373415,
            6721470000000,
            2677621000000,
            683114000000,
            4043849000000,
            2030,
            0,
            4662504945786956545,
        ),
    ),
    (
        "lognormal_sizes",
        (
            36229,
            626073212865,
            287458887315,
            25577727578,
            338614325550,
            223,
            0,
            9223372036854775808,
        ),
    ),
];

#[test]
fn every_engine_path_gives_its_golden_values() {
    let got: Vec<(&str, Digest)> = paths().into_iter().map(|(n, t)| (n, digest(&t))).collect();
    for ((name, g), (gname, want)) in got.iter().zip(GOLDEN) {
        assert_eq!(name, gname);
        assert_eq!(g, want, "{name}: golden values moved");
    }
    assert_eq!(got.len(), GOLDEN.len());
}

/// Beside the golden digests (which the code produced), each single-period
/// path's mean default count and mean loss against their exact values
/// Σ PD and Σ EAD·PD·E[LGD], within 4 standard errors (likelihood-ratio
/// weighted under importance sampling).
#[test]
fn every_single_period_path_meets_its_exact_means() {
    for (name, toml) in paths() {
        let spec = Spec::from_toml(&toml).unwrap();
        if spec.periods != 1 {
            continue;
        }
        let m = Model::compile(&spec, &Limits::default()).unwrap();
        let (raw, _) = riskpool::monte_carlo(&m, 2, &Control::default()).unwrap();
        let exact_d: f64 = m.loans().iter().map(|l| l.pd).sum();
        let exact_l: f64 = m
            .loans()
            .iter()
            .map(|l| l.amount_fen as f64 * l.pd * l.lgd.mean())
            .sum();
        let n = raw.len() as f64;
        let w = |i: usize| raw.weight.as_ref().map_or(1.0, |w| w[i]);
        let check = |x: &dyn Fn(usize) -> f64, exact: f64, what: &str| {
            let t: Vec<f64> = (0..raw.len()).map(|i| w(i) * x(i)).collect();
            let mean = t.iter().sum::<f64>() / n;
            let se = (t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
            let z = (mean - exact) / se;
            assert!(
                z.abs() <= 4.0,
                "{name} {what}: {mean} vs exact {exact}, z = {z:.2}"
            );
        };
        check(&|i| f64::from(raw.defaults[i]), exact_d, "E[D]");
        check(&|i| raw.loss[i] as f64, exact_l, "E[L]");
    }
}
