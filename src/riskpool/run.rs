//! The use case "simulate this pool", written once for the command line
//! and the gRPC service: choose the method (the one asked for, priced by
//! the exact method's cost model, or the default), run Monte Carlo and/or
//! the exact engine, certify the one against the other.

use super::analytic::{self, AnalyticError, AnalyticSummary, Certificate, Method, Options};
use super::control::{Cancelled, Control};
use super::model::Model;
use super::raw::Raw;
use super::stats::{self, Summary};

/// The method a run takes, and why the default passed over the exact
/// method, when it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The method.
    pub method: Method,
    /// Why Monte Carlo runs alone where the exact method was not asked
    /// for but might have run.
    pub note: Option<String>,
}

/// The method of a run: the one asked for, if the model admits it and its
/// cost is within `opts`' budget (else why not); when none is asked, both
/// for a single-period book the exact method computes in about a second
/// (its cost model under [`analytic::DEFAULT_METHOD_WORK`] and
/// [`analytic::DEFAULT_METHOD_BYTES`], at most
/// [`analytic::BOTH_BY_DEFAULT_MAX_LOANS`] loans, and not a slow kind of
/// book, see [`analytic::slow_reason`]), else Monte Carlo, saying why.
pub fn choose(
    asked: Option<Method>,
    model: &Model,
    opts: &Options,
) -> Result<Choice, AnalyticError> {
    let chosen = |method, note| Ok(Choice { method, note });
    match asked {
        Some(Method::MonteCarlo) => chosen(Method::MonteCarlo, None),
        Some(m) => {
            analytic::applicability(model).map_err(AnalyticError::NotApplicable)?;
            let cost = analytic::cost(model, opts)?;
            match cost.over(opts.max_bytes, opts.max_work) {
                Some(why) => Err(AnalyticError::TooCostly(why)),
                None => chosen(m, None),
            }
        }
        None => {
            if analytic::applicability(model).is_err() {
                return chosen(Method::MonteCarlo, None);
            }
            if let Some(why) = analytic::slow_reason(model) {
                return chosen(
                    Method::MonteCarlo,
                    Some(format!(
                        "Monte Carlo only: the exact method would be slow here ({why}); ask for it to run it anyway"
                    )),
                );
            }
            let loans = model.loans().len();
            if loans > analytic::BOTH_BY_DEFAULT_MAX_LOANS {
                return chosen(
                    Method::MonteCarlo,
                    Some(format!(
                        "Monte Carlo only: {loans} loans, more than the {} up to which the exact method runs by default (the lattice's unit outgrows the loans); ask for it to run it anyway",
                        analytic::BOTH_BY_DEFAULT_MAX_LOANS
                    )),
                );
            }
            let cost = analytic::cost(model, opts)?;
            let (bytes, work) = (
                analytic::DEFAULT_METHOD_BYTES.min(opts.max_bytes),
                analytic::DEFAULT_METHOD_WORK.min(opts.max_work as f64),
            );
            if cost.bytes > bytes || cost.expected_work > work {
                return chosen(
                    Method::MonteCarlo,
                    Some(format!(
                        "Monte Carlo only: the exact method would take about {:.1e} multiply-adds and {} MB here ({} loan groups on {} lattice points), more than it is run for by default ({work:.0e} and {} MB); ask for it to run it anyway",
                        cost.expected_work,
                        cost.bytes.div_ceil(1 << 20),
                        cost.groups,
                        cost.points,
                        bytes >> 20
                    )),
                );
            }
            chosen(Method::Both, None)
        }
    }
}

/// A stage of a run, as it ends (for a caller that times them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The Monte Carlo engine's scenarios are done.
    Engine,
    /// Their summary is done.
    Summary,
    /// The exact method is done.
    Analytic,
}

/// What a run computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The method it took (Monte Carlo where the default's exact method
    /// ran over its budget).
    pub method: Method,
    /// The Monte Carlo summary, unless the exact method ran alone.
    pub monte_carlo: Option<Summary>,
    /// The exact method's figures, unless Monte Carlo ran alone.
    pub analytic: Option<AnalyticSummary>,
    /// The two against each other, when both ran.
    pub certificate: Option<Certificate>,
    /// What the caller should be told (the default's choice, or its exact
    /// method stopped by its budget).
    pub notes: Vec<String>,
}

/// Why a run produced nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    /// It was cancelled (its client went away, its deadline passed).
    #[error("simulation cancelled")]
    Cancelled,
    /// The exact method, asked for, cannot run or ran over its budget.
    #[error(transparent)]
    Analytic(AnalyticError),
}

impl From<Cancelled> for RunError {
    fn from(_: Cancelled) -> Self {
        RunError::Cancelled
    }
}

/// Runs `model` by `choice` (from [`choose`]; `defaulted` when the method
/// was not asked for, so that an exact method over its budget falls back
/// to Monte Carlo alone instead of failing), calling `stage` as each stage
/// ends.
pub fn simulate(
    model: &Model,
    choice: &Choice,
    defaulted: bool,
    opts: &Options,
    control: &Control,
    stage: &mut dyn FnMut(Stage),
) -> Result<Outcome, RunError> {
    let mut notes: Vec<String> = choice.note.iter().cloned().collect();
    let mut method = choice.method;
    let monte_carlo = if method == Method::Analytic {
        None
    } else {
        let engine = super::engine::engine_for(model);
        let raw = engine.run(0..model.spec().scenarios, 0, control)?;
        stage(Stage::Engine);
        let s = stats::summarize(&engine, model, &raw, control)?;
        stage(Stage::Summary);
        Some(s)
    };
    let analytic = if method == Method::MonteCarlo {
        None
    } else {
        match analytic::analyze(model, opts, control) {
            Ok(a) => {
                stage(Stage::Analytic);
                Some(a)
            }
            Err(AnalyticError::Cancelled) => return Err(RunError::Cancelled),
            Err(AnalyticError::TooCostly(why)) if defaulted && monte_carlo.is_some() => {
                notes.push(format!("Monte Carlo only: {why}"));
                method = Method::MonteCarlo;
                None
            }
            Err(e) => return Err(RunError::Analytic(e)),
        }
    };
    let certificate = monte_carlo
        .as_ref()
        .zip(analytic.as_ref())
        .map(|(s, a)| analytic::certify(s, a));
    Ok(Outcome {
        method,
        monte_carlo,
        analytic,
        certificate,
        notes,
    })
}

/// Runs every scenario of the model and summarises.
pub fn monte_carlo(
    model: &Model,
    threads: usize,
    control: &Control,
) -> Result<(Raw, Summary), Cancelled> {
    let engine = super::engine::engine_for(model);
    let raw = engine.run(0..model.spec().scenarios, threads, control)?;
    let summary = stats::summarize(&engine, model, &raw, control)?;
    Ok((raw, summary))
}
