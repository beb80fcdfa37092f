//! Order statistics: quantiles, VaR and expected shortfall off sorted or
//! partly selected columns, exact in fen.

use rust_decimal::Decimal;

use super::*;
use crate::kernel::money::Yuan;

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
pub(in crate::riskpool) fn ceil_tol(x: f64) -> f64 {
    (x - 1e-9 * x.abs().max(1.0)).ceil()
}

/// N(1 − α), with the same noise removed.
pub(in crate::riskpool) fn tail_mass(n: usize, alpha: f64) -> f64 {
    let k = n as f64 * (1.0 - alpha);
    let r = k.round();
    if (k - r).abs() <= 1e-9 * k.max(1.0) {
        r
    } else {
        k
    }
}

/// Index (0-based) of the order statistic X₍⌈αN⌉₎.
pub(super) fn order_index(n: usize, alpha: f64) -> usize {
    (ceil_tol(alpha * n as f64) as usize).clamp(1, n) - 1
}

/// X₍⌈αN⌉₎ of `sorted`, which need only be in order at that index.
pub(super) fn order_stat(sorted: &[i64], alpha: f64) -> i64 {
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
pub(super) fn needed_indices(
    n: usize,
    levels: &[f64],
    alpha: f64,
    extra: Option<usize>,
) -> Vec<usize> {
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
pub(super) fn select_at(v: &mut [i64], need: &[usize]) {
    let mut lo = 0;
    for &i in need {
        if i >= lo && i < v.len() {
            v[lo..].select_nth_unstable(i - lo);
            lo = i + 1;
        }
    }
}

/// Quantile levels reported for every money outcome.
pub(super) const LEVELS: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

pub(super) fn money_stats(
    values: &[i64],
    alpha: f64,
    extra: Option<usize>,
) -> (MoneyStats, Vec<i64>) {
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
