//! Evaluating one rule against one profile, and explaining the outcome.
//!
//! Evaluation is allocation-free: a [`Criterion`] keeps borrowed values and
//! numbers; its Chinese sentence ([`Criterion::message`]) and the suggestion
//! for a failing criterion ([`Criterion::suggestions`]) are rendered, in
//! `explain`, only when a report is built.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::catalog::Rule;
use crate::enterprise::size::Metric;
use crate::enterprise::{
    Certification, Classification, Flag, LoanPurpose, Profile, SizeClass, TaxCreditGrade,
};
mod advice;
mod explain;

pub use advice::{Action, Suggestion, SuggestionKind};

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
        /// The accepted certification the firm holds (under `since`, the
        /// one that decided).
        held: Option<Certification>,
        /// Accepted certifications.
        of: &'a [Certification],
        /// Earliest designation date that counts.
        since: Option<NaiveDate>,
        /// When `held` was designated, if known.
        designated: Option<NaiveDate>,
        /// The match date: a later designation is not yet held.
        as_of: NaiveDate,
    },
    /// A boolean fact.
    Flag {
        /// The fact.
        flag: Flag,
        /// Required value.
        equals: bool,
    },
    /// Any of several boolean facts.
    AnyFlag {
        /// The facts, one of which must hold.
        flags: &'a [Flag],
        /// The first that holds.
        held: Option<Flag>,
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
    /// The text the rule comes from ("" when none).
    pub source: &'a str,
}

fn pass<'a>(code: &'static str, detail: Detail<'a>) -> Criterion<'a> {
    Criterion {
        code,
        outcome: Outcome::Pass,
        missing: "",
        detail,
        source: "",
    }
}
fn fail<'a>(code: &'static str, detail: Detail<'a>) -> Criterion<'a> {
    Criterion {
        code,
        outcome: Outcome::Fail,
        missing: "",
        detail,
        source: "",
    }
}
fn needs(code: &'static str, missing: &'static str, what: &'static str) -> Criterion<'static> {
    Criterion {
        code,
        outcome: Outcome::NeedsInfo,
        missing,
        detail: Detail::Missing { what },
        source: "",
    }
}
fn verdict<'a>(ok: bool, code: &'static str, detail: Detail<'a>) -> Criterion<'a> {
    if ok {
        pass(code, detail)
    } else {
        fail(code, detail)
    }
}

/// The Chinese name of a criterion by its code (`SIZE_CLASS` → 企业规模),
/// for officers; a code smefin does not know is called 其他条件.
pub fn label(code: &str) -> &'static str {
    match code {
        "REGION" => "适用地区",
        "SIZE_CLASS" => "企业规模",
        "INDUSTRY" => "所属行业",
        "INDUSTRY_EXCLUDED" => "行业限制",
        "CERTIFICATION" => "资质",
        "IN_INDUSTRIAL_PARK" => "位于工业园区",
        "CULTURAL_TOURISM" => "文化旅游企业",
        "BANK_LOAN_HISTORY" => "银行贷款记录",
        "NO_ARREARS" => "无欠薪欠缴",
        "REGISTERED_IP" => "已登记知识产权",
        "RECEIVABLES" => "可质押应收账款",
        "LISTED_MAJOR_EQUIPMENT" => "首台（套）重大技术装备",
        "LISTED_NEW_MATERIAL" => "重点新材料首批次",
        "WAREHOUSE_RECEIPTS" => "可质押仓单",
        "PURCHASE_ORDERS" => "可质押订单",
        "LISTED_COMPANY" => "上市企业",
        "ANY_OF" => "质押物（其一即可）",
        "TAX_CREDIT_GRADE" => "纳税信用等级",
        "NEW_HIRE_RATIO" => "新招用重点群体比例",
        "MAX_EMPLOYEES" => "从业人员上限",
        "MAX_REVENUE" => "营业收入上限",
        "MAX_ASSETS" => "资产总额上限",
        "MIN_YEARS_ESTABLISHED" => "成立年限下限",
        "MAX_YEARS_ESTABLISHED" => "成立年限上限",
        "LOAN_PURPOSE" => "贷款用途",
        _ => "其他条件",
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
        Rule::SizeClassIn { classes } => size(code, classes, cls),
        Rule::IndustryIn { prefixes, label } => industry(code, p, prefixes, label, false),
        Rule::IndustryNotIn { prefixes, label } => industry(code, p, prefixes, label, true),
        Rule::CertificationAny { of, since } => certification(code, p, of, *since, as_of),
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
        Rule::AnyFlag { flags } => {
            let held = flags.iter().copied().find(|&f| p.flag(f) == Some(true));
            match flags.iter().copied().find(|&f| p.flag(f).is_none()) {
                Some(unknown) if held.is_none() => needs(code, unknown.code(), unknown.name_zh()),
                _ => verdict(held.is_some(), code, Detail::AnyFlag { flags, held }),
            }
        }
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
        } => new_hires(code, p, *ratio, *ratio_above, *staff_above),
        Rule::MaxEmployees { max } => at_most(
            code,
            Metric::Staff,
            p.employees.map(Decimal::from),
            Decimal::from(*max),
        ),
        Rule::MaxRevenue { max } => {
            at_most(code, Metric::Revenue, p.annual_revenue.map(|v| v.0), max.0)
        }
        Rule::MaxAssets { max } => {
            at_most(code, Metric::Assets, p.total_assets.map(|v| v.0), max.0)
        }
        Rule::MinYearsEstablished { years } => established(code, p, *years, true, as_of),
        Rule::MaxYearsEstablished { years } => established(code, p, *years, false, as_of),
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

/// Holds one of `of`; with `since`, one designated on or after it. A held
/// certification of unknown date decides nothing: NEEDS_INFO unless another
/// passes; so does a profile that has not listed its certifications.
fn certification<'a>(
    code: &'static str,
    p: &Profile,
    of: &'a [Certification],
    since: Option<NaiveDate>,
    as_of: NaiveDate,
) -> Criterion<'a> {
    let detail = |held, designated| Detail::Certification {
        held,
        of,
        since,
        designated,
        as_of,
    };
    // A designation dated after the match date is not held on that date.
    let (mut undated, mut early, mut late) = (false, None, None);
    for c in of.iter().copied().filter(|c| p.certifications.contains(c)) {
        match (p.certification_dates.get(&c).copied(), since) {
            (Some(d), _) if d > as_of => late = late.or(Some((c, d))),
            (d, None) => return pass(code, detail(Some(c), d)),
            (Some(d), Some(s)) if d >= s => return pass(code, detail(Some(c), Some(d))),
            (Some(d), Some(_)) => early = early.or(Some((c, d))),
            (None, Some(_)) => undated = true,
        }
    }
    if undated {
        return needs(code, "certification_dates", "资质认定日期");
    }
    // Not among those known held, and the list may not be complete.
    if !p.certifications_listed {
        return needs(code, "certifications", "所持资质");
    }
    match early.or(late) {
        Some((c, d)) => fail(code, detail(Some(c), Some(d))),
        None => fail(code, detail(None, None)),
    }
}

/// Size class among `classes`: NEEDS_INFO names the figures the
/// classification lacks; a firm outside the standard fails.
fn size<'a>(
    code: &'static str,
    classes: &'a [SizeClass],
    cls: &'a Classification,
) -> Criterion<'a> {
    let detail = Detail::Size {
        allowed: classes,
        cls,
    };
    match cls.class() {
        Some(c) => verdict(classes.contains(&c), code, detail),
        None if cls.not_covered => fail(code, detail),
        None => Criterion {
            code,
            outcome: Outcome::NeedsInfo,
            missing: missing_size_fields(cls),
            detail,
            source: "",
        },
    }
}

/// Industry inside (or, `excluded`, outside) the prefixes; a coarse code
/// ("C") that cannot decide a finer prefix ("C35") needs more information.
fn industry<'a>(
    code: &'static str,
    p: &'a Profile,
    prefixes: &'a [String],
    label: &'a str,
    excluded: bool,
) -> Criterion<'a> {
    let Some(ind) = &p.industry else {
        return needs(code, "industry_code", "行业代码");
    };
    let inside = prefixes.iter().any(|x| ind.starts_with(x));
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

/// New eligible hires at least `ratio` of the staff (`ratio_above` when the
/// staff exceeds `staff_above`); a failure says how many more hires pass.
fn new_hires(
    code: &'static str,
    p: &Profile,
    ratio: Decimal,
    ratio_above: Decimal,
    staff_above: u32,
) -> Criterion<'static> {
    let (h, n) = match (p.new_eligible_hires, p.employees) {
        (Some(h), Some(n)) => (h, n),
        (None, _) => return needs(code, "new_eligible_hires", "新招用重点群体人数"),
        (_, None) => return needs(code, "employees", "从业人员人数"),
    };
    let required = if n > staff_above { ratio_above } else { ratio };
    let ok = n > 0 && Decimal::from(h) >= required * Decimal::from(n);
    let need_more = if ok {
        0
    } else {
        min_extra_hires(h, n, ratio, ratio_above, staff_above)
    };
    verdict(
        ok,
        code,
        Detail::NewHires {
            hires: h,
            staff: n,
            required,
            need_more,
            ratio,
            ratio_above,
            staff_above,
        },
    )
}

/// A metric of the profile at most `max`.
fn at_most(
    code: &'static str,
    metric: Metric,
    value: Option<Decimal>,
    max: Decimal,
) -> Criterion<'static> {
    match value {
        Some(value) => verdict(value <= max, code, Detail::Max { metric, value, max }),
        None => needs(code, metric.field(), missing_label(metric)),
    }
}

/// What a NEEDS_INFO for a metric asks for.
fn missing_label(metric: Metric) -> &'static str {
    match metric {
        Metric::Staff => "从业人员人数",
        Metric::Revenue | Metric::Assets => metric.name_zh(),
    }
}

/// At least (`minimum`) or fewer than `years` full years since establishment
/// on `as_of`.
fn established(
    code: &'static str,
    p: &Profile,
    years: u32,
    minimum: bool,
    as_of: NaiveDate,
) -> Criterion<'static> {
    let Some(est) = p.established else {
        return needs(code, "established", "成立日期");
    };
    let full_years = as_of.years_since(est).unwrap_or(0);
    let ok = if minimum {
        as_of >= est && full_years >= years
    } else {
        full_years < years
    };
    verdict(
        ok,
        code,
        Detail::Years {
            established: est,
            full_years,
            years,
            minimum,
        },
    )
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
