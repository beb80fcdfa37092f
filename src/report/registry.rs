//! The registry (精准推送) report: what matching a whole registry of firms
//! found — per product how many firms are eligible, need information or are
//! ineligible; the fields most often missing (what to collect next); the
//! criteria most often failed; by region and by size class; and the firms
//! one change away from a product.

use std::fmt::Write;

use super::svg::{DARK, LIGHT, MID, esc, hbars};
use super::{RunInfo, document, table};
use crate::catalog::Catalog;
use crate::kernel::percent;
use crate::matching::registry::{Reach, RegistryStats, StatusCounts};

/// The registry report.
pub fn registry(s: &RegistryStats, catalog: &Catalog, as_of: &str, info: &RunInfo) -> String {
    let name = |order: usize| {
        catalog
            .products
            .get(order)
            .map_or_else(|| format!("#{order}"), |p| p.name.clone())
    };
    let mut prods: Vec<(usize, StatusCounts)> =
        s.by_product.iter().map(|(o, c)| (*o, *c)).collect();
    prods.sort_by(|a, b| b.1.reachable().cmp(&a.1.reachable()).then(a.0.cmp(&b.0)));
    let mut b = headline(s, as_of);
    products_chart(&mut b, &prods, &name);
    missing_chart(&mut b, s);
    failed_chart(&mut b, s, &name);
    reach_charts(&mut b, s);
    one_step_table(&mut b, s, &name);
    b.push_str("<h2>各产品明细</h2>\n");
    let rows: Vec<Vec<String>> = prods
        .iter()
        .map(|(o, c)| {
            vec![
                name(*o),
                c.eligible.to_string(),
                c.needs_info.to_string(),
                c.ineligible.to_string(),
            ]
        })
        .collect();
    b.push_str(&table(&["产品", "符合", "需补充信息", "不符合"], &rows));
    b.push_str(&format!(
        "<h2>复现</h2>\n{}",
        table(
            &["项目", "值"],
            &[
                vec!["smefin 版本".into(), info.version.clone()],
                vec!["名录摘要（SHA-256）".into(), info.digest.clone()],
                vec!["生成方式".into(), info.how.clone()],
            ],
        )
        .replacen("<table>", "<table class=\"kv\">", 1)
    ));
    document("企业名录匹配报告", &b)
}

/// The fields most often missing, most first.
fn top_missing(s: &RegistryStats) -> Vec<(&&'static str, &u64)> {
    let mut v: Vec<_> = s.missing.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v
}

/// The title, the run's line and the two headline figures.
fn headline(s: &RegistryStats, as_of: &str) -> String {
    let mut b = format!(
        "<h1>企业名录匹配报告（精准推送）</h1>\n<p class=\"sub\">{} 家企业 · 匹配日期 {} · {} 个在期产品{}</p>\n",
        s.firms,
        esc(as_of),
        s.by_product.len(),
        if s.invalid > 0 {
            format!(" · 无效记录 {} 条", s.invalid)
        } else {
            String::new()
        }
    );
    let any: u64 = s.by_region.values().map(|v| v.matched).sum();
    let top = top_missing(s);
    let _ = writeln!(
        b,
        "<div class=\"headline\"><div><span>至少符合一个产品</span><b>{any} 家</b><span>占 {}</span></div><div><span>最常缺少的信息</span><b>{}</b><span>{} 家企业缺少</span></div></div>",
        percent::short(any as f64 / s.firms.max(1) as f64),
        top.first().map_or("—".into(), |(f, _)| esc(
            &crate::enterprise::field::describe(f)
        )),
        top.first().map_or(0, |(_, n)| **n)
    );
    b
}

/// Each product's firms by status, as stacked bars.
fn products_chart(b: &mut String, prods: &[(usize, StatusCounts)], name: &dyn Fn(usize) -> String) {
    b.push_str("<h2>各产品的匹配结果</h2>\n");
    let rows: Vec<(String, Vec<f64>)> = prods
        .iter()
        .map(|(o, c)| {
            let counts = [c.eligible, c.needs_info, c.ineligible];
            (name(*o), counts.iter().map(|&n| n as f64).collect())
        })
        .collect();
    b.push_str(&hbars(
        "products",
        "各产品：符合 / 需补充信息 / 不符合",
        &rows,
        &[DARK, MID, LIGHT],
        &["符合", "需补充信息", "不符合"],
        "每行一个产品（按符合与需补充信息的企业数排序），条长为企业数。",
    ));
}

/// The fields most often missing: what to collect next.
fn missing_chart(b: &mut String, s: &RegistryStats) {
    b.push_str("<h2>最常缺少的信息（下一步该收集什么）</h2>\n");
    let rows: Vec<(String, Vec<f64>)> = top_missing(s)
        .iter()
        .take(12)
        .map(|(f, n)| (crate::enterprise::field::describe(f), vec![**n as f64]))
        .collect();
    if rows.is_empty() {
        b.push_str("<p class=\"none\">没有企业缺少信息。</p>\n");
    } else {
        b.push_str(&hbars(
            "missing",
            "缺少该信息的企业数",
            &rows,
            &[MID],
            &[],
            "补齐这些字段，需补充信息的匹配即可得出结论。",
        ));
    }
}

/// The criteria most often failed, by product.
fn failed_chart(b: &mut String, s: &RegistryStats, name: &dyn Fn(usize) -> String) {
    b.push_str("<h2>最常不满足的条件</h2>\n");
    let mut failed: Vec<_> = s.failed.iter().collect();
    failed.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let rows: Vec<(String, Vec<f64>)> = failed
        .iter()
        .take(12)
        .map(|((o, code), n)| (format!("{} · {code}", name(*o)), vec![**n as f64]))
        .collect();
    if rows.is_empty() {
        b.push_str("<p class=\"none\">没有不满足的条件。</p>\n");
    } else {
        b.push_str(&hbars(
            "failed",
            "不满足该条件的企业数",
            &rows,
            &[DARK],
            &[],
            "产品 · 条件代码；一家企业可在多个产品上不满足同一类条件。",
        ));
    }
}

/// Firms with and without a product, by region and by size class.
fn reach_charts(b: &mut String, s: &RegistryStats) {
    let bars = |r: &Reach| vec![r.matched as f64, r.unmatched() as f64];
    b.push_str("<h2>按地区</h2>\n");
    let mut regions: Vec<_> = s.by_region.iter().collect();
    regions.sort_by(|a, b| b.1.firms.cmp(&a.1.firms).then(a.0.cmp(b.0)));
    let rows: Vec<(String, Vec<f64>)> = regions
        .iter()
        .take(15)
        .map(|(r, v)| (r.to_string(), bars(v)))
        .collect();
    b.push_str(&hbars(
        "regions",
        "各地区企业数",
        &rows,
        &[DARK, LIGHT],
        &["至少符合一个产品", "暂无符合的产品"],
        "地区为行政区划代码（GB/T 2260）前 4 位（地市）；企业最多的 15 个地区。",
    ));
    b.push_str("<h2>按企业规模</h2>\n");
    let rows: Vec<(String, Vec<f64>)> = s
        .by_size
        .iter()
        .map(|(k, v)| (k.clone(), bars(v)))
        .collect();
    b.push_str(&hbars(
        "sizes",
        "各规模企业数",
        &rows,
        &[DARK, LIGHT],
        &["至少符合一个产品", "暂无符合的产品"],
        "规模按工信部联企业〔2011〕300号划型。",
    ));
}

/// The firms one criterion away from a product, by the step.
fn one_step_table(b: &mut String, s: &RegistryStats, name: &dyn Fn(usize) -> String) {
    b.push_str("<h2>只差一步的企业</h2>\n");
    let mut one: Vec<_> = s.one_step.iter().collect();
    one.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    if one.is_empty() {
        b.push_str("<p class=\"none\">没有只差一个条件的企业。</p>\n");
        return;
    }
    let rows: Vec<Vec<String>> = one
        .iter()
        .take(15)
        .map(|((o, action, field), (n, example))| {
            vec![
                name(*o),
                format!("{action}（{}）", crate::enterprise::field::describe(field)),
                n.to_string(),
                example.clone(),
            ]
        })
        .collect();
    b.push_str(
        &table(&["产品", "差的一步", "企业数", "例"], &rows).replacen(
            "<table>",
            "<table class=\"left\">",
            1,
        ),
    );
    b.push_str("<p>只有一个条件不满足、且该条件有改进建议的企业：完成这一步即可申请。</p>\n");
}
