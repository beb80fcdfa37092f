//! What each command may do to the pool, decided on its state: the event
//! it records, or a coded refusal naming the rule and its source.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::event::{DenialReason, EventKind, Loan};
use super::rules::RuleVersion;
use super::state::{Book, ClaimStatus, Level, key};
use crate::kernel::money::Yuan;

/// Why a command is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// UPPER_SNAKE code.
    pub code: &'static str,
    /// What is wrong, with the figures and the rule (its source).
    pub message: String,
}

fn refuse(code: &'static str, message: String) -> Refusal {
    Refusal { code, message }
}

/// The rule's citation: its sources, or that it is a documented default.
fn cite(v: &RuleVersion) -> String {
    let src = if v.sources.is_empty() {
        "no text".to_string()
    } else {
        v.sources.join("；")
    };
    format!(
        "rules of {} ({src}{})",
        v.from,
        if v.uncertain.is_empty() {
            ""
        } else {
            "; operating figures are documented defaults, flagged uncertain"
        }
    )
}

fn plus(a: Yuan, b: Yuan) -> Yuan {
    Yuan(a.0 + b.0)
}

/// Enrols `loan` on `on`: the deadline, the breakers, the credit scale, the
/// leverage limit and the firm's cap, under the version in force on `on`
/// (which the loan keeps).
pub fn enrol(book: &Book, mut loan: Loan, on: NaiveDate) -> Result<EventKind, Refusal> {
    let p = book.programme();
    if book.loans.contains_key(&key(&loan.bank_id, &loan.loan_id)) {
        return Err(refuse(
            "ALREADY_ENROLLED",
            format!("loan `{}` is already enrolled", loan.loan_id),
        ));
    }
    let v = p.version_on(on).ok_or_else(|| {
        refuse(
            "PROGRAMME_NOT_STARTED",
            format!("{} has no rules in force on {on}", p.name),
        )
    })?;
    let late = (on - loan.disbursed).num_days();
    if late < 0 {
        return Err(refuse(
            "NOT_YET_LENT",
            format!(
                "disbursed {} is after the enrolment date {on}",
                loan.disbursed
            ),
        ));
    }
    if late > i64::from(v.enrol_deadline_days) {
        return Err(refuse(
            "ENROLMENT_LATE",
            format!(
                "enrolled {late} days after disbursement; at most {} ({})",
                v.enrol_deadline_days,
                cite(v)
            ),
        ));
    }
    if book.breaker.level == Level::Suspended {
        return Err(refuse(
            "ENROLMENT_SUSPENDED",
            format!(
                "new enrolment is suspended: the programme's 不良率 reached {} ({}); the bureau resumes it once the rate is back below",
                v.breaker_suspend,
                cite(v)
            ),
        ));
    }
    if book
        .bank_breakers
        .get(&loan.bank_id)
        .is_some_and(|b| b.level == Level::Suspended)
    {
        return Err(refuse(
            "BANK_SUSPENDED",
            format!(
                "new enrolment by bank `{}` is suspended: its 不良率 reached {} ({})",
                loan.bank_id,
                v.breaker_suspend,
                cite(v)
            ),
        ));
    }
    caps(book, &loan, v)?;
    loan.version_from = v.from;
    Ok(EventKind::LoanEnrolled(loan))
}

fn caps(book: &Book, loan: &Loan, v: &RuleVersion) -> Result<(), Refusal> {
    let after = plus(book.total.outstanding, loan.amount);
    if after > v.credit_scale {
        return Err(refuse(
            "SCALE_EXCEEDED",
            format!(
                "outstanding would be {} over the credit scale of {}; {} left ({})",
                after.human(),
                v.credit_scale.human(),
                Yuan(v.credit_scale.0 - book.total.outstanding.0).human(),
                cite(v)
            ),
        ));
    }
    if let Some(line) = v.bank_lines.get(&loan.bank_id) {
        let had = book
            .banks
            .get(&loan.bank_id)
            .map_or(Yuan::ZERO, |f| f.outstanding);
        let then = plus(had, loan.amount);
        if then > *line {
            return Err(refuse(
                "BANK_LINE_EXCEEDED",
                format!(
                    "bank `{}` would have {} outstanding over its credit line of {}; {} left ({})",
                    loan.bank_id,
                    then.human(),
                    line.human(),
                    Yuan(line.0 - had.0).human(),
                    cite(v)
                ),
            ));
        }
    }
    if let Some(limit) = v.leverage_limit
        && after.0 > limit * book.capital.0
    {
        return Err(refuse(
            "LEVERAGE_EXCEEDED",
            format!(
                "outstanding would be {} over {limit}× the capital of {} ({})",
                after.human(),
                book.capital.human(),
                cite(v)
            ),
        ));
    }
    if let Some(cap) = v.firm_cap {
        let firm = book
            .firms
            .get(&loan.credit_code)
            .map_or(Decimal::ZERO, |y| y.0);
        if firm + loan.amount.0 > cap.0 {
            return Err(refuse(
                "FIRM_CAP_EXCEEDED",
                format!(
                    "the firm would owe {} under the programme, over its cap of {} ({})",
                    Yuan(firm + loan.amount.0).human(),
                    cap.human(),
                    cite(v)
                ),
            ));
        }
    }
    Ok(())
}

fn unknown_loan(bank: &str, loan_id: &str) -> Refusal {
    refuse(
        "UNKNOWN_LOAN",
        format!("no loan `{loan_id}` of bank `{bank}` is enrolled"),
    )
}

/// Bank `bank`'s monthly status of its loan `loan_id`: a known, enrolled
/// loan, its balance not above the amount lent, not after it was repaid or
/// charged off.
pub fn status(
    book: &Book,
    bank: &str,
    loan_id: &str,
    outstanding: Yuan,
    days_past_due: u32,
) -> Result<EventKind, Refusal> {
    let l = book
        .loan(bank, loan_id)
        .ok_or_else(|| unknown_loan(bank, loan_id))?;
    if outstanding > l.loan.amount {
        return Err(refuse(
            "BALANCE_ABOVE_ORIGINAL",
            format!(
                "balance {} is above the {} lent",
                outstanding.human(),
                l.loan.amount.human()
            ),
        ));
    }
    if l.repaid || l.charged_off {
        return Err(refuse(
            "STATUS_BACKWARDS",
            format!(
                "loan `{loan_id}` was {}; a status cannot follow",
                if l.repaid { "repaid" } else { "charged off" }
            ),
        ));
    }
    Ok(EventKind::LoanStatus {
        bank_id: l.loan.bank_id.clone(),
        loan_id: loan_id.to_string(),
        outstanding,
        days_past_due,
    })
}

/// Bank `bank`'s loan `loan_id` repaid in full: a known, enrolled loan.
pub fn repaid(book: &Book, bank: &str, loan_id: &str) -> Result<EventKind, Refusal> {
    book.loan(bank, loan_id)
        .ok_or_else(|| unknown_loan(bank, loan_id))?;
    Ok(EventKind::LoanRepaid {
        bank_id: bank.to_string(),
        loan_id: loan_id.to_string(),
    })
}

/// Files bank `bank`'s claim `claim_id` on its loan `loan_id`: once it is
/// at or past its version's trigger or charged off, with no live claim;
/// claimable is the outstanding × the pool's share, within the loan's
/// coverage cap, to the fen.
pub fn file_claim(
    book: &Book,
    bank: &str,
    claim_id: &str,
    loan_id: &str,
) -> Result<EventKind, Refusal> {
    if book.claim(bank, claim_id).is_some() {
        return Err(refuse(
            "CLAIM_EXISTS",
            format!("bank `{bank}` already has a claim `{claim_id}`"),
        ));
    }
    let l = book
        .loan(bank, loan_id)
        .ok_or_else(|| unknown_loan(bank, loan_id))?;
    if let Some(c) = &l.claim {
        return Err(refuse(
            "CLAIM_EXISTS",
            format!("loan `{loan_id}` already has claim `{c}`"),
        ));
    }
    let p = book.programme();
    let v = p.version_from(l.loan.version_from).ok_or_else(|| {
        refuse(
            "NO_RULES",
            format!("the loan's rules of {} are gone", l.loan.version_from),
        )
    })?;
    if !l.npl() {
        return Err(refuse(
            "CLAIM_NOT_DUE",
            format!(
                "loan `{loan_id}` is {} days past due; a claim needs {} or a charge-off ({})",
                l.dpd,
                v.claim_trigger_days,
                cite(v)
            ),
        ));
    }
    let claimable = Yuan(v.claim_of(l.outstanding)).round_fen();
    Ok(EventKind::ClaimFiled {
        bank_id: l.loan.bank_id.clone(),
        claim_id: claim_id.to_string(),
        loan_id: loan_id.to_string(),
        outstanding_at_default: l.outstanding,
        claimable,
    })
}

fn unknown_claim(bank: &str, claim_id: &str) -> Refusal {
    refuse(
        "UNKNOWN_CLAIM",
        format!("bank `{bank}` has no claim `{claim_id}`"),
    )
}

/// Approves or denies bank `bank`'s filed claim `claim_id`.
pub fn review(
    book: &Book,
    bank: &str,
    claim_id: &str,
    deny: Option<DenialReason>,
) -> Result<EventKind, Refusal> {
    let c = book
        .claim(bank, claim_id)
        .ok_or_else(|| unknown_claim(bank, claim_id))?;
    if c.status != ClaimStatus::Filed {
        return Err(refuse(
            "CLAIM_REVIEWED",
            format!("claim `{claim_id}` was already reviewed"),
        ));
    }
    Ok(match deny {
        Some(reason) => EventKind::ClaimDenied {
            bank_id: c.bank_id.clone(),
            claim_id: claim_id.to_string(),
            reason,
        },
        None => EventKind::ClaimApproved {
            bank_id: c.bank_id.clone(),
            claim_id: claim_id.to_string(),
        },
    })
}

/// Refuses a cash movement dated before the last one recorded (so no past
/// balance turns negative).
fn not_backdated(book: &Book, on: NaiveDate) -> Result<(), Refusal> {
    match book.last_cash {
        Some(last) if on < last => Err(refuse(
            "BACKDATED_CASH",
            format!("cash last moved on {last}; a movement cannot be dated {on}"),
        )),
        _ => Ok(()),
    }
}

/// Pays bank `bank`'s approved claim `claim_id` from the cash on `on`:
/// what is owed, or what the cash allows (the rest stays owed); never below
/// zero.
pub fn pay(book: &Book, bank: &str, claim_id: &str, on: NaiveDate) -> Result<EventKind, Refusal> {
    not_backdated(book, on)?;
    let c = book
        .claim(bank, claim_id)
        .ok_or_else(|| unknown_claim(bank, claim_id))?;
    if c.status != ClaimStatus::Approved {
        return Err(refuse(
            "CLAIM_NOT_PAYABLE",
            format!(
                "claim `{claim_id}` is {:?}, not approved and unpaid",
                c.status
            )
            .to_lowercase(),
        ));
    }
    let owed = Yuan(c.claimable.0 - c.paid.0);
    let amount = owed.min(book.cash);
    if amount <= Yuan::ZERO {
        return Err(refuse(
            "NO_CASH",
            format!(
                "the pool holds {}; {} stays owed on claim `{claim_id}`",
                book.cash.human(),
                owed.human()
            ),
        ));
    }
    Ok(EventKind::ClaimPaid {
        bank_id: c.bank_id.clone(),
        claim_id: claim_id.to_string(),
        amount,
    })
}

/// A recovery bank `bank` reports on its claimed loan `loan_id` on `on`:
/// the pool's part, pro rata to what it paid of the loss, returns to cash
/// (to the fen, never more in all than it paid).
pub fn recovery(
    book: &Book,
    bank: &str,
    loan_id: &str,
    amount: Yuan,
    on: NaiveDate,
) -> Result<EventKind, Refusal> {
    not_backdated(book, on)?;
    let l = book
        .loan(bank, loan_id)
        .ok_or_else(|| unknown_loan(bank, loan_id))?;
    let c = l
        .claim
        .as_ref()
        .and_then(|id| book.claim(&l.loan.bank_id, id))
        .filter(|c| c.paid > Yuan::ZERO)
        .ok_or_else(|| {
            refuse(
                "NOTHING_PAID",
                format!("the pool paid nothing on loan `{loan_id}`: the recovery is the bank's"),
            )
        })?;
    let base = c.outstanding_at_default.0;
    let share = if base.is_zero() {
        Decimal::ZERO
    } else {
        c.paid.0 / base
    };
    let part = Yuan(amount.0 * share).round_fen().min(c.paid);
    Ok(EventKind::RecoveryReported {
        bank_id: l.loan.bank_id.clone(),
        loan_id: loan_id.to_string(),
        amount,
        pool_part: part,
    })
}

/// A movement of cash on `on`: not dated before the last one (so no past
/// balance turns negative), a withdrawal within the cash not owed on
/// approved claims.
pub fn cash(book: &Book, kind: EventKind, on: NaiveDate) -> Result<EventKind, Refusal> {
    not_backdated(book, on)?;
    if let EventKind::Withdrawal { amount } = &kind {
        let free = Yuan(book.cash.0 - book.total.committed.0);
        if *amount > free {
            return Err(refuse(
                "INSUFFICIENT_CASH",
                format!(
                    "{} asked; {} is free (cash {} less {} owed on approved claims)",
                    amount.human(),
                    free.human(),
                    book.cash.human(),
                    book.total.committed.human()
                ),
            ));
        }
    }
    Ok(kind)
}

/// The bureau resumes enrolment (`bank`: one bank's): only when suspended
/// and the rate is back below the suspend level.
pub fn resume(book: &Book, bank: Option<&str>, on: NaiveDate) -> Result<EventKind, Refusal> {
    let (level, rate) = match bank {
        None => (book.breaker.level, book.total.npl_rate()),
        Some(b) => (
            book.bank_breakers.get(b).map_or(Level::Normal, |x| x.level),
            book.banks.get(b).and_then(|f| f.npl_rate()),
        ),
    };
    if level != Level::Suspended {
        return Err(refuse("NOT_SUSPENDED", "enrolment is not suspended".into()));
    }
    let v = book.programme().version_on(on).ok_or_else(|| {
        refuse(
            "PROGRAMME_NOT_STARTED",
            format!("no rules in force on {on}"),
        )
    })?;
    let r = rate.unwrap_or(Decimal::ZERO);
    if r >= v.breaker_suspend {
        return Err(refuse(
            "STILL_ABOVE_LEVEL",
            format!(
                "不良率 is {:.4}, not below the suspend level {} ({})",
                r,
                v.breaker_suspend,
                cite(v)
            ),
        ));
    }
    Ok(EventKind::BreakerResumed {
        bank: bank.map(str::to_string),
    })
}
