//! The analytic engine against the exact oracles (to 1e-6) and against
//! Monte Carlo (within 4 of its standard errors) on heterogeneous books.

use super::certificate::outside;
use super::*;
use crate::kernel::money::Yuan;
use crate::riskpool::oracle::{
    binomial_sf, conditional_pd, factor_expectation, finite_pool_tail, phi, phi_inv,
};
use crate::riskpool::{Limits, Spec, monte_carlo as simulate};

fn model(toml: &str) -> Model {
    let spec = Spec::from_toml(toml).unwrap();
    Model::compile(&spec, &Limits::default()).unwrap()
}

fn run(m: &Model) -> AnalyticSummary {
    analyze(m, &Options::default(), &Control::default()).unwrap()
}

/// A homogeneous pool: P(D ≥ k) is the finite-pool integral, so with the
/// capital at k claims the exhaustion probability must equal it.
#[test]
fn homogeneous_pool_matches_the_finite_pool_oracle() {
    for (k, capital) in [(3u64, "15万"), (8, "40万"), (20, "100万")] {
        // 200 loans of 10万, LGD 0.5: loss 5万, claim (share 1) 5万
        let m = model(&format!(
            r#"
            [pool]
            capital = "{capital}"
            compensation_share = 1.0
            [dependence]
            rho = 0.2
            [[portfolio.segments]]
            count = 200
            amount = "10万"
            pd = 0.03
            lgd = 0.5
            "#
        ));
        let a = run(&m);
        assert!(a.lattice.exact);
        assert_eq!(a.lattice.claim_unit, Yuan::wan(5));
        let want = finite_pool_tail(200, k, 0.03, 0.2);
        let e = a.exhaustion_probability;
        assert!(
            (e.estimate - want).abs() < 1e-6,
            "k {k}: {} vs {want}",
            e.estimate
        );
        assert!(e.low <= want && want <= e.high, "k {k}: {e:?} vs {want}");
        assert!(a.quadrature.error_estimate <= Options::default().tolerance);
        // the mean loss is exact: 200 × 3% × 5万
        assert_eq!(a.loss.mean.estimate, Yuan::wan(30));
        assert!((a.mean_defaults - 6.0).abs() < 1e-12);
    }
}

/// Independent loans (ρ = 0): the loss is binomial, the quantiles and the
/// ES are those of Bin(n, p) × amount.
#[test]
fn independent_loans_give_the_binomial() {
    let m = model(
        r#"
        [pool]
        capital = "100万"
        compensation_share = 0.5
        [dependence]
        rho = 0.0
        [output]
        tail_level = 0.99
        [[portfolio.segments]]
        count = 50
        amount = "20万"
        pd = 0.1
        lgd = 1.0
        "#,
    );
    let a = run(&m);
    // the 99% quantile of Bin(50, 0.1): smallest k with P(D ≤ k) ≥ 0.99
    let k99 = (0..=50u64)
        .find(|&k| 1.0 - binomial_sf(k + 1, 50, 0.1) >= 0.99)
        .unwrap();
    assert_eq!(a.loss.var.value.estimate, Yuan::wan(20 * k99 as i64));
    // ES: (E[D·1{D > k}] + k(F(k) − α)) / (1 − α), × 20万
    let pmf = |j: u64| binomial_sf(j, 50, 0.1) - binomial_sf(j + 1, 50, 0.1);
    let above: f64 = (k99 + 1..=50).map(|j| j as f64 * pmf(j)).sum();
    let f_k = 1.0 - binomial_sf(k99 + 1, 50, 0.1);
    let es = (above + k99 as f64 * (f_k - 0.99)) / 0.01 * 20e4;
    assert!(
        (a.loss.es.estimate.to_fen() as f64 / 100.0 - es).abs() < 0.02,
        "{es}"
    );
    // claims are half the loss; 100万 of capital is 10 claims of 10万
    assert!((a.exhaustion_probability.estimate - binomial_sf(10, 50, 0.1)).abs() < 1e-9);
    // unfunded: E[max(C − K, 0)]
    let unfunded: f64 = (11..=50u64)
        .map(|j| (j as f64 - 10.0) * 10e4 * pmf(j))
        .sum();
    let got = a.unfunded_claims.mean.estimate.to_fen() as f64 / 100.0;
    assert!((got - unfunded).abs() < 0.01, "{got} vs {unfunded}");
    // compensation + unfunded = claims
    let claims = a.claims.mean.estimate.to_fen();
    let sum = a.compensation.mean.estimate.to_fen() + a.unfunded_claims.mean.estimate.to_fen();
    assert!((claims - sum).abs() <= 1);
}

/// Two PD classes with equal amounts: P(no default) = E[Π(1 − pᵢ(Z))ⁿⁱ].
#[test]
fn two_classes_match_the_product_integral() {
    let m = model(
        r#"
        [pool]
        capital = "5万"
        compensation_share = 1.0
        [dependence]
        rho = 0.15
        [[portfolio.segments]]
        count = 30
        amount = "10万"
        pd = 0.01
        lgd = 0.5
        [[portfolio.segments]]
        count = 20
        amount = "10万"
        pd = 0.05
        lgd = 0.5
        "#,
    );
    let a = run(&m);
    let none = factor_expectation(
        &|z| {
            (1.0 - conditional_pd(0.01, 0.15, z)).powi(30)
                * (1.0 - conditional_pd(0.05, 0.15, z)).powi(20)
        },
        1e-14,
    );
    // one claim of 5万 exhausts the pool
    assert!((a.exhaustion_probability.estimate - (1.0 - none)).abs() < 1e-6);
}

/// Two sectors with equal amounts: P(no default) =
/// E_z[Π_s E_s[(1 − p(z, s))^{n_s}]], a nested integral the oracle takes
/// term by term; the engine takes the sectors' integrals from their tables.
#[test]
fn two_sectors_match_the_nested_product_integral() {
    let m = model(
        r#"
        [pool]
        capital = "5万"
        compensation_share = 1.0
        [dependence]
        rho = 0.15
        sector_rho = 0.1
        [[portfolio.segments]]
        count = 30
        amount = "10万"
        pd = 0.02
        lgd = 0.5
        sector = "制造业"
        [[portfolio.segments]]
        count = 20
        amount = "10万"
        pd = 0.05
        lgd = 0.5
        sector = "批发零售"
        "#,
    );
    let a = run(&m);
    let p = |pd: f64, z: f64, s: f64| {
        phi((phi_inv(pd) - 0.15f64.sqrt() * z - 0.1f64.sqrt() * s) / 0.75f64.sqrt())
    };
    let none = factor_expectation(
        &|z| {
            let first = factor_expectation(&|s| (1.0 - p(0.02, z, s)).powi(30), 1e-13);
            let second = factor_expectation(&|s| (1.0 - p(0.05, z, s)).powi(20), 1e-13);
            first * second
        },
        1e-12,
    );
    let e = a.exhaustion_probability;
    assert!(
        (e.estimate - (1.0 - none)).abs() < 1e-6,
        "{e:?} vs {}",
        1.0 - none
    );
    assert!(e.low <= 1.0 - none && 1.0 - none <= e.high, "{e:?}");
    assert!(a.quadrature.error_estimate <= 1e-7, "{:?}", a.quadrature);
}

/// Whether `mc` (with standard error `se`) is within 4 se of [low, high].
fn agrees(mc: f64, se: f64, low: f64, high: f64) -> bool {
    outside(mc, low, high).abs() <= 4.0 * se
}

/// (Sector factors and the t copula nest integrals: a coarser lattice and
/// tolerance keep the test quick; their bounds are wider, and still hold.)
fn against_monte_carlo(toml: &str, opts: Options) {
    let m = model(toml);
    let a = analyze(&m, &opts, &Control::default()).unwrap();
    let (_, s) = simulate(&m, 0, &Control::default()).unwrap();
    let e = a.exhaustion_probability;
    let n = s.scenarios as f64;
    let se = (e.estimate * (1.0 - e.estimate) / n).sqrt().max(1.0 / n);
    assert!(
        agrees(s.exhaustion_probability.estimate, se, e.low, e.high),
        "exhaustion: MC {} vs {e:?} (se {se})",
        s.exhaustion_probability.estimate
    );
    let f = |y: Yuan| y.to_fen() as f64;
    let mse = f(s.loss.mean_std_error);
    assert!(
        agrees(f(s.loss.mean), mse, f(a.loss.mean.low), f(a.loss.mean.high)),
        "mean loss: MC {} vs {:?}",
        s.loss.mean,
        a.loss.mean
    );
    assert!(
        (s.defaults.mean - a.mean_defaults).abs() <= 4.0 * (s.defaults.variance / n).sqrt(),
        "defaults {} vs {}",
        s.defaults.mean,
        a.mean_defaults
    );
    let cert = certify(&s, &a);
    assert!(cert.agree, "{cert:?}");
    // the 95% loss quantile: MC's order statistic lies within the analytic
    // quantiles at 95% ± 4 binomial standard errors of the level
    let lse = 4.0 * (0.95 * 0.05 / n).sqrt();
    let lo = f(run_quantile(&m, 0.95 - lse, false, opts));
    let hi = f(run_quantile(&m, 0.95 + lse, true, opts));
    let q = f(s.loss.quantiles[2].value);
    assert!(lo <= q && q <= hi, "q95 MC {q} vs [{lo}, {hi}]");
}

/// The analytic loss quantile at `level` (the low or high bound).
fn run_quantile(m: &Model, level: f64, high: bool, opts: Options) -> Yuan {
    let spec = Spec {
        output: crate::riskpool::spec::OutputSpec {
            tail_level: level,
            ..m.spec().output.clone()
        },
        ..m.spec().clone()
    };
    let m2 = Model::compile(&spec, &Limits::default()).unwrap();
    let v = analyze(&m2, &opts, &Control::default())
        .unwrap()
        .loss
        .var
        .value;
    if high { v.high } else { v.low }
}

#[test]
fn heterogeneous_book_agrees_with_monte_carlo() {
    against_monte_carlo(
        r#"
        seed = 11
        scenarios = 40000
        [pool]
        capital = "300万"
        compensation_share = 0.6
        per_loan_cap = "20万"
        [dependence]
        rho = 0.18
        [[portfolio.segments]]
        count = 120
        total = "3000万"
        size_sigma = 0.8
        pd = 0.03
        lgd = 0.6
        [[portfolio.segments]]
        count = 60
        amount = "50万"
        pd = 0.01
        lgd = 0.45
        "#,
        Options::default(),
    );
}

#[test]
fn beta_lgd_and_sectors_agree_with_monte_carlo() {
    against_monte_carlo(
        r#"
        seed = 12
        scenarios = 40000
        [pool]
        capital = "200万"
        compensation_share = 0.5
        [dependence]
        rho = 0.12
        sector_rho = 0.1
        [[portfolio.segments]]
        count = 80
        amount = "30万"
        pd = 0.04
        lgd = { mean = 0.5, sd = 0.2 }
        sector = "制造业"
        [[portfolio.segments]]
        count = 60
        total = "1500万"
        size_sigma = 0.5
        pd = 0.02
        lgd = 0.6
        sector = "批发零售"
        "#,
        NESTED,
    );
}

#[test]
fn t_copula_agrees_with_monte_carlo() {
    against_monte_carlo(
        r#"
        seed = 13
        scenarios = 40000
        [pool]
        capital = "150万"
        compensation_share = 0.5
        recovery_lag = 1
        [dependence]
        rho = 0.15
        copula = "t"
        nu = 6.0
        [[portfolio.segments]]
        count = 100
        amount = "20万"
        pd = 0.03
        lgd = { mean = 0.55, sd = 0.25 }
        "#,
        NESTED,
    );
}

/// Basel's SME correlation gives the classes of one sector different ρ:
/// that sector has no table and is integrated at every outer node, to the
/// tolerance.
#[test]
fn a_sector_of_several_correlations_agrees_with_monte_carlo() {
    let book = r#"
        seed = 14
        scenarios = 40000
        [pool]
        capital = "100万"
        compensation_share = 0.5
        [dependence]
        sector_rho = 0.08
        basel_sme = true
        [[portfolio.segments]]
        count = 40
        amount = "20万"
        pd = 0.03
        lgd = 0.5
        sector = "制造业"
        turnover = "5000万"
        [[portfolio.segments]]
        count = 30
        amount = "20万"
        pd = 0.01
        lgd = 0.5
        sector = "制造业"
        turnover = "30000万"
        "#;
    let m = model(book);
    assert!(slow_reason(&m).is_some());
    let q = analyze(&m, &NESTED, &Control::default())
        .unwrap()
        .quadrature;
    assert!(q.error_estimate <= NESTED.tolerance, "{q:?}");
    against_monte_carlo(book, NESTED);
}

const NESTED: Options = Options {
    lattice_points: 512,
    tolerance: 1e-4,
    max_bytes: 2 << 30,
    max_work: DEFAULT_MAX_WORK,
};

#[test]
fn where_it_does_not_apply_it_says_why() {
    let m = model(&format!(
        "periods = 4\nperiods_per_year = 4\n{}",
        "[[portfolio.segments]]\ncount = 10\namount = \"10万\"\npd = 0.02\n"
    ));
    let e = analyze(&m, &Options::default(), &Control::default()).unwrap_err();
    assert!(e.to_string().contains("4 periods"), "{e}");
    let many = (0..4)
        .map(|i| {
            format!(
                "[[portfolio.segments]]\ncount = 10\namount = \"10万\"\npd = 0.02\nsector = \"s{i}\"\n"
            )
        })
        .collect::<String>();
    let m = model(&format!("[dependence]\nsector_rho = 0.1\n{many}"));
    let e = analyze(&m, &Options::default(), &Control::default()).unwrap_err();
    assert!(e.to_string().contains("4 sector factors"), "{e}");
    // without sector factors, four sectors are one integral
    let m = model(&many);
    assert!(analyze(&m, &Options::default(), &Control::default()).is_ok());
}

/// With no method asked, books the engine would be slow on run Monte
/// Carlo alone, and say why; asked, they still run.
#[test]
fn slow_books_default_to_monte_carlo() {
    let two = |extra: &str, turnover: &str| {
        model(&format!(
            "[dependence]\nsector_rho = 0.1\n{extra}\n\
             [[portfolio.segments]]\ncount = 10\namount = \"10万\"\npd = 0.02\nsector = \"a\"\n\
             [[portfolio.segments]]\ncount = 10\namount = \"10万\"\npd = 0.05\nsector = \"a\"\n\
             turnover = \"{turnover}\"\n"
        ))
    };
    let plain = two("", "5000万");
    assert_eq!(slow_reason(&plain), None);
    assert_eq!(
        crate::riskpool::run::choose(None, &plain, &Options::default())
            .unwrap()
            .method,
        Method::Both
    );
    let t = two("copula = \"t\"\nnu = 6", "5000万");
    assert!(slow_reason(&t).unwrap().contains("t copula"));
    assert_eq!(
        crate::riskpool::run::choose(None, &t, &Options::default())
            .unwrap()
            .method,
        Method::MonteCarlo
    );
    assert_eq!(
        crate::riskpool::run::choose(Some(Method::Both), &t, &Options::default())
            .unwrap()
            .method,
        Method::Both
    );
    // Basel's ρ differs with PD: sector a's two segments differ in ρ
    let basel = two("basel_sme = true", "5000万");
    assert!(
        slow_reason(&basel)
            .unwrap()
            .contains("sector a differ in ρ")
    );
    assert_eq!(
        crate::riskpool::run::choose(None, &basel, &Options::default())
            .unwrap()
            .method,
        Method::MonteCarlo
    );
    // a book the engine does not apply to is not called slow: asking for
    // the method would be refused, not slow
    let periods = model(
        "periods = 4\nperiods_per_year = 4\n[dependence]\nsector_rho = 0.1\ncopula = \"t\"\n\
         [[portfolio.segments]]\ncount = 10\namount = \"10万\"\npd = 0.02\nsector = \"a\"\n",
    );
    assert!(applicability(&periods).is_err());
    assert_eq!(slow_reason(&periods), None);
    // without sector factors there is nothing to nest
    let one = model(
        "[dependence]\nbasel_sme = true\ncopula = \"t\"\n\
         [[portfolio.segments]]\ncount = 10\namount = \"10万\"\npd = 0.02\n",
    );
    assert_eq!(slow_reason(&one), None);
}

#[test]
fn a_cancelled_analysis_stops() {
    let m = model(crate::riskpool::spec::DEFAULT_SPEC_TOML);
    let c = Control::default();
    c.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        analyze(&m, &Options::default(), &c).unwrap_err(),
        AnalyticError::Cancelled
    );
}

#[test]
fn a_certificate_flags_a_disagreement() {
    let m = model(crate::riskpool::spec::DEFAULT_SPEC_TOML);
    let spec = Spec {
        scenarios: 20_000,
        ..m.spec().clone()
    };
    let m = Model::compile(&spec, &Limits::default()).unwrap();
    let a = run(&m);
    let (_, mut s) = simulate(&m, 0, &Control::default()).unwrap();
    let c = certify(&s, &a);
    assert!(c.agree, "{c:?}");
    assert_eq!(c.lines.len(), 3);
    // a Monte Carlo mean loss 5 standard errors above the bound is flagged
    let high = a.loss.mean.high.to_fen() + 5 * s.loss.mean_std_error.to_fen();
    s.loss.mean = Yuan::from_fen(high);
    let c = certify(&s, &a);
    assert!(
        !c.agree && c.lines[1].flagged && c.lines[1].z > 4.0,
        "{c:?}"
    );
}

/// Claims that are half of each loss (to the fen) get a claims unit on
/// which every claim takes its loss's units in every rounding, so the
/// claims channels are the loss channels, computed once; a claim out of
/// proportion leaves them apart.
#[test]
fn proportional_claims_share_the_loss_channels() {
    let loss: Vec<Amount> = (0..500)
        .map(|i| Amount::Fixed(1_000_003 + 7_919 * i * i % 3_000_017))
        .collect();
    let claims: Vec<Amount> = loss
        .iter()
        .map(|a| match a {
            Amount::Fixed(v) => Amount::Fixed((v + 1) / 2),
            Amount::Beta { .. } => unreachable!(),
        })
        .collect();
    let l = Quantity::lattice(&loss, 4.0e8, 1024);
    let c = Quantity::lattice(&claims, 2.0e8, 1024);
    assert!(!l.exact && !c.exact, "both lattices inexact");
    let unit = twin_unit(&loss, &claims, l, c).expect("a shared unit");
    assert!(
        unit >= c.unit && (unit - l.unit / 2).abs() <= 8,
        "{unit} against {}",
        l.unit
    );
    let one = [crate::riskpool::plan::Class {
        draw: crate::riskpool::plan::Draw::Threshold(-2.0),
        sqrt_rho: 0.4,
        resid_sd: 0.9,
        sector: 0,
        pd: 0.02,
        loans: Vec::new(),
        amounts: crate::riskpool::plan::Amounts::PerLoan,
    }];
    let class_of = vec![0; loss.len()];
    let built = |amounts: &[Amount], lattice| {
        let c = Control::default();
        let plans = cost::plan(
            amounts,
            &class_of,
            &[0],
            lattice,
            &mut usize::MAX.clone(),
            &c,
        )
        .unwrap();
        Quantity::build(amounts, &class_of, &one, 0, lattice, &plans, &c).unwrap()
    };
    let ql = built(&loss, l);
    let qc = built(&claims, Grid { unit, ..c });
    let channels: Vec<(&Quantity, usize)> = (0..3)
        .map(|r| (&ql, r))
        .chain((0..3).map(|r| (&qc, r)))
        .collect();
    assert_eq!(
        twins(&channels),
        vec![None, None, None, Some(0), Some(1), Some(2)]
    );
    // one claim twice its share: no unit agrees on every loan
    let mut odd = claims.clone();
    odd[17] = Amount::Fixed(loss[17].max() as i64);
    assert_eq!(twin_unit(&loss, &odd, l, c), None);
}
