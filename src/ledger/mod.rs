//! The pool as it is: the loans enrolled under a risk-compensation pool,
//! their monthly statuses, claims, payments, recoveries, cash and breakers,
//! kept as an append-only log of dated events ([`event`]); every figure a
//! fold over the events up to a date ([`state`]), as known then or as known
//! now; every command decided on that fold under the programme's dated rules
//! ([`rules`], [`decide`]).

pub mod backtest;
pub mod codec;
pub mod decide;
pub mod event;
pub mod figures;
pub mod history;
pub mod project;
pub mod rolls;
pub mod rules;
pub mod running;
pub mod state;
pub mod subsidy;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use self::event::Event;
use self::rules::Programme;
use self::running::{Running, Snapshot};
use self::state::{Book, Figures, Level, year_start};
use crate::kernel::money::Yuan;

/// The three 代偿率 side by side, and the recovery rate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rates {
    /// Claims paid ÷ principal enrolled, ever (by amount).
    pub by_amount: Option<Decimal>,
    /// Loans with a claim paid ÷ loans enrolled, ever (by count).
    pub by_count: Option<Decimal>,
    /// Claims paid in the period ÷ outstanding at its start.
    pub in_period: Option<Decimal>,
    /// The period's first day.
    pub period_start: Option<NaiveDate>,
    /// The pool's part of recoveries ÷ claims paid.
    pub recovery: Option<Decimal>,
}

fn ratio(a: Decimal, b: Decimal) -> Option<Decimal> {
    (!b.is_zero()).then(|| (a / b).round_dp(6))
}

impl Rates {
    fn of(now: &Figures, before: Option<&Figures>, period_start: NaiveDate) -> Rates {
        let in_period =
            before.and_then(|b| ratio(now.claims_paid.0 - b.claims_paid.0, b.outstanding.0));
        Rates {
            by_amount: ratio(now.claims_paid.0, now.enrolled.0),
            by_count: ratio(
                Decimal::from(now.claims_paid_loans),
                Decimal::from(now.enrolled_loans),
            ),
            in_period,
            period_start: Some(period_start),
            recovery: ratio(now.recovered.0, now.claims_paid.0),
        }
    }
}

/// One bank's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankState {
    /// The bank.
    pub bank_id: String,
    /// Its figures.
    pub figures: Figures,
    /// Its rates.
    pub rates: Rates,
    /// Its breaker.
    pub breaker: Level,
}

/// The pool on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolState {
    /// The date.
    pub as_of: NaiveDate,
    /// Only what was recorded by then (`None`: as known now).
    pub known_at: Option<String>,
    /// The rule version in force.
    pub version_from: Option<NaiveDate>,
    /// Whether new loans may be enrolled (no programme suspension).
    pub enrolment_open: bool,
    /// Pool-wide figures; `None` in a bank's view (they would show the
    /// other banks').
    pub pool: Option<PoolFigures>,
    /// Per bank (a bank's view: its own alone).
    pub banks: Vec<BankState>,
}

/// The figures of the whole pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolFigures {
    /// Cash held.
    pub cash: Yuan,
    /// Capital put in, less withdrawals.
    pub capital: Yuan,
    /// Interest credited.
    pub interest: Yuan,
    /// Over every bank.
    pub figures: Figures,
    /// The credit scale in force.
    pub credit_scale: Yuan,
    /// Scale left: the scale less what is outstanding.
    pub scale_left: Yuan,
    /// Outstanding ÷ capital.
    pub leverage: Option<Decimal>,
    /// The rates.
    pub rates: Rates,
    /// The programme's breaker and its history.
    pub breaker: state::Breaker,
    /// The top-up the programme's rule calls for, and the day it is due.
    pub top_up_due: Option<(NaiveDate, Yuan)>,
}

/// The top-up the rule in force calls for on `as_of`: at once when the
/// cash is below the rule's share of the outstanding, else by the year end
/// (none when the cash is at the target).
fn top_up_due(
    rule: Option<&rules::TopUpRule>,
    cash: Yuan,
    outstanding: Yuan,
    as_of: NaiveDate,
) -> Option<(NaiveDate, Yuan)> {
    let t = rule?;
    let short = t.target.0 - cash.0;
    if short <= Decimal::ZERO {
        return None;
    }
    let now = t.below_share.is_some_and(|s| cash.0 < s * outstanding.0);
    let by = if now {
        as_of
    } else {
        NaiveDate::from_ymd_opt(chrono::Datelike::year(&as_of), 12, 31).unwrap_or(as_of)
    };
    Some((by, Yuan(short)))
}

/// The state of a pool of `programme` with `events`, on `as_of`, as known
/// at `known` (an RFC 3339 time; `None`: now); `bank` narrows it to one
/// bank's view. The period of the period 代偿率 starts on `period_start`
/// (default: 1 January of `as_of`'s year).
pub fn pool_state(
    programme: &Arc<Programme>,
    events: &[Event],
    as_of: NaiveDate,
    known: Option<&str>,
    bank: Option<&str>,
    period_start: Option<NaiveDate>,
) -> PoolState {
    history::sure(pool_state_from(
        programme,
        history::sorted(events, as_of, known),
        as_of,
        known,
        bank,
        period_start,
    ))
}

/// [`pool_state`] over the events `each` hands in order (those that took
/// effect by `as_of` and were recorded by `known`): one pass, holding the
/// book and never the log.
pub fn pool_state_from<E>(
    programme: &Arc<Programme>,
    each: impl history::Each<E>,
    as_of: NaiveDate,
    known: Option<&str>,
    bank: Option<&str>,
    period_start: Option<NaiveDate>,
) -> Result<PoolState, E> {
    let start = period_start.unwrap_or_else(|| year_start(as_of));
    let mut book = Book::new(programme.clone());
    // (the figures before the period: the book before the first event
    // that took effect on or after its start)
    let mut before: Option<Snapshot> = None;
    each(&mut |e: &Event| {
        if before.is_none() && e.effective >= start {
            before = Some(Snapshot {
                total: book.total.clone(),
                banks: book.banks.clone(),
            });
        }
        book.apply(e);
    })?;
    let before = start.pred_opt().map(|_| {
        before.unwrap_or_else(|| Snapshot {
            total: book.total.clone(),
            banks: book.banks.clone(),
        })
    });
    Ok(view(&book, before.as_ref(), as_of, known, bank, start))
}

/// The same state as known now, from the running fold of the whole log,
/// when it gives it without a refold: no event dated after `as_of`, and a
/// period starting on a 1 January.
pub fn running_state(
    run: &Running,
    as_of: NaiveDate,
    bank: Option<&str>,
    period_start: Option<NaiveDate>,
) -> Option<PoolState> {
    let start = period_start.unwrap_or_else(|| year_start(as_of));
    if !run.covers(as_of) || start > as_of {
        return None;
    }
    let before = run.before(start)?;
    Some(view(&run.book, Some(&before), as_of, None, bank, start))
}

fn view(
    book: &Book,
    before: Option<&Snapshot>,
    as_of: NaiveDate,
    known: Option<&str>,
    bank: Option<&str>,
    start: NaiveDate,
) -> PoolState {
    let version = book.programme().version_on(as_of);
    let banks: Vec<BankState> = book
        .banks
        .iter()
        .filter(|(b, _)| bank.is_none_or(|x| x == b.as_str()))
        .map(|(b, f)| BankState {
            bank_id: b.clone(),
            figures: f.clone(),
            rates: Rates::of(f, before.and_then(|x| x.banks.get(b)), start),
            breaker: book.bank_breakers.get(b).map_or(Level::Normal, |x| x.level),
        })
        .collect();
    let pool = bank.is_none().then(|| {
        let scale = version.map_or(Yuan::ZERO, |v| v.credit_scale);
        PoolFigures {
            cash: book.cash,
            capital: book.capital,
            interest: book.interest,
            figures: book.total.clone(),
            credit_scale: scale,
            scale_left: Yuan(scale.0 - book.total.outstanding.0),
            leverage: ratio(book.total.outstanding.0, book.capital.0),
            rates: Rates::of(&book.total, before.map(|b| &b.total), start),
            breaker: book.breaker.clone(),
            top_up_due: top_up_due(
                version.and_then(|v| v.top_up.as_ref()),
                book.cash,
                book.total.outstanding,
                as_of,
            ),
        }
    });
    PoolState {
        as_of,
        known_at: known.map(str::to_string),
        version_from: version.map(|v| v.from),
        enrolment_open: book.breaker.level != Level::Suspended,
        pool,
        banks,
    }
}
