//! Conversions for `smefin/v1/common.proto`.

use crate::enterprise::{
    self, Certification, Holding, LoanPurpose, RawCertificationDate, RawContact, RawHeldProduct,
    RawProfile, RawRequest, SizeClass, TaxCreditGrade,
};
use crate::server::pb;

/// Proto enum → domain; `None` for UNSPECIFIED. Exhaustive both ways, as in
/// the incentive conversions: a variant added or renamed on either side
/// fails the build.
pub fn certification(c: pb::Certification) -> Option<Certification> {
    use Certification as D;
    use pb::Certification as P;
    Some(match c {
        P::Unspecified => return None,
        P::InnovativeSme => D::InnovativeSme,
        P::ZjtxProvincial => D::ZjtxProvincial,
        P::ZjtxNanchang => D::ZjtxNanchang,
        P::LittleGiantProvincial => D::LittleGiantProvincial,
        P::LittleGiantNational => D::LittleGiantNational,
        P::SingleChampionProvincial => D::SingleChampionProvincial,
        P::SingleChampionNational => D::SingleChampionNational,
        P::HighTech => D::HighTech,
        P::TechSme => D::TechSme,
        P::ServicePlatformNational => D::ServicePlatformNational,
        P::ServicePlatformProvincial => D::ServicePlatformProvincial,
        P::ServicePlatformNanchang => D::ServicePlatformNanchang,
        P::InnovationBaseNational => D::InnovationBaseNational,
        P::InnovationBaseProvincial => D::InnovationBaseProvincial,
        P::InnovationBaseNanchang => D::InnovationBaseNanchang,
    })
}

/// Domain → proto enum.
pub fn certification_pb(c: Certification) -> pb::Certification {
    use Certification as D;
    use pb::Certification as P;
    match c {
        D::InnovativeSme => P::InnovativeSme,
        D::ZjtxProvincial => P::ZjtxProvincial,
        D::ZjtxNanchang => P::ZjtxNanchang,
        D::LittleGiantProvincial => P::LittleGiantProvincial,
        D::LittleGiantNational => P::LittleGiantNational,
        D::SingleChampionProvincial => P::SingleChampionProvincial,
        D::SingleChampionNational => P::SingleChampionNational,
        D::HighTech => P::HighTech,
        D::TechSme => P::TechSme,
        D::ServicePlatformNational => P::ServicePlatformNational,
        D::ServicePlatformProvincial => P::ServicePlatformProvincial,
        D::ServicePlatformNanchang => P::ServicePlatformNanchang,
        D::InnovationBaseNational => P::InnovationBaseNational,
        D::InnovationBaseProvincial => P::InnovationBaseProvincial,
        D::InnovationBaseNanchang => P::InnovationBaseNanchang,
    }
}

/// Proto enum → domain; `None` for UNSPECIFIED.
pub fn tax_credit_grade(g: pb::TaxCreditGrade) -> Option<TaxCreditGrade> {
    use TaxCreditGrade as D;
    use pb::TaxCreditGrade as P;
    Some(match g {
        P::Unspecified => return None,
        P::A => D::A,
        P::B => D::B,
        P::M => D::M,
        P::C => D::C,
        P::D => D::D,
    })
}

/// Domain → proto enum.
pub fn tax_credit_grade_pb(g: TaxCreditGrade) -> pb::TaxCreditGrade {
    use TaxCreditGrade as D;
    use pb::TaxCreditGrade as P;
    match g {
        D::A => P::A,
        D::B => P::B,
        D::M => P::M,
        D::C => P::C,
        D::D => P::D,
    }
}

/// Proto enum → domain; `None` for UNSPECIFIED.
pub fn loan_purpose(p: pb::LoanPurpose) -> Option<LoanPurpose> {
    use LoanPurpose as D;
    use pb::LoanPurpose as P;
    Some(match p {
        P::Unspecified => return None,
        P::WorkingCapital => D::WorkingCapital,
        P::FixedAssets => D::FixedAssets,
        P::Technology => D::Technology,
        P::Renewal => D::Renewal,
        P::StartUp => D::StartUp,
        P::Other => D::Other,
    })
}

/// Domain → proto enum.
pub fn loan_purpose_pb(p: LoanPurpose) -> pb::LoanPurpose {
    use LoanPurpose as D;
    use pb::LoanPurpose as P;
    match p {
        D::WorkingCapital => P::WorkingCapital,
        D::FixedAssets => P::FixedAssets,
        D::Technology => P::Technology,
        D::Renewal => P::Renewal,
        D::StartUp => P::StartUp,
        D::Other => P::Other,
    }
}

/// Proto enum → domain; `None` for UNSPECIFIED.
pub fn holding(h: pb::HoldingStatus) -> Option<Holding> {
    match h {
        pb::HoldingStatus::Unspecified => None,
        pb::HoldingStatus::Held => Some(Holding::Held),
        pb::HoldingStatus::Applied => Some(Holding::Applied),
    }
}

/// A proto enum number as the raw profile's text: the domain code of a
/// value it has; for UNSPECIFIED or a number the proto does not define,
/// text that validation rejects under the field's name.
fn raw_enum<P: TryFrom<i32>, D>(
    v: i32,
    to_domain: fn(P) -> Option<D>,
    code: fn(D) -> &'static str,
    unspecified: &str,
) -> String {
    match P::try_from(v) {
        Ok(p) => to_domain(p).map_or_else(|| unspecified.to_string(), |d| code(d).to_string()),
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
            certification_dates,
            makes_listed_major_equipment,
            makes_listed_new_material,
            has_warehouse_receipts,
            has_purchase_orders,
            is_listed,
            no_certifications,
            held_products,
            contact,
        } = p;
        RawProfile {
            certification_dates: certification_dates.into_iter().map(Into::into).collect(),
            makes_listed_major_equipment,
            makes_listed_new_material,
            has_warehouse_receipts,
            has_purchase_orders,
            is_listed,
            credit_code,
            name,
            region_code,
            industry_code,
            employees: employees.map(i64::from),
            annual_revenue,
            total_assets,
            established,
            // proto3 cannot tell an empty list from none sent: an empty one
            // is unknown unless `no_certifications` says none is held.
            certifications: (!certifications.is_empty() || no_certifications == Some(true))
                .then(|| certifications.into_iter().map(raw_certification).collect()),
            no_certifications,
            held_products: held_products.into_iter().map(Into::into).collect(),
            contact: contact.map(|c| RawContact {
                person: c.person,
                phone: c.phone,
            }),
            in_industrial_park,
            is_cultural_tourism,
            tax_credit_grade: tax_credit_grade.map(|g| {
                raw_enum(
                    g,
                    self::tax_credit_grade,
                    TaxCreditGrade::code,
                    "TAX_CREDIT_GRADE_UNSPECIFIED",
                )
            }),
            has_bank_loans,
            new_eligible_hires: new_eligible_hires.map(i64::from),
            wage_or_social_insurance_arrears,
            has_registered_ip,
            has_receivables,
            request: request.map(Into::into),
        }
    }
}

/// A certification as the profile's raw text: its code, or what the wire
/// value is when it names none.
fn raw_certification(c: i32) -> String {
    raw_enum(
        c,
        certification,
        Certification::code,
        "CERTIFICATION_UNSPECIFIED",
    )
}

impl From<pb::CertificationDate> for RawCertificationDate {
    fn from(d: pb::CertificationDate) -> Self {
        RawCertificationDate {
            certification: raw_certification(d.certification),
            designated: d.designated,
        }
    }
}

impl From<pb::HeldProduct> for RawHeldProduct {
    fn from(h: pb::HeldProduct) -> Self {
        RawHeldProduct {
            product_id: h.product_id,
            status: raw_enum(
                h.status,
                holding,
                Holding::code,
                "HOLDING_STATUS_UNSPECIFIED",
            ),
            since: (!h.since.is_empty()).then_some(h.since),
        }
    }
}

impl From<pb::FinancingRequest> for RawRequest {
    fn from(r: pb::FinancingRequest) -> Self {
        let pb::FinancingRequest {
            amount,
            term_months,
            purpose,
        } = r;
        RawRequest {
            amount,
            term_months: term_months.map(i64::from),
            purpose: purpose.map(|p| {
                raw_enum(
                    p,
                    loan_purpose,
                    LoanPurpose::code,
                    "LOAN_PURPOSE_UNSPECIFIED",
                )
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

impl From<crate::kernel::violation::FieldViolation> for pb::FieldProblem {
    fn from(v: crate::kernel::violation::FieldViolation) -> Self {
        let crate::kernel::violation::FieldViolation { field, description } = v;
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

    /// The domain's qualified codes are the proto's value names (both
    /// follow the type-prefix rule), so suggestion targets name wire values
    /// and a proto-JSON profile reads as is.
    #[test]
    fn every_value_converts_both_ways_and_spells_as_the_wire() {
        for &c in Certification::ALL {
            let p = certification_pb(c);
            assert_eq!(certification(p), Some(c));
            assert_eq!(p.as_str_name(), c.qualified_code());
        }
        for &g in TaxCreditGrade::ALL {
            let p = tax_credit_grade_pb(g);
            assert_eq!(tax_credit_grade(p), Some(g));
            assert_eq!(p.as_str_name(), g.qualified_code());
        }
        for &u in LoanPurpose::ALL {
            let p = loan_purpose_pb(u);
            assert_eq!(loan_purpose(p), Some(u));
            assert_eq!(p.as_str_name(), u.qualified_code());
        }
        assert_eq!(certification(pb::Certification::Unspecified), None);
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
