//! The engine a model asks for: plain Monte Carlo, or importance sampling
//! with the global factor's mean shifted where expected claims meet the
//! capital.

use super::Engine;
use crate::riskpool::model::Model;

/// Builds the engine of a model, with importance sampling when the spec asks.
pub fn engine_for(model: &Model) -> Engine<'_> {
    let e = Engine::new(model);
    match &model.spec().importance_sampling {
        None => e,
        Some(is) => {
            let shift = is.shift.unwrap_or_else(|| auto_shift(&e, model));
            e.with_factor_shift(shift)
        }
    }
}

/// The factor value z* at which expected claims equal the capital
/// (bisection; claims fall as z rises). Shifting the factor's mean there puts
/// about half the scenarios in the exhaustion region.
pub fn auto_shift(e: &Engine<'_>, model: &Model) -> f64 {
    let target = model.capital_fen() as f64;
    let (mut lo, mut hi) = (-10.0f64, 10.0f64);
    if e.expected_claims_given_factor(lo) < target {
        return lo;
    }
    if e.expected_claims_given_factor(hi) >= target {
        return hi;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if e.expected_claims_given_factor(mid) >= target {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}
