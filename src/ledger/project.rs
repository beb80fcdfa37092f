//! The pool as it stands, projected month by month: today's open loans
//! (each in its arrears state, with the claim its default would bring),
//! the pipeline and the approved claims not yet paid, the cash, and the
//! rules in force; the loans move through the monthly roll-rate chain
//! estimated from the pool's own history ([`super::rolls`]), its
//! worsening steps tied to one systematic factor a month so that defaults
//! come together. Each scenario draws, for each state, how many of its
//! loans default (or repay) in each month, conditional on the factor path,
//! then which loans: the money is each loan's own, to the fen.
//!
//! A current loan repays at its maturity. New loans are lent each month
//! (by default at the pool's pace of the last six months) while the
//! breaker is closed and the credit scale allows. The programme's top-up
//! rule refills the cash inside each path (to its target at each year end,
//! and at once below its share of the outstanding).
//!
//! Answers: the chance the breaker trips and the chance the cash runs out,
//! month by month; claims by bank (mean and tail); the cash fan; the
//! top-ups the rule makes; the top-up today that keeps the chance of
//! running out within a target.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::Serialize;

pub use self::paths::NEW_LOANS;
use self::paths::{Path, fen, live, scenario, yuan};
use super::rolls::RollRates;
use super::state::Book;
use crate::kernel::money::Yuan;

/// How the projection runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Options {
    /// Months ahead.
    pub months: u32,
    /// Scenarios.
    pub scenarios: u32,
    /// Seed (scenario k draws from seed + k: the same at any thread count).
    pub seed: u64,
    /// Asset correlation ρ of the worsening steps with the factor.
    pub rho: f64,
    /// Months from a default to its claim being paid.
    pub claim_lag: u32,
    /// Claims are paid in batches every this many months, at calendar
    /// month ends divisible by it (1: monthly; 3: at quarter ends).
    pub claim_batch: u32,
    /// The share of a claim the pool gets back as recoveries (a stated
    /// default when the pool's history is short).
    pub recovery_rate: f64,
    /// Months from a claim's payment to its recovery.
    pub recovery_lag: u32,
    /// The chance of running out the top-up is sized for.
    pub target: f64,
    /// The programme's top-up rule refills the cash inside the paths.
    pub top_up_rule: bool,
    /// New lending each month (principal), while the breaker is closed and
    /// the scale allows; `None`: the pool's median month of the six before
    /// the start (taken from its log; none for a book projected without
    /// its log).
    pub new_lending: Option<Yuan>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            months: 12,
            scenarios: 10_000,
            seed: 1,
            rho: 0.15,
            claim_lag: 1,
            claim_batch: 1,
            recovery_rate: 0.2,
            recovery_lag: 12,
            target: 0.01,
            top_up_rule: true,
            new_lending: None,
        }
    }
}

impl Options {
    /// Each option out of its range, by name (as the wire spells it), and
    /// why (the scenarios' range is the caller's: a server's and a shell's
    /// differ).
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        let mut check = |ok: bool, field, why| {
            if !ok {
                out.push((field, why));
            }
        };
        check(
            (1..=120).contains(&self.months),
            "months",
            "must be 1 to 120",
        );
        check(
            self.rho.is_finite() && (0.0..1.0).contains(&self.rho),
            "rho",
            "must be at least 0 and below 1",
        );
        check(
            self.recovery_rate.is_finite() && (0.0..=1.0).contains(&self.recovery_rate),
            "recovery_rate",
            "must be a share from 0 to 1",
        );
        check(
            self.target.is_finite() && self.target > 0.0 && self.target < 1.0,
            "target",
            "must be a chance above 0 and below 1",
        );
        check(
            self.claim_lag <= 120,
            "claim_lag",
            "must be at most 120 months",
        );
        check(
            CLAIM_BATCHES.contains(&self.claim_batch),
            "claim_batch",
            "must be 1, 3, 6 or 12 months",
        );
        check(
            self.recovery_lag <= 120,
            "recovery_lag",
            "must be at most 120 months",
        );
        out
    }
}

/// Batches claims may be paid in: every month, quarter, half-year or year.
pub const CLAIM_BATCHES: [u32; 4] = [1, 3, 6, 12];

/// New lending a month as given (`2000万`; `0` for none): an amount, not
/// negative.
pub fn new_lending(text: &str) -> Result<Yuan, String> {
    match Yuan::parse(text) {
        Ok(y) if y.0 >= rust_decimal::Decimal::ZERO => Ok(y),
        Ok(_) => Err("must not be negative".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// What the projection found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    /// The date it starts from.
    pub as_of: NaiveDate,
    /// The options.
    pub options: Options,
    /// Cash today, and what is owed today (approved claims not yet paid).
    pub cash: Yuan,
    /// Approved claims not yet paid, paid in the first month.
    pub committed: Yuan,
    /// Claims of the pipeline (loans at the trigger, not yet claimed),
    /// paid in the first month.
    pub pipeline_claims: Yuan,
    /// New enrolment is suspended today (the breaker has tripped already).
    pub suspended_now: bool,
    /// Per month m = 1…months: the chance the cash has fallen short of a
    /// claim by then.
    pub exhausted_by: Vec<f64>,
    /// Per month: the chance the programme's breaker has tripped by then
    /// (不良率 at the suspend level).
    pub tripped_by: Vec<f64>,
    /// Per month: the cash at the month end, 5th, 25th, 50th, 75th, 95th
    /// percentiles (short claims counted as negative cash).
    pub cash_fan: Vec<[Yuan; 5]>,
    /// Claims arising within the horizon (today's committed and pipeline
    /// claims and those of loans defaulting in it, paid in it or after):
    /// mean, 95th and 99th percentiles.
    pub claims: [Yuan; 3],
    /// The same per bank.
    pub claims_by_bank: BTreeMap<String, [Yuan; 3]>,
    /// The cash to add today so that the chance of falling short within
    /// the horizon is at most the target; `None` when no cash today can
    /// (the paths fall short after the rule's refill, which today's cash
    /// does not change).
    pub top_up_for_target: Option<Yuan>,
    /// New lending a month the projection ran (principal), and the size of
    /// each new loan.
    pub new_lending: [Yuan; 2],
    /// New lending enrolled over the horizon, the mean over the paths (the
    /// breaker and the scale stop it).
    pub new_lent: Yuan,
    /// Per month: the mean top-up the programme's rule made (none without
    /// the rule).
    pub top_ups: Vec<Yuan>,
    /// The rule's top-ups over the horizon: mean, 95th and 99th
    /// percentiles.
    pub top_up_total: [Yuan; 3],
}

fn quantile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn summary(v: &mut [i64]) -> [Yuan; 3] {
    v.sort_unstable();
    let mean = v.iter().map(|x| *x as i128).sum::<i128>() / v.len().max(1) as i128;
    [
        yuan(mean as i64),
        yuan(quantile(v, 0.95)),
        yuan(quantile(v, 0.99)),
    ]
}

/// The projection of a pool of `programme` with `events` from `as_of`,
/// over the roll rates its history up to then shows (with `prior`): the
/// rates, and the projection.
pub fn from_log(
    programme: &std::sync::Arc<super::rules::Programme>,
    events: &[super::event::Event],
    as_of: NaiveDate,
    prior: &super::rolls::Prior,
    o: &Options,
) -> (RollRates, Projection) {
    super::history::sure(from_each(
        programme,
        super::history::sorted(events, as_of, None),
        as_of,
        prior,
        o,
    ))
}

/// [`from_log`] over events handed in order.
pub fn from_each<E>(
    programme: &std::sync::Arc<super::rules::Programme>,
    each: impl super::history::Each<E>,
    as_of: NaiveDate,
    prior: &super::rolls::Prior,
    o: &Options,
) -> Result<(RollRates, Projection), E> {
    // (what was lent in each of the six months before, for the pace of
    // new lending)
    let mut lent = [rust_decimal::Decimal::ZERO; 6];
    let tee = |f: &mut dyn FnMut(&super::event::Event)| {
        each(&mut |e: &super::event::Event| {
            if let super::event::EventKind::LoanEnrolled(l) = &e.kind
                && e.effective <= as_of
                && let Some(k) = (1..=6).find(|k| e.effective > paths::months_before(as_of, *k))
            {
                lent[k as usize - 1] += l.amount.0;
            }
            f(e);
        })
    };
    let (rolls, book) = super::rolls::estimate_from(programme, tee, as_of, prior)?;
    // (the median month: a pool's first months of bringing its book under
    // it are not its pace)
    lent.sort_unstable();
    let pace = Yuan((lent[2] + lent[3]) / rust_decimal::Decimal::TWO).round_fen();
    let o = Options {
        new_lending: Some(o.new_lending.unwrap_or(pace)),
        ..o.clone()
    };
    let r = project(&book, as_of, &matrix(&rolls), &o);
    Ok((rolls, r))
}

/// The monthly matrix of estimated roll rates.
pub fn matrix(rolls: &RollRates) -> [[f64; 6]; 4] {
    std::array::from_fn(|i| std::array::from_fn(|j| rolls.rates[i][j].estimate))
}

/// Projects the pool in `book` (folded to `as_of`) with the monthly roll
/// rates `m` (rows: the four open states; see [`matrix`]).
pub fn project(book: &Book, as_of: NaiveDate, m: &[[f64; 6]; 4], o: &Options) -> Projection {
    let live = live(book, as_of, o);
    let m = *m;
    let paths: Vec<Path> = (0..u64::from(o.scenarios))
        .into_par_iter()
        .map_init(Vec::new, |bits, k| scenario(&live, &m, o, k, bits))
        .collect();
    let n = paths.len().max(1) as f64;
    let months = o.months as usize;
    let by = |f: &dyn Fn(&Path, usize) -> bool| -> Vec<f64> {
        (0..months)
            .map(|t| paths.iter().filter(|p| f(p, t)).count() as f64 / n)
            .collect()
    };
    let exhausted_by = by(&|p, t| p.exhausted.is_some_and(|m| m as usize <= t + 1));
    let tripped_by = by(&|p, t| p.tripped.is_some_and(|m| m as usize <= t + 1));
    let cash_fan = (0..months)
        .map(|t| {
            let mut c: Vec<i64> = paths.iter().map(|p| p.cash[t]).collect();
            c.sort_unstable();
            [0.05, 0.25, 0.5, 0.75, 0.95].map(|q| yuan(quantile(&c, q)))
        })
        .collect();
    let mut claims: Vec<i64> = paths.iter().map(|p| p.claims).collect();
    let names = live.banks.iter().map(String::as_str);
    let claims_by_bank = names
        .chain(live.new.as_ref().map(|_| NEW_LOANS))
        .enumerate()
        .map(|(b, name)| {
            let mut v: Vec<i64> = paths.iter().map(|p| p.by_bank[b]).collect();
            (name.to_string(), summary(&mut v))
        })
        .collect();
    let mut short: Vec<i64> = paths.iter().map(|p| p.shortfall).collect();
    short.sort_unstable();
    let need = quantile(&short, 1.0 - o.target);
    let top_ups = (0..months)
        .map(|t| yuan((paths.iter().map(|p| p.topped[t] as f64).sum::<f64>() / n).round() as i64))
        .collect();
    let mut total: Vec<i64> = paths.iter().map(|p| p.topped.iter().sum()).collect();
    Projection {
        as_of,
        options: o.clone(),
        cash: yuan(live.cash),
        committed: book.total.committed,
        pipeline_claims: yuan(live.first - fen(book.total.committed)),
        suspended_now: book.breaker.level == super::state::Level::Suspended,
        exhausted_by,
        tripped_by,
        cash_fan,
        claims: summary(&mut claims),
        claims_by_bank,
        top_up_for_target: (need != i64::MAX).then(|| yuan(need)),
        new_lending: live.new.as_ref().map_or([Yuan::ZERO; 2], |nl| {
            [yuan(nl.size * nl.count as i64), yuan(nl.size)]
        }),
        new_lent: yuan((paths.iter().map(|p| p.lent as f64).sum::<f64>() / n).round() as i64),
        top_ups,
        top_up_total: summary(&mut total),
    }
}

#[path = "project_paths.rs"]
mod paths;

#[cfg(test)]
#[path = "project_tests.rs"]
mod tests;
