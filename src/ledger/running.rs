//! The fold of a pool's whole log, kept as its events arrive: a write or a
//! read of today's state costs what the new events cost, not the length of
//! the log. It is a cache of [`Book::fold`], never a second rule: every
//! figure it gives is the one the full fold gives (tested), and whatever it
//! cannot extend in order (an event dated before one already folded, a gap
//! in the sequence) it refolds from the log.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};

use super::event::Event;
use super::rules::Programme;
use super::state::{Book, Figures};

/// The figures of the pool and of each bank at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Over every bank.
    pub total: Figures,
    /// Per bank.
    pub banks: BTreeMap<String, Figures>,
}

/// The whole log folded, with the figures at the end of every year.
#[derive(Debug, Clone)]
pub struct Running {
    /// Every event folded, in effective order.
    pub book: Book,
    /// The last sequence number folded (0: none).
    pub seq: u64,
    /// Keyed by a year Y in which events took effect: the figures before
    /// the first of them (as of the end of the last year before Y that had
    /// events).
    marks: BTreeMap<i32, Snapshot>,
    /// The sequence number of the last snapshot of this fold the store
    /// holds (0: none known).
    pub persisted: u64,
}

impl Running {
    /// Nothing folded yet.
    pub fn new(programme: Arc<Programme>) -> Running {
        Running {
            book: Book::new(programme),
            seq: 0,
            marks: BTreeMap::new(),
            persisted: 0,
        }
    }

    /// A fold read back from a snapshot taken at `seq` (see
    /// [`super::codec`]).
    pub fn restored(book: Book, seq: u64, marks: BTreeMap<i32, Snapshot>) -> Running {
        Running {
            book,
            seq,
            marks,
            persisted: seq,
        }
    }

    /// The figures before each year (see the field).
    pub fn marks(&self) -> &BTreeMap<i32, Snapshot> {
        &self.marks
    }

    /// Folds a whole log (any order).
    pub fn of(programme: Arc<Programme>, events: &[Event]) -> Running {
        super::history::sure(Running::of_from(
            programme,
            super::history::sorted(events, NaiveDate::MAX, None),
        ))
    }

    /// Folds a whole log, its events handed in order.
    pub fn of_from<E>(
        programme: Arc<Programme>,
        each: impl super::history::Each<E>,
    ) -> Result<Running, E> {
        let mut r = Running::new(programme);
        each(&mut |e: &Event| r.apply(e))?;
        Ok(r)
    }

    fn apply(&mut self, e: &Event) {
        let year = e.effective.year();
        if self.book.last_effective.is_none_or(|d| d.year() < year) {
            self.marks.insert(
                year,
                Snapshot {
                    total: self.book.total.clone(),
                    banks: self.book.banks.clone(),
                },
            );
        }
        self.book.apply(e);
        self.seq = self.seq.max(e.seq);
    }

    /// Folds `events`, the ones recorded after [`Running::seq`], if they
    /// continue the log in order (next sequence numbers, none dated before
    /// the last folded); otherwise changes nothing and answers false, and
    /// the caller refolds the log.
    pub fn extend(&mut self, events: &[Event]) -> bool {
        let mut seq = self.seq;
        let mut last = self.book.last_effective;
        for e in events {
            if e.seq != seq + 1 || last.is_some_and(|d| e.effective < d) {
                return false;
            }
            seq = e.seq;
            last = Some(e.effective);
        }
        for e in events {
            self.apply(e);
        }
        true
    }

    /// Whether the book as of `on` (as known now) is the running one: no
    /// event folded took effect after `on`.
    pub fn covers(&self, on: NaiveDate) -> bool {
        self.book.last_effective.is_none_or(|d| d <= on)
    }

    /// The figures as of the last day before `start`, when `start` is the
    /// first day of a year (`None` otherwise: the caller folds).
    pub fn before(&self, start: NaiveDate) -> Option<Snapshot> {
        if (start.month(), start.day()) != (1, 1) {
            return None;
        }
        Some(match self.marks.range(start.year()..).next() {
            Some((_, s)) => s.clone(),
            None => Snapshot {
                total: self.book.total.clone(),
                banks: self.book.banks.clone(),
            },
        })
    }
}
