//! Progress and cancellation shared between a run and whoever waits on it:
//! the lowest room of the simulation, read by both engines.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Progress and cancellation shared with a running simulation.
#[derive(Debug, Default)]
pub struct Control {
    /// Set to stop the run: the remaining scenarios of the current batch
    /// are skipped and the run returns [`Cancelled`].
    pub cancel: AtomicBool,
    /// Scenarios finished so far.
    pub done: AtomicU64,
}

impl Control {
    /// `Err(Cancelled)` once the run has been told to stop.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The run was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("simulation cancelled")]
pub struct Cancelled;

/// The pool of `threads` workers a run asks for by count (a run that asks
/// for 0 stays on the pool it is called from). Built the first time a count
/// is asked for and kept for the process, so runs do not start threads of
/// their own; runs asking for the same count share its workers.
pub fn workers(threads: usize) -> Result<Arc<rayon::ThreadPool>, rayon::ThreadPoolBuildError> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&threads) {
        return Ok(p.clone());
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("smefin-{threads}w-{i}"))
            .build()?,
    );
    pools.insert(threads, p.clone());
    Ok(p)
}
