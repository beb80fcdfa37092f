//! Subsidy cost per cohort, measured as the US Federal Credit Reform Act
//! measures a guarantee programme's: for the loans enrolled in one year,
//! the present value of the pool's claim payments less the recoveries it
//! gets back, discounted on a government yield curve given as data (the
//! 国债 curve, by analogy with FCRA's Treasury rates: no Chinese rule
//! prescribes a rate). Flows already recorded count as they happened;
//! those still to come count at their expectation under the roll-rate
//! chain of the pool's own history ([`super::rolls`]): the expected chain
//! of the projection (its factor averages out of an expectation).
//!
//! Each cohort has its original estimate, made at the end of its
//! enrolment year with what the ledger knew then, and its re-estimate as
//! of the date asked, from the actual flows to date and the expected rest:
//! the re-estimate beside the original, as FCRA's yearly re-estimates are
//! shown. Not counted: administrative costs (FCRA leaves them out too),
//! fees and interest subsidies (the ledger holds none), interest on the
//! pool's cash, amortisation and new lending. A loan runs its term: past
//! its maturity a current loan is taken as repaid, one behind may still
//! default.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::event::{Event, EventKind};
use super::history::Each;
use super::rolls::{self, Prior};
use super::rules::Programme;
use super::state::{ClaimStatus, key};
use crate::kernel::money::Yuan;

/// A yield curve: annual yields (compounded yearly) by term in years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Curve {
    /// What it is.
    pub name: String,
    /// Where its figures come from.
    pub source: String,
    /// Whether its figures are a stated default rather than a published
    /// curve of the valuation date.
    #[serde(default)]
    pub uncertain: bool,
    /// (term in years, yield as a fraction), terms rising.
    pub points: Vec<(f64, f64)>,
}

/// The built-in curve (`src/ledger/curve.toml`).
const BUILTIN: &str = include_str!("curve.toml");

impl Curve {
    /// The built-in curve, a stated default flagged uncertain.
    pub fn builtin() -> Curve {
        Curve::parse(BUILTIN).unwrap_or_else(|_| Curve {
            name: "flat 2%".into(),
            source: "the built-in curve could not be read".into(),
            uncertain: true,
            points: vec![(1.0, 0.02)],
        })
    }

    /// A curve from TOML (`name`, `source`, `uncertain`, `points = [[term,
    /// yield], …]`), checked: at least one point, terms above zero and
    /// rising, yields from -5% to 50%.
    pub fn parse(text: &str) -> Result<Curve, String> {
        let c: Curve = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            format!("line {line}: {}", e.message())
        })?;
        if c.points.is_empty() {
            return Err("points: at least one (term, yield) is needed".into());
        }
        for (i, (t, y)) in c.points.iter().enumerate() {
            if !(t.is_finite() && *t > 0.0) || i > 0 && *t <= c.points[i - 1].0 {
                return Err(format!(
                    "points[{i}]: terms must be above zero and rising (got {t})"
                ));
            }
            if !(y.is_finite() && (-0.05..=0.5).contains(y)) {
                return Err(format!(
                    "points[{i}]: a yield is a fraction from -0.05 to 0.5 (got {y})"
                ));
            }
        }
        Ok(c)
    }

    /// The yield for a term (linear between points, flat beyond them).
    pub fn yield_at(&self, years: f64) -> f64 {
        let p = &self.points;
        let Some(i) = p.iter().position(|(t, _)| *t >= years) else {
            return p.last().map_or(0.0, |x| x.1);
        };
        if i == 0 {
            return p[0].1;
        }
        let ((t0, y0), (t1, y1)) = (p[i - 1], p[i]);
        y0 + (y1 - y0) * (years - t0) / (t1 - t0)
    }

    /// The discount factor for money `years` ahead (1 for today or
    /// before).
    pub fn discount(&self, years: f64) -> f64 {
        if years <= 0.0 {
            return 1.0;
        }
        (1.0 + self.yield_at(years)).powf(-years)
    }
}

/// How the flows to come are timed and sized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Options {
    /// Months from a default to its claim being paid.
    pub claim_lag: u32,
    /// The share of a claim the pool gets back.
    pub recovery_rate: f64,
    /// Months from a claim's payment to its recovery.
    pub recovery_lag: u32,
    /// The prior of the roll rates.
    pub prior: Prior,
}

impl Default for Options {
    fn default() -> Self {
        let p = super::project::Options::default();
        Options {
            claim_lag: p.claim_lag,
            recovery_rate: p.recovery_rate,
            recovery_lag: p.recovery_lag,
            prior: Prior::default(),
        }
    }
}

/// One estimate of a cohort's cost, every amount a present value at the
/// first day of the cohort's year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Made with what the ledger knew on this day.
    pub as_of: NaiveDate,
    /// Claims paid by then.
    pub claims_paid: Yuan,
    /// Recoveries returned by then.
    pub recovered: Yuan,
    /// Claims expected after then.
    pub expected_claims: Yuan,
    /// Recoveries expected after then.
    pub expected_recoveries: Yuan,
    /// The subsidy cost: claims less recoveries.
    pub cost: Yuan,
    /// The cost ÷ the principal enrolled.
    pub rate: f64,
}

/// A cohort: the loans enrolled in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cohort {
    /// The year.
    pub year: i32,
    /// Loans enrolled.
    pub loans: u64,
    /// Principal enrolled.
    pub enrolled: Yuan,
    /// At the end of the year (or as of the date asked, if the year has
    /// not ended by then).
    pub original: Estimate,
    /// As of the date asked, when the year ended before it.
    pub reestimate: Option<Estimate>,
}

/// The subsidy cost of every cohort of a pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubsidyCost {
    /// The date asked.
    pub as_of: NaiveDate,
    /// The curve.
    pub curve: Curve,
    /// The options.
    pub options: Options,
    /// Oldest first.
    pub cohorts: Vec<Cohort>,
}

/// What a cohort's flows sum to, before rounding (fen as `f64`).
#[derive(Default, Clone)]
struct Sums {
    loans: u64,
    enrolled: Decimal,
    paid: f64,
    recovered: f64,
    expected_claims: f64,
    expected_recoveries: f64,
}

/// The chance a loan in open state `s` defaults in month t = 1, 2, … under
/// the monthly matrix `m`, its term ending after `left` months: from then
/// on a current loan is repaid (one behind may still default). Counted
/// until what is left open is below 1e-12, at most 12,000 months.
fn default_times(m: &[[f64; 6]; 4], s: usize, left: u32) -> Vec<f64> {
    let mut matured = *m;
    matured[0] = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
    let mut p = [0.0f64; 6];
    p[s] = 1.0;
    let mut out = Vec::new();
    while out.len() < 12_000 && p[..4].iter().sum::<f64>() > 1e-12 {
        let step = if out.len() < left as usize {
            m
        } else {
            &matured
        };
        let mut q = [0.0f64; 6];
        for (i, row) in step.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                q[j] += p[i] * x;
            }
        }
        out.push(q[4]);
        (q[4], q[5]) = (0.0, 0.0);
        p = q;
    }
    out
}

/// The months after `as_of` a loan of `term` months lent on `disbursed`
/// still runs: the most whole months t with `as_of` + t months at or
/// before its maturity.
fn months_left(as_of: NaiveDate, disbursed: NaiveDate, term: u16) -> u32 {
    let Some(end) = disbursed.checked_add_months(chrono::Months::new(u32::from(term))) else {
        return 0;
    };
    let mut t = ((end.year() - as_of.year()) * 12 + end.month() as i32 - as_of.month() as i32)
        .max(0) as u32;
    while t > 0
        && as_of
            .checked_add_months(chrono::Months::new(t))
            .is_none_or(|d| d > end)
    {
        t -= 1;
    }
    t
}

fn years(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64 / 365.25
}

fn fen(y: Decimal) -> f64 {
    (y * Decimal::ONE_HUNDRED).to_f64().unwrap_or(0.0)
}

fn money(f: f64) -> Yuan {
    Yuan(Decimal::from_f64_retain(f.round()).unwrap_or_default() / Decimal::ONE_HUNDRED)
}

/// The claims still to come of the cohorts' loans on `as_of` (fen), by
/// cohort, state (4: due next month — at the trigger, charged off, or
/// claimed and not yet paid) and months left to maturity.
fn open_claims(
    book: &super::state::Book,
    cohort: &HashMap<String, i32>,
    as_of: NaiveDate,
    v: Option<&super::rules::RuleVersion>,
) -> BTreeMap<(i32, usize, u32), f64> {
    let mut open = BTreeMap::new();
    for l in book.loans.values() {
        let Some(&y) = cohort.get(&key(&l.loan.bank_id, &l.loan.loan_id)) else {
            continue;
        };
        let live = l
            .claim
            .as_ref()
            .and_then(|c| book.claim(&l.loan.bank_id, c));
        let claim = match live {
            // a claim filed or approved and not paid in full: the rest
            Some(c) if matches!(c.status, ClaimStatus::Filed | ClaimStatus::Approved) => {
                fen(c.owed().0)
            }
            Some(_) => continue,
            None => fen(v.map_or(Decimal::ZERO, |v| v.claim_of(l.outstanding))),
        };
        let state = if live.is_some() {
            4
        } else {
            rolls::state_of(l)
        };
        if state <= 4 {
            let left = if state < 4 {
                months_left(as_of, l.loan.disbursed, l.loan.term_months)
            } else {
                0
            };
            *open.entry((y, state, left)).or_default() += claim;
        }
    }
    open
}

/// Each loan's cohort (its enrolment year) and each claim's loan, as the
/// log goes by.
#[derive(Default)]
struct Cohorts {
    cohort: HashMap<String, i32>,
    claim_loan: HashMap<String, String>,
}

impl Cohorts {
    /// Event `e`'s cash flow: its cohort, the claim paid and the recovery
    /// (fen); an enrolment is counted into its cohort's `sums`.
    fn flow(&mut self, e: &Event, sums: &mut BTreeMap<i32, Sums>) -> Option<(i32, f64, f64)> {
        match &e.kind {
            EventKind::LoanEnrolled(l) => {
                let y = e.effective.year();
                self.cohort.insert(key(&l.bank_id, &l.loan_id), y);
                let s = sums.entry(y).or_default();
                s.loans += 1;
                s.enrolled += l.amount.0;
                None
            }
            EventKind::ClaimFiled {
                bank_id,
                claim_id,
                loan_id,
                ..
            } => {
                self.claim_loan
                    .insert(key(bank_id, claim_id), key(bank_id, loan_id));
                None
            }
            EventKind::ClaimPaid {
                bank_id,
                claim_id,
                amount,
            } => self
                .claim_loan
                .get(&key(bank_id, claim_id))
                .and_then(|l| self.cohort.get(l))
                .map(|y| (*y, fen(amount.0), 0.0)),
            EventKind::RecoveryReported {
                bank_id,
                loan_id,
                pool_part,
                ..
            } => self
                .cohort
                .get(&key(bank_id, loan_id))
                .map(|y| (*y, 0.0, fen(pool_part.0))),
            _ => None,
        }
    }
}

/// Every cohort's estimate with what the ledger knew on `as_of` (the
/// events `each` hands: those that took effect by then), by year.
fn estimate_at<E>(
    programme: &Arc<Programme>,
    each: impl Each<E>,
    as_of: NaiveDate,
    curve: &Curve,
    o: &Options,
) -> Result<BTreeMap<i32, (Sums, NaiveDate)>, E> {
    // (each loan's cohort, each claim's loan, and the flows so far)
    let mut cohorts = Cohorts::default();
    let mut sums: BTreeMap<i32, Sums> = BTreeMap::new();
    let start = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(as_of);
    let tee = |f: &mut dyn FnMut(&Event)| {
        each(&mut |e: &Event| {
            let flow = cohorts.flow(e, &mut sums);
            if let Some((y, paid, back)) = flow {
                let df = curve.discount(years(start(y), e.effective));
                let s = sums.entry(y).or_default();
                s.paid += paid * df;
                s.recovered += back * df;
            }
            f(e);
        })
    };
    let (rates, book) = rolls::estimate_from(programme, tee, as_of, &o.prior)?;
    let v = programme.version_on(as_of);
    let open = open_claims(&book, &cohorts.cohort, as_of, v);
    let m = super::project::matrix(&rates);
    let mut times: HashMap<(usize, u32), Vec<f64>> = HashMap::new();
    // (years from the cohort's first day to `months` after `as_of`)
    let at = |y: i32, months: u32| years(start(y), as_of) + f64::from(months) / 12.0;
    for ((y, s, left), claim) in open {
        let (mut claims, mut back) = (0.0, 0.0);
        if s == 4 {
            (claims, back) = (
                curve.discount(at(y, 1)),
                curve.discount(at(y, 1 + o.recovery_lag)),
            );
        } else {
            let times = times
                .entry((s, left))
                .or_insert_with(|| default_times(&m, s, left));
            for (t, p) in times.iter().enumerate() {
                let paid = t as u32 + 1 + o.claim_lag;
                claims += p * curve.discount(at(y, paid));
                back += p * curve.discount(at(y, paid + o.recovery_lag));
            }
        }
        let e = sums.entry(y).or_default();
        e.expected_claims += claim * claims;
        e.expected_recoveries += o.recovery_rate * claim * back;
    }
    Ok(sums.into_iter().map(|(y, s)| (y, (s, as_of))).collect())
}

fn estimate(s: &Sums, as_of: NaiveDate) -> Estimate {
    let cost = s.paid - s.recovered + s.expected_claims - s.expected_recoveries;
    let enrolled = fen(s.enrolled);
    Estimate {
        as_of,
        claims_paid: money(s.paid),
        recovered: money(s.recovered),
        expected_claims: money(s.expected_claims),
        expected_recoveries: money(s.expected_recoveries),
        cost: money(cost),
        rate: if enrolled > 0.0 { cost / enrolled } else { 0.0 },
    }
}

/// The subsidy cost of every cohort of a pool as of `as_of`: its
/// re-estimate then, beside its original estimate at the end of its year;
/// `log(d)` hands the pool's events that took effect by `d`, in order (one
/// pass for the date asked and one for each earlier year end).
pub fn subsidy_cost<E, S: Each<E>>(
    programme: &Arc<Programme>,
    log: impl Fn(NaiveDate) -> S,
    as_of: NaiveDate,
    curve: &Curve,
    o: &Options,
) -> Result<SubsidyCost, E> {
    let now = estimate_at(programme, log(as_of), as_of, curve, o)?;
    let mut cohorts = Vec::new();
    for (&year, (s, _)) in &now {
        let end = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(as_of);
        let (original, reestimate) = if end < as_of {
            let then = estimate_at(programme, log(end), end, curve, o)?;
            let first = then.get(&year).map(|x| estimate(&x.0, end));
            (
                first.unwrap_or_else(|| estimate(&Sums::default(), end)),
                Some(estimate(s, as_of)),
            )
        } else {
            (estimate(s, as_of), None)
        };
        cohorts.push(Cohort {
            year,
            loans: s.loans,
            enrolled: Yuan(s.enrolled),
            original,
            reestimate,
        });
    }
    Ok(SubsidyCost {
        as_of,
        curve: curve.clone(),
        options: o.clone(),
        cohorts,
    })
}

#[cfg(test)]
#[path = "subsidy_tests.rs"]
mod tests;
