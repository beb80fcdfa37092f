//! The pool month by month: its state at each month end, from the month of
//! its first event to a date, each a fold of the events up to that day.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::event::Event;
use super::rules::Programme;
use super::state::{Book, Level};
use crate::kernel::money::Yuan;

/// The pool at one month end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Month {
    /// The month's last day (or the date asked, for its last month).
    pub end: NaiveDate,
    /// Cash held.
    pub cash: Yuan,
    /// Outstanding.
    pub outstanding: Yuan,
    /// Non-performing outstanding.
    pub npl: Yuan,
    /// Claims paid in the month.
    pub claims_paid: Yuan,
    /// The pool's part of recoveries in the month.
    pub recovered: Yuan,
    /// Claims paid in the month, per bank (banks with none left out).
    pub claims_by_bank: Vec<(String, Yuan)>,
    /// The programme's breaker at the month end.
    pub breaker: Level,
}

/// The last day of `d`'s month.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.pred_opt())
        .unwrap_or(d)
}

/// Events handed one at a time in the order they took effect, then the
/// order recorded: a slice sorted here ([`sorted`]) or a store's log read a
/// page at a time, so that a fold holds the book, never the log. `each`
/// calls its argument on every event, or fails with `E`.
pub trait Each<E>: FnOnce(&mut dyn FnMut(&Event)) -> Result<(), E> {}

impl<E, F: FnOnce(&mut dyn FnMut(&Event)) -> Result<(), E>> Each<E> for F {}

/// The events of `events` that took effect by `as_of` and were recorded by
/// `known` (`None`: every one), handed in order.
pub fn sorted<'a>(
    events: &'a [Event],
    as_of: NaiveDate,
    known: Option<&'a str>,
) -> impl Each<std::convert::Infallible> + 'a {
    move |f: &mut dyn FnMut(&Event)| {
        let mut picked: Vec<&Event> = events
            .iter()
            .filter(|e| e.effective <= as_of && known.is_none_or(|k| e.recorded_at.as_str() <= k))
            .collect();
        picked.sort_by_key(|e| (e.effective, e.seq));
        for e in picked {
            f(e);
        }
        Ok(())
    }
}

/// What cannot fail.
pub fn sure<T>(r: Result<T, std::convert::Infallible>) -> T {
    match r {
        Ok(t) => t,
        Err(never) => match never {},
    }
}

/// Folds into `book` the events `each` hands (those that took effect by
/// `as_of`), handing `at` the book at each month end from the month of the
/// first event (and, if `partial`, at `as_of` when it ends no month); the
/// book is left at `as_of`.
pub fn walk_from<E>(
    book: &mut Book,
    each: impl Each<E>,
    as_of: NaiveDate,
    partial: bool,
    mut at: impl FnMut(&Book, NaiveDate),
) -> Result<(), E> {
    // (the next month end to hand `at`; `None` once done)
    let mut end: Option<NaiveDate> = None;
    let mut started = false;
    let next = |d: NaiveDate| month_end(d.succ_opt().unwrap_or(d));
    each(&mut |e: &Event| {
        if !started {
            started = true;
            end = Some(month_end(e.effective));
        }
        while let Some(d) = end.filter(|d| e.effective > *d && *d < as_of) {
            at(book, d);
            end = Some(next(d));
        }
        book.apply(e);
    })?;
    while let Some(mut d) = end {
        if d > as_of {
            if !partial {
                break;
            }
            d = as_of;
        }
        at(book, d);
        end = (d < as_of).then(|| next(d));
    }
    Ok(())
}

/// [`walk_from`] over a slice of events (any order).
pub fn walk(
    book: &mut Book,
    events: &[Event],
    as_of: NaiveDate,
    partial: bool,
    at: impl FnMut(&Book, NaiveDate),
) {
    sure(walk_from(
        book,
        sorted(events, as_of, None),
        as_of,
        partial,
        at,
    ));
}

/// The pool at each month end up to `as_of` (at most `max_months` months,
/// the latest kept): one pass over the events in effective order, the
/// state read at each month end.
pub fn months(
    programme: &Arc<Programme>,
    events: &[Event],
    as_of: NaiveDate,
    max_months: usize,
) -> Vec<Month> {
    sure(months_from(
        programme,
        sorted(events, as_of, None),
        as_of,
        max_months,
    ))
}

/// [`months`] over events handed in order.
pub fn months_from<E>(
    programme: &Arc<Programme>,
    each: impl Each<E>,
    as_of: NaiveDate,
    max_months: usize,
) -> Result<Vec<Month>, E> {
    let mut book = Book::new(programme.clone());
    // (cumulative claims and recoveries at the previous month end)
    let mut before = (Yuan::ZERO, Yuan::ZERO, BTreeMap::<String, Yuan>::new());
    let mut out: Vec<Month> = Vec::new();
    walk_from(&mut book, each, as_of, true, |book, end| {
        let t = &book.total;
        let claims_by_bank = book
            .banks
            .iter()
            .map(|(bank, f)| {
                let was = before.2.get(bank).copied().unwrap_or(Yuan::ZERO);
                (bank.clone(), Yuan(f.claims_paid.0 - was.0))
            })
            .filter(|(_, y)| *y > Yuan::ZERO)
            .collect();
        out.push(Month {
            end,
            cash: book.cash,
            outstanding: t.outstanding,
            npl: t.npl,
            claims_paid: Yuan(t.claims_paid.0 - before.0.0),
            recovered: Yuan(t.recovered.0 - before.1.0),
            claims_by_bank,
            breaker: book.breaker.level,
        });
        before = (
            t.claims_paid,
            t.recovered,
            book.banks
                .iter()
                .map(|(b, f)| (b.clone(), f.claims_paid))
                .collect(),
        );
    })?;
    let skip = out.len().saturating_sub(max_months);
    Ok(out.split_off(skip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_ends_roll_over_the_year() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(month_end(d("2023-02-10")), d("2023-02-28"));
        assert_eq!(month_end(d("2024-02-10")), d("2024-02-29"));
        assert_eq!(month_end(d("2023-12-01")), d("2023-12-31"));
    }
}
