//! The projection's paths: today's open loans grouped by state and
//! maturity, each month's new loans, the factor path, the defaults drawn
//! group by group, and the walk of the cash, the breaker, the lending and
//! the rule's refills month by month.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, StandardNormal};
use statrs::distribution::{ContinuousCDF, Normal};

use super::Options;
use crate::kernel::money::Yuan;
use crate::ledger::history::month_end;
use crate::ledger::state::Book;

/// One loan that may default: its bank and the claim it would bring (fen).
struct Open {
    bank: usize,
    claim: i64,
    outstanding: i64,
}

/// Open loans in one state today that mature in one step.
struct Group {
    state: usize,
    /// The step at whose end a loan still current repays (its maturity;
    /// `months`: beyond the horizon).
    matures: usize,
    loans: Vec<Open>,
    /// Their mean outstanding (fen).
    mean: i64,
}

/// The month's new loans: how many, each one's principal and claim (fen),
/// the steps to their maturity.
pub(super) struct NewLoans {
    pub(super) count: u64,
    pub(super) size: i64,
    pub(super) claim: i64,
    pub(super) term: usize,
}

/// The programme's top-up rule (fen).
struct Refill {
    target: i64,
    below: Option<f64>,
    /// Each step's end is a year end (or the year end falls within it).
    year_end: Vec<bool>,
}

/// The book as the projection sees it.
pub(super) struct Live {
    groups: Vec<Group>,
    pub(super) banks: Vec<String>,
    /// Outstanding today (fen), and of loans already non-performing.
    outstanding: i64,
    npl: i64,
    /// Paid in month 1: committed claims and the pipeline's claims (fen).
    pub(super) first: i64,
    /// The same per bank (and a last entry for new loans).
    first_by_bank: Vec<i64>,
    pub(super) cash: i64,
    suspend: f64,
    /// The credit scale in force (fen).
    scale: i64,
    pub(super) new: Option<NewLoans>,
    refill: Option<Refill>,
    /// The step a claim due at step t is paid in (`months`: past the
    /// horizon): the first batch's month end at or after it.
    pay_at: Vec<usize>,
}

pub(super) fn fen(y: Yuan) -> i64 {
    (y.0 * rust_decimal::Decimal::ONE_HUNDRED)
        .round()
        .try_into()
        .unwrap_or(i64::MAX)
}

pub(super) fn yuan(f: i64) -> Yuan {
    Yuan(rust_decimal::Decimal::new(f, 2))
}

/// The name new loans' claims are counted under (no bank id has brackets).
pub const NEW_LOANS: &str = "(new loans)";

/// The end of step `t` (0: the first month after `as_of`).
/// From a month end, steps end on month ends.
pub(super) fn step_end(as_of: NaiveDate, t: usize) -> NaiveDate {
    let d = as_of
        .checked_add_months(Months::new(t as u32 + 1))
        .unwrap_or(NaiveDate::MAX);
    if as_of == month_end(as_of) {
        month_end(d)
    } else {
        d
    }
}

/// `k` months before `as_of` (month end to month end).
pub(super) fn months_before(as_of: NaiveDate, k: u32) -> NaiveDate {
    let d = as_of
        .checked_sub_months(Months::new(k))
        .unwrap_or(NaiveDate::MIN);
    if as_of == month_end(as_of) {
        month_end(d)
    } else {
        d
    }
}

/// The step at whose end a loan maturing on `day` is due (`months`: not
/// within the horizon; 0 for one already past it).
fn step_of(as_of: NaiveDate, day: NaiveDate, months: usize) -> usize {
    (0..months)
        .find(|t| step_end(as_of, *t) >= day)
        .unwrap_or(months)
}

pub(super) fn live(book: &Book, as_of: NaiveDate, o: &Options) -> Live {
    let v = book.programme().version_on(as_of);
    let claim_of =
        |out: Yuan| Yuan(v.map_or(rust_decimal::Decimal::ZERO, |v| v.claim_of(out))).round_fen();
    let months = o.months as usize;
    let banks: Vec<String> = book.banks.keys().cloned().collect();
    let bank_of = |id: &str| banks.iter().position(|b| b == id).unwrap_or(0);
    let mut groups: BTreeMap<(usize, usize), Vec<Open>> = BTreeMap::new();
    let mut first_by_bank = vec![0i64; banks.len() + 1];
    for l in book.loans.values() {
        let s = crate::ledger::rolls::state_of(l);
        if l.in_pipeline() {
            first_by_bank[bank_of(&l.loan.bank_id)] += fen(claim_of(l.outstanding));
        } else if s < 4 && l.claim.is_none() && l.outstanding.0 > rust_decimal::Decimal::ZERO {
            let due = l
                .loan
                .disbursed
                .checked_add_months(Months::new(u32::from(l.loan.term_months)))
                .unwrap_or(NaiveDate::MAX);
            groups
                .entry((s, step_of(as_of, due, months)))
                .or_default()
                .push(Open {
                    bank: bank_of(&l.loan.bank_id),
                    claim: fen(claim_of(l.outstanding)),
                    outstanding: fen(l.outstanding),
                });
        }
    }
    for c in book.claims.values() {
        if c.status == crate::ledger::state::ClaimStatus::Approved {
            first_by_bank[bank_of(&c.bank_id)] += fen(c.owed());
        }
    }
    let groups = groups
        .into_iter()
        .map(|((state, matures), mut loans)| {
            // (a fixed order: the draws pick by position)
            loans.sort_by_key(|o| (o.bank, o.claim, o.outstanding));
            let mean = loans.iter().map(|o| o.outstanding).sum::<i64>() / loans.len() as i64;
            Group {
                state,
                matures,
                loans,
                mean,
            }
        })
        .collect();
    Live {
        groups,
        outstanding: fen(book.total.outstanding),
        npl: fen(book.total.npl),
        first: first_by_bank.iter().sum(),
        first_by_bank,
        new: new_loans(book, o, &claim_of),
        refill: refill(book, as_of, o),
        pay_at: pay_at(as_of, o),
        banks,
        cash: fen(book.cash),
        suspend: v.map_or(1.0, |v| {
            rust_decimal::prelude::ToPrimitive::to_f64(&v.breaker_suspend).unwrap_or(1.0)
        }),
        scale: v.map_or(0, |v| fen(v.credit_scale)),
    }
}

/// New lending of `o.new_lending` a month, in loans of the pool's mean
/// size and term so far.
fn new_loans(book: &Book, o: &Options, claim_of: &dyn Fn(Yuan) -> Yuan) -> Option<NewLoans> {
    let per_month = fen(o.new_lending?);
    let n = book.total.enrolled_loans;
    if per_month <= 0 || n == 0 {
        return None;
    }
    let size = fen(book.total.enrolled) / n as i64;
    let term = book
        .loans
        .values()
        .map(|l| u64::from(l.loan.term_months))
        .sum::<u64>()
        / n;
    Some(NewLoans {
        count: (per_month as f64 / size.max(1) as f64).round() as u64,
        size,
        claim: fen(claim_of(yuan(size))),
        term: term.max(1) as usize,
    })
}

/// For a claim due at each step (and past the horizon), the step its
/// batch is paid in.
fn pay_at(as_of: NaiveDate, o: &Options) -> Vec<usize> {
    let months = o.months as usize;
    let batch = o.claim_batch.max(1);
    (0..=months)
        .map(|due| {
            (due..months)
                .find(|s| step_end(as_of, *s).month().is_multiple_of(batch))
                .unwrap_or(months)
        })
        .collect()
}

/// The programme's top-up rule in force, with its year ends by step.
fn refill(book: &Book, as_of: NaiveDate, o: &Options) -> Option<Refill> {
    if !o.top_up_rule {
        return None;
    }
    let rule = book.programme().version_on(as_of)?.top_up.as_ref()?;
    let year_end = (0..o.months as usize)
        .map(|t| {
            let (from, to) = (
                if t == 0 {
                    as_of
                } else {
                    step_end(as_of, t - 1)
                },
                step_end(as_of, t),
            );
            // (a 31 December after the step's start, by its end)
            [to.year() - 1, to.year()]
                .into_iter()
                .filter_map(|y| NaiveDate::from_ymd_opt(y, 12, 31))
                .any(|d| from < d && d <= to)
        })
        .collect();
    Some(Refill {
        target: fen(rule.target),
        below: rule
            .below_share
            .and_then(|s| rust_decimal::prelude::ToPrimitive::to_f64(&s)),
        year_end,
    })
}

/// One scenario's path.
pub(super) struct Path {
    /// Cash at each month end, after the rule's refill (fen; negative:
    /// claims unpaid).
    pub(super) cash: Vec<i64>,
    /// The first month the cash fell short of a claim.
    pub(super) exhausted: Option<u32>,
    pub(super) tripped: Option<u32>,
    pub(super) claims: i64,
    pub(super) by_bank: Vec<i64>,
    /// The cash today would have needed to never fall short (fen, ≥ 0;
    /// `i64::MAX` when it falls short after the rule's refill, which
    /// today's cash does not change).
    pub(super) shortfall: i64,
    /// The rule's top-up in each month (fen).
    pub(super) topped: Vec<i64>,
    /// New lending enrolled over the horizon (fen).
    pub(super) lent: i64,
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

/// How many of `n` loans starting in state `s` at step `from` default and
/// repay in each step `from..months` under the month matrices `mats`; a
/// loan still current at the end of step `matures` or later repays.
fn counts(
    n: u64,
    s: usize,
    from: usize,
    matures: usize,
    mats: &[[[f64; 6]; 4]],
    rng: &mut ChaCha8Rng,
) -> Vec<(u64, u64)> {
    // the chance it defaults, or repays, in each step
    let mut p = [0.0f64; 6];
    p[s] = 1.0;
    let steps = mats.len().saturating_sub(from);
    let (mut d, mut r) = (vec![0.0; steps], vec![0.0; steps]);
    for (i, mat) in mats[from..].iter().enumerate() {
        let mut q = [0.0f64; 6];
        for (a, row) in mat.iter().enumerate() {
            for (b, x) in row.iter().enumerate() {
                q[b] += p[a] * x;
            }
        }
        if from + i >= matures {
            (q[5], q[0]) = (q[5] + q[0], 0.0);
        }
        (d[i], r[i]) = (q[4], q[5]);
        (q[4], q[5]) = (0.0, 0.0);
        p = q;
    }
    // sequential binomials
    let (mut left, mut alive) = (n, 1.0f64);
    (0..steps)
        .map(|t| {
            let kd = draw(left, d[t] / alive, rng);
            left -= kd;
            let kr = draw(left, r[t] / (alive - d[t]).max(1e-300), rng);
            left -= kr;
            alive = (alive - d[t] - r[t]).max(0.0);
            (kd, kr)
        })
        .collect()
}

/// Per step: claims paid (index t: in month t + 1; the last index gathers
/// those due past the horizon), outstanding defaulted and repaid.
struct Flows {
    paid: Vec<i64>,
    defaulted: Vec<i64>,
    repaid: Vec<i64>,
}

impl Flows {
    fn new(months: usize) -> Flows {
        Flows {
            paid: vec![0; months + 1],
            defaulted: vec![0; months],
            repaid: vec![0; months],
        }
    }
}

pub(super) fn scenario(
    live: &Live,
    m: &[[f64; 6]; 4],
    o: &Options,
    k: u64,
    bits: &mut Vec<u64>,
) -> Path {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed.wrapping_add(k));
    let n = Normal::standard();
    let months = o.months as usize;
    let lag = o.claim_lag as usize;
    let z: Vec<f64> = (0..months)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let mats: Vec<[[f64; 6]; 4]> = z.iter().map(|z| conditional(m, *z, o.rho, &n)).collect();
    let mut f = Flows::new(months);
    let mut by_bank = live.first_by_bank.clone();
    f.paid[0] = live.first;
    for g in &live.groups {
        let c = counts(g.loans.len() as u64, g.state, 0, g.matures, &mats, &mut rng);
        // which loans default: drawn, each its own claim; the repaid ones
        // count at the group's mean balance (they only move the breaker's
        // denominator)
        let total: usize = c.iter().map(|c| c.0 as usize).sum();
        let chosen = pick(g.loans.len(), total, &mut rng, bits);
        let mut at = 0;
        for (t, (kd, kr)) in c.into_iter().enumerate() {
            for &i in &chosen[at..at + kd as usize] {
                let l = &g.loans[i];
                f.defaulted[t] += l.outstanding;
                f.paid[live.pay_at[(t + lag).min(months)]] += l.claim;
                by_bank[l.bank] += l.claim;
            }
            f.repaid[t] += g.mean * kr as i64;
            at += kd as usize;
        }
    }
    // each month's new loans, lent in it, current at its end: their flows
    // apart, taken in only if the walk finds them lent
    let cohorts: Vec<Flows> = match &live.new {
        None => Vec::new(),
        Some(nl) => (0..months)
            .map(|c| {
                let mut cf = Flows::new(months);
                let steps = counts(nl.count, 0, c + 1, c + nl.term, &mats, &mut rng);
                for (i, (kd, kr)) in steps.into_iter().enumerate() {
                    let t = c + 1 + i;
                    cf.defaulted[t] += nl.size * kd as i64;
                    cf.paid[live.pay_at[(t + lag).min(months)]] += nl.claim * kd as i64;
                    cf.repaid[t] += nl.size * kr as i64;
                }
                cf
            })
            .collect(),
    };
    walk(live, o, f, &cohorts, by_bank)
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

/// The cash, the breaker and the new lending month by month, given the
/// flows of today's loans and of each month's new loans (lent in their
/// month while the breaker has not tripped and the scale allows), the
/// rule's refills after each month's claims.
fn walk(live: &Live, o: &Options, mut f: Flows, cohorts: &[Flows], mut by_bank: Vec<i64>) -> Path {
    let months = o.months as usize;
    let rec_lag = o.recovery_lag as usize;
    let (mut cash, mut out, mut npl) = (live.cash, live.outstanding, live.npl);
    let (mut path, mut topped) = (Vec::with_capacity(months), vec![0i64; months]);
    let (mut tripped, mut exhausted, mut refilled) = (None, None, false);
    let (mut low, mut incurable, mut lent) = (0i64, false, 0i64);
    let new_bank = by_bank.len() - 1;
    for (t, top) in topped.iter_mut().enumerate() {
        cash -= f.paid[t];
        if t >= rec_lag {
            cash += (f.paid[t - rec_lag] as f64 * o.recovery_rate).round() as i64;
        }
        out -= f.repaid[t];
        npl += f.defaulted[t];
        if tripped.is_none() && out > 0 && npl as f64 >= live.suspend * out as f64 {
            tripped = Some(t as u32 + 1);
        }
        if let (Some(nl), Some(cf)) = (&live.new, cohorts.get(t)) {
            let amount = nl.size * nl.count as i64;
            if tripped.is_none() && out + amount <= live.scale {
                out += amount;
                lent += amount;
                for (mine, theirs) in [
                    (&mut f.defaulted, &cf.defaulted),
                    (&mut f.repaid, &cf.repaid),
                    (&mut f.paid, &cf.paid),
                ] {
                    for (a, b) in mine[t..].iter_mut().zip(&theirs[t..]) {
                        *a += b;
                    }
                }
                by_bank[new_bank] += cf.paid.iter().sum::<i64>();
            }
        }
        if cash < 0 {
            exhausted.get_or_insert(t as u32 + 1);
            // (cash added today is taken back by the rule's first refill)
            if refilled {
                incurable = true;
            } else {
                low = low.min(cash);
            }
        }
        if let Some(r) = &live.refill {
            let due = r.year_end[t] || r.below.is_some_and(|s| (cash as f64) < s * out as f64);
            if due && cash < r.target {
                (*top, cash, refilled) = (r.target - cash, r.target, true);
            }
        }
        path.push(cash);
    }
    Path {
        cash: path,
        exhausted,
        tripped,
        claims: by_bank.iter().sum(),
        by_bank,
        shortfall: if incurable { i64::MAX } else { -low },
        topped,
        lent,
    }
}
