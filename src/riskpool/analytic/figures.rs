//! Figures off a distribution on its lattice: money (mean, VaR, ES) and
//! quantiles, with their bounds.

use super::lattice::Rounded;
use super::*;
use crate::riskpool::stats::yuan_f;

/// One channel's result: its pmf, unit and exact mean.
pub(super) struct Dist<'a> {
    pub(super) pmf: &'a [f64],
    pub(super) unit: f64,
    pub(super) mean_units: f64,
}

impl Dist<'_> {
    pub(super) fn overflow(&self) -> f64 {
        (1.0 - self.pmf.iter().sum::<f64>()).max(0.0)
    }
    /// E[X·1{X beyond the lattice}], units.
    pub(super) fn overflow_moment(&self) -> f64 {
        let inside: f64 = self
            .pmf
            .iter()
            .enumerate()
            .map(|(x, &p)| x as f64 * p)
            .sum();
        (self.mean_units - inside).max(self.overflow() * self.pmf.len() as f64)
    }
    /// The smallest x with P(X ≤ x) ≥ level, units; `None` beyond the lattice.
    pub(super) fn quantile(&self, level: f64) -> Option<usize> {
        let mut c = 0.0;
        for (x, &p) in self.pmf.iter().enumerate() {
            c += p;
            if c >= level - 1e-13 {
                return Some(x);
            }
        }
        None
    }
    /// P(X ≥ x).
    pub(super) fn tail(&self, x: usize) -> f64 {
        self.pmf.iter().skip(x).sum::<f64>() + self.overflow()
    }
}

/// A monotone function of the outcome, fen → fen, with its expectation
/// over the overflow given P(overflow) and E[X·1{overflow}] (fen).
pub(super) struct Transform {
    pub(super) f: Box<dyn Fn(f64) -> f64>,
    pub(super) over: Box<dyn Fn(f64, f64) -> f64>,
}

impl Transform {
    pub(super) fn identity() -> Transform {
        Transform {
            f: Box::new(|x| x),
            over: Box::new(|_, m| m),
        }
    }
    pub(super) fn capped(k: f64) -> Transform {
        Transform {
            f: Box::new(move |x| x.min(k)),
            over: Box::new(move |p, _| k * p),
        }
    }
    pub(super) fn excess(k: f64) -> Transform {
        Transform {
            f: Box::new(move |x| (x - k).max(0.0)),
            over: Box::new(move |p, m| (m - k * p).max(0.0)),
        }
    }
}

/// (mean, VaR, ES) of g(X) in fen, and g's quantile at a level.
pub(super) fn money(d: &Dist<'_>, g: &Transform, alpha: f64, top: f64) -> (f64, f64, f64) {
    let u = d.unit;
    let (ovf, ovm) = (d.overflow(), d.overflow_moment() * u);
    let mean: f64 = d
        .pmf
        .iter()
        .enumerate()
        .map(|(x, &p)| (g.f)(x as f64 * u) * p)
        .sum::<f64>()
        + (g.over)(ovf, ovm);
    let q = d.quantile(alpha);
    let var = q.map_or((g.f)(top), |q| (g.f)(q as f64 * u));
    let es = match q {
        Some(q) => {
            let above: f64 = d
                .pmf
                .iter()
                .enumerate()
                .skip(q + 1)
                .map(|(x, &p)| (g.f)(x as f64 * u) * p)
                .sum::<f64>()
                + (g.over)(ovf, ovm);
            let at_or_below: f64 = d.pmf[..=q].iter().sum();
            (above + var * (at_or_below - alpha)) / (1.0 - alpha)
        }
        None => var,
    };
    (mean, var, es)
}

pub(super) fn quantile_of(d: &Dist<'_>, g: &Transform, level: f64, top: f64) -> f64 {
    let level = level.clamp(0.0, 1.0 - 1e-15);
    d.quantile(level)
        .map_or((g.f)(top), |q| (g.f)(q as f64 * d.unit))
}

/// Bounded money figures of g(X) from the rounding channels (nearest, and
/// floor and ceiling when the lattice is not exact); `err` is the
/// quadrature's error in probabilities.
pub(super) fn bounded_money(
    ds: &[Dist<'_>],
    g: &Transform,
    alpha: f64,
    err: f64,
    top: f64,
    exact_mean: Option<f64>,
) -> AnalyticMoney {
    let Rounded {
        near,
        floor: lo,
        ceil: hi,
    } = Rounded::of(ds);
    let (m, v, e) = money(near, g, alpha, top);
    // (the mean of the loss or the claims needs no lattice: Σ PDᵢ·E[amountᵢ])
    let m = exact_mean.unwrap_or(m);
    let (ml, _, el) = money(lo, g, alpha, top);
    let (mh, _, eh) = money(hi, g, alpha, top);
    let q = |level: f64| AnalyticQuantile {
        level,
        value: Bounded {
            estimate: yuan_f(quantile_of(near, g, level, top)),
            low: yuan_f(quantile_of(lo, g, level - err, top)),
            high: yuan_f(quantile_of(hi, g, level + err, top)),
        },
    };
    let var = q(alpha);
    debug_assert!((var.value.estimate.to_fen() as f64 - v.round()).abs() < 1.0);
    AnalyticMoney {
        mean: Bounded {
            estimate: yuan_f(m),
            low: yuan_f(ml.min(m)),
            high: yuan_f(mh.max(m)),
        },
        quantiles: LEVELS.iter().map(|&l| q(l)).collect(),
        var,
        es: Bounded {
            estimate: yuan_f(e),
            low: yuan_f(el.min(e)),
            high: yuan_f(eh.max(e)),
        },
    }
}
