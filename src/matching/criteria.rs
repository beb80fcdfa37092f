//! Evaluating one rule against one profile, and explaining the outcome.
//!
//! Evaluation is allocation-free: a [`Criterion`] keeps borrowed values and
//! numbers; its Chinese sentence ([`Criterion::message`]) and the suggestion
//! for a failing criterion ([`Criterion::suggestions`]) are rendered only when a
//! report is built.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::catalog::Rule;
use crate::enterprise::size::{self, Metric};
use crate::enterprise::{
    Certification, Classification, Flag, LoanPurpose, Profile, SizeClass, TaxCreditGrade,
};
use crate::money::{self, Yuan};

/// Outcome of a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Holds.
    Pass,
    /// Does not hold.
    Fail,
    /// A needed field is absent.
    NeedsInfo,
}

/// What a criterion saw, for rendering.
#[derive(Debug, Clone, Copy)]
pub enum Detail<'a> {
    /// Region scope of the product.
    Region {
        /// Firm's area code.
        firm: Option<&'a str>,
        /// Allowed prefixes.
        allowed: &'a [String],
    },
    /// Size class.
    Size {
        /// Allowed classes.
        allowed: &'a [SizeClass],
        /// The firm's classification.
        cls: &'a Classification,
    },
    /// Industry membership.
    Industry {
        /// Firm's code.
        code: Option<&'a str>,
        /// Label of the set.
        label: &'a str,
        /// True for an exclusion rule.
        excluded: bool,
    },
    /// Certifications.
    Certification {
        /// The first accepted certification the firm holds.
        held: Option<Certification>,
        /// Accepted certifications.
        of: &'a [Certification],
    },
    /// A boolean fact.
    Flag {
        /// The fact.
        flag: Flag,
        /// Required value.
        equals: bool,
    },
    /// Tax grade.
    TaxGrade {
        /// Firm's grade.
        grade: Option<TaxCreditGrade>,
        /// Worst accepted.
        min: TaxCreditGrade,
    },
    /// New-hire ratio.
    NewHires {
        /// Eligible hires.
        hires: u32,
        /// Staff.
        staff: u32,
        /// Required share for this staff count.
        required: Decimal,
        /// Smallest number of further eligible hires that passes.
        need_more: u64,
        /// The rule.
        ratio: Decimal,
        /// Share for larger firms.
        ratio_above: Decimal,
        /// Threshold.
        staff_above: u32,
    },
    /// A maximum on a metric.
    Max {
        /// Metric.
        metric: Metric,
        /// Firm's value.
        value: Decimal,
        /// Maximum.
        max: Decimal,
    },
    /// Years since establishment.
    Years {
        /// Date of establishment.
        established: NaiveDate,
        /// Full years on the match date.
        full_years: u32,
        /// Years required.
        years: u32,
        /// True for a minimum, false for a maximum.
        minimum: bool,
    },
    /// Loan purpose.
    Purpose {
        /// Requested purpose.
        purpose: LoanPurpose,
        /// Accepted purposes.
        allowed: &'a [LoanPurpose],
    },
    /// Requested term against the product maximum.
    Term {
        /// Requested months.
        requested: u32,
        /// Maximum months.
        max: u32,
    },
    /// A field is absent.
    Missing {
        /// What the rule needs, in Chinese.
        what: &'static str,
    },
}

/// The result of one criterion.
#[derive(Debug, Clone, Copy)]
pub struct Criterion<'a> {
    /// Machine code.
    pub code: &'static str,
    /// Outcome.
    pub outcome: Outcome,
    /// For NEEDS_INFO: the profile field(s) missing.
    pub missing: &'static str,
    /// What was seen.
    pub detail: Detail<'a>,
}

/// A suggestion: the smallest change that would make a criterion pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// Criterion fixed.
    pub criterion_code: String,
    /// Action code.
    pub action: String,
    /// Profile field concerned.
    pub field: String,
    /// Target value.
    pub target: String,
    /// Chinese sentence.
    pub message: String,
}

fn pass<'a>(code: &'static str, detail: Detail<'a>) -> Criterion<'a> {
    Criterion {
        code,
        outcome: Outcome::Pass,
        missing: "",
        detail,
    }
}
fn fail<'a>(code: &'static str, detail: Detail<'a>) -> Criterion<'a> {
    Criterion {
        code,
        outcome: Outcome::Fail,
        missing: "",
        detail,
    }
}
fn needs(code: &'static str, missing: &'static str, what: &'static str) -> Criterion<'static> {
    Criterion {
        code,
        outcome: Outcome::NeedsInfo,
        missing,
        detail: Detail::Missing { what },
    }
}
fn verdict<'a>(ok: bool, code: &'static str, detail: Detail<'a>) -> Criterion<'a> {
    if ok {
        pass(code, detail)
    } else {
        fail(code, detail)
    }
}

/// The region criterion of a product.
pub fn region<'a>(p: &'a Profile, allowed: &'a [String]) -> Criterion<'a> {
    let Some(r) = p.region_code.as_deref() else {
        return needs("REGION", "region_code", "所在地区");
    };
    // A 2- or 4-digit firm code is enough only if it lies inside an allowed prefix.
    let ok = allowed.iter().any(|a| r.starts_with(a.as_str()));
    if !ok && allowed.iter().any(|a| a.starts_with(r)) {
        return needs("REGION", "region_code", "所在县区（完整的6位行政区划代码）");
    }
    verdict(
        ok,
        "REGION",
        Detail::Region {
            firm: Some(r),
            allowed,
        },
    )
}

/// The term criterion of a product.
pub fn term(requested: u32, max: u32) -> Criterion<'static> {
    verdict(requested <= max, "TERM", Detail::Term { requested, max })
}

/// Smallest k ≥ 0 with (h + k) ≥ r·(n + k): k = ⌈(r·n − h) / (1 − r)⌉.
fn hires_needed(h: u32, n: u32, r: Decimal) -> u64 {
    let need = (r * Decimal::from(n) - Decimal::from(h)) / (Decimal::ONE - r);
    if need <= Decimal::ZERO {
        0
    } else {
        need.ceil().to_u64().unwrap_or(u64::MAX)
    }
}

/// Smallest number of further eligible hires (each also joins the staff) that
/// makes the new-hire test pass, considering that crossing `staff_above`
/// switches to the lower ratio.
pub fn min_extra_hires(
    h: u32,
    n: u32,
    ratio: Decimal,
    ratio_above: Decimal,
    staff_above: u32,
) -> u64 {
    let below = hires_needed(h, n, ratio);
    let best_below = if u64::from(n) + below <= u64::from(staff_above) {
        Some(below)
    } else {
        None
    };
    // Regime above the threshold: need n + k > staff_above.
    let cross = (u64::from(staff_above) + 1).saturating_sub(u64::from(n));
    let above = hires_needed(h, n, ratio_above).max(cross);
    match best_below {
        Some(b) => b.min(above),
        None => above,
    }
}

/// Evaluates one rule.
pub fn evaluate<'a>(
    rule: &'a Rule,
    p: &'a Profile,
    cls: &'a Classification,
    as_of: NaiveDate,
) -> Criterion<'a> {
    let code = rule.code();
    match rule {
        Rule::SizeClassIn { classes } => match cls.class() {
            Some(c) => verdict(
                classes.contains(&c),
                code,
                Detail::Size {
                    allowed: classes,
                    cls,
                },
            ),
            None if cls.not_covered => fail(
                code,
                Detail::Size {
                    allowed: classes,
                    cls,
                },
            ),
            None => Criterion {
                code,
                outcome: Outcome::NeedsInfo,
                missing: missing_size_fields(cls),
                detail: Detail::Size {
                    allowed: classes,
                    cls,
                },
            },
        },
        Rule::IndustryIn { prefixes, label } | Rule::IndustryNotIn { prefixes, label } => {
            let excluded = matches!(rule, Rule::IndustryNotIn { .. });
            let Some(ind) = &p.industry else {
                return needs(code, "industry_code", "行业代码");
            };
            let inside = prefixes.iter().any(|x| ind.starts_with(x));
            // A coarse code ("C") cannot decide a finer prefix ("C35").
            let undecided = !inside && prefixes.iter().any(|x| x.starts_with(ind.0.as_str()));
            if undecided {
                return needs(code, "industry_code", "更细的行业代码");
            }
            verdict(
                inside != excluded,
                code,
                Detail::Industry {
                    code: Some(&ind.0),
                    label,
                    excluded,
                },
            )
        }
        Rule::CertificationAny { of } => {
            let held = of.iter().copied().find(|c| p.certifications.contains(c));
            verdict(held.is_some(), code, Detail::Certification { held, of })
        }
        Rule::Flag { flag, equals } => match p.flag(*flag) {
            Some(v) => verdict(
                v == *equals,
                code,
                Detail::Flag {
                    flag: *flag,
                    equals: *equals,
                },
            ),
            None => needs(code, flag.code(), flag.name_zh()),
        },
        Rule::MinTaxGrade { grade } => match p.tax_credit_grade {
            Some(g) => verdict(
                g <= *grade,
                code,
                Detail::TaxGrade {
                    grade: Some(g),
                    min: *grade,
                },
            ),
            None => needs(code, "tax_credit_grade", "纳税信用等级"),
        },
        Rule::NewHireRatio {
            ratio,
            ratio_above,
            staff_above,
        } => match (p.new_eligible_hires, p.employees) {
            (Some(h), Some(n)) => {
                let required = if n > *staff_above {
                    *ratio_above
                } else {
                    *ratio
                };
                let ok = n > 0 && Decimal::from(h) >= required * Decimal::from(n);
                let need_more = if ok {
                    0
                } else {
                    min_extra_hires(h, n, *ratio, *ratio_above, *staff_above)
                };
                verdict(
                    ok,
                    code,
                    Detail::NewHires {
                        hires: h,
                        staff: n,
                        required,
                        need_more,
                        ratio: *ratio,
                        ratio_above: *ratio_above,
                        staff_above: *staff_above,
                    },
                )
            }
            (None, _) => needs(code, "new_eligible_hires", "新招用重点群体人数"),
            (_, None) => needs(code, "employees", "从业人员人数"),
        },
        Rule::MaxEmployees { max } => match p.employees {
            Some(v) => verdict(
                v <= *max,
                code,
                Detail::Max {
                    metric: Metric::Staff,
                    value: v.into(),
                    max: (*max).into(),
                },
            ),
            None => needs(code, "employees", "从业人员人数"),
        },
        Rule::MaxRevenue { max } => match p.annual_revenue {
            Some(v) => verdict(
                v <= *max,
                code,
                Detail::Max {
                    metric: Metric::Revenue,
                    value: v.0,
                    max: max.0,
                },
            ),
            None => needs(code, "annual_revenue", "营业收入"),
        },
        Rule::MaxAssets { max } => match p.total_assets {
            Some(v) => verdict(
                v <= *max,
                code,
                Detail::Max {
                    metric: Metric::Assets,
                    value: v.0,
                    max: max.0,
                },
            ),
            None => needs(code, "total_assets", "资产总额"),
        },
        Rule::MinYearsEstablished { years } | Rule::MaxYearsEstablished { years } => {
            let minimum = matches!(rule, Rule::MinYearsEstablished { .. });
            let Some(est) = p.established else {
                return needs(code, "established", "成立日期");
            };
            let full_years = as_of.years_since(est).unwrap_or(0);
            let ok = if minimum {
                as_of >= est && full_years >= *years
            } else {
                full_years < *years
            };
            verdict(
                ok,
                code,
                Detail::Years {
                    established: est,
                    full_years,
                    years: *years,
                    minimum,
                },
            )
        }
        Rule::PurposeIn { purposes } => match p.request.purpose {
            Some(v) => verdict(
                purposes.contains(&v),
                code,
                Detail::Purpose {
                    purpose: v,
                    allowed: purposes,
                },
            ),
            None => needs(code, "request.purpose", "贷款用途"),
        },
    }
}

fn missing_size_fields(cls: &Classification) -> &'static str {
    match cls.missing_fields.as_slice() {
        [] => "industry_code",
        [one] => one,
        // At most two metrics are ever missing together.
        ["annual_revenue", "total_assets"] => "annual_revenue, total_assets",
        ["employees", "annual_revenue"] => "employees, annual_revenue",
        ["employees", "total_assets"] => "employees, total_assets",
        [first, ..] => first,
    }
}

fn names<T: Copy>(xs: &[T], f: impl Fn(T) -> &'static str) -> String {
    xs.iter().map(|x| f(*x)).collect::<Vec<_>>().join("、")
}

impl Criterion<'_> {
    /// The Chinese sentence explaining the outcome.
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
            Detail::Certification { held, of } => match held {
                Some(c) => format!("已具备{}", c.name_zh()),
                None => format!("未具备以下资质之一：{}", names(of, Certification::name_zh)),
            },
            Detail::Flag { flag, equals } => flag_message(flag, equals, ok),
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
                    money::pct((Decimal::from(hires) / Decimal::from(staff)).round_dp(4))
                };
                if ok {
                    format!(
                        "新招用重点群体人数占比 {actual}（{hires}/{staff}），达到 {} 的要求",
                        money::pct(required)
                    )
                } else {
                    format!(
                        "新招用重点群体人数占比 {actual}，低于 {} 的要求",
                        money::pct(required)
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
                        money::pct(ratio),
                        money::pct(ratio_above)
                    ),
                )]
            }
            Detail::Certification { of, .. } => vec![s(
                "OBTAIN_CERTIFICATION",
                "certifications",
                of.iter()
                    .map(|c| c.proto_name())
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
                min.proto_name(),
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
                    .map(|p| p.proto_name())
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn extra_hires_formula() {
        // 3 of 24 = 12.5% < 15%: need k with (3+k)/(24+k) ≥ 0.15 → k ≥ 0.6/0.85 = 0.705… → 1
        assert_eq!(min_extra_hires(3, 24, dec!(0.15), dec!(0.08), 100), 1);
        // exact boundary needs nothing
        assert_eq!(min_extra_hires(3, 20, dec!(0.15), dec!(0.08), 100), 0);
        // 0 of 40: k ≥ 6/0.85 = 7.06 → 8; check: 8/48 = 16.7% ≥ 15%, 7/47 = 14.9% < 15%
        assert_eq!(min_extra_hires(0, 40, dec!(0.15), dec!(0.08), 100), 8);
        // 150 staff: 8% rule, 5 hires: k ≥ (12 − 5)/0.92 = 7.6 → 8; 13/158 = 8.2%
        assert_eq!(min_extra_hires(5, 150, dec!(0.15), dec!(0.08), 100), 8);
        // 95 staff, 0 hires: below-threshold regime needs k ≥ 14.25/0.85 = 16.8 → 17 (112 staff, crosses);
        // above regime: k ≥ max(7.6/0.92 → 9 (8.26→9), 6) = 9: 9/104 = 8.65% ≥ 8%
        assert_eq!(min_extra_hires(0, 95, dec!(0.15), dec!(0.08), 100), 9);
    }

    #[test]
    fn extra_hires_is_minimal_by_brute_force() {
        for n in 1..=130u32 {
            for h in (0..=n).step_by(3) {
                let k = min_extra_hires(h, n, dec!(0.15), dec!(0.08), 100);
                let ok = |k: u64| {
                    let (hh, nn) = (
                        Decimal::from(u64::from(h) + k),
                        Decimal::from(u64::from(n) + k),
                    );
                    let r = if nn > dec!(100) {
                        dec!(0.08)
                    } else {
                        dec!(0.15)
                    };
                    hh >= r * nn
                };
                assert!(ok(k), "h={h} n={n} k={k} should pass");
                assert!(
                    (0..k).all(|j| !ok(j)),
                    "h={h} n={n}: a smaller k than {k} passes"
                );
            }
        }
    }
}
