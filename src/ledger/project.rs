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
//! Answers: the chance the breaker trips and the chance the cash runs out,
//! month by month; claims by bank (mean and tail); the cash fan; the top-up
//! today that keeps the chance of running out within a target.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

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
    /// The share of a claim the pool gets back as recoveries (a stated
    /// default when the pool's history is short).
    pub recovery_rate: f64,
    /// Months from a claim's payment to its recovery.
    pub recovery_lag: u32,
    /// The chance of running out the top-up is sized for.
    pub target: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            months: 12,
            scenarios: 10_000,
            seed: 1,
            rho: 0.15,
            claim_lag: 1,
            recovery_rate: 0.2,
            recovery_lag: 12,
            target: 0.01,
        }
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
    /// the horizon is at most the target.
    pub top_up_for_target: Yuan,
}

/// One loan that may default: its bank and the claim it would bring (fen).
struct Open {
    bank: usize,
    claim: i64,
    outstanding: i64,
}

/// The book as the projection sees it.
struct Live {
    /// Open loans by state (0..4).
    groups: [Vec<Open>; 4],
    banks: Vec<String>,
    /// Each group's mean outstanding (fen).
    mean: [i64; 4],
    /// Outstanding today (fen), and of loans already non-performing.
    outstanding: i64,
    npl: i64,
    /// Paid in month 1: committed claims and the pipeline's claims (fen).
    first: i64,
    /// The same per bank.
    first_by_bank: Vec<i64>,
    cash: i64,
    suspend: f64,
}

fn fen(y: Yuan) -> i64 {
    (y.0 * rust_decimal::Decimal::ONE_HUNDRED)
        .round()
        .try_into()
        .unwrap_or(i64::MAX)
}

fn yuan(f: i64) -> Yuan {
    Yuan(rust_decimal::Decimal::new(f, 2))
}

fn live(book: &Book, as_of: NaiveDate) -> Live {
    let v = book.programme().version_on(as_of);
    let claim_of =
        |out: Yuan| Yuan(v.map_or(rust_decimal::Decimal::ZERO, |v| v.claim_of(out))).round_fen();
    let banks: Vec<String> = book.banks.keys().cloned().collect();
    let bank_of = |id: &str| banks.iter().position(|b| b == id).unwrap_or(0);
    let mut groups: [Vec<Open>; 4] = Default::default();
    let mut first_by_bank = vec![0i64; banks.len()];
    for l in book.loans.values() {
        let s = super::rolls::state_of(l);
        if l.in_pipeline() {
            first_by_bank[bank_of(&l.loan.bank_id)] += fen(claim_of(l.outstanding));
        } else if s < 4 && l.claim.is_none() && l.outstanding.0 > rust_decimal::Decimal::ZERO {
            groups[s].push(Open {
                bank: bank_of(&l.loan.bank_id),
                claim: fen(claim_of(l.outstanding)),
                outstanding: fen(l.outstanding),
            });
        }
    }
    for c in book.claims.values() {
        if c.status == super::state::ClaimStatus::Approved {
            first_by_bank[bank_of(&c.bank_id)] += fen(c.owed());
        }
    }
    for g in &mut groups {
        // (a fixed order: the draws pick by position)
        g.sort_by_key(|o| (o.bank, o.claim, o.outstanding));
    }
    let mean = std::array::from_fn(|s| {
        let g = &groups[s];
        g.iter().map(|o| o.outstanding).sum::<i64>() / g.len().max(1) as i64
    });
    Live {
        mean,
        groups,
        outstanding: fen(book.total.outstanding),
        npl: fen(book.total.npl),
        first: first_by_bank.iter().sum(),
        first_by_bank,
        banks,
        cash: fen(book.cash),
        suspend: v.map_or(1.0, |v| {
            rust_decimal::prelude::ToPrimitive::to_f64(&v.breaker_suspend).unwrap_or(1.0)
        }),
    }
}

/// One scenario's path.
struct Path {
    /// Cash at each month end (fen; negative: claims unpaid).
    cash: Vec<i64>,
    tripped: Option<u32>,
    claims: i64,
    by_bank: Vec<i64>,
    /// The largest shortfall over the horizon (fen, ≥ 0).
    shortfall: i64,
}

/// The monthly matrix conditional on factor value `z`: each open state's
/// worsening steps (to a later arrears state or default) stressed, the
/// rest scaled to keep the row whole.
fn conditional(m: &[[f64; 6]; 4], z: f64, rho: f64, n: &Normal) -> [[f64; 6]; 4] {
    let mut out = *m;
    for (i, row) in out.iter_mut().enumerate() {
        let worse: f64 = (i + 1..5).map(|j| m[i][j]).sum();
        if worse <= 0.0 || worse >= 1.0 {
            continue;
        }
        let w = n.cdf((n.inverse_cdf(worse) - rho.sqrt() * z) / (1.0 - rho).sqrt());
        for (j, x) in row.iter_mut().enumerate() {
            *x *= if (i + 1..5).contains(&j) {
                w / worse
            } else {
                (1.0 - w) / (1.0 - worse)
            };
        }
    }
    out
}

/// K distinct positions of 0..n (Floyd's picks), in a random order;
/// `bits` is scratch, left all-zero.
fn pick(n: usize, k: usize, rng: &mut ChaCha8Rng, bits: &mut Vec<u64>) -> Vec<usize> {
    if bits.len() < n.div_ceil(64) {
        bits.resize(n.div_ceil(64), 0);
    }
    let mut out = Vec::with_capacity(k);
    for j in n - k..n {
        let t = rng.random_range(0..=j);
        let p = if bits[t / 64] >> (t % 64) & 1 == 1 {
            j
        } else {
            t
        };
        bits[p / 64] |= 1 << (p % 64);
        out.push(p);
    }
    for p in &out {
        bits[p / 64] = 0;
    }
    // (Floyd's order is not uniform: shuffle before splitting by month)
    for i in (1..out.len()).rev() {
        out.swap(i, rng.random_range(0..=i));
    }
    out
}

fn scenario(live: &Live, m: &[[f64; 6]; 4], o: &Options, k: u64, bits: &mut Vec<u64>) -> Path {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed.wrapping_add(k));
    let n = Normal::standard();
    let months = o.months as usize;
    let z: Vec<f64> = (0..months)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let mats: Vec<[[f64; 6]; 4]> = z.iter().map(|z| conditional(m, *z, o.rho, &n)).collect();
    // per month: claims paid (fen), defaulted and repaid outstanding
    let (mut paid, mut defaulted, mut repaid) = (
        vec![0i64; months + 1],
        vec![0i64; months],
        vec![0i64; months],
    );
    let mut by_bank = live.first_by_bank.clone();
    paid[0] = live.first;
    for (s, group) in live.groups.iter().enumerate() {
        if group.is_empty() {
            continue;
        }
        // a loan starting in s: the chance it defaults, or repays, in each month
        let mut p = [0.0f64; 6];
        p[s] = 1.0;
        let (mut d, mut r) = (vec![0.0; months], vec![0.0; months]);
        for (t, mat) in mats.iter().enumerate() {
            let mut q = [0.0f64; 6];
            for (i, row) in mat.iter().enumerate() {
                for (j, x) in row.iter().enumerate() {
                    q[j] += p[i] * x;
                }
            }
            (d[t], r[t]) = (q[4], q[5]);
            (q[4], q[5]) = (0.0, 0.0);
            p = q;
        }
        // how many default and repay each month: sequential binomials
        let (mut left, mut alive) = (group.len() as u64, 1.0f64);
        let mut counts = Vec::with_capacity(months);
        for t in 0..months {
            let kd = draw(left, d[t] / alive, &mut rng);
            left -= kd;
            let kr = draw(left, r[t] / (alive - d[t]).max(1e-300), &mut rng);
            left -= kr;
            alive = (alive - d[t] - r[t]).max(0.0);
            counts.push((kd as usize, kr as usize));
        }
        // which loans default: drawn, each its own claim; the repaid ones
        // count at the state's mean balance (they only move the breaker's
        // denominator)
        let total: usize = counts.iter().map(|c| c.0).sum();
        let chosen = pick(group.len(), total, &mut rng, bits);
        let mean = live.mean[s];
        let mut at = 0;
        for (t, (kd, kr)) in counts.into_iter().enumerate() {
            for &i in &chosen[at..at + kd] {
                let l = &group[i];
                defaulted[t] += l.outstanding;
                paid[(t + o.claim_lag as usize).min(months)] += l.claim;
                by_bank[l.bank] += l.claim;
            }
            repaid[t] += mean * kr as i64;
            at += kd;
        }
    }
    walk(live, o, &paid, &defaulted, &repaid, by_bank)
}

fn draw(n: u64, p: f64, rng: &mut ChaCha8Rng) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    Binomial::new(n, p).map_or(0, |b| b.sample(rng))
}

/// The cash and the breaker month by month, given the claims paid (index
/// t: in month t + 1; the last index gathers those due past the horizon,
/// not paid in it) and the outstanding defaulted and repaid each month.
fn walk(
    live: &Live,
    o: &Options,
    paid: &[i64],
    defaulted: &[i64],
    repaid: &[i64],
    by_bank: Vec<i64>,
) -> Path {
    let months = o.months as usize;
    let rec_lag = o.recovery_lag as usize;
    let (mut cash, mut out, mut npl) = (live.cash, live.outstanding, live.npl);
    let (mut path, mut tripped, mut low) = (Vec::new(), None, 0i64);
    for t in 0..months {
        cash -= paid[t];
        if t >= rec_lag {
            cash += (paid[t - rec_lag] as f64 * o.recovery_rate).round() as i64;
        }
        out -= repaid[t];
        npl += defaulted[t];
        if tripped.is_none() && out > 0 && npl as f64 >= live.suspend * out as f64 {
            tripped = Some(t as u32 + 1);
        }
        low = low.min(cash);
        path.push(cash);
    }
    Path {
        cash: path,
        tripped,
        claims: by_bank.iter().sum(),
        by_bank,
        shortfall: -low,
    }
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
    let (rolls, book) = super::rolls::estimate_from(programme, each, as_of, prior)?;
    let r = project(&book, as_of, &matrix(&rolls), o);
    Ok((rolls, r))
}

/// The monthly matrix of estimated roll rates.
pub fn matrix(rolls: &RollRates) -> [[f64; 6]; 4] {
    std::array::from_fn(|i| std::array::from_fn(|j| rolls.rates[i][j].estimate))
}

/// Projects the pool in `book` (folded to `as_of`) with the monthly roll
/// rates `m` (rows: the four open states; see [`matrix`]).
pub fn project(book: &Book, as_of: NaiveDate, m: &[[f64; 6]; 4], o: &Options) -> Projection {
    let live = live(book, as_of);
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
    let exhausted_by = by(&|p, t| p.cash[..=t].iter().any(|c| *c < 0));
    let tripped_by = by(&|p, t| p.tripped.is_some_and(|m| m as usize <= t + 1));
    let cash_fan = (0..months)
        .map(|t| {
            let mut c: Vec<i64> = paths.iter().map(|p| p.cash[t]).collect();
            c.sort_unstable();
            [0.05, 0.25, 0.5, 0.75, 0.95].map(|q| yuan(quantile(&c, q)))
        })
        .collect();
    let mut claims: Vec<i64> = paths.iter().map(|p| p.claims).collect();
    let claims_by_bank = live
        .banks
        .iter()
        .enumerate()
        .map(|(b, name)| {
            let mut v: Vec<i64> = paths.iter().map(|p| p.by_bank[b]).collect();
            (name.clone(), summary(&mut v))
        })
        .collect();
    let mut short: Vec<i64> = paths.iter().map(|p| p.shortfall).collect();
    short.sort_unstable();
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
        top_up_for_target: yuan(quantile(&short, 1.0 - o.target)),
    }
}

#[cfg(test)]
#[path = "project_tests.rs"]
mod tests;
