//! The Monte Carlo engine against exact oracles, with tolerances of four
//! standard errors of the estimator; reproducibility across thread counts
//! and shard splits; golden values.

use smefin::riskpool::oracle::{
    binomial_sf, book_moments, conditional_pd, factor_expectation, finite_pool_tail,
};
use smefin::riskpool::{self, Control, Engine, Limits, Model, Spec};

fn model(toml: &str) -> Model {
    let spec = Spec::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
    Model::compile(&spec, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn run(m: &Model, threads: usize) -> (riskpool::Raw, riskpool::Summary) {
    riskpool::monte_carlo(m, threads, &Control::default()).unwrap()
}

/// |estimate − exact| ≤ 4·SE.
fn within(estimate: f64, exact: f64, se: f64, what: &str) {
    assert!(se > 0.0, "{what}: zero standard error");
    let z = (estimate - exact) / se;
    assert!(
        z.abs() <= 4.0,
        "{what}: estimate {estimate} vs exact {exact}, SE {se}, z = {z:.2}"
    );
}

/// A homogeneous pool whose capital pays exactly `k` claims: it runs dry iff
/// at least k loans default. LGD 1 and share 1, so a claim is the loan.
fn homogeneous(n: u64, pd: f64, rho: f64, k: u64, scenarios: u64, extra: &str) -> String {
    format!(
        r#"
        seed = 7
        scenarios = {scenarios}
        [pool]
        capital = "{k}00万"
        compensation_share = 1.0
        [dependence]
        rho = {rho}
        {extra}
        [[portfolio.segments]]
        count = {n}
        amount = "100万"
        pd = {pd}
        lgd = 1.0
        sector = "A"
        "#
    )
}

#[test]
fn finite_homogeneous_pool_matches_the_exact_binomial_mixture() {
    let (n, pd, rho, k) = (200, 0.02, 0.2, 14);
    let m = model(&homogeneous(n, pd, rho, k, 200_000, ""));
    let (_, s) = run(&m, 0);
    let exact = finite_pool_tail(n, k, pd, rho);
    assert!(exact > 0.01 && exact < 0.2, "{exact}");
    let p = s.exhaustion_probability;
    within(
        p.estimate,
        exact,
        (exact * (1.0 - exact) / s.scenarios as f64).sqrt(),
        "P(D ≥ k)",
    );
    assert!(
        p.ci95_low <= exact && exact <= p.ci95_high
            || (p.estimate - exact).abs() < 4.0 * p.std_error
    );
    // default count moments
    let mm = book_moments(&vec![(pd, 1.0); n as usize], rho);
    within(
        s.defaults.mean,
        mm.mean_defaults,
        (mm.var_defaults / s.scenarios as f64).sqrt(),
        "E[D]",
    );
}

#[test]
fn heterogeneous_book_mean_and_variance() {
    let toml = r#"
        seed = 11
        scenarios = 200000
        [pool]
        capital = "1亿"
        compensation_share = 0.5
        [dependence]
        rho = 0.12
        [[portfolio.segments]]
        count = 300
        amount = "50万"
        pd = 0.01
        lgd = 0.45
        sector = "制造业"
        [[portfolio.segments]]
        count = 150
        amount = "200万"
        pd = 0.04
        lgd = 0.6
        sector = "批发零售"
        [[portfolio.segments]]
        count = 50
        amount = "500万"
        pd = 0.09
        lgd = 0.75
        sector = "住宿餐饮"
    "#;
    let m = model(toml);
    let (raw, s) = run(&m, 0);
    let book: Vec<(f64, f64)> = m
        .loans()
        .iter()
        .map(|l| {
            let smefin::riskpool::model::Lgd::Fixed(lgd) = l.lgd else {
                unreachable!()
            };
            (l.pd, (l.amount_fen as f64 * lgd).round())
        })
        .collect();
    let exact = book_moments(&book, 0.12);
    let n = s.scenarios as f64;
    within(
        s.defaults.mean,
        exact.mean_defaults,
        (exact.var_defaults / n).sqrt(),
        "E[D]",
    );
    // the sample variance: SE from the sample fourth central moment
    let d: Vec<f64> = raw.defaults.iter().map(|&x| f64::from(x)).collect();
    let mean = d.iter().sum::<f64>() / n;
    let m4 = d.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
    let se_var = ((m4 - s.defaults.variance.powi(2)) / n).sqrt();
    within(s.defaults.variance, exact.var_defaults, se_var, "Var[D]");
    // mean loss in fen
    let loss_mean: f64 = raw.loss.iter().map(|&x| x as f64).sum::<f64>() / n;
    within(
        loss_mean,
        exact.mean_loss,
        (exact.var_loss / n).sqrt(),
        "E[L]",
    );
    let lv = raw
        .loss
        .iter()
        .map(|&x| (x as f64 - loss_mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let l4 = raw
        .loss
        .iter()
        .map(|&x| (x as f64 - loss_mean).powi(4))
        .sum::<f64>()
        / n;
    within(lv, exact.var_loss, ((l4 - lv * lv) / n).sqrt(), "Var[L]");
    // contributions cover the three sectors and add up
    let total: f64 = s.risk_contributions.iter().map(|c| c.share).sum();
    assert!((total - 1.0).abs() < 1e-9);
    assert_eq!(s.risk_contributions.len(), 3);
}

#[test]
fn one_sector_factor_is_extra_global_correlation() {
    // with a single sector, √ρg·G + √ρs·S is one factor with ρ = ρg + ρs
    let (n, pd, k) = (150, 0.03, 12);
    let m = model(&homogeneous(n, pd, 0.1, k, 150_000, "sector_rho = 0.08"));
    let (_, s) = run(&m, 0);
    let exact = finite_pool_tail(n, k, pd, 0.18);
    within(
        s.exhaustion_probability.estimate,
        exact,
        (exact * (1.0 - exact) / s.scenarios as f64).sqrt(),
        "sector factor",
    );
}

#[test]
fn student_t_copula_tends_to_gaussian_and_has_fatter_tails() {
    let (n, pd, rho, k) = (150, 0.03, 0.15, 14);
    let exact = finite_pool_tail(n, k, pd, rho);
    let m = model(&homogeneous(
        n,
        pd,
        rho,
        k,
        150_000,
        "copula = \"t\"\nnu = 1000",
    ));
    let (_, s) = run(&m, 0);
    // ν = 1000 differs from the Gaussian by O(1/ν); far inside 4 SE here
    within(
        s.exhaustion_probability.estimate,
        exact,
        (exact * (1.0 - exact) / s.scenarios as f64).sqrt(),
        "t(1000)",
    );
    let m4 = model(&homogeneous(
        n,
        pd,
        rho,
        k,
        150_000,
        "copula = \"t\"\nnu = 4",
    ));
    let (_, s4) = run(&m4, 0);
    assert!(
        s4.exhaustion_probability.estimate > exact + 4.0 * s4.exhaustion_probability.std_error,
        "t(4) tail {} should exceed Gaussian {exact}",
        s4.exhaustion_probability.estimate
    );
}

#[test]
fn beta_lgd_mean_loss() {
    let toml = r#"
        seed = 3
        scenarios = 100000
        [dependence]
        rho = 0.1
        [[portfolio.segments]]
        count = 400
        amount = "100万"
        pd = 0.03
        lgd = { mean = 0.55, sd = 0.25 }
    "#;
    let m = model(toml);
    let (raw, s) = run(&m, 0);
    let n = s.scenarios as f64;
    let exact = 400.0 * 0.03 * 0.55 * 100_000_000.0;
    let mean = raw.loss.iter().map(|&x| x as f64).sum::<f64>() / n;
    let sd = (raw
        .loss
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0))
        .sqrt();
    within(mean, exact, sd / n.sqrt(), "E[L] with Beta LGD");
}

#[test]
fn importance_sampling_agrees_with_the_exact_tail_and_with_plain_monte_carlo() {
    // rare: P ≈ 1e-4, out of plain Monte Carlo's reach at 50k scenarios
    let (n, pd, rho, k) = (300, 0.01, 0.12, 40);
    let exact = finite_pool_tail(n, k, pd, rho);
    assert!(exact < 1e-3 && exact > 1e-7, "{exact}");
    let m = model(
        &homogeneous(n, pd, rho, k, 50_000, "")
            .replace("[dependence]", "[importance_sampling]\n[dependence]"),
    );
    let (_, s) = run(&m, 0);
    let is = s.importance_sampling.unwrap();
    assert!(is.shift < 0.0 && is.effective_sample_size > 100.0, "{is:?}");
    within(
        s.exhaustion_probability.estimate,
        exact,
        s.exhaustion_probability.std_error,
        "IS tail",
    );
    // where both are feasible they agree
    let k2 = 10;
    let plain = model(&homogeneous(n, pd, rho, k2, 100_000, ""));
    let (_, sp) = run(&plain, 0);
    let weighted = model(
        &homogeneous(n, pd, rho, k2, 100_000, "")
            .replace("[dependence]", "[importance_sampling]\n[dependence]"),
    );
    let (_, sw) = run(&weighted, 0);
    let (a, b) = (sp.exhaustion_probability, sw.exhaustion_probability);
    within(
        a.estimate,
        b.estimate,
        (a.std_error.powi(2) + b.std_error.powi(2)).sqrt(),
        "IS vs plain",
    );
    let exact2 = finite_pool_tail(n, k2, pd, rho);
    within(b.estimate, exact2, b.std_error, "IS at moderate level");
}

/// Multi-period oracle: a homogeneous book of `n` loans whose terms outlast
/// the horizon, defaulted loans re-lent while the breaker is untripped, the
/// breaker tripping when cumulative defaults ≥ r × loans lent, factors
/// independent across periods. A Markov chain on (cumulative defaults,
/// active loans, loans lent, tripped) gives P(exhausted by t) = P(D_t ≥ K)
/// and P(tripped by t) exactly.
#[test]
fn multi_period_breaker_and_pool_path_match_a_markov_chain() {
    let (n, pd, rho, k_cap, r, periods) = (30usize, 0.04, 0.15, 6usize, 0.08, 3usize);
    let toml = format!(
        r#"
        seed = 99
        scenarios = 200000
        periods = {periods}
        [pool]
        capital = "{k_cap}00万"
        compensation_share = 1.0
        [pool.breaker]
        default_rate = {r}
        [dependence]
        rho = {rho}
        [[portfolio.segments]]
        count = {n}
        amount = "100万"
        pd = {pd}
        lgd = 1.0
        term_months = 600
        "#
    );
    let m = model(&toml);
    let (raw, s) = run(&m, 0);

    // P(k defaults among a active loans) for one period.
    let trans: Vec<Vec<f64>> = (0..=n)
        .map(|a| {
            (0..=a)
                .map(|k| {
                    factor_expectation(
                        &|z| {
                            let p = conditional_pd(pd, rho, z);
                            binomial_sf(k as u64, a as u64, p)
                                - binomial_sf(k as u64 + 1, a as u64, p)
                        },
                        1e-13,
                    )
                })
                .collect()
        })
        .collect();
    use std::collections::HashMap;
    // state: (d, a, lent, tripped) → probability
    let mut states: HashMap<(usize, usize, usize, bool), f64> = HashMap::new();
    states.insert((0, n, n, false), 1.0);
    let mut exhausted_by = Vec::new();
    let mut tripped_by = Vec::new();
    for _ in 0..periods {
        let mut next: HashMap<(usize, usize, usize, bool), f64> = HashMap::new();
        for (&(d, a, lent, tripped), &pr) in &states {
            for (k, &pk) in trans[a].iter().enumerate() {
                let d2 = d + k;
                // tripped before, or trips now (checked before re-lending): run-off
                let (a2, lent2, t2) = if tripped || d2 as f64 >= r * lent as f64 {
                    (a - k, lent, true)
                } else {
                    (n, lent + k, false)
                };
                *next.entry((d2, a2, lent2, t2)).or_default() += pr * pk;
            }
        }
        states = next;
        exhausted_by.push(
            states
                .iter()
                .filter(|(s, _)| s.0 >= k_cap)
                .map(|(_, p)| p)
                .sum::<f64>(),
        );
        tripped_by.push(
            states
                .iter()
                .filter(|(s, _)| s.3)
                .map(|(_, p)| p)
                .sum::<f64>(),
        );
    }
    let nf = s.scenarios as f64;
    for t in 0..periods {
        let e = exhausted_by[t];
        within(
            s.exhaustion_by_period[t].estimate,
            e,
            (e * (1.0 - e) / nf).sqrt(),
            &format!("exhausted by period {}", t + 1),
        );
        let tripped = raw
            .breaker_period
            .iter()
            .flatten()
            .filter(|b| usize::from(b.get()) <= t + 1)
            .count() as f64
            / nf;
        let e = tripped_by[t];
        within(
            tripped,
            e,
            (e * (1.0 - e) / nf).sqrt(),
            &format!("tripped by period {}", t + 1),
        );
    }
    let b = s.breaker.unwrap();
    within(
        b.trip_probability.estimate,
        tripped_by[periods - 1],
        b.trip_probability.std_error.max(1e-9),
        "trip probability",
    );
}

#[test]
fn bit_identical_across_thread_counts_and_shard_splits() {
    let mut spec = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    spec.scenarios = 30_000;
    spec.periods = 4;
    spec.periods_per_year = 4;
    spec.factor_ar = 0.5;
    spec.pool.recovery_lag = 1;
    spec.pool.breaker = Some(riskpool::spec::BreakerSpec {
        default_rate: Some(0.03),
        compensation_ratio: None,
    });
    spec.dependence.sector_rho = 0.05;
    let m = Model::compile(&spec, &Limits::default()).unwrap();
    let (r1, s1) = run(&m, 1);
    let (r2, s2) = run(&m, 2);
    let (r8, s8) = run(&m, 8);
    assert!(
        r1 == r2 && r1 == r8,
        "raw outcomes differ across thread counts"
    );
    let j = |s: &riskpool::Summary| serde_json::to_string(s).unwrap();
    assert_eq!(j(&s1), j(&s2));
    assert_eq!(j(&s1), j(&s8));

    // 3 shards, written out as part files and read back, merge to the same run
    let parts: Vec<riskpool::Part> = (0..3)
        .map(|k| {
            let p = riskpool::run_shard(&m, None, k, 3, 2, &Control::default()).unwrap();
            serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap()
        })
        .collect();
    let mut shuffled = parts.clone();
    shuffled.reverse();
    let (spec2, raw) = riskpool::merge(shuffled).unwrap();
    assert_eq!(spec2, spec);
    assert!(raw == r1, "merged shards differ from the unsharded run");
    let e = Engine::new(&m);
    assert_eq!(
        j(&riskpool::stats::summarize(&e, &m, &raw, &Control::default()).unwrap()),
        j(&s1)
    );
    // a missing or foreign shard is refused
    assert!(riskpool::merge(parts[..2].to_vec()).is_err());
    let mut other = parts.clone();
    other[1].spec.seed += 1;
    assert!(riskpool::merge(other).is_err());
}

#[test]
fn golden_values() {
    let mut spec = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    spec.scenarios = 20_000;
    let m = Model::compile(&spec, &Limits::default()).unwrap();
    let (_, s) = run(&m, 0);
    let got = (
        (s.exhaustion_probability.estimate * 20_000.0).round() as u64,
        s.loss.mean.to_fen_string(),
        s.compensation.quantiles[3].value.to_fen_string(),
        format!("{:.6}", s.defaults.mean),
    );
    let want = (
        GOLDEN.0,
        GOLDEN.1.to_string(),
        GOLDEN.2.to_string(),
        GOLDEN.3.to_string(),
    );
    assert_eq!(got, want, "golden values moved");
}

/// (exhaustions in 20,000 scenarios, mean loss, P99 compensation, mean
/// defaults) of the built-in spec at its seed.
const GOLDEN: (u64, &str, &str, &str) = (25, "7175507.33", "18730408.49", "39.885750");

#[test]
fn cancellation_stops_the_run() {
    let m = model(&homogeneous(2000, 0.02, 0.15, 100, 5_000_000, ""));
    let control = Control::default();
    control
        .cancel
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(riskpool::monte_carlo(&m, 0, &control).is_err());
}

#[test]
fn cancellation_mid_run_and_during_the_summary() {
    use std::sync::atomic::Ordering;
    let m = model(&homogeneous(2000, 0.02, 0.15, 100, 20_000_000, ""));
    let e = Engine::new(&m);
    let control = Control::default();
    // another thread cancels once the first batch is done
    let raw = std::thread::scope(|s| {
        s.spawn(|| {
            while control.done.load(Ordering::Relaxed) == 0 {
                std::thread::yield_now();
            }
            control.cancel.store(true, Ordering::Relaxed);
        });
        e.run(0..m.spec().scenarios, 2, &control)
    });
    assert_eq!(raw, Err(riskpool::Cancelled));
    let done = control.done.load(Ordering::Relaxed);
    assert!(
        done > 0 && done < m.spec().scenarios / 10,
        "{done} scenarios ran"
    );
    // a finished run's summary stops when cancelled
    let raw = e.run(0..5000, 1, &Control::default()).unwrap();
    assert!(riskpool::stats::summarize(&e, &m, &raw, &control).is_err());
    assert!(riskpool::stats::summarize(&e, &m, &raw, &Control::default()).is_ok());
}

/// One loan that defaults every period (PD 1): the pool's path is
/// deterministic, so every rule can be checked to the fen.
fn certain_default(pool: &str, periods: u32, ppy: u32, lgd: f64) -> riskpool::Summary {
    let m = model(&format!(
        r#"
        scenarios = 50
        periods = {periods}
        periods_per_year = {ppy}
        [pool]
        {pool}
        [[portfolio.loans]]
        amount = "100万"
        pd = 1.0
        lgd = {lgd}
        term_months = 600
        "#
    ));
    run(&m, 1).1
}

#[test]
fn top_up_refills_within_its_yearly_cap() {
    // claim 50万 a period; refill to 60万 when below, at most 60万 a year:
    // P1 60→10, +50 → 60; P2 60→10, +10 → 20; P3 claims 50 ≥ 20: dry, pays 20.
    let s = certain_default(
        "capital = \"60万\"\ncompensation_share = 0.5\ntop_up = { below = \"60万\", refill_to = \"60万\", max_per_year = \"60万\" }",
        3,
        4,
        1.0,
    );
    assert_eq!(s.exhaustion_probability.estimate, 1.0);
    assert_eq!(s.exhaustion_by_period[1].estimate, 0.0);
    assert_eq!(s.compensation.mean.to_fen_string(), "1200000.00");
    assert_eq!(s.unfunded_claims.mean.to_fen_string(), "300000.00");
    assert_eq!(s.bank_loss.mean.to_fen_string(), "1800000.00");
}

/// The yearly top-up cap resets at the year boundary: claims of 50万 a
/// period, refill to 60万, at most 60万 a year. Half-yearly periods:
/// P1 60→10 +50; P2 60→10 +10 (cap reached, year ends, cap resets);
/// P3 claims 50 against 20: dry, pays 20, +60; P4 60→10, +0.
/// Quarterly periods (one year for all four): P3 gets no top-up, P4 pays 0.
#[test]
fn the_yearly_top_up_cap_resets_at_the_year_boundary() {
    let pool = "capital = \"60万\"\ncompensation_share = 0.5\ntop_up = { below = \"60万\", refill_to = \"60万\", max_per_year = \"60万\" }";
    let s = certain_default(pool, 4, 2, 1.0);
    assert_eq!(s.exhaustion_by_period[1].estimate, 0.0);
    assert_eq!(s.exhaustion_by_period[2].estimate, 1.0);
    assert_eq!(s.compensation.mean.to_fen_string(), "1700000.00");
    assert_eq!(s.unfunded_claims.mean.to_fen_string(), "300000.00");
    let s = certain_default(pool, 4, 4, 1.0);
    assert_eq!(s.compensation.mean.to_fen_string(), "1200000.00");
    assert_eq!(s.unfunded_claims.mean.to_fen_string(), "800000.00");
}

/// The compensation-ratio breaker compares what was paid with all capital
/// provided, top-ups included: capital 100万, claims 50万 a period, refills
/// to 100万, ratio 0.7. P1 50 < 70; +50 (provided 150); P2 100 < 105; +50
/// (200); P3 150 ≥ 140: trips. Counting the initial capital alone would trip
/// in P2 (100 ≥ 70).
#[test]
fn the_compensation_ratio_counts_top_ups() {
    let s = certain_default(
        "capital = \"100万\"\ncompensation_share = 0.5\ntop_up = { below = \"80万\", refill_to = \"100万\", max_per_year = \"1000万\" }\nbreaker = { compensation_ratio = 0.7 }",
        4,
        4,
        1.0,
    );
    assert_eq!(s.breaker.unwrap().by_period, vec![0.0, 0.0, 1.0, 0.0]);
}

#[test]
fn compensation_ratio_breaker_stops_lending() {
    // paid 50万 ≥ 0.8 × 60万 after period 1: lending stops, the book runs off
    let s = certain_default(
        "capital = \"60万\"\ncompensation_share = 0.5\nbreaker = { compensation_ratio = 0.8 }",
        3,
        4,
        1.0,
    );
    let b = s.breaker.unwrap();
    assert_eq!(b.trip_probability.estimate, 1.0);
    assert_eq!(b.by_period, vec![1.0, 0.0, 0.0]);
    assert_eq!(s.defaults.mean, 1.0);
    assert_eq!(s.compensation.mean.to_fen_string(), "500000.00");
    // without the breaker the loan is re-lent and defaults every period
    let s = certain_default("capital = \"1000万\"\ncompensation_share = 0.5", 3, 4, 1.0);
    assert_eq!(s.defaults.mean, 3.0);
}

#[test]
fn recoveries_return_after_the_lag() {
    // lag 1: the pool pays 50% of the exposure (50万) at default and gets 50%
    // of the recovery (40% × 100万 × 50% = 20万) back one period later; the
    // second period's recovery falls after the horizon.
    let s = certain_default(
        "capital = \"1000万\"\ncompensation_share = 0.5\nrecovery_lag = 1",
        2,
        4,
        0.6,
    );
    assert_eq!(s.loss.mean.to_fen_string(), "1200000.00");
    assert_eq!(s.compensation.mean.to_fen_string(), "800000.00");
    assert_eq!(s.bank_loss.mean.to_fen_string(), "400000.00");
    // per-loan cap: at most 30万 per claim
    let s = certain_default(
        "capital = \"1000万\"\ncompensation_share = 0.5\nper_loan_cap = \"30万\"",
        1,
        1,
        0.6,
    );
    assert_eq!(s.compensation.mean.to_fen_string(), "300000.00");
}

/// Exact law of the default count D of a homogeneous pool: P(D = k).
fn pool_pmf(n: u64, pd: f64, rho: f64) -> Vec<f64> {
    let tail: Vec<f64> = (0..=n + 1)
        .map(|k| {
            if k == 0 {
                1.0
            } else if k > n {
                0.0
            } else {
                finite_pool_tail(n, k, pd, rho)
            }
        })
        .collect();
    (0..=n as usize)
        .map(|k| (tail[k] - tail[k + 1]).max(0.0))
        .collect()
}

/// Under importance sampling every summary is the likelihood-ratio-weighted
/// estimate: the default-count and loss means, the loss VaR and ES, the
/// histogram and the ES contributions, each against the exact finite pool.
/// (Unweighted, these describe the shifted measure: E[D] came out near 30
/// instead of 3.)
#[test]
fn importance_sampling_weights_every_summary() {
    let (n, pd, rho, k) = (300u64, 0.01, 0.12, 40);
    let toml = homogeneous(n, pd, rho, k, 50_000, "")
        .replace("[dependence]", "[importance_sampling]\n[dependence]");
    let m = model(&toml);
    let (raw, s) = run(&m, 0);
    let unit = 100_000_000.0; // 100万 in fen: one default's loss
    // E[D] = n·p, E[L] = n·p·100万; the SE of the mean of wᵢdᵢ, computed
    // here from the raw weights.
    let weight = raw
        .weight
        .as_deref()
        .expect("importance sampling weighs its scenarios");
    let big_n = weight.len() as f64;
    let t: Vec<f64> = raw
        .defaults
        .iter()
        .zip(weight)
        .map(|(&d, &w)| w * f64::from(d))
        .collect();
    let tm = t.iter().sum::<f64>() / big_n;
    let se_d = (t.iter().map(|x| (x - tm).powi(2)).sum::<f64>() / (big_n - 1.0) / big_n).sqrt();
    within(s.defaults.mean, n as f64 * pd, se_d, "weighted E[D]");
    within(
        s.loss.mean.to_fen() as f64,
        n as f64 * pd * unit,
        s.loss.mean_std_error.to_fen() as f64,
        "weighted E[L]",
    );
    // VaR at 99.9%: the exact quantile of D, to within one default
    let pmf = pool_pmf(n, pd, rho);
    let alpha = 0.999;
    let mut acc = 0.0;
    let k_var = pmf
        .iter()
        .position(|&p| {
            acc += p;
            acc >= alpha
        })
        .unwrap() as f64;
    let var = s
        .loss
        .quantiles
        .iter()
        .find(|x| x.level == alpha)
        .unwrap()
        .value;
    let got = var.to_fen() as f64 / unit;
    assert!(
        (got - k_var).abs() <= 1.0,
        "VaR99.9: {got} defaults vs exact {k_var}"
    );
    // histogram: probabilities, no raw counts
    let h = &s.loss_histogram;
    assert!(h.counts.is_empty() && h.overflow == 0);
    let w = h.weighted.as_ref().unwrap();
    let sum: f64 = w.probabilities.iter().sum::<f64>() + w.overflow;
    let mean_w = weight.iter().sum::<f64>() / big_n;
    assert!((sum - mean_w).abs() < 1e-9, "{sum} vs {mean_w}");
    // each bin holds one default count (a default is 1/300 of the book, a
    // bin 1/400): the mass of 10–19 defaults against the exact law
    let exact_mid: f64 = pmf[10..20].iter().sum();
    let width = h.bin_width_rate;
    let got_mid: f64 = w
        .probabilities
        .iter()
        .enumerate()
        .filter(|(b, _)| {
            let defaults = ((*b as f64 + 0.5) * width * 300.0).floor();
            (10.0..20.0).contains(&defaults)
        })
        .map(|(_, p)| p)
        .sum();
    let hits: Vec<f64> = raw
        .defaults
        .iter()
        .zip(weight)
        .map(|(&d, &w)| if (10..20).contains(&d) { w } else { 0.0 })
        .collect();
    let hm = hits.iter().sum::<f64>() / big_n;
    let se_mid =
        (hits.iter().map(|x| (x - hm).powi(2)).sum::<f64>() / (big_n - 1.0) / big_n).sqrt();
    within(
        got_mid,
        exact_mid,
        se_mid,
        "weighted histogram, 10–19 defaults",
    );
    // the fan is not estimated under IS rather than shown wrong
    assert!(s.balance_fan.is_empty());
    // ES contributions add up to the ES
    let parts: i64 = s
        .risk_contributions
        .iter()
        .map(|c| c.es_contribution.to_fen())
        .sum();
    assert!((parts - s.loss.es.to_fen()).abs() <= s.risk_contributions.len() as i64);
}

/// The weighted ES at 99% against the exact ES of the finite pool, with the
/// tolerance taken from 16 independent runs (4 standard errors of their
/// mean).
#[test]
fn importance_sampling_es_matches_the_exact_pool() {
    let (n, pd, rho, k) = (300u64, 0.01, 0.12, 40);
    let alpha = 0.99;
    let pmf = pool_pmf(n, pd, rho);
    // exact ES of D: the mean of the worst 1 − α of mass
    let mut need = 1.0 - alpha;
    let mut es = 0.0;
    for (kk, &p) in pmf.iter().enumerate().rev() {
        let take = p.min(need);
        es += take * kk as f64;
        need -= take;
        if need <= 0.0 {
            break;
        }
    }
    let exact = es / (1.0 - alpha);
    let runs: Vec<f64> = (0..16)
        .map(|i| {
            let toml = homogeneous(n, pd, rho, k, 20_000, "")
                .replace("seed = 7", &format!("seed = {}", 100 + i))
                .replace("[dependence]", "[importance_sampling]\n[dependence]");
            let (_, s) = run(&model(&toml), 0);
            s.loss.es.to_fen() as f64 / 100_000_000.0
        })
        .collect();
    let mean = runs.iter().sum::<f64>() / 16.0;
    let sd = (runs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 15.0).sqrt();
    within(mean, exact, sd / 4.0, "weighted ES99 (defaults)");
}

/// Plain Monte Carlo: with N(1 − α) whole, each sector's ES contribution is
/// the mean of its losses over the worst N(1 − α) scenarios, so they add up
/// to the loss ES to the fen (one fen of rounding per sector).
#[test]
fn es_contributions_add_up_to_the_loss_es() {
    let m = model(
        r#"
        seed = 11
        scenarios = 100000
        [pool]
        capital = "2000万"
        [dependence]
        rho = 0.15
        sector_rho = 0.1
        [[portfolio.segments]]
        count = 300
        amount = "50万"
        pd = 0.02
        lgd = 0.6
        sector = "制造业"
        [[portfolio.segments]]
        count = 200
        total = "8000万"
        size_sigma = 0.8
        pd = 0.04
        lgd = 0.5
        sector = "批发零售"
        [[portfolio.segments]]
        count = 100
        amount = "30万"
        pd = 0.01
        lgd = 0.7
        sector = "文旅"
        "#,
    );
    let (_, s) = run(&m, 0);
    assert_eq!(s.risk_contributions.len(), 3);
    let parts: i64 = s
        .risk_contributions
        .iter()
        .map(|c| c.es_contribution.to_fen())
        .sum();
    let es = s.loss.es.to_fen();
    assert!(es > 0);
    assert!((parts - es).abs() <= 3, "contributions {parts} vs ES {es}");
}

/// The Vasicek large-pool figure uses the period PD the engine uses (with
/// quarters, 1 − (1 − PD)^(1/4)), and a large homogeneous pool's Monte Carlo
/// exhaustion probability agrees with it within 4 standard errors plus the
/// finite-size gap, computed exactly from the finite pool.
#[test]
fn monte_carlo_meets_the_vasicek_limit_with_period_pd() {
    let (n, pd_annual, rho) = (4000u64, 0.08f64, 0.15);
    let toml = format!(
        r#"
        seed = 5
        scenarios = 100000
        periods_per_year = 4
        [pool]
        capital = "{cap}万"
        compensation_share = 1.0
        [dependence]
        rho = {rho}
        [[portfolio.segments]]
        count = {n}
        amount = "10万"
        pd = {pd_annual}
        lgd = 1.0
        sector = "A"
        "#,
        cap = 4000 * 10 * 6 / 100, // claims of 6% of the book: 240 defaults
    );
    let m = model(&toml);
    let (_, s) = run(&m, 0);
    let v = s
        .vasicek
        .expect("a homogeneous Gaussian single-period book");
    let pd_q = 1.0 - (1.0 - pd_annual).powf(0.25);
    assert!((v.pd - pd_q).abs() < 1e-15, "{} vs {pd_q}", v.pd);
    assert!((v.default_rate_threshold - 0.06).abs() < 1e-12);
    let k = 240;
    let finite = finite_pool_tail(n, k, pd_q, rho);
    let gap = (finite - v.exhaustion_probability).abs();
    let p = s.exhaustion_probability;
    assert!(p.estimate > 0.005, "{p:?}");
    assert!(
        (p.estimate - v.exhaustion_probability).abs() <= 4.0 * p.std_error + gap,
        "MC {p:?} vs Vasicek {} (finite pool {finite})",
        v.exhaustion_probability
    );
    // and with the annual PD the figure would be far off
    let wrong = 1.0 - smefin::riskpool::oracle::vasicek_cdf(0.06, pd_annual, rho);
    assert!(
        (p.estimate - wrong).abs() > 10.0 * p.std_error + gap,
        "{wrong}"
    );
}

// ---------------------------------------------------------------------------
// Oracles that share no code with the engine: the bivariate normal by
// Plackett's identity, the t copula as a two-dimensional integral over the
// factor and the χ²ν mixing variable, the Beta LGD's variance in closed form.

fn normal() -> statrs::distribution::Normal {
    statrs::distribution::Normal::new(0.0, 1.0).unwrap()
}

/// Φ₂(h, h; ρ) = Φ(h)² + ∫₀^ρ φ₂(h, h; r) dr (Plackett), by quadrature in r.
fn bvn_same(h: f64, rho: f64) -> f64 {
    use statrs::distribution::ContinuousCDF;
    let phi_h = normal().cdf(h);
    let density =
        |r: f64| (-(h * h) / (1.0 + r)).exp() / (2.0 * std::f64::consts::PI * (1.0 - r * r).sqrt());
    phi_h * phi_h + smefin::riskpool::oracle::integrate(&density, 0.0, rho, 1e-14)
}

/// Sample variance and the standard error of it, (m₄ − s⁴)/N under the root.
fn variance_with_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = x.iter().map(|a| (a - m).powi(4)).sum::<f64>() / n;
    (v, ((m4 - v * v) / n).sqrt())
}

/// Var[D] of a homogeneous one-factor pool pins ρ: two loans default
/// together with probability Φ₂(t, t; ρ), t = Φ⁻¹(p).
#[test]
fn the_pairwise_default_probability_pins_the_loading() {
    use statrs::distribution::ContinuousCDF;
    let (n, pd, rho) = (100u64, 0.05, 0.2);
    let m = model(&homogeneous(n, pd, rho, 1000, 200_000, ""));
    let (raw, _) = run(&m, 0);
    let d: Vec<f64> = raw.defaults.iter().map(|&x| f64::from(x)).collect();
    let (v, se) = variance_with_se(&d);
    let t = normal().inverse_cdf(pd);
    let nf = n as f64;
    let exact = nf * pd * (1.0 - pd) + nf * (nf - 1.0) * (bvn_same(t, rho) - pd * pd);
    within(v, exact, se, "Var[D] against Φ₂");
    // the same check would tell √ρ from ρ
    let wrong = nf * pd * (1.0 - pd) + nf * (nf - 1.0) * (bvn_same(t, rho.sqrt()) - pd * pd);
    assert!((v - wrong).abs() > 10.0 * se);
}

/// Two sectors A and B of `n` loans of 100万 each (PD `pd`, LGD 1), a global
/// and a sector factor, the pool paying every loss out of `capital`.
fn two_sectors(
    seed: u64,
    scenarios: u64,
    capital: &str,
    n: u64,
    pd: f64,
    rho_g: f64,
    rho_s: f64,
) -> Model {
    let segment = |sector: &str| {
        format!(
            "[[portfolio.segments]]\ncount = {n}\namount = \"100万\"\npd = {pd}\nlgd = 1.0\nsector = \"{sector}\"\n"
        )
    };
    model(&format!(
        "seed = {seed}\nscenarios = {scenarios}\n[pool]\ncapital = \"{capital}\"\ncompensation_share = 1.0\n[dependence]\nrho = {rho_g}\nsector_rho = {rho_s}\n{}{}",
        segment("A"),
        segment("B")
    ))
}

/// Two sectors with a sector factor: the same-sector variance follows
/// Φ₂(t, t; ρg + ρs), the cross-sector covariance Φ₂(t, t; ρg).
#[test]
fn sector_factors_give_the_bivariate_normal_covariances() {
    let (n, pd, rho_g, rho_s, scenarios) = (150u64, 0.03, 0.1, 0.15, 100_000u64);
    let m = two_sectors(3, scenarios, "100亿", n, pd, rho_g, rho_s);
    let e = Engine::new(&m);
    let (a, b): (Vec<f64>, Vec<f64>) = (0..scenarios)
        .map(|i| {
            let s = e.sector_losses(i);
            (s[0] as f64 / 1e8, s[1] as f64 / 1e8)
        })
        .unzip();
    use statrs::distribution::ContinuousCDF;
    let t = normal().inverse_cdf(pd);
    let nf = n as f64;
    let (va, se_a) = variance_with_se(&a);
    let exact_same =
        nf * pd * (1.0 - pd) + nf * (nf - 1.0) * (bvn_same(t, rho_g + rho_s) - pd * pd);
    within(va, exact_same, se_a, "same-sector Var[D_A]");
    let (ma, mb) = (
        a.iter().sum::<f64>() / scenarios as f64,
        b.iter().sum::<f64>() / scenarios as f64,
    );
    let prods: Vec<f64> = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).collect();
    let cov = prods.iter().sum::<f64>() / (scenarios as f64 - 1.0);
    let sd = (prods.iter().map(|p| (p - cov).powi(2)).sum::<f64>() / scenarios as f64).sqrt();
    let exact_cross = nf * nf * (bvn_same(t, rho_g) - pd * pd);
    within(
        cov,
        exact_cross,
        sd / (scenarios as f64).sqrt(),
        "cross-sector Cov[D_A, D_B]",
    );
}

/// The t copula's finite homogeneous pool: conditional on the factor g and
/// the mixing variable c ~ χ²ν, a loan defaults with probability
/// Φ((t_ν⁻¹(p)·√(c/ν) − √ρ·g) / √(1 − ρ)); P(D ≥ k), E[D] = n·p and Var[D]
/// are integrals over (Φ(g), F_χ²(c)) ∈ (0, 1)².
#[test]
fn t_copula_matches_its_exact_finite_pool() {
    use smefin::riskpool::oracle::{binomial_sf, integrate};
    use statrs::distribution::{ChiSquared, ContinuousCDF, StudentsT};
    let (n, pd, rho, nu, k) = (100u64, 0.02, 0.15f64, 4.0f64, 10u64);
    let thr = StudentsT::new(0.0, 1.0, nu).unwrap().inverse_cdf(pd);
    let chi = ChiSquared::new(nu).unwrap();
    let norm = normal();
    // the χ² quantile once per outer node, the normal one per inner node
    let integral = |thr: f64, f: &dyn Fn(f64) -> f64| {
        integrate(
            &|u2: f64| {
                let scale = (chi.inverse_cdf(u2) / nu).sqrt();
                integrate(
                    &|u1: f64| {
                        let g = norm.inverse_cdf(u1);
                        f(norm.cdf((thr * scale - rho.sqrt() * g) / (1.0 - rho).sqrt()))
                    },
                    0.0,
                    1.0,
                    1e-11,
                )
            },
            0.0,
            1.0,
            1e-10,
        )
    };
    let over = |f: &dyn Fn(f64) -> f64| integral(thr, f);
    let tail = over(&|q| binomial_sf(k, n, q));
    let mean_q = over(&|q| q);
    let both = over(&|q| q * q);
    assert!((mean_q - pd).abs() < 1e-6, "E[cpd] = {mean_q}, p = {pd}");
    let m = model(&homogeneous(
        n,
        pd,
        rho,
        k,
        200_000,
        "copula = \"t\"\nnu = 4",
    ));
    let (raw, s) = run(&m, 0);
    within(
        s.exhaustion_probability.estimate,
        tail,
        s.exhaustion_probability.std_error,
        "t copula P(D ≥ k)",
    );
    let d: Vec<f64> = raw.defaults.iter().map(|&x| f64::from(x)).collect();
    let nf = n as f64;
    let (v, se) = variance_with_se(&d);
    within(
        v,
        nf * pd * (1.0 - pd) + nf * (nf - 1.0) * (both - pd * pd),
        se,
        "t copula Var[D]",
    );
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    within(mean, nf * pd, (v / d.len() as f64).sqrt(), "t copula E[D]");
    // Φ⁻¹ for the threshold instead of t_ν⁻¹ gives another tail
    let wrong = integral(norm.inverse_cdf(pd), &|q| binomial_sf(k, n, q));
    assert!(
        (s.exhaustion_probability.estimate - wrong).abs()
            > 10.0 * s.exhaustion_probability.std_error
    );
}

/// Beta LGD with mean m and sd s: with independent defaults (ρ = 0) the loss
/// variance is n·a²·(p·(s² + m²) − p²·m²), which pins the sd → (α, β) map.
#[test]
fn beta_lgd_sd_gives_the_loss_variance() {
    let (n, pd, mean, sd) = (400u64, 0.05, 0.45, 0.2);
    let m = model(&format!(
        r#"
        seed = 21
        scenarios = 200000
        [pool]
        capital = "100亿"
        [dependence]
        rho = 0.0
        [[portfolio.segments]]
        count = {n}
        amount = "100万"
        pd = {pd}
        lgd = {{ mean = {mean}, sd = {sd} }}
        sector = "A"
        "#
    ));
    let (raw, _) = run(&m, 0);
    let l: Vec<f64> = raw.loss.iter().map(|&x| x as f64 / 1e8).collect();
    let (v, se) = variance_with_se(&l);
    let exact = n as f64 * (pd * (sd * sd + mean * mean) - pd * pd * mean * mean);
    within(v, exact, se, "Var[L] with Beta LGD");
    // a fixed LGD at the mean would give n·m²·p(1−p): far off
    let fixed = n as f64 * mean * mean * pd * (1.0 - pd);
    assert!((v - fixed).abs() > 10.0 * se);
}

/// Binomial pmf, by the recurrence from P(0) = (1 − q)ⁿ.
fn binomial_pmf(n: usize, q: f64) -> Vec<f64> {
    let mut out = vec![0.0; n + 1];
    if q >= 1.0 {
        out[n] = 1.0;
        return out;
    }
    out[0] = (1.0 - q).powi(n as i32);
    for k in 1..=n {
        out[k] = out[k - 1] * (n - k + 1) as f64 / k as f64 * q / (1.0 - q);
    }
    out
}

/// AR(1) factor across two periods, Z₂ = φ·Z₁ + √(1 − φ²)·η: defaulted loans
/// are re-lent (no breaker), terms outlast the horizon, so conditional on
/// (Z₁, Z₂) the counts are independent Bin(n, q(Zₜ)), and the pool of K
/// claims is exhausted by period 2 iff D₁ + D₂ ≥ K: a two-dimensional
/// integral of the convolved binomials.
#[test]
fn ar1_factor_matches_the_exact_two_period_integral() {
    use smefin::riskpool::oracle::integrate;
    use statrs::distribution::ContinuousCDF;
    let (n, pd, rho, phi, k) = (30usize, 0.04, 0.3f64, 0.9f64, 6usize);
    let toml = format!(
        r#"
        seed = 17
        scenarios = 200000
        periods = 2
        factor_ar = {phi}
        [pool]
        capital = "{k}00万"
        compensation_share = 1.0
        [dependence]
        rho = {rho}
        [[portfolio.segments]]
        count = {n}
        amount = "100万"
        pd = {pd}
        lgd = 1.0
        term_months = 600
        "#
    );
    let (_, s) = run(&model(&toml), 0);
    let norm = normal();
    let thr = norm.inverse_cdf(pd);
    let q = |z: f64| norm.cdf((thr - rho.sqrt() * z) / (1.0 - rho).sqrt());
    let exact = |phi: f64| {
        integrate(
            &|u1: f64| {
                let z1 = norm.inverse_cdf(u1);
                let p1 = binomial_pmf(n, q(z1));
                integrate(
                    &|u2: f64| {
                        let z2 = phi * z1 + (1.0 - phi * phi).sqrt() * norm.inverse_cdf(u2);
                        let p2 = binomial_pmf(n, q(z2));
                        // P(D₁ + D₂ ≥ k) = 1 − Σ_{a+b<k} p1[a]·p2[b]
                        let below: f64 = (0..k)
                            .map(|a| p1[a] * p2[..k - a].iter().sum::<f64>())
                            .sum();
                        1.0 - below
                    },
                    0.0,
                    1.0,
                    1e-11,
                )
            },
            0.0,
            1.0,
            1e-10,
        )
    };
    let by_two = exact(phi);
    let p = s.exhaustion_probability;
    within(p.estimate, by_two, p.std_error, "AR(1) P(D1 + D2 ≥ K)");
    let first = s.exhaustion_by_period[0];
    let exact_first = integrate(
        &|u: f64| {
            let pmf = binomial_pmf(n, q(norm.inverse_cdf(u)));
            pmf[k..].iter().sum::<f64>()
        },
        0.0,
        1.0,
        1e-11,
    );
    within(
        first.estimate,
        exact_first,
        first.std_error,
        "AR(1) P(D1 ≥ K)",
    );
    // independent factors (φ = 0) would give another answer
    let independent = exact(0.0);
    assert!(
        (p.estimate - independent).abs() > 10.0 * p.std_error,
        "{independent}"
    );
}

/// Two sectors' tail: conditional on the global factor g the sectors are
/// independent, each a mixture over its own factor s of Bin(n, q(g, s)),
/// q = Φ((t − √ρg·g − √ρs·s) / √(1 − ρg − ρs)); P(D_A + D_B ≥ k) is the
/// integral over g of the convolved mixtures (midpoint rules in u-space).
#[test]
fn two_sectors_tail_matches_the_nested_integral() {
    use statrs::distribution::ContinuousCDF;
    let (n, pd, rho_g, rho_s, k) = (150usize, 0.03, 0.1f64, 0.15f64, 30usize);
    let m = two_sectors(23, 200_000, &format!("{k}00万"), n as u64, pd, rho_g, rho_s);
    let (_, s) = run(&m, 0);
    let norm = normal();
    let t = norm.inverse_cdf(pd);
    let resid = (1.0 - rho_g - rho_s).sqrt();
    let (outer, inner) = (1200usize, 400usize);
    let s_nodes: Vec<f64> = (0..inner)
        .map(|j| norm.inverse_cdf((j as f64 + 0.5) / inner as f64))
        .collect();
    let mut tail = 0.0;
    for i in 0..outer {
        let g = norm.inverse_cdf((i as f64 + 0.5) / outer as f64);
        // one sector's law given g (both sectors alike)
        let mut pmf = vec![0.0; n + 1];
        for &sv in &s_nodes {
            let q = norm.cdf((t - rho_g.sqrt() * g - rho_s.sqrt() * sv) / resid);
            for (a, b) in pmf.iter_mut().zip(binomial_pmf(n, q)) {
                *a += b / inner as f64;
            }
        }
        let below: f64 = (0..k)
            .map(|a| pmf[a] * pmf[..k - a].iter().sum::<f64>())
            .sum();
        tail += (1.0 - below) / outer as f64;
    }
    let p = s.exhaustion_probability;
    assert!(p.estimate > 0.005 && p.estimate < 0.2, "{p:?}");
    within(p.estimate, tail, p.std_error, "two-sector P(D ≥ k)");
    // one factor with ρ = ρg + ρs for everyone (sectors ignored) differs
    let one = finite_pool_tail(2 * n as u64, k as u64, pd, rho_g + rho_s);
    assert!((p.estimate - one).abs() > 6.0 * p.std_error, "{one}");
}

/// With several sectors each shard computes the sector losses of its own
/// worst scenarios; the merge uses them instead of simulating the tail
/// again, and the summary is the unsharded one to the byte.
#[test]
fn shards_carry_their_tail_sector_losses() {
    let toml = r#"
seed = 7
scenarios = 20000
[pool]
capital = "2000万"
compensation_share = 0.5
[dependence]
rho = 0.12
sector_rho = 0.2
[[portfolio.segments]]
name = "a"
count = 400
total = "2亿"
size_sigma = 0.8
pd = 0.02
lgd = 0.6
sector = "制造业"
[[portfolio.segments]]
name = "b"
count = 300
total = "1亿"
size_sigma = 0.8
pd = 0.03
lgd = 0.5
sector = "批发零售"
[[portfolio.segments]]
name = "c"
count = 300
total = "1亿"
size_sigma = 0.8
pd = 0.015
lgd = 0.7
sector = "科技服务"
"#;
    let spec = Spec::from_toml(toml).unwrap();
    let m = Model::compile(&spec, &Limits::default()).unwrap();
    let (_, whole) = riskpool::monte_carlo(&m, 2, &Control::default()).unwrap();
    let parts: Vec<(String, riskpool::Part)> = (0..4)
        .map(|k| {
            let p = riskpool::run_shard(&m, None, k, 4, 2, &Control::default()).unwrap();
            (
                format!("p{k}"),
                serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect();
    // 200 scenarios in the run's 1% tail; each shard keeps at least that many
    // of its own
    for (_, p) in &parts {
        assert!(p.tail_sectors.len() >= 200, "{}", p.tail_sectors.len());
        assert!(p.tail_sectors.iter().all(|(_, v)| v.len() == 3));
    }
    // a part that claims another part's scenario is refused, named
    let mut forged = parts.clone();
    forged[1].1.tail_sectors.push((0, vec![1, 2, 3]));
    let e = riskpool::merge_named(forged).unwrap_err().to_string();
    assert!(
        e.starts_with("p1: holds the sector losses of scenario 0"),
        "{e}"
    );
    // a part whose sector losses have the wrong width is not believed: the
    // scenario is simulated again, and the summary is still the true one
    let mut odd = parts.clone();
    for (_, p) in &mut odd {
        for (_, v) in &mut p.tail_sectors {
            v.push(999);
        }
    }
    let odd = riskpool::merge_named(odd).unwrap();
    let e = Engine::new(&m);
    let s =
        riskpool::stats::summarize_with(&e, &m, &odd.raw, &Control::default(), &odd.tail_sectors)
            .unwrap();
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
    let merged = riskpool::merge_named(parts).unwrap();
    // every scenario as bad as the run's 200th worst is covered
    let mut losses = merged.raw.loss.clone();
    losses.sort_unstable_by(|a, b| b.cmp(a));
    let t = losses[199];
    for (i, &l) in merged.raw.loss.iter().enumerate() {
        if l >= t {
            assert!(
                merged.tail_sectors.contains_key(&(i as u64)),
                "scenario {i} not covered"
            );
        }
    }
    let e = Engine::new(&m);
    let s = riskpool::stats::summarize_with(
        &e,
        &m,
        &merged.raw,
        &Control::default(),
        &merged.tail_sectors,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
    assert_eq!(s.risk_contributions.len(), 3);
    // every scenario of the run's tail was among the shards' candidates: the
    // numbers agree with the scenarios simulated again, sector by sector
    for (&i, v) in merged.tail_sectors.iter().take(50) {
        assert_eq!(&e.sector_losses(i), v);
    }
}

/// The per-period top-up probability: one period with the trigger at the
/// capital tops up exactly the scenarios that paid any claim, which the
/// raw compensation column counts independently; without a rule there is
/// none, and a trigger at zero never fires.
#[test]
fn top_up_probability_by_period() {
    let base = |top_up: &str| {
        let mut spec = Spec::from_toml(&format!(
            "seed = 3\nscenarios = 20000\n[pool]\ncapital = \"3000万\"\ncompensation_share = 0.5\n{top_up}\n[[portfolio.segments]]\ncount = 500\ntotal = \"1.5亿\"\npd = 0.02\nlgd = 0.6\nsector = \"制造业\"\n"
        ))
        .unwrap();
        spec.scenarios = 20_000;
        let m = Model::compile(&spec, &Limits::default()).unwrap();
        riskpool::monte_carlo(&m, 2, &Control::default()).unwrap()
    };
    let (raw, s) =
        base("[pool.top_up]\nbelow = \"3000万\"\nrefill_to = \"3000万\"\nmax_per_year = \"1亿\"");
    let paid = raw.compensation.iter().filter(|&&c| c > 0).count() as f64 / raw.len() as f64;
    assert_eq!(s.top_up_by_period, vec![paid]);
    assert!(paid > 0.5 && paid < 1.0, "{paid}");
    let (_, s) = base("");
    assert!(s.top_up_by_period.is_empty());
    let (_, s) =
        base("[pool.top_up]\nbelow = \"0\"\nrefill_to = \"3000万\"\nmax_per_year = \"1亿\"");
    assert_eq!(s.top_up_by_period, vec![0.0]);
}

/// A merge summarises with the loan book and smefin at hand, so it checks
/// they are the shards' own: the same book passes; another book, or parts
/// of another smefin, are refused with the reason.
#[test]
fn a_merge_checks_the_book_and_the_version_the_shards_ran_on() {
    let book = "id,amount,pd,lgd\nA,300万,0.02,0.6\nB,500万,0.03,0.5\n";
    let spec = Spec::from_toml(
        "scenarios = 2000\n[pool]\ncapital = \"100万\"\n[portfolio]\ncsv = \"book.csv\"\n",
    )
    .unwrap();
    let m = Model::compile_with_csv(&spec, Some(book), &Limits::default()).unwrap();
    let parts = || -> Vec<(String, riskpool::Part)> {
        (0..2)
            .map(|k| {
                let p = riskpool::run_shard(&m, Some(book), k, 2, 1, &Control::default()).unwrap();
                (format!("p{k}"), p)
            })
            .collect()
    };
    let merged = riskpool::merge_named(parts()).unwrap();
    assert!(merged.check_inputs(Some(book)).is_ok());
    let other = "id,amount,pd,lgd\nA,300万,0.02,0.6\nB,500万,0.03,0.6\n";
    let e = merged.check_inputs(Some(other)).unwrap_err().to_string();
    assert_eq!(
        e,
        "the loan book book.csv is not the one the shards ran on (its digest differs)"
    );
    let mut old = parts();
    // (another smefin's digest differs, as the version is part of it)
    for (_, p) in &mut old {
        p.smefin_version = "0.0.1".into();
        p.digest = "another".into();
    }
    let merged = riskpool::merge_named(old).unwrap();
    let e = merged.check_inputs(Some(book)).unwrap_err().to_string();
    assert!(
        e.starts_with("the parts were written by smefin 0.0.1; this is smefin "),
        "{e}"
    );
}

/// A recovery comes back to the pool in proportion to what the pool paid
/// of the claim (按风险补偿比例反向退补), the rest to the bank. An oracle
/// that shares no code with the engine: every loan defaults every period
/// (PD 1), so each scenario is the same path, worked here by hand. Ten
/// loans of 100万, LGD 0.6, the pool paying half the exposure and getting
/// half the recovery back a period later, capital 300万, three periods.
#[test]
fn recoveries_return_in_proportion_to_what_the_pool_paid() {
    let m = model(
        r#"
seed = 1
scenarios = 50
periods = 3
periods_per_year = 1
[pool]
capital = "300万"
compensation_share = 0.5
recovery_lag = 1
[dependence]
rho = 0.1
[[portfolio.segments]]
count = 10
total = "1000万"
pd = 1.0
lgd = 0.6
term_months = 36
"#,
    );
    let (raw, s) = run(&m, 1);
    // by hand, in 万: each period 10 defaults, claims 10 × 50 = 500, losses
    // 10 × 60 = 600, the pool's full share of the recoveries 10 × 20 = 200.
    let (mut balance, mut paid_cum, mut returned, mut unfunded) = (300i64, 0i64, 0i64, 0i64);
    let mut due = [0i64; 4];
    for t in 0..3 {
        let claims = 500;
        let paid = claims.min(balance);
        balance -= paid;
        paid_cum += paid;
        unfunded += claims - paid;
        // the pool's part of this period's recoveries, due next period
        due[t + 1] += 200 * paid / claims;
        // the end of the period: what is due now comes back
        balance += due[t];
        returned += due[t];
    }
    let wan = 1_000_000i64; // fen
    assert_eq!((paid_cum, returned, unfunded), (420, 120, 1080));
    for i in 0..raw.len() {
        assert_eq!(raw.defaults[i], 30);
        assert_eq!(raw.loss[i], 1800 * wan);
        assert_eq!(raw.compensation[i], (paid_cum - returned) * wan);
        assert_eq!(raw.unfunded[i], unfunded * wan);
        assert_eq!(raw.bank_loss[i], (1800 - (paid_cum - returned)) * wan);
    }
    assert_eq!(s.exhaustion_probability.estimate, 1.0);
}

/// Each stress cell says what ran. Under the `adverse` preset (PD × 1.5,
/// ρ + 0.02, LGD + 0.05): a ρ axis replaces the spec's ρ and the preset's
/// shift, so the cell labelled ρ 0.2 is exactly a run at ρ 0.2 with no
/// shift; without a ρ axis the cell shows the spec's ρ plus the shift; the
/// LGD shift is shown; under `basel_sme` a ρ axis is refused and ρ is not
/// shown as a number.
#[test]
fn stress_cells_say_what_ran() {
    use smefin::riskpool::grid::{self, Grid, GridError};
    let toml = |rho: f64, shift: &str, basel: bool| {
        format!(
            "seed = 5\nscenarios = 4000\n[pool]\ncapital = \"400万\"\n[dependence]\nrho = {rho}\nbasel_sme = {basel}\n[scenario]\npreset = \"adverse\"\n{shift}\n[[portfolio.segments]]\ncount = 200\ntotal = \"4000万\"\npd = 0.03\nlgd = 0.5\n"
        )
    };
    let spec = Spec::from_toml(&toml(0.1, "", false)).unwrap();
    let axis = Grid {
        rhos: vec![0.2],
        ..Grid::default()
    };
    let c = &grid::run(
        &spec,
        None,
        &axis,
        &Limits::default(),
        1,
        &Control::default(),
    )
    .unwrap()
    .cells[0];
    assert_eq!(c.rho, Some(0.2));
    assert_eq!((c.pd_multiplier, c.lgd_shift), (1.5, 0.05));
    // the same as a run at ρ 0.2 with the shift set to 0
    let plain = model(&toml(0.2, "rho_shift = 0.0", false));
    let (_, s) = run(&plain, 1);
    assert_eq!(c.exhaustion_probability, s.exhaustion_probability);
    // and not the run at 0.2 + 0.02
    let shifted = model(&toml(0.2, "", false));
    let (_, s) = run(&shifted, 1);
    assert_ne!(c.exhaustion_probability, s.exhaustion_probability);
    // no ρ axis: the spec's ρ and the preset's shift
    let c = &grid::run(
        &spec,
        None,
        &Grid::default(),
        &Limits::default(),
        1,
        &Control::default(),
    )
    .unwrap()
    .cells[0];
    assert!((c.rho.unwrap() - 0.12).abs() < 1e-12, "{:?}", c.rho);
    // basel_sme: a ρ axis is refused, and ρ is per loan
    let basel = Spec::from_toml(&toml(0.1, "", true)).unwrap();
    let e = grid::run(
        &basel,
        None,
        &axis,
        &Limits::default(),
        1,
        &Control::default(),
    )
    .unwrap_err();
    assert!(matches!(e, GridError::Axis { axis: "rhos", .. }), "{e}");
    let c = &grid::run(
        &basel,
        None,
        &Grid::default(),
        &Limits::default(),
        1,
        &Control::default(),
    )
    .unwrap()
    .cells[0];
    assert_eq!(c.rho, None);
}

/// A stress grid and the leverage solver honour `[importance_sampling]`:
/// at a capital whose exhaustion probability is about 2·10⁻⁵, 4,000
/// unweighted scenarios would see none; weighted, the cell's estimate
/// meets the exact method's value within 4 of its standard errors, and
/// the solver's answer carries a probability with an error.
#[test]
fn stress_and_leverage_honour_importance_sampling() {
    use smefin::riskpool::analytic;
    use smefin::riskpool::grid::{self, Grid, Solve};
    let toml = "seed = 9\nscenarios = 4000\n[pool]\ncapital = \"2000万\"\n[importance_sampling]\n[dependence]\nrho = 0.15\n[[portfolio.segments]]\ncount = 400\ntotal = \"2亿\"\npd = 0.02\nlgd = 0.6\n";
    let spec = Spec::from_toml(toml).unwrap();
    let m = model(toml);
    let exact = analytic::analyze(&m, &analytic::Options::default(), &Control::default())
        .unwrap()
        .exhaustion_probability
        .estimate;
    assert!(exact > 1e-6 && exact < 1e-3, "{exact}");
    let c = &grid::run(
        &spec,
        None,
        &Grid::default(),
        &Limits::default(),
        1,
        &Control::default(),
    )
    .unwrap()
    .cells[0];
    let p = &c.exhaustion_probability;
    assert!(p.std_error > 0.0, "{p:?}");
    assert!(
        (p.estimate - exact).abs() <= 4.0 * p.std_error,
        "{p:?} against {exact}"
    );
    let r = grid::solve_leverage(&m, Solve::Capital, 1e-5, 1, &Control::default()).unwrap();
    let q = &r.exhaustion_probability;
    assert!(q.estimate > 0.0 && q.std_error > 0.0, "{q:?}");
    assert!(q.estimate <= 1e-5, "{q:?}");
}
