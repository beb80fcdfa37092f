//! Size classification (划型) under 工信部联企业〔2011〕300号, article 4.
//!
//! Each of the 16 industry rows gives lower bounds for 大型, 中型 and 小型 on
//! one or two metrics (从业人员 staff, 营业收入 revenue, 资产总额 assets). A tier
//! needs **all** of its lower bounds (AND); failing any drops the firm a tier,
//! so 微型 is reached when **either** metric is below the 小型 bound (OR). This
//! is the rule the 国家统计局 states for its 2017 statistical version ("大型、
//! 中型和小型企业须同时满足所列指标的下限，否则下划一档"). The SME ceiling of
//! the standard ("从业人员1000人以下或营业收入40000万元以下的为中小微型企业")
//! is the same rule seen from above: a firm is 大型 only when it meets *both*
//! ceilings.
//!
//! Evaluation is three-valued: an absent metric makes a tier undecidable only
//! when the known metrics do not already settle it (a 工业 firm with 5 staff is
//! 微型 whatever its revenue).
//!
//! The GB/T 4754-2017 → row mapping follows the 2011 standard's industry
//! definitions; 金融业 (section J) is outside the standard.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::kernel::money::Yuan;

pub use super::industry::{IndustryCode, IndustryError};

/// The industry rows of the 2011 standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeIndustry {
    /// 农、林、牧、渔业 (A).
    Agriculture,
    /// 工业: 采矿业, 制造业, 电力热力燃气及水生产和供应业 (B, C, D).
    Industry,
    /// 建筑业 (E).
    Construction,
    /// 批发业 (F51).
    Wholesale,
    /// 零售业 (F52).
    Retail,
    /// 交通运输业 (G54–G58 and 装卸搬运 G591; 铁路运输 G53 is outside the standard).
    Transport,
    /// 仓储业 (G592–G599).
    Warehousing,
    /// 邮政业 (G60).
    Postal,
    /// 住宿业 (H61).
    Accommodation,
    /// 餐饮业 (H62).
    Catering,
    /// 信息传输业 (I63, I64).
    InformationTransmission,
    /// 软件和信息技术服务业 (I65).
    Software,
    /// 房地产开发经营 (K701).
    RealEstateDevelopment,
    /// 物业管理 (K702).
    PropertyManagement,
    /// 租赁和商务服务业 (L).
    LeasingBusinessServices,
    /// 其他未列明行业.
    Other,
}

impl SizeIndustry {
    /// The row's Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Agriculture => "农林牧渔业",
            Self::Industry => "工业",
            Self::Construction => "建筑业",
            Self::Wholesale => "批发业",
            Self::Retail => "零售业",
            Self::Transport => "交通运输业",
            Self::Warehousing => "仓储业",
            Self::Postal => "邮政业",
            Self::Accommodation => "住宿业",
            Self::Catering => "餐饮业",
            Self::InformationTransmission => "信息传输业",
            Self::Software => "软件和信息技术服务业",
            Self::RealEstateDevelopment => "房地产开发经营",
            Self::PropertyManagement => "物业管理",
            Self::LeasingBusinessServices => "租赁和商务服务业",
            Self::Other => "其他未列明行业",
        }
    }

    /// All 16 rows.
    pub const ALL: [SizeIndustry; 16] = [
        Self::Agriculture,
        Self::Industry,
        Self::Construction,
        Self::Wholesale,
        Self::Retail,
        Self::Transport,
        Self::Warehousing,
        Self::Postal,
        Self::Accommodation,
        Self::Catering,
        Self::InformationTransmission,
        Self::Software,
        Self::RealEstateDevelopment,
        Self::PropertyManagement,
        Self::LeasingBusinessServices,
        Self::Other,
    ];
}

/// 企业规模.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SizeClass {
    /// 大型.
    Large,
    /// 中型.
    Medium,
    /// 小型.
    Small,
    /// 微型.
    Micro,
}

impl SizeClass {
    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Large => "大型",
            Self::Medium => "中型",
            Self::Small => "小型",
            Self::Micro => "微型",
        }
    }

    /// Parses "small", "SIZE_CLASS_SMALL" or "小型".
    pub fn parse(s: &str) -> Option<SizeClass> {
        let t = s.trim();
        let t = t
            .strip_prefix("SIZE_CLASS_")
            .unwrap_or(t)
            .to_ascii_lowercase();
        Some(match t.as_str() {
            "large" | "大型" => Self::Large,
            "medium" | "中型" => Self::Medium,
            "small" | "小型" => Self::Small,
            "micro" | "微型" => Self::Micro,
            _ => return None,
        })
    }
}

/// The metrics a row uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// 从业人员 (persons).
    Staff,
    /// 营业收入 (yuan).
    Revenue,
    /// 资产总额 (yuan).
    Assets,
}

impl Metric {
    /// Profile field name.
    pub fn field(self) -> &'static str {
        match self {
            Self::Staff => super::Field::Employees.code(),
            Self::Revenue => super::Field::AnnualRevenue.code(),
            Self::Assets => super::Field::TotalAssets.code(),
        }
    }
    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Staff => "从业人员",
            Self::Revenue => "营业收入",
            Self::Assets => "资产总额",
        }
    }
    /// Formats a value of this metric ("300人", "2000万").
    pub fn fmt(self, v: Decimal) -> String {
        match self {
            Self::Staff => format!("{v}人"),
            _ => Yuan(v).wan_str(),
        }
    }
}

/// Lower bounds of one tier: every (metric, minimum) must hold.
type Tier = &'static [(Metric, i64)];

/// A row's thresholds: large, medium, small lower bounds (staff in persons,
/// money in 万元).
struct Row {
    large: Tier,
    medium: Tier,
    small: Tier,
}

use Metric::{Assets as A, Revenue as R, Staff as S};

fn row(ind: SizeIndustry) -> Row {
    use SizeIndustry::*;
    match ind {
        Agriculture => Row {
            large: &[(R, 20000)],
            medium: &[(R, 500)],
            small: &[(R, 50)],
        },
        Industry => Row {
            large: &[(S, 1000), (R, 40000)],
            medium: &[(S, 300), (R, 2000)],
            small: &[(S, 20), (R, 300)],
        },
        Construction => Row {
            large: &[(R, 80000), (A, 80000)],
            medium: &[(R, 6000), (A, 5000)],
            small: &[(R, 300), (A, 300)],
        },
        Wholesale => Row {
            large: &[(S, 200), (R, 40000)],
            medium: &[(S, 20), (R, 5000)],
            small: &[(S, 5), (R, 1000)],
        },
        Retail => Row {
            large: &[(S, 300), (R, 20000)],
            medium: &[(S, 50), (R, 500)],
            small: &[(S, 10), (R, 100)],
        },
        Transport => Row {
            large: &[(S, 1000), (R, 30000)],
            medium: &[(S, 300), (R, 3000)],
            small: &[(S, 20), (R, 200)],
        },
        Warehousing => Row {
            large: &[(S, 200), (R, 30000)],
            medium: &[(S, 100), (R, 1000)],
            small: &[(S, 20), (R, 100)],
        },
        Postal => Row {
            large: &[(S, 1000), (R, 30000)],
            medium: &[(S, 300), (R, 2000)],
            small: &[(S, 20), (R, 100)],
        },
        Accommodation | Catering => Row {
            large: &[(S, 300), (R, 10000)],
            medium: &[(S, 100), (R, 2000)],
            small: &[(S, 10), (R, 100)],
        },
        InformationTransmission => Row {
            large: &[(S, 2000), (R, 100000)],
            medium: &[(S, 100), (R, 1000)],
            small: &[(S, 10), (R, 100)],
        },
        Software => Row {
            large: &[(S, 300), (R, 10000)],
            medium: &[(S, 100), (R, 1000)],
            small: &[(S, 10), (R, 50)],
        },
        RealEstateDevelopment => Row {
            large: &[(R, 200000), (A, 10000)],
            medium: &[(R, 1000), (A, 5000)],
            small: &[(R, 100), (A, 2000)],
        },
        PropertyManagement => Row {
            large: &[(S, 1000), (R, 5000)],
            medium: &[(S, 300), (R, 1000)],
            small: &[(S, 100), (R, 500)],
        },
        LeasingBusinessServices => Row {
            large: &[(S, 300), (A, 120000)],
            medium: &[(S, 100), (A, 8000)],
            small: &[(S, 10), (A, 100)],
        },
        Other => Row {
            large: &[(S, 300)],
            medium: &[(S, 100)],
            small: &[(S, 10)],
        },
    }
}

fn threshold(m: Metric, v: i64) -> Decimal {
    match m {
        Metric::Staff => Decimal::from(v),
        _ => Decimal::from(v * 10_000),
    }
}

/// The metrics a size needs, as known for one firm.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// 从业人员.
    pub staff: Option<u32>,
    /// 营业收入.
    pub revenue: Option<Yuan>,
    /// 资产总额.
    pub assets: Option<Yuan>,
}

impl Metrics {
    fn get(&self, m: Metric) -> Option<Decimal> {
        match m {
            Metric::Staff => self.staff.map(Decimal::from),
            Metric::Revenue => self.revenue.map(|y| y.0),
            Metric::Assets => self.assets.map(|y| y.0),
        }
    }
}

/// Outcome of classifying one firm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeOutcome {
    /// The row used.
    pub industry: SizeIndustry,
    /// The class, when decidable.
    pub class: Option<SizeClass>,
    /// Fields needed and absent (when `class` is `None`).
    pub missing_fields: Vec<&'static str>,
    /// What decided it, rendered by [`SizeOutcome::explanation`].
    basis: Basis,
}

/// A bound the firm fell short of: `metric` was `value`, below `min` of the
/// `tier` lower bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shortfall {
    metric: Metric,
    value: Decimal,
    min: i64,
    tier: SizeClass,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Basis {
    /// Met every bound of `tier`, after falling short of the tier above.
    Met {
        tier: Tier,
        below: Option<Shortfall>,
    },
    /// Below the small bounds.
    Micro { below: Option<Shortfall> },
    /// Could not tell whether the firm meets `tier`.
    Unknown { tier: Tier, class: SizeClass },
}

enum Tri {
    Yes,
    No(Metric, Decimal, i64),
    Unknown,
}

fn meets(tier: Tier, m: &Metrics) -> Tri {
    let mut unknown = false;
    for &(metric, min) in tier {
        match m.get(metric) {
            Some(v) if v < threshold(metric, min) => return Tri::No(metric, v, min),
            Some(_) => {}
            None => unknown = true,
        }
    }
    if unknown { Tri::Unknown } else { Tri::Yes }
}

fn describe(tier: Tier) -> String {
    tier.iter()
        .map(|&(m, v)| format!("{}≥{}", m.name_zh(), m.fmt(threshold(m, v))))
        .collect::<Vec<_>>()
        .join("且")
}

impl Shortfall {
    fn render(&self) -> String {
        format!(
            "{}{}，低于{}企业下限{}",
            self.metric.name_zh(),
            self.metric.fmt(self.value),
            self.tier.name_zh(),
            self.metric.fmt(threshold(self.metric, self.min))
        )
    }
}

impl SizeOutcome {
    /// The Chinese explanation of the decision.
    pub fn explanation(&self) -> String {
        match &self.basis {
            Basis::Met { tier, below } => {
                let because = below
                    .map(|b| format!("{}，", b.render()))
                    .unwrap_or_default();
                let class = self.class.map_or("", SizeClass::name_zh);
                format!("{because}满足{class}企业标准（{}）", describe(tier))
            }
            Basis::Micro { below } => format!(
                "{}，为微型企业",
                below.map(|b| b.render()).unwrap_or_default()
            ),
            Basis::Unknown { tier, class } => {
                let names: Vec<&str> = self
                    .missing_fields
                    .iter()
                    .filter_map(|f| {
                        [Metric::Staff, Metric::Revenue, Metric::Assets]
                            .into_iter()
                            .find(|m| m.field() == *f)
                    })
                    .map(Metric::name_zh)
                    .collect();
                format!(
                    "缺少{}，无法判断是否达到{}企业标准（{}）",
                    names.join("、"),
                    class.name_zh(),
                    describe(tier)
                )
            }
        }
    }
}

/// Classifies a firm of the given row. Allocation-free unless a metric is
/// missing; the explanation is rendered on demand.
pub fn classify(industry: SizeIndustry, m: &Metrics) -> SizeOutcome {
    let r = row(industry);
    let tiers = [
        (SizeClass::Large, r.large),
        (SizeClass::Medium, r.medium),
        (SizeClass::Small, r.small),
    ];
    let mut below: Option<Shortfall> = None;
    for (class, tier) in tiers {
        match meets(tier, m) {
            Tri::Yes => {
                return SizeOutcome {
                    industry,
                    class: Some(class),
                    missing_fields: Vec::new(),
                    basis: Basis::Met { tier, below },
                };
            }
            Tri::No(metric, value, min) => {
                below = Some(Shortfall {
                    metric,
                    value,
                    min,
                    tier: class,
                })
            }
            Tri::Unknown => {
                let missing = tier
                    .iter()
                    .filter(|(mt, _)| m.get(*mt).is_none())
                    .map(|(mt, _)| mt.field())
                    .collect();
                return SizeOutcome {
                    industry,
                    class: None,
                    missing_fields: missing,
                    basis: Basis::Unknown { tier, class },
                };
            }
        }
    }
    SizeOutcome {
        industry,
        class: Some(SizeClass::Micro),
        missing_fields: Vec::new(),
        basis: Basis::Micro { below },
    }
}

/// The lower bounds of a tier (大型, 中型 or 小型; 微型 has none): a firm is
/// in that tier or above only when it meets all of them. Returned as
/// (metric, minimum in persons or yuan).
pub fn tier_bounds(industry: SizeIndustry, class: SizeClass) -> Vec<(Metric, Decimal)> {
    let r = row(industry);
    let tier: Tier = match class {
        SizeClass::Large => r.large,
        SizeClass::Medium => r.medium,
        SizeClass::Small => r.small,
        SizeClass::Micro => &[],
    };
    tier.iter().map(|&(m, v)| (m, threshold(m, v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use SizeIndustry::*;

    fn m(staff: Option<u32>, rev_wan: Option<i64>, assets_wan: Option<i64>) -> Metrics {
        Metrics {
            staff,
            revenue: rev_wan.map(Yuan::wan),
            assets: assets_wan.map(Yuan::wan),
        }
    }
    fn class(
        ind: SizeIndustry,
        staff: Option<u32>,
        rev: Option<i64>,
        assets: Option<i64>,
    ) -> Option<SizeClass> {
        classify(ind, &m(staff, rev, assets)).class
    }
    use SizeClass::{Large as L, Medium as Me, Micro as Mi, Small as Sm};

    /// Walks every threshold of every row: exactly at the bound the firm is in
    /// the tier, one unit (person or yuan) below it drops a tier.
    #[test]
    fn every_boundary_of_every_row() {
        for ind in SizeIndustry::ALL {
            let r = row(ind);
            for (class, tier, below) in [(L, r.large, Me), (Me, r.medium, Sm), (Sm, r.small, Mi)] {
                // all metrics exactly at the bound → in this class
                let mut at = Metrics::default();
                for &(metric, v) in tier {
                    let t = threshold(metric, v);
                    match metric {
                        Metric::Staff => at.staff = Some(u32::try_from(t.mantissa()).unwrap()),
                        Metric::Revenue => at.revenue = Some(Yuan(t)),
                        Metric::Assets => at.assets = Some(Yuan(t)),
                    }
                }
                assert_eq!(
                    classify(ind, &at).class,
                    Some(class),
                    "{ind:?} at {class:?} bounds"
                );
                // each metric one unit below → drops (to `below` or lower)
                for &(metric, _) in tier {
                    let mut b = at;
                    match metric {
                        Metric::Staff => b.staff = b.staff.map(|s| s - 1),
                        Metric::Revenue => b.revenue = b.revenue.map(|y| Yuan(y.0 - Decimal::ONE)),
                        Metric::Assets => b.assets = b.assets.map(|y| Yuan(y.0 - Decimal::ONE)),
                    }
                    let got = classify(ind, &b).class.unwrap();
                    assert_eq!(
                        got, below,
                        "{ind:?}: {metric:?} one unit below the {class:?} bound"
                    );
                }
            }
        }
    }

    #[test]
    fn industry_table_values() {
        assert_eq!(class(Industry, Some(1000), Some(40000), None), Some(L));
        assert_eq!(class(Industry, Some(999), Some(40000), None), Some(Me));
        assert_eq!(class(Industry, Some(2000), Some(30000), None), Some(Me));
        assert_eq!(class(Industry, Some(300), Some(2000), None), Some(Me));
        assert_eq!(class(Industry, Some(299), Some(2000), None), Some(Sm));
        assert_eq!(class(Industry, Some(20), Some(300), None), Some(Sm));
        assert_eq!(class(Industry, Some(19), Some(100000), None), Some(Mi));
        assert_eq!(class(Industry, Some(500), Some(299), None), Some(Mi));
        assert_eq!(class(Agriculture, None, Some(49), None), Some(Mi));
        assert_eq!(class(Agriculture, None, Some(500), None), Some(Me));
        assert_eq!(class(Construction, None, Some(6000), Some(4999)), Some(Sm));
        assert_eq!(
            class(RealEstateDevelopment, None, Some(1000), Some(3000)),
            Some(Sm)
        );
        assert_eq!(
            class(RealEstateDevelopment, None, Some(200000), Some(10000)),
            Some(L)
        );
        assert_eq!(
            class(LeasingBusinessServices, Some(100), None, Some(8000)),
            Some(Me)
        );
        assert_eq!(
            class(PropertyManagement, Some(99), Some(100000), None),
            Some(Mi)
        );
        assert_eq!(class(Software, Some(10), Some(50), None), Some(Sm));
        assert_eq!(class(Software, Some(10), Some(49), None), Some(Mi));
        assert_eq!(class(Other, Some(9), None, None), Some(Mi));
        assert_eq!(class(Other, Some(300), None, None), Some(L));
    }

    #[test]
    fn missing_data_three_valued() {
        // 5 staff settles it whatever the revenue
        assert_eq!(class(Industry, Some(5), None, None), Some(Mi));
        // 500 staff: revenue decides
        let o = classify(Industry, &m(Some(500), None, None));
        assert_eq!(o.class, None);
        assert_eq!(o.missing_fields, vec!["annual_revenue"]);
        assert!(
            o.explanation().contains("缺少营业收入"),
            "{}",
            o.explanation()
        );
        let o = classify(Construction, &m(None, None, None));
        assert_eq!(o.missing_fields, vec!["annual_revenue", "total_assets"]);
        // revenue known low: micro even without staff
        assert_eq!(class(Retail, None, Some(99), None), Some(Mi));
    }

    #[test]
    fn explanation_names_the_failed_bound() {
        let o = classify(Industry, &m(Some(150), Some(5000), None));
        assert_eq!(o.class, Some(Sm));
        assert!(
            o.explanation()
                .contains("从业人员150人，低于中型企业下限300人"),
            "{}",
            o.explanation()
        );
        let o = classify(Industry, &m(Some(5), None, None));
        assert_eq!(
            o.explanation(),
            "从业人员5人，低于小型企业下限20人，为微型企业"
        );
        let o = classify(Industry, &m(Some(1000), Some(40000), None));
        assert_eq!(
            o.explanation(),
            "满足大型企业标准（从业人员≥1000人且营业收入≥40000万）"
        );
    }

    #[test]
    fn industry_code_mapping() {
        let ind = |s: &str| IndustryCode::parse(s).unwrap().size_industry();
        assert_eq!(ind("C3562"), Ok(Industry));
        assert_eq!(ind("b"), Ok(Industry));
        assert_eq!(ind("D44"), Ok(Industry));
        assert_eq!(ind("A01"), Ok(Agriculture));
        assert_eq!(ind("E47"), Ok(Construction));
        assert_eq!(ind("F5111"), Ok(Wholesale));
        assert_eq!(ind("F52"), Ok(Retail));
        assert_eq!(ind("G54"), Ok(Transport));
        assert_eq!(ind("G595"), Ok(Warehousing));
        assert_eq!(ind("G60"), Ok(Postal));
        assert_eq!(ind("H61"), Ok(Accommodation));
        assert_eq!(ind("H62"), Ok(Catering));
        assert_eq!(ind("I63"), Ok(InformationTransmission));
        assert_eq!(ind("I65"), Ok(Software));
        assert_eq!(ind("K7010"), Ok(RealEstateDevelopment));
        assert_eq!(ind("K702"), Ok(PropertyManagement));
        assert_eq!(ind("K703"), Ok(Other));
        assert_eq!(ind("L72"), Ok(LeasingBusinessServices));
        assert_eq!(ind("M73"), Ok(Other));
        assert_eq!(
            ind("J66"),
            Err(IndustryError::NotCovered {
                what: "section J",
                name_zh: "金融业",
            })
        );
        // 300号: 交通运输业（不含铁路运输业）; 装卸搬运 G591 is transport,
        // G592–G599 warehousing, a bare G59 undecided.
        assert!(matches!(ind("G53"), Err(IndustryError::NotCovered { .. })));
        assert!(matches!(
            ind("G5310"),
            Err(IndustryError::NotCovered { .. })
        ));
        assert_eq!(ind("G54"), Ok(Transport));
        assert_eq!(ind("G591"), Ok(Transport));
        assert_eq!(ind("G5910"), Ok(Transport));
        assert_eq!(ind("G592"), Ok(Warehousing));
        assert_eq!(ind("G5990"), Ok(Warehousing));
        assert!(matches!(ind("G59"), Err(IndustryError::Malformed(_))));
        assert!(ind("F").is_err());
        assert!(ind("K70").is_err());
        assert!(IndustryCode::parse("C35621").is_err());
        assert!(IndustryCode::parse("C3").is_err());
        assert!(IndustryCode::parse("Z01").is_err());
        assert!(IndustryCode::parse("").is_err());
        assert!(IndustryCode::parse("3562").is_err());
    }

    #[test]
    fn cultural_tourism_from_industry() {
        let ct = |s: &str| IndustryCode::parse(s).unwrap().is_cultural_tourism();
        assert!(ct("R86"));
        assert!(ct("R9010"));
        assert!(!ct("R89"));
        assert!(ct("L7291"));
        assert!(ct("N7861"));
        assert!(!ct("C3562"));
    }
}
