//! The pool report (资金池运行报告): the real pool on a date — cash and
//! outstanding month by month, the days-past-due buckets, claims and
//! recoveries by month and by bank, the three 代偿率 side by side, the
//! breakers and their history, and the rule version in force with its
//! sources. In Chinese, house style.

use std::fmt::Write;

use rust_decimal::prelude::ToPrimitive;

use super::svg::{Chart, DARK, LIGHT, MID, esc, hbars, money, ticks};
use super::{document, table};
use crate::kernel::money::Yuan;
use crate::kernel::percent;
use crate::ledger::history::Month;
use crate::ledger::rules::RuleVersion;
use crate::ledger::state::Level;
use crate::ledger::{PoolFigures, PoolState};

fn level(l: Level) -> &'static str {
    match l {
        Level::Normal => "正常",
        Level::Warning => "预警",
        Level::Suspended => "暂停新增",
    }
}

fn rate(r: Option<rust_decimal::Decimal>) -> String {
    r.and_then(|r| r.to_f64())
        .map_or("—".into(), percent::short)
}

/// An amount as a chart's value.
pub(super) fn f(y: Yuan) -> f64 {
    y.0.to_f64().unwrap_or(0.0)
}

/// The report of pool `pool_id` in state `s` (the bureau's view), with its
/// months, the rules in force and, if given, the projection from `s`'s date.
pub fn html(
    pool_id: &str,
    programme: &str,
    s: &PoolState,
    months: &[Month],
    rules: Option<&RuleVersion>,
    outlook: Option<&crate::ledger::project::Projection>,
) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>资金池运行报告</h1>\n<p class=\"sub\">{} · {} · 截至 {}{}</p>",
        esc(programme),
        esc(pool_id),
        s.as_of,
        s.known_at.as_ref().map_or(String::new(), |k| format!(
            " · 按 {} 时已记录的数据",
            esc(k)
        ))
    );
    if let Some(p) = &s.pool {
        headline(&mut b, p);
        series(&mut b, months);
        buckets(&mut b, p);
        claims(&mut b, months);
        rates(&mut b, p);
        if let Some(r) = outlook {
            super::pool_projection::section(&mut b, months, r);
        }
    }
    banks(&mut b, s);
    if let Some(p) = &s.pool {
        breaker(&mut b, p);
    }
    rule_table(&mut b, rules);
    document("资金池运行报告", &b)
}

fn headline(b: &mut String, p: &PoolFigures) {
    let _ = writeln!(
        b,
        "<div class=\"headline\"><div><span>资金池现金</span><b>{}</b><span>注资 {}{}</span></div><div><span>在贷余额</span><b>{}</b><span>放大倍数 {}</span></div><div><span>剩余信贷规模</span><b>{}</b><span>规模 {}</span></div><div><span>不良率</span><b>{}</b><span>熔断：{}</span></div></div>",
        esc(&p.cash.human()),
        esc(&p.capital.human()),
        p.top_up_due.map_or(String::new(), |(by, y)| format!(
            "；应于 {by} 前补充 {}",
            esc(&y.human())
        )),
        esc(&p.figures.outstanding.human()),
        p.leverage.map_or("—".into(), |l| format!(
            "{:.1}×",
            l.to_f64().unwrap_or(0.0)
        )),
        esc(&p.scale_left.human()),
        esc(&p.credit_scale.human()),
        rate(p.figures.npl_rate()),
        level(p.breaker.level)
    );
}

fn line_chart(
    kind: &'static str,
    title: &str,
    months: &[Month],
    value: impl Fn(&Month) -> f64,
    caption: &str,
) -> String {
    let n = months.len().max(2) as f64;
    let pts: Vec<(f64, f64)> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (i as f64, value(m)))
        .collect();
    let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let mut c = Chart::new(kind, title, (0.0, n - 1.0), (0.0, ymax));
    let xt = ticks(0.0, n - 1.0, 6.min(months.len()).max(1));
    let label = |v: f64| {
        months
            .get(v.round().max(0.0) as usize)
            .map_or(String::new(), |m| m.end.format("%Y-%m").to_string())
    };
    c.axes(
        &xt,
        &label,
        &ticks(0.0, ymax, 5),
        &|v| money(v),
        "月末",
        "金额",
    );
    c.line(kind, &pts, DARK, None, None);
    c.dots(kind, &pts, DARK);
    c.finish(caption)
}

fn series(b: &mut String, months: &[Month]) {
    b.push_str("<h2>现金与在贷余额（月末）</h2>\n");
    if months.is_empty() {
        b.push_str("<p class=\"none\">尚无记录。</p>\n");
        return;
    }
    b.push_str(&line_chart(
        "cash",
        "资金池现金",
        months,
        |m| f(m.cash),
        "每月末资金池持有的现金（注资、补充、利息、追偿返还，减代偿支付与撤资）。",
    ));
    b.push_str(&line_chart(
        "outstanding",
        "在贷余额",
        months,
        |m| f(m.outstanding),
        "每月末纳入资金池的贷款本金余额。",
    ));
}

fn buckets(b: &mut String, p: &PoolFigures) {
    b.push_str("<h2>逾期分布</h2>\n");
    let names = [
        "正常",
        "逾期1–30天",
        "逾期31–60天",
        "逾期61–90天",
        "逾期90天以上（含核销）",
    ];
    let rows: Vec<(String, Vec<f64>)> = names
        .iter()
        .zip(p.figures.buckets.iter())
        .map(|(n, y)| (n.to_string(), vec![f(*y) / 1e4]))
        .collect();
    b.push_str(&hbars(
        "buckets",
        "各逾期段本金余额（万元）",
        &rows,
        &[MID],
        &[],
        "条长为本金余额（万元）。",
    ));
    let _ = writeln!(
        b,
        "<p>达到代偿条件尚未申请代偿：{} 笔，{}；已批准未支付的代偿：{}。</p>",
        p.figures.pipeline_loans,
        esc(&p.figures.pipeline.human()),
        esc(&p.figures.committed.human())
    );
}

fn claims(b: &mut String, months: &[Month]) {
    b.push_str("<h2>代偿与追偿（按月）</h2>\n");
    let active: Vec<&Month> = months
        .iter()
        .filter(|m| m.claims_paid > Yuan::ZERO || m.recovered > Yuan::ZERO)
        .collect();
    if active.is_empty() {
        b.push_str("<p class=\"none\">尚无代偿。</p>\n");
        return;
    }
    let rows: Vec<(String, Vec<f64>)> = active
        .iter()
        .map(|m| {
            (
                m.end.format("%Y-%m").to_string(),
                vec![f(m.claims_paid) / 1e4, f(m.recovered) / 1e4],
            )
        })
        .collect();
    b.push_str(&hbars(
        "claims",
        "代偿支付与追偿返还（万元）",
        &rows,
        &[DARK, LIGHT],
        &["代偿支付", "追偿返还"],
        "每月代偿支付与按比例返还资金池的追偿款。",
    ));
    let rows: Vec<Vec<String>> = active
        .iter()
        .map(|m| {
            let by: Vec<String> = m
                .claims_by_bank
                .iter()
                .map(|(bk, y)| format!("{bk} {}", y.human()))
                .collect();
            vec![
                m.end.format("%Y-%m").to_string(),
                m.claims_paid.human(),
                m.recovered.human(),
                by.join("，"),
            ]
        })
        .collect();
    b.push_str(&table(
        &["月份", "代偿支付", "追偿返还", "代偿支付（按银行）"],
        &rows,
    ));
}

fn rates(b: &mut String, p: &PoolFigures) {
    b.push_str("<h2>代偿率（三种口径）</h2>\n");
    let r = &p.rates;
    b.push_str(&table(
        &["口径", "定义", "数值"],
        &[
            vec![
                "按金额累计".into(),
                "累计代偿支付 ÷ 累计纳入本金".into(),
                rate(r.by_amount),
            ],
            vec![
                "按笔数累计".into(),
                "已代偿贷款笔数 ÷ 累计纳入笔数".into(),
                rate(r.by_count),
            ],
            vec![
                "期间".into(),
                format!(
                    "{} 以来的代偿支付 ÷ 期初在贷余额",
                    r.period_start.map_or(String::new(), |d| d.to_string())
                ),
                rate(r.in_period),
            ],
            vec![
                "追偿率".into(),
                "资金池获返追偿 ÷ 累计代偿支付".into(),
                rate(r.recovery),
            ],
        ],
    ));
}

fn banks(b: &mut String, s: &PoolState) {
    b.push_str("<h2>按合作银行</h2>\n");
    let rows: Vec<Vec<String>> = s
        .banks
        .iter()
        .map(|x| {
            vec![
                x.bank_id.clone(),
                x.figures.enrolled_loans.to_string(),
                x.figures.outstanding.human(),
                rate(x.figures.npl_rate()),
                x.figures.claims_paid.human(),
                x.figures.recovered.human(),
                level(x.breaker).into(),
            ]
        })
        .collect();
    b.push_str(&table(
        &[
            "银行",
            "纳入笔数",
            "在贷余额",
            "不良率",
            "代偿支付",
            "追偿返还",
            "熔断",
        ],
        &rows,
    ));
}

fn breaker(b: &mut String, p: &PoolFigures) {
    b.push_str("<h2>熔断记录</h2>\n");
    if p.breaker.history.is_empty() {
        b.push_str("<p class=\"none\">未触发预警或暂停。</p>\n");
        return;
    }
    let rows: Vec<Vec<String>> = p
        .breaker
        .history
        .iter()
        .map(|(d, l)| vec![d.to_string(), level(*l).into()])
        .collect();
    b.push_str(&table(&["日期", "状态"], &rows));
}

fn rule_table(b: &mut String, rules: Option<&RuleVersion>) {
    b.push_str("<h2>适用规则</h2>\n");
    let Some(v) = rules else {
        b.push_str("<p class=\"none\">该日无有效规则。</p>\n");
        return;
    };
    let opt = |y: Option<Yuan>| y.map_or("—".into(), |y| y.human());
    let rows = vec![
        vec!["生效日期".into(), v.from.to_string()],
        vec!["信贷规模".into(), v.credit_scale.human()],
        vec!["资金池分担比例".into(), rate(Some(v.pool_share))],
        vec!["单笔代偿上限".into(), opt(v.coverage_cap)],
        vec!["单户余额上限".into(), opt(v.firm_cap)],
        vec![
            "放大倍数上限".into(),
            v.leverage_limit.map_or("—".into(), |l| format!("{l}×")),
        ],
        vec![
            "纳入时限".into(),
            format!("放款后 {} 天内", v.enrol_deadline_days),
        ],
        vec![
            "代偿条件".into(),
            format!("逾期 {} 天或核销", v.claim_trigger_days),
        ],
        vec![
            "熔断".into(),
            format!(
                "不良率 {} 预警，{} 暂停新增",
                rate(Some(v.breaker_warn)),
                rate(Some(v.breaker_suspend))
            ),
        ],
        vec![
            "补充".into(),
            v.top_up.as_ref().map_or("—".into(), |t| {
                let mut x = format!("年末补足至 {}", t.target.human());
                if let Some(share) = t.below_share {
                    x.push_str(&format!(
                        "；现金低于在贷余额的 {} 时即补足",
                        rate(Some(share))
                    ));
                }
                x
            }),
        ],
        vec![
            "合作银行授信".into(),
            if v.bank_lines.is_empty() {
                "—（仅受总规模限制）".into()
            } else {
                v.bank_lines
                    .iter()
                    .map(|(b, y)| format!("{b} {}", y.human()))
                    .collect::<Vec<_>>()
                    .join("；")
            },
        ],
        vec!["依据".into(), v.sources.join("；")],
    ];
    b.push_str(&table(&["规则", "值"], &rows).replacen("<table>", "<table class=\"kv\">", 1));
    if !v.uncertain.is_empty() {
        let _ = writeln!(
            b,
            "<p>以下取值未见公开文件规定，为可配置的默认值：{}。</p>",
            esc(&v.uncertain.join("；"))
        );
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use crate::kernel::money::Yuan;
    use crate::ledger::decide;
    use crate::ledger::event::{Event, EventKind, Loan};
    use crate::ledger::rules::builtin;
    use crate::ledger::state::Book;
    use crate::report::scan::{raw_codes, visible};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A pool's year: capital, 40 loans, statuses, two claims paid, a
    /// recovery; the report in Chinese, its figures the fold's.
    pub(super) fn year() -> String {
        let p = std::sync::Arc::new(
            builtin()
                .into_iter()
                .find(|p| p.id == "gongxintong")
                .unwrap(),
        );
        let mut events: Vec<Event> = Vec::new();
        let mut run = |on: &str, f: &dyn Fn(&Book) -> Result<EventKind, decide::Refusal>| {
            let on = d(on);
            let k = f(&Book::fold(&p, &events, on, None)).unwrap();
            let seq = events.len() as u64 + 1;
            events.push(Event {
                seq,
                effective: on,
                recorded_at: format!("2024-01-01T00:00:{:02}Z", seq % 60),
                recorded_by: "t".into(),
                request_id: format!("r{seq}"),
                kind: k,
            });
        };
        run("2023-01-03", &|b| {
            decide::cash(
                b,
                EventKind::CapitalInjected {
                    amount: Yuan::wan(3000),
                },
                d("2023-01-03"),
            )
        });
        for i in 0..40 {
            let loan = Loan {
                loan_id: format!("L{i}"),
                bank_id: ["JXB", "NCRCB"][i % 2].into(),
                credit_code: format!("F{i}"),
                firm: format!("企业{i}"),
                amount: Yuan::wan(500),
                annual_rate: Decimal::new(345, 4),
                term_months: 12,
                disbursed: d("2023-01-10"),
                version_from: d("2023-01-10"),
            };
            run("2023-01-20", &move |b| {
                decide::enrol(b, loan.clone(), d("2023-01-20"))
            });
        }
        for (m, late) in [("2023-03-31", 30), ("2023-04-30", 60), ("2023-05-31", 91)] {
            for i in 0..40 {
                let id = format!("L{i}");
                run(m, &move |b| {
                    decide::status(
                        b,
                        ["JXB", "NCRCB"][i % 2],
                        &id,
                        Yuan::wan(450),
                        if i < 2 { late } else { 0 },
                    )
                });
            }
        }
        run("2023-06-05", &|b| decide::file_claim(b, "JXB", "C0", "L0"));
        run("2023-06-05", &|b| {
            decide::file_claim(b, "NCRCB", "C1", "L1")
        });
        run("2023-06-10", &|b| decide::review(b, "JXB", "C0", None));
        run("2023-06-10", &|b| decide::review(b, "NCRCB", "C1", None));
        run("2023-06-15", &|b| {
            decide::pay(b, "JXB", "C0", d("2023-06-15"))
        });
        run("2023-07-15", &|b| {
            decide::pay(b, "NCRCB", "C1", d("2023-07-15"))
        });
        run("2023-09-01", &|b| {
            decide::recovery(b, "JXB", "L0", Yuan::wan(90), d("2023-09-01"))
        });
        let as_of = d("2023-12-31");
        let s = crate::ledger::pool_state(&p, &events, as_of, None, None, None);
        let months = crate::ledger::history::months(&p, &events, as_of, 36);
        assert_eq!(months.len(), 12);
        assert_eq!(months[5].claims_paid, Yuan::wan(225));
        assert_eq!(months[8].recovered, Yuan::wan(45));
        let o = crate::ledger::project::Options {
            scenarios: 2_000,
            ..Default::default()
        };
        let (_, r) = crate::ledger::project::from_log(&p, &events, as_of, &Default::default(), &o);
        super::html(
            "GXT-NC",
            &p.name,
            &s,
            &months,
            p.version_on(as_of),
            Some(&r),
        )
    }

    #[test]
    fn the_pool_report_is_the_fold_in_chinese() {
        let html = year();
        assert!(html.contains("<b>2595万</b>"), "3000 − 2 × 225 + 45");
        assert!(html.contains("不良率"));
        assert!(
            html.contains("暂停新增"),
            "900万 of 18000万 is 5%: suspended"
        );
        assert_eq!(html.matches("<figure").count(), 5);
        assert!(html.contains("资金池现金：历史与前瞻") && html.contains("今日需补充"));
        let text = visible(&html).replace("NCRCB", "").replace("GXT-NC", "");
        let codes = raw_codes(&text);
        assert!(codes.is_empty(), "{codes:?}");
    }
}
