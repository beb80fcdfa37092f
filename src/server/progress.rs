//! A SimulatePool run streamed: its progress every 100 ms, the run
//! cancelled at the deadline or when the client goes away.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tonic::Status;

use super::pb;
use crate::riskpool::{self, Control};

/// What a SimulatePool worker ends with: the result and its report, or
/// why there is none.
pub(super) type Worked = Result<(pb::SimulationResult, Option<String>), riskpool::run::RunError>;

/// A SimulatePool worker.
pub(super) type Job = tokio::task::JoinHandle<Worked>;

/// Waits for a SimulatePool run, sending its progress every 100 ms and
/// cancelling it at the deadline or when the client goes away. Returns
/// the worker's end and whether the deadline passed.
pub(super) async fn watch(
    job: &mut Job,
    control: &Control,
    deadline: Option<Instant>,
    tx: &mpsc::Sender<Result<pb::SimulatePoolResponse, Status>>,
    total: u64,
) -> (Result<Worked, tokio::task::JoinError>, bool) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // The deadline has its own timer, so a run stops as soon as it
    // passes, not at the next progress tick.
    let past_deadline = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(past_deadline);
    let mut timed_out = false;
    let mut client_gone = false;
    let result = loop {
        tokio::select! {
            r = &mut *job => break r,
            () = &mut past_deadline, if !timed_out => {
                timed_out = true;
                control.cancel.store(true, Ordering::Relaxed);
            }
            _ = tick.tick() => {
                let done = control.done.load(Ordering::Relaxed).min(total);
                let ev = pb::SimulatePoolResponse {
                    event: Some(pb::simulate_pool_response::Event::Progress(pb::SimulationProgress { done, total })),
                };
                if tx.try_send(Ok(ev)).is_err() && tx.is_closed() {
                    control.cancel.store(true, Ordering::Relaxed);
                }
            }
            // Once: a closed channel stays ready, and selecting it
            // again would spin this task until the run ends.
            () = tx.closed(), if !client_gone => {
                client_gone = true;
                control.cancel.store(true, Ordering::Relaxed);
            }
        }
    };
    (result, timed_out)
}
