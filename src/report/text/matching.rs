//! A match report as text.

use super::table::Table;
use crate::kernel::percent;
use crate::matching;
use crate::matching::{MatchReport, ProductMatchReport};

/// An annual rate as a table cell, "—" when unknown.
pub fn rate(r: &Option<String>) -> String {
    r.as_deref()
        .and_then(|s| s.parse().ok())
        .map(percent::rate2)
        .unwrap_or_else(|| "—".into())
}

/// A product's name, starred when one of its parameters is uncertain, and
/// marked when the firm already holds it or has applied for it.
pub fn name_with_flag(m: &ProductMatchReport) -> String {
    let mut name = m.product_name.clone();
    if !m.uncertain_parameters.is_empty() {
        name.push('*');
    }
    if let Some(h) = m.holding {
        name.push_str(&format!("（{}）", h.name_zh()));
    }
    name
}

/// The credit-code line, with its warnings.
pub fn render_credit_code(cc: &crate::enterprise::CreditCode) -> String {
    let check = if cc.check_character_valid {
        "校验通过"
    } else {
        "校验码不符（警告）"
    };
    let mut s = format!(
        "信用代码：{}（{}，登记地 {}，{check}）\n",
        cc.code,
        cc.entity_type,
        crate::enterprise::region::describe(&cc.region_code)
    );
    for w in &cc.warnings {
        s.push_str(&format!("  ! {w}\n"));
    }
    s
}

/// The readable form of a match.
pub fn render_report(r: &MatchReport) -> String {
    let mut out = head(r);
    let (credit, other): (Vec<_>, Vec<_>) = r.eligible.iter().partition(|m| m.kind.is_credit());
    out.push_str(&format!(
        "\n符合条件 {} 项（贷款按年化成本从低到高）\n",
        r.eligible.len()
    ));
    if !credit.is_empty() {
        out.push_str(&offers(&credit));
    }
    if !other.is_empty() {
        let mut t = Table::new(&["奖励与补贴", "内容"], &[]);
        for m in &other {
            t.row(vec![
                name_with_flag(m),
                m.offer
                    .as_ref()
                    .and_then(|o| o.benefit.clone())
                    .unwrap_or_default(),
            ]);
        }
        out.push_str(&t.render("  "));
    }
    if !r.needs_info.is_empty() {
        out.push_str(&needs_info(&r.needs_info));
    }
    if !r.ineligible.is_empty() {
        out.push_str(&ineligible(&r.ineligible));
    }
    if r.eligible
        .iter()
        .chain(&r.needs_info)
        .chain(&r.ineligible)
        .any(|m| !m.uncertain_parameters.is_empty())
    {
        out.push_str("\n* 含依据不确定、取默认值的参数（见 smefin catalog show <产品ID>）\n");
    }
    out
}

/// The firm, the date and the LPR, its size class and its credit code.
fn head(r: &MatchReport) -> String {
    let mut out = String::new();
    let name = if r.name.is_empty() {
        "（未命名企业）"
    } else {
        &r.name
    };
    out.push_str(&format!(
        "{name} · 匹配日期 {} · 1年期LPR {}\n",
        r.as_of,
        r.lpr_1y
            .as_deref()
            .and_then(|s| s.parse().ok())
            .map(percent::rate2)
            .unwrap_or_else(|| "未知".into())
    ));
    let c = &r.classification;
    let class = c.size_class.map_or("未能划型", |s| s.name_zh());
    if c.size_industry.is_empty() {
        out.push_str(&format!("划型：{class} — {}\n", c.explanation));
    } else {
        out.push_str(&format!(
            "划型：{} · {class} — {}\n",
            c.size_industry, c.explanation
        ));
    }
    if let Some(cc) = &r.credit_code {
        out.push_str(&render_credit_code(cc));
    }
    out
}

/// The loans the firm qualifies for, cheapest first, with their notes.
fn offers(credit: &[&ProductMatchReport]) -> String {
    let mut t = Table::new(
        &[
            "#",
            "产品",
            "金额",
            "期限",
            "利率",
            "借款人承担",
            "担保费",
            "年化成本",
        ],
        &[0, 2, 3, 4, 5, 6, 7],
    );
    for (i, m) in credit.iter().enumerate() {
        let o = m.offer.as_ref();
        let amount = o.and_then(|o| o.amount).map_or("—".into(), |a| a.human());
        let term = o
            .and_then(|o| o.term_months)
            .map_or("—".into(), |t| format!("{t}个月"));
        let fee = o
            .and_then(|o| o.annual_guarantee_fee)
            .map_or("—".into(), |f| f.to_fen_string());
        let cost = o
            .and_then(|o| o.annual_cost)
            .map_or("—".into(), |c| c.to_fen_string());
        t.row(vec![
            (i + 1).to_string(),
            name_with_flag(m),
            amount,
            term,
            rate(&o.and_then(|o| o.rate.clone())),
            rate(&o.and_then(|o| o.borrower_rate.clone())),
            fee,
            cost,
        ]);
    }
    let mut out = t.render("  ");
    for m in credit {
        for n in m.offer.iter().flat_map(|o| &o.notes) {
            out.push_str(&format!("  · {}：{n}\n", m.product_name));
        }
    }
    out
}

/// The products that need more information, with what is missing.
fn needs_info(needs: &[ProductMatchReport]) -> String {
    let mut out = format!("\n需补充信息 {} 项\n", needs.len());
    let mut t = Table::new(&["产品", "缺少的信息"], &[]);
    for m in needs {
        let missing: Vec<String> = m
            .criteria
            .iter()
            .filter(|c| !c.missing_field.is_empty())
            .map(|c| crate::enterprise::field::describe(&c.missing_field))
            .collect();
        t.row(vec![name_with_flag(m), missing.join(", ")]);
    }
    out.push_str(&t.render("  "));
    out
}

/// The products the firm does not qualify for: each failed criterion and
/// each suggestion.
fn ineligible(products: &[ProductMatchReport]) -> String {
    let mut out = format!("\n不符合 {} 项\n", products.len());
    for m in products {
        out.push_str(&format!("  {}\n", name_with_flag(m)));
        for c in m
            .criteria
            .iter()
            .filter(|c| c.outcome == matching::Outcome::Fail)
        {
            out.push_str(&format!("    ✗ {}\n", c.message));
        }
        for s in &m.suggestions {
            out.push_str(&format!("    → {}：{}\n", s.kind.name_zh(), s.message));
        }
    }
    out
}
