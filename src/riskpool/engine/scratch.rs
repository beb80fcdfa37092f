//! What one worker reuses from scenario to scenario, and the maturity
//! schedule of a loan.

use super::*;
use crate::riskpool::model::Model;

/// A worker's state within a batch; its balance histogram is added to the
/// run's when the worker is done with it.
pub(super) struct Local<'h> {
    pub(super) scratch: Scratch,
    pub(super) hist: Vec<Vec<u64>>,
    pub(super) sink: &'h Mutex<Vec<Vec<u64>>>,
}

impl Drop for Local<'_> {
    fn drop(&mut self) {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        for (a, b) in sink.iter_mut().zip(&self.hist) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

/// The periods (0-based, within `from..horizon`) at whose end a loan of
/// `term` periods matures: lent at the start (`lent` None), its first
/// term ends at term − 1; lent again at the end of period s, at s + term;
/// then every `term`.
pub(super) fn schedule(
    term: u32,
    lent: Option<usize>,
    from: usize,
    horizon: usize,
) -> impl Iterator<Item = usize> {
    let term = term.max(1) as usize;
    let first = lent.map_or(term - 1, |s| s + term);
    let skip = if from > first {
        (from - first).div_ceil(term)
    } else {
        0
    };
    (first + skip * term..horizon).step_by(term)
}

/// Per-thread working memory of scenarios.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    pub(super) chosen: Vec<u32>,
    pub(super) bits: Vec<u64>,
    /// Whether the breaker has tripped in this scenario; only then is
    /// `active` kept.
    pub(super) tripped: bool,
    pub(super) active: Vec<bool>,
    /// This scenario's number: `stamp[l] == epoch` marks a loan lent again
    /// in it, at the end of period `lent[l]` (no pass over the book per
    /// scenario to forget the previous one's).
    pub(super) epoch: u32,
    pub(super) stamp: Vec<u32>,
    pub(super) lent: Vec<u32>,
    /// By period: the change to the first lendings' maturing amount.
    pub(super) delta: Vec<i64>,
    /// By period, after the breaker: the loans maturing at its end.
    pub(super) maturing: Vec<Vec<u32>>,
    pub(super) pending: Vec<u32>,
    /// By period: the pool's part of the recoveries returned at its end.
    pub(super) recoveries: Vec<i64>,
    /// This period's recoveries at the pool's full share, before its claims
    /// are paid (the pool gets back in proportion to what it paid).
    pub(super) period_back: i64,
    pub(super) sector_z: Vec<f64>,
}

impl Scratch {
    pub(super) fn reset(&mut self, m: &Model, horizon: usize) {
        let n = m.loans().len();
        if self.stamp.len() != n || self.epoch == u32::MAX {
            self.stamp.clear();
            self.stamp.resize(n, 0);
            self.lent.resize(n, 0);
            self.epoch = 0;
        }
        self.epoch += 1;
        self.tripped = false;
        self.delta.clear();
        self.delta.resize(horizon, 0);
        self.maturing.resize_with(horizon, Vec::new);
        self.maturing.iter_mut().for_each(Vec::clear);
        self.pending.clear();
        self.recoveries.clear();
        self.recoveries.resize(horizon + 1, 0);
        self.period_back = 0;
    }

    /// When loan `l` was last lent again in this scenario (None: not since
    /// the start).
    #[inline]
    pub(super) fn lent_at(&self, l: usize) -> Option<usize> {
        (self.stamp[l] == self.epoch).then(|| self.lent[l] as usize)
    }
}
