//! The Chinese sentence that explains a criterion's outcome, and what a firm
//! could change to pass a criterion it fails.

use chrono::Datelike;
use rust_decimal::Decimal;

use super::{Action, Criterion, Detail, Outcome, Suggestion};
use crate::enterprise::{Certification, Flag, LoanPurpose, SizeClass, TaxCreditGrade, region};
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
            Detail::Missing { what } => format!("缺少{what}，无法判断"),
            Detail::Region { firm, allowed } => {
                let firm = region::describe(firm.unwrap_or(""));
                let scope = allowed
                    .iter()
                    .map(|a| region::describe(a))
                    .collect::<Vec<_>>()
                    .join("、");
                if ok {
                    format!("所在地区{firm}属于适用范围（{scope}）")
                } else {
                    format!("所在地区{firm}不在适用范围（{scope}）")
                }
            }
            Detail::Size { allowed, cls } => {
                let want = names(allowed, SizeClass::name_zh);
                match cls.class() {
                    Some(c) if ok => format!("企业规模为{}，符合要求（{want}）", c.name_zh()),
                    // The thresholds are the reason, never a target: no
                    // firm is told to shed staff or revenue.
                    Some(c) => format!(
                        "企业规模为{}，本产品限{want}企业（{}）",
                        c.name_zh(),
                        cls.explanation()
                    ),
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
        }
    }

    /// For a criterion that needs information, what to supply; for a
    /// failing one, what the firm can do that would make it pass — never to
    /// shrink, move, or change what a loan is for, nor to win a title by
    /// competition (those fail with their reason alone).
    pub fn suggestions(&self) -> Vec<Suggestion> {
        let s = |action: Action, field: &str, target: String, message: String| Suggestion {
            criterion_code: self.code.to_string(),
            action: action.wire(),
            kind: action.kind(),
            field: field.to_string(),
            target,
            message,
        };
        match (self.outcome, self.detail) {
            (Outcome::Pass, _) => Vec::new(),
            (Outcome::NeedsInfo, detail) => {
                let what = match detail {
                    Detail::Missing { what } => what,
                    _ => "判断所需的信息",
                };
                vec![s(
                    Action::SupplyInformation,
                    self.missing,
                    String::new(),
                    format!("补充{what}后即可判断是否符合"),
                )]
            }
            (Outcome::Fail, detail) => self.remedies(detail, s),
        }
    }

    /// What the firm can do about a failing criterion.
    // size: one match over the closed set of criterion details, the
    // changes each allows; split, an action would leave its kin.
    fn remedies(
        &self,
        detail: Detail<'_>,
        s: impl Fn(Action, &str, String, String) -> Suggestion,
    ) -> Vec<Suggestion> {
        match detail {
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
                    Action::HireMore,
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
            Detail::Certification { of, .. } => {
                let open: Vec<Certification> =
                    of.iter().copied().filter(|c| applied_for(*c)).collect();
                if open.is_empty() {
                    return Vec::new();
                }
                vec![s(
                    Action::ObtainCertification,
                    "certifications",
                    open.iter()
                        .map(|c| c.qualified_code())
                        .collect::<Vec<_>>()
                        .join("|"),
                    format!(
                        "申报认定以下资质之一（经主管部门评审，通常需数月）：{}",
                        names(&open, Certification::name_zh)
                    ),
                )]
            }
            Detail::TaxGrade { min, .. } => vec![s(
                Action::ImproveTaxGrade,
                "tax_credit_grade",
                min.qualified_code(),
                format!(
                    "纳税信用等级须经税务机关年度评价（或信用修复）达到{}及以上",
                    min.name_zh()
                ),
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
                    Action::WaitUntil,
                    "established",
                    when.to_string(),
                    format!("成立满 {years} 年后（{when} 起）可申请"),
                )]
            }
            Detail::Flag { flag, equals } => match flag_action(flag, equals) {
                Some((action, msg)) => {
                    vec![s(action, flag.code(), equals.to_string(), msg.to_string())]
                }
                None => Vec::new(),
            },
            // field: the facts, any one of which set true passes.
            Detail::AnyFlag { flags, .. } => vec![s(
                Action::OfferCollateral,
                &flags.iter().map(|f| f.code()).collect::<Vec<_>>().join("|"),
                "true".to_string(),
                format!("如有{}，提供其一后可申请", names(flags, Flag::name_zh)),
            )],
            // Staff, revenue, assets, size, region, industry, the loan's
            // purpose, an age limit: the reason stands alone.
            Detail::Max { .. }
            | Detail::Size { .. }
            | Detail::Purpose { .. }
            | Detail::Region { .. }
            | Detail::Industry { .. }
            | Detail::Missing { .. }
            | Detail::Years { .. } => Vec::new(),
        }
    }
}

/// Whether a firm gets a certification by applying for it in the ordinary
/// course (an evaluation or a recognition with published criteria): 创新型中小
/// 企业, 科技型中小企业, 高新技术企业 and the 专精特新 lists. National and
/// provincial titles awarded by competition (小巨人, 单项冠军) and the
/// designations of platforms and bases are not advice a bureau gives.
fn applied_for(c: Certification) -> bool {
    matches!(
        c,
        Certification::InnovativeSme
            | Certification::TechSme
            | Certification::HighTech
            | Certification::ZjtxProvincial
            | Certification::ZjtxNanchang
    )
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

/// What a firm can do about a fact a product needs: only what it controls
/// (clear its arrears, register what it owns). Moving into a park or
/// having borrowed before are not advice.
fn flag_action(flag: Flag, equals: bool) -> Option<(Action, &'static str)> {
    match (flag, equals) {
        (Flag::WageOrSocialInsuranceArrears, false) => Some((
            Action::ClearArrears,
            "清偿欠薪并补缴社会保险费、消除失信记录后可申请",
        )),
        (Flag::HasRegisteredIp, true) => Some((
            Action::RegisterIp,
            "如拥有专利、商标等知识产权，办理登记后可申请",
        )),
        (Flag::HasReceivables, true) => Some((
            Action::RegisterReceivables,
            "如有应收账款，在中征应收账款融资服务平台登记后可申请",
        )),
        _ => None,
    }
}
