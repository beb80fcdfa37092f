//! A profile as it arrives: the JSON shape of `smefin.v1.EnterpriseProfile`,
//! strings and optional values, unvalidated.

use serde::{Deserialize, Serialize};

/// A certification's designation date, as it arrives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertificationDate {
    /// Certification (code, qualified code or Chinese name).
    pub certification: String,
    /// Designation date, `YYYY-MM-DD`.
    pub designated: String,
}

/// The financing requested, as it arrives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// Amount, a money string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Term in months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_months: Option<i64>,
    /// Purpose (code, proto name or Chinese name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// Whom a bank should call about a firm, as the registry gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContact {
    /// A person to ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// A telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A product a firm holds or has applied for, as it arrives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeldProduct {
    /// The catalogue's product id.
    #[serde(default)]
    pub product_id: String,
    /// `held` or `applied` (or 已获得, 已申请).
    #[serde(default)]
    pub status: String,
    /// Since when (YYYY-MM-DD), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// An enterprise profile as it arrives: the JSON shape of
/// `smefin.v1.EnterpriseProfile`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    /// 统一社会信用代码.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// GB/T 2260 area code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_code: Option<String>,
    /// GB/T 4754-2017 code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry_code: Option<String>,
    /// Staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employees: Option<i64>,
    /// Revenue, money string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annual_revenue: Option<String>,
    /// Assets, money string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_assets: Option<String>,
    /// Establishment date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established: Option<String>,
    /// Certifications held: absent, unknown; `[]`, none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certifications: Option<Vec<String>>,
    /// True: the firm holds no certification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_certifications: Option<bool>,
    /// Products the firm already holds or has applied for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_products: Vec<RawHeldProduct>,
    /// Whom to contact (carried to the banks with the firm's leads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<RawContact>,
    /// In an industrial park.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_industrial_park: Option<bool>,
    /// Culture or tourism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_cultural_tourism: Option<bool>,
    /// Tax grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_credit_grade: Option<String>,
    /// Has bank loans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_bank_loans: Option<bool>,
    /// New eligible hires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_eligible_hires: Option<i64>,
    /// Arrears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wage_or_social_insurance_arrears: Option<bool>,
    /// Registered IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_registered_ip: Option<bool>,
    /// Receivables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_receivables: Option<bool>,
    /// Financing request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RawRequest>,
    /// Designation dates of certifications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certification_dates: Vec<RawCertificationDate>,
    /// Makes listed 首台（套） equipment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub makes_listed_major_equipment: Option<bool>,
    /// Makes listed 首批次 new material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub makes_listed_new_material: Option<bool>,
    /// Has pledgeable warehouse receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_warehouse_receipts: Option<bool>,
    /// Has pledgeable purchase orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_purchase_orders: Option<bool>,
    /// Listed on a stock exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_listed: Option<bool>,
}
