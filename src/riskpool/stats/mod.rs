//! Summaries of a run: probabilities with standard errors and intervals,
//! money distributions (quantiles, VaR, expected shortfall), fan charts,
//! histograms, risk contributions and the Vasicek comparison.
//!
//! Conventions, stated once:
//! - quantile / VaR at level α: the order statistic X₍⌈αN⌉₎ (the smallest x
//!   with empirical CDF ≥ α);
//! - expected shortfall at level α: the discrete Acerbi–Tasche estimator
//!   ES = (Σ_{j=1}^{⌊k⌋} X₍N−j+1₎ + (k − ⌊k⌋)·X₍N−⌊k⌋₎) / k with k = N(1 − α),
//!   the mean of the worst N(1 − α) outcomes, a fractional one included;
//! - a probability's 95% interval is Wilson's score interval (plain Monte
//!   Carlo) or the normal interval of the weighted mean (importance sampling).
//!
//! Money sums are exact integers (fen, i128); only the final division to a
//! mean and the standard deviations use floating point.

use rust_decimal::Decimal;

use rayon::prelude::*;

use super::control::{Cancelled, Control};
use super::engine::Engine;
use super::model::{Lgd, Model};
use super::oracle::vasicek_cdf;
use super::raw::Raw;
use super::spec::Copula;
use crate::kernel::money::Yuan;

mod columns;
mod order;
mod summary;
mod weighted;

use self::columns::{
    Probabilities, balance_fan, breaker_stats, default_moments, distributions, histograms,
};
pub use self::order::expected_shortfall;
pub(crate) use self::order::yuan_f;
use self::order::{LEVELS, money_stats};
pub(super) use self::order::{ceil_tol, tail_mass};
pub use self::summary::{
    BreakerStats, Contribution, DefaultStats, FanPoint, Histogram, IsStats, MoneyStats,
    Probability, Quantile, Summary, VasicekFigure, WeightedBins, Z95,
};
use self::weighted::weighted_figures;
pub use self::weighted::weighted_money_stats;

/// The `m` worst scenarios by loss (ties: lower index first), as indices:
/// every one above the m-th largest loss `t`, then the first ones equal to it.
fn worst_scenarios(loss: &[i64], m: usize, t: i64) -> Vec<usize> {
    let above = loss.iter().filter(|&&l| l > t).count();
    let mut ties = m.saturating_sub(above);
    let mut out = Vec::with_capacity(m);
    for (i, &l) in loss.iter().enumerate() {
        if l > t {
            out.push(i);
        } else if l == t && ties > 0 {
            ties -= 1;
            out.push(i);
        }
    }
    out
}

fn vasicek(model: &Model) -> Option<VasicekFigure> {
    let s = model.spec();
    if s.periods != 1
        || s.dependence.copula != Copula::Gaussian
        || s.dependence.sector_rho > 0.0
        || model.cap_fen().is_some()
    {
        return None;
    }
    let first = model.loans().first()?;
    let Lgd::Fixed(lgd) = first.lgd else {
        return None;
    };
    let homogeneous = model
        .loans()
        .iter()
        .all(|l| l.pd == first.pd && l.rho == first.rho && l.lgd == first.lgd);
    if !homogeneous || lgd <= 0.0 || s.pool.compensation_share <= 0.0 || first.rho <= 0.0 {
        return None;
    }
    let x = model.capital_fen() as f64
        / (s.pool.compensation_share * lgd * model.exposure_fen() as f64);
    // The PD of the period the horizon is (the loans' PDs are annual).
    let pd = match s.periods_per_year {
        1 => first.pd,
        ppy => 1.0 - (1.0 - first.pd).powf(1.0 / f64::from(ppy)),
    };
    Some(VasicekFigure {
        pd,
        rho: first.rho,
        default_rate_threshold: x,
        exhaustion_probability: 1.0 - vasicek_cdf(x, pd, first.rho),
    })
}

/// Summarises a complete run (all scenarios 0..N) of `engine`'s model.
pub fn summarize(
    engine: &Engine<'_>,
    model: &Model,
    raw: &Raw,
    control: &Control,
) -> Result<Summary, Cancelled> {
    summarize_with(engine, model, raw, control, &TailSectors::new())
}

/// [`summarize`], with the sector losses of tail scenarios that shards have
/// already computed (the rest are simulated again).
pub fn summarize_with(
    engine: &Engine<'_>,
    model: &Model,
    raw: &Raw,
    control: &Control,
    known: &TailSectors,
) -> Result<Summary, Cancelled> {
    let n = raw.len() as u64;
    let spec = model.spec();
    let alpha = spec.output.tail_level;
    let periods = spec.periods as usize;
    control.check()?;
    let prob = Probabilities { raw };
    let exhaustion_probability = exhaustion_probability(raw);
    let exhaustion_by_period = (1..=periods)
        .map(|t| prob.of(|i| raw.exhausted_period[i].is_some_and(|p| usize::from(p.get()) <= t)))
        .collect();
    // Figures the weighting does not change how to compute: the breaker's
    // probabilities go through `prob`, the histograms weigh their bins.
    let breaker = spec
        .pool
        .breaker
        .as_ref()
        .map(|_| breaker_stats(raw, periods, &prob));
    let (loss_histogram, compensation_histogram) = histograms(raw, model);
    control.check()?;
    let f = match &raw.weight {
        None => plain_figures(engine, model, raw, (control, known))?,
        Some(w) => weighted_figures(engine, model, raw, w, (control, known))?,
    };
    let exposure = model.exposure_fen();
    Ok(Summary {
        scenarios: n,
        seed: spec.seed,
        preset: model.preset().name.clone(),
        periods: spec.periods,
        loans: model.loans().len() as u64,
        exposure: Yuan::from_fen(exposure),
        capital: Yuan::from_fen(model.capital_fen()),
        leverage: model.leverage(),
        exhaustion_probability,
        exhaustion_by_period,
        defaults: f.defaults,
        loss: f.loss,
        compensation: f.compensation,
        unfunded_claims: f.unfunded,
        bank_loss: f.bank_loss,
        breaker,
        balance_fan: f.balance_fan,
        top_up_by_period: if raw.weight.is_none() {
            raw.top_ups
                .iter()
                .map(|&c| c as f64 / n.max(1) as f64)
                .collect()
        } else {
            Vec::new()
        },
        loss_histogram,
        compensation_histogram,
        risk_contributions: f.risk_contributions,
        vasicek: vasicek(model),
        importance_sampling: f.importance_sampling,
        tail_level: alpha,
        conventions: f.conventions.into(),
    })
}

/// The figures that plain Monte Carlo and importance sampling estimate
/// differently.
struct Figures {
    defaults: DefaultStats,
    loss: MoneyStats,
    compensation: MoneyStats,
    unfunded: MoneyStats,
    bank_loss: MoneyStats,
    balance_fan: Vec<FanPoint>,
    risk_contributions: Vec<Contribution>,
    importance_sampling: Option<IsStats>,
    conventions: &'static str,
}

/// Plain Monte Carlo: counts, order statistics, the worst ⌈N(1 − α)⌉
/// scenarios.
fn plain_figures(
    engine: &Engine<'_>,
    model: &Model,
    raw: &Raw,
    (control, known): (&Control, &TailSectors),
) -> Result<Figures, Cancelled> {
    let alpha = model.spec().output.tail_level;
    let m = (ceil_tol(tail_mass(raw.len(), alpha)) as usize).clamp(1, raw.len());
    let d = distributions(raw, alpha, m);
    control.check()?;
    let worst = worst_scenarios(&raw.loss, m, d.tail_threshold);
    Ok(Figures {
        defaults: default_moments(&raw.defaults),
        loss: d.loss,
        compensation: d.compensation,
        unfunded: d.unfunded,
        bank_loss: d.bank_loss,
        balance_fan: balance_fan(raw, model.capital_fen()),
        risk_contributions: risk_contributions(engine, model, raw, &worst, (control, known))?,
        importance_sampling: None,
        conventions: CONVENTIONS,
    })
}

const CONVENTIONS: &str = "quantile/VaR: order statistic X(ceil(alpha*N)); ES: discrete Acerbi-Tasche mean of the worst N(1-alpha) outcomes; 95% interval: Wilson (plain MC) or normal (importance sampling); balance quantiles: upper edges of bins of 2% of capital";

/// Each sector's share of the loss ES: the `worst` scenarios re-simulated
/// by sector, in parallel, stopping between blocks when cancelled.
/// Sector losses of tail scenarios already computed (by the shards of a
/// run, each for its own worst scenarios), by scenario index.
pub type TailSectors = std::collections::HashMap<u64, Vec<i64>>;

/// The sector losses of scenario `i` of `raw`: its loss itself when the
/// book has one sector, else what a shard computed, else simulated again
/// (the same numbers every way: a scenario is a function of its index).
fn tail_sector_losses(engine: &Engine<'_>, raw: &Raw, i: usize, known: &TailSectors) -> Vec<i64> {
    let global = raw.start + i as u64;
    if engine.sectors() == 1 {
        return vec![raw.loss[i]];
    }
    match known.get(&global) {
        Some(v) if v.len() == engine.sectors() => v.clone(),
        _ => engine.sector_losses(global),
    }
}

fn risk_contributions(
    engine: &Engine<'_>,
    model: &Model,
    raw: &Raw,
    worst: &[usize],
    (control, known): (&Control, &TailSectors),
) -> Result<Vec<Contribution>, Cancelled> {
    let sectors = model.sectors().len();
    let by_sector = worst
        .par_chunks(256)
        .map(|block| -> Result<Vec<i128>, Cancelled> {
            control.check()?;
            let mut acc = vec![0i128; sectors];
            for &i in block {
                for (s, v) in tail_sector_losses(engine, raw, i, known)
                    .into_iter()
                    .enumerate()
                {
                    acc[s] += i128::from(v);
                }
            }
            Ok(acc)
        })
        .try_reduce(
            || vec![0i128; sectors],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                Ok(a)
            },
        )?;
    let total: i128 = by_sector.iter().sum();
    let m = Decimal::from(worst.len() as u64);
    Ok(model
        .sectors()
        .iter()
        .zip(&by_sector)
        .map(|(name, &v)| Contribution {
            sector: name.clone(),
            es_contribution: Yuan(Decimal::from_i128_with_scale(v, 2) / m).round_fen(),
            share: if total > 0 {
                v as f64 / total as f64
            } else {
                0.0
            },
        })
        .collect())
}

/// The probability that the pool runs dry within the horizon: the share of
/// scenarios, likelihood-ratio weighted under importance sampling.
pub fn exhaustion_probability(raw: &Raw) -> Probability {
    Probabilities { raw }.of(|i| raw.exhausted_period[i].is_some())
}

/// The factor shift and the effective sample size of the exhaustion
/// estimator, (Σ wᵢ1ᵢ)² / Σ (wᵢ1ᵢ)²: the number of equally weighted
/// exhaustion scenarios the weighted ones are worth.
fn is_stats(engine: &Engine<'_>, raw: &Raw, w: &[f64]) -> IsStats {
    let hits = (0..raw.len())
        .filter(|&i| raw.exhausted_period[i].is_some())
        .map(|i| w[i]);
    let (sw, sw2) = hits.fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    IsStats {
        shift: engine.factor_shift(),
        effective_sample_size: if sw2 > 0.0 { sw * sw / sw2 } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::order::order_stat;
    use super::*;

    #[test]
    fn order_statistics_and_es() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(order_stat(&v, 0.5), 50);
        assert_eq!(order_stat(&v, 0.99), 99);
        assert_eq!(order_stat(&v, 0.999), 100);
        let big: Vec<i64> = (1..=100_000).collect();
        assert_eq!(order_stat(&big, 0.99), 99_000);
        assert_eq!(tail_mass(100_000, 0.99), 1000.0);
        // ES at 99%: the worst single outcome
        assert!((expected_shortfall(&v, 0.99) - 100.0).abs() < 1e-9);
        // ES at 97.5%: worst 2.5 outcomes: (100 + 99 + 0.5·98)/2.5
        assert!((expected_shortfall(&v, 0.975) - (100.0 + 99.0 + 49.0) / 2.5).abs() < 1e-9);
    }

    /// Values with many ties, from a fixed linear congruential sequence.
    fn tied_values(n: usize, seed: u64) -> Vec<i64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((x >> 33) % 40) as i64 * 1000 - 5000
            })
            .collect()
    }

    #[test]
    fn selection_gives_what_a_full_sort_gives() {
        for n in [1usize, 2, 3, 7, 100, 101, 999, 4096, 10_007] {
            let v = tied_values(n, n as u64);
            let mut sorted = v.clone();
            sorted.sort_unstable();
            for alpha in [0.5, 0.9, 0.95, 0.975, 0.99, 0.999, 0.9999] {
                let m = (ceil_tol(tail_mass(n, alpha)) as usize).clamp(1, n);
                let (s, sel) = money_stats(&v, alpha, Some(n - m));
                for q in &s.quantiles {
                    assert_eq!(
                        q.value,
                        Yuan::from_fen(order_stat(&sorted, q.level)),
                        "n {n} level {}",
                        q.level
                    );
                }
                assert_eq!(s.var, Yuan::from_fen(order_stat(&sorted, alpha)));
                assert_eq!(
                    s.es,
                    yuan_f(expected_shortfall(&sorted, alpha)),
                    "n {n} alpha {alpha}"
                );
                assert_eq!(s.max, Yuan::from_fen(sorted[n - 1]));
                assert_eq!(sel[n - m], sorted[n - m]);
                // the worst m by loss, ties to the lower index, as a sort picks them
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|a, b| v[*b].cmp(&v[*a]).then(a.cmp(b)));
                let mut want = order[..m].to_vec();
                want.sort_unstable();
                assert_eq!(
                    worst_scenarios(&v, m, sel[n - m]),
                    want,
                    "n {n} alpha {alpha}"
                );
            }
        }
    }

    #[test]
    fn wilson_interval() {
        let p = Probability::from_count(0, 1000);
        assert_eq!(p.estimate, 0.0);
        assert!(p.ci95_high > 0.0 && p.ci95_high < 0.005);
        let p = Probability::from_count(500, 1000);
        assert!((p.std_error - 0.5 / 1000f64.sqrt()).abs() < 1e-12);
        assert!(p.ci95_low < 0.5 && p.ci95_high > 0.5);
    }
}
