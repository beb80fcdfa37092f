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
use crate::matching::criteria::Action;
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
                c.already.to_string(),
            ]
        })
        .collect();
    b.push_str(&table(
        &[
            "产品",
            "符合（可推送）",
            "需补充信息",
            "不符合",
            "已获得或已申请",
        ],
        &rows,
    ));
    b.push_str("<p>“符合（可推送）”不含已获得或已申请该产品的企业。</p>\n");
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
        .map(|((o, code), n)| {
            let what = crate::matching::criteria::label(code);
            (format!("{} · {what}", name(*o)), vec![**n as f64])
        })
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
            "产品 · 条件；一家企业可在多个产品上不满足同一类条件。",
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
        .map(|(r, v)| (crate::enterprise::region::describe(r), bars(v)))
        .collect();
    b.push_str(&hbars(
        "regions",
        "各地区企业数",
        &rows,
        &[DARK, LIGHT],
        &["至少符合一个产品", "暂无符合的产品"],
        "按地市（行政区划代码前 4 位，GB/T 2260）；企业最多的 15 个地市。",
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
                format!(
                    "{}（{}）",
                    Action::parse(action)
                        .map_or_else(|| action.clone(), |a| a.name_zh().to_string()),
                    crate::enterprise::field::describe(field)
                ),
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
    b.push_str("<p>其余条件均已满足、只差一项企业可自行办理的事项（登记已有的知识产权或应收账款、清偿欠缴、提供已有的质押物、增加招用）的企业：办完这一项即可申请。需申报认定、等待年限或补充信息的不在此列。</p>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enterprise::Profile;
    use crate::matching::{self, MatchOptions, registry::FirmTally};
    use crate::report::scan::{raw_codes, visible};

    /// Every text an officer reads of a registry run — the registry report,
    /// and each firm's match as the CLI prints it — is in Chinese: no code
    /// in capitals, no field name.
    #[test]
    fn officer_text_has_no_raw_codes() {
        let catalog = Catalog::builtin();
        let opts = MatchOptions::on(chrono::NaiveDate::from_ymd_opt(2024, 7, 1).unwrap());
        let mut stats = RegistryStats::default();
        let mut texts = Vec::new();
        for line in include_str!("../../tests/data/firms.jsonl").lines() {
            let Ok(p) = Profile::from_json(line) else {
                stats.invalid += 1;
                continue;
            };
            let cls = p.classify();
            let ev = matching::evaluate(&catalog, &p, &cls, &opts).unwrap();
            stats.add(FirmTally::of(&ev, cls.class()));
            texts.push(crate::report::text::matching::render_report(
                &ev.report(&cls),
            ));
        }
        let info = RunInfo {
            spec_text: String::new(),
            digest: "0".repeat(64),
            version: "0.1.0".into(),
            how: "smefin match --input firms.jsonl --report registry.html".into(),
        };
        let html = registry(&stats, &catalog, "2024-07-01", &info);
        assert!(stats.one_step.values().map(|v| v.0).sum::<u64>() > 0);
        let report = raw_codes(&visible(&html));
        assert!(report.is_empty(), "the registry report shows {report:?}");
        for t in &texts {
            let codes = raw_codes(t);
            assert!(codes.is_empty(), "{codes:?} in\n{t}");
        }
        // the checks catch what they look for
        assert_eq!(
            raw_codes("差 OBTAIN_CERTIFICATION 一步"),
            ["OBTAIN_CERTIFICATION"]
        );
        assert_eq!(raw_codes("缺少 annual_revenue"), ["annual_revenue"]);
        assert_eq!(
            visible("<style>B{X:Y}</style><p>营业<b>收入</b></p>").trim(),
            "营业 收入"
        );
    }
}
