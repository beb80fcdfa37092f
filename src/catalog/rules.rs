//! Eligibility rules as catalogue data.
//!
//! Each `[[product.rules]]` table names its rule with `rule = "…"`; the other
//! keys are the rule's parameters. Evaluation lives in `matching`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::enterprise::{Certification, Flag, LoanPurpose, SizeClass, TaxCreditGrade};
use crate::kernel::money::{self, Yuan};
use crate::kernel::percent;

/// One eligibility rule. In the catalogue a rule is a table whose `rule` key
/// names the variant; `retag` turns it into serde's external tagging so
/// that errors carry the full path of the offending parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// The size class (划型) is one of `classes`.
    SizeClassIn {
        /// Allowed classes.
        classes: Vec<SizeClass>,
    },
    /// The GB/T 4754 code starts with one of `prefixes`.
    IndustryIn {
        /// Allowed prefixes ("C", "C35", "R86").
        prefixes: Vec<String>,
        /// Chinese description of the set ("工业（采矿业、制造业、电力热力燃气水）").
        label: String,
    },
    /// The GB/T 4754 code starts with none of `prefixes`.
    IndustryNotIn {
        /// Excluded prefixes.
        prefixes: Vec<String>,
        /// Chinese description of the set.
        label: String,
    },
    /// Holds at least one of the certifications; with `since`, designated
    /// on or after that date (an unknown designation date is NEEDS_INFO).
    CertificationAny {
        /// Accepted certifications.
        of: Vec<Certification>,
        /// Earliest designation date that counts (洪府办发〔2022〕109号:
        /// "适用于2021年1月1日以来符合条件的企业和项目").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<chrono::NaiveDate>,
    },
    /// A boolean fact has the given value.
    Flag {
        /// The fact.
        flag: Flag,
        /// Required value.
        equals: bool,
    },
    /// At least one of the boolean facts is true.
    AnyFlag {
        /// The facts.
        flags: Vec<Flag>,
    },
    /// Tax credit grade at least as good as `grade` (A > B > M > C > D).
    MinTaxGrade {
        /// Worst accepted grade.
        grade: TaxCreditGrade,
    },
    /// 创业担保贷款 new-hire test: new eligible hires ≥ `ratio` × staff, or
    /// ≥ `ratio_above` × staff when staff > `staff_above`.
    NewHireRatio {
        /// Required share of staff.
        #[serde(with = "money::rate_serde")]
        ratio: Decimal,
        /// Required share for larger firms.
        #[serde(with = "money::rate_serde")]
        ratio_above: Decimal,
        /// Staff count above which `ratio_above` applies.
        staff_above: u32,
    },
    /// Staff at most `max`.
    MaxEmployees {
        /// Maximum.
        max: u32,
    },
    /// Revenue at most `max`.
    MaxRevenue {
        /// Maximum.
        max: Yuan,
    },
    /// Assets at most `max`.
    MaxAssets {
        /// Maximum.
        max: Yuan,
    },
    /// Established at least `years` years before the match date.
    MinYearsEstablished {
        /// Years.
        years: u32,
    },
    /// Established at most `years` years before the match date.
    MaxYearsEstablished {
        /// Years.
        years: u32,
    },
    /// The requested purpose is one of `purposes`.
    PurposeIn {
        /// Accepted purposes.
        purposes: Vec<LoanPurpose>,
    },
}

/// Rewrites `{ rule = "x", a = 1, source = "…" }` as `{ x = { a = 1 } }`,
/// returning the rule's `source` (its citation) apart.
pub(crate) fn retag(
    v: toml::Value,
    index: usize,
) -> Result<(toml::Value, String), (String, String)> {
    let toml::Value::Table(mut t) = v else {
        return Err((format!("rules[{index}]"), "must be a table".into()));
    };
    let source = match t.remove("source") {
        None => String::new(),
        Some(toml::Value::String(s)) => s,
        Some(_) => {
            return Err((format!("rules[{index}].source"), "must be a string".into()));
        }
    };
    let name = match t.remove("rule") {
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err((format!("rules[{index}].rule"), "must be a string".into())),
        None => {
            return Err((
                format!("rules[{index}]"),
                "missing `rule` (the rule's name)".into(),
            ));
        }
    };
    let mut outer = toml::Table::new();
    outer.insert(name, toml::Value::Table(t));
    Ok((toml::Value::Table(outer), source))
}

impl Rule {
    /// Stable machine code of the criterion.
    pub fn code(&self) -> &'static str {
        match self {
            Rule::SizeClassIn { .. } => "SIZE_CLASS",
            Rule::IndustryIn { .. } => "INDUSTRY",
            Rule::IndustryNotIn { .. } => "INDUSTRY_EXCLUDED",
            Rule::CertificationAny { .. } => "CERTIFICATION",
            Rule::Flag { flag, .. } => match flag {
                Flag::InIndustrialPark => "IN_INDUSTRIAL_PARK",
                Flag::IsCulturalTourism => "CULTURAL_TOURISM",
                Flag::HasBankLoans => "BANK_LOAN_HISTORY",
                Flag::WageOrSocialInsuranceArrears => "NO_ARREARS",
                Flag::HasRegisteredIp => "REGISTERED_IP",
                Flag::HasReceivables => "RECEIVABLES",
                Flag::MakesListedMajorEquipment => "LISTED_MAJOR_EQUIPMENT",
                Flag::MakesListedNewMaterial => "LISTED_NEW_MATERIAL",
                Flag::HasWarehouseReceipts => "WAREHOUSE_RECEIPTS",
                Flag::HasPurchaseOrders => "PURCHASE_ORDERS",
                Flag::IsListed => "LISTED_COMPANY",
            },
            Rule::AnyFlag { .. } => "ANY_OF",
            Rule::MinTaxGrade { .. } => "TAX_CREDIT_GRADE",
            Rule::NewHireRatio { .. } => "NEW_HIRE_RATIO",
            Rule::MaxEmployees { .. } => "MAX_EMPLOYEES",
            Rule::MaxRevenue { .. } => "MAX_REVENUE",
            Rule::MaxAssets { .. } => "MAX_ASSETS",
            Rule::MinYearsEstablished { .. } => "MIN_YEARS_ESTABLISHED",
            Rule::MaxYearsEstablished { .. } => "MAX_YEARS_ESTABLISHED",
            Rule::PurposeIn { .. } => "LOAN_PURPOSE",
        }
    }

    /// Chinese description of the rule.
    pub fn describe(&self) -> String {
        let join = |v: Vec<&str>| v.join("、");
        match self {
            Rule::SizeClassIn { classes } => {
                format!(
                    "企业规模为{}（工信部联企业〔2011〕300号）",
                    join(classes.iter().map(|c| c.name_zh()).collect())
                )
            }
            Rule::IndustryIn { label, .. } => format!("所属行业为{label}"),
            Rule::IndustryNotIn { label, .. } => format!("不属于{label}"),
            Rule::CertificationAny { of, since } => {
                let when = since
                    .map(|d| format!("（{d} 以来认定）"))
                    .unwrap_or_default();
                format!(
                    "具备以下资质之一{when}：{}",
                    join(of.iter().map(|c| c.name_zh()).collect())
                )
            }
            Rule::Flag { flag, equals: true } => flag.name_zh().to_string(),
            Rule::Flag {
                flag,
                equals: false,
            } => format!("不{}", flag.name_zh()),
            Rule::AnyFlag { flags } => format!(
                "具备以下之一：{}",
                join(flags.iter().map(|f| f.name_zh()).collect())
            ),
            Rule::MinTaxGrade { grade } => format!("纳税信用等级不低于{}", grade.name_zh()),
            Rule::NewHireRatio {
                ratio,
                ratio_above,
                staff_above,
            } => format!(
                "新招用重点群体人数占在职职工 {} 以上（职工超过 {staff_above} 人的为 {}），且签订1年以上劳动合同",
                percent::rate(*ratio),
                percent::rate(*ratio_above)
            ),
            Rule::MaxEmployees { max } => format!("从业人员不超过 {max} 人"),
            Rule::MaxRevenue { max } => format!("营业收入不超过 {}", max.human()),
            Rule::MaxAssets { max } => format!("资产总额不超过 {}", max.human()),
            Rule::MinYearsEstablished { years } => format!("成立满 {years} 年"),
            Rule::MaxYearsEstablished { years } => format!("成立不超过 {years} 年"),
            Rule::PurposeIn { purposes } => {
                format!(
                    "贷款用途为{}",
                    join(purposes.iter().map(|p| p.name_zh()).collect())
                )
            }
        }
    }

    /// Checks parameters; returns (path inside the rule, reason).
    pub(crate) fn validate(&self) -> Result<(), (String, String)> {
        let nonempty = |field: &str, n: usize| {
            if n == 0 {
                Err((format!(".{field}"), "must not be empty".to_string()))
            } else {
                Ok(())
            }
        };
        let prefixes_ok = |ps: &[String]| {
            nonempty("prefixes", ps.len())?;
            for (i, p) in ps.iter().enumerate() {
                let b = p.as_bytes();
                let ok = !b.is_empty()
                    && (b'A'..=b'T').contains(&b[0])
                    && b.len() <= 5
                    && b[1..].iter().all(u8::is_ascii_digit);
                if !ok {
                    return Err((
                        format!(".prefixes[{i}]"),
                        format!("`{p}` is not a GB/T 4754 code prefix"),
                    ));
                }
            }
            Ok(())
        };
        match self {
            Rule::SizeClassIn { classes } => nonempty("classes", classes.len()),
            Rule::IndustryIn { prefixes, .. } | Rule::IndustryNotIn { prefixes, .. } => {
                prefixes_ok(prefixes)
            }
            Rule::CertificationAny { of, .. } => nonempty("of", of.len()),
            Rule::PurposeIn { purposes } => nonempty("purposes", purposes.len()),
            Rule::AnyFlag { flags } => nonempty("flags", flags.len()),
            Rule::NewHireRatio {
                ratio, ratio_above, ..
            } => {
                for (f, r) in [("ratio", ratio), ("ratio_above", ratio_above)] {
                    if r.is_zero() || *r >= Decimal::ONE {
                        return Err((format!(".{f}"), "must be strictly between 0 and 1".into()));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
