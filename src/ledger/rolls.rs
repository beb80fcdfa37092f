//! Monthly roll rates estimated from the ledger's own history: each loan's
//! state at consecutive month ends (current, 1–30, 31–60, 61 days to the
//! claim trigger, default — at the trigger or charged off — and repaid),
//! counted into a transition matrix; each rate with its count and a 95%
//! interval, shrunk towards a stated prior where the history is short; and
//! what the chain implies: the chance a loan in each state reaches default
//! within 3, 6 and 12 months, and the claims to expect from today's book.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use statrs::distribution::{Beta, ContinuousCDF};

use super::event::Event;
use super::history::{Each, sorted, sure, walk_from};
use super::rules::Programme;
use super::state::{Book, LoanState};
use crate::kernel::money::Yuan;

/// The states, in order: four open ones, then the two that end a loan.
pub const STATES: [&str; 6] = [
    "current",
    "1-30",
    "31-60",
    "61-trigger",
    "default",
    "repaid",
];

/// Open states (a loan moves on from them).
const OPEN: usize = 4;
const DEFAULT: usize = 4;
const REPAID: usize = 5;

/// The prior monthly transition rates (rows: the four open states; columns:
/// all six), used with `strength` pseudo-loans per row. No Jiangxi text
/// gives roll rates: these are documented defaults of the shape SME books
/// show (most current loans stay current, arrears either cure or roll on),
/// to be replaced by the programme's own figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prior {
    /// Rows of rates, each summing to 1.
    pub rates: [[f64; 6]; OPEN],
    /// Pseudo-loans per row (0: the history alone).
    pub strength: f64,
}

impl Default for Prior {
    fn default() -> Self {
        Prior {
            rates: [
                [0.970, 0.020, 0.0, 0.0, 0.0, 0.010],
                [0.500, 0.100, 0.350, 0.0, 0.0, 0.050],
                [0.300, 0.050, 0.100, 0.500, 0.0, 0.050],
                [0.150, 0.0, 0.050, 0.100, 0.650, 0.050],
            ],
            strength: 20.0,
        }
    }
}

/// One estimated rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    /// Transitions counted.
    pub count: u64,
    /// The estimate: (count + strength × prior) ÷ (row total + strength).
    pub estimate: f64,
    /// 95% interval (Jeffreys, with the prior's pseudo-counts).
    pub low: f64,
    /// Its upper end.
    pub high: f64,
}

/// The estimated chain and what it implies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollRates {
    /// Month ends observed (transitions are between consecutive ones).
    pub month_ends: Vec<NaiveDate>,
    /// Loans observed in each open state (the row totals).
    pub observed: [u64; OPEN],
    /// The rates, per open state, to each of the six.
    pub rates: Vec<Vec<Rate>>,
    /// The prior used.
    pub prior: Prior,
    /// Chance of reaching default within 3, 6 and 12 months, per open state.
    pub default_within: Vec<[f64; 3]>,
    /// Today's open outstanding per open state.
    pub outstanding: [Yuan; OPEN],
    /// Expected claims within 3, 6 and 12 months: over today's open loans
    /// with no claim yet, each one's claim (outstanding × the pool's share,
    /// within the coverage cap) × its state's chance of default (without
    /// amortisation or new loans).
    pub expected_claims: [Yuan; 3],
}

/// The months of the projection horizons.
pub const HORIZONS: [u32; 3] = [3, 6, 12];

/// A loan's state (an index of [`STATES`]).
pub fn state_of(l: &LoanState) -> usize {
    if l.repaid {
        return REPAID;
    }
    if l.charged_off || l.dpd >= l.trigger {
        return DEFAULT;
    }
    match l.dpd {
        0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        _ => 3,
    }
}

/// Transition counts between consecutive month ends up to `as_of`, and
/// the month ends; the book at `as_of` is left in `book`.
fn count<E>(
    book: &mut Book,
    each: impl Each<E>,
    as_of: NaiveDate,
) -> Result<([[u64; 6]; OPEN], Vec<NaiveDate>), E> {
    let mut counts = [[0u64; 6]; OPEN];
    let mut ends = Vec::new();
    let mut last: HashMap<String, usize> = HashMap::new();
    walk_from(book, each, as_of, false, |book, end| {
        for (id, l) in &book.loans {
            let s = state_of(l);
            match last.get_mut(id.as_str()) {
                Some(was) => {
                    if *was < OPEN {
                        counts[*was][s] += 1;
                    }
                    *was = s;
                }
                None => {
                    last.insert(id.clone(), s);
                }
            }
        }
        ends.push(end);
    })?;
    Ok((counts, ends))
}

fn rate(count: u64, total: u64, prior: f64, strength: f64) -> Rate {
    let a = count as f64 + strength * prior;
    let b = (total - count) as f64 + strength * (1.0 - prior);
    let estimate = if a + b > 0.0 { a / (a + b) } else { prior };
    let beta = Beta::new(a + 0.5, b + 0.5).ok();
    let q = |p: f64| beta.as_ref().map_or(estimate, |d| d.inverse_cdf(p));
    // (Jeffreys: an end at 0 or 1 when nothing, or everything, moved there)
    Rate {
        count,
        estimate,
        low: if a == 0.0 { 0.0 } else { q(0.025) },
        high: if b == 0.0 { 1.0 } else { q(0.975) },
    }
}

/// The chance of being in default after `months` months from each open
/// state, under the monthly matrix `m` (rows: open states).
pub fn default_within(m: &[[f64; 6]; OPEN], months: u32) -> [f64; OPEN] {
    let mut out = [0.0; OPEN];
    for (start, o) in out.iter_mut().enumerate() {
        let mut p = [0.0f64; 6];
        p[start] = 1.0;
        for _ in 0..months {
            let mut q = [0.0f64; 6];
            q[DEFAULT] = p[DEFAULT];
            q[REPAID] = p[REPAID];
            for (i, row) in m.iter().enumerate() {
                for (j, r) in row.iter().enumerate() {
                    q[j] += p[i] * r;
                }
            }
            p = q;
        }
        *o = p[DEFAULT];
    }
    out
}

/// The roll rates of a pool of `programme` with `events`, as of `as_of`.
pub fn estimate(
    programme: &Arc<Programme>,
    events: &[Event],
    as_of: NaiveDate,
    prior: &Prior,
) -> RollRates {
    estimate_with_book(programme, events, as_of, prior).0
}

/// The roll rates and the book they end on: the pool folded to `as_of`
/// (every event that took effect by then), as a projection starts from.
pub fn estimate_with_book(
    programme: &Arc<Programme>,
    events: &[Event],
    as_of: NaiveDate,
    prior: &Prior,
) -> (RollRates, Book) {
    sure(estimate_from(
        programme,
        sorted(events, as_of, None),
        as_of,
        prior,
    ))
}

/// [`estimate_with_book`] over events handed in order.
pub fn estimate_from<E>(
    programme: &Arc<Programme>,
    each: impl Each<E>,
    as_of: NaiveDate,
    prior: &Prior,
) -> Result<(RollRates, Book), E> {
    let mut book = Book::new(programme.clone());
    let (counts, month_ends) = count(&mut book, each, as_of)?;
    let observed: [u64; OPEN] = std::array::from_fn(|i| counts[i].iter().sum());
    let rates: Vec<Vec<Rate>> = (0..OPEN)
        .map(|i| {
            (0..6)
                .map(|j| rate(counts[i][j], observed[i], prior.rates[i][j], prior.strength))
                .collect()
        })
        .collect();
    let m: [[f64; 6]; OPEN] =
        std::array::from_fn(|i| std::array::from_fn(|j| rates[i][j].estimate));
    let by_h: Vec<[f64; OPEN]> = HORIZONS.iter().map(|h| default_within(&m, *h)).collect();
    let default_within: Vec<[f64; 3]> = (0..OPEN)
        .map(|s| std::array::from_fn(|h| by_h[h][s]))
        .collect();
    let v = programme.version_on(as_of);
    let p: Vec<[Decimal; 3]> = default_within
        .iter()
        .map(|row| row.map(|x| Decimal::from_f64_retain(x).unwrap_or_default()))
        .collect();
    let mut outstanding = [Yuan::ZERO; OPEN];
    let mut expected = [Decimal::ZERO; 3];
    for l in book.loans.values() {
        let s = state_of(l);
        if s >= OPEN || l.claim.is_some() {
            continue;
        }
        outstanding[s].0 += l.outstanding.0;
        let claim = v.map_or(Decimal::ZERO, |v| v.claim_of(l.outstanding));
        for (h, e) in expected.iter_mut().enumerate() {
            *e += claim * p[s][h];
        }
    }
    let expected_claims = expected.map(|e| Yuan(e).round_fen());
    let rates = RollRates {
        month_ends,
        observed,
        rates,
        prior: prior.clone(),
        default_within,
        outstanding,
        expected_claims,
    };
    Ok((rates, book))
}

#[cfg(test)]
#[path = "rolls_tests.rs"]
mod tests;
