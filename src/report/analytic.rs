//! The analytic section of a simulation report: the semi-analytic figures
//! with their bounds, and the certificate comparing them with Monte Carlo.

use std::fmt::Write;

use super::svg::{esc, money};
use super::table;
use crate::kernel::percent;
use crate::riskpool::analytic::{AnalyticMoney, AnalyticSummary, Certificate};

fn yuan(y: crate::kernel::money::Yuan) -> f64 {
    y.to_fen() as f64 / 100.0
}

/// "estimate" or "estimate（low – high）" when the bounds differ.
fn bounded(est: f64, low: f64, high: f64, show: &dyn Fn(f64) -> String) -> String {
    if low == high {
        show(est)
    } else {
        format!("{}（{} – {}）", show(est), show(low), show(high))
    }
}

/// The headline of an analytic-only report.
pub fn headline(a: &AnalyticSummary) -> String {
    let e = &a.exhaustion_probability;
    format!(
        "<div class=\"headline\"><div><span>资金池耗尽概率（解析法）</span><b>{}</b><span>界 {} – {}</span></div><div><span>信贷损失 ES（{}）</span><b>{}</b><span>VaR {}</span></div></div>\n",
        percent::short(e.estimate),
        percent::short(e.low),
        percent::short(e.high),
        percent::short(a.tail_level),
        money(yuan(a.loss.es.estimate)),
        money(yuan(a.loss.var.value.estimate))
    )
}

/// The section: method, bounds, money table and (with Monte Carlo) the
/// certificate.
pub fn section(a: &AnalyticSummary, cert: Option<&Certificate>) -> String {
    let mut b = String::from("<h2>解析法</h2>\n");
    let l = &a.lattice;
    let _ = writeln!(
        b,
        "<p>不抽样：给定因子，各笔贷款独立违约，损失分布为格点上的卷积；再以自适应 Gauss–Kronrod 求积对因子积分（对 z 按正态权重积分，两端无穷段在 u = Φ(z) 空间）。损失格点 {} × {} 点，代偿格点 {} × {} 点；{}积分节点 {} 个，误差估计 {:.1e}（已计入各项界）。</p>",
        esc(&l.loss_unit.human()),
        l.loss_points,
        esc(&l.claim_unit.human()),
        l.claim_points,
        if l.exact {
            "格点整除每笔金额，无离散化误差；"
        } else {
            "金额取整到格点，向下与向上取整的结果给出必含真值的界；"
        },
        a.quadrature.nodes,
        a.quadrature.error_estimate
    );
    let e = &a.exhaustion_probability;
    let _ = writeln!(
        b,
        "<p>资金池耗尽概率：<b>{}</b>。</p>",
        bounded(e.estimate, e.low, e.high, &|x| percent::short(x))
    );
    let tail = percent::short(a.tail_level);
    let row = |name: &str, m: &AnalyticMoney| {
        let cell = |v: &crate::riskpool::analytic::Bounded<crate::kernel::money::Yuan>| {
            bounded(yuan(v.estimate), yuan(v.low), yuan(v.high), &|x| money(x))
        };
        let q99 = m
            .quantiles
            .iter()
            .find(|q| (q.level - 0.99).abs() < 1e-9)
            .map_or(String::new(), |q| cell(&q.value));
        vec![
            name.to_string(),
            cell(&m.mean),
            q99,
            cell(&m.var.value),
            cell(&m.es),
        ]
    };
    b.push_str(&table(
        &[
            "金额",
            "均值",
            "P99",
            &format!("VaR {tail}"),
            &format!("ES {tail}"),
        ],
        &[
            row("信贷损失", &a.loss),
            row("代偿申请", &a.claims),
            row("资金池代偿", &a.compensation),
            row("未获代偿", &a.unfunded_claims),
        ],
    ));
    for n in &a.notes {
        let _ = writeln!(b, "<p class=\"sub\">注：{}</p>", esc(n));
    }
    if let Some(c) = cert {
        certificate(&mut b, c);
    }
    b
}

/// The two methods checked against each other, figure by figure.
fn certificate(b: &mut String, c: &Certificate) {
    b.push_str("<h2>两种方法核验</h2>\n");
    let _ = writeln!(
        b,
        "<p>{}</p>",
        if c.agree {
            "蒙特卡洛估计均落在解析值的界内或其 4 个标准误之内：两种独立方法一致。"
        } else {
            "有一项蒙特卡洛估计偏离解析值的界超过 4 个标准误：两种方法不一致，请检查。"
        }
    );
    let rows: Vec<Vec<String>> = c
        .lines
        .iter()
        .map(|l| {
            let prob = l.quantity == "exhaustion_probability";
            let show = |x: f64| if prob { percent::short(x) } else { money(x) };
            vec![
                match l.quantity.as_str() {
                    "exhaustion_probability" => "耗尽概率",
                    "mean_loss" => "平均信贷损失",
                    _ => "平均代偿",
                }
                .to_string(),
                format!("{} ± {}", show(l.monte_carlo), show(l.std_error)),
                bounded(l.analytic, l.analytic_low, l.analytic_high, &show),
                format!("{:.2}", l.z),
                if l.flagged { "✗ 不一致" } else { "✓" }.to_string(),
            ]
        })
        .collect();
    b.push_str(&table(&["项目", "蒙特卡洛", "解析法", "z", ""], &rows));
}
