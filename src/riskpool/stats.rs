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
use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use super::control::{Cancelled, Control};
use super::engine::Engine;
use super::model::{Lgd, Model};
use super::oracle::vasicek_cdf;
use super::raw::{BALANCE_BINS, Raw};
use super::spec::Copula;
use crate::kernel::money::Yuan;

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A probability estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probability {
    /// Estimate.
    pub estimate: f64,
    /// Standard error of the estimate.
    pub std_error: f64,
    /// Lower end of the 95% interval.
    pub ci95_low: f64,
    /// Upper end of the 95% interval.
    pub ci95_high: f64,
}

impl Probability {
    /// From `hits` of `n` plain Monte Carlo scenarios (Wilson interval).
    pub fn from_count(hits: u64, n: u64) -> Probability {
        let nf = n as f64;
        let p = hits as f64 / nf;
        let se = (p * (1.0 - p) / nf).sqrt();
        let z2 = Z95 * Z95;
        let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
        let half = Z95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / (1.0 + z2 / nf);
        Probability {
            estimate: p,
            std_error: se,
            ci95_low: (centre - half).max(0.0),
            ci95_high: (centre + half).min(1.0),
        }
    }

    /// From importance-sampling terms wᵢ·1ᵢ.
    pub fn from_weighted(terms: &[f64]) -> Probability {
        let n = terms.len() as f64;
        let mean = terms.iter().sum::<f64>() / n;
        let var = terms.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / (n - 1.0).max(1.0);
        let se = (var / n).sqrt();
        Probability {
            estimate: mean,
            std_error: se,
            ci95_low: (mean - Z95 * se).max(0.0),
            ci95_high: (mean + Z95 * se).min(1.0),
        }
    }
}

/// A quantile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantile {
    /// Level.
    pub level: f64,
    /// Value.
    pub value: Yuan,
}

/// Distribution of a money outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyStats {
    /// Mean.
    pub mean: Yuan,
    /// Standard deviation.
    pub std_dev: Yuan,
    /// Standard error of the mean.
    pub mean_std_error: Yuan,
    /// Quantiles at 50, 90, 95, 99 and 99.9%.
    pub quantiles: Vec<Quantile>,
    /// VaR at the tail level.
    pub var: Yuan,
    /// Expected shortfall at the tail level.
    pub es: Yuan,
    /// Largest outcome.
    pub max: Yuan,
}

/// Default-count moments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DefaultStats {
    /// Mean.
    pub mean: f64,
    /// Sample variance (N − 1).
    pub variance: f64,
}

/// Pool balance quantiles at one period end (fan chart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanPoint {
    /// Period (1-based).
    pub period: u32,
    /// 5, 25, 50, 75, 95% quantiles (upper edges of 2%-of-capital bins).
    pub quantiles: Vec<Quantile>,
}

/// A histogram's bins as probabilities (importance sampling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedBins {
    /// Probability of each bin.
    pub probabilities: Vec<f64>,
    /// Probability beyond the last bin.
    pub overflow: f64,
}

/// Loss histogram with fixed bins of loss rate (loss / exposure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Width of each bin, as a loss rate.
    pub bin_width_rate: f64,
    /// Width of each bin, in money.
    pub bin_width: Yuan,
    /// Counts per bin.
    pub counts: Vec<u64>,
    /// Scenarios above the last bin.
    pub overflow: u64,
    /// Under importance sampling: each bin's likelihood-ratio-weighted
    /// probability (then `counts` and `overflow` are empty and 0: raw counts
    /// of the shifted measure would mislead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<WeightedBins>,
}

/// A sector's share of the expected shortfall of the book's loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Sector.
    pub sector: String,
    /// Mean loss of the sector in the tail scenarios.
    pub es_contribution: Yuan,
    /// Share of the total.
    pub share: f64,
}

/// The Vasicek large-pool figure for a homogeneous book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VasicekFigure {
    /// PD of one period (the annual PD when periods are years).
    pub pd: f64,
    /// ρ used.
    pub rho: f64,
    /// Default rate at which the pool runs dry.
    pub default_rate_threshold: f64,
    /// Large-pool exhaustion probability 1 − F(threshold).
    pub exhaustion_probability: f64,
}

/// Breaker statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerStats {
    /// Probability the breaker trips within the horizon.
    pub trip_probability: Probability,
    /// Probability of tripping in each period.
    pub by_period: Vec<f64>,
}

/// Importance-sampling diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IsStats {
    /// Factor mean shift μ.
    pub shift: f64,
    /// Effective sample size of the exhaustion estimator, (Σwᵢ1ᵢ)²/Σ(wᵢ1ᵢ)².
    pub effective_sample_size: f64,
}

/// Everything a run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenarios run.
    pub scenarios: u64,
    /// Seed.
    pub seed: u64,
    /// Scenario preset.
    pub preset: String,
    /// Periods.
    pub periods: u32,
    /// Loans in the book.
    pub loans: u64,
    /// Credit scale (total exposure).
    pub exposure: Yuan,
    /// Pool capital.
    pub capital: Yuan,
    /// exposure / capital.
    pub leverage: f64,
    /// P(the pool runs dry within the horizon).
    pub exhaustion_probability: Probability,
    /// P(dry by the end of each period).
    pub exhaustion_by_period: Vec<Probability>,
    /// Default count.
    pub defaults: DefaultStats,
    /// Net credit loss of the book.
    pub loss: MoneyStats,
    /// Net compensation paid by the pool.
    pub compensation: MoneyStats,
    /// Claims the pool could not pay (borne by the banks).
    pub unfunded_claims: MoneyStats,
    /// Loss retained by the banks.
    pub bank_loss: MoneyStats,
    /// Breaker, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerStats>,
    /// Pool balance fan chart.
    pub balance_fan: Vec<FanPoint>,
    /// Probability that the pool is topped up at the end of each period
    /// (with a top-up rule, plain Monte Carlo; empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_up_by_period: Vec<f64>,
    /// Loss histogram.
    pub loss_histogram: Histogram,
    /// Histogram of the pool's compensation (claims), on the loss
    /// histogram's bins.
    pub compensation_histogram: Histogram,
    /// Sector shares of the loss ES.
    pub risk_contributions: Vec<Contribution>,
    /// Vasicek large-pool figure, when the book is homogeneous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vasicek: Option<VasicekFigure>,
    /// Importance sampling, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance_sampling: Option<IsStats>,
    /// Tail level of VaR and ES.
    pub tail_level: f64,
    /// The conventions used.
    pub conventions: String,
}

/// A fen amount held in f64 (a mean or deviation), rounded to the fen.
pub(crate) fn yuan_f(x: f64) -> Yuan {
    if x.is_finite() {
        Yuan::from_fen(x.round() as i64)
    } else {
        Yuan::ZERO
    }
}

/// ⌈x⌉ for a product like α·N that should be an integer but carries
/// floating-point noise (0.99 × 100000 = 99000.00000000001).
pub(super) fn ceil_tol(x: f64) -> f64 {
    (x - 1e-9 * x.abs().max(1.0)).ceil()
}

/// N(1 − α), with the same noise removed.
pub(super) fn tail_mass(n: usize, alpha: f64) -> f64 {
    let k = n as f64 * (1.0 - alpha);
    let r = k.round();
    if (k - r).abs() <= 1e-9 * k.max(1.0) {
        r
    } else {
        k
    }
}

/// Index (0-based) of the order statistic X₍⌈αN⌉₎.
fn order_index(n: usize, alpha: f64) -> usize {
    (ceil_tol(alpha * n as f64) as usize).clamp(1, n) - 1
}

/// X₍⌈αN⌉₎ of `sorted`, which need only be in order at that index.
fn order_stat(sorted: &[i64], alpha: f64) -> i64 {
    sorted[order_index(sorted.len(), alpha)]
}

/// Acerbi–Tasche discrete expected shortfall of `sorted` (ascending), fen.
/// Reads only the worst ⌊k⌋ outcomes as a block and the one below them, so
/// `sorted` need only be partitioned there (as `select_at` leaves it).
pub fn expected_shortfall(sorted: &[i64], alpha: f64) -> f64 {
    let n = sorted.len();
    let k = tail_mass(n, alpha);
    let whole = k.floor() as usize;
    let sum: i128 = sorted[n - whole..].iter().map(|&x| i128::from(x)).sum();
    let frac = k - whole as f64;
    let extra = if whole < n {
        frac * sorted[n - whole - 1] as f64
    } else {
        0.0
    };
    (sum as f64 + extra) / k
}

/// The indices of `v` that the order statistics at `levels`, the expected
/// shortfall at `alpha`, the maximum and `extra` read, ascending.
fn needed_indices(n: usize, levels: &[f64], alpha: f64, extra: Option<usize>) -> Vec<usize> {
    let whole = (tail_mass(n, alpha).floor() as usize).min(n);
    let mut need: Vec<usize> = levels.iter().map(|&l| order_index(n, l)).collect();
    need.extend(extra);
    need.push(order_index(n, alpha));
    need.push(n - 1);
    need.push(n - whole);
    if whole < n {
        need.push(n - whole - 1);
    }
    need.retain(|&i| i < n);
    need.sort_unstable();
    need.dedup();
    need
}

/// Puts every index of `need` (ascending) where a full sort would: each
/// selection works only right of the previous one, so the whole costs
/// O(N) per index instead of a sort's O(N log N), and the elements right of
/// an index stay the largest ones as a block.
fn select_at(v: &mut [i64], need: &[usize]) {
    let mut lo = 0;
    for &i in need {
        if i >= lo && i < v.len() {
            v[lo..].select_nth_unstable(i - lo);
            lo = i + 1;
        }
    }
}

/// Quantile levels reported for every money outcome.
const LEVELS: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

fn money_stats(values: &[i64], alpha: f64, extra: Option<usize>) -> (MoneyStats, Vec<i64>) {
    let n = values.len();
    let sum: i128 = values.iter().map(|&x| i128::from(x)).sum();
    let mean_exact = Decimal::from_i128_with_scale(sum, 2) / Decimal::from(n as u64);
    let mean = sum as f64 / n as f64;
    let var = values
        .iter()
        .map(|&x| (x as f64 - mean).powi(2))
        .sum::<f64>()
        / (n as f64 - 1.0).max(1.0);
    let mut sorted = values.to_vec();
    select_at(&mut sorted, &needed_indices(n, &LEVELS, alpha, extra));
    let stats = MoneyStats {
        mean: Yuan(mean_exact).round_fen(),
        std_dev: yuan_f(var.sqrt()),
        mean_std_error: yuan_f((var / n as f64).sqrt()),
        quantiles: LEVELS
            .iter()
            .map(|&l| Quantile {
                level: l,
                value: Yuan::from_fen(order_stat(&sorted, l)),
            })
            .collect(),
        var: Yuan::from_fen(order_stat(&sorted, alpha)),
        es: yuan_f(expected_shortfall(&sorted, alpha)),
        max: Yuan::from_fen(sorted[n - 1]),
    };
    (stats, sorted)
}

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
    let exhaustion_probability = prob.of(|i| raw.exhausted_period[i] > 0);
    let exhaustion_by_period = (1..=periods)
        .map(|t| {
            prob.of(|i| raw.exhausted_period[i] > 0 && usize::from(raw.exhausted_period[i]) <= t)
        })
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
    let f = if raw.weight.is_empty() {
        plain_figures(engine, model, raw, (control, known))?
    } else {
        weighted_figures(engine, model, raw, (control, known))?
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
        leverage: exposure as f64 / model.capital_fen() as f64,
        exhaustion_probability,
        exhaustion_by_period,
        defaults: f.defaults,
        loss: f.loss,
        compensation: f.compensation,
        unfunded_claims: f.unfunded,
        bank_loss: f.bank_loss,
        breaker,
        balance_fan: f.balance_fan,
        top_up_by_period: if raw.weight.is_empty() {
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

const CONVENTIONS_IS: &str = "importance sampling: every figure is likelihood-ratio weighted, a probability being the mean of w*1 over the N scenarios (normal 95% interval). Means: mean of w*x, with its standard error; quantile/VaR at level l: the largest outcome whose weighted upper tail reaches 1-l; ES: the weighted mean of the worst 1-alpha, the boundary outcome in part; histogram bins as probabilities; the pool-balance fan is not estimated under importance sampling";

/// A run under importance sampling: every statistic weighted by the
/// likelihood ratios (see [`CONVENTIONS_IS`]); the balance fan, accumulated
/// unweighted by the engine, is left out rather than shown wrong.
fn weighted_figures(
    engine: &Engine<'_>,
    model: &Model,
    raw: &Raw,
    (control, known): (&Control, &TailSectors),
) -> Result<Figures, Cancelled> {
    let spec = model.spec();
    let alpha = spec.output.tail_level;
    let n = raw.len() as f64;
    let w = &raw.weight;
    let ((loss, compensation), (unfunded, bank_loss)) = rayon::join(
        || {
            rayon::join(
                || weighted_stats_and_tail(&raw.loss, w, alpha),
                || weighted_money_stats(&raw.compensation, w, alpha),
            )
        },
        || {
            rayon::join(
                || weighted_money_stats(&raw.unfunded, w, alpha),
                || weighted_money_stats(&raw.bank_loss, w, alpha),
            )
        },
    );
    control.check()?;
    let (loss, tail) = loss;
    let risk_contributions =
        weighted_contributions(engine, model, raw, &tail, alpha, (control, known))?;
    let dmean: f64 = raw
        .defaults
        .iter()
        .zip(w)
        .map(|(&d, &q)| q * f64::from(d))
        .sum::<f64>()
        / n;
    let dm2: f64 = raw
        .defaults
        .iter()
        .zip(w)
        .map(|(&d, &q)| q * f64::from(d).powi(2))
        .sum::<f64>()
        / n;
    let dvar = (dm2 - dmean * dmean).max(0.0);
    Ok(Figures {
        defaults: DefaultStats {
            mean: dmean,
            variance: dvar,
        },
        loss,
        compensation,
        unfunded,
        bank_loss,
        balance_fan: Vec::new(),
        risk_contributions,
        importance_sampling: Some(is_stats(engine, raw)),
        conventions: CONVENTIONS_IS,
    })
}

/// Scenario indices by value, largest first (ties: lower index first).
fn descending(values: &[i64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&a, &b| values[b].cmp(&values[a]).then(a.cmp(&b)));
    order
}

/// The worst `1 − alpha` of probability under likelihood ratios `w` (the
/// probability of a set is Σ wᵢ / N over its scenarios), walking `order`
/// (from [`descending`]): scenario indices with the share of each taken (1
/// but for the boundary outcome, taken in part), worst first.
fn tail_of(order: &[usize], w: &[f64], alpha: f64) -> Vec<(usize, f64)> {
    let mass = order.len() as f64 * (1.0 - alpha);
    let mut acc = 0.0;
    let mut out = Vec::new();
    for &i in order {
        if acc >= mass {
            break;
        }
        if w[i] > 0.0 {
            let take = ((mass - acc) / w[i]).min(1.0);
            out.push((i, take));
            acc += w[i] * take;
        }
    }
    out
}

/// A money column under likelihood ratios `w`, every figure the standard
/// importance-sampling estimate (a probability is Σ wᵢ / N over its
/// scenarios; self-normalising by Σ wᵢ would carry the body's noise into
/// the tail): mean (1/N)·Σ wᵢxᵢ with the standard error of that mean;
/// sd from the weighted second moment; quantile at level l the largest
/// value whose weighted upper tail reaches 1 − l; ES the weighted mean of
/// the worst 1 − α.
pub fn weighted_money_stats(values: &[i64], w: &[f64], alpha: f64) -> MoneyStats {
    weighted_stats_and_tail(values, w, alpha).0
}

/// [`weighted_money_stats`] and the column's tail ([`tail_of`]), from one sort.
fn weighted_stats_and_tail(
    values: &[i64],
    w: &[f64],
    alpha: f64,
) -> (MoneyStats, Vec<(usize, f64)>) {
    let n = values.len() as f64;
    let order = descending(values);
    let terms: Vec<f64> = values.iter().zip(w).map(|(&x, &q)| q * x as f64).collect();
    let mean = terms.iter().sum::<f64>() / n;
    let m2 = values
        .iter()
        .zip(w)
        .map(|(&x, &q)| q * (x as f64).powi(2))
        .sum::<f64>()
        / n;
    let var = (m2 - mean * mean).max(0.0);
    let se =
        (terms.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0) / n).sqrt();
    let quantile = |level: f64| -> i64 {
        let mass = n * (1.0 - level);
        let mut acc = 0.0;
        for &i in &order {
            acc += w[i];
            if acc >= mass * (1.0 - 1e-12) {
                return values[i];
            }
        }
        values[*order.last().expect("a run has scenarios")]
    };
    let tail = tail_of(&order, w, alpha);
    let es = tail
        .iter()
        .map(|&(i, take)| w[i] * take * values[i] as f64)
        .sum::<f64>()
        / (n * (1.0 - alpha));
    let stats = MoneyStats {
        mean: yuan_f(mean),
        std_dev: yuan_f(var.sqrt()),
        mean_std_error: yuan_f(se),
        quantiles: LEVELS
            .iter()
            .map(|&l| Quantile {
                level: l,
                value: Yuan::from_fen(quantile(l)),
            })
            .collect(),
        var: Yuan::from_fen(quantile(alpha)),
        es: yuan_f(es),
        max: Yuan::from_fen(values.iter().copied().max().unwrap_or(0)),
    };
    (stats, tail)
}

/// Each sector's part of the weighted loss ES: the tail scenarios
/// re-simulated by sector, weighted as the ES weights them, so the parts
/// add up to the ES.
fn weighted_contributions(
    engine: &Engine<'_>,
    model: &Model,
    raw: &Raw,
    tail: &[(usize, f64)],
    alpha: f64,
    (control, known): (&Control, &TailSectors),
) -> Result<Vec<Contribution>, Cancelled> {
    let n = raw.len() as f64;
    let sectors = model.sectors().len();
    let by_sector = tail
        .par_chunks(256)
        .map(|block| -> Result<Vec<f64>, Cancelled> {
            control.check()?;
            let mut acc = vec![0.0; sectors];
            for &(i, take) in block {
                let q = raw.weight[i] * take / (n * (1.0 - alpha));
                for (s, v) in tail_sector_losses(engine, raw, i, known)
                    .into_iter()
                    .enumerate()
                {
                    acc[s] += q * v as f64;
                }
            }
            Ok(acc)
        })
        .try_reduce(
            || vec![0.0; sectors],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                Ok(a)
            },
        )?;
    let total: f64 = by_sector.iter().sum();
    Ok(model
        .sectors()
        .iter()
        .zip(&by_sector)
        .map(|(name, &v)| Contribution {
            sector: name.clone(),
            es_contribution: yuan_f(v),
            share: if total > 0.0 { v / total } else { 0.0 },
        })
        .collect())
}

/// Probabilities of per-scenario events: a count under plain Monte Carlo,
/// the likelihood-ratio-weighted mean under importance sampling.
struct Probabilities<'a> {
    raw: &'a Raw,
}

impl Probabilities<'_> {
    fn of(&self, hit: impl Fn(usize) -> bool) -> Probability {
        let raw = self.raw;
        if raw.weight.is_empty() {
            let hits = (0..raw.len()).filter(|&i| hit(i)).count() as u64;
            Probability::from_count(hits, raw.len() as u64)
        } else {
            let terms: Vec<f64> = (0..raw.len())
                .map(|i| if hit(i) { raw.weight[i] } else { 0.0 })
                .collect();
            Probability::from_weighted(&terms)
        }
    }

    /// The share of scenarios `hit` picks: a count over N under plain Monte
    /// Carlo, (1/N)·Σ wᵢ over them under importance sampling.
    fn share(&self, hit: impl Fn(usize) -> bool) -> f64 {
        let raw = self.raw;
        let weight = |i: usize| {
            if raw.weight.is_empty() {
                1.0
            } else {
                raw.weight[i]
            }
        };
        (0..raw.len()).filter(|&i| hit(i)).map(weight).sum::<f64>() / raw.len() as f64
    }
}

/// Mean and (N−1) variance of the default count.
fn default_moments(defaults: &[u32]) -> DefaultStats {
    let n = defaults.len() as f64;
    let mean = defaults.iter().map(|&d| f64::from(d)).sum::<f64>() / n;
    let variance = defaults
        .iter()
        .map(|&d| (f64::from(d) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    DefaultStats { mean, variance }
}

/// The breaker's trip probability and the share of scenarios tripping in
/// each period.
fn breaker_stats(raw: &Raw, periods: usize, prob: &Probabilities<'_>) -> BreakerStats {
    BreakerStats {
        trip_probability: prob.of(|i| raw.breaker_period[i] > 0),
        by_period: (1..=periods)
            .map(|t| prob.share(|i| usize::from(raw.breaker_period[i]) == t))
            .collect(),
    }
}

/// Pool-balance quantiles by period, read from the per-period histograms of
/// bins of 2% of capital (each quantile is its bin's upper edge).
fn balance_fan(raw: &Raw, capital_fen: i64) -> Vec<FanPoint> {
    let width = (2 * capital_fen / BALANCE_BINS as i64).max(1);
    raw.balance_hist
        .iter()
        .enumerate()
        .map(|(t, h)| {
            let total: u64 = h.iter().sum();
            let q = |level: f64| {
                let target = ceil_tol(level * total as f64).max(1.0) as u64;
                let mut acc = 0;
                for (b, c) in h.iter().enumerate() {
                    acc += c;
                    if acc >= target {
                        return Yuan::from_fen(width * (b as i64 + 1));
                    }
                }
                Yuan::from_fen(width * BALANCE_BINS as i64)
            };
            FanPoint {
                period: (t + 1) as u32,
                quantiles: [0.05, 0.25, 0.5, 0.75, 0.95]
                    .iter()
                    .map(|&l| Quantile {
                        level: l,
                        value: q(l),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Histogram of the loss rate (loss / exposure) in `bins` equal bins up to
/// `max_rate`, with the scenarios beyond it counted as overflow.
/// The loss and the compensation histograms, on the same bins of loss rate
/// (claims are at most the share of the loss, so one scale fits both).
fn histograms(raw: &Raw, model: &Model) -> (Histogram, Histogram) {
    let out = &model.spec().output;
    let h = |col: &[i64]| {
        histogram(
            col,
            &raw.weight,
            model.exposure_fen(),
            out.histogram_bins,
            out.histogram_max_rate,
        )
    };
    (h(&raw.loss), h(&raw.compensation))
}

/// A histogram of `column` (fen) in bins of `max_rate / bins` of the
/// exposure: counts, or under importance sampling each bin's (1/N)·Σ wᵢ.
fn histogram(column: &[i64], weight: &[f64], exposure: i64, bins: u32, max_rate: f64) -> Histogram {
    let bins = bins as usize;
    let bw = max_rate / bins as f64;
    let bin = |l: i64| (l as f64 / exposure as f64 / bw).floor() as usize;
    let mut h = Histogram {
        bin_width_rate: bw,
        bin_width: yuan_f(bw * exposure as f64),
        counts: Vec::new(),
        overflow: 0,
        weighted: None,
    };
    if weight.is_empty() {
        h.counts = vec![0u64; bins];
        for &l in column {
            match h.counts.get_mut(bin(l)) {
                Some(c) => *c += 1,
                None => h.overflow += 1,
            }
        }
    } else {
        let n = column.len() as f64;
        let mut w = WeightedBins {
            probabilities: vec![0.0; bins],
            overflow: 0.0,
        };
        for (&l, &q) in column.iter().zip(weight) {
            match w.probabilities.get_mut(bin(l)) {
                Some(p) => *p += q / n,
                None => w.overflow += q / n,
            }
        }
        h.weighted = Some(w);
    }
    h
}

/// The four money distributions, and the m-th largest loss (the threshold
/// of the tail whose scenarios the risk contributions re-simulate).
struct Distributions {
    loss: MoneyStats,
    compensation: MoneyStats,
    unfunded: MoneyStats,
    bank_loss: MoneyStats,
    tail_threshold: i64,
}

/// Each distribution copies its column and selects the order statistics it
/// reports, in parallel; the loss also selects its m-th largest value.
fn distributions(raw: &Raw, alpha: f64, m: usize) -> Distributions {
    let n = raw.len();
    let ((loss_sel, compensation), (unfunded, bank_loss)) = rayon::join(
        || {
            rayon::join(
                || money_stats(&raw.loss, alpha, Some(n - m)),
                || money_stats(&raw.compensation, alpha, None).0,
            )
        },
        || {
            rayon::join(
                || money_stats(&raw.unfunded, alpha, None).0,
                || money_stats(&raw.bank_loss, alpha, None).0,
            )
        },
    );
    let (loss, selected) = loss_sel;
    Distributions {
        loss,
        compensation,
        unfunded,
        bank_loss,
        tail_threshold: selected[n - m],
    }
}

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

/// The factor shift and the effective sample size of the exhaustion
/// estimator, (Σ wᵢ1ᵢ)² / Σ (wᵢ1ᵢ)²: the number of equally weighted
/// exhaustion scenarios the weighted ones are worth.
fn is_stats(engine: &Engine<'_>, raw: &Raw) -> IsStats {
    let hits = (0..raw.len())
        .filter(|&i| raw.exhausted_period[i] > 0)
        .map(|i| raw.weight[i]);
    let (sw, sw2) = hits.fold((0.0, 0.0), |(a, b), w| (a + w, b + w * w));
    IsStats {
        shift: engine.factor_shift(),
        effective_sample_size: if sw2 > 0.0 { sw * sw / sw2 } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
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
