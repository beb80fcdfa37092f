//! The pool's state on a date: a fold over its events in the order they
//! took effect (then the order recorded). Nothing here is stored; a cache
//! of the fold may speed it, never change it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::event::{Event, EventKind, Loan};
use super::rules::Programme;
use crate::kernel::money::Yuan;

/// Days-past-due buckets: current, 1–30, 31–60, 61–90, over 90.
pub const BUCKETS: [&str; 5] = ["current", "1-30", "31-60", "61-90", "90+"];

fn bucket(dpd: u32) -> usize {
    match dpd {
        0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

fn add(a: &mut Yuan, b: Yuan) {
    a.0 += b.0;
}

fn sub(a: &mut Yuan, b: Yuan) {
    a.0 -= b.0;
}

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Filed, not yet reviewed.
    Filed,
    /// Approved; paid in part or not yet.
    Approved,
    /// Denied.
    Denied,
    /// Paid in full.
    Paid,
}

/// A claim as the fold knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// Its id.
    pub claim_id: String,
    /// The loan.
    pub loan_id: String,
    /// The bank.
    pub bank_id: String,
    /// Its status.
    pub status: ClaimStatus,
    /// Principal outstanding at default.
    pub outstanding_at_default: Yuan,
    /// What the pool owes.
    pub claimable: Yuan,
    /// Paid so far.
    pub paid: Yuan,
}

impl Claim {
    /// What is still owed on it.
    pub fn owed(&self) -> Yuan {
        Yuan(self.claimable.0 - self.paid.0)
    }
}

/// A loan as the fold knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanState {
    /// The loan as enrolled.
    pub loan: Loan,
    /// Principal outstanding.
    pub outstanding: Yuan,
    /// Days past due.
    pub dpd: u32,
    /// Written off.
    pub charged_off: bool,
    /// Repaid in full.
    pub repaid: bool,
    /// Its live claim (not denied), if any.
    pub claim: Option<String>,
    /// Days past due at which it may be claimed (its version's trigger).
    pub trigger: u32,
}

impl LoanState {
    /// Whether the loan counts as non-performing (past the claim trigger or
    /// charged off).
    pub fn npl(&self) -> bool {
        !self.repaid && (self.charged_off || self.dpd >= self.trigger)
    }

    /// Whether the loan is in the pipeline: non-performing, something
    /// outstanding, no live claim yet.
    pub fn in_pipeline(&self) -> bool {
        self.claim.is_none() && self.npl() && !self.outstanding.0.is_zero()
    }
}

/// Figures of the whole pool or of one bank.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Loans enrolled, ever.
    pub enrolled_loans: u64,
    /// Principal enrolled, ever.
    pub enrolled: Yuan,
    /// Principal outstanding.
    pub outstanding: Yuan,
    /// Outstanding per bucket (see [`BUCKETS`]).
    pub buckets: [Yuan; 5],
    /// Outstanding of loans past the trigger or charged off.
    pub npl: Yuan,
    /// Claims paid, ever (amount).
    pub claims_paid: Yuan,
    /// Claims paid at least in part, ever (count).
    pub claims_paid_loans: u64,
    /// The pool's part of recoveries, ever.
    pub recovered: Yuan,
    /// Loans at or past the trigger with no claim yet.
    pub pipeline_loans: u64,
    /// Their outstanding.
    pub pipeline: Yuan,
    /// Approved claims not yet paid in full: what is still owed.
    pub committed: Yuan,
}

impl Figures {
    fn take(&mut self, l: &LoanState) {
        sub(&mut self.outstanding, l.outstanding);
        sub(
            &mut self.buckets[bucket(if l.charged_off { u32::MAX } else { l.dpd })],
            l.outstanding,
        );
        if l.npl() {
            sub(&mut self.npl, l.outstanding);
        }
        if l.in_pipeline() {
            self.pipeline_loans -= 1;
            sub(&mut self.pipeline, l.outstanding);
        }
    }

    fn put(&mut self, l: &LoanState) {
        add(&mut self.outstanding, l.outstanding);
        add(
            &mut self.buckets[bucket(if l.charged_off { u32::MAX } else { l.dpd })],
            l.outstanding,
        );
        if l.npl() {
            add(&mut self.npl, l.outstanding);
        }
        if l.in_pipeline() {
            self.pipeline_loans += 1;
            add(&mut self.pipeline, l.outstanding);
        }
    }

    /// `c` counted out of the committed claims.
    fn take_claim(&mut self, c: &Claim) {
        if c.status == ClaimStatus::Approved {
            sub(&mut self.committed, c.owed());
        }
    }

    /// `c` counted into the committed claims.
    fn put_claim(&mut self, c: &Claim) {
        if c.status == ClaimStatus::Approved {
            add(&mut self.committed, c.owed());
        }
    }

    /// 不良率: non-performing over outstanding (`None` with nothing out).
    pub fn npl_rate(&self) -> Option<Decimal> {
        (self.outstanding.0 > Decimal::ZERO).then(|| self.npl.0 / self.outstanding.0)
    }
}

/// A breaker's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below the warn level.
    Normal,
    /// At or above the warn level.
    Warning,
    /// At or above the suspend level: no new enrolment until the bureau
    /// resumes it with the rate back below.
    Suspended,
}

/// A breaker (the programme's or one bank's) and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breaker {
    /// Its level now.
    pub level: Level,
    /// Each change: the day and the new level.
    pub history: Vec<(NaiveDate, Level)>,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            level: Level::Normal,
            history: Vec::new(),
        }
    }
}

impl Breaker {
    fn set(&mut self, d: NaiveDate, level: Level) {
        if level != self.level {
            self.level = level;
            self.history.push((d, level));
        }
    }

    /// After the metric moved to `rate` on `d`: a suspension holds until
    /// resumed.
    fn evaluate(&mut self, d: NaiveDate, rate: Option<Decimal>, warn: Decimal, suspend: Decimal) {
        if self.level == Level::Suspended {
            return;
        }
        let r = rate.unwrap_or(Decimal::ZERO);
        let level = if r >= suspend {
            Level::Suspended
        } else if r >= warn {
            Level::Warning
        } else {
            Level::Normal
        };
        self.set(d, level);
    }

    fn resume(&mut self, d: NaiveDate, rate: Option<Decimal>, warn: Decimal) {
        let warned = rate.is_some_and(|r| r >= warn);
        self.set(
            d,
            if warned {
                Level::Warning
            } else {
                Level::Normal
            },
        );
    }
}

/// The pool folded over its events so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    programme: Arc<Programme>,
    /// Loans by id.
    pub loans: HashMap<String, LoanState>,
    /// Claims by id.
    pub claims: HashMap<String, Claim>,
    /// Outstanding per borrower (credit code), over every bank.
    pub firms: HashMap<String, Yuan>,
    /// Cash held.
    pub cash: Yuan,
    /// Capital put in (injections and top-ups, less withdrawals).
    pub capital: Yuan,
    /// Interest credited, ever.
    pub interest: Yuan,
    /// Over every bank.
    pub total: Figures,
    /// Per bank.
    pub banks: BTreeMap<String, Figures>,
    /// The programme's breaker.
    pub breaker: Breaker,
    /// Each bank's breaker.
    pub bank_breakers: BTreeMap<String, Breaker>,
    /// The last day cash moved, over every event known.
    pub last_cash: Option<NaiveDate>,
    /// The last day an event folded took effect.
    pub last_effective: Option<NaiveDate>,
}

impl Book {
    /// An empty pool of `programme`.
    pub fn new(programme: Arc<Programme>) -> Book {
        Book {
            programme,
            loans: HashMap::new(),
            claims: HashMap::new(),
            firms: HashMap::new(),
            cash: Yuan::ZERO,
            capital: Yuan::ZERO,
            interest: Yuan::ZERO,
            total: Figures::default(),
            banks: BTreeMap::new(),
            breaker: Breaker::default(),
            bank_breakers: BTreeMap::new(),
            last_cash: None,
            last_effective: None,
        }
    }

    /// The programme.
    pub fn programme(&self) -> &Programme {
        &self.programme
    }

    /// Folds `events` (any order) that took effect by `as_of` and were
    /// recorded by `known` (`None`: every one recorded).
    pub fn fold(
        programme: &Arc<Programme>,
        events: &[Event],
        as_of: NaiveDate,
        known: Option<&str>,
    ) -> Book {
        let mut picked: Vec<&Event> = events
            .iter()
            .filter(|e| e.effective <= as_of && known.is_none_or(|k| e.recorded_at.as_str() <= k))
            .collect();
        picked.sort_by_key(|e| (e.effective, e.seq));
        let mut b = Book::new(programme.clone());
        for e in picked {
            b.apply(e);
        }
        // (over every event known, whatever its date: no cash movement may
        // be dated before one already recorded)
        b.last_cash = events
            .iter()
            .filter(|e| e.kind.moves_cash() && known.is_none_or(|k| e.recorded_at.as_str() <= k))
            .map(|e| e.effective)
            .max();
        b
    }

    /// Whether event `e` is about loan `loan` and bank `bank` (each when
    /// given), by the loans and claims this book holds (a claim's events
    /// are its loan's; a bank's resumption is the bank's; cash is no
    /// loan's nor bank's).
    pub fn is_about(&self, e: &Event, loan: Option<&str>, bank: Option<&str>) -> bool {
        let loan_of = match &e.kind {
            EventKind::ClaimApproved { claim_id }
            | EventKind::ClaimDenied { claim_id, .. }
            | EventKind::ClaimPaid { claim_id, .. } => {
                self.claims.get(claim_id).map(|c| c.loan_id.as_str())
            }
            k => k.loan_id(),
        };
        let bank_of = match &e.kind {
            EventKind::BreakerResumed { bank } => bank.as_deref(),
            _ => loan_of
                .and_then(|l| self.loans.get(l))
                .map(|l| l.loan.bank_id.as_str()),
        };
        loan.is_none_or(|l| loan_of == Some(l)) && bank.is_none_or(|b| bank_of == Some(b))
    }

    /// The fold of the events `each` hands in order, with `last_cash`, the
    /// last day cash moved over every event known (which a caller holding
    /// the whole log's fold has).
    pub fn fold_from<E>(
        programme: &Arc<Programme>,
        each: impl super::history::Each<E>,
        last_cash: Option<NaiveDate>,
    ) -> Result<Book, E> {
        let mut b = Book::new(programme.clone());
        each(&mut |e: &Event| b.apply(e))?;
        b.last_cash = last_cash;
        Ok(b)
    }

    /// The loan `id`'s state and its bank's figures, changed by `f`.
    fn change_loan(&mut self, id: &str, f: impl FnOnce(&mut LoanState)) -> Option<String> {
        let l = self.loans.get_mut(id)?;
        let bank = l.loan.bank_id.clone();
        let figures = self.banks.entry(bank.clone()).or_default();
        let firm = self.firms.entry(l.loan.credit_code.clone()).or_default();
        figures.take(l);
        self.total.take(l);
        sub(firm, l.outstanding);
        f(l);
        figures.put(l);
        self.total.put(l);
        add(firm, l.outstanding);
        Some(bank)
    }

    /// Applies one event (events must come in effective order).
    pub fn apply(&mut self, e: &Event) {
        let d = e.effective;
        self.last_effective = Some(d);
        if e.kind.moves_cash() {
            self.last_cash = self.last_cash.max(Some(d));
        }
        let moved = match &e.kind {
            EventKind::CapitalInjected { amount } | EventKind::TopUp { amount } => {
                add(&mut self.cash, *amount);
                add(&mut self.capital, *amount);
                None
            }
            EventKind::Withdrawal { amount } => {
                sub(&mut self.cash, *amount);
                sub(&mut self.capital, *amount);
                None
            }
            EventKind::InterestCredited { amount } => {
                add(&mut self.cash, *amount);
                add(&mut self.interest, *amount);
                None
            }
            EventKind::LoanEnrolled(loan) => Some(self.enrol(loan)),
            EventKind::LoanStatus {
                loan_id,
                outstanding,
                days_past_due,
            } => self.change_loan(loan_id, |l| {
                l.outstanding = *outstanding;
                l.dpd = *days_past_due;
            }),
            EventKind::LoanRepaid { loan_id } => self.change_loan(loan_id, |l| {
                l.outstanding = Yuan::ZERO;
                l.dpd = 0;
                l.repaid = true;
            }),
            EventKind::LoanChargedOff { loan_id } => {
                self.change_loan(loan_id, |l| l.charged_off = true)
            }
            EventKind::BreakerResumed { bank } => {
                self.resume(d, bank.as_deref());
                None
            }
            other => {
                self.claim_event(other);
                None
            }
        };
        if let Some(bank) = moved {
            self.evaluate(d, &bank);
        }
    }

    fn enrol(&mut self, loan: &Loan) -> String {
        let trigger = self
            .programme
            .version_from(loan.version_from)
            .map_or(90, |v| v.claim_trigger_days);
        let l = LoanState {
            loan: loan.clone(),
            outstanding: loan.amount,
            dpd: 0,
            charged_off: false,
            repaid: false,
            claim: None,
            trigger,
        };
        for f in [
            &mut self.total,
            self.banks.entry(loan.bank_id.clone()).or_default(),
        ] {
            f.enrolled_loans += 1;
            add(&mut f.enrolled, loan.amount);
            f.put(&l);
        }
        add(
            self.firms.entry(loan.credit_code.clone()).or_default(),
            loan.amount,
        );
        self.loans.insert(loan.loan_id.clone(), l);
        loan.bank_id.clone()
    }

    fn levels(&self, d: NaiveDate) -> (Decimal, Decimal) {
        self.programme
            .version_on(d)
            .or(self.programme.versions.first())
            .map_or((Decimal::ONE, Decimal::ONE), |v| {
                (v.breaker_warn, v.breaker_suspend)
            })
    }

    fn evaluate(&mut self, d: NaiveDate, bank: &str) {
        let (warn, suspend) = self.levels(d);
        self.breaker
            .evaluate(d, self.total.npl_rate(), warn, suspend);
        let rate = self.banks.get(bank).and_then(Figures::npl_rate);
        self.bank_breakers
            .entry(bank.to_string())
            .or_default()
            .evaluate(d, rate, warn, suspend);
    }

    fn resume(&mut self, d: NaiveDate, bank: Option<&str>) {
        let (warn, _) = self.levels(d);
        match bank {
            None => self.breaker.resume(d, self.total.npl_rate(), warn),
            Some(b) => {
                let rate = self.banks.get(b).and_then(Figures::npl_rate);
                self.bank_breakers
                    .entry(b.to_string())
                    .or_default()
                    .resume(d, rate, warn);
            }
        }
    }

    fn claim_event(&mut self, kind: &EventKind) {
        match kind {
            EventKind::ClaimFiled {
                claim_id,
                loan_id,
                outstanding_at_default,
                claimable,
            } => {
                let Some(bank) = self.change_loan(loan_id, |l| l.claim = Some(claim_id.clone()))
                else {
                    return;
                };
                self.claims.insert(
                    claim_id.clone(),
                    Claim {
                        claim_id: claim_id.clone(),
                        loan_id: loan_id.clone(),
                        bank_id: bank,
                        status: ClaimStatus::Filed,
                        outstanding_at_default: *outstanding_at_default,
                        claimable: *claimable,
                        paid: Yuan::ZERO,
                    },
                );
            }
            EventKind::ClaimApproved { claim_id } => {
                self.change_claim(claim_id, |c| c.status = ClaimStatus::Approved);
            }
            EventKind::ClaimDenied { claim_id, .. } => {
                if let Some(loan) = self.change_claim(claim_id, |c| c.status = ClaimStatus::Denied)
                {
                    self.change_loan(&loan, |l| l.claim = None);
                }
            }
            EventKind::ClaimPaid { claim_id, amount } => self.pay(claim_id, *amount),
            EventKind::RecoveryReported {
                loan_id, pool_part, ..
            } => {
                add(&mut self.cash, *pool_part);
                add(&mut self.total.recovered, *pool_part);
                if let Some(l) = self.loans.get(loan_id) {
                    add(
                        &mut self
                            .banks
                            .entry(l.loan.bank_id.clone())
                            .or_default()
                            .recovered,
                        *pool_part,
                    );
                }
            }
            _ => {}
        }
    }

    /// The claim `id` and its bank's committed figures, changed by `f`;
    /// its loan's id.
    fn change_claim(&mut self, id: &str, f: impl FnOnce(&mut Claim)) -> Option<String> {
        let c = self.claims.get_mut(id)?;
        let figures = self.banks.entry(c.bank_id.clone()).or_default();
        figures.take_claim(c);
        self.total.take_claim(c);
        f(c);
        figures.put_claim(c);
        self.total.put_claim(c);
        Some(c.loan_id.clone())
    }

    fn pay(&mut self, id: &str, amount: Yuan) {
        let Some(c) = self.claims.get(id) else {
            return;
        };
        let (first, bank) = (c.paid == Yuan::ZERO, c.bank_id.clone());
        self.change_claim(id, |c| {
            add(&mut c.paid, amount);
            if c.paid >= c.claimable {
                c.status = ClaimStatus::Paid;
            }
        });
        sub(&mut self.cash, amount);
        for f in [&mut self.total, self.banks.entry(bank).or_default()] {
            add(&mut f.claims_paid, amount);
            f.claims_paid_loans += u64::from(first);
        }
    }
}

/// The first day of `d`'s year: the default start of the period 代偿率.
pub fn year_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d)
}
