//! Importance-sampling figures: every statistic weighted by the likelihood
//! ratio.

use rayon::prelude::*;

use super::*;
use crate::kernel::money::Yuan;
use crate::riskpool::control::{Cancelled, Control};
use crate::riskpool::engine::Engine;
use crate::riskpool::model::Model;
use crate::riskpool::raw::Raw;

pub(super) const CONVENTIONS_IS: &str = "importance sampling: every figure is likelihood-ratio weighted, a probability being the mean of w*1 over the N scenarios (normal 95% interval). Means: mean of w*x, with its standard error; quantile/VaR at level l: the largest outcome whose weighted upper tail reaches 1-l; ES: the weighted mean of the worst 1-alpha, the boundary outcome in part; histogram bins as probabilities; the pool-balance fan is not estimated under importance sampling";

/// A run under importance sampling: every statistic weighted by the
/// likelihood ratios (see [`CONVENTIONS_IS`]); the balance fan, accumulated
/// unweighted by the engine, is left out rather than shown wrong.
pub(super) fn weighted_figures(
    engine: &Engine<'_>,
    model: &Model,
    raw: &Raw,
    w: &[f64],
    (control, known): (&Control, &TailSectors),
) -> Result<Figures, Cancelled> {
    let spec = model.spec();
    let alpha = spec.output.tail_level;
    let n = raw.len() as f64;
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
        weighted_contributions(engine, model, (raw, w), &tail, alpha, (control, known))?;
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
        importance_sampling: Some(is_stats(engine, raw, w)),
        conventions: CONVENTIONS_IS,
    })
}

/// Scenario indices by value, largest first (ties: lower index first).
pub(super) fn descending(values: &[i64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_unstable_by(|&a, &b| values[b].cmp(&values[a]).then(a.cmp(&b)));
    order
}

/// The worst `1 − alpha` of probability under likelihood ratios `w` (the
/// probability of a set is Σ wᵢ / N over its scenarios), walking `order`
/// (from [`descending`]): scenario indices with the share of each taken (1
/// but for the boundary outcome, taken in part), worst first.
pub(super) fn tail_of(order: &[usize], w: &[f64], alpha: f64) -> Vec<(usize, f64)> {
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
pub(super) fn weighted_stats_and_tail(
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
pub(super) fn weighted_contributions(
    engine: &Engine<'_>,
    model: &Model,
    (raw, w): (&Raw, &[f64]),
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
                let q = w[i] * take / (n * (1.0 - alpha));
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
