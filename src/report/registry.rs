//! The registry (精准推送) report: what matching a whole registry of firms
//! found — per product how many firms are eligible, need information or are
//! ineligible; the fields most often missing (what to collect next); the
//! criteria most often failed; by region and by size class; and the firms
//! one change away from a product.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use super::svg::{DARK, LIGHT, MID, esc, hbars};
use super::{RunInfo, document, table};
use crate::catalog::Catalog;
use crate::enterprise::SizeClass;
use crate::kernel::percent;
use crate::matching::criteria::Outcome;
use crate::matching::{Evaluation, MatchStatus};

/// What the report counts of one firm.
#[derive(Debug, Clone, Default)]
pub struct FirmTally {
    /// Region code prefix (city level, 4 digits), if known.
    pub region: Option<String>,
    /// Size class, if it could be determined.
    pub size: Option<SizeClass>,
    /// (product order, status) of every product in force.
    pub products: Vec<(usize, MatchStatus)>,
    /// Distinct fields some product needs and the profile lacks.
    pub missing: Vec<&'static str>,
    /// (product order, criterion code) of every failed criterion.
    pub failed: Vec<(usize, &'static str)>,
    /// For products the firm misses by exactly one criterion that a
    /// suggestion fixes: (product order, action, field, example message).
    pub one_step: Vec<(usize, String, String, String)>,
}

impl FirmTally {
    /// The tally of one firm's evaluation.
    pub fn of(ev: &Evaluation<'_>, size: Option<SizeClass>) -> FirmTally {
        let mut t = FirmTally {
            region: ev
                .profile
                .region_code
                .as_ref()
                .map(|r| r.chars().take(4).collect()),
            size,
            ..FirmTally::default()
        };
        for p in &ev.products {
            t.products.push((p.order, p.status));
            for c in &p.criteria {
                match c.outcome {
                    Outcome::NeedsInfo
                        if !c.missing.is_empty() && !t.missing.contains(&c.missing) =>
                    {
                        t.missing.push(c.missing);
                    }
                    Outcome::Fail => t.failed.push((p.order, c.code)),
                    _ => {}
                }
            }
            if p.status == MatchStatus::Ineligible {
                let fails: Vec<_> = p
                    .criteria
                    .iter()
                    .filter(|c| c.outcome == Outcome::Fail)
                    .collect();
                if let [only] = fails.as_slice()
                    && let Some(s) = only.suggestions().into_iter().next()
                {
                    t.one_step.push((p.order, s.action, s.field, s.message));
                }
            }
        }
        t
    }
}

/// Counts over a registry, added to firm by firm.
#[derive(Debug, Clone, Default)]
pub struct RegistryStats {
    /// Firms matched.
    pub firms: u64,
    /// Records that were not valid profiles.
    pub invalid: u64,
    /// Per product order: [eligible, needs info, ineligible].
    pub by_product: BTreeMap<usize, [u64; 3]>,
    /// Firms lacking each field.
    pub missing: HashMap<&'static str, u64>,
    /// Failures per (product order, criterion).
    pub failed: HashMap<(usize, &'static str), u64>,
    /// Per region prefix: [firms, firms eligible for at least one product].
    pub by_region: BTreeMap<String, [u64; 2]>,
    /// Per size class name: [firms, firms eligible for at least one].
    pub by_size: BTreeMap<String, [u64; 2]>,
    /// Firms one step away, per (product order, action, field), with an
    /// example.
    pub one_step: HashMap<(usize, String, String), (u64, String)>,
}

impl RegistryStats {
    /// Adds one firm.
    pub fn add(&mut self, t: FirmTally) {
        self.firms += 1;
        let any = t.products.iter().any(|p| p.1 == MatchStatus::Eligible);
        for (order, status) in t.products {
            let k = match status {
                MatchStatus::Eligible => 0,
                MatchStatus::NeedsInfo => 1,
                MatchStatus::Ineligible => 2,
            };
            self.by_product.entry(order).or_default()[k] += 1;
        }
        for f in t.missing {
            *self.missing.entry(f).or_default() += 1;
        }
        for f in t.failed {
            *self.failed.entry(f).or_default() += 1;
        }
        let region = t.region.unwrap_or_else(|| "（未填）".into());
        let r = self.by_region.entry(region).or_default();
        r[0] += 1;
        r[1] += u64::from(any);
        let size = t.size.map_or("（无法划型）".to_string(), |s| {
            s.name_zh().to_string()
        });
        let s = self.by_size.entry(size).or_default();
        s[0] += 1;
        s[1] += u64::from(any);
        for (order, action, field, message) in t.one_step {
            let e = self
                .one_step
                .entry((order, action, field))
                .or_insert((0, message));
            e.0 += 1;
        }
    }
}

/// The registry report.
pub fn registry(s: &RegistryStats, catalog: &Catalog, as_of: &str, info: &RunInfo) -> String {
    let name = |order: usize| {
        catalog
            .products
            .get(order)
            .map_or_else(|| format!("#{order}"), |p| p.name.clone())
    };
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
    let any: u64 = s.by_region.values().map(|v| v[1]).sum();
    let top_missing = {
        let mut v: Vec<_> = s.missing.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v
    };
    let _ = writeln!(
        b,
        "<div class=\"headline\"><div><span>至少符合一个产品</span><b>{any} 家</b><span>占 {}</span></div><div><span>最常缺少的信息</span><b>{}</b><span>{} 家企业缺少</span></div></div>",
        percent::short(any as f64 / s.firms.max(1) as f64),
        top_missing.first().map_or("—".into(), |(f, _)| esc(
            &crate::enterprise::field::describe(f)
        )),
        top_missing.first().map_or(0, |(_, n)| **n)
    );

    b.push_str("<h2>各产品的匹配结果</h2>\n");
    let mut prods: Vec<(&usize, &[u64; 3])> = s.by_product.iter().collect();
    prods.sort_by(|a, b| (b.1[0] + b.1[1]).cmp(&(a.1[0] + a.1[1])).then(a.0.cmp(b.0)));
    let rows: Vec<(String, Vec<f64>)> = prods
        .iter()
        .map(|(o, c)| (name(**o), vec![c[0] as f64, c[1] as f64, c[2] as f64]))
        .collect();
    b.push_str(&hbars(
        "products",
        "各产品：符合 / 需补充信息 / 不符合",
        &rows,
        &[DARK, MID, LIGHT],
        &["符合", "需补充信息", "不符合"],
        "每行一个产品（按符合与需补充信息的企业数排序），条长为企业数。",
    ));

    b.push_str("<h2>最常缺少的信息（下一步该收集什么）</h2>\n");
    let rows: Vec<(String, Vec<f64>)> = top_missing
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

    b.push_str("<h2>按地区</h2>\n");
    let mut regions: Vec<_> = s.by_region.iter().collect();
    regions.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then(a.0.cmp(b.0)));
    let rows: Vec<(String, Vec<f64>)> = regions
        .iter()
        .take(15)
        .map(|(r, v)| (r.to_string(), vec![v[1] as f64, (v[0] - v[1]) as f64]))
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
        .map(|(k, v)| (k.clone(), vec![v[1] as f64, (v[0] - v[1]) as f64]))
        .collect();
    b.push_str(&hbars(
        "sizes",
        "各规模企业数",
        &rows,
        &[DARK, LIGHT],
        &["至少符合一个产品", "暂无符合的产品"],
        "规模按工信部联企业〔2011〕300号划型。",
    ));

    b.push_str("<h2>只差一步的企业</h2>\n");
    let mut one: Vec<_> = s.one_step.iter().collect();
    one.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    if one.is_empty() {
        b.push_str("<p class=\"none\">没有只差一个条件的企业。</p>\n");
    } else {
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

    b.push_str("<h2>各产品明细</h2>\n");
    let rows: Vec<Vec<String>> = prods
        .iter()
        .map(|(o, c)| {
            vec![
                name(**o),
                c[0].to_string(),
                c[1].to_string(),
                c[2].to_string(),
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
