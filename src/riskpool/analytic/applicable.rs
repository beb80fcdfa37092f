//! Where the exact method applies, and where it would be slow.

use super::*;
use crate::riskpool::model::{CopulaLaw, Model};

/// Loans above which `both` is not the default: the analytic engine's cost
/// grows with the book, Monte Carlo's with its defaults.
pub const BOTH_BY_DEFAULT_MAX_LOANS: usize = 10_000;

/// Why the engine would be slow on this model (tens of seconds to
/// minutes), if it applies and would be: the t copula with sector factors
/// nests three integrals (the χ² scale, then z, then each sector's tables
/// at every scale); a sector whose loans differ in ρ (`basel_sme`) has no
/// table and is integrated anew at every node of z. It still computes them
/// when asked (`--method analytic` or `both`).
pub fn slow_reason(model: &Model) -> Option<String> {
    applicability(model).ok()?;
    if model.spec().dependence.sector_rho <= 0.0 {
        return None;
    }
    if matches!(model.copula(), CopulaLaw::T { .. }) {
        return Some("the t copula with sector factors nests three integrals".into());
    }
    let s = shared_rho(model).iter().position(Option::is_none)?;
    Some(format!(
        "the loans of sector {} differ in ρ, so its factor is integrated anew at every node",
        model.sectors()[s]
    ))
}

/// Per sector, the ρ its loans share (those that may default and may not;
/// 0 when there are none), or `None` where they differ: such a sector has
/// no table.
pub(super) fn shared_rho(model: &Model) -> Vec<Option<f64>> {
    let mut first: Vec<Option<f64>> = vec![None; model.sectors().len()];
    let mut differ = vec![false; first.len()];
    for l in model.loans().iter().filter(|l| l.pd > 0.0 && l.pd < 1.0) {
        let s = usize::from(l.sector);
        match first[s] {
            None => first[s] = Some(l.rho),
            Some(r) => differ[s] |= r.to_bits() != l.rho.to_bits(),
        }
    }
    first
        .into_iter()
        .zip(differ)
        .map(|(r, d)| if d { None } else { Some(r.unwrap_or(0.0)) })
        .collect()
}

/// Whether the engine can compute this model, and if not, why.
pub fn applicability(model: &Model) -> Result<(), String> {
    let spec = model.spec();
    if spec.periods > 1 {
        return Err(format!(
            "{} periods: each period's defaults change the next period's book (re-lending, \
             the breaker) and pool (recoveries, top-ups), and the factor path is a \
             {}-dimensional integral; it is a single-period method",
            spec.periods, spec.periods
        ));
    }
    if spec.dependence.sector_rho > 0.0 && model.sectors().len() > MAX_SECTORS {
        return Err(format!(
            "{} sector factors: the nested quadrature integrates at most {MAX_SECTORS}",
            model.sectors().len()
        ));
    }
    if model.loans().is_empty() {
        return Err("the book has no loans".into());
    }
    Ok(())
}
