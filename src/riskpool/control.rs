//! Progress and cancellation shared between a run and whoever waits on it:
//! the lowest room of the simulation, read by both engines.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
