//! The certificate: the exact figures held against a Monte Carlo run's,
//! quantity by quantity.

use serde::{Deserialize, Serialize};

use super::*;
use crate::kernel::money::Yuan;

/// One line of a certificate: a Monte Carlo estimate against the analytic
/// value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateLine {
    /// What is compared.
    pub quantity: String,
    /// The Monte Carlo estimate.
    pub monte_carlo: f64,
    /// Its standard error (for a plain Monte Carlo probability, that of the
    /// analytic value at the run's scenario count).
    pub std_error: f64,
    /// The analytic estimate.
    pub analytic: f64,
    /// The analytic lower bound.
    pub analytic_low: f64,
    /// The analytic upper bound.
    pub analytic_high: f64,
    /// The Monte Carlo estimate's distance from the analytic bounds, in
    /// standard errors (0 inside them; signed: negative below).
    pub z: f64,
    /// |z| > 4: the two methods disagree.
    pub flagged: bool,
}

/// Two independent methods on one run: where they agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Exhaustion probability, mean loss, mean compensation.
    pub lines: Vec<CertificateLine>,
    /// No line flagged.
    pub agree: bool,
}

/// |z| above this flags a line.
pub const FLAG_Z: f64 = 4.0;

/// The signed distance of `x` from [lo, hi] (0 inside, negative below).
pub(crate) fn outside(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        x - lo
    } else if x > hi {
        x - hi
    } else {
        0.0
    }
}

pub(super) fn line(quantity: &str, mc: f64, se: f64, a: f64, lo: f64, hi: f64) -> CertificateLine {
    let d = outside(mc, lo, hi);
    let z = if d == 0.0 {
        0.0
    } else if se > 0.0 {
        d / se
    } else {
        d.signum() * f64::INFINITY
    };
    CertificateLine {
        quantity: quantity.into(),
        monte_carlo: mc,
        std_error: se,
        analytic: a,
        analytic_low: lo,
        analytic_high: hi,
        z,
        flagged: z.abs() > FLAG_Z,
    }
}

/// The certificate of a Monte Carlo summary against the analytic figures
/// of the same model.
pub fn certify(mc: &crate::riskpool::stats::Summary, a: &AnalyticSummary) -> Certificate {
    let e = &a.exhaustion_probability;
    let n = mc.scenarios.max(1) as f64;
    // Plain Monte Carlo: the binomial standard error at the analytic value
    // (the run's own is 0 when it saw no exhaustion); weighted: its own.
    let se = if mc.importance_sampling.is_some() {
        mc.exhaustion_probability.std_error
    } else {
        (e.estimate * (1.0 - e.estimate) / n).sqrt()
    };
    let f = |y: Yuan| y.to_fen() as f64 / 100.0;
    let money = |q: &str, m: &crate::riskpool::stats::MoneyStats, b: &Bounded<Yuan>| {
        line(
            q,
            f(m.mean),
            f(m.mean_std_error),
            f(b.estimate),
            f(b.low),
            f(b.high),
        )
    };
    let lines = vec![
        line(
            "exhaustion_probability",
            mc.exhaustion_probability.estimate,
            se,
            e.estimate,
            e.low,
            e.high,
        ),
        money("mean_loss", &mc.loss, &a.loss.mean),
        money("mean_compensation", &mc.compensation, &a.compensation.mean),
    ];
    Certificate {
        agree: lines.iter().all(|l| !l.flagged),
        lines,
    }
}
