//! The pool's events: append-only, each with the day it took effect, when
//! and by whom it was recorded, and the caller's request id. What a command
//! decided (a claim's amount, the pool's part of a recovery, what a payment
//! paid) is in its event, so every figure is a fold over the events alone.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::kernel::money::Yuan;

/// A loan under the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loan {
    /// The bank's own id of the loan.
    pub loan_id: String,
    /// The lending bank.
    pub bank_id: String,
    /// The borrower's unified social credit code.
    pub credit_code: String,
    /// The borrower's name.
    pub firm: String,
    /// Principal lent.
    pub amount: Yuan,
    /// Annual rate (a decimal fraction).
    #[serde(with = "crate::kernel::money::rate_serde")]
    pub annual_rate: Decimal,
    /// Term in months.
    pub term_months: u16,
    /// The day it was lent.
    pub disbursed: NaiveDate,
    /// The rule version it keeps (the one in force when it was enrolled).
    pub version_from: NaiveDate,
}

/// Why a claim was denied: a fixed list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialReason {
    /// Filed late or enrolled late.
    Late,
    /// The loan broke the programme's rules.
    NonCompliant,
    /// The bank's collection effort is not documented.
    NoRecoveryEffort,
    /// Misrepresentation or fraud.
    Misrepresentation,
    /// Other (the note says why).
    Other,
}

impl DenialReason {
    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            DenialReason::Late => "late",
            DenialReason::NonCompliant => "non_compliant",
            DenialReason::NoRecoveryEffort => "no_recovery_effort",
            DenialReason::Misrepresentation => "misrepresentation",
            DenialReason::Other => "other",
        }
    }

    /// Its Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            DenialReason::Late => "逾期申报",
            DenialReason::NonCompliant => "贷款不合规",
            DenialReason::NoRecoveryEffort => "未尽清收义务",
            DenialReason::Misrepresentation => "材料不实",
            DenialReason::Other => "其他原因",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// Capital put into the pool.
    CapitalInjected {
        /// How much.
        amount: Yuan,
    },
    /// A top-up (by the programme's rule, e.g. refill at year-end).
    TopUp {
        /// How much.
        amount: Yuan,
    },
    /// Money taken out.
    Withdrawal {
        /// How much.
        amount: Yuan,
    },
    /// Interest earned on the pool's cash.
    InterestCredited {
        /// How much.
        amount: Yuan,
    },
    /// A loan enrolled.
    LoanEnrolled(Loan),
    /// A loan's monthly status.
    LoanStatus {
        /// The loan's bank (a loan id is the bank's own: two banks may
        /// use one).
        bank_id: String,
        /// The loan.
        loan_id: String,
        /// Principal outstanding.
        outstanding: Yuan,
        /// Days past due.
        days_past_due: u32,
    },
    /// Repaid in full.
    LoanRepaid {
        /// The loan's bank (a loan id is the bank's own: two banks may
        /// use one).
        bank_id: String,
        /// The loan.
        loan_id: String,
    },
    /// Written off by the bank.
    LoanChargedOff {
        /// The loan's bank (a loan id is the bank's own: two banks may
        /// use one).
        bank_id: String,
        /// The loan.
        loan_id: String,
    },
    /// A claim on a loan.
    ClaimFiled {
        /// The loan's bank (a loan id is the bank's own: two banks may
        /// use one).
        bank_id: String,
        /// The claim's id.
        claim_id: String,
        /// The loan.
        loan_id: String,
        /// Principal outstanding at default.
        outstanding_at_default: Yuan,
        /// What the pool owes: that × the pool's share, within the cap.
        claimable: Yuan,
    },
    /// Approved by the bureau.
    ClaimApproved {
        /// The claim's bank (a claim id is the bank's own).
        bank_id: String,
        /// The claim.
        claim_id: String,
    },
    /// Denied by the bureau.
    ClaimDenied {
        /// The claim's bank (a claim id is the bank's own).
        bank_id: String,
        /// The claim.
        claim_id: String,
        /// Why.
        reason: DenialReason,
    },
    /// Paid from the pool's cash (all that was owed, or what the cash allowed).
    ClaimPaid {
        /// The claim's bank (a claim id is the bank's own).
        bank_id: String,
        /// The claim.
        claim_id: String,
        /// Paid now.
        amount: Yuan,
    },
    /// The bank recovered money on a loan whose claim the pool paid.
    RecoveryReported {
        /// The loan's bank (a loan id is the bank's own: two banks may
        /// use one).
        bank_id: String,
        /// The loan.
        loan_id: String,
        /// What the bank recovered.
        amount: Yuan,
        /// The pool's part, pro rata to what it paid: returned to cash.
        pool_part: Yuan,
    },
    /// The bureau resumed enrolment after a suspension (`bank`: one bank's).
    BreakerResumed {
        /// The bank, or the programme when `None`.
        bank: Option<String>,
    },
}

impl EventKind {
    /// The loan the event is about, if any: its bank and the bank's loan
    /// id.
    pub fn loan(&self) -> Option<(&str, &str)> {
        match self {
            EventKind::LoanEnrolled(l) => Some((&l.bank_id, &l.loan_id)),
            EventKind::LoanStatus {
                bank_id, loan_id, ..
            }
            | EventKind::LoanRepaid { bank_id, loan_id }
            | EventKind::LoanChargedOff { bank_id, loan_id }
            | EventKind::ClaimFiled {
                bank_id, loan_id, ..
            }
            | EventKind::RecoveryReported {
                bank_id, loan_id, ..
            } => Some((bank_id, loan_id)),
            _ => None,
        }
    }

    /// The bank the event is about, if any: a loan's or a claim's bank, or
    /// the bank whose enrolment resumed (cash is no bank's).
    pub fn bank(&self) -> Option<&str> {
        match self {
            EventKind::ClaimApproved { bank_id, .. }
            | EventKind::ClaimDenied { bank_id, .. }
            | EventKind::ClaimPaid { bank_id, .. } => Some(bank_id),
            EventKind::BreakerResumed { bank } => bank.as_deref(),
            k => k.loan().map(|(b, _)| b),
        }
    }

    /// Whether it moves the pool's cash.
    pub fn moves_cash(&self) -> bool {
        matches!(
            self,
            EventKind::CapitalInjected { .. }
                | EventKind::TopUp { .. }
                | EventKind::Withdrawal { .. }
                | EventKind::InterestCredited { .. }
                | EventKind::ClaimPaid { .. }
                | EventKind::RecoveryReported { .. }
        )
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, … in the order recorded.
    pub seq: u64,
    /// The day it took effect.
    pub effective: NaiveDate,
    /// When it was recorded (RFC 3339, UTC).
    pub recorded_at: String,
    /// Who recorded it (`bank:JXB`, `bureau`).
    pub recorded_by: String,
    /// The caller's request id.
    pub request_id: String,
    /// What happened.
    pub kind: EventKind,
}
