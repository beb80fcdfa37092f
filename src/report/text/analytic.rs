//! The exact method's figures and the certificate, as text, and the JSON of
//! a run.

use serde::Serialize;

use super::riskpool::money_table;
use crate::kernel::money::Yuan;
use crate::kernel::percent;
use crate::riskpool::analytic::{AnalyticMoney, AnalyticSummary, Certificate, Method};
use crate::riskpool::stats::Summary;

/// The JSON of a run: the Monte Carlo summary's fields as before (when it
/// ran), `analytic` and `certificate` beside them, and `method` saying
/// which ran.
#[derive(Debug, Serialize)]
pub struct Output<'a> {
    /// Which engines ran.
    pub method: Method,
    /// Monte Carlo.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub monte_carlo: Option<&'a Summary>,
    /// The analytic figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytic: Option<&'a AnalyticSummary>,
    /// Their comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<&'a Certificate>,
}

fn fen(y: Yuan) -> String {
    y.to_fen_string()
}

/// The analytic figures as a table.
pub fn render_analytic(a: &AnalyticSummary) -> String {
    let mut o = String::new();
    let l = &a.lattice;
    o.push_str(&format!(
        "解析法（条件卷积 + 自适应 Gauss–Kronrod 因子积分）· 损失格点 {} 元 × {} 点，代偿格点 {} 元 × {} 点 · {} · 积分节点 {}，误差估计 {:.1e}\n",
        l.loss_unit.to_fen_string(),
        l.loss_points,
        l.claim_unit.to_fen_string(),
        l.claim_points,
        if l.exact {
            "格点整除每笔金额：无离散化误差"
        } else {
            "金额取整到格点：区间由向下、向上取整给出，必含真值"
        },
        a.quadrature.nodes,
        a.quadrature.error_estimate
    ));
    let e = &a.exhaustion_probability;
    o.push_str(&format!(
        "资金池耗尽概率：{}（界 {} – {}）\n违约笔数均值：{:.2}\n\n",
        percent::fixed(e.estimate, 4),
        percent::fixed(e.low, 4),
        percent::fixed(e.high, 4),
        a.mean_defaults
    ));
    let mut t = money_table(a.tail_level);
    let rows = |name: &str, m: &AnalyticMoney| {
        let mut est = vec![name.to_string(), fen(m.mean.estimate)];
        est.extend(m.quantiles.iter().map(|q| fen(q.value.estimate)));
        est.push(fen(m.var.value.estimate));
        est.push(fen(m.es.estimate));
        let mut low = vec!["  下界".to_string(), fen(m.mean.low)];
        low.extend(m.quantiles.iter().map(|q| fen(q.value.low)));
        low.push(fen(m.var.value.low));
        low.push(fen(m.es.low));
        let mut high = vec!["  上界".to_string(), fen(m.mean.high)];
        high.extend(m.quantiles.iter().map(|q| fen(q.value.high)));
        high.push(fen(m.var.value.high));
        high.push(fen(m.es.high));
        [est, low, high]
    };
    for (name, m) in [
        ("信贷损失", &a.loss),
        ("代偿申请", &a.claims),
        ("资金池代偿", &a.compensation),
        ("未获代偿", &a.unfunded_claims),
    ] {
        let [est, low, high] = rows(name, m);
        t.row(est);
        if low != high {
            t.row(low);
            t.row(high);
        }
    }
    o.push_str(&t.render(""));
    for n in &a.notes {
        o.push_str(&format!("注：{n}\n"));
    }
    o
}

/// The certificate as lines.
pub fn render_certificate(c: &Certificate) -> String {
    let mut o = String::from("\n核验（蒙特卡洛 对 解析法，|z| > 4 即不一致）：\n");
    for l in &c.lines {
        let (name, show): (&str, Box<dyn Fn(f64) -> String>) = match l.quantity.as_str() {
            "exhaustion_probability" => ("耗尽概率", Box::new(|p| percent::fixed(p, 4))),
            "mean_loss" => ("平均信贷损失", Box::new(|x| format!("{x:.2}"))),
            _ => ("平均代偿", Box::new(|x| format!("{x:.2}"))),
        };
        o.push_str(&format!(
            "  {name}：蒙特卡洛 {} ± {}，解析 {}（界 {} – {}），z = {:.2} {}\n",
            show(l.monte_carlo),
            show(l.std_error),
            show(l.analytic),
            show(l.analytic_low),
            show(l.analytic_high),
            l.z,
            if l.flagged { "✗ 不一致" } else { "✓" }
        ));
    }
    o.push_str(if c.agree {
        "两种方法一致。\n"
    } else {
        "两种方法不一致：请检查模型或增加模拟次数。\n"
    });
    o
}

/// A whole run as text: the Monte Carlo summary, the exact figures and the
/// certificate, those that ran.
pub fn render_run(out: &Output<'_>) -> String {
    let mut text = String::new();
    if let Some(s) = out.monte_carlo {
        text.push_str(&super::riskpool::render_summary(s));
    }
    if let Some(an) = out.analytic {
        if out.monte_carlo.is_some() {
            text.push('\n');
        }
        text.push_str(&render_analytic(an));
    }
    if let Some(c) = out.certificate {
        text.push_str(&render_certificate(c));
    }
    text
}
