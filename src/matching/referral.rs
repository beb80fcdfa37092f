//! What became of a lead: the outcomes a bank reports back (contacted,
//! unreachable, applied, approved, declined), each a dated version, checked
//! before it is stored.
//!
//! An approved lead carries what the pool ledger needs to enrol the loan:
//! the bank's loan id, amount, annual rate, term and the date it was lent,
//! beside the lead's firm, product and bank.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;

/// Most characters of a note or a declined lead's reason text.
pub const MAX_NOTE_CHARS: usize = 500;

/// Why a bank declined a lead: a fixed list, so the funnel can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// 征信记录不良.
    CreditRecord,
    /// 经营现金流不足.
    Cashflow,
    /// 负债过高.
    Leverage,
    /// 缺少抵押或担保.
    Collateral,
    /// 申请材料不全.
    Documents,
    /// 不符合产品条件.
    ProductRules,
    /// 企业放弃申请.
    FirmWithdrew,
    /// 其他（见说明）.
    Other,
}

impl DeclineReason {
    /// Every reason, in the order reports list them.
    pub const ALL: [DeclineReason; 8] = [
        DeclineReason::CreditRecord,
        DeclineReason::Cashflow,
        DeclineReason::Leverage,
        DeclineReason::Collateral,
        DeclineReason::Documents,
        DeclineReason::ProductRules,
        DeclineReason::FirmWithdrew,
        DeclineReason::Other,
    ];

    /// The code on the wire and in files.
    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::CreditRecord => "credit_record",
            DeclineReason::Cashflow => "cashflow",
            DeclineReason::Leverage => "leverage",
            DeclineReason::Collateral => "collateral",
            DeclineReason::Documents => "documents",
            DeclineReason::ProductRules => "product_rules",
            DeclineReason::FirmWithdrew => "firm_withdrew",
            DeclineReason::Other => "other",
        }
    }

    /// The Chinese label officers read.
    pub fn label(self) -> &'static str {
        match self {
            DeclineReason::CreditRecord => "征信记录不良",
            DeclineReason::Cashflow => "经营现金流不足",
            DeclineReason::Leverage => "负债过高",
            DeclineReason::Collateral => "缺少抵押或担保",
            DeclineReason::Documents => "申请材料不全",
            DeclineReason::ProductRules => "不符合产品条件",
            DeclineReason::FirmWithdrew => "企业放弃申请",
            DeclineReason::Other => "其他原因",
        }
    }
}

/// A loan a bank approved on a lead: what the pool ledger enrols.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Amount lent.
    pub amount: Yuan,
    /// Annual rate, a decimal fraction (`0.0345`).
    #[serde(with = "crate::kernel::money::rate_serde")]
    pub annual_rate: Decimal,
    /// Term in months.
    pub term_months: u16,
    /// The bank's own id of the loan.
    pub loan_id: String,
}

/// What a bank reports about a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Outcome {
    /// The firm was reached.
    Contacted,
    /// The firm could not be reached (number wrong, no answer).
    Unreachable,
    /// The firm applied.
    Applied,
    /// A loan was approved.
    Approved(Approval),
    /// The application was declined.
    Declined {
        /// Why, from the fixed list.
        reason: DeclineReason,
    },
}

impl Outcome {
    /// The stage's code (`contacted`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Contacted => "contacted",
            Outcome::Unreachable => "unreachable",
            Outcome::Applied => "applied",
            Outcome::Approved(_) => "approved",
            Outcome::Declined { .. } => "declined",
        }
    }

    /// The stage in Chinese.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Contacted => "已联系",
            Outcome::Unreachable => "无法联系",
            Outcome::Applied => "已申请",
            Outcome::Approved(_) => "已获批",
            Outcome::Declined { .. } => "未获批",
        }
    }

    /// Whether the firm was reached (every stage but unreachable).
    pub fn reached(&self) -> bool {
        !matches!(self, Outcome::Unreachable)
    }

    /// Whether the firm applied (applied, approved or declined).
    pub fn applied(&self) -> bool {
        matches!(
            self,
            Outcome::Applied | Outcome::Approved(_) | Outcome::Declined { .. }
        )
    }

    /// Whether the bank decided (approved or declined).
    pub fn decided(&self) -> bool {
        matches!(self, Outcome::Approved(_) | Outcome::Declined { .. })
    }
}

/// One report of an outcome: what, on which day, and a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeReport {
    /// What happened.
    pub outcome: Outcome,
    /// The day it happened (for an approval, the day the loan was lent).
    pub date: NaiveDate,
    /// Free text (a declined lead's explanation, say).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl OutcomeReport {
    /// Every problem with the report, for a lead of a campaign dated
    /// `campaign_date`, on `today`: the date within the campaign and not in
    /// the future, an approval's amount, rate, term and loan id, the note.
    pub fn check(&self, campaign_date: NaiveDate, today: NaiveDate) -> Vec<FieldViolation> {
        let mut errs = Vec::new();
        if self.date < campaign_date {
            errs.push(FieldViolation::new(
                "date",
                format!(
                    "{} is before the campaign's date {campaign_date}",
                    self.date
                ),
            ));
        }
        if self.date > today {
            errs.push(FieldViolation::new(
                "date",
                format!("{} is in the future (today is {today})", self.date),
            ));
        }
        if self.note.chars().count() > MAX_NOTE_CHARS {
            errs.push(FieldViolation::new(
                "note",
                format!("is longer than {MAX_NOTE_CHARS} characters"),
            ));
        } else if !self.note.trim().is_empty()
            && let Err(why) = crate::kernel::text::check_text(&self.note, MAX_NOTE_CHARS)
        {
            errs.push(FieldViolation::new("note", why));
        }
        match &self.outcome {
            Outcome::Approved(a) => check_approval(a, &mut errs),
            Outcome::Declined {
                reason: DeclineReason::Other,
            } if self.note.trim().is_empty() => errs.push(FieldViolation::new(
                "note",
                "is required when the reason is `other`: say why",
            )),
            _ => {}
        }
        errs
    }
}

fn check_approval(a: &Approval, errs: &mut Vec<FieldViolation>) {
    if a.amount <= Yuan::ZERO {
        errs.push(FieldViolation::new(
            "approval.amount",
            "must be more than zero",
        ));
    }
    if a.annual_rate <= Decimal::ZERO || a.annual_rate > Decimal::new(36, 2) {
        errs.push(FieldViolation::new(
            "approval.annual_rate",
            format!(
                "{} is not an annual rate above 0 and at most 0.36 (e.g. \"0.0345\" or \"3.45%\")",
                a.annual_rate
            ),
        ));
    }
    if !(1..=360).contains(&a.term_months) {
        errs.push(FieldViolation::new(
            "approval.term_months",
            format!("{} is not a term of 1 to 360 months", a.term_months),
        ));
    }
    if let Err(why) = crate::incentive::normalize_id(&a.loan_id) {
        errs.push(FieldViolation::new("approval.loan_id", why));
    }
}

/// A stored outcome: the report and who recorded it when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// The lead.
    pub lead_id: String,
    /// 1, 2, … in the order reported: every change is a new version.
    pub version: u32,
    /// What was reported.
    pub report: OutcomeReport,
    /// The caller's request id.
    pub request_id: String,
    /// Who reported it (`bank:JXB`, `bureau`).
    pub recorded_by: String,
    /// When (RFC 3339).
    pub recorded_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn approved(amount: i64, rate: &str, term: u16, loan: &str) -> OutcomeReport {
        OutcomeReport {
            outcome: Outcome::Approved(Approval {
                amount: Yuan::wan(amount),
                annual_rate: rate.parse().unwrap(),
                term_months: term,
                loan_id: loan.into(),
            }),
            date: d("2024-07-01"),
            note: String::new(),
        }
    }

    #[test]
    fn reports_are_checked_field_by_field() {
        let (start, today) = (d("2024-06-01"), d("2024-12-31"));
        assert!(
            approved(300, "0.0345", 12, "L-1")
                .check(start, today)
                .is_empty()
        );
        let fields = |r: &OutcomeReport| -> Vec<String> {
            r.check(start, today).into_iter().map(|v| v.field).collect()
        };
        assert_eq!(
            fields(&approved(0, "0.5", 0, " ")),
            [
                "approval.amount",
                "approval.annual_rate",
                "approval.term_months",
                "approval.loan_id"
            ]
        );
        let mut early = approved(300, "0.0345", 12, "L-1");
        early.date = d("2024-05-31");
        assert_eq!(fields(&early), ["date"]);
        early.date = d("2025-01-01");
        assert_eq!(fields(&early), ["date"]);
        let other = OutcomeReport {
            outcome: Outcome::Declined {
                reason: DeclineReason::Other,
            },
            date: d("2024-07-01"),
            note: " ".into(),
        };
        assert_eq!(fields(&other), ["note"]);
        let long = OutcomeReport {
            note: "长".repeat(MAX_NOTE_CHARS + 1),
            ..other
        };
        assert_eq!(fields(&long), ["note"]);
    }

    #[test]
    fn stages_nest() {
        let all = [
            Outcome::Contacted,
            Outcome::Unreachable,
            Outcome::Applied,
            approved(1, "0.03", 12, "L").outcome,
            Outcome::Declined {
                reason: DeclineReason::Cashflow,
            },
        ];
        let flags: Vec<(bool, bool, bool)> = all
            .iter()
            .map(|o| (o.reached(), o.applied(), o.decided()))
            .collect();
        assert_eq!(
            flags,
            [
                (true, false, false),
                (false, false, false),
                (true, true, false),
                (true, true, true),
                (true, true, true)
            ]
        );
        // every code and label distinct
        let codes: std::collections::BTreeSet<_> =
            DeclineReason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), DeclineReason::ALL.len());
    }
}
