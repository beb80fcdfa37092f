//! Monte Carlo runs, stress grids and the leverage answer as text.

use super::table::Table;
use crate::kernel::percent;
use crate::riskpool::grid::{Cell, GridResult, LeverageResult};
use crate::riskpool::stats::{MoneyStats, Probability, Summary};

/// A probability with its standard error and 95% interval.
pub fn prob_line(p: &Probability) -> String {
    format!(
        "{} ± {}（95%区间 {} – {}）",
        percent::fixed(p.estimate, 3),
        percent::fixed(p.std_error, 3),
        percent::fixed(p.ci95_low, 3),
        percent::fixed(p.ci95_high, 3)
    )
}

/// The money table's columns (mean, the five quantiles, VaR and ES at the
/// tail level), shared by the Monte Carlo and the analytic summaries.
pub fn money_table(tail_level: f64) -> Table {
    let tail = format!("{}", tail_level * 100.0);
    Table::new(
        &[
            "（元）",
            "均值",
            "P50",
            "P90",
            "P95",
            "P99",
            "P99.9",
            &format!("VaR{tail}"),
            &format!("ES{tail}"),
        ],
        &[1, 2, 3, 4, 5, 6, 7, 8],
    )
}

/// The readable summary of a Monte Carlo run.
pub fn render_summary(s: &Summary) -> String {
    let mut o = String::new();
    o.push_str(&format!(
        "风险补偿资金池模拟 · {} 笔贷款 · 授信规模 {} · 资金池 {}（放大 {:.1} 倍）\n情景 {} · {} 次模拟 · {} 期 · 种子 {}\n\n",
        s.loans,
        s.exposure.human(),
        s.capital.human(),
        s.leverage,
        s.preset,
        s.scenarios,
        s.periods,
        s.seed
    ));
    o.push_str(&format!(
        "资金池耗尽概率：{}\n",
        prob_line(&s.exhaustion_probability)
    ));
    if s.periods > 1 {
        for (t, p) in s.exhaustion_by_period.iter().enumerate() {
            o.push_str(&format!(
                "  第 {} 期末前耗尽：{}\n",
                t + 1,
                percent::fixed(p.estimate, 3)
            ));
        }
    }
    if let Some(v) = &s.vasicek {
        o.push_str(&format!(
            "Vasicek 大数极限：违约率超过 {} 即耗尽，概率 {}（PD {}，ρ {}）\n",
            percent::fixed(v.default_rate_threshold, 3),
            percent::fixed(v.exhaustion_probability, 3),
            percent::fixed(v.pd, 3),
            v.rho
        ));
    }
    if let Some(b) = &s.breaker {
        o.push_str(&format!(
            "熔断触发概率：{}\n",
            prob_line(&b.trip_probability)
        ));
    }
    if let Some(is) = &s.importance_sampling {
        o.push_str(&format!(
            "重要性抽样：因子均值平移 {:.4}，有效样本量 {:.0}；以下各项均为似然比加权估计（资金池余额分布不在重要性抽样下估计）\n",
            is.shift, is.effective_sample_size
        ));
    }
    o.push_str(&format!(
        "违约笔数：均值 {:.2}，方差 {:.2}\n\n",
        s.defaults.mean, s.defaults.variance
    ));
    o.push_str(&money_figures(s));
    if s.periods > 1 {
        o.push_str("\n资金池余额（期末，P5 / P25 / P50 / P75 / P95）：\n");
        for f in &s.balance_fan {
            let q: Vec<String> = f.quantiles.iter().map(|q| q.value.human()).collect();
            o.push_str(&format!("  第 {} 期  {}\n", f.period, q.join(" / ")));
        }
    }
    o
}

/// The money table (loss, compensation, unfunded, the banks' share) and
/// the risk contributions by sector.
fn money_figures(s: &Summary) -> String {
    let mut o = String::new();
    let tail = format!("{}", s.tail_level * 100.0);
    let mut t = money_table(s.tail_level);
    let row = |name: &str, m: &MoneyStats| {
        let mut r = vec![name.to_string(), m.mean.to_fen_string()];
        r.extend(m.quantiles.iter().map(|q| q.value.to_fen_string()));
        r.push(m.var.to_fen_string());
        r.push(m.es.to_fen_string());
        r
    };
    t.row(row("信贷损失", &s.loss));
    t.row(row("资金池代偿", &s.compensation));
    t.row(row("未获代偿", &s.unfunded_claims));
    t.row(row("银行承担", &s.bank_loss));
    o.push_str(&t.render(""));
    if !s.risk_contributions.is_empty() {
        o.push_str(&format!("\n风险贡献（ES{tail}，按行业）：\n"));
        for c in &s.risk_contributions {
            let name = if c.sector.is_empty() {
                "（未分行业）"
            } else {
                &c.sector
            };
            o.push_str(&format!(
                "  {name}  {}  {:.1}%\n",
                c.es_contribution.to_fen_string(),
                c.share * 100.0
            ));
        }
    }
    o
}

/// A stress grid as a table: one row per cell.
pub fn grid(result: &GridResult) -> String {
    let mut t = Table::new(
        &["PD倍数", "ρ", "代偿比例", "耗尽概率", "标准误", "95%区间"],
        &[0, 1, 2, 3, 4],
    );
    for c in &result.cells {
        let p = &c.exhaustion_probability;
        t.row(vec![
            format!("{}", c.pd_multiplier),
            Cell::rho_label(c.rho_key()),
            format!("{}", c.compensation_share),
            percent::fixed(p.estimate, 3),
            percent::fixed(p.std_error, 3),
            format!(
                "{} – {}",
                percent::fixed(p.ci95_low, 3),
                percent::fixed(p.ci95_high, 3)
            ),
        ]);
    }
    let mut out = format!(
        "压力测试：{} 个组合，每个 {} 次模拟（共同随机数）\n{}",
        result.cells.len(),
        result.scenarios,
        t.render("")
    );
    if let Some(c) = result.cells.iter().find(|c| c.lgd_shift != 0.0) {
        out.push_str(&format!(
            "各组合的 LGD 均加 {:+}（情景预设的 LGD 调整）\n",
            c.lgd_shift
        ));
    }
    out
}

/// The leverage answer: the conservative solution first (the whole 95%
/// interval within the target), then the point solution.
pub fn leverage(r: &LeverageResult) -> String {
    let c = &r.conservative;
    let what = match r.solve {
        crate::riskpool::grid::Solve::Scale => "最大授信规模",
        crate::riskpool::grid::Solve::Capital => "最小资本",
    };
    let amount =
        |capital: &crate::kernel::money::Yuan, exposure: &crate::kernel::money::Yuan| match r.solve
        {
            crate::riskpool::grid::Solve::Scale => exposure.approx_human(),
            crate::riskpool::grid::Solve::Capital => capital.approx_human(),
        };
    format!(
        "目标耗尽概率 ≤ {}\n稳健口径（耗尽概率95%区间上限不超过目标）：{what} {}（资本 {}，授信 {}，放大 {:.2} 倍），此时耗尽概率 {}\n点估计口径（估计值不超过目标，真值约一半可能高于目标）：{what} {}（放大 {:.2} 倍），此时耗尽概率 {}\n",
        percent::fixed(r.target, 3),
        amount(&c.capital, &c.exposure),
        c.capital.approx_human(),
        c.exposure.approx_human(),
        c.leverage,
        prob_line(&c.exhaustion_probability),
        amount(&r.capital, &r.exposure),
        r.leverage,
        prob_line(&r.exhaustion_probability)
    )
}
