//! Charts as inline SVG, written directly.
//!
//! Why not a plotting library: a library that lays out its labels measures
//! their text with a font it loads itself (plotters: its `ttf` backend
//! through fontconfig, or an embedded font with `ab_glyph`), and these
//! reports are Chinese, opened on intranet PCs whose fonts the server cannot
//! know. Here every label is an SVG `<text>` that the reader's browser lays
//! out and renders with the reader's own CJK font (searchable, copyable), the
//! layout needs no measuring (labels sit in fixed margins, anchored at their
//! end), and the output is byte-for-byte deterministic, so its structure can
//! be snapshot-tested. Colours are chosen to stay distinct in greyscale, and
//! series also differ by dash pattern.

use std::fmt::Write;

/// Width and height of every chart, in SVG user units (CSS scales them to
/// the page: A4 at 96 dpi is 794 px wide, less margins).
pub const W: f64 = 680.0;
/// Chart height.
pub const H: f64 = 300.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 46.0;

/// Series styles: fill/stroke colours of decreasing darkness (distinct in
/// greyscale) and dash patterns.
pub const INK: &str = "#1a1a1a";
/// Dark blue.
pub const DARK: &str = "#1f4e79";
/// Medium.
pub const MID: &str = "#5b8fc7";
/// Light.
pub const LIGHT: &str = "#c5d9ee";
/// Accent (red-brown, mid grey in greyscale).
pub const ACCENT: &str = "#b03a2e";

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A linear map from data to the plot area.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    /// Maps [d0, d1] onto [r0, r1] (a degenerate domain is widened).
    pub fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let (d0, d1) = if (d1 - d0).abs() < f64::EPSILON * d0.abs().max(1.0) {
            (d0 - 0.5, d1 + 0.5)
        } else {
            (d0, d1)
        };
        Scale { d0, d1, r0, r1 }
    }
    /// The position of `v`.
    pub fn at(&self, v: f64) -> f64 {
        self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)
    }
}

/// About `n` round tick values (1, 2, 5 × 10ᵏ steps) covering [lo, hi].
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
        || !lo.is_finite()
        || !hi.is_finite()
    {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = first;
    while v <= hi + step * 1e-9 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// Money in yuan as a Chinese reader writes it on an axis: 亿 from 1亿, 万
/// from 1万, yuan below.
pub fn money(yuan: f64) -> String {
    let a = yuan.abs();
    let (v, unit) = if a >= 1e8 {
        (yuan / 1e8, "亿")
    } else if a >= 1e4 {
        (yuan / 1e4, "万")
    } else {
        (yuan, "元")
    };
    format!("{}{unit}", trim(v))
}

fn trim(v: f64) -> String {
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    crate::kernel::percent::trim_zeros(&s)
}

/// A chart being drawn: its SVG body and its scales.
pub struct Chart {
    kind: &'static str,
    title: String,
    body: String,
    /// x scale.
    pub x: Scale,
    /// y scale.
    pub y: Scale,
    legend: Vec<(String, String)>,
}

/// Plot area edges.
pub fn plot_area() -> (f64, f64, f64, f64) {
    (LEFT, W - RIGHT, TOP, H - BOTTOM)
}

impl Chart {
    /// A chart of `kind` (its CSS class) with data ranges x ∈ [x0, x1],
    /// y ∈ [y0, y1].
    pub fn new(
        kind: &'static str,
        title: &str,
        (x0, x1): (f64, f64),
        (y0, y1): (f64, f64),
    ) -> Chart {
        let (l, r, t, b) = plot_area();
        Chart {
            kind,
            title: title.to_string(),
            body: String::new(),
            x: Scale::new(x0, x1, l, r),
            y: Scale::new(y0, y1, b, t),
            legend: Vec::new(),
        }
    }

    /// Axes with tick labels from `xfmt`/`yfmt` at `xt`/`yt`, and axis
    /// titles.
    pub fn axes(
        &mut self,
        xt: &[f64],
        xfmt: &dyn Fn(f64) -> String,
        yt: &[f64],
        yfmt: &dyn Fn(f64) -> String,
        xlabel: &str,
        ylabel: &str,
    ) {
        let (l, r, t, b) = plot_area();
        let mut s = String::from("<g class=\"axes\">");
        for &v in yt {
            let y = self.y.at(v);
            let _ = write!(
                s,
                "<line class=\"grid\" x1=\"{l:.1}\" x2=\"{r:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                l - 6.0,
                y + 4.0,
                esc(&yfmt(v))
            );
        }
        for &v in xt {
            let x = self.x.at(v);
            let _ = write!(
                s,
                "<line class=\"tickmark\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{b:.1}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                b + 5.0,
                b + 18.0,
                esc(&xfmt(v))
            );
        }
        let _ = write!(
            s,
            "<line class=\"axis\" x1=\"{l:.1}\" x2=\"{r:.1}\" y1=\"{b:.1}\" y2=\"{b:.1}\"/><line class=\"axis\" x1=\"{l:.1}\" x2=\"{l:.1}\" y1=\"{t:.1}\" y2=\"{b:.1}\"/>"
        );
        let _ = write!(
            s,
            "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"start\">{}</text></g>",
            (l + r) / 2.0,
            H - 8.0,
            esc(xlabel),
            8.0,
            t - 12.0,
            esc(ylabel)
        );
        self.body.push_str(&s);
    }

    /// A polyline through `pts`.
    pub fn line(
        &mut self,
        class: &str,
        pts: &[(f64, f64)],
        colour: &str,
        dash: Option<&str>,
        label: Option<&str>,
    ) {
        if pts.is_empty() {
            return;
        }
        let d = self.path(pts);
        let _ = write!(
            self.body,
            "<path class=\"series {class}\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{}/>",
            dash.map(|d| format!(" stroke-dasharray=\"{d}\""))
                .unwrap_or_default()
        );
        if let Some(l) = label {
            self.legend.push((colour.to_string(), l.to_string()));
        }
    }

    /// Markers at `pts`.
    pub fn dots(&mut self, class: &str, pts: &[(f64, f64)], colour: &str) {
        for &(x, y) in pts {
            let _ = write!(
                self.body,
                "<circle class=\"series {class}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>",
                self.x.at(x),
                self.y.at(y)
            );
        }
    }

    /// The band between `lo` and `hi` (same x values).
    pub fn band(
        &mut self,
        class: &str,
        lo: &[(f64, f64)],
        hi: &[(f64, f64)],
        colour: &str,
        label: Option<&str>,
    ) {
        if lo.is_empty() || lo.len() != hi.len() {
            return;
        }
        let mut pts: Vec<(f64, f64)> = hi.to_vec();
        pts.extend(lo.iter().rev());
        let d = self.path(&pts);
        let _ = write!(
            self.body,
            "<path class=\"series {class}\" d=\"{d}Z\" fill=\"{colour}\" stroke=\"none\"/>"
        );
        if let Some(l) = label {
            self.legend.push((colour.to_string(), l.to_string()));
        }
    }

    /// Vertical bars from y = 0, each `width` data units wide, left edges at x.
    pub fn bars(&mut self, class: &str, bars: &[(f64, f64)], width: f64, colour: &str) {
        let y0 = self.y.at(0.0);
        for &(x, v) in bars {
            let (a, b) = (self.x.at(x), self.x.at(x + width));
            let y = self.y.at(v);
            let _ = write!(
                self.body,
                "<rect class=\"series {class}\" x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{colour}\"/>",
                a.min(b),
                y.min(y0),
                (b - a).abs().max(0.5),
                (y0 - y).abs()
            );
        }
    }

    /// A vertical marker line at x with a label at its top.
    pub fn vline(
        &mut self,
        class: &str,
        x: f64,
        colour: &str,
        dash: &str,
        label: &str,
        row: usize,
    ) {
        let (l, r, t, b) = plot_area();
        let px = self.x.at(x);
        if !(l - 0.5..=r + 0.5).contains(&px) {
            return;
        }
        // labels to the right of their line, in their own row; near the
        // right edge, to the left
        let anchor = if px > l + 0.78 * (r - l) {
            "end"
        } else {
            "start"
        };
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        let _ = write!(
            self.body,
            "<g class=\"marker {class}\"><line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{t:.1}\" y2=\"{b:.1}\" stroke=\"{colour}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/><text class=\"note\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"{colour}\">{}</text></g>",
            px + dx,
            t + 12.0 + 14.0 * row as f64,
            esc(label)
        );
    }

    /// A horizontal marker line at y with a label at its right end.
    pub fn hline(&mut self, class: &str, y: f64, colour: &str, dash: &str, label: &str) {
        let (l, r, t, b) = plot_area();
        let py = self.y.at(y);
        if !(t - 0.5..=b + 0.5).contains(&py) {
            return;
        }
        let _ = write!(
            self.body,
            "<g class=\"marker {class}\"><line x1=\"{l:.1}\" x2=\"{r:.1}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"{colour}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/><text class=\"note\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{colour}\">{}</text></g>",
            r - 4.0,
            py - 5.0,
            esc(label)
        );
    }

    /// Raw SVG appended to the body (already escaped).
    pub fn raw(&mut self, svg: &str) {
        self.body.push_str(svg);
    }

    fn path(&self, pts: &[(f64, f64)]) -> String {
        let mut d = String::new();
        for (i, &(x, y)) in pts.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { "L" },
                self.x.at(x),
                self.y.at(y)
            );
        }
        d
    }

    /// The finished `<figure>`: the SVG with its title, legend and caption.
    pub fn finish(self, caption: &str) -> String {
        let mut legend = String::new();
        if !self.legend.is_empty() {
            legend.push_str("<ul class=\"legend\">");
            for (c, l) in &self.legend {
                let _ = write!(
                    legend,
                    "<li><span class=\"swatch\" style=\"background:{c}\"></span>{}</li>",
                    esc(l)
                );
            }
            legend.push_str("</ul>");
        }
        format!(
            "<figure class=\"chart {kind}\"><svg class=\"{kind}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>{body}</svg>{legend}<figcaption>{cap}</figcaption></figure>\n",
            kind = self.kind,
            t = esc(&self.title),
            body = self.body,
            cap = esc(caption)
        )
    }
}

/// `s` cut to about `width` CJK characters (a Latin letter counts about
/// half of one), with "…" when cut: labels sit in a fixed margin.
pub fn fit(s: &str, width: f64) -> String {
    let mut w = 0.0;
    let mut out = String::new();
    for c in s.chars() {
        w += if c.is_ascii() { 0.55 } else { 1.0 };
        if w > width {
            out.push('…');
            return out;
        }
        out.push(c);
    }
    out
}

/// Horizontal stacked bars, one row per label: each row's segments in
/// `colours` order, its total written at its end. `legend` names the
/// segments (empty: one unnamed series).
pub fn hbars(
    kind: &'static str,
    title: &str,
    rows: &[(String, Vec<f64>)],
    colours: &[&str],
    legend: &[&str],
    caption: &str,
) -> String {
    let row_h = 18.0;
    let top = 8.0;
    let label_w = 290.0;
    let value_w = 70.0;
    let bar_w = W - label_w - value_w - 16.0;
    let h = top + rows.len() as f64 * row_h + 8.0;
    let max = rows
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1e-12);
    let mut body = String::new();
    for (i, (label, segs)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let _ = write!(
            body,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + row_h * 0.7,
            esc(&fit(label, 22.0))
        );
        let mut x = label_w;
        for (k, &v) in segs.iter().enumerate() {
            let w = v.max(0.0) / max * bar_w;
            if w > 0.0 {
                let _ = write!(
                    body,
                    "<rect class=\"series seg{k}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                    y + 2.0,
                    row_h - 4.0,
                    colours[k % colours.len()]
                );
            }
            x += w;
        }
        let total: f64 = segs.iter().sum();
        let _ = write!(
            body,
            "<text class=\"note\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + 5.0,
            y + row_h * 0.7,
            if total.fract() == 0.0 {
                format!("{total:.0}")
            } else {
                format!("{total:.2}")
            }
        );
    }
    let mut leg = String::new();
    if !legend.is_empty() {
        leg.push_str("<ul class=\"legend\">");
        for (k, l) in legend.iter().enumerate() {
            let _ = write!(
                leg,
                "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                colours[k % colours.len()],
                esc(l)
            );
        }
        leg.push_str("</ul>");
    }
    format!(
        "<figure class=\"chart {kind}\"><svg class=\"{kind}\" viewBox=\"0 0 {W} {h:.0}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>{body}</svg>{leg}<figcaption>{}</figcaption></figure>\n",
        esc(caption),
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 0.003, 3), vec![0.0, 0.001, 0.002, 0.003]);
        let t = ticks(1.3e8, 9.1e8, 4);
        assert_eq!(t, vec![2e8, 4e8, 6e8, 8e8]);
    }

    #[test]
    fn money_and_percent_labels() {
        assert_eq!(money(3e7), "3000万");
        assert_eq!(money(6e8), "6亿");
        assert_eq!(money(1.25e8), "1.25亿");
        assert_eq!(money(5000.0), "5000元");
        assert_eq!(crate::kernel::percent::short(0.0013), "0.13%");
        assert_eq!(crate::kernel::percent::short(0.25), "25%");
        assert_eq!(crate::kernel::percent::short(0.0), "0%");
        assert_eq!(esc("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
