//! The fields of a profile by name, each with its one Chinese label: the
//! names validation, criteria and suggestions give, and the labels every
//! renderer shows for them.

use crate::kernel::named_enum;

use super::{Certification, Flag};

named_enum!(
    /// A field of a profile that is not a yes/no fact (those are
    /// [`Flag`]s), by its JSON path.
    Field, {
    /// 统一社会信用代码.
    CreditCode = "credit_code", "统一社会信用代码";
    /// 企业名称.
    Name = "name", "企业名称";
    /// 行政区划代码.
    RegionCode = "region_code", "行政区划代码";
    /// 行业代码.
    IndustryCode = "industry_code", "行业代码";
    /// 从业人员.
    Employees = "employees", "从业人员";
    /// 营业收入.
    AnnualRevenue = "annual_revenue", "营业收入";
    /// 资产总额.
    TotalAssets = "total_assets", "资产总额";
    /// 成立日期.
    Established = "established", "成立日期";
    /// 资质.
    Certifications = "certifications", "资质";
    /// 资质认定日期.
    CertificationDates = "certification_dates", "资质认定日期";
    /// 纳税信用等级.
    TaxCreditGrade = "tax_credit_grade", "纳税信用等级";
    /// 当年新招用重点群体人数.
    NewEligibleHires = "new_eligible_hires", "当年新招用重点群体人数";
    /// 申请金额.
    RequestAmount = "request.amount", "申请金额";
    /// 申请期限.
    RequestTermMonths = "request.term_months", "申请期限";
    /// 贷款用途.
    RequestPurpose = "request.purpose", "贷款用途";
    /// 已获得或已申请的产品.
    HeldProducts = "held_products", "已获得或已申请的产品";
});

/// The Chinese label of one field path (a [`Field`], a [`Flag`], or a
/// certification named as a target); `None` for a name smefin does not
/// know.
pub fn label(key: &str) -> Option<&'static str> {
    Field::parse(key)
        .map(Field::name_zh)
        .or_else(|| Flag::parse(key).map(Flag::name_zh))
        .or_else(|| Certification::parse(key).map(Certification::name_zh))
}

/// The label of a field key as criteria and suggestions give it, for
/// officers: one field, several that are all missing (`employees,
/// annual_revenue` → 从业人员、营业收入), or facts any one of which would do
/// (`has_receivables|has_purchase_orders` → …或…). A name smefin does not
/// know is shown as it is.
pub fn describe(key: &str) -> String {
    let one = |k: &str| match label(k) {
        Some(zh) => zh.to_string(),
        None => k.to_string(),
    };
    if key.contains('|') {
        key.split('|').map(one).collect::<Vec<_>>().join("或")
    } else {
        key.split(", ").map(one).collect::<Vec<_>>().join("、")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_every_kind_of_key() {
        assert_eq!(describe("annual_revenue"), "营业收入");
        assert_eq!(describe("employees, annual_revenue"), "从业人员、营业收入");
        assert_eq!(
            describe("has_receivables|has_purchase_orders"),
            "拥有可质押的应收账款或拥有可质押的订单"
        );
        assert_eq!(describe("request.term_months"), "申请期限");
        assert_eq!(describe("held_products"), "已获得或已申请的产品");
        assert_eq!(describe("no_such_field"), "no_such_field");
        // (the size metrics name their fields by this table)
        for m in [
            super::super::size::Metric::Staff,
            super::super::size::Metric::Revenue,
            super::super::size::Metric::Assets,
        ] {
            assert!(Field::parse(m.field()).is_some(), "{}", m.field());
        }
    }
}
