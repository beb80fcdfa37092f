//! The raw outcomes of a range of scenarios: what Monte Carlo produces,
//! shards exchange and the statistics summarise, with its format constants.

use std::num::NonZeroU16;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Bins of the per-period pool-balance histogram over [0, 2 × capital); the
/// last bin also takes balances above.
pub const BALANCE_BINS: usize = 100;

/// A period of the horizon, counted from 1.
pub type Period = NonZeroU16;

/// Per-scenario outcomes of a range of scenarios, in scenario order, plus
/// histograms: the raw data that shards exchange and the statistics
/// summarises.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Raw {
    /// First scenario index.
    pub start: u64,
    /// One past the last.
    pub end: u64,
    /// Default count over the horizon.
    pub defaults: Vec<u32>,
    /// Net credit loss of the book, fen.
    pub loss: Vec<i64>,
    /// Net compensation paid by the pool (paid − recoveries returned), fen.
    pub compensation: Vec<i64>,
    /// Claims the pool could not pay, fen.
    pub unfunded: Vec<i64>,
    /// Loss retained by the banks (loss − net compensation), fen.
    pub bank_loss: Vec<i64>,
    /// First period in which the pool ran dry, if it did.
    pub exhausted_period: Vec<Option<Period>>,
    /// Period in which the breaker tripped, if it did.
    pub breaker_period: Vec<Option<Period>>,
    /// Importance-sampling likelihood ratios, one per scenario; `None` for
    /// plain Monte Carlo, whose scenarios weigh the same.
    pub weight: Option<Vec<f64>>,
    /// Pool balance at each period end: `BALANCE_BINS` counts per period.
    pub balance_hist: Vec<Vec<u64>>,
    /// Scenarios whose pool was topped up at the end of each period (empty
    /// without a top-up rule).
    #[serde(default)]
    pub top_ups: Vec<u64>,
}

impl Raw {
    /// Appends `other`, which must start where `self` ends.
    pub fn append(&mut self, other: Raw) -> Result<(), String> {
        if other.start != self.end {
            return Err(format!(
                "scenarios {}..{} do not follow {}..{}",
                other.start, other.end, self.start, self.end
            ));
        }
        if other.balance_hist.len() != self.balance_hist.len() {
            return Err("different numbers of periods".into());
        }
        self.end = other.end;
        self.defaults.extend(other.defaults);
        self.loss.extend(other.loss);
        self.compensation.extend(other.compensation);
        self.unfunded.extend(other.unfunded);
        self.bank_loss.extend(other.bank_loss);
        self.exhausted_period.extend(other.exhausted_period);
        self.breaker_period.extend(other.breaker_period);
        match (&mut self.weight, other.weight) {
            (Some(w), Some(o)) => w.extend(o),
            (None, None) => {}
            _ => return Err("one part is weighted and the other is not".into()),
        }
        for (a, b) in self.balance_hist.iter_mut().zip(other.balance_hist) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        if self.top_ups.len() == other.top_ups.len() {
            for (x, y) in self.top_ups.iter_mut().zip(other.top_ups) {
                *x += y;
            }
        } else {
            return Err("one part counts top-ups and the other does not".into());
        }
        Ok(())
    }

    /// The scenario indices it holds.
    pub fn range(&self) -> Range<u64> {
        self.start..self.end
    }

    /// Number of scenarios.
    pub fn len(&self) -> usize {
        self.loss.len()
    }

    /// Whether there are no scenarios.
    pub fn is_empty(&self) -> bool {
        self.loss.is_empty()
    }
}
