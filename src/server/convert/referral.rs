//! `referral_service.proto` ↔ the referral domain.

use chrono::NaiveDate;

use crate::kernel::money::{Yuan, parse_rate};
use crate::kernel::violation::FieldViolation;
use crate::matching::funnel::{Funnel, Group, Stages};
use crate::matching::referral::{Approval, DeclineReason, Outcome, OutcomeRecord, OutcomeReport};
use crate::server::pb;
use crate::store::referral::{Campaign, StoredLead};

/// A decline reason from the wire; UNSPECIFIED or unknown is `None`.
pub fn decline_reason(v: i32) -> Option<DeclineReason> {
    use pb::DeclineReason as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::CreditRecord => DeclineReason::CreditRecord,
        P::Cashflow => DeclineReason::Cashflow,
        P::Leverage => DeclineReason::Leverage,
        P::Collateral => DeclineReason::Collateral,
        P::Documents => DeclineReason::Documents,
        P::ProductRules => DeclineReason::ProductRules,
        P::FirmWithdrew => DeclineReason::FirmWithdrew,
        P::Other => DeclineReason::Other,
    })
}

fn decline_reason_pb(r: DeclineReason) -> pb::DeclineReason {
    use pb::DeclineReason as P;
    match r {
        DeclineReason::CreditRecord => P::CreditRecord,
        DeclineReason::Cashflow => P::Cashflow,
        DeclineReason::Leverage => P::Leverage,
        DeclineReason::Collateral => P::Collateral,
        DeclineReason::Documents => P::Documents,
        DeclineReason::ProductRules => P::ProductRules,
        DeclineReason::FirmWithdrew => P::FirmWithdrew,
        DeclineReason::Other => P::Other,
    }
}

fn stage_pb(o: &Outcome) -> pb::LeadStage {
    match o {
        Outcome::Contacted => pb::LeadStage::Contacted,
        Outcome::Unreachable => pb::LeadStage::Unreachable,
        Outcome::Applied => pb::LeadStage::Applied,
        Outcome::Approved(_) => pb::LeadStage::Approved,
        Outcome::Declined { .. } => pb::LeadStage::Declined,
    }
}

/// A stored outcome on the wire.
pub fn outcome(r: &OutcomeRecord) -> pb::LeadOutcome {
    let (approval, reason) = match &r.report.outcome {
        Outcome::Approved(a) => (
            Some(pb::Approval {
                amount: a.amount.to_fen_string(),
                annual_rate: crate::kernel::money::rate_string(a.annual_rate),
                term_months: u32::from(a.term_months),
                loan_id: a.loan_id.clone(),
            }),
            pb::DeclineReason::Unspecified,
        ),
        Outcome::Declined { reason } => (None, decline_reason_pb(*reason)),
        _ => (None, pb::DeclineReason::Unspecified),
    };
    pb::LeadOutcome {
        version: r.version,
        stage: stage_pb(&r.report.outcome) as i32,
        date: r.report.date.to_string(),
        approval,
        decline_reason: reason as i32,
        note: r.report.note.clone(),
        recorded_by: r.recorded_by.clone(),
        recorded_at: r.recorded_at.clone(),
        request_id: r.request_id.clone(),
    }
}

/// A stored lead on the wire, every label in Chinese.
pub fn lead(s: &StoredLead) -> pb::Lead {
    let l = &s.lead;
    let money = |y: Option<Yuan>| y.map(|y| y.to_fen_string()).unwrap_or_default();
    pb::Lead {
        lead_id: l.id.clone(),
        campaign_id: s.campaign_id.clone(),
        product_id: l.product_id.clone(),
        product_name: l.product_name.clone(),
        bank_id: l.bank_id.clone().unwrap_or_default(),
        firm: l.firm.clone(),
        credit_code: l.credit_code.clone().unwrap_or_default(),
        region_code: l.region_code.clone().unwrap_or_default(),
        region: l
            .region_code
            .as_deref()
            .map(crate::enterprise::region::describe)
            .unwrap_or_default(),
        size_class: l
            .size_class
            .map(|c| c.name_zh().to_string())
            .unwrap_or_default(),
        contact: l.contact.as_ref().map(|c| pb::LeadContact {
            person: c.person.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
        }),
        amount: money(l.amount),
        annual_cost: money(l.annual_cost),
        reasons: l.reasons.clone(),
        latest: s.latest.as_ref().map(outcome),
    }
}

/// A stored campaign on the wire.
pub fn campaign(c: &Campaign) -> pb::Campaign {
    pb::Campaign {
        campaign_id: c.id.clone(),
        as_of: c.as_of.to_string(),
        firms: c.firms,
        invalid: c.invalid,
        leads: c.leads,
        created_by: c.created_by.clone(),
        created_at: c.created_at.clone(),
        already: c.already.clone().into_iter().collect(),
    }
}

fn stages(key: &str, label: &str, s: &Stages) -> pb::FunnelStages {
    pb::FunnelStages {
        key: key.to_string(),
        label: label.to_string(),
        leads: s.leads,
        contacted: s.contacted,
        unreachable: s.unreachable,
        applied: s.applied,
        approved: s.approved,
        declined: s.declined,
        amount_lent: s.amount_lent.to_fen_string(),
    }
}

fn groups(g: &[Group]) -> Vec<pb::FunnelStages> {
    g.iter()
        .map(|g| stages(&g.key, &g.label, &g.stages))
        .collect()
}

/// A funnel on the wire.
pub fn funnel(f: &Funnel) -> pb::Funnel {
    pb::Funnel {
        campaign_id: f.campaign_id.clone(),
        as_of: f.as_of.to_string(),
        total: Some(stages("", "合计", &f.total)),
        by_product: groups(&f.by_product),
        by_bank: groups(&f.by_bank),
        by_region: groups(&f.by_region),
        by_size: groups(&f.by_size),
        declines: f
            .declines
            .iter()
            .map(|d| pb::DeclineCount {
                reason: DeclineReason::ALL
                    .iter()
                    .find(|r| r.code() == d.reason)
                    .map_or(pb::DeclineReason::Unspecified, |r| decline_reason_pb(*r))
                    as i32,
                label: d.label.clone(),
                leads: d.leads,
            })
            .collect(),
        decided: f.decision_days.decided,
        mean_days_to_decision: f.decision_days.mean,
        median_days_to_decision: f.decision_days.median,
        p90_days_to_decision: f.decision_days.p90,
    }
}

fn approval(a: Option<pb::Approval>, errs: &mut Vec<FieldViolation>) -> Option<Approval> {
    let Some(pb::Approval {
        amount,
        annual_rate,
        term_months,
        loan_id,
    }) = a
    else {
        errs.push(FieldViolation::new(
            "approval",
            "is required when the stage is APPROVED",
        ));
        return None;
    };
    let amount = Yuan::parse_fen(&amount)
        .map_err(|e| errs.push(FieldViolation::new("approval.amount", e.to_string())))
        .ok();
    let annual_rate = parse_rate(&annual_rate)
        .map_err(|e| errs.push(FieldViolation::new("approval.annual_rate", e.to_string())))
        .ok();
    let term = u16::try_from(term_months).unwrap_or(u16::MAX);
    let loan_id = crate::incentive::normalize_id(&loan_id).unwrap_or(loan_id);
    Some(Approval {
        amount: amount?,
        annual_rate: annual_rate?,
        term_months: term,
        loan_id,
    })
}

/// The report a ReportLeadOutcome request makes (the date defaults to
/// `today`), or every problem with its fields; the domain's own checks
/// (dates, ranges) come after.
pub fn outcome_report(
    req: pb::ReportLeadOutcomeRequest,
    today: NaiveDate,
) -> Result<OutcomeReport, Vec<FieldViolation>> {
    let pb::ReportLeadOutcomeRequest {
        request_id: _,
        lead_id: _,
        stage,
        date,
        approval: a,
        decline_reason: reason,
        note,
    } = req;
    let mut errs = Vec::new();
    let date = if date.trim().is_empty() {
        Some(today)
    } else {
        crate::kernel::date::parse_date(&date)
            .map_err(|e| errs.push(FieldViolation::new("date", e)))
            .ok()
    };
    let stage = pb::LeadStage::try_from(stage).unwrap_or(pb::LeadStage::Unspecified);
    if stage != pb::LeadStage::Approved && a.is_some() {
        errs.push(FieldViolation::new(
            "approval",
            "is only for the stage APPROVED",
        ));
    }
    if stage != pb::LeadStage::Declined && reason != 0 {
        errs.push(FieldViolation::new(
            "decline_reason",
            "is only for the stage DECLINED",
        ));
    }
    let outcome = match stage {
        pb::LeadStage::Unspecified => {
            errs.push(FieldViolation::new(
                "stage",
                "must be CONTACTED, UNREACHABLE, APPLIED, APPROVED or DECLINED",
            ));
            None
        }
        pb::LeadStage::Contacted => Some(Outcome::Contacted),
        pb::LeadStage::Unreachable => Some(Outcome::Unreachable),
        pb::LeadStage::Applied => Some(Outcome::Applied),
        pb::LeadStage::Approved => approval(a, &mut errs).map(Outcome::Approved),
        pb::LeadStage::Declined => match decline_reason(reason) {
            Some(reason) => Some(Outcome::Declined { reason }),
            None => {
                errs.push(FieldViolation::new(
                    "decline_reason",
                    "is required when the stage is DECLINED: a DECLINE_REASON_ value other than UNSPECIFIED",
                ));
                None
            }
        },
    };
    match (outcome, date, errs.is_empty()) {
        (Some(outcome), Some(date), true) => Ok(OutcomeReport {
            outcome,
            date,
            note: note.trim().to_string(),
        }),
        _ => Err(errs),
    }
}
