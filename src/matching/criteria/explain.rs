//! The Chinese sentence that explains a criterion's outcome, and what a firm
//! could change to pass a criterion it fails.

use chrono::Datelike;
use rust_decimal::Decimal;

use super::{Criterion, Detail, Outcome, Suggestion};
use crate::enterprise::size::{self, Metric};
use crate::enterprise::{
    Certification, Classification, Flag, LoanPurpose, SizeClass, TaxCreditGrade,
};
use crate::kernel::money::Yuan;
use crate::kernel::percent;

fn names<T: Copy>(xs: &[T], f: impl Fn(T) -> &'static str) -> String {
    xs.iter().map(|x| f(*x)).collect::<Vec<_>>().join("、")
}

impl Criterion<'_> {
    /// The Chinese sentence explaining the outcome.
    // size: one match over the closed set of criterion details, a sentence
    // or two each; split, the wording of a criterion would leave its kin.
    pub fn message(&self) -> String {
        let ok = self.outcome == Outcome::Pass;
        match self.detail {
            Detail::Missing { what } => format!("缺少{what}（{}），无法判断", self.missing),
            Detail::Region { firm, allowed } => {
                let firm = firm.unwrap_or("");
                if ok {
                    format!("所在地区 {firm} 属于适用范围（{}）", allowed.join("、"))
                } else {
                    format!(
                        "所在地区 {firm} 不在适用范围（行政区划代码以 {} 开头）",
                        allowed.join("、")
                    )
                }
            }
            Detail::Size { allowed, cls } => {
                let want = names(allowed, SizeClass::name_zh);
                match cls.class() {
                    Some(c) if ok => format!("企业规模为{}，符合要求（{want}）", c.name_zh()),
                    Some(c) => format!("企业规模为{}，不符合要求（须为{want}）", c.name_zh()),
                    None if cls.not_covered => format!("{}，不属于中小微企业", cls.note),
                    None => format!("无法划型：{}", cls.explanation()),
                }
            }
            Detail::Industry {
                code,
                label,
                excluded,
            } => {
                let code = code.unwrap_or("");
                match (ok, excluded) {
                    (true, false) => format!("行业 {code} 属于{label}"),
                    (false, false) => format!("行业 {code} 不属于{label}"),
                    (true, true) => format!("行业 {code} 不属于{label}"),
                    (false, true) => format!("行业 {code} 属于{label}，不在支持范围"),
                }
            }
            Detail::Certification {
                held,
                of,
                since,
                designated,
                as_of,
            } => match (held, since, designated) {
                (Some(c), _, Some(d)) if d > as_of => {
                    format!(
                        "{}认定于 {d}，晚于匹配日期 {as_of}，当日尚未具备",
                        c.name_zh()
                    )
                }
                (Some(c), Some(s), Some(d)) if d < s => {
                    format!("{}认定于 {d}，早于本政策适用的 {s}", c.name_zh())
                }
                (Some(c), Some(_), Some(d)) => format!("已具备{}（{d} 认定）", c.name_zh()),
                (Some(c), ..) => format!("已具备{}", c.name_zh()),
                (None, _, _) => {
                    format!("未具备以下资质之一：{}", names(of, Certification::name_zh))
                }
            },
            Detail::Flag { flag, equals } => flag_message(flag, equals, ok),
            Detail::AnyFlag { flags, held } => match held {
                Some(f) => format!("{}，符合要求", f.name_zh()),
                None => format!("不具备以下任一项：{}", names(flags, Flag::name_zh)),
            },
            Detail::TaxGrade { grade, min } => {
                let g = grade.map_or("未知", TaxCreditGrade::name_zh);
                if ok {
                    format!("纳税信用等级{g}，不低于{}", min.name_zh())
                } else {
                    format!("纳税信用等级{g}，低于{}的要求", min.name_zh())
                }
            }
            Detail::NewHires {
                hires,
                staff,
                required,
                ..
            } => {
                let actual = if staff == 0 {
                    "—".to_string()
                } else {
                    percent::rate((Decimal::from(hires) / Decimal::from(staff)).round_dp(4))
                };
                if ok {
                    format!(
                        "新招用重点群体人数占比 {actual}（{hires}/{staff}），达到 {} 的要求",
                        percent::rate(required)
                    )
                } else {
                    format!(
                        "新招用重点群体人数占比 {actual}，低于 {} 的要求",
                        percent::rate(required)
                    )
                }
            }
            Detail::Max { metric, value, max } => {
                if ok {
                    format!(
                        "{}{}，未超过{}",
                        metric.name_zh(),
                        metric.fmt(value),
                        metric.fmt(max)
                    )
                } else {
                    format!(
                        "{}{}，超过{}的上限",
                        metric.name_zh(),
                        metric.fmt(value),
                        metric.fmt(max)
                    )
                }
            }
            Detail::Years {
                established,
                full_years,
                years,
                minimum,
            } => match (minimum, ok) {
                (true, true) => format!("成立于{established}，已满 {years} 年"),
                (true, false) => {
                    format!("成立于{established}，成立 {full_years} 年，未满 {years} 年")
                }
                (false, true) => format!("成立于{established}，未超过 {years} 年"),
                (false, false) => {
                    format!("成立于{established}，已成立 {full_years} 年，超过 {years} 年")
                }
            },
            Detail::Purpose { purpose, allowed } => {
                if ok {
                    format!("贷款用途为{}，符合要求", purpose.name_zh())
                } else {
                    format!(
                        "贷款用途为{}，产品仅支持{}",
                        purpose.name_zh(),
                        names(allowed, LoanPurpose::name_zh)
                    )
                }
            }
            Detail::Term { requested, max } => {
                if ok {
                    format!("申请期限 {requested} 个月，未超过产品上限 {max} 个月")
                } else {
                    format!("申请期限 {requested} 个月，超过产品上限 {max} 个月")
                }
            }
        }
    }

    /// For a failing criterion: the smallest changes that would make it pass.
    // size: one match over the closed set of criterion details, the
    // changes each allows; split, an action would leave its kin.
    pub fn suggestions(&self) -> Vec<Suggestion> {
        if self.outcome != Outcome::Fail {
            return Vec::new();
        }
        let s = |action: &str, field: &str, target: String, message: String| Suggestion {
            criterion_code: self.code.to_string(),
            action: action.to_string(),
            field: field.to_string(),
            target,
            message,
        };
        match self.detail {
            Detail::NewHires {
                hires,
                need_more,
                ratio,
                ratio_above,
                staff_above,
                ..
            } => {
                let total = u64::from(hires) + need_more;
                vec![s(
                    "HIRE_MORE",
                    "new_eligible_hires",
                    total.to_string(),
                    format!(
                        "再招用 {need_more} 名重点群体人员（签订1年以上劳动合同），使新招用人数达到 {total} 人，满足 {} 的比例要求（职工超过 {staff_above} 人的为 {}）",
                        percent::rate(ratio),
                        percent::rate(ratio_above)
                    ),
                )]
            }
            // A designation before the policy's date cannot be changed; one
            // after the match date comes by itself.
            Detail::Certification { held: Some(_), .. } => Vec::new(),
            Detail::Certification { of, .. } => vec![s(
                "OBTAIN_CERTIFICATION",
                "certifications",
                of.iter()
                    .map(|c| c.qualified_code())
                    .collect::<Vec<_>>()
                    .join("|"),
                format!("取得以下资质之一：{}", names(of, Certification::name_zh)),
            )],
            Detail::Max { metric, max, .. } => vec![s(
                "STAY_AT_OR_BELOW",
                metric.field(),
                max_target(metric, max),
                format!("{}须不超过{}", metric.name_zh(), metric.fmt(max)),
            )],
            Detail::Size { allowed, cls } => size_suggestions(self.code, allowed, cls),
            Detail::TaxGrade { min, .. } => vec![s(
                "IMPROVE_TAX_GRADE",
                "tax_credit_grade",
                min.qualified_code(),
                format!("纳税信用等级须提升至{}及以上", min.name_zh()),
            )],
            Detail::Years {
                established,
                years,
                minimum: true,
                ..
            } => {
                let when = established
                    .with_year(established.year() + years as i32)
                    .unwrap_or_else(|| established + chrono::Days::new(365 * u64::from(years)));
                vec![s(
                    "WAIT_UNTIL",
                    "established",
                    when.to_string(),
                    format!("成立满 {years} 年后（{when} 起）可申请"),
                )]
            }
            Detail::Purpose { allowed, .. } => vec![s(
                "CHANGE_PURPOSE",
                "request.purpose",
                allowed
                    .iter()
                    .map(|p| p.qualified_code())
                    .collect::<Vec<_>>()
                    .join("|"),
                format!("将贷款用途调整为{}", names(allowed, LoanPurpose::name_zh)),
            )],
            Detail::Term { max, .. } => vec![s(
                "SHORTEN_TERM",
                "request.term_months",
                max.to_string(),
                format!("将申请期限缩短至 {max} 个月以内"),
            )],
            Detail::Flag { flag, equals } => match flag_action(flag, equals) {
                Some((action, msg)) => {
                    vec![s(action, flag.code(), equals.to_string(), msg.to_string())]
                }
                None => Vec::new(),
            },
            // field: the facts, any one of which set true passes.
            Detail::AnyFlag { flags, .. } => vec![s(
                "OBTAIN_ANY",
                &flags.iter().map(|f| f.code()).collect::<Vec<_>>().join("|"),
                "true".to_string(),
                format!("具备以下之一后可申请：{}", names(flags, Flag::name_zh)),
            )],
            Detail::Region { .. }
            | Detail::Industry { .. }
            | Detail::Missing { .. }
            | Detail::Years { .. } => Vec::new(),
        }
    }
}

fn max_target(metric: Metric, max: Decimal) -> String {
    match metric {
        Metric::Staff => max.to_string(),
        _ => Yuan(max).to_fen_string(),
    }
}

/// Suggestions for a size class that is not allowed: to drop to the largest
/// allowed class, the firm must fall below at least one lower bound of the
/// class above it (any one suffices, so each is offered); to rise to the
/// smallest allowed class, it must meet all of that class's bounds.
fn size_suggestions(code: &str, allowed: &[SizeClass], cls: &Classification) -> Vec<Suggestion> {
    let (Some(c), Some(o)) = (cls.class(), cls.outcome.as_ref()) else {
        return Vec::new();
    };
    // SizeClass orders Large < Medium < Small < Micro.
    let largest_allowed = allowed.iter().copied().min();
    let smallest_allowed = allowed.iter().copied().max();
    let mut out = Vec::new();
    if let Some(la) = largest_allowed.filter(|la| c < *la) {
        let above = match la {
            SizeClass::Medium => SizeClass::Large,
            SizeClass::Small => SizeClass::Medium,
            SizeClass::Micro => SizeClass::Small,
            SizeClass::Large => return out,
        };
        for (metric, bound) in size::tier_bounds(o.industry, above) {
            let target = match metric {
                Metric::Staff => (bound - Decimal::ONE).to_string(),
                _ => Yuan(bound - Decimal::new(1, 2)).to_fen_string(),
            };
            out.push(Suggestion {
                criterion_code: code.to_string(),
                action: "STAY_BELOW".into(),
                field: metric.field().into(),
                target,
                message: format!(
                    "{}须低于{}（{}标准），方可划为{}",
                    metric.name_zh(),
                    metric.fmt(bound),
                    above.name_zh(),
                    la.name_zh()
                ),
            });
        }
    } else if let Some(sa) = smallest_allowed.filter(|sa| c > *sa) {
        for (metric, bound) in size::tier_bounds(o.industry, sa) {
            out.push(Suggestion {
                criterion_code: code.to_string(),
                action: "REACH_AT_LEAST".into(),
                field: metric.field().into(),
                target: max_target(metric, bound),
                message: format!(
                    "{}须达到{}，方可划为{}",
                    metric.name_zh(),
                    metric.fmt(bound),
                    sa.name_zh()
                ),
            });
        }
    }
    out
}

fn flag_message(flag: Flag, equals: bool, ok: bool) -> String {
    let (yes, no) = match flag {
        Flag::InIndustrialPark => ("位于工业园区", "不在工业园区"),
        Flag::IsCulturalTourism => ("属于文化旅游企业", "不属于文化旅游企业"),
        Flag::HasBankLoans => ("有银行贷款记录", "无银行贷款记录（首贷户）"),
        Flag::WageOrSocialInsuranceArrears => (
            "存在欠薪、欠缴社保等严重失信行为",
            "无欠薪、欠缴社保等严重失信行为",
        ),
        Flag::HasRegisteredIp => ("拥有已登记的知识产权", "无已登记的知识产权"),
        Flag::HasReceivables => ("拥有可质押的应收账款", "无可质押的应收账款"),
        Flag::MakesListedMajorEquipment => (
            "生产列入江西省推广应用范围的首台（套）重大技术装备",
            "未生产列入江西省推广应用范围的首台（套）重大技术装备",
        ),
        Flag::MakesListedNewMaterial => (
            "生产列入江西省推广应用范围的重点新材料产品",
            "未生产列入江西省推广应用范围的重点新材料产品",
        ),
        Flag::HasWarehouseReceipts => ("拥有可质押的仓单", "无可质押的仓单"),
        Flag::HasPurchaseOrders => ("拥有可质押的订单", "无可质押的订单"),
        Flag::IsListed => ("已在境内外上市", "未上市"),
    };
    let actual = if ok == equals { yes } else { no };
    let required = if equals { yes } else { no };
    if ok {
        format!("{actual}，符合要求")
    } else {
        format!("{actual}，产品要求{required}")
    }
}

fn flag_action(flag: Flag, equals: bool) -> Option<(&'static str, &'static str)> {
    match (flag, equals) {
        (Flag::InIndustrialPark, true) => Some(("LOCATE_IN_PARK", "入驻省内工业园区后可申请")),
        (Flag::WageOrSocialInsuranceArrears, false) => Some((
            "CLEAR_ARREARS",
            "清偿欠薪并补缴社会保险费、消除失信记录后可申请",
        )),
        (Flag::HasRegisteredIp, true) => {
            Some(("REGISTER_IP", "办理专利、商标等知识产权登记后可申请"))
        }
        (Flag::HasReceivables, true) => Some((
            "REGISTER_RECEIVABLES",
            "在中征应收账款融资服务平台登记应收账款后可申请",
        )),
        (Flag::HasBankLoans, true) => Some(("NEEDS_EXISTING_LOAN", "仅适用于有存量银行贷款的企业")),
        _ => None,
    }
}
