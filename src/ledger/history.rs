//! The pool month by month: its state at each month end, from the month of
//! its first event to a date, each a fold of the events up to that day.

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

/// The pool at each month end up to `as_of` (at most `max_months` months,
/// the latest kept).
pub fn months(
    programme: &Programme,
    events: &[Event],
    as_of: NaiveDate,
    max_months: usize,
) -> Vec<Month> {
    let Some(first) = events.iter().map(|e| e.effective).min() else {
        return Vec::new();
    };
    let mut ends = Vec::new();
    let mut d = month_end(first);
    while d < as_of {
        ends.push(d);
        d = month_end(d.succ_opt().unwrap_or(d));
    }
    ends.push(as_of);
    let skip = ends.len().saturating_sub(max_months);
    let mut out: Vec<Month> = Vec::new();
    let mut prev: Option<Book<'_>> = None;
    for end in ends.into_iter().skip(skip.saturating_sub(1)) {
        let b = Book::fold(programme, events, end, None);
        let delta = |now: Yuan, before: Option<Yuan>| Yuan(now.0 - before.unwrap_or(Yuan::ZERO).0);
        let claims_by_bank = b
            .banks
            .iter()
            .map(|(bank, f)| {
                let before = prev
                    .as_ref()
                    .map(|p| p.banks.get(bank).map_or(Yuan::ZERO, |x| x.claims_paid));
                (bank.clone(), delta(f.claims_paid, before))
            })
            .filter(|(_, y)| *y > Yuan::ZERO)
            .collect();
        out.push(Month {
            end,
            cash: b.cash,
            outstanding: b.total.outstanding,
            npl: b.total.npl,
            claims_paid: delta(
                b.total.claims_paid,
                prev.as_ref().map(|p| p.total.claims_paid),
            ),
            recovered: delta(b.total.recovered, prev.as_ref().map(|p| p.total.recovered)),
            claims_by_bank,
            breaker: b.breaker.level,
        });
        prev = Some(b);
    }
    // (the first month folded only to measure the second's changes, unless
    // it is the first month of the pool)
    if skip > 0 {
        out.remove(0);
    }
    out
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
