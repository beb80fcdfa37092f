//! Conversions for `smefin/v1/common.proto`.

use crate::enterprise::{self, RawProfile, RawRequest, SizeClass};
use crate::server::pb;

/// The name of a proto enum value, or a description of an unknown number
/// (which validation then rejects, naming the field).
fn enum_name<E: TryFrom<i32>>(v: i32, name: impl Fn(E) -> &'static str) -> String {
    match E::try_from(v) {
        Ok(e) => name(e).to_string(),
        Err(_) => format!("unknown enum value {v}"),
    }
}

impl From<pb::EnterpriseProfile> for RawProfile {
    fn from(p: pb::EnterpriseProfile) -> Self {
        let pb::EnterpriseProfile {
            credit_code,
            name,
            region_code,
            industry_code,
            employees,
            annual_revenue,
            total_assets,
            established,
            certifications,
            in_industrial_park,
            is_cultural_tourism,
            tax_credit_grade,
            has_bank_loans,
            new_eligible_hires,
            wage_or_social_insurance_arrears,
            has_registered_ip,
            has_receivables,
            request,
        } = p;
        RawProfile {
            credit_code,
            name,
            region_code,
            industry_code,
            employees: employees.map(i64::from),
            annual_revenue,
            total_assets,
            established,
            certifications: certifications
                .into_iter()
                .map(|c| enum_name(c, |e: pb::Certification| e.as_str_name()))
                .collect(),
            in_industrial_park,
            is_cultural_tourism,
            tax_credit_grade: tax_credit_grade
                .map(|g| enum_name(g, |e: pb::TaxCreditGrade| e.as_str_name())),
            has_bank_loans,
            new_eligible_hires: new_eligible_hires.map(i64::from),
            wage_or_social_insurance_arrears,
            has_registered_ip,
            has_receivables,
            request: request.map(|r| {
                let pb::FinancingRequest {
                    amount,
                    term_months,
                    purpose,
                } = r;
                RawRequest {
                    amount,
                    term_months: term_months.map(i64::from),
                    purpose: purpose.map(|p| enum_name(p, |e: pb::LoanPurpose| e.as_str_name())),
                }
            }),
        }
    }
}

impl From<Option<SizeClass>> for pb::SizeClass {
    fn from(c: Option<SizeClass>) -> Self {
        match c {
            None => pb::SizeClass::Unspecified,
            Some(SizeClass::Large) => pb::SizeClass::Large,
            Some(SizeClass::Medium) => pb::SizeClass::Medium,
            Some(SizeClass::Small) => pb::SizeClass::Small,
            Some(SizeClass::Micro) => pb::SizeClass::Micro,
        }
    }
}

impl From<enterprise::CreditCode> for pb::CreditCodeCheck {
    fn from(c: enterprise::CreditCode) -> Self {
        let enterprise::CreditCode {
            code,
            check_character_valid,
            entity_type,
            region_code,
            warnings,
        } = c;
        pb::CreditCodeCheck {
            code,
            check_character_valid,
            entity_type,
            region_code,
            warnings,
        }
    }
}

impl From<enterprise::FieldViolation> for pb::FieldProblem {
    fn from(v: enterprise::FieldViolation) -> Self {
        let enterprise::FieldViolation { field, description } = v;
        pb::FieldProblem { field, description }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enterprise::Profile;

    #[test]
    fn proto_profile_converts_and_validates() {
        let p = pb::EnterpriseProfile {
            name: "x".into(),
            industry_code: Some("C3562".into()),
            employees: Some(30),
            annual_revenue: Some("500万".into()),
            certifications: vec![pb::Certification::HighTech as i32],
            tax_credit_grade: Some(pb::TaxCreditGrade::A as i32),
            request: Some(pb::FinancingRequest {
                amount: Some("100万".into()),
                term_months: Some(12),
                purpose: Some(pb::LoanPurpose::Technology as i32),
            }),
            ..Default::default()
        };
        let prof = Profile::from_raw(p.into()).unwrap();
        assert_eq!(
            prof.certifications,
            vec![enterprise::Certification::HighTech]
        );
        assert_eq!(prof.tax_credit_grade, Some(enterprise::TaxCreditGrade::A));
        assert_eq!(
            prof.request.purpose,
            Some(enterprise::LoanPurpose::Technology)
        );
    }

    #[test]
    fn unspecified_and_unknown_enums_are_rejected_by_field() {
        let p = pb::EnterpriseProfile {
            certifications: vec![pb::Certification::Unspecified as i32, 99],
            tax_credit_grade: Some(0),
            ..Default::default()
        };
        let err = Profile::from_raw_at(p.into(), "profile.").unwrap_err();
        let fields: Vec<&str> = err.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "profile.certifications[0]",
                "profile.certifications[1]",
                "profile.tax_credit_grade"
            ]
        );
        assert!(
            err.violations[1]
                .description
                .contains("unknown enum value 99")
        );
    }
}
