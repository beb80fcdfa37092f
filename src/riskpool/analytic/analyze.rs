//! The exact method's run: price the plan, build each outcome's groups,
//! integrate the factors out, and read the figures, widening a range whose
//! top quantile falls beyond it and starting again.

use std::sync::Mutex;

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::conv::Pmf;
use super::cost::Meter;
use super::lattice::{Amount, Rounded};
use super::quadrature::{self, Integrand, Tally, Var};
use super::{
    AnalyticError, AnalyticSummary, Bounded, Dist, LatticeInfo, Options, Prelude, QuadratureInfo,
    Quantity, RunPlan, Setup, Transform, bounded_money, check_options, evaluations, plan_run,
    prelude, twins,
};
use crate::kernel::money::Yuan;
use crate::riskpool::control::{Cancelled, Control};
use crate::riskpool::model::Model;
use crate::riskpool::spec::Spec;

/// Computes the analytic figures of a single-period model.
pub fn analyze(
    model: &Model,
    opts: &Options,
    control: &Control,
) -> Result<AnalyticSummary, AnalyticError> {
    check_options(model, opts)?;
    let Prelude {
        mut setup,
        class_of,
        loss_amounts,
        claim_amounts,
        student,
        capital,
        top_level,
        mut loss_range,
        mut claim_range,
    } = prelude(model, opts);
    loop {
        let plan = plan_run(
            &setup,
            &class_of,
            (&loss_amounts, &claim_amounts),
            (loss_range, claim_range),
            model,
            opts,
            control,
        )?;
        if let Some(why) = plan.cost.over(opts.max_bytes, opts.max_work) {
            return Err(AnalyticError::TooCostly(why));
        }
        build(
            &mut setup,
            plan,
            &class_of,
            (&loss_amounts, &claim_amounts),
            control,
        )?;
        let (dists, outer, inner) = integrate_factors(&setup, student, opts.tolerance, control)
            .map_err(|e| stopped(e, &setup.meter))?;
        let err = outer.error + inner.error;
        // (each set of twins was integrated once)
        let dists = setup.expand(&dists);
        let ds = dists_of(&setup, &dists);
        let (loss_d, claim_d) = ds.split_at(setup.loss.groups.len());
        let level = (top_level + err).min(1.0 - 1e-15);
        let (short_loss, short_claims) = (
            short(loss_d, &setup.loss, level),
            short(claim_d, &setup.claims, level),
        );
        if short_loss || short_claims {
            // (widen a range whose highest quantile falls beyond it)
            if short_loss {
                loss_range *= 2.0;
            }
            if short_claims {
                claim_range *= 2.0;
            }
            continue;
        }
        let read = Read {
            setup: &setup,
            class_of: &class_of,
            capital,
            err,
        };
        return Ok(read.summary(
            model.spec(),
            (loss_d, claim_d),
            (&loss_amounts, &claim_amounts),
            QuadratureInfo {
                nodes: outer.nodes + inner.nodes,
                error_estimate: err,
                tolerance: opts.tolerance,
            },
        ));
    }
}

/// Each channel's distribution with its lattice unit and mean.
fn dists_of<'d>(setup: &Setup<'_>, dists: &'d [Pmf]) -> Vec<Dist<'d>> {
    (setup.channels().iter())
        .zip(dists)
        .map(|((q, r), d)| Dist {
            pmf: &d.p,
            unit: q.unit as f64,
            mean_units: q.mean_units[*r],
        })
        .collect()
}

/// Whether the quantile at `level` of any channel falls beyond the range
/// of `q`'s lattice while the outcome can reach past it.
fn short(d: &[Dist<'_>], q: &Quantity, level: f64) -> bool {
    q.points as f64 * (q.unit as f64) < q.max_total && d.iter().any(|d| d.quantile(level).is_none())
}

/// A stop of the meter says why; a cancel stays a cancel.
fn stopped(e: Cancelled, meter: &Meter) -> AnalyticError {
    match meter.reason() {
        Some(why) => AnalyticError::TooCostly(why),
        None => AnalyticError::from(e),
    }
}

/// Builds this range's groups of both outcomes, per `plan`, charging the
/// meter for the set-up.
fn build(
    setup: &mut Setup<'_>,
    plan: RunPlan,
    class_of: &[usize],
    (loss_amounts, claim_amounts): (&[Amount], &[Amount]),
    control: &Control,
) -> Result<(), AnalyticError> {
    // (the last range's groups go before the next are built)
    setup.loss = Quantity::empty();
    setup.claims = Quantity::empty();
    setup.work_of = plan.work_of.clone();
    setup.node_work = plan.node_work;
    setup
        .meter
        .charge(plan.cost.setup_work, 0)
        .map_err(|e| stopped(e, &setup.meter))?;
    let sectors = setup.sectors;
    setup.loss = Quantity::build(
        loss_amounts,
        class_of,
        setup.classes,
        sectors,
        plan.loss_lattice,
        &plan.loss_plans,
        control,
    )?;
    setup.claims = Quantity::build(
        claim_amounts,
        class_of,
        setup.classes,
        sectors,
        plan.claim_lattice,
        &plan.claim_plans,
        control,
    )?;
    drop(plan);
    setup.twins = twins(&setup.channels());
    Ok(())
}

/// Integrates the factors out of every channel's conditional
/// distribution: the distributions, the outer integral's tally and the
/// inner integrals' (their worst error, all their nodes).
///
/// The tolerance is shared out so that the errors add up to it: the χ²
/// integral (t copula) takes half; of what is left, the sector integrals at
/// each node take half, split between the sectors, and the global factor's
/// integral the rest. An inner integral's error, at its worst node, bounds
/// its effect on the integral around it.
fn integrate_factors(
    setup: &Setup<'_>,
    student: Option<(f64, ChiSquared)>,
    tol: f64,
    control: &Control,
) -> Result<(Vec<Pmf>, Tally, Tally), Cancelled> {
    let sectors = setup.sectors;
    let tally = Mutex::new(Tally::default());
    let mut outer = Tally::default();
    let sector_share = if sectors > 0 { 0.5 } else { 0.0 };
    let per_sector = |budget: f64| budget * sector_share / sectors.max(1) as f64;
    let dists = match student {
        None => {
            let tables = setup.tables(1.0, per_sector(tol), control)?;
            let f = |z: f64| setup.given(1.0, z, per_sector(tol), &tally, control, &tables);
            let r = quadrature::integrate(
                &f as &Integrand<'_>,
                Var::Normal,
                &quadrature::BREAKS,
                tol * (1.0 - sector_share),
                quadrature::OUTER_PIECES,
                &mut outer,
            )?;
            outer.nodes += evaluations(&tables);
            r
        }
        Some((nu, chi2)) => {
            let rest = tol / 2.0;
            let f = |v: f64| -> Result<Vec<Pmf>, Cancelled> {
                let w = (chi2.inverse_cdf(v) / nu).sqrt();
                let tables = setup.tables(w, per_sector(rest), control)?;
                let here = Mutex::new(Tally::default());
                let g = |z: f64| setup.given(w, z, per_sector(rest), &here, control, &tables);
                let mut t = Tally::default();
                let r = quadrature::integrate(
                    &g as &Integrand<'_>,
                    Var::Normal,
                    &quadrature::BREAKS,
                    rest * (1.0 - sector_share),
                    quadrature::OUTER_PIECES,
                    &mut t,
                )?;
                let here = here.into_inner().unwrap_or_else(|e| e.into_inner());
                let mut all = tally.lock().unwrap_or_else(|e| e.into_inner());
                all.nodes += t.nodes + here.nodes + evaluations(&tables);
                all.error = all.error.max(t.error + here.error);
                Ok(r)
            };
            quadrature::integrate(
                &f as &Integrand<'_>,
                Var::Uniform,
                &quadrature::UNIFORM_BREAKS,
                tol / 2.0,
                quadrature::MIXING_PIECES,
                &mut outer,
            )?
        }
    };
    let inner = tally.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok((dists, outer, inner))
}

/// What the figures are read with: the set-up, each loan's class, the
/// capital (fen) and the integrals' error.
struct Read<'a, 'e> {
    setup: &'a Setup<'e>,
    class_of: &'a [usize],
    capital: f64,
    err: f64,
}

impl Read<'_, '_> {
    /// The figures of the run off the loss and claim distributions (each
    /// by rounding channel).
    fn summary(
        &self,
        spec: &Spec,
        (loss_d, claim_d): (&[Dist<'_>], &[Dist<'_>]),
        (loss_amounts, claim_amounts): (&[Amount], &[Amount]),
        quadrature: QuadratureInfo,
    ) -> AnalyticSummary {
        let (setup, err, capital) = (self.setup, self.err, self.capital);
        let alpha = spec.output.tail_level;
        let exact_mean = |amounts: &[Amount]| -> f64 {
            amounts
                .iter()
                .zip(self.class_of)
                .map(|(a, &c)| setup.classes[c].pd * a.mean())
                .sum()
        };
        let (top_l, top_c) = (setup.loss.max_total, setup.claims.max_total);
        let k0 = ((capital / setup.claims.unit as f64).ceil() as usize).max(1);
        let exhaust: Vec<f64> = claim_d.iter().map(|d| d.tail(k0)).collect();
        let Rounded {
            near: &pe,
            floor: &pl,
            ceil: &ph,
        } = Rounded::of(&exhaust);
        let money = |d: &[Dist<'_>], g: &Transform, top: f64, mean: Option<f64>| {
            bounded_money(d, g, alpha, err, top, mean)
        };
        AnalyticSummary {
            method: "analytic: conditional convolution on an amount lattice, adaptive Gauss–Kronrod over the factors".into(),
            exhaustion_probability: Bounded {
                estimate: pe,
                low: (pl.min(pe) - err).max(0.0),
                high: (ph.max(pe) + err).min(1.0),
            },
            mean_defaults: (setup.classes.iter())
                .map(|c| c.pd * c.loans.len() as f64)
                .sum(),
            loss: money(loss_d, &Transform::identity(), top_l, Some(exact_mean(loss_amounts))),
            claims: money(claim_d, &Transform::identity(), top_c, Some(exact_mean(claim_amounts))),
            compensation: money(claim_d, &Transform::capped(capital), top_c, None),
            unfunded_claims: money(claim_d, &Transform::excess(capital), top_c, None),
            tail_level: alpha,
            lattice: LatticeInfo {
                loss_unit: Yuan::from_fen(setup.loss.unit),
                loss_points: setup.loss.points as u64,
                claim_unit: Yuan::from_fen(setup.claims.unit),
                claim_points: setup.claims.points as u64,
                exact: setup.loss.exact && setup.claims.exact,
            },
            quadrature,
            notes: self.notes(spec, loss_amounts),
        }
    }

    /// What the figures do not say, or say with a reservation.
    fn notes(&self, spec: &Spec, loss_amounts: &[Amount]) -> Vec<String> {
        let mut notes = Vec::new();
        if spec.pool.top_up.is_some() || spec.pool.breaker.is_some() {
            notes.push(
                "top-ups and the breaker act at the period's end, after its claims: no figure here depends on them"
                    .into(),
            );
        }
        // Loans below half a unit are put at 0 by the nearest rounding: say
        // how much of the book that is.
        let unit = self.setup.loss.unit as f64;
        let (small, total) = loss_amounts.iter().fold((0.0, 0.0), |(s, t), a| {
            let m = a.max();
            (if m < 0.5 * unit { s + m } else { s }, t + m)
        });
        if total > 0.0 && small > 0.01 * total {
            notes.push(format!(
                "{:.0}% of the loss amounts are below half the lattice unit and count as 0 in the estimate (the bounds still hold): raise lattice_points",
                100.0 * small / total
            ));
        }
        if spec.importance_sampling.is_some() {
            notes.push("importance sampling concerns Monte Carlo only".into());
        }
        notes
    }
}
