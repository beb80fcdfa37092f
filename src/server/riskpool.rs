//! `smefin.v1.RiskPoolService`. Simulations run off the async runtime
//! (`spawn_blocking`, each on the rayon pool), at most
//! `riskpool.max_concurrent` at once — more are refused with
//! RESOURCE_EXHAUSTED, never queued — and stop within milliseconds when the
//! client goes away or the call's deadline passes.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::progress::{Worked, watch};
use crate::config::RiskPoolConfig;
use crate::kernel::violation::FieldViolation;
use crate::report::RunInfo;
use crate::riskpool::analytic::{self, Method};
use crate::riskpool::grid::{self, Grid, Solve};
use crate::riskpool::{self, Control, Model};
use crate::server::error::ApiError;
use crate::server::pb;

mod compile;

/// The risk-pool service.
#[derive(Debug, Clone)]
pub struct RiskPoolSvc {
    cfg: RiskPoolConfig,
    permits: Arc<Semaphore>,
    /// Spec parsing and compilation (work proportional to the request) run
    /// on the blocking pool, this many at once; more wait their turn.
    compiling: Arc<Semaphore>,
    /// The runs in flight, so a server that stops can cancel them.
    runs: Runs,
    /// Largest answer the server sends, bytes.
    answer_max: usize,
    /// Simulation workers: their own threads in the idle scheduling class
    /// (SCHED_IDLE, else nice 19), so batch simulations use only CPU time
    /// that interactive calls such as matching leave over. On a machine
    /// saturated by other work, simulations wait for it.
    pool: Arc<rayon::ThreadPool>,
    /// The ledger, for a run from a pool it holds (`from_pool`).
    ledger: Option<super::ledger::LedgerSvc>,
}

/// Lowers the calling thread to the idle scheduling class (SCHED_IDLE on
/// Linux: it runs only on a core no other thread wants, and any waking
/// thread preempts it at once), or to nice 19 where that is refused.
fn lower_priority() {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle).is_ok() {
            return;
        }
    }
    if let Err(e) = set_current_thread_priority(ThreadPriority::Min) {
        tracing::debug!(?e, "could not lower the simulation thread's priority");
    }
}

/// A rayon pool whose threads run at the lowest priority.
fn low_priority_pool(threads: usize) -> Arc<rayon::ThreadPool> {
    // 0: every core but one, so interactive calls (matching, incentives)
    // keep a core of their own; at least one.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = if threads == 0 {
        cores.saturating_sub(1).max(1)
    } else {
        threads
    };
    // With fewer workers than cores, worker k stays on the k-th core from
    // the end: the first core is never a simulation's, and workers do not
    // migrate onto the core an interactive call has just woken on (measured:
    // fewer outlying matching p99s under load than unpinned).
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let pin = n < ids.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("smefin-sim-{i}"))
        .spawn_handler(|t| {
            let core = ids.iter().rev().nth(t.index()).copied().filter(|_| pin);
            std::thread::Builder::new()
                .name(t.name().unwrap_or("smefin-sim").to_string())
                .spawn(move || {
                    if let Some(c) = core {
                        core_affinity::set_for_current(c);
                    }
                    lower_priority();
                    t.run()
                })?;
            Ok(())
        })
        .build()
        .unwrap_or_else(|_| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("a thread pool")
        });
    Arc::new(pool)
}

/// The controls of the runs in flight.
#[derive(Debug, Clone, Default)]
pub struct Runs(Arc<std::sync::Mutex<Vec<std::sync::Weak<Control>>>>);

impl Runs {
    fn track(&self, c: &Arc<Control>) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        v.retain(|w| w.strong_count() > 0);
        v.push(Arc::downgrade(c));
    }

    /// Cancels every run in flight (the server is stopping); returns how
    /// many there were.
    pub fn cancel_all(&self) -> usize {
        let v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for c in v.iter().filter_map(std::sync::Weak::upgrade) {
            c.cancel.store(true, Ordering::Relaxed);
            n += 1;
        }
        n
    }
}

impl RiskPoolSvc {
    /// A service with these limits, whose answers may take up to
    /// `answer_max` bytes.
    pub fn new(cfg: RiskPoolConfig, answer_max: usize) -> Self {
        let permits = Arc::new(Semaphore::new(cfg.max_concurrent.max(1)));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let compiling = Arc::new(Semaphore::new(cores.max(2)));
        let pool = low_priority_pool(cfg.threads);
        RiskPoolSvc {
            cfg,
            permits,
            compiling,
            runs: Runs::default(),
            answer_max,
            pool,
            ledger: None,
        }
    }

    /// The same, running pools the ledger holds (`from_pool`).
    pub fn with_ledger(self, ledger: super::ledger::LedgerSvc) -> Self {
        RiskPoolSvc {
            ledger: Some(ledger),
            ..self
        }
    }

    /// The exact method's options: its default lattice and tolerance, and
    /// the server's limits as its budget.
    fn analytic_options(&self) -> analytic::Options {
        analytic::Options {
            max_bytes: self.cfg.max_run_bytes,
            max_work: self.cfg.max_analytic_work,
            ..analytic::Options::default()
        }
    }

    /// The runs in flight (for the server's shutdown).
    pub fn runs(&self) -> Runs {
        self.runs.clone()
    }

    /// A new run's control, tracked for shutdown.
    fn control(&self) -> Arc<Control> {
        let c = Arc::new(Control::default());
        self.runs.track(&c);
        c
    }

    fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permits.clone().try_acquire_owned().map_err(|_| {
            ApiError::ResourceExhausted(format!(
                "{} simulations are already running (riskpool.max_concurrent); retry later",
                self.cfg.max_concurrent
            ))
        })
    }
}

/// Cancels a run when dropped: a unary handler's future is dropped when its
/// client goes away or its deadline passes.
struct CancelOnDrop(Arc<Control>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel.store(true, Ordering::Relaxed);
    }
}

/// The `grpc-timeout` header as a duration ("100m" = 100 ms). The gRPC
/// spec allows at most 8 digits; a longer or larger value (a hostile
/// "18446744073709551615H") saturates instead of overflowing.
fn grpc_timeout(md: &MetadataMap) -> Option<Duration> {
    let v = md.get("grpc-timeout")?.to_str().ok()?;
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Runs blocking work with a permit, cancelling it when `guard` is dropped.
async fn blocking<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    control: Arc<Control>,
    f: impl FnOnce(&Control) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _guard = CancelOnDrop(control.clone());
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&control)
    })
    .await
    .map_err(|e| ApiError::Stopped {
        deadline: false,
        message: format!("simulation worker failed: {e}"),
    })
}

/// Bytes of a SimulatePool answer, estimated from the model before it runs:
/// a fixed part, then per sector (its risk contribution; in the report its
/// row and bar), per period (the by-period series, the fan; in the report
/// their charts) and per histogram bin, each term rounded up; an upper
/// bound of the encoded answer (checked in the tests at 1 and 300 sectors,
/// with and without the report).
pub fn answer_bytes(model: &Model, report: bool) -> u64 {
    let spec = model.spec();
    let sectors = model.sectors().len() as u64;
    let periods = u64::from(spec.periods);
    let bins = u64::from(spec.output.histogram_bins);
    let mut bytes = 16 * 1024 + sectors * ANSWER_PER_SECTOR + periods * 256 + bins * 24;
    if report {
        bytes += 256 * 1024 + sectors * REPORT_PER_SECTOR + periods * 2048 + bins * 160;
    }
    bytes
}

/// Answer bytes per sector (its risk contribution).
const ANSWER_PER_SECTOR: u64 = 96;
/// Report bytes per sector (its row and bar).
const REPORT_PER_SECTOR: u64 = 1024;

/// INVALID_ARGUMENT on `report` (or the spec) when the answer would not fit
/// in `max` bytes, before anything runs.
fn check_answer_size(model: &Model, report: bool, max: usize) -> Result<(), ApiError> {
    let bytes = answer_bytes(model, report);
    if bytes <= max as u64 {
        return Ok(());
    }
    let (field, fix) = if report && answer_bytes(model, false) <= max as u64 {
        (
            "report",
            "ask without the report, or run `smefin simulate SPEC --report FILE` from the command line",
        )
    } else {
        (
            "spec.portfolio",
            "use fewer sectors or periods, or fewer histogram bins",
        )
    };
    Err(ApiError::InvalidArgument {
        reason: "ANSWER_TOO_LARGE",
        violations: vec![FieldViolation::new(
            field,
            format!(
                "the answer would be about {} KB, over the server's limit of {} KB on one message: {fix}",
                bytes.div_ceil(1024),
                max / 1024
            ),
        )],
    })
}

/// INVALID_ARGUMENT on `method`.
fn bad_method(why: String) -> ApiError {
    ApiError::InvalidArgument {
        reason: "INVALID_SIMULATION_METHOD",
        violations: vec![FieldViolation::new("method", why)],
    }
}

type SimStream = Pin<Box<dyn Stream<Item = Result<pb::SimulatePoolResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::risk_pool_service_server::RiskPoolService for RiskPoolSvc {
    type SimulatePoolStream = SimStream;

    async fn simulate_pool(
        &self,
        request: Request<pb::SimulatePoolRequest>,
    ) -> Result<Response<Self::SimulatePoolStream>, Status> {
        // A deadline too far to represent is no deadline.
        let deadline = grpc_timeout(request.metadata()).and_then(|d| Instant::now().checked_add(d));
        let pb::SimulatePoolRequest {
            spec,
            report,
            method,
            from_pool,
        } = request.into_inner();
        let asked = match pb::SimulationMethod::try_from(method) {
            Ok(pb::SimulationMethod::Unspecified | pb::SimulationMethod::MonteCarlo) => {
                Method::MonteCarlo
            }
            Ok(pb::SimulationMethod::Analytic) => Method::Analytic,
            Ok(pb::SimulationMethod::Both) => Method::Both,
            Err(_) => return Err(bad_method(format!("{method} is not a SimulationMethod")).into()),
        };
        // A slot first: a refusal costs the caller nothing and arrives in
        // milliseconds, and compilation never queues behind busy slots.
        let permit = self.permit()?;
        let (model, notes) = self.model_of(spec, from_pool).await?;
        let opts = self.analytic_options();
        // (pricing the exact method reads every loan: off the runtime)
        let (model, choice) = tokio::task::spawn_blocking(move || {
            let choice = riskpool::run::choose(Some(asked), &model, &opts);
            (model, choice)
        })
        .await
        .map_err(|e| ApiError::Stopped {
            deadline: false,
            message: format!("pricing the run failed: {e}"),
        })?;
        let choice = choice.map_err(|e| bad_method(e.to_string()))?;
        check_answer_size(&model, report, self.answer_max)?;
        let pool = self.pool.clone();
        let total = model.spec().scenarios;
        let control = self.control();
        let (tx, rx) = mpsc::channel::<Result<pb::SimulatePoolResponse, Status>>(8);
        tokio::spawn(async move {
            let c = control.clone();
            let mut job = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let out = pool.install(|| {
                    riskpool::run::simulate(&model, &choice, false, &opts, &c, &mut |_| {})
                })?;
                let html = report.then(|| {
                    let info = RunInfo::of(model.spec(), None, "gRPC SimulatePool".into());
                    crate::report::simulation::simulation_with(
                        out.monte_carlo.as_ref(),
                        out.analytic.as_ref(),
                        out.certificate.as_ref(),
                        model.spec(),
                        &info,
                    )
                });
                let mut result = crate::server::convert::riskpool::simulation_result(out, &model);
                result.notes = notes;
                Ok::<_, riskpool::run::RunError>((result, html))
            });
            let (result, timed_out) = watch(&mut job, &control, deadline, &tx, total).await;
            let msg = answer(result, timed_out);
            if msg.is_err() && tx.is_closed() {
                super::listen::abandoned("SimulatePool", &"client went away; simulation stopped");
            }
            let _ = tx.send(msg).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn run_stress_grid(
        &self,
        request: Request<pb::RunStressGridRequest>,
    ) -> Result<Response<pb::RunStressGridResponse>, Status> {
        let pb::RunStressGridRequest {
            spec,
            pd_multipliers,
            rhos,
            shares,
            report,
            report_target,
        } = request.into_inner();
        let report_target = match report_target {
            0.0 => None,
            t => Some(
                grid::check_target(t).map_err(|why| ApiError::InvalidArgument {
                    reason: "INVALID_STRESS_REQUEST",
                    violations: vec![FieldViolation::new("report_target", why)],
                })?,
            ),
        };
        let g = Grid {
            pd_multipliers,
            rhos,
            shares,
        };
        // Refused before the spec is compiled or a simulation slot is
        // taken (grid::run checks too).
        g.check_size().map_err(ApiError::from)?;
        let cells = u64::try_from(g.cell_count()).unwrap_or(u64::MAX);
        let permit = self.permit()?;
        let (spec, _) = self.compile(spec, cells).await?;
        let limits = self.cfg.limits();
        let pool = self.pool.clone();
        let control = self.control();
        let r = blocking(permit, control, move |c| {
            let g = pool.install(|| grid::run(&spec, None, &g, &limits, 0, c))?;
            let html = report.then(|| {
                let info = RunInfo::of(&spec, None, "gRPC RunStressGrid".into());
                crate::report::grid::stress(&g, report_target, &info)
            });
            Ok::<_, grid::GridError>((g, html))
        })
        .await?;
        r.map(|(g, html)| {
            let mut out: pb::RunStressGridResponse = g.into();
            out.report_html = html.unwrap_or_default();
            Response::new(out)
        })
        .map_err(|e| ApiError::from(e).into())
    }

    async fn solve_leverage(
        &self,
        request: Request<pb::SolveLeverageRequest>,
    ) -> Result<Response<pb::SolveLeverageResponse>, Status> {
        let pb::SolveLeverageRequest {
            spec,
            target,
            solve,
            report,
        } = request.into_inner();
        let mut errs = Vec::new();
        if let Err(why) = grid::check_target(target) {
            errs.push(FieldViolation::new("target", why));
        }
        let what = match pb::LeverageTarget::try_from(solve) {
            Ok(pb::LeverageTarget::Scale) => Some(Solve::Scale),
            Ok(pb::LeverageTarget::Capital) => Some(Solve::Capital),
            _ => {
                errs.push(FieldViolation::new(
                    "solve",
                    "must be LEVERAGE_TARGET_SCALE or LEVERAGE_TARGET_CAPITAL",
                ));
                None
            }
        };
        if !errs.is_empty() {
            return Err(ApiError::InvalidArgument {
                reason: "INVALID_LEVERAGE_REQUEST",
                violations: errs,
            }
            .into());
        }
        let permit = self.permit()?;
        let (_, model) = self.compile(spec, grid::MAX_SOLVER_RUNS).await?;
        let pool = self.pool.clone();
        let control = self.control();
        let what = what.unwrap_or(Solve::Scale);
        let r = blocking(permit, control, move |c| {
            let r = pool.install(|| grid::solve_leverage(&model, what, target, 0, c))?;
            let html = report.then(|| {
                let info = RunInfo::of(model.spec(), None, "gRPC SolveLeverage".into());
                crate::report::grid::leverage(&r, model.spec(), &info)
            });
            Ok::<_, riskpool::Cancelled>((r, html))
        })
        .await?;
        r.map(|(r, html)| {
            let mut out: pb::SolveLeverageResponse = r.into();
            out.report_html = html.unwrap_or_default();
            Response::new(out)
        })
        .map_err(|_| ApiError::stopped(false).into())
    }

    async fn list_scenario_presets(
        &self,
        _request: Request<pb::ListScenarioPresetsRequest>,
    ) -> Result<Response<pb::ListScenarioPresetsResponse>, Status> {
        Ok(Response::new(pb::ListScenarioPresetsResponse {
            presets: riskpool::scenarios::presets()
                .into_iter()
                .map(Into::into)
                .collect(),
        }))
    }
}

/// The last message of a SimulatePool stream.
fn answer(
    result: Result<Worked, tokio::task::JoinError>,
    timed_out: bool,
) -> Result<pb::SimulatePoolResponse, Status> {
    match result {
        Ok(Ok((mut result, html))) => {
            result.report_html = html.unwrap_or_default();
            Ok(pb::SimulatePoolResponse {
                event: Some(pb::simulate_pool_response::Event::Result(result)),
            })
        }
        Ok(Err(riskpool::run::RunError::Analytic(e))) => {
            Err(Status::from(bad_method(e.to_string())))
        }
        Ok(Err(riskpool::run::RunError::Cancelled)) => {
            Err(Status::from(ApiError::stopped(timed_out)))
        }
        Err(e) => Err(Status::internal(format!("simulation worker failed: {e}"))),
    }
}
