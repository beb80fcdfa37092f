//! Reports: one self-contained HTML file per run — inline SVG charts and CSS,
//! nothing fetched from anywhere (it opens on an intranet PC with no
//! internet), printable on A4, in Chinese, amounts in 万/亿.
//!
//! Rendering only: a report is built from a run's result and what is needed
//! to re-run it, and returned as a string; the CLI writes it to a file and
//! the gRPC services return it in their final message.

pub mod analytic;
pub mod funnel;
pub mod grid;
pub mod leads;
pub mod pool;
pub mod pool_projection;
pub mod registry;
#[cfg(test)]
pub(crate) mod scan;
pub mod simulation;
pub mod svg;
pub mod text;

use std::fmt::Write;

use svg::esc;

/// What identifies a run, so that anyone can re-run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The spec as given (TOML or JSON).
    pub spec_text: String,
    /// SHA-256 of the spec, the loan book and the smefin version
    /// ([`crate::riskpool::inputs_digest`]).
    pub digest: String,
    /// The smefin version.
    pub version: String,
    /// How it was asked for (a command line, or the gRPC method).
    pub how: String,
}

impl RunInfo {
    /// The run of `spec` (with the text of the loan CSV it names, if any),
    /// asked for as `how`.
    pub fn of(spec: &crate::riskpool::Spec, book_csv: Option<&str>, how: String) -> RunInfo {
        RunInfo {
            spec_text: toml::to_string_pretty(spec)
                .unwrap_or_else(|e| format!("(the spec could not be written as TOML: {e})")),
            digest: crate::riskpool::inputs_digest(spec, book_csv),
            version: crate::riskpool::VERSION.to_string(),
            how,
        }
    }
}

const CSS: &str = r#"
@page { size: A4; margin: 14mm 14mm 16mm 14mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0 auto; max-width: 190mm; padding: 8mm 0; color: #1a1a1a;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Micro Hei", sans-serif;
  font-size: 10.5pt; line-height: 1.5; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 7mm 0 2mm; border-bottom: 1px solid #999; padding-bottom: 1mm; }
p.sub { color: #444; margin: 0 0 4mm; }
.headline { display: flex; flex-wrap: wrap; gap: 3mm; margin: 3mm 0; }
.headline div { border: 1px solid #999; padding: 2mm 3mm; min-width: 40mm; flex: 1; break-inside: avoid; }
.headline b { display: block; font-size: 15pt; }
.headline span { color: #444; font-size: 9pt; }
figure { margin: 3mm 0; break-inside: avoid; page-break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 9pt; color: #444; }
svg text { font-family: inherit; fill: #1a1a1a; }
svg .tick { font-size: 11px; }
svg .label { font-size: 12px; }
svg .note { font-size: 11px; }
svg .grid { stroke: #d9d9d9; stroke-width: 1; }
svg .axis, svg .tickmark { stroke: #1a1a1a; stroke-width: 1; }
ul.legend { list-style: none; padding: 0; margin: 1mm 0; display: flex; flex-wrap: wrap; gap: 2mm 5mm; font-size: 9pt; }
ul.legend .swatch { display: inline-block; width: 9mm; height: 3mm; margin-right: 1.5mm; vertical-align: middle; border: 1px solid #666; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 2mm 0; break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eee; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 8pt; border: 1px solid #ccc; padding: 2mm; background: #fafafa; }
.none { color: #666; font-style: italic; }
table.kv td, table.left td, table.left th { text-align: left; }
table.kv td:first-child { width: 32mm; white-space: nowrap; }
"#;

/// A whole HTML document around `body`.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

/// A table: header cells, then rows (already text; escaped here).
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n");
    s
}

/// The "re-run it" section.
pub fn run_info(info: &RunInfo, facts: &[(&str, String)]) -> String {
    let mut rows: Vec<Vec<String>> = facts
        .iter()
        .map(|(k, v)| vec![(*k).to_string(), v.clone()])
        .collect();
    rows.push(vec!["smefin 版本".into(), info.version.clone()]);
    rows.push(vec!["输入摘要（SHA-256）".into(), info.digest.clone()]);
    rows.push(vec!["生成方式".into(), info.how.clone()]);
    format!(
        "<h2>复现</h2>\n<p>同一版本、同一参数与种子重新运行，结果逐位相同。</p>\n{}<pre class=\"spec\">{}</pre>\n",
        table(&["项目", "值"], &rows).replacen("<table>", "<table class=\"kv\">", 1),
        esc(&info.spec_text)
    )
}
