//! Figures read off the raw columns: probabilities, default moments, the
//! breaker, the balance fan, histograms and the loss distributions.

use super::*;
use crate::kernel::money::Yuan;
use crate::riskpool::model::Model;
use crate::riskpool::raw::{BALANCE_BINS, Raw};

/// Probabilities of per-scenario events: a count under plain Monte Carlo,
/// the likelihood-ratio-weighted mean under importance sampling.
pub(super) struct Probabilities<'a> {
    pub(super) raw: &'a Raw,
}

impl Probabilities<'_> {
    pub(super) fn of(&self, hit: impl Fn(usize) -> bool) -> Probability {
        let raw = self.raw;
        match &raw.weight {
            None => {
                let hits = (0..raw.len()).filter(|&i| hit(i)).count() as u64;
                Probability::from_count(hits, raw.len() as u64)
            }
            Some(w) => {
                let terms: Vec<f64> = (0..raw.len())
                    .map(|i| if hit(i) { w[i] } else { 0.0 })
                    .collect();
                Probability::from_weighted(&terms)
            }
        }
    }

    /// The share of scenarios `hit` picks: a count over N under plain Monte
    /// Carlo, (1/N)·Σ wᵢ over them under importance sampling.
    pub(super) fn share(&self, hit: impl Fn(usize) -> bool) -> f64 {
        let raw = self.raw;
        let weight = |i: usize| raw.weight.as_ref().map_or(1.0, |w| w[i]);
        (0..raw.len()).filter(|&i| hit(i)).map(weight).sum::<f64>() / raw.len() as f64
    }
}

/// Mean and (N−1) variance of the default count.
pub(super) fn default_moments(defaults: &[u32]) -> DefaultStats {
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
pub(super) fn breaker_stats(raw: &Raw, periods: usize, prob: &Probabilities<'_>) -> BreakerStats {
    BreakerStats {
        trip_probability: prob.of(|i| raw.breaker_period[i].is_some()),
        by_period: (1..=periods)
            .map(|t| {
                prob.share(|i| raw.breaker_period[i].is_some_and(|p| usize::from(p.get()) == t))
            })
            .collect(),
    }
}

/// Pool-balance quantiles by period, read from the per-period histograms of
/// bins of 2% of capital (each quantile is its bin's upper edge).
pub(super) fn balance_fan(raw: &Raw, capital_fen: i64) -> Vec<FanPoint> {
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
pub(super) fn histograms(raw: &Raw, model: &Model) -> (Histogram, Histogram) {
    let out = &model.spec().output;
    let h = |col: &[i64]| {
        histogram(
            col,
            raw.weight.as_deref(),
            model.exposure_fen(),
            out.histogram_bins,
            out.histogram_max_rate,
        )
    };
    (h(&raw.loss), h(&raw.compensation))
}

/// A histogram of `column` (fen) in bins of `max_rate / bins` of the
/// exposure: counts, or under importance sampling each bin's (1/N)·Σ wᵢ.
pub(super) fn histogram(
    column: &[i64],
    weight: Option<&[f64]>,
    exposure: i64,
    bins: u32,
    max_rate: f64,
) -> Histogram {
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
    let Some(weight) = weight else {
        h.counts = vec![0u64; bins];
        for &l in column {
            match h.counts.get_mut(bin(l)) {
                Some(c) => *c += 1,
                None => h.overflow += 1,
            }
        }
        return h;
    };
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
    h
}

/// The four money distributions, and the m-th largest loss (the threshold
/// of the tail whose scenarios the risk contributions re-simulate).
pub(super) struct Distributions {
    pub(super) loss: MoneyStats,
    pub(super) compensation: MoneyStats,
    pub(super) unfunded: MoneyStats,
    pub(super) bank_loss: MoneyStats,
    pub(super) tail_threshold: i64,
}

/// Each distribution copies its column and selects the order statistics it
/// reports, in parallel; the loss also selects its m-th largest value.
pub(super) fn distributions(raw: &Raw, alpha: f64, m: usize) -> Distributions {
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
