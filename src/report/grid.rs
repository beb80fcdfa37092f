//! Stress-grid and leverage reports.

use std::fmt::Write;

use super::svg::{self, ACCENT, Chart, DARK, LIGHT, esc, money, ticks};
use super::{RunInfo, document, run_info, table};
use crate::kernel::percent;
use crate::riskpool::Spec;
use crate::riskpool::grid::{Cell, GridResult, LeverageResult, Solve, SolverStep};

fn yuan(y: crate::kernel::money::Yuan) -> f64 {
    y.to_fen() as f64 / 100.0
}

/// Sorted distinct values.
fn axis(v: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut a: Vec<f64> = v.collect();
    a.sort_by(f64::total_cmp);
    a.dedup();
    a
}

/// The smallest probability the colour scale tells from 0.
const SCALE_FLOOR: f64 = 1e-6;

/// Grey level of a probability on one absolute scale, the same in every
/// report so that two reports compare by eye: logarithmic from 10⁻⁶ and
/// below (white) to 1 (near black). Greyscale by construction.
fn shade(p: f64) -> (String, bool) {
    let t = if p > SCALE_FLOOR {
        (p.log10() - SCALE_FLOOR.log10()) / -SCALE_FLOOR.log10()
    } else {
        0.0
    }
    .clamp(0.0, 1.0);
    // from #f4f7fb to #0b2545 (a blue-grey ramp, monotone in lightness)
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    let c = format!(
        "#{:02x}{:02x}{:02x}",
        lerp(244.0, 11.0),
        lerp(247.0, 37.0),
        lerp(251.0, 69.0)
    );
    (c, t > 0.55)
}

/// The stress-grid report: a heatmap of exhaustion probability over PD
/// multiplier × ρ, one per compensation share, cells labelled, the safe
/// region (≤ `target`) outlined.
pub fn stress(g: &GridResult, target: Option<f64>, info: &RunInfo) -> String {
    let pds = axis(g.cells.iter().map(|c| c.pd_multiplier));
    let rhos = axis(g.cells.iter().map(Cell::rho_key));
    let shares = axis(g.cells.iter().map(|c| c.compensation_share));
    let max = g
        .cells
        .iter()
        .map(|c| c.exhaustion_probability.estimate)
        .fold(0.0, f64::max);
    let mut b = format!(
        "<h1>压力测试报告</h1>\n<p class=\"sub\">{} 个组合 · 每个 {} 次模拟（共同随机数：各组合的差异来自模型而非抽样）</p>\n",
        g.cells.len(),
        g.scenarios
    );
    if let Some(t) = target {
        let safe = g
            .cells
            .iter()
            .filter(|c| c.exhaustion_probability.ci95_high <= t)
            .count();
        let _ = writeln!(
            b,
            "<div class=\"headline\"><div><span>安全组合（耗尽概率95%区间上限 ≤ {}）</span><b>{safe} / {}</b><span>图中以粗框标出</span></div><div><span>最大耗尽概率</span><b>{}</b><span>全部组合中</span></div></div>",
            percent::short(t),
            g.cells.len(),
            percent::short(max)
        );
    }
    for &share in &shares {
        let _ = writeln!(b, "<h2>代偿比例 {}</h2>", percent::short(share));
        b.push_str(&heatmap(g, &pds, &rhos, share, target));
    }
    b.push_str(&legend());
    b.push_str("<h2>全部组合</h2>\n");
    let lgd = g.cells.iter().any(|c| c.lgd_shift != 0.0);
    let rows: Vec<Vec<String>> = g
        .cells
        .iter()
        .map(|c| {
            let p = &c.exhaustion_probability;
            let mut row = vec![
                format!("{}", c.pd_multiplier),
                Cell::rho_label(c.rho_key()),
                percent::short(c.compensation_share),
                percent::short(p.estimate),
                percent::short(p.std_error),
                percent::range(p.ci95_low, p.ci95_high),
            ];
            if lgd {
                row.insert(3, format!("{:+}", c.lgd_shift));
            }
            row
        })
        .collect();
    let mut head = vec!["PD 倍数", "ρ", "代偿比例", "耗尽概率", "标准误", "95% 区间"];
    if lgd {
        head.insert(3, "LGD 调整");
    }
    b.push_str(&table(&head, &rows));
    b.push_str(&run_info(
        info,
        &[("每组合模拟次数", g.scenarios.to_string())],
    ));
    document("压力测试报告", &b)
}

/// Where a heatmap's cells go: PD multipliers across, ρ upwards, at one
/// compensation share.
struct Layout<'g> {
    g: &'g GridResult,
    pds: &'g [f64],
    rhos: &'g [f64],
    share: f64,
    /// Left and bottom edges of the plot, a cell's width and height.
    l: f64,
    b: f64,
    cw: f64,
    ch: f64,
}

impl Layout<'_> {
    /// The cell at column `i` (PD) and row `j` (ρ).
    fn cell(&self, i: usize, j: usize) -> Option<&Cell> {
        self.g.cells.iter().find(|c| {
            c.pd_multiplier == self.pds[i]
                && c.rho_key() == self.rhos[j]
                && c.compensation_share == self.share
        })
    }

    /// Each cell shaded by its exhaustion probability, the figure inside.
    fn cells(&self, target: Option<f64>, body: &mut String) {
        let (l, b, cw, ch) = (self.l, self.b, self.cw, self.ch);
        for i in 0..self.pds.len() {
            for j in 0..self.rhos.len() {
                let Some(c) = self.cell(i, j) else {
                    continue;
                };
                let p = c.exhaustion_probability.estimate;
                let (fill, dark) = shade(p);
                let x = l + i as f64 * cw;
                // ρ grows upwards
                let y = b - (j + 1) as f64 * ch;
                // safe only when the whole 95% interval is within the target
                let safe = target.is_some_and(|tg| c.exhaustion_probability.ci95_high <= tg);
                let _ = write!(
                    body,
                    "<rect class=\"series cell{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cw:.1}\" height=\"{ch:.1}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"1\"/><text class=\"note\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" style=\"fill:{}\">{}</text>",
                    if safe { " safe" } else { "" },
                    x + cw / 2.0,
                    y + ch / 2.0 + 4.0,
                    if dark { "#ffffff" } else { "#1a1a1a" },
                    percent::short(p)
                );
            }
        }
    }

    /// The safe region: each safe cell's edges that border an unsafe cell
    /// (or the grid's edge), drawn thick.
    fn safe_edges(&self, tg: f64, body: &mut String) {
        let (l, b, cw, ch) = (self.l, self.b, self.cw, self.ch);
        let safe_at = |i: isize, j: isize| -> bool {
            if i < 0 || j < 0 || i as usize >= self.pds.len() || j as usize >= self.rhos.len() {
                return false;
            }
            self.cell(i as usize, j as usize)
                .is_some_and(|c| c.exhaustion_probability.ci95_high <= tg)
        };
        for i in 0..self.pds.len() as isize {
            for j in 0..self.rhos.len() as isize {
                if !safe_at(i, j) {
                    continue;
                }
                let x0 = l + i as f64 * cw;
                let x1 = x0 + cw;
                let y1 = b - j as f64 * ch;
                let y0 = y1 - ch;
                for (ni, nj, (ax, ay, bx, by)) in [
                    (i - 1, j, (x0, y0, x0, y1)),
                    (i + 1, j, (x1, y0, x1, y1)),
                    (i, j - 1, (x0, y1, x1, y1)),
                    (i, j + 1, (x0, y0, x1, y0)),
                ] {
                    if !safe_at(ni, nj) {
                        let _ = write!(
                            body,
                            "<line class=\"safe-edge\" x1=\"{ax:.1}\" y1=\"{ay:.1}\" x2=\"{bx:.1}\" y2=\"{by:.1}\" stroke=\"{ACCENT}\" stroke-width=\"3.5\" stroke-linecap=\"square\"/>"
                        );
                    }
                }
            }
        }
    }

    /// The category labels of both axes.
    fn tick_labels(&self, body: &mut String) {
        for (i, &m) in self.pds.iter().enumerate() {
            let _ = write!(
                body,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">×{m}</text>",
                self.l + (i as f64 + 0.5) * self.cw,
                self.b + 18.0
            );
        }
        for (j, &rho) in self.rhos.iter().enumerate() {
            let _ = write!(
                body,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                Cell::rho_label(rho),
                self.l - 6.0,
                self.b - (j as f64 + 0.5) * self.ch + 4.0
            );
        }
    }
}

fn heatmap(g: &GridResult, pds: &[f64], rhos: &[f64], share: f64, target: Option<f64>) -> String {
    let (l, r, t, b) = svg::plot_area();
    let layout = Layout {
        g,
        pds,
        rhos,
        share,
        l,
        b,
        cw: (r - l) / pds.len().max(1) as f64,
        ch: (b - t) / rhos.len().max(1) as f64,
    };
    let mut body = String::new();
    layout.cells(target, &mut body);
    if let Some(tg) = target {
        layout.safe_edges(tg, &mut body);
    }
    layout.tick_labels(&mut body);
    let _ = write!(
        body,
        "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">PD 倍数</text><text class=\"label\" x=\"8\" y=\"{:.1}\">ρ（资产相关性）</text>",
        (l + r) / 2.0,
        svg::H - 8.0,
        t - 12.0
    );
    let title = format!(
        "耗尽概率：PD 倍数 × ρ（代偿比例 {}）",
        percent::short(share)
    );
    let caption = match target {
        Some(tg) => format!(
            "格中为资金池耗尽概率；粗框围出 95% 区间上限也不超过 {} 的安全组合（估计值低于目标而区间越过目标的不算安全）。",
            percent::short(tg)
        ),
        None => "格中为资金池耗尽概率（给出目标概率即可标出安全区域）。".to_string(),
    };
    format!(
        "<figure class=\"chart heatmap\"><svg class=\"heatmap\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>{body}</svg><figcaption>{}</figcaption></figure>\n",
        svg::W,
        svg::H,
        esc(&caption),
        t = esc(&title)
    )
}

fn legend() -> String {
    let steps = 6;
    let mut body = String::new();
    let w = 90.0;
    for k in 0..=steps {
        // 10⁻⁶, 10⁻⁵, …, 100%
        let p = SCALE_FLOOR * 10f64.powi(k);
        let (fill, _) = shade(p);
        let x = 20.0 + k as f64 * w;
        let _ = write!(
            body,
            "<rect class=\"series scale\" x=\"{x:.1}\" y=\"8\" width=\"{w:.1}\" height=\"16\" fill=\"{fill}\" stroke=\"#999\" stroke-width=\"0.5\"/><text class=\"tick\" x=\"{x:.1}\" y=\"40\">{}</text>",
            percent::short(p)
        );
    }
    format!(
        "<figure class=\"chart scale\"><svg class=\"scale\" viewBox=\"0 0 {} 48\" role=\"img\" aria-label=\"颜色刻度\"><title>颜色刻度</title>{body}</svg><figcaption>颜色刻度：颜色越深，耗尽概率越高（对数刻度，10⁻⁶ 及以下为白；每份报告同一刻度，可互相比较；灰度打印亦可分辨）。</figcaption></figure>\n",
        svg::W
    )
}

/// The leverage report: exhaustion probability against the credit scale
/// (or the capital) over the solver's steps, the target line and the
/// solved point.
pub fn leverage(r: &LeverageResult, spec: &Spec, info: &RunInfo) -> String {
    let (what, x_of): (&str, fn(&SolverStep) -> f64) = match r.solve {
        Solve::Scale => ("授信规模", |s| yuan(s.exposure)),
        Solve::Capital => ("资金池资本", |s| yuan(s.capital)),
    };
    let mut b = leverage_headline(r, spec);
    b.push_str("<h2>耗尽概率与规模</h2>\n");
    b.push_str(&leverage_chart(r, what, x_of));
    b.push_str(&steps_table(r));
    b.push_str(&run_info(
        info,
        &[
            ("种子", spec.seed.to_string()),
            ("每步模拟次数", spec.scenarios.to_string()),
        ],
    ));
    document("放大倍数测算报告", &b)
}

/// The title, the target and the solved point's figures.
fn leverage_headline(r: &LeverageResult, spec: &Spec) -> String {
    let mut b = format!(
        "<h1>放大倍数测算报告</h1>\n<p class=\"sub\">目标：资金池耗尽概率 ≤ {} · 求解{} · {} 次模拟 × {} 步</p>\n",
        percent::short(r.target),
        if r.solve == Solve::Scale {
            "最大授信规模"
        } else {
            "最小资本"
        },
        spec.scenarios,
        r.steps
    );
    // the conservative solution is the headline: its whole 95% interval is
    // within the target; the point solution follows, with its caveat
    let c = &r.conservative;
    let p = &c.exhaustion_probability;
    let _ = writeln!(
        b,
        "<div class=\"headline\"><div><span>资本</span><b>{}</b><span>{}</span></div><div><span>授信规模（稳健口径）</span><b>{}</b><span>放大 {:.1} 倍</span></div><div><span>该点耗尽概率</span><b>{}</b><span>95%区间 {}</span></div></div>",
        money(yuan(c.capital)),
        if r.solve == Solve::Capital {
            "求解所得（稳健口径）"
        } else {
            "给定"
        },
        money(yuan(c.exposure)),
        c.leverage,
        percent::short(p.estimate),
        percent::range(p.ci95_low, p.ci95_high)
    );
    let q = &r.exhaustion_probability;
    let _ = writeln!(
        b,
        "<p>稳健口径：耗尽概率的 95% 区间上限也不超过目标。按点估计（估计值恰不超过目标，真值约有一半可能高于目标）：资本 {}，授信规模 {}（放大 {:.1} 倍），耗尽概率 {}（95%区间 {}）。</p>",
        money(yuan(r.capital)),
        money(yuan(r.exposure)),
        r.leverage,
        percent::short(q.estimate),
        percent::range(q.ci95_low, q.ci95_high)
    );
    b
}

/// The exhaustion probability over the solver's steps near the solution,
/// with the target and the solved point.
fn leverage_chart(r: &LeverageResult, what: &str, x_of: fn(&SolverStep) -> f64) -> String {
    let p = &r.exhaustion_probability;
    let mut pts: Vec<(f64, f64, f64, f64)> = r
        .path
        .iter()
        .map(|s| {
            let q = &s.exhaustion_probability;
            (x_of(s), q.estimate, q.ci95_low, q.ci95_high)
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let solved_x = match r.solve {
        Solve::Scale => yuan(r.exposure),
        Solve::Capital => yuan(r.capital),
    };
    // the solver's bracket can span orders of magnitude; the chart shows the
    // steps around the solution (within a factor of 4)
    let near: Vec<_> = pts
        .iter()
        .copied()
        .filter(|p| p.0 >= solved_x / 4.0 && p.0 <= solved_x * 4.0)
        .collect();
    let xs = if near.len() >= 2 { &near } else { &pts };
    let x0 = xs
        .iter()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .min(solved_x);
    let x1 = xs.iter().map(|p| p.0).fold(0.0, f64::max).max(solved_x);
    let ymax = xs.iter().map(|p| p.3).fold(r.target, f64::max) * 1.15;
    let mut c = Chart::new(
        "leverage",
        &format!("耗尽概率与{what}"),
        (x0, x1),
        (0.0, ymax.max(1e-6)),
    );
    let xt = ticks(x0, x1, 5);
    let yt = ticks(0.0, ymax, 5);
    c.axes(
        &xt,
        &|v| money(v),
        &yt,
        &|v| percent::short(v),
        what,
        "耗尽概率",
    );
    let lo: Vec<(f64, f64)> = xs.iter().map(|p| (p.0, p.2)).collect();
    let hi: Vec<(f64, f64)> = xs.iter().map(|p| (p.0, p.3)).collect();
    let est: Vec<(f64, f64)> = xs.iter().map(|p| (p.0, p.1)).collect();
    c.band("ci", &lo, &hi, LIGHT, Some("95% 区间"));
    c.line("estimate", &est, DARK, None, Some("求解各步的估计值"));
    c.dots("steps", &est, DARK);
    c.hline(
        "target",
        r.target,
        ACCENT,
        "6 4",
        &format!("目标 {}", percent::short(r.target)),
    );
    c.vline(
        "solution",
        solved_x,
        ACCENT,
        "2 3",
        &format!("解 {}", money(solved_x)),
        0,
    );
    c.raw(&format!(
        "<circle class=\"solution\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"6\" fill=\"none\" stroke=\"{ACCENT}\" stroke-width=\"2.5\"/>",
        c.x.at(solved_x),
        c.y.at(p.estimate)
    ));
    c.finish("求解器模拟过的各点（共同随机数，估计值随规模单调）及其 95% 区间；虚线为目标概率，圈出的点为解。")
}

/// The solver's steps, one row each.
fn steps_table(r: &LeverageResult) -> String {
    let rows: Vec<Vec<String>> = r
        .path
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let q = &s.exhaustion_probability;
            vec![
                (i + 1).to_string(),
                money(yuan(s.capital)),
                money(yuan(s.exposure)),
                percent::short(q.estimate),
                percent::range(q.ci95_low, q.ci95_high),
            ]
        })
        .collect();
    let mut b = String::from("<h2>求解步骤</h2>\n");
    b.push_str(&table(
        &["步", "资本", "授信规模", "耗尽概率", "95% 区间"],
        &rows,
    ));
    b
}
