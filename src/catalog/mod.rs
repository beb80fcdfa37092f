//! Financing products as data.
//!
//! A catalogue is a TOML document: `[[lpr]]` rows (the 1-year LPR with its
//! effective date) and `[[product]]` tables, each with its eligibility
//! `[[product.rules]]`. The built-in Jiangxi catalogue (`jiangxi.toml`, embedded
//! at build time) is the default; `--catalog FILE` replaces it. Loading
//! validates everything and names the product and the path of the first
//! problem (`product `kedaitong`: rules[1].ratio: …`).

mod rules;
mod validate;

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::kernel::money::{self, Yuan};
use crate::kernel::percent;
pub use rules::Rule;

/// The built-in catalogue source.
pub const BUILTIN_TOML: &str = include_str!("jiangxi.toml");

/// Why a catalogue was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Not TOML at all.
    #[error("catalogue is not valid TOML: {0}")]
    Syntax(String),
    /// A part of the catalogue is wrong.
    #[error("{location}: {path}: {reason}")]
    Invalid {
        /// `product `id`` (or `product[3]` before the id is known), or `lpr[2]`.
        location: String,
        /// Field path inside it.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read catalogue {path}: {reason}")]
    Io {
        /// File path.
        path: String,
        /// OS error.
        reason: String,
    },
}

fn invalid(
    location: impl Into<String>,
    path: impl Into<String>,
    reason: impl Into<String>,
) -> CatalogError {
    CatalogError::Invalid {
        location: location.into(),
        path: path.into(),
        reason: reason.into(),
    }
}

/// Kind of product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A bank loan.
    Loan,
    /// A loan with a government financing guarantee.
    Guarantee,
    /// An interest or premium subsidy.
    Subsidy,
    /// A one-off award.
    Award,
}

impl ProductKind {
    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Loan => "贷款",
            Self::Guarantee => "担保贷款",
            Self::Subsidy => "补贴",
            Self::Award => "奖励",
        }
    }
    /// Whether offers of this kind have an interest cost.
    pub fn is_credit(self) -> bool {
        matches!(self, Self::Loan | Self::Guarantee)
    }
}

/// How a product's lending rate is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateRule {
    /// 1-year LPR plus a spread in basis points (may be negative).
    LprPlus {
        /// Spread over the 1-year LPR, basis points.
        spread_bp: i64,
    },
    /// A fixed annual rate.
    Fixed {
        /// Annual rate, decimal fraction.
        #[serde(with = "money::rate_serde")]
        rate: Decimal,
    },
}

impl RateRule {
    /// The rate on a date with the given LPR.
    pub fn rate(self, lpr: Decimal) -> Decimal {
        match self {
            RateRule::LprPlus { spread_bp } => (lpr + money::bp(spread_bp)).max(Decimal::ZERO),
            RateRule::Fixed { rate } => rate,
        }
    }
    /// Chinese description.
    pub fn describe(self) -> String {
        match self {
            RateRule::LprPlus { spread_bp: 0 } => "1年期LPR".into(),
            RateRule::LprPlus { spread_bp } if spread_bp > 0 => format!("1年期LPR + {spread_bp}bp"),
            RateRule::LprPlus { spread_bp } => format!("1年期LPR − {}bp", -spread_bp),
            RateRule::Fixed { rate } => format!("固定年利率 {}", percent::rate(rate)),
        }
    }
}

/// An interest subsidy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Subsidy {
    /// The borrower pays at most LPR − `bp` basis points on the subsidised
    /// part; the budget pays the rest (创业担保贷款, 财金〔2020〕21号).
    BorrowerPaysLprMinus {
        /// Basis points below the 1-year LPR.
        bp: i64,
        /// Only this much of the loan is subsidised (None: all of it).
        #[serde(default)]
        subsidised_up_to: Option<Yuan>,
    },
    /// The budget pays a share of the interest on the subsidised part.
    ShareOfInterest {
        /// Share of interest paid, decimal fraction.
        #[serde(with = "money::rate_serde")]
        share: Decimal,
        /// Only this much of the loan is subsidised (None: all of it).
        #[serde(default)]
        subsidised_up_to: Option<Yuan>,
    },
}

impl Subsidy {
    /// Chinese description.
    pub fn describe(self) -> String {
        let cap = |c: Option<Yuan>| {
            c.map(|y| format!("（仅前{}贴息）", y.human()))
                .unwrap_or_default()
        };
        match self {
            Subsidy::BorrowerPaysLprMinus {
                bp,
                subsidised_up_to,
            } => {
                format!(
                    "借款人承担不超过 LPR−{bp}bp，其余财政贴息{}",
                    cap(subsidised_up_to)
                )
            }
            Subsidy::ShareOfInterest {
                share,
                subsidised_up_to,
            } => {
                format!(
                    "财政贴息实际利息的 {}{}",
                    percent::rate(share),
                    cap(subsidised_up_to)
                )
            }
        }
    }
}

/// One tier of a guarantee fee: amounts up to `up_to` (all amounts when None)
/// pay `rate` a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeTier {
    /// Upper bound of the tier (inclusive); None for the last tier.
    #[serde(default)]
    pub up_to: Option<Yuan>,
    /// Annual fee, decimal fraction of the amount.
    #[serde(with = "money::rate_serde")]
    pub rate: Decimal,
}

/// A dated parameter of a product: `value` in force from `from` until the
/// next fact of the same name (as the LPR table is dated). What changed in a
/// programme over time (工信通's credit scale 3亿 → 6亿) is a fact, not a new
/// product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatedFact {
    /// What the value is (Chinese, e.g. "信贷规模").
    pub name: String,
    /// The value, as the text gives it ("6亿").
    pub value: String,
    /// First day in force.
    pub from: NaiveDate,
    /// The text that states it (document number and article).
    #[serde(default)]
    pub source: String,
    /// The value or its date rests on no text: a documented default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
}

/// A bank that lends under a product and takes its leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CooperatingBank {
    /// The bank's id (as registered with the incentive service, `JXB`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The text or agreement that names it as a cooperating bank.
    #[serde(default)]
    pub source: String,
    /// Named by no text found: the bureau's own list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
}

/// A financing product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Stable id (lowercase, digits, `_`).
    pub id: String,
    /// Chinese name.
    pub name: String,
    /// Issuer or operator.
    pub issuer: String,
    /// Kind.
    pub kind: ProductKind,
    /// Description.
    #[serde(default)]
    pub summary: String,
    /// Maximum amount.
    #[serde(default)]
    pub max_amount: Option<Yuan>,
    /// Maximum term, months.
    #[serde(default)]
    pub max_term_months: Option<u32>,
    /// Lending rate (loans and guarantees).
    #[serde(default)]
    pub rate: Option<RateRule>,
    /// Guarantee fee tiers, in increasing `up_to`.
    #[serde(default)]
    pub guarantee_fee: Vec<FeeTier>,
    /// Interest subsidy.
    #[serde(default)]
    pub subsidy: Option<Subsidy>,
    /// Benefit of an award or subsidy, described.
    #[serde(default)]
    pub benefit: Option<String>,
    /// Amount of an award (its maximum).
    #[serde(default)]
    pub benefit_amount: Option<Yuan>,
    /// First day in force.
    pub valid_from: NaiveDate,
    /// Last day in force.
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    /// GB/T 2260 prefixes where it applies; empty = everywhere.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Eligibility rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Sources.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Parameters that rest on uncertain facts.
    #[serde(default)]
    pub uncertain: Vec<String>,
    /// Product this one replaces where both apply.
    #[serde(default)]
    pub variant_of: Option<String>,
    /// Dated parameters, oldest first within a name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<DatedFact>,
    /// The banks that lend under it, which take its campaign leads in turn
    /// (each with its source, or flagged uncertain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub banks: Vec<CooperatingBank>,
    /// Each rule's citation (a rule's `source` key in the catalogue; empty
    /// when it gives none), in the order of `rules`.
    #[serde(skip_deserializing, skip_serializing_if = "Vec::is_empty")]
    pub rule_sources: Vec<String>,
}

impl Product {
    /// Whether the product is in force on `d`.
    pub fn in_force(&self, d: NaiveDate) -> bool {
        d >= self.valid_from && self.valid_to.is_none_or(|t| d <= t)
    }

    /// The citation of rule `i` ("" when none).
    pub fn rule_source(&self, i: usize) -> &str {
        self.rule_sources.get(i).map_or("", String::as_str)
    }

    /// The facts in force on `d`: for each name, the latest value dated on
    /// or before `d`.
    pub fn facts_on(&self, d: NaiveDate) -> Vec<&DatedFact> {
        let mut out: Vec<&DatedFact> = Vec::new();
        for f in self.facts.iter().filter(|f| f.from <= d) {
            match out.iter_mut().find(|g| g.name == f.name) {
                Some(g) if g.from <= f.from => *g = f,
                Some(_) => {}
                None => out.push(f),
            }
        }
        out
    }

    /// The guarantee fee rate for an amount.
    pub fn fee_rate(&self, amount: Yuan) -> Decimal {
        self.guarantee_fee
            .iter()
            .find(|t| t.up_to.is_none_or(|u| amount <= u))
            .map_or(Decimal::ZERO, |t| t.rate)
    }

    /// Guarantee fee, described.
    pub fn describe_fee(&self) -> String {
        let mut parts = Vec::new();
        let mut prev: Option<Yuan> = None;
        for t in &self.guarantee_fee {
            let range = match (prev, t.up_to) {
                (None, None) => String::new(),
                (None, Some(u)) => format!("{}及以下", u.human()),
                (Some(p), None) => format!("{}以上", p.human()),
                (Some(p), Some(u)) => format!("{}以上至{}", p.human(), u.human()),
            };
            parts.push(format!("{range}年费率 {}", percent::rate(t.rate)));
            prev = t.up_to;
        }
        parts.join("，")
    }
}

/// One row of the 1-year LPR table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LprRow {
    /// Effective date.
    pub effective: NaiveDate,
    /// 1-year LPR, decimal fraction.
    #[serde(with = "money::rate_serde")]
    pub one_year: Decimal,
}

/// A loaded, validated catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// Products, in file order.
    pub products: Vec<Product>,
    /// LPR rows, ascending by date.
    pub lpr: Vec<LprRow>,
}

impl Catalog {
    /// The built-in Jiangxi catalogue.
    pub fn builtin() -> Catalog {
        // The embedded file is validated by a unit test; failing here is a
        // build defect, not an input error.
        Catalog::from_toml(BUILTIN_TOML)
            .unwrap_or_else(|e| panic!("built-in catalogue is invalid: {e}"))
    }

    /// Parses and validates a catalogue.
    pub fn from_toml(s: &str) -> Result<Catalog, CatalogError> {
        let doc: toml::Table =
            toml::from_str(s).map_err(|e| CatalogError::Syntax(e.to_string()))?;
        for key in doc.keys() {
            if key != "product" && key != "lpr" {
                return Err(invalid(
                    "catalogue",
                    key.clone(),
                    "unknown top-level key (expected `product` and `lpr`)",
                ));
            }
        }
        let mut lpr = Vec::new();
        if let Some(rows) = doc.get("lpr") {
            let rows = rows
                .as_array()
                .ok_or_else(|| invalid("catalogue", "lpr", "must be an array of tables [[lpr]]"))?;
            for (i, v) in rows.iter().enumerate() {
                let row: LprRow =
                    deserialize(v.clone()).map_err(|(p, r)| invalid(format!("lpr[{i}]"), p, r))?;
                lpr.push(row);
            }
        }
        for (i, w) in lpr.windows(2).enumerate() {
            if w[1].effective <= w[0].effective {
                return Err(invalid(
                    format!("lpr[{}]", i + 1),
                    "effective",
                    "rows must be in increasing date order",
                ));
            }
        }
        let items = match doc.get("product") {
            Some(p) => p
                .as_array()
                .ok_or_else(|| {
                    invalid(
                        "catalogue",
                        "product",
                        "must be an array of tables [[product]]",
                    )
                })?
                .clone(),
            None => Vec::new(),
        };
        let mut products = Vec::with_capacity(items.len());
        let mut ids = HashSet::new();
        for (i, v) in items.into_iter().enumerate() {
            let loc = match v.get("id").and_then(|x| x.as_str()) {
                Some(id) => format!("product `{id}`"),
                None => format!("product[{i}]"),
            };
            let (v, rule_sources) = retag_rules(v).map_err(|(path, r)| invalid(&loc, path, r))?;
            let mut p: Product =
                deserialize(v).map_err(|(path, r)| invalid(&loc, strip_variant(&path), r))?;
            p.rule_sources = rule_sources;
            p.validate(!lpr.is_empty())?;
            if !ids.insert(p.id.clone()) {
                return Err(invalid(loc, "id", "duplicate product id"));
            }
            products.push(p);
        }
        for p in &products {
            if let Some(v) = &p.variant_of
                && (v == &p.id || !ids.contains(v))
            {
                return Err(invalid(
                    format!("product `{}`", p.id),
                    "variant_of",
                    format!("`{v}` is not another product of the catalogue"),
                ));
            }
        }
        if products.is_empty() {
            return Err(invalid("catalogue", "product", "has no products"));
        }
        Ok(Catalog { products, lpr })
    }

    /// The product with this id.
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// The 1-year LPR in effect on `d`, if the table reaches back that far.
    pub fn lpr_on(&self, d: NaiveDate) -> Option<Decimal> {
        let i = self.lpr.partition_point(|r| r.effective <= d);
        i.checked_sub(1).map(|i| self.lpr[i].one_year)
    }
}

fn deserialize<T: serde::de::DeserializeOwned>(v: toml::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let first = msg.lines().next().unwrap_or_default().trim().to_string();
        (if path == "." { String::new() } else { path }, first)
    })
}

/// The product with its rules retagged, and each rule's citation.
fn retag_rules(mut v: toml::Value) -> Result<(toml::Value, Vec<String>), (String, String)> {
    let mut sources = Vec::new();
    if let Some(toml::Value::Array(rs)) = v.get_mut("rules") {
        let taken = std::mem::take(rs);
        for (i, r) in taken.into_iter().enumerate() {
            let (r, source) = rules::retag(r, i)?;
            rs.push(r);
            sources.push(source);
        }
    }
    Ok((v, sources))
}

/// `rules[0].new_hire_ratio.ratio` → `rules[0].ratio`: the variant name is an
/// artefact of [`rules::retag`].
fn strip_variant(path: &str) -> String {
    match path
        .strip_prefix("rules[")
        .and_then(|rest| rest.split_once("]."))
    {
        Some((idx, rest)) => match rest.split_once('.') {
            Some((_, field)) => format!("rules[{idx}].{field}"),
            None => format!("rules[{idx}]"),
        },
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn builtin_catalogue_loads() {
        let c = Catalog::builtin();
        assert!(c.products.len() >= 20, "{}", c.products.len());
        assert!(c.products.iter().any(|p| !p.uncertain.is_empty()));
        for id in [
            "gongxintong",
            "chuangye_danbao_xiaowei",
            "chuangye_danbao_xiaowei_jiangxi",
            "caiyuan_xindaitong",
            "kedaitong",
            "wenqidai",
            "wenlvdai",
            "puhui_xiaowei_xinyong",
            "shoudai",
            "wuhuanben_xudai",
            "yingshou_zhiya",
            "zhishichanquan_zhiya",
            "zhengfu_rongzi_danbao",
            "award_little_giant_national",
            "shoupici_baoxian",
        ] {
            assert!(c.product(id).is_some(), "{id} missing");
        }
    }

    /// Every built-in product and rule cites a text, every dated fact cites one or is
    /// flagged, and every award or subsidy without an amount says why (or
    /// pays the whole cost).
    #[test]
    fn every_builtin_figure_is_cited_or_flagged() {
        let c = Catalog::builtin();
        for p in &c.products {
            assert!(!p.sources.is_empty(), "{} cites nothing", p.id);
            assert_eq!(p.rule_sources.len(), p.rules.len(), "{}", p.id);
            for (i, r) in p.rules.iter().enumerate() {
                assert!(
                    !p.rule_source(i).is_empty(),
                    "{}: {} cites nothing",
                    p.id,
                    r.code()
                );
            }
            for f in &p.facts {
                assert!(f.uncertain || !f.source.is_empty(), "{}: {}", p.id, f.name);
            }
            // (全额: the whole cost is paid, so there is no amount to state.)
            let full = p.benefit.as_deref().is_some_and(|b| b.contains("全额"));
            if !p.kind.is_credit() && p.benefit_amount.is_none() && !full {
                assert!(
                    p.uncertain.iter().any(|u| u.starts_with("benefit")),
                    "{}: no amount and no flag saying why",
                    p.id
                );
            }
        }
    }

    #[test]
    fn lpr_by_date() {
        let c = Catalog::builtin();
        assert_eq!(c.lpr_on(d("2020-04-19")), None);
        assert_eq!(c.lpr_on(d("2020-04-20")), Some(dec!(0.0385)));
        assert_eq!(c.lpr_on(d("2021-12-19")), Some(dec!(0.0385)));
        assert_eq!(c.lpr_on(d("2021-12-20")), Some(dec!(0.038)));
        assert_eq!(c.lpr_on(d("2022-08-21")), Some(dec!(0.037)));
        assert_eq!(c.lpr_on(d("2022-08-22")), Some(dec!(0.0365)));
        assert_eq!(c.lpr_on(d("2023-08-21")), Some(dec!(0.0345)));
        assert_eq!(c.lpr_on(d("2024-07-21")), Some(dec!(0.0345)));
        assert_eq!(c.lpr_on(d("2024-07-22")), Some(dec!(0.0335)));
        assert_eq!(c.lpr_on(d("2024-10-21")), Some(dec!(0.031)));
        assert_eq!(c.lpr_on(d("2025-05-20")), Some(dec!(0.03)));
        assert_eq!(c.lpr_on(d("2026-11-22")), Some(dec!(0.03)));
    }

    #[test]
    fn fee_tiers() {
        let c = Catalog::builtin();
        let g = c.product("zhengfu_rongzi_danbao").unwrap();
        assert_eq!(g.fee_rate(Yuan::wan(500)), dec!(0.01));
        assert_eq!(g.fee_rate(Yuan(Yuan::wan(500).0 + dec!(0.01))), dec!(0.015));
        assert_eq!(
            g.describe_fee(),
            "500万及以下年费率 1%，500万以上年费率 1.5%"
        );
    }

    const MINIMAL: &str = r#"
[[lpr]]
effective = "2024-01-01"
one_year = "0.0345"

[[product]]
id = "p"
name = "测试贷"
issuer = "x"
kind = "loan"
valid_from = "2024-01-01"
rate = { kind = "lpr_plus", spread_bp = 50 }
"#;

    #[test]
    fn minimal_catalogue_loads() {
        let c = Catalog::from_toml(MINIMAL).unwrap();
        assert_eq!(c.products[0].rate.unwrap().rate(dec!(0.0345)), dec!(0.0395));
    }

    fn err(extra: &str) -> String {
        Catalog::from_toml(&format!("{MINIMAL}{extra}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_catalogues_name_product_and_path() {
        let e = err("[[product.rules]]\nrule = \"new_hire_ratio\"\nratio = \"1.5\"\n");
        assert!(e.starts_with("product `p`: rules[0].ratio"), "{e}");
        let e = err("[[product.rules]]\nrule = \"size_class_in\"\nclasess = [\"small\"]\n");
        assert!(e.starts_with("product `p`: rules[0]"), "{e}");
        assert!(e.contains("clasess"), "{e}");
        let e = err("[[product.rules]]\nrule = \"teleport\"\n");
        assert!(e.contains("rules[0]") && e.contains("teleport"), "{e}");
        let e = err("[[product.rules]]\nrule = \"certification_any\"\nof = [\"gold\"]\n");
        assert!(e.contains("rules[0].of[0]") && e.contains("gold"), "{e}");
        let e = err("[[product.rules]]\nrule = \"size_class_in\"\nclasses = []\n");
        assert!(e.contains("rules[0].classes") && e.contains("empty"), "{e}");
        let e =
            err("[[product.facts]]\nname = \"信贷规模\"\nvalue = \"6亿\"\nfrom = \"2022-04-27\"\n");
        assert!(
            e.contains("facts[0].source") && e.contains("uncertain"),
            "{e}"
        );

        let dup = "[[product]]\nid = \"p\"\nname = \"n\"\nissuer = \"x\"\nkind = \"loan\"\nvalid_from = \"2024-01-01\"\nrate = { kind = \"fixed\", rate = \"0.05\" }\n";
        assert_eq!(err(dup), "product `p`: id: duplicate product id");
        let bad_rate = "[[product]]\nid = \"q\"\nname = \"n\"\nissuer = \"x\"\nkind = \"loan\"\nvalid_from = \"2024-01-01\"\nrate = { kind = \"fixed\", rate = \"5%%\" }\n";
        assert!(
            err(bad_rate).starts_with("product `q`: rate: `5%%` is not a rate"),
            "{}",
            err(bad_rate)
        );
        let no_rate = "[[product]]\nid = \"q\"\nname = \"n\"\nissuer = \"x\"\nkind = \"loan\"\nvalid_from = \"2024-01-01\"\n";
        assert_eq!(
            err(no_rate),
            "product `q`: rate: loans and guarantees need a rate rule"
        );
        let dates = "[[product]]\nid = \"q\"\nname = \"n\"\nissuer = \"x\"\nkind = \"award\"\nbenefit = \"b\"\nvalid_from = \"2024-01-01\"\nvalid_to = \"2023-01-01\"\n";
        assert!(
            err(dates).starts_with("product `q`: valid_to"),
            "{}",
            err(dates)
        );
        let variant = "[[product]]\nid = \"q\"\nname = \"n\"\nissuer = \"x\"\nkind = \"award\"\nbenefit = \"b\"\nvalid_from = \"2024-01-01\"\nvariant_of = \"nope\"\n";
        assert!(
            err(variant).starts_with("product `q`: variant_of"),
            "{}",
            err(variant)
        );
        let no_id = "[[product]]\nname = \"n\"\n";
        assert!(err(no_id).starts_with("product[1]"), "{}", err(no_id));
        assert!(
            Catalog::from_toml("[[product]\n")
                .unwrap_err()
                .to_string()
                .contains("not valid TOML")
        );
        assert!(
            Catalog::from_toml("x = 1\n")
                .unwrap_err()
                .to_string()
                .contains("unknown top-level key")
        );
    }
}
