//! The pool's state on a date: a fold over its events in the order they
//! took effect (then the order recorded). Nothing here is stored; a cache
//! of the fold may speed it, never change it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::event::{Event, EventKind, Loan};
pub use super::figures::{Breaker, Figures, Level};
use super::rules::Programme;
use crate::kernel::money::Yuan;

/// Days-past-due buckets: current, 1–30, 31–60, 61–90, over 90.
pub const BUCKETS: [&str; 5] = ["current", "1-30", "31-60", "61-90", "90+"];

pub(super) fn bucket(dpd: u32) -> usize {
    match dpd {
        0 => 0,
        1..=30 => 1,
        31..=60 => 2,
        61..=90 => 3,
        _ => 4,
    }
}

pub(super) fn add(a: &mut Yuan, b: Yuan) {
    a.0 += b.0;
}

pub(super) fn sub(a: &mut Yuan, b: Yuan) {
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

/// The pool folded over its events so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    programme: Arc<Programme>,
    /// Loans by [`key`] (bank, the bank's loan id).
    pub loans: HashMap<String, LoanState>,
    /// Claims by [`key`] (bank, the bank's claim id).
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
            EventKind::ClaimApproved { bank_id, claim_id }
            | EventKind::ClaimDenied {
                bank_id, claim_id, ..
            }
            | EventKind::ClaimPaid {
                bank_id, claim_id, ..
            } => self.claim(bank_id, claim_id).map(|c| c.loan_id.as_str()),
            k => k.loan().map(|(_, l)| l),
        };
        loan.is_none_or(|l| loan_of == Some(l)) && bank.is_none_or(|b| e.kind.bank() == Some(b))
    }

    /// Bank `bank`'s loan `id`.
    pub fn loan(&self, bank: &str, id: &str) -> Option<&LoanState> {
        self.loans.get(&key(bank, id))
    }

    /// Bank `bank`'s claim `id`.
    pub fn claim(&self, bank: &str, id: &str) -> Option<&Claim> {
        self.claims.get(&key(bank, id))
    }

    /// The banks that have a loan `id` (a bank's loan ids are its own).
    pub fn banks_with_loan(&self, id: &str) -> Vec<&str> {
        self.banks
            .keys()
            .filter(|b| self.loans.contains_key(&key(b, id)))
            .map(String::as_str)
            .collect()
    }

    /// The banks that have a claim `id`.
    pub fn banks_with_claim(&self, id: &str) -> Vec<&str> {
        self.banks
            .keys()
            .filter(|b| self.claims.contains_key(&key(b, id)))
            .map(String::as_str)
            .collect()
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

    /// Bank `bank`'s loan `id`, its state and its bank's figures changed
    /// by `f`; the bank.
    fn change_loan(
        &mut self,
        bank: &str,
        id: &str,
        f: impl FnOnce(&mut LoanState),
    ) -> Option<String> {
        let l = self.loans.get_mut(&key(bank, id))?;
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
                bank_id,
                loan_id,
                outstanding,
                days_past_due,
            } => self.change_loan(bank_id, loan_id, |l| {
                l.outstanding = *outstanding;
                l.dpd = *days_past_due;
            }),
            EventKind::LoanRepaid { bank_id, loan_id } => self.change_loan(bank_id, loan_id, |l| {
                l.outstanding = Yuan::ZERO;
                l.dpd = 0;
                l.repaid = true;
            }),
            EventKind::LoanChargedOff { bank_id, loan_id } => {
                self.change_loan(bank_id, loan_id, |l| l.charged_off = true)
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
        self.loans.insert(key(&loan.bank_id, &loan.loan_id), l);
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
                bank_id,
                claim_id,
                loan_id,
                outstanding_at_default,
                claimable,
            } => {
                let Some(bank) =
                    self.change_loan(bank_id, loan_id, |l| l.claim = Some(claim_id.clone()))
                else {
                    return;
                };
                self.claims.insert(
                    key(&bank, claim_id),
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
            EventKind::ClaimApproved { bank_id, claim_id } => {
                self.change_claim(bank_id, claim_id, |c| c.status = ClaimStatus::Approved);
            }
            EventKind::ClaimDenied {
                bank_id, claim_id, ..
            } => {
                if let Some((bank, loan)) =
                    self.change_claim(bank_id, claim_id, |c| c.status = ClaimStatus::Denied)
                {
                    self.change_loan(&bank, &loan, |l| l.claim = None);
                }
            }
            EventKind::ClaimPaid {
                bank_id,
                claim_id,
                amount,
            } => self.pay(bank_id, claim_id, *amount),
            EventKind::RecoveryReported {
                bank_id,
                loan_id,
                pool_part,
                ..
            } => {
                add(&mut self.cash, *pool_part);
                add(&mut self.total.recovered, *pool_part);
                if self.loan(bank_id, loan_id).is_some() {
                    add(
                        &mut self.banks.entry(bank_id.clone()).or_default().recovered,
                        *pool_part,
                    );
                }
            }
            _ => {}
        }
    }

    /// Bank `bank`'s claim `id` and its bank's committed figures, changed
    /// by `f`; its bank and loan.
    fn change_claim(
        &mut self,
        bank: &str,
        id: &str,
        f: impl FnOnce(&mut Claim),
    ) -> Option<(String, String)> {
        let c = self.claims.get_mut(&key(bank, id))?;
        let figures = self.banks.entry(c.bank_id.clone()).or_default();
        figures.take_claim(c);
        self.total.take_claim(c);
        f(c);
        figures.put_claim(c);
        self.total.put_claim(c);
        Some((c.bank_id.clone(), c.loan_id.clone()))
    }

    fn pay(&mut self, bank: &str, id: &str, amount: Yuan) {
        let Some(c) = self.claim(bank, id) else {
            return;
        };
        let (first, bank) = (c.paid == Yuan::ZERO, c.bank_id.clone());
        self.change_claim(&bank, id, |c| {
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

/// The key of a bank's loan or claim: its bank and the bank's own id (a
/// bank id is a slug, so the `/` cannot be part of it).
pub fn key(bank: &str, id: &str) -> String {
    format!("{bank}/{id}")
}

/// The first day of `d`'s year: the default start of the period 代偿率.
pub fn year_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d)
}
