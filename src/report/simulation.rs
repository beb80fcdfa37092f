//! The simulation report: headline, pool balance fan, exhaustion by period,
//! loss distribution with capital, VaR and ES marked, breaker trips,
//! sectors' shares of the ES, the money table, and how to re-run it.

use std::fmt::Write;

use super::svg::{self, ACCENT, Chart, DARK, INK, LIGHT, MID, esc, money, ticks};
use super::{RunInfo, document, run_info, table};
use crate::kernel::percent;
use crate::riskpool::Spec;
use crate::riskpool::analytic::{AnalyticSummary, Certificate};
use crate::riskpool::spec::TopUpSpec;
use crate::riskpool::stats::{Histogram, MoneyStats, Summary};

fn yuan(y: crate::kernel::money::Yuan) -> f64 {
    y.to_fen() as f64 / 100.0
}

fn quantile(points: &[crate::riskpool::stats::Quantile], level: f64) -> Option<f64> {
    points
        .iter()
        .find(|q| (q.level - level).abs() < 1e-9)
        .map(|q| yuan(q.value))
}

/// The report of a simulation run.
pub fn simulation(s: &Summary, spec: &Spec, info: &RunInfo) -> String {
    simulation_with(Some(s), None, None, spec, info)
}

/// The report of a run by Monte Carlo, the analytic engine, or both (with
/// their certificate).
pub fn simulation_with(
    s: Option<&Summary>,
    a: Option<&AnalyticSummary>,
    cert: Option<&Certificate>,
    spec: &Spec,
    info: &RunInfo,
) -> String {
    match (s, a) {
        (Some(s), _) => monte_carlo(s, a, cert, spec, info),
        (None, Some(a)) => analytic_only(a, spec, info),
        (None, None) => document("风险补偿资金池模拟报告", "<p>没有结果。</p>"),
    }
}

fn analytic_only(a: &AnalyticSummary, spec: &Spec, info: &RunInfo) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>风险补偿资金池解析报告</h1>\n<p class=\"sub\">预期违约 {:.1} 笔 · 资金池 {} · 情景 {} · 单期（解析法，不抽样）</p>\n",
        a.mean_defaults,
        esc(&spec.pool.capital.human()),
        esc(&spec.scenario.preset),
    );
    b.push_str(&super::analytic::headline(a));
    b.push_str(&super::analytic::section(a, None));
    b.push_str(&run_info(
        info,
        &[
            ("方法", a.method.clone()),
            ("尾部水平", percent::short(a.tail_level)),
            ("积分容差", format!("{:e}", a.quadrature.tolerance)),
        ],
    ));
    document("风险补偿资金池解析报告", &b)
}

fn monte_carlo(
    s: &Summary,
    a: Option<&AnalyticSummary>,
    cert: Option<&Certificate>,
    spec: &Spec,
    info: &RunInfo,
) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>风险补偿资金池模拟报告</h1>\n<p class=\"sub\">{} 笔贷款 · 授信规模 {} · 资金池 {}（放大 {:.1} 倍）· 情景 {} · {} 次模拟 · {} 期</p>\n",
        s.loans,
        esc(&s.exposure.human()),
        esc(&s.capital.human()),
        s.leverage,
        esc(&s.preset),
        s.scenarios,
        s.periods
    );
    b.push_str(&headline(s));
    if s.periods > 1 && !s.balance_fan.is_empty() {
        b.push_str("<h2>资金池余额</h2>\n");
        b.push_str(&fan(s, spec));
        if s.top_up_by_period.iter().any(|&p| p > 0.0) {
            b.push_str(&top_ups(&s.top_up_by_period));
        }
        b.push_str("<h2>累计耗尽概率</h2>\n");
        b.push_str(&exhaustion_by_period(s));
    }
    b.push_str("<h2>损失与代偿分布</h2>\n");
    b.push_str(&histograms(s, spec));
    if let Some(br) = &s.breaker {
        b.push_str("<h2>熔断</h2>\n");
        let _ = writeln!(
            b,
            "<p>期内触发熔断的概率：{}（95%区间 {}）。</p>",
            percent::short(br.trip_probability.estimate),
            percent::range(br.trip_probability.ci95_low, br.trip_probability.ci95_high)
        );
        if s.periods > 1 {
            b.push_str(&breaker(&br.by_period));
        }
    }
    if !s.risk_contributions.is_empty() {
        b.push_str("<h2>各行业对预期损失（ES）的贡献</h2>\n");
        b.push_str(&contributions(s));
    }
    b.push_str("<h2>金额分布</h2>\n");
    b.push_str(&money_table(s));
    if let Some(a) = a {
        b.push_str(&super::analytic::section(a, cert));
    }
    b.push_str(&run_info(
        info,
        &[
            ("种子", s.seed.to_string()),
            ("模拟次数", s.scenarios.to_string()),
            ("期数", s.periods.to_string()),
            ("尾部水平", percent::short(s.tail_level)),
            ("统计口径", s.conventions.clone()),
        ],
    ));
    document("风险补偿资金池模拟报告", &b)
}

fn headline(s: &Summary) -> String {
    let p = &s.exhaustion_probability;
    let mut h = format!(
        "<div class=\"headline\"><div><span>资金池耗尽概率</span><b>{}</b><span>95%区间 {}</span></div><div><span>放大倍数</span><b>{:.1} 倍</b><span>授信 {} ÷ 资金池 {}</span></div>",
        percent::short(p.estimate),
        percent::range(p.ci95_low, p.ci95_high),
        s.leverage,
        esc(&s.exposure.human()),
        esc(&s.capital.human())
    );
    if let Some(v) = &s.vasicek {
        let _ = write!(
            h,
            "<div><span>Vasicek 大数极限</span><b>{}</b><span>违约率超过 {} 即耗尽（PD {}，ρ {}）</span></div>",
            percent::short(v.exhaustion_probability),
            percent::short(v.default_rate_threshold),
            percent::short(v.pd),
            v.rho
        );
    }
    let _ = writeln!(
        h,
        "<div><span>信贷损失 ES（{}）</span><b>{}</b><span>VaR {}</span></div></div>",
        percent::short(s.tail_level),
        money(yuan(s.loss.es)),
        money(yuan(s.loss.var))
    );
    h
}

/// The balance fan; with a top-up rule, its trigger and refill levels are
/// drawn, since the rule moves every path that crosses them.
fn fan(s: &Summary, spec: &Spec) -> String {
    let capital = yuan(s.capital);
    // period 0: every scenario starts at the capital
    let band =
        |level: f64| -> Vec<(f64, f64)> {
            std::iter::once((0.0, capital))
                .chain(s.balance_fan.iter().filter_map(|f| {
                    quantile(&f.quantiles, level).map(|v| (f64::from(f.period), v))
                }))
                .collect()
        };
    let (p5, p25, p50, p75, p95) = (band(0.05), band(0.25), band(0.5), band(0.75), band(0.95));
    let top_up = spec.pool.top_up.as_ref();
    let refill = top_up.map_or(0.0, |t| yuan(t.refill_to));
    let ymax = p95
        .iter()
        .map(|p| p.1)
        .fold(capital.max(refill), f64::max)
        .max(1.0)
        * 1.05;
    let ymin = p5.iter().map(|p| p.1).fold(0.0, f64::min);
    let periods = f64::from(s.periods);
    let mut c = Chart::new("fan", "资金池余额（期末）", (0.0, periods), (ymin, ymax));
    let xt = ticks(0.0, periods, 8.min(s.periods as usize).max(1));
    let yt = ticks(ymin, ymax, 5);
    c.axes(
        &xt,
        &|v| format!("{v:.0}"),
        &yt,
        &|v| money(v),
        "期",
        "余额",
    );
    c.band("p5-p95", &p5, &p95, LIGHT, Some("P5–P95"));
    c.band("p25-p75", &p25, &p75, MID, Some("P25–P75"));
    c.line("median", &p50, DARK, None, Some("中位数"));
    c.hline(
        "capital",
        capital,
        ACCENT,
        "6 4",
        &format!("初始资金 {}", money(capital)),
    );
    let mut caption = String::from(
        "每期期末资金池余额的分布：浅色带为 5%–95% 分位，深色带为 25%–75%，实线为中位数（分位数取资本 2% 宽的分箱上沿）；虚线为初始资金。",
    );
    if let Some(t) = top_up {
        top_up_marks(&mut c, &mut caption, s, t, capital);
    }
    c.finish(&caption)
}

/// A top-up rule on the fan: ▲ on the axis under each period whose end saw
/// a top-up in any scenario (its probability is charted below the fan), and
/// the trigger and refill levels.
fn top_up_marks(c: &mut Chart, caption: &mut String, s: &Summary, t: &TopUpSpec, capital: f64) {
    let refill = yuan(t.refill_to);
    let below = yuan(t.below);
    let (_, _, _, bottom) = svg::plot_area();
    for (i, &p) in s.top_up_by_period.iter().enumerate() {
        if p > 0.0 {
            let x = c.x.at((i + 1) as f64);
            c.raw(&format!(
                "<path class=\"series top-up\" d=\"M{:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}Z\" fill=\"{ACCENT}\"/>",
                x - 5.0,
                bottom - 1.0,
                x + 5.0,
                bottom - 1.0,
                x,
                bottom - 10.0
            ));
        }
    }
    c.hline(
        "top-up-trigger",
        below,
        INK,
        "2 3",
        &format!("补充触发 {}", money(below)),
    );
    if (refill - capital).abs() > 0.5 {
        c.hline(
            "top-up-refill",
            refill,
            INK,
            "8 3",
            &format!("补足至 {}", money(refill)),
        );
    }
    caption.push_str(&format!(
        "点线为补充规则：期末余额低于 {} 时补足至 {}，每年至多 {}；▲ 标出有情景获得补充的期。",
        money(below),
        money(refill),
        money(yuan(t.max_per_year))
    ));
}

fn exhaustion_by_period(s: &Summary) -> String {
    let series = |f: fn(&crate::riskpool::stats::Probability) -> f64| -> Vec<(f64, f64)> {
        s.exhaustion_by_period
            .iter()
            .enumerate()
            .map(|(t, p)| ((t + 1) as f64, f(p)))
            .collect()
    };
    let (pts, lo, hi) = (
        series(|p| p.estimate),
        series(|p| p.ci95_low),
        series(|p| p.ci95_high),
    );
    let ymax = hi.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-6) * 1.1;
    let periods = f64::from(s.periods);
    let mut c = Chart::new("exhaustion", "累计耗尽概率", (1.0, periods), (0.0, ymax));
    let xt = ticks(1.0, periods, 8.min(s.periods as usize).max(1));
    let yt = ticks(0.0, ymax, 5);
    c.axes(
        &xt,
        &|v| format!("{v:.0}"),
        &yt,
        &|v| percent::short(v),
        "期",
        "概率",
    );
    c.band("ci", &lo, &hi, LIGHT, Some("95% 区间"));
    c.line("estimate", &pts, DARK, None, Some("估计值"));
    c.dots("estimate-points", &pts, DARK);
    c.finish("到第 t 期末为止资金池已耗尽的概率，及其 95% 置信区间。")
}

/// A marker on a distribution chart: where, what it is called, and the
/// sentence that explains it.
struct Marker {
    at: f64,
    label: String,
    note: String,
}

/// The loss distribution, with the loss at which the pool's claims reach
/// its capital marked where each claim is the share of its net loss (no
/// cap, no lag); then the compensation distribution with the capital.
fn histograms(s: &Summary, spec: &Spec) -> String {
    let capital = yuan(s.capital);
    let share = spec.pool.compensation_share;
    let exhausting = (spec.pool.per_loan_cap.is_none()
        && spec.pool.recovery_lag == 0
        && share > 0.0)
        .then(|| Marker {
            at: capital / share,
            label: format!("耗尽线 {}", money(capital / share)),
            note: format!(
                "耗尽线：损失达到资金池 ÷ 代偿比例（{} ÷ {share}）时，代偿用尽资金池。",
                money(capital)
            ),
        });
    let mut out = distribution(
        ("histogram", "信贷损失分布", "信贷损失"),
        s,
        &s.loss_histogram,
        &s.loss,
        exhausting,
    );
    let capital_line = Marker {
        at: capital,
        label: format!("资本 {}", money(capital)),
        note: if s.periods > 1 {
            "资本线：期内累计代偿与初始资本相比（补充资金与追回款另计）。".into()
        } else {
            "资本线：代偿不低于资本即耗尽资金池。".into()
        },
    };
    out.push_str(&distribution(
        ("compensation", "资金池代偿分布", "资金池代偿"),
        s,
        &s.compensation_histogram,
        &s.compensation,
        Some(capital_line),
    ));
    out
}

fn distribution(
    (kind, title, xlabel): (&'static str, &str, &str),
    s: &Summary,
    h: &Histogram,
    m: &MoneyStats,
    marker: Option<Marker>,
) -> String {
    let width = yuan(h.bin_width);
    let probs: Vec<f64> = match &h.weighted {
        Some(w) => w.probabilities.clone(),
        None => {
            let n = s.scenarios.max(1) as f64;
            h.counts.iter().map(|&c| c as f64 / n).collect()
        }
    };
    // drawn up to where 99.99% of the probability is (a far, thin tail
    // would squash the body); what lies beyond is stated
    let total: f64 = probs.iter().sum();
    let mut acc = 0.0;
    let last = probs
        .iter()
        .position(|&p| {
            acc += p;
            acc >= total * (1.0 - 1e-4)
        })
        .map_or(probs.len(), |i| i + 1)
        .max(1);
    let (es, var) = (yuan(m.es), yuan(m.var));
    let mut xmax = (last as f64 * width).max(es * 1.08).max(width);
    if let Some(mk) = &marker {
        xmax = xmax.max(mk.at * 1.05);
    }
    let bins: Vec<(f64, f64)> = probs
        .iter()
        .enumerate()
        .take(last)
        .map(|(i, &p)| (i as f64 * width, p))
        .collect();
    let ymax = probs.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.1;
    let mut c = Chart::new(kind, title, (0.0, xmax), (0.0, ymax));
    let xt = ticks(0.0, xmax, 6);
    let yt = ticks(0.0, ymax, 5);
    c.axes(
        &xt,
        &|v| money(v),
        &yt,
        &|v| percent::short(v),
        xlabel,
        "概率",
    );
    c.bars("bins", &bins, width, MID);
    c.vline("var", var, DARK, "5 3", &format!("VaR {}", money(var)), 0);
    c.vline("es", es, INK, "2 2", &format!("ES {}", money(es)), 1);
    let overflow = match &h.weighted {
        Some(w) => w.overflow,
        None => h.overflow as f64 / s.scenarios.max(1) as f64,
    } + probs.iter().skip(last).sum::<f64>();
    let mut cap = format!(
        "每个柱宽 {}（授信规模的 {}）；VaR 与 ES 为 {} 水平。",
        money(width),
        percent::short(h.bin_width_rate),
        percent::short(s.tail_level)
    );
    if let Some(mk) = marker {
        c.vline("capital", mk.at, ACCENT, "8 4", &mk.label, 2);
        cap.push_str(&mk.note);
    }
    if overflow > 0.0 {
        cap.push_str(&format!(
            "超过 {} 的概率 {}（图外）。",
            money(last as f64 * width),
            percent::short(overflow)
        ));
    }
    c.finish(&cap)
}

fn top_ups(by_period: &[f64]) -> String {
    let bars: Vec<(f64, f64)> = by_period
        .iter()
        .enumerate()
        .map(|(t, &p)| (t as f64 + 0.6, p))
        .collect();
    let n = by_period.len() as f64;
    let ymax = by_period.iter().copied().fold(0.0, f64::max).max(1e-6) * 1.1;
    let mut c = Chart::new(
        "top-ups",
        "各期末获得补充资金的概率",
        (0.5, n + 0.5),
        (0.0, ymax),
    );
    let xt = ticks(1.0, n, 8.min(by_period.len()).max(1));
    let yt = ticks(0.0, ymax, 5);
    c.axes(
        &xt,
        &|v| format!("{v:.0}"),
        &yt,
        &|v| percent::short(v),
        "期",
        "概率",
    );
    c.bars("top-ups", &bars, 0.8, ACCENT);
    c.finish("第 t 期末余额低于触发线、按补充规则获得资金的情景占比。")
}

fn breaker(by_period: &[f64]) -> String {
    let bars: Vec<(f64, f64)> = by_period
        .iter()
        .enumerate()
        .map(|(t, &p)| (t as f64 + 0.6, p))
        .collect();
    let n = by_period.len() as f64;
    let ymax = by_period.iter().copied().fold(0.0, f64::max).max(1e-6) * 1.1;
    let mut c = Chart::new("breaker", "各期触发熔断的概率", (0.5, n + 0.5), (0.0, ymax));
    let xt = ticks(1.0, n, 8.min(by_period.len()).max(1));
    let yt = ticks(0.0, ymax, 5);
    c.axes(
        &xt,
        &|v| format!("{v:.0}"),
        &yt,
        &|v| percent::short(v),
        "期",
        "概率",
    );
    c.bars("trips", &bars, 0.8, DARK);
    c.finish("熔断在第 t 期触发的概率（每个情景至多触发一次）。")
}

fn contributions(s: &Summary) -> String {
    let rows = s.risk_contributions.len();
    let (l, r, t, _) = svg::plot_area();
    let row_h = 26.0;
    let label_w = 120.0;
    let bar0 = l + label_w - 70.0;
    let bar_w = r - bar0 - 150.0;
    let h = t + rows as f64 * row_h + 12.0;
    let max = s
        .risk_contributions
        .iter()
        .map(|c| c.share)
        .fold(0.0, f64::max)
        .max(1e-12);
    let mut body = String::new();
    for (i, c) in s.risk_contributions.iter().enumerate() {
        let y = t + i as f64 * row_h;
        let w = (c.share.max(0.0) / max) * bar_w;
        let _ = write!(
            body,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><rect class=\"series share\" x=\"{bar0:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"/><text class=\"note\" x=\"{:.1}\" y=\"{:.1}\">{} · {}</text>",
            bar0 - 8.0,
            y + row_h * 0.62,
            esc(&c.sector),
            y + 4.0,
            row_h - 8.0,
            if i % 2 == 0 { DARK } else { MID },
            bar0 + w + 6.0,
            y + row_h * 0.62,
            percent::short(c.share),
            money(yuan(c.es_contribution))
        );
    }
    format!(
        "<figure class=\"chart contributions\"><svg class=\"contributions\" viewBox=\"0 0 {} {h:.0}\" role=\"img\" aria-label=\"各行业对 ES 的贡献\"><title>各行业对 ES 的贡献</title>{body}</svg><figcaption>尾部情景（损失不低于 VaR）中各行业的平均损失及其占比。</figcaption></figure>\n",
        svg::W
    )
}

fn money_table(s: &Summary) -> String {
    let row = |name: &str, m: &MoneyStats| -> Vec<String> {
        let mut r = vec![name.to_string(), money(yuan(m.mean))];
        for level in [0.5, 0.9, 0.95, 0.99, 0.999] {
            r.push(quantile(&m.quantiles, level).map_or("—".into(), money));
        }
        r.push(money(yuan(m.var)));
        r.push(money(yuan(m.es)));
        r
    };
    table(
        &["", "均值", "P50", "P90", "P95", "P99", "P99.9", "VaR", "ES"],
        &[
            row("信贷损失", &s.loss),
            row("资金池代偿", &s.compensation),
            row("未获代偿", &s.unfunded_claims),
            row("银行承担", &s.bank_loss),
        ],
    )
}
