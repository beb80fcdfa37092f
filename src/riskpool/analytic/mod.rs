//! The semi-analytic engine: a single period's loss and claim distributions
//! without sampling.
//!
//! Conditional on the factors the loans default independently, so the
//! period's loss is a sum of independent terms whose distribution is a
//! convolution (`conv`) on an integer lattice of amounts (`lattice`);
//! the factors are then integrated out by adaptive Gauss–Kronrod quadrature
//! over z with its normal weight, the infinite end pieces in u = Φ(z)
//! (`quadrature`), so that tails of 10⁻⁹ are resolved:
//!
//! - the global factor z: one integral;
//! - sector factors (up to [`MAX_SECTORS`]): given z the sectors are
//!   independent, so each sector's distribution is its own inner integral
//!   over its factor, and the sectors are convolved; a sector whose classes
//!   share one ρ takes that integral from a table computed once (`table`),
//!   any other anew at every node;
//! - the t copula: an outer integral over the χ²(ν) mixing variable, whose
//!   scale w = √(χ²/ν) multiplies every default threshold (as the Monte
//!   Carlo engine draws it);
//! - a Beta LGD: each loan's loss given default is discretised on the
//!   lattice.
//!
//! Errors are bounded, not guessed: a lattice whose unit divides every
//! amount is exact; otherwise the amounts are also rounded down and up, and
//! the floor and ceiling results bracket the truth. The quadrature's error
//! estimate widens every probability bound and the quantiles' levels.
//!
//! Where it does not apply it says why ([`applicability`]): several periods
//! (each period's defaults change the next period's book and pool, and the
//! factor path is a many-dimensional integral), or more sector factors than
//! the nested quadrature handles.

mod analyze;
mod applicable;
mod certificate;
mod conv;
mod cost;
mod figures;
mod lattice;
mod quadrature;
mod setup;
mod summary;
mod table;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

pub use self::analyze::analyze;
use self::applicable::shared_rho;
pub use self::applicable::{BOTH_BY_DEFAULT_MAX_LOANS, applicability, slow_reason};
pub use self::certificate::{Certificate, CertificateLine, FLAG_Z, certify};
pub use self::cost::Cost;
use self::figures::{Dist, Transform, bounded_money};
use self::lattice::{Amount, Grid};
use self::setup::{
    LawKey, Quantity, Setup, amounts, evaluations, law_key_of, range_guess, twin_unit, twins,
};
pub use self::summary::{
    AnalyticError, AnalyticMoney, AnalyticQuantile, AnalyticSummary, Bounded, LatticeInfo, Method,
    QuadratureInfo,
};
use super::control::Control;
use super::model::{CopulaLaw, Model};
use super::oracle::phi_inv;

/// Most sector factors the nested quadrature integrates.
pub const MAX_SECTORS: usize = 3;

/// Quantile levels reported (as for Monte Carlo).
const LEVELS: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

/// How the engine is run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// Most lattice points per distribution (more: a finer lattice and a
    /// tighter bracket, at proportional cost).
    pub lattice_points: usize,
    /// Tolerance of the quadrature: the largest error in any tail
    /// probability it aims at.
    pub tolerance: f64,
    /// Most bytes the run may hold (`riskpool.max_run_bytes`): its set-up
    /// is sized before it allocates, its tables as they grow.
    pub max_bytes: u64,
    /// Most work the run may take, in multiply-adds
    /// (`riskpool.max_analytic_work`): estimated before it starts, charged
    /// as it runs.
    pub max_work: u64,
}

pub use super::spec::DEFAULT_MAX_ANALYTIC_WORK as DEFAULT_MAX_WORK;

/// The exact method's work, in the cost model's multiply-adds, up to which
/// it is run by default beside Monte Carlo (a few seconds at most).
pub const DEFAULT_METHOD_WORK: f64 = 1.5e11;

/// The exact method's memory, bytes, up to which it is run by default.
pub const DEFAULT_METHOD_BYTES: u64 = 256 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            lattice_points: 4096,
            tolerance: 1e-7,
            max_bytes: super::spec::Limits::default().max_run_bytes,
            max_work: DEFAULT_MAX_WORK,
        }
    }
}

/// What a run knows before its lattice.
struct Prelude<'e> {
    setup: Setup<'e>,
    class_of: Vec<usize>,
    loss_amounts: Vec<Amount>,
    claim_amounts: Vec<Amount>,
    student: Option<(f64, ChiSquared)>,
    capital: f64,
    top_level: f64,
    loss_range: f64,
    claim_range: f64,
}

fn prelude<'e>(model: &'e Model, opts: &Options) -> Prelude<'e> {
    let plan = model.plan();
    let spec = model.spec();
    let classes = plan.classes();
    let mut class_of = vec![0usize; model.loans().len()];
    for (c, cv) in classes.iter().enumerate() {
        for &l in &cv.loans {
            class_of[l as usize] = c;
        }
    }
    let s_load = plan.sector_loading();
    let sectors = if s_load > 0.0 {
        model.sectors().len()
    } else {
        0
    };
    let (loss_amounts, claim_amounts) = amounts(plan, model);
    let student = match model.copula() {
        CopulaLaw::Gaussian => None,
        CopulaLaw::T { nu, .. } => ChiSquared::new(*nu).ok().map(|c| (*nu, c)),
    };
    let capital = model.capital_fen() as f64;
    // (the scale at which the thresholds are least negative, for the range)
    let w_bad = student.map_or(1.0, |(nu, c)| (c.inverse_cdf(1e-4) / nu).sqrt());
    let setup = Setup {
        classes,
        loss: Quantity::empty(),
        claims: Quantity::empty(),
        twins: Vec::new(),
        s_load,
        sectors,
        shared_rho: shared_rho(model),
        work_of: Vec::new(),
        node_work: 0.0,
        meter: cost::Meter::new(opts.max_work, opts.max_bytes),
        student: student.is_some(),
    };
    let top_level = LEVELS[LEVELS.len() - 1].max(spec.output.tail_level);
    let loss_range = range_guess(&setup, &loss_amounts, &class_of, w_bad, top_level);
    let claim_range =
        range_guess(&setup, &claim_amounts, &class_of, w_bad, top_level).max(1.1 * capital);
    Prelude {
        setup,
        class_of,
        loss_amounts,
        claim_amounts,
        student,
        capital,
        top_level,
        loss_range,
        claim_range,
    }
}

/// The lattices and groups planned for one pair of ranges, and their cost.
struct RunPlan {
    loss_lattice: Grid,
    claim_lattice: Grid,
    loss_plans: Vec<cost::ChannelPlan>,
    claim_plans: Vec<cost::ChannelPlan>,
    work_of: Vec<f64>,
    node_work: f64,
    cost: Cost,
}

/// Evaluations of the first partition of the global factor's integral.
const FIRST_OUTER: f64 = ((quadrature::BREAKS.len() - 1) * quadrature::NODES) as f64;
/// … of the χ² scale's.
const FIRST_MIXING: f64 = ((quadrature::UNIFORM_BREAKS.len() - 1) * quadrature::NODES) as f64;
/// The adaptive refinement's evaluations over the first partitions' (420
/// nodes for 252 on the built-in book; refusals count only the first).
const REFINEMENT: f64 = 1.7;

/// Plans a run on the ranges `(loss, claims)` and prices it (see
/// [`cost`]): nothing of the lattice is allocated but the plan.
fn plan_run(
    setup: &Setup<'_>,
    class_of: &[usize],
    (loss, claims): (&[Amount], &[Amount]),
    (loss_range, claim_range): (f64, f64),
    model: &Model,
    opts: &Options,
    control: &Control,
) -> Result<RunPlan, AnalyticError> {
    let loss_lattice = Quantity::lattice(loss, loss_range, opts.lattice_points);
    let mut claim_lattice = Quantity::lattice(claims, claim_range, opts.lattice_points);
    if let Some(unit) = twin_unit(loss, claims, loss_lattice, claim_lattice) {
        claim_lattice.unit = unit;
    }
    let sector_of: Vec<usize> = setup
        .classes
        .iter()
        .map(|c| if setup.sectors > 0 { c.sector } else { 0 })
        .collect();
    // Convolution powers get at most half the memory.
    let mut power_floats = (opts.max_bytes / 16) as usize;
    let loss_plans = cost::plan(
        loss,
        class_of,
        &sector_of,
        loss_lattice,
        &mut power_floats,
        control,
    )?;
    let claim_plans = cost::plan(
        claims,
        class_of,
        &sector_of,
        claim_lattice,
        &mut power_floats,
        control,
    )?;
    let channels: Vec<(&cost::ChannelPlan, usize)> = loss_plans
        .iter()
        .map(|p| (p, loss_lattice.points))
        .chain(claim_plans.iter().map(|p| (p, claim_lattice.points)))
        .collect();
    let distinct = distinct_channels(&channels);
    let work_of: Vec<f64> = (0..setup.sectors.max(1))
        .map(|s| cost::sector_work(&distinct, s))
        .collect();
    let row: usize = distinct.iter().map(|&(_, n)| n).sum();
    let points = loss_lattice.points.max(claim_lattice.points);
    let (node_work, first_pass_work) =
        first_pass(setup, opts, distinct.len(), &work_of, row, points);
    let (loss_bytes, loss_setup) = cost::setup_of(&loss_plans, loss_lattice.points);
    let (claim_bytes, claim_setup) = cost::setup_of(&claim_plans, claim_lattice.points);
    // In flight: a piece's 21 node values and its neighbour's (and the χ²
    // piece's around them), each thread's sectors and scratch; per loan
    // its amounts and class.
    let threads = rayon::current_num_threads() as u64;
    let levels = if setup.student { 2 } else { 1 };
    let in_flight = (2 * quadrature::NODES as u64 * levels + 4 * threads) * 8 * row as u64;
    let per_loan = 2 * std::mem::size_of::<Amount>() + 16;
    let setup_work = loss_setup + claim_setup;
    let cost = Cost {
        bytes: loss_bytes + claim_bytes + in_flight + (model.loans().len() * per_loan) as u64,
        setup_work,
        first_pass_work,
        expected_work: setup_work + REFINEMENT * first_pass_work,
        groups: channels.iter().map(|(p, _)| p.groups.len() as u64).sum(),
        points: points as u64,
    };
    Ok(RunPlan {
        loss_lattice,
        claim_lattice,
        loss_plans,
        claim_plans,
        work_of,
        node_work,
        cost,
    })
}

/// The channels whose distributions differ (same lattice and same groups
/// compute the same distribution once).
fn distinct_channels<'p>(
    channels: &[(&'p cost::ChannelPlan, usize)],
) -> Vec<(&'p cost::ChannelPlan, usize)> {
    let mut distinct: Vec<(&cost::ChannelPlan, usize)> = Vec::new();
    for &(p, n) in channels {
        if !distinct
            .iter()
            .any(|&(q, m)| m == n && cost::same_groups(p, q))
        {
            distinct.push((p, n));
        }
    }
    distinct
}

/// The work of the first pass over the factor: per outer node, the work
/// besides its distributions, and the whole first pass (`row`: the points
/// of all distinct channels; `points`: the longer lattice).
fn first_pass(
    setup: &Setup<'_>,
    opts: &Options,
    distinct: usize,
    work_of: &[f64],
    row: usize,
    points: usize,
) -> (f64, f64) {
    let sectors = setup.sectors;
    // One outer node besides its distributions: each tabled sector's sum
    // of its table (its first pieces' nodes × the channels), the sectors'
    // convolutions; one sector without a table integrates a table of its
    // own (about 13 pieces) at every node.
    let tol = opts.tolerance * if setup.student { 0.5 } else { 1.0 };
    let sector_tol = tol * 0.5 / sectors.max(1) as f64;
    let reach = -phi_inv(sector_tol / 64.0).min(-1.0);
    let own_pieces = (2.0 * reach).ceil() + 1.0;
    let (mut node_work, mut per_node, mut tables) = (0.0, 0.0, 0.0);
    if sectors == 0 {
        per_node = work_of[0];
    } else {
        node_work += (sectors - 1) as f64 * distinct as f64 * cost::convolution_work(points);
        for (&w, rho) in work_of.iter().zip(&setup.shared_rho).take(sectors) {
            node_work += own_pieces * quadrature::NODES as f64 * row as f64;
            match *rho {
                None => per_node += own_pieces * quadrature::NODES as f64 * w,
                Some(rho) => {
                    let (first, sd) = (rho.sqrt(), setup.s_load);
                    let h = 2f64.powi(sd.log2().floor() as i32);
                    let width = 2.0 * quadrature::BREAKS[quadrature::BREAKS.len() - 2] * first
                        + 2.0 * reach * sd;
                    tables += ((width / h).ceil() + 2.0) * quadrature::NODES as f64 * w;
                }
            }
        }
    }
    let scales = if setup.student { FIRST_MIXING } else { 1.0 };
    let first_pass_work = scales * (FIRST_OUTER * (per_node + node_work) + tables);
    (node_work, first_pass_work)
}

/// What the exact method would hold and do on this model, estimated in
/// milliseconds, before anything of its lattice is allocated (see
/// [`Cost`]). A run checks the same estimate, and then charges what it
/// computes against `opts`' budget.
pub fn cost(model: &Model, opts: &Options) -> Result<Cost, AnalyticError> {
    check_options(model, opts)?;
    let p = prelude(model, opts);
    plan_run(
        &p.setup,
        &p.class_of,
        (&p.loss_amounts, &p.claim_amounts),
        (p.loss_range, p.claim_range),
        model,
        opts,
        &Control::default(),
    )
    .map(|r| r.cost)
}

fn check_options(model: &Model, opts: &Options) -> Result<(), AnalyticError> {
    applicability(model).map_err(AnalyticError::NotApplicable)?;
    if opts.lattice_points < 16 || !(opts.tolerance > 0.0 && opts.tolerance < 1e-2) {
        return Err(AnalyticError::NotApplicable(
            "lattice_points must be ≥ 16 and tolerance in (0, 0.01)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
