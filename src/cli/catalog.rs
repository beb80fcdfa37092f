//! `smefin catalog list|show|validate`.

use std::path::PathBuf;

use clap::Subcommand;

use super::{CliError, as_of, load_catalog, print};
use crate::catalog::Product;
use crate::report::text::table::Table;

/// Catalogue actions.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List products.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only products in force on this date (YYYY-MM-DD).
        #[arg(long)]
        as_of: Option<String>,
        /// Catalogue file (default: built-in).
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// Show one product.
    Show {
        /// Product id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Catalogue file (default: built-in).
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// Validate a catalogue file (or print the built-in one with --print-builtin).
    Validate {
        /// Catalogue file.
        #[arg(required_unless_present = "print_builtin")]
        file: Option<PathBuf>,
        /// Print the built-in catalogue (a starting point for your own).
        #[arg(long)]
        print_builtin: bool,
    },
}

fn json<T: serde::Serialize>(v: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::new(e.to_string()))?;
    print(&format!("{s}\n"))
}

fn show(p: &Product) -> String {
    let mut s = format!("{}（{}）\n", p.name, p.id);
    let mut line = |k: &str, v: String| {
        if !v.is_empty() {
            s.push_str(&format!("  {k}：{v}\n"));
        }
    };
    line("类型", p.kind.name_zh().into());
    line("发布/运营", p.issuer.clone());
    line("简介", p.summary.clone());
    line(
        "额度上限",
        p.max_amount.map(|a| a.human()).unwrap_or_default(),
    );
    line(
        "期限上限",
        p.max_term_months
            .map(|t| format!("{t} 个月"))
            .unwrap_or_default(),
    );
    line("利率", p.rate.map(|r| r.describe()).unwrap_or_default());
    line("担保费", p.describe_fee());
    line("贴息", p.subsidy.map(|x| x.describe()).unwrap_or_default());
    line("政策内容", p.benefit.clone().unwrap_or_default());
    line(
        "有效期",
        format!(
            "{} 至 {}",
            p.valid_from,
            p.valid_to.map_or("长期".to_string(), |d| d.to_string())
        ),
    );
    line(
        "适用地区",
        if p.regions.is_empty() {
            "全国".into()
        } else {
            p.regions.join("、")
        },
    );
    line("替代", p.variant_of.clone().unwrap_or_default());
    s.push_str("  条件：\n");
    for (i, r) in p.rules.iter().enumerate() {
        let src = match p.rule_source(i) {
            "" => String::new(),
            x => format!("（依据：{x}）"),
        };
        s.push_str(&format!("    - [{}] {}{src}\n", r.code(), r.describe()));
    }
    if !p.facts.is_empty() {
        s.push_str("  分期参数：\n");
        for f in &p.facts {
            let flag = if f.uncertain { "［不确定］" } else { "" };
            let src = if f.source.is_empty() {
                String::new()
            } else {
                format!("（{}）", f.source)
            };
            s.push_str(&format!(
                "    - {} 起 {}：{}{flag}{src}\n",
                f.from, f.name, f.value
            ));
        }
    }
    s.push_str("  依据：\n");
    for src in &p.sources {
        s.push_str(&format!("    - {src}\n"));
    }
    if !p.uncertain.is_empty() {
        s.push_str("  不确定参数（默认值，可在目录文件中修改）：\n");
        for u in &p.uncertain {
            s.push_str(&format!("    - {u}\n"));
        }
    }
    s
}

/// Runs a catalogue action.
pub fn run(cmd: CatalogCommand) -> Result<(), CliError> {
    match cmd {
        CatalogCommand::List {
            json: as_json,
            as_of: date,
            catalog,
        } => {
            let c = load_catalog(catalog.as_deref())?;
            let date = match date {
                Some(_) => Some(as_of(&date)?),
                None => None,
            };
            let list: Vec<&Product> = c
                .products
                .iter()
                .filter(|p| date.is_none_or(|d| p.in_force(d)))
                .collect();
            if as_json {
                return json(&list);
            }
            let mut t = Table::new(&["ID", "名称", "类型", "额度上限", "有效期"], &[]);
            for p in list {
                t.row(vec![
                    p.id.clone(),
                    p.name.clone(),
                    p.kind.name_zh().into(),
                    p.max_amount
                        .or(p.benefit_amount)
                        .map_or("—".into(), |a| a.human()),
                    format!(
                        "{}–{}",
                        p.valid_from,
                        p.valid_to.map_or(String::new(), |d| d.to_string())
                    ),
                ]);
            }
            print(&t.render(""))
        }
        CatalogCommand::Show {
            id,
            json: as_json,
            catalog,
        } => {
            let c = load_catalog(catalog.as_deref())?;
            let p = c.product(&id).ok_or_else(|| {
                CliError::new(format!(
                    "unknown product `{id}` (see `smefin catalog list`)"
                ))
            })?;
            if as_json { json(p) } else { print(&show(p)) }
        }
        CatalogCommand::Validate {
            file,
            print_builtin,
        } => {
            if print_builtin {
                return print(crate::catalog::BUILTIN_TOML);
            }
            let Some(file) = file else {
                return Err(CliError::new("a catalogue file is required"));
            };
            let c = crate::files::catalog(&file)
                .map_err(|e| CliError::new(format!("{}: {e}", file.display())))?;
            print(&format!(
                "{}: ok — {} products, {} LPR rows ({} to {})\n",
                file.display(),
                c.products.len(),
                c.lpr.len(),
                c.lpr
                    .first()
                    .map_or("—".into(), |r| r.effective.to_string()),
                c.lpr.last().map_or("—".into(), |r| r.effective.to_string()),
            ))
        }
    }
}
