//! The SME profile: what smefin knows about an enterprise, validated.
//!
//! [`RawProfile`] is the input as it arrives (JSON on the command line, or
//! converted from the wire): strings and optional values with the same
//! snake_case names as `smefin.v1.EnterpriseProfile`. [`Profile::from_raw`]
//! validates it, collecting **every** problem with its field path, and derives
//! the size class (划型) inputs. Absent means unknown, never zero.

pub mod credit_code;
pub mod field;
pub mod industry;
mod parse;
mod raw;
pub mod region;
pub mod size;

use chrono::NaiveDate;
use serde::Serialize;

use self::parse::{
    checked, count, money, parse_certification_dates, parse_certifications, parse_contact,
    parse_grade, parse_held_products, parse_region, parse_request,
};
pub use self::raw::{RawCertificationDate, RawContact, RawHeldProduct, RawProfile, RawRequest};
use crate::kernel::date::parse_date;
use crate::kernel::money::Yuan;
use crate::kernel::named_enum;
use crate::kernel::violation::{FieldViolation, describe_all};
pub use credit_code::CreditCode;
pub use field::Field;
pub use size::{IndustryCode, IndustryError, SizeClass, SizeIndustry, SizeOutcome};

/// Most entries of a profile's `certifications`.
pub const MAX_CERTIFICATIONS: usize = 64;

/// A profile that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid profile: {}", describe_all(.violations))]
pub struct ProfileError {
    /// Every problem found.
    pub violations: Vec<FieldViolation>,
}

named_enum!(
    /// Certifications (资质认定) an enterprise may hold.
    Certification, {
    /// 创新型中小企业.
    InnovativeSme = "innovative_sme", "创新型中小企业";
    /// 江西省专精特新中小企业.
    ZjtxProvincial = "zjtx_provincial", "江西省专精特新中小企业";
    /// 南昌市专精特新中小企业.
    ZjtxNanchang = "zjtx_nanchang", "南昌市专精特新中小企业";
    /// 江西省专业化"小巨人"企业.
    LittleGiantProvincial = "little_giant_provincial", "江西省专业化小巨人企业";
    /// 国家级专精特新"小巨人"企业.
    LittleGiantNational = "little_giant_national", "国家级专精特新小巨人企业";
    /// 江西省制造业单项冠军.
    SingleChampionProvincial = "single_champion_provincial", "江西省制造业单项冠军";
    /// 国家级制造业单项冠军.
    SingleChampionNational = "single_champion_national", "国家级制造业单项冠军";
    /// 高新技术企业.
    HighTech = "high_tech", "高新技术企业";
    /// 科技型中小企业.
    TechSme = "tech_sme", "科技型中小企业";
    /// 国家中小企业公共服务示范平台.
    ServicePlatformNational = "service_platform_national", "国家中小企业公共服务示范平台";
    /// 江西省中小企业公共服务示范平台.
    ServicePlatformProvincial = "service_platform_provincial", "江西省中小企业公共服务示范平台";
    /// 南昌市中小企业公共服务示范平台.
    ServicePlatformNanchang = "service_platform_nanchang", "南昌市中小企业公共服务示范平台";
    /// 国家小型微型企业创业创新示范基地.
    InnovationBaseNational = "innovation_base_national", "国家小型微型企业创业创新示范基地";
    /// 江西省小型微型企业创业创新示范基地.
    InnovationBaseProvincial = "innovation_base_provincial", "江西省小型微型企业创业创新示范基地";
    /// 南昌市小型微型企业创业创新示范基地.
    InnovationBaseNanchang = "innovation_base_nanchang", "南昌市小型微型企业创业创新示范基地";
});

named_enum!(
    /// 纳税信用等级, best first.
    TaxCreditGrade, {
    /// A.
    A = "a", "A级";
    /// B.
    B = "b", "B级";
    /// M (new taxpayers without a full year of history).
    M = "m", "M级";
    /// C.
    C = "c", "C级";
    /// D.
    D = "d", "D级";
});

named_enum!(
    /// What a requested loan is for.
    LoanPurpose, {
    /// 流动资金.
    WorkingCapital = "working_capital", "流动资金";
    /// 固定资产 / 设备.
    FixedAssets = "fixed_assets", "固定资产";
    /// 技术开发.
    Technology = "technology", "技术开发";
    /// 续贷.
    Renewal = "renewal", "续贷";
    /// 创业.
    StartUp = "start_up", "创业";
    /// Other.
    Other = "other", "其他";
});

named_enum!(
    /// Boolean facts of a profile that rules can test.
    Flag, {
    /// In a provincial industrial park.
    InIndustrialPark = "in_industrial_park", "位于工业园区";
    /// Culture or tourism enterprise.
    IsCulturalTourism = "is_cultural_tourism", "文化旅游企业";
    /// Has borrowed from a bank before.
    HasBankLoans = "has_bank_loans", "有银行贷款记录";
    /// Has wage or social-insurance arrears.
    WageOrSocialInsuranceArrears = "wage_or_social_insurance_arrears", "存在欠薪欠缴社保等严重失信行为";
    /// Holds registered IP.
    HasRegisteredIp = "has_registered_ip", "拥有已登记的专利或商标";
    /// Has pledgeable receivables.
    HasReceivables = "has_receivables", "拥有可质押的应收账款";
    /// Makes 首台（套）重大技术装备 listed for promotion in Jiangxi.
    MakesListedMajorEquipment = "makes_listed_major_equipment", "生产列入江西省推广应用范围的首台（套）重大技术装备";
    /// Makes 重点新材料 listed for 首批次 application insurance in Jiangxi.
    MakesListedNewMaterial = "makes_listed_new_material", "生产列入江西省推广应用范围的重点新材料产品";
    /// Holds pledgeable warehouse receipts.
    HasWarehouseReceipts = "has_warehouse_receipts", "拥有可质押的仓单";
    /// Holds pledgeable purchase orders.
    HasPurchaseOrders = "has_purchase_orders", "拥有可质押的订单";
    /// Listed on a stock exchange.
    IsListed = "is_listed", "已在境内外上市";
});

named_enum!(
    /// Whether a firm holds a product or has applied for it.
    Holding, {
    /// A loan under the programme outstanding, or the award received.
    Held = "held", "已获得";
    /// An application pending.
    Applied = "applied", "已申请";
});

/// Whom a bank should call about a firm.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Contact {
    /// A person to ask for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// A telephone number (digits, spaces, `+`, `-`, brackets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A product a firm already holds or has applied for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldProduct {
    /// The catalogue's product id (checked against the catalogue when the
    /// firm is matched).
    pub product_id: String,
    /// Held or applied for.
    pub status: Holding,
    /// Since when, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<NaiveDate>,
}

/// The financing requested, validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FinancingRequest {
    /// Amount.
    pub amount: Option<Yuan>,
    /// Term in months (≥ 1).
    pub term_months: Option<u32>,
    /// Purpose.
    pub purpose: Option<LoanPurpose>,
}

/// A validated enterprise profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Credit code (format-valid; check-character problems are warnings).
    pub credit_code: Option<CreditCode>,
    /// Name.
    pub name: String,
    /// GB/T 2260 area code (2, 4 or 6 digits).
    pub region_code: Option<String>,
    /// Industry.
    pub industry: Option<IndustryCode>,
    /// Staff.
    pub employees: Option<u32>,
    /// Revenue.
    pub annual_revenue: Option<Yuan>,
    /// Assets.
    pub total_assets: Option<Yuan>,
    /// Establishment date.
    pub established: Option<NaiveDate>,
    /// Certifications known to be held (listed, or dated), deduplicated,
    /// in enum order.
    pub certifications: Vec<Certification>,
    /// Whether `certifications` is all the firm holds (it listed them, or
    /// said it holds none); otherwise one not in it is unknown, not absent.
    pub certifications_listed: bool,
    /// In an industrial park.
    pub in_industrial_park: Option<bool>,
    /// Culture or tourism (given, or derived from the industry).
    pub is_cultural_tourism: Option<bool>,
    /// Tax grade.
    pub tax_credit_grade: Option<TaxCreditGrade>,
    /// Has bank loans.
    pub has_bank_loans: Option<bool>,
    /// New eligible hires.
    pub new_eligible_hires: Option<u32>,
    /// Arrears.
    pub wage_or_social_insurance_arrears: Option<bool>,
    /// Registered IP.
    pub has_registered_ip: Option<bool>,
    /// Receivables.
    pub has_receivables: Option<bool>,
    /// Financing request.
    pub request: FinancingRequest,
    /// Designation dates of held certifications, where known.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub certification_dates: std::collections::BTreeMap<Certification, NaiveDate>,
    /// Products already held or applied for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held_products: Vec<HeldProduct>,
    /// Whom to contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    /// Makes listed 首台（套） equipment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub makes_listed_major_equipment: Option<bool>,
    /// Makes listed 首批次 new material.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub makes_listed_new_material: Option<bool>,
    /// Has pledgeable warehouse receipts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_warehouse_receipts: Option<bool>,
    /// Has pledgeable purchase orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_purchase_orders: Option<bool>,
    /// Listed on a stock exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_listed: Option<bool>,
}

impl Profile {
    /// Validates a raw profile, reporting every problem at once.
    pub fn from_raw(raw: RawProfile) -> Result<Profile, ProfileError> {
        Self::from_raw_at(raw, "")
    }

    /// As [`Profile::from_raw`], prefixing field paths with `prefix` (e.g.
    /// `"profile."`).
    pub fn from_raw_at(raw: RawProfile, prefix: &str) -> Result<Profile, ProfileError> {
        let mut errs = Vec::new();
        let profile = Profile::read(raw, &mut errs);
        if errs.is_empty() {
            return Ok(profile);
        }
        for e in &mut errs {
            e.field = format!("{prefix}{}", e.field);
        }
        Err(ProfileError { violations: errs })
    }

    /// Every field read, in the order of the profile's keys; each problem is
    /// pushed onto `errs`, and the profile means something only when none
    /// was.
    fn read(raw: RawProfile, errs: &mut Vec<FieldViolation>) -> Profile {
        let credit_code = checked("credit_code", raw.credit_code, credit_code::validate, errs);
        if raw.name.chars().count() > 200 {
            errs.push(FieldViolation::new("name", "longer than 200 characters"));
        }
        let region_code = checked("region_code", raw.region_code, parse_region, errs);
        let industry = checked(
            "industry_code",
            raw.industry_code,
            IndustryCode::parse,
            errs,
        );
        let employees = count("employees", raw.employees, errs);
        let new_eligible_hires = count("new_eligible_hires", raw.new_eligible_hires, errs);
        if let (Some(h), Some(n)) = (new_eligible_hires, employees)
            && h > n
        {
            errs.push(FieldViolation::new(
                "new_eligible_hires",
                format!("{h} exceeds employees ({n}); new hires are part of the staff"),
            ));
        }
        let annual_revenue = money("annual_revenue", &raw.annual_revenue, errs);
        let total_assets = money("total_assets", &raw.total_assets, errs);
        let established = checked("established", raw.established, parse_date, errs);
        let listed = raw.certifications.is_some() || raw.no_certifications == Some(true);
        let mut certifications =
            parse_certifications(raw.certifications.as_deref().unwrap_or_default(), errs);
        if raw.no_certifications == Some(true) && !certifications.is_empty() {
            errs.push(FieldViolation::new(
                "no_certifications",
                "says the firm holds no certification, but certifications lists some",
            ));
        }
        let certification_dates = parse_certification_dates(&raw.certification_dates, errs);
        // A dated certification is held.
        certifications.extend(certification_dates.keys().copied());
        certifications.sort();
        certifications.dedup();
        let tax_credit_grade = checked("tax_credit_grade", raw.tax_credit_grade, parse_grade, errs);
        let is_cultural_tourism = raw
            .is_cultural_tourism
            .or_else(|| industry.as_ref().map(IndustryCode::is_cultural_tourism));
        let request = raw
            .request
            .map(|r| parse_request(r, errs))
            .unwrap_or_default();
        Profile {
            credit_code,
            name: raw.name,
            region_code,
            industry,
            employees,
            annual_revenue,
            total_assets,
            established,
            certifications,
            certifications_listed: listed,
            in_industrial_park: raw.in_industrial_park,
            is_cultural_tourism,
            tax_credit_grade,
            has_bank_loans: raw.has_bank_loans,
            new_eligible_hires,
            wage_or_social_insurance_arrears: raw.wage_or_social_insurance_arrears,
            has_registered_ip: raw.has_registered_ip,
            has_receivables: raw.has_receivables,
            request,
            certification_dates,
            held_products: parse_held_products(&raw.held_products, errs),
            contact: raw.contact.as_ref().map(|c| parse_contact(c, errs)),
            makes_listed_major_equipment: raw.makes_listed_major_equipment,
            makes_listed_new_material: raw.makes_listed_new_material,
            has_warehouse_receipts: raw.has_warehouse_receipts,
            has_purchase_orders: raw.has_purchase_orders,
            is_listed: raw.is_listed,
        }
    }

    /// Parses and validates a JSON profile.
    pub fn from_json(s: &str) -> Result<Profile, ProfileError> {
        let raw: RawProfile = crate::kernel::json::parse(s).map_err(|v| ProfileError {
            violations: vec![v],
        })?;
        Profile::from_raw(raw)
    }

    /// The value of a boolean flag.
    pub fn flag(&self, f: Flag) -> Option<bool> {
        match f {
            Flag::InIndustrialPark => self.in_industrial_park,
            Flag::IsCulturalTourism => self.is_cultural_tourism,
            Flag::HasBankLoans => self.has_bank_loans,
            Flag::WageOrSocialInsuranceArrears => self.wage_or_social_insurance_arrears,
            Flag::HasRegisteredIp => self.has_registered_ip,
            Flag::HasReceivables => self.has_receivables,
            Flag::MakesListedMajorEquipment => self.makes_listed_major_equipment,
            Flag::MakesListedNewMaterial => self.makes_listed_new_material,
            Flag::HasWarehouseReceipts => self.has_warehouse_receipts,
            Flag::HasPurchaseOrders => self.has_purchase_orders,
            Flag::IsListed => self.is_listed,
        }
    }

    /// Size classification (划型). `Err` when the industry is absent or cannot
    /// be mapped to a row.
    pub fn classify(&self) -> Classification {
        let Some(ind) = &self.industry else {
            return Classification {
                outcome: None,
                missing_fields: vec!["industry_code"],
                note: "缺少行业代码（industry_code），无法划型".into(),
                not_covered: false,
            };
        };
        match ind.size_industry() {
            Ok(row) => {
                let o = size::classify(
                    row,
                    &size::Metrics {
                        staff: self.employees,
                        revenue: self.annual_revenue,
                        assets: self.total_assets,
                    },
                );
                Classification {
                    missing_fields: o.missing_fields.clone(),
                    note: String::new(),
                    outcome: Some(o),
                    not_covered: false,
                }
            }
            Err(IndustryError::NotCovered { name_zh, .. }) => Classification {
                outcome: None,
                missing_fields: vec![],
                note: format!(
                    "行业 {} 属{name_zh}，不适用工信部联企业〔2011〕300号划型标准",
                    ind.0
                ),
                not_covered: true,
            },
            Err(e) => Classification {
                outcome: None,
                missing_fields: vec!["industry_code"],
                note: format!("行业代码不足以划型：{e}"),
                not_covered: false,
            },
        }
    }
}

/// The size classification of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// Row and class, when the industry maps to a row.
    pub outcome: Option<SizeOutcome>,
    /// Fields needed and absent.
    pub missing_fields: Vec<&'static str>,
    /// Why there is no outcome (empty when there is one).
    pub note: String,
    /// The industry is outside the standard (金融业, 铁路运输业).
    pub not_covered: bool,
}

impl Classification {
    /// The Chinese explanation of the classification.
    pub fn explanation(&self) -> String {
        match &self.outcome {
            Some(o) => o.explanation(),
            None => self.note.clone(),
        }
    }

    /// The size class, when decided.
    pub fn class(&self) -> Option<SizeClass> {
        self.outcome.as_ref().and_then(|o| o.class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        assert_eq!(parse_date("2024-01-01").unwrap().to_string(), "2024-01-01");
        for bad in [
            "+2024-01-01",
            "2024-1-1",
            "-2024-01-01",
            " 2024-01-01",
            "2024-01-01 ",
            "2024/01/01",
            "2024-02-30",
            "20240101",
            "12024-01-01",
            "2024-01-1a",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_a_full_profile() {
        let p = Profile::from_json(
            r#"{
            "credit_code": "91430111MA4L41YT1U", "name": "南昌某材料科技有限公司",
            "region_code": "360102", "industry_code": "C3562", "employees": 80,
            "annual_revenue": "3500万", "total_assets": "1.2亿", "established": "2015-06-01",
            "certifications": ["zjtx_provincial", "CERTIFICATION_HIGH_TECH", "科技型中小企业"],
            "in_industrial_park": true, "tax_credit_grade": "A", "has_bank_loans": true,
            "new_eligible_hires": 12, "wage_or_social_insurance_arrears": false,
            "request": {"amount": "300万", "term_months": 12, "purpose": "working_capital"}
        }"#,
        )
        .unwrap();
        assert_eq!(
            p.certifications,
            vec![
                Certification::ZjtxProvincial,
                Certification::HighTech,
                Certification::TechSme
            ]
        );
        assert_eq!(p.annual_revenue, Some(Yuan::wan(3500)));
        assert_eq!(p.is_cultural_tourism, Some(false));
        assert_eq!(p.classify().class(), Some(SizeClass::Small));
        assert_eq!(p.request.amount, Some(Yuan::wan(300)));
    }

    #[test]
    fn collects_every_violation() {
        let err = Profile::from_json(
            r#"{"credit_code":"123","region_code":"36x","industry_code":"Q9999","employees":-3,
                "annual_revenue":"lots","certifications":["high_tech","gold_star"],
                "tax_credit_grade":"E","established":"2020-13-01",
                "request":{"amount":"-5","term_months":0,"purpose":"yacht"}}"#,
        )
        .unwrap_err();
        let fields: Vec<&str> = err.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "credit_code",
                "region_code",
                "employees",
                "annual_revenue",
                "established",
                "certifications[1]",
                "tax_credit_grade",
                "request.amount",
                "request.term_months",
                "request.purpose"
            ]
        );
    }

    #[test]
    fn a_flood_is_one_problem_and_one_short_line() {
        // more certifications than there could be: one problem
        let many = vec!["gold_star"; 500_000];
        let json = serde_json::json!({ "certifications": many }).to_string();
        let err = Profile::from_json(&json).unwrap_err();
        assert_eq!(err.violations.len(), 1);
        assert_eq!(err.violations[0].field, "certifications");
        assert_eq!(
            err.violations[0].description,
            "500000 entries; at most 64 (there are 15 kinds)"
        );
        // 64 are still looked at one by one
        let json = serde_json::json!({ "certifications": vec!["gold_star"; 64] }).to_string();
        let err = Profile::from_json(&json).unwrap_err();
        assert_eq!(err.violations.len(), 64);
        assert_eq!(err.violations[63].field, "certifications[63]");
        // the one-line form stops near 2 KiB and counts the rest
        let line = describe_all(&err.violations);
        assert!(line.len() <= 2048 + 40, "{}", line.len());
        let listed = line.matches("certifications[").count();
        assert!(
            line.ends_with(&format!("; … and {} more", 64 - listed)),
            "{line}"
        );
        assert!(line.starts_with("certifications[0]: unknown certification `gold_star`"));
        // short lists are whole
        assert_eq!(
            describe_all(&err.violations[..2])
                .matches("certifications[")
                .count(),
            2
        );
    }

    #[test]
    fn hires_cannot_exceed_staff() {
        let err = Profile::from_json(r#"{"employees":10,"new_eligible_hires":11}"#).unwrap_err();
        assert_eq!(err.violations[0].field, "new_eligible_hires");
    }

    #[test]
    fn unknown_json_fields_are_rejected() {
        let err = Profile::from_json(r#"{"employes":10}"#).unwrap_err();
        assert_eq!(err.violations[0].field, "employes");
        assert!(
            err.violations[0]
                .description
                .contains("did you mean `employees`?")
        );
    }

    /// The fields this profile gained, fed what a hostile caller sends:
    /// each problem is refused naming its field.
    #[test]
    fn contact_and_held_products_refuse_bad_values() {
        let fields = |json: &str| -> Vec<String> {
            Profile::from_json(json)
                .unwrap_err()
                .violations
                .into_iter()
                .map(|v| v.field)
                .collect()
        };
        assert_eq!(
            fields(r#"{"contact": {"person": "王\u0000经理", "phone": "0791 abc"}}"#),
            ["contact.person", "contact.phone"]
        );
        let long = "甲".repeat(65);
        assert_eq!(
            fields(&format!(
                r#"{{"contact": {{"person": "{long}", "phone": "{}"}}}}"#,
                "1".repeat(33)
            )),
            ["contact.person", "contact.phone"]
        );
        assert_eq!(fields(r#"{"contact": {"fax": "1"}}"#), ["contact.fax"]);
        // blank parts are absent, not errors
        let p = Profile::from_json(r#"{"contact": {"person": "  ", "phone": ""}}"#).unwrap();
        assert_eq!(p.contact, Some(Contact::default()));
        assert_eq!(
            fields(
                r#"{"held_products": [{"product_id": "", "status": "held"}, {"product_id": "a", "status": ""}, {"product_id": "b", "status": "held", "since": "2024-13-01"}, {"product_id": "b", "status": "applied"}]}"#
            ),
            [
                "held_products[0].product_id",
                "held_products[1].status",
                "held_products[2].since",
                "held_products[3].product_id"
            ]
        );
        let many: Vec<_> = (0..257)
            .map(|i| serde_json::json!({"product_id": format!("p{i}"), "status": "held"}))
            .collect();
        let json = serde_json::json!({ "held_products": many }).to_string();
        assert_eq!(fields(&json), ["held_products"]);
        assert_eq!(fields(r#"{"held_products": 7}"#), ["held_products"]);
    }

    #[test]
    fn enum_names_in_three_forms() {
        assert_eq!(
            Certification::parse("little_giant_national"),
            Some(Certification::LittleGiantNational)
        );
        assert_eq!(
            Certification::parse("CERTIFICATION_LITTLE_GIANT_NATIONAL"),
            Some(Certification::LittleGiantNational)
        );
        assert_eq!(
            Certification::parse("国家级专精特新小巨人企业"),
            Some(Certification::LittleGiantNational)
        );
        assert_eq!(
            Certification::HighTech.qualified_code(),
            "CERTIFICATION_HIGH_TECH"
        );
        assert_eq!(
            TaxCreditGrade::parse("TAX_CREDIT_GRADE_M"),
            Some(TaxCreditGrade::M)
        );
        assert_eq!(TaxCreditGrade::parse("b"), Some(TaxCreditGrade::B));
        assert_eq!(LoanPurpose::parse("续贷"), Some(LoanPurpose::Renewal));
        assert_eq!(Certification::parse("CERTIFICATION_UNSPECIFIED"), None);
    }

    #[test]
    fn finance_is_not_covered() {
        let p = Profile::from_json(r#"{"industry_code":"J66","employees":10}"#).unwrap();
        let c = p.classify();
        assert!(c.not_covered);
        assert_eq!(c.class(), None);
    }
}
