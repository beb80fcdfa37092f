//! Conversions for `smefin/v1/incentive_service.proto`.

use crate::incentive::{
    self, Bank, BorrowerType, Excluded, Exclusion, IncentiveRules, InstitutionType, LoanRecord,
    LoanUse, Statement, StatementLine,
};
use crate::kernel::money::{self, Yuan};
use crate::kernel::violation::FieldViolation;
use crate::server::pb;
use crate::store::{StoredReport, StoredStatement};

fn opt(y: Option<Yuan>) -> String {
    y.map(|y| y.to_fen_string()).unwrap_or_default()
}

/// Proto enum → domain; `None` for UNSPECIFIED or unknown numbers. Every
/// conversion here is an exhaustive `match` both ways, so a variant added
/// or renamed on either side fails the build instead of becoming 0.
pub fn institution_type(v: i32) -> Option<InstitutionType> {
    use InstitutionType as D;
    use pb::InstitutionType as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::StateOwnedLarge => D::StateOwnedLarge,
        P::JointStock => D::JointStock,
        P::Policy => D::Policy,
        P::Foreign => D::Foreign,
        P::OutOfProvinceBranch => D::OutOfProvinceBranch,
        P::CityCommercial => D::CityCommercial,
        P::RuralCommercial => D::RuralCommercial,
        P::RuralCooperative => D::RuralCooperative,
        P::RuralCreditCooperative => D::RuralCreditCooperative,
        P::Village => D::Village,
        P::Private => D::Private,
    })
}

/// Proto enum → domain.
pub fn borrower_type(v: i32) -> Option<BorrowerType> {
    use BorrowerType as D;
    use pb::BorrowerType as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::SmallMicroEnterprise => D::SmallMicroEnterprise,
        P::IndividualBusiness => D::IndividualBusiness,
        P::SmallMicroOwner => D::SmallMicroOwner,
        P::LargeMediumEnterprise => D::LargeMediumEnterprise,
        P::OtherIndividual => D::OtherIndividual,
    })
}

/// Proto enum → domain.
pub fn loan_use(v: i32) -> Option<LoanUse> {
    use LoanUse as D;
    use pb::LoanUse as P;
    Some(match P::try_from(v).ok()? {
        P::Unspecified => return None,
        P::Business => D::Business,
        P::Consumption => D::Consumption,
        P::Other => D::Other,
    })
}

fn institution_pb(t: InstitutionType) -> i32 {
    use InstitutionType as D;
    use pb::InstitutionType as P;
    (match t {
        D::StateOwnedLarge => P::StateOwnedLarge,
        D::JointStock => P::JointStock,
        D::Policy => P::Policy,
        D::Foreign => P::Foreign,
        D::OutOfProvinceBranch => P::OutOfProvinceBranch,
        D::CityCommercial => P::CityCommercial,
        D::RuralCommercial => P::RuralCommercial,
        D::RuralCooperative => P::RuralCooperative,
        D::RuralCreditCooperative => P::RuralCreditCooperative,
        D::Village => P::Village,
        D::Private => P::Private,
    }) as i32
}

fn exclusion_pb(e: Exclusion) -> i32 {
    (match e {
        Exclusion::BorrowerType => pb::ExclusionReason::BorrowerType,
        Exclusion::NonBusinessPurpose => pb::ExclusionReason::NonBusinessPurpose,
        Exclusion::CreditLineAboveLimit => pb::ExclusionReason::CreditLineAboveLimit,
    }) as i32
}

fn excluded(v: &[Excluded]) -> Vec<pb::ExcludedLoans> {
    v.iter()
        .map(|e| pb::ExcludedLoans {
            reason: exclusion_pb(e.reason),
            loans: e.loans,
            balance: e.balance.to_fen_string(),
        })
        .collect()
}

/// A bank on the wire.
pub fn bank(b: &Bank, rules: &IncentiveRules) -> pb::Bank {
    pb::Bank {
        bank_id: b.bank_id.clone(),
        name: b.name.clone(),
        institution_type: institution_pb(b.institution_type),
        qualifies: rules.qualifies(b.institution_type),
    }
}

impl From<StoredReport> for pb::BalanceReport {
    fn from(r: StoredReport) -> Self {
        let StoredReport {
            report,
            source,
            loans,
            request_id,
            submitted_by,
            submitted_at,
        } = r;
        pb::BalanceReport {
            bank_id: report.bank_id,
            period: report.period.to_string(),
            balance: report.balance.to_fen_string(),
            version: report.version,
            source,
            loans,
            excluded: excluded(&report.excluded),
            request_id,
            submitted_by,
            submitted_at,
        }
    }
}

fn line(l: StatementLine) -> pb::StatementLine {
    let StatementLine {
        bank_id,
        bank_name,
        institution_type,
        previous_balance,
        balance,
        increment,
        rate,
        incentive_before_budget,
        incentive,
        previously_stated,
        adjustment,
        excluded: ex,
        note,
        error,
    } = l;
    pb::StatementLine {
        bank_id,
        bank_name,
        institution_type: institution_pb(institution_type),
        previous_balance: opt(previous_balance),
        balance: opt(balance),
        increment: opt(increment),
        rate: money::rate_string(rate),
        incentive_before_budget: incentive_before_budget.to_fen_string(),
        incentive: incentive.to_fen_string(),
        previously_stated: opt(previously_stated),
        adjustment: opt(adjustment),
        excluded: excluded(&ex),
        note,
        error,
    }
}

/// A statement on the wire, keeping only the lines `keep` admits.
/// A statement as the wire carries it, with the lines `keep` admits. A
/// view that leaves lines out (a bank's: its own line only) carries nothing
/// about the others: no budget, no total, not whether it was scaled. (A
/// bank still sees its own incentive before and after the budget, which it
/// could compute itself; their ratio is the scale factor, budget ÷ the sum
/// before the budget, and without the budget it determines no other bank's
/// figure.)
pub fn statement(s: StoredStatement, keep: impl Fn(&StatementLine) -> bool) -> pb::Statement {
    let StoredStatement {
        statement,
        computed_by,
        computed_at,
    } = s;
    let Statement {
        period,
        version,
        rate,
        budget,
        scaled,
        lines,
        total,
    } = statement;
    let all = lines.len();
    let lines: Vec<pb::StatementLine> = lines.into_iter().filter(|l| keep(l)).map(line).collect();
    let whole = lines.len() == all;
    pb::Statement {
        period: period.to_string(),
        version,
        rate: money::rate_string(rate),
        budget: if whole { opt(budget) } else { String::new() },
        scaled: whole && scaled,
        total: if whole {
            total.to_fen_string()
        } else {
            String::new()
        },
        lines,
        computed_by,
        computed_at,
    }
}

/// The record of loan `i` of a snapshot, its loan id already admitted
/// (normalised) as `loan_id`, its borrower id normalised by the same rule;
/// each problem is pushed onto `errs` under `loans[i].…`, and then there is
/// no record.
pub fn loan_record(
    i: usize,
    loan_id: Option<String>,
    l: pb::LoanRecord,
    errs: &mut Vec<FieldViolation>,
) -> Option<LoanRecord> {
    let pb::LoanRecord {
        loan_id: _,
        borrower_id,
        borrower_type: kind,
        purpose,
        credit_line,
        balance,
    } = l;
    let before = errs.len();
    let f = |name: &str| format!("loans[{i}].{name}");
    let bt = borrower_type(kind);
    if bt.is_none() {
        errs.push(FieldViolation::new(
            f("borrower_type"),
            "must be a BORROWER_TYPE_ value other than UNSPECIFIED",
        ));
    }
    let use_ = loan_use(purpose);
    if use_.is_none() {
        errs.push(FieldViolation::new(
            f("purpose"),
            "must be a LOAN_USE_ value other than UNSPECIFIED",
        ));
    }
    let mut money = |name: &str, s: &str| match Yuan::parse_fen(s) {
        Ok(y) => y,
        Err(e) => {
            errs.push(FieldViolation::new(f(name), e.to_string()));
            Yuan::ZERO
        }
    };
    let credit_line = money("credit_line", &credit_line);
    let balance = money("balance", &balance);
    let borrower_id = incentive::normalize_id(&borrower_id)
        .map_err(|why| errs.push(FieldViolation::new(f("borrower_id"), why)))
        .ok();
    let rec = LoanRecord {
        loan_id: loan_id?,
        borrower_id: borrower_id?,
        borrower_type: bt?,
        purpose: use_?,
        credit_line,
        balance,
    };
    (errs.len() == before).then_some(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_by_number_and_zero_is_refused() {
        for v in 0..=20 {
            let d = institution_type(v);
            assert_eq!(d.is_some(), (1..=11).contains(&v), "{v}");
            if let Some(d) = d {
                assert_eq!(institution_pb(d), v);
            }
            assert_eq!(borrower_type(v).is_some(), (1..=5).contains(&v), "{v}");
            assert_eq!(loan_use(v).is_some(), (1..=3).contains(&v), "{v}");
        }
        assert_eq!(loan_use(1), Some(LoanUse::Business));
        assert_eq!(borrower_type(2), Some(BorrowerType::IndividualBusiness));
    }

    /// The CSV formats accept the qualified codes; they are the wire's names.
    #[test]
    fn qualified_codes_are_the_wire_names() {
        for v in 1..=11 {
            let d = institution_type(v).unwrap();
            let p = pb::InstitutionType::try_from(v).unwrap();
            assert_eq!(p.as_str_name(), d.qualified_code());
        }
        for v in 1..=5 {
            let p = pb::BorrowerType::try_from(v).unwrap();
            assert_eq!(p.as_str_name(), borrower_type(v).unwrap().qualified_code());
        }
        for v in 1..=3 {
            let p = pb::LoanUse::try_from(v).unwrap();
            assert_eq!(p.as_str_name(), loan_use(v).unwrap().qualified_code());
        }
    }
}
