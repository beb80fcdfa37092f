//! The funnel report (推送成效): what became of a campaign's leads — leads →
//! contacted → applied → approved → amount lent, by product, bank, region
//! and firm size; why banks declined; days to a decision; beside the
//! previous campaign when one is given. In Chinese, house style.

use std::fmt::Write;

use super::svg::{DARK, LIGHT, MID, esc, hbars};
use super::{document, table};
use crate::kernel::percent;
use crate::matching::funnel::{Funnel, Group, Stages};

/// The funnel report of `f` (beside `previous`); `bank` names the bank a
/// bank's own report is narrowed to.
pub fn html(f: &Funnel, previous: Option<&Funnel>, bank: Option<&str>) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>精准推送成效报告</h1>\n<p class=\"sub\">推送批次 {} · 推送日期 {}{}</p>",
        esc(&f.campaign_id),
        f.as_of,
        bank.map_or(String::new(), |b| format!(" · 仅含 {} 的线索", esc(b)))
    );
    headline(&mut b, &f.total);
    stages_chart(&mut b, f);
    if let Some(p) = previous {
        comparison(&mut b, f, p);
    }
    for (title, groups, kind) in [
        ("按产品", &f.by_product, "by-product"),
        ("按合作银行", &f.by_bank, "by-bank"),
        ("按地区", &f.by_region, "by-region"),
        ("按企业规模", &f.by_size, "by-size"),
    ] {
        breakdown(&mut b, title, groups, kind);
    }
    declines(&mut b, f);
    days(&mut b, f);
    document("精准推送成效报告", &b)
}

fn rate(n: u64, of: u64) -> String {
    if of == 0 {
        "—".into()
    } else {
        percent::short(n as f64 / of as f64)
    }
}

fn headline(b: &mut String, t: &Stages) {
    let _ = writeln!(
        b,
        "<div class=\"headline\"><div><span>推送线索</span><b>{} 条</b></div><div><span>已获批</span><b>{} 条</b><span>转化率 {}</span></div><div><span>放款金额</span><b>{}</b></div><div><span>已联系</span><b>{} 条</b><span>占 {}</span></div></div>",
        t.leads,
        t.approved,
        rate(t.approved, t.leads),
        esc(&t.amount_lent.human()),
        t.contacted,
        rate(t.contacted, t.leads)
    );
}

fn stage_values(s: &Stages) -> [(&'static str, u64); 5] {
    [
        ("推送线索", s.leads),
        ("已联系", s.contacted),
        ("已申请", s.applied),
        ("已获批", s.approved),
        ("未获批", s.declined),
    ]
}

fn stages_chart(b: &mut String, f: &Funnel) {
    b.push_str("<h2>推送漏斗</h2>\n");
    let rows: Vec<(String, Vec<f64>)> = stage_values(&f.total)
        .iter()
        .map(|(l, n)| (l.to_string(), vec![*n as f64]))
        .collect();
    b.push_str(&hbars(
        "funnel",
        "各环节线索数",
        &rows,
        &[DARK],
        &[],
        "条长为线索数；每条线索按银行最近一次反馈计入（无法联系的不计入已联系）。",
    ));
}

fn comparison(b: &mut String, f: &Funnel, p: &Funnel) {
    let _ = writeln!(b, "<h2>与上一批次（{}）比较</h2>", esc(&p.campaign_id));
    let (now, before) = (stage_values(&f.total), stage_values(&p.total));
    let mut rows: Vec<Vec<String>> = now
        .iter()
        .zip(before.iter())
        .map(|((l, n), (_, m))| {
            vec![
                l.to_string(),
                n.to_string(),
                rate(*n, f.total.leads),
                m.to_string(),
                rate(*m, p.total.leads),
            ]
        })
        .collect();
    rows.push(vec![
        "放款金额".into(),
        f.total.amount_lent.human(),
        String::new(),
        p.total.amount_lent.human(),
        String::new(),
    ]);
    b.push_str(&table(
        &["环节", "本批次", "占线索", "上一批次", "占线索"],
        &rows,
    ));
}

fn breakdown(b: &mut String, title: &str, groups: &[Group], kind: &'static str) {
    let _ = writeln!(b, "<h2>{title}</h2>");
    if groups.is_empty() {
        b.push_str("<p class=\"none\">没有线索。</p>\n");
        return;
    }
    let bars: Vec<(String, Vec<f64>)> = groups
        .iter()
        .map(|g| {
            let s = &g.stages;
            let (approved, applied) = (s.approved, s.applied - s.approved);
            let rest = s.leads - s.applied;
            (
                g.label.clone(),
                vec![approved as f64, applied as f64, rest as f64],
            )
        })
        .collect();
    b.push_str(&hbars(
        kind,
        &format!("{title}：已获批 / 已申请未获批 / 未申请"),
        &bars,
        &[DARK, MID, LIGHT],
        &["已获批", "已申请（含未获批、审批中）", "未申请"],
        "条长为线索数。",
    ));
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let s = &g.stages;
            vec![
                g.label.clone(),
                s.leads.to_string(),
                s.contacted.to_string(),
                s.applied.to_string(),
                s.approved.to_string(),
                rate(s.approved, s.leads),
                s.amount_lent.human(),
            ]
        })
        .collect();
    b.push_str(&table(
        &[
            "",
            "线索",
            "已联系",
            "已申请",
            "已获批",
            "转化率",
            "放款金额",
        ],
        &rows,
    ));
}

fn declines(b: &mut String, f: &Funnel) {
    b.push_str("<h2>未获批原因</h2>\n");
    if f.declines.is_empty() {
        b.push_str("<p class=\"none\">没有未获批的线索。</p>\n");
        return;
    }
    let rows: Vec<(String, Vec<f64>)> = f
        .declines
        .iter()
        .map(|d| (d.label.clone(), vec![d.leads as f64]))
        .collect();
    b.push_str(&hbars(
        "declines",
        "未获批线索数，按原因",
        &rows,
        &[MID],
        &[],
        "原因取自银行反馈的固定原因清单。",
    ));
}

fn days(b: &mut String, f: &Funnel) {
    b.push_str("<h2>从推送到审批结果的天数</h2>\n");
    let d = &f.decision_days;
    if d.decided == 0 {
        b.push_str("<p class=\"none\">尚无审批结果。</p>\n");
        return;
    }
    let show = |v: Option<i64>| v.map_or("—".into(), |v| format!("{v} 天"));
    b.push_str(
        &table(
            &["项目", "值"],
            &[
                vec!["已有审批结果".into(), format!("{} 条", d.decided)],
                vec![
                    "平均".into(),
                    d.mean.map_or("—".into(), |m| format!("{m:.1} 天")),
                ],
                vec!["中位数".into(), show(d.median)],
                vec!["90% 在此之内".into(), show(d.p90)],
            ],
        )
        .replacen("<table>", "<table class=\"kv\">", 1),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enterprise::SizeClass;
    use crate::kernel::money::Yuan;
    use crate::matching::funnel::{FunnelRow, fold};
    use crate::matching::referral::{Approval, DeclineReason, Outcome, OutcomeReport};
    use crate::report::scan::{raw_codes, visible};

    fn funnel(id: &str, approved: usize) -> Funnel {
        let rows = (0..40).map(|i| FunnelRow {
            product_id: ["gongxintong", "caiyuan_xindaitong"][i % 2].into(),
            product_name: ["工信通", "财园信贷通"][i % 2].into(),
            bank_id: (i % 5 != 0).then(|| ["JXB", "NCRCB"][i % 2].to_string()),
            region_code: Some(["360102", "3607"][i % 2].into()),
            size_class: [Some(SizeClass::Small), Some(SizeClass::Micro), None][i % 3],
            latest: (i >= 4).then(|| OutcomeReport {
                outcome: if i < 4 + approved {
                    Outcome::Approved(Approval {
                        amount: Yuan::wan(100 + i as i64),
                        annual_rate: "0.0345".parse().unwrap(),
                        term_months: 12,
                        loan_id: format!("L{i}"),
                    })
                } else if i % 3 == 0 {
                    Outcome::Declined {
                        reason: DeclineReason::Collateral,
                    }
                } else {
                    Outcome::Applied
                },
                date: "2024-07-01".parse().unwrap(),
                note: String::new(),
            }),
        });
        fold(id, "2024-06-01".parse().unwrap(), rows)
    }

    /// The report shows the figures of the fold, beside the previous
    /// campaign's, in Chinese: no code in capitals, no field name (bank ids
    /// are the banks' own, data the bureau gives).
    #[test]
    fn the_funnel_report_is_the_fold_in_chinese() {
        let (now, before) = (funnel("NC2024B", 12), funnel("NC2024A", 5));
        let html = html(&now, Some(&before), None);
        assert!(html.contains("推送线索</span><b>40 条</b>"), "{html}");
        assert!(
            html.contains("已获批</span><b>12 条</b><span>转化率 30%"),
            "{html}"
        );
        assert!(html.contains("<b>1314万</b>"));
        assert!(html.contains("与上一批次（NC2024A）比较"));
        assert!(html.contains("缺少抵押或担保"));
        assert!(html.contains("东湖区（南昌市）") && html.contains("赣州市"));
        assert_eq!(html.matches("<figure").count(), 6);
        // sizes in their order, the unknown last
        let (small, micro, unknown) = (
            html.find(">小型<").unwrap(),
            html.find(">微型<").unwrap(),
            html.find(">规模未知<").unwrap(),
        );
        assert!(small < micro && micro < unknown);
        let text = visible(&html).replace("NCRCB", "").replace("NC2024", "");
        let codes = raw_codes(&text);
        assert!(codes.is_empty(), "{codes:?}");
        // a bank's own report says so
        let own = super::html(&now, None, Some("JXB"));
        assert!(own.contains("仅含 JXB 的线索"));
        assert!(!own.contains("上一批次"));
    }
}
