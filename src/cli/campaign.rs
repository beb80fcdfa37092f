//! `smefin campaign`: a registry's leads (精准推送), assigned to each
//! product's cooperating banks, written as the CSV or XLSX a bank takes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use clap::Args;
use rayon::prelude::*;

use super::{CliError, as_of, load_catalog, print};
use crate::catalog::Catalog;
use crate::enterprise::Profile;
use crate::matching::leads::{FirmLeads, Lead, LeadBook};
use crate::matching::{self, MatchOptions};
use crate::report::text::table::Table;

/// Flags of `smefin campaign`.
#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// The registry: one profile JSON per line (with `held_products` and
    /// `contact` where known).
    #[arg(long)]
    pub input: PathBuf,
    /// The leads file: `.xlsx` or `.csv` (UTF-8 with a byte-order mark).
    #[arg(long)]
    pub out: PathBuf,
    /// Also one file per bank in this directory (`JXB.xlsx`, …, and
    /// `未分配` for leads of products without banks), as `--out` is.
    #[arg(long)]
    pub by_bank: Option<PathBuf>,
    /// The campaign's name, the prefix of every lead id (letters, digits,
    /// `-` and `_`); default `campaign-` and the match date.
    #[arg(long)]
    pub name: Option<String>,
    /// A product's cooperating banks, which take its leads in turn:
    /// `PRODUCT=BANK[,BANK…]` (repeatable).
    #[arg(long = "assign")]
    pub assign: Vec<String>,
    /// Match date (YYYY-MM-DD); default today (UTC+8).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Only these products (repeatable).
    #[arg(long = "product")]
    pub products: Vec<String>,
    /// Product catalogue replacing the built-in one.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
}

/// The file kinds a lead list is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Csv,
    Xlsx,
}

fn kind(path: &Path) -> Result<Kind, CliError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if e == "csv" => Ok(Kind::Csv),
        Some(e) if e == "xlsx" => Ok(Kind::Xlsx),
        _ => Err(CliError::new(format!(
            "--out: {} must end in .xlsx or .csv",
            path.display()
        ))),
    }
}

/// `PRODUCT=BANK[,BANK…]` flags as a map, each product of the catalogue and
/// each bank id well-formed.
fn assignments(
    flags: &[String],
    catalog: &Catalog,
) -> Result<BTreeMap<String, Vec<String>>, CliError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in flags {
        let bad = |why: String| CliError::new(format!("--assign {f}: {why}"));
        let (product, banks) = f
            .split_once('=')
            .ok_or_else(|| bad("expected PRODUCT=BANK[,BANK…]".into()))?;
        let product = product.trim();
        if catalog.product(product).is_none() {
            return Err(bad(format!("unknown product `{product}`")));
        }
        let list = out.entry(product.to_string()).or_default();
        for b in banks.split(',').map(str::trim) {
            crate::incentive::check_bank_id(b).map_err(|why| bad(format!("bank `{b}` {why}")))?;
            if !list.iter().any(|x| x == b) {
                list.push(b.to_string());
            }
        }
    }
    Ok(out)
}

/// Runs `smefin campaign`.
pub fn run(a: CampaignArgs) -> Result<(), CliError> {
    let out_kind = kind(&a.out)?;
    super::check_output_dirs(&[Some(a.out.as_path())])?;
    let catalog = load_catalog(a.catalog.as_deref())?;
    let opts = MatchOptions {
        as_of: as_of(&a.as_of)?,
        product_ids: a.products.clone(),
    };
    // (an unknown product would make every firm's match fail, one by one)
    if let Some(id) = a.products.iter().find(|id| catalog.product(id).is_none()) {
        return Err(CliError::new(format!("--product: unknown product `{id}`")));
    }
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("campaign-{}", opts.as_of));
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(CliError::new(format!(
            "--name: `{name}` must be 1 to 64 letters, digits, `-` or `_`"
        )));
    }
    let mut book = LeadBook::new(&name, assignments(&a.assign, &catalog)?);
    let invalid = read_registry(&a.input, &catalog, &opts, &mut book)?;
    // (after the work, so a failure stays one line)
    super::warn_stale_lpr(&catalog, opts.as_of);
    write(&a.out, out_kind, &book.leads)?;
    if let Some(dir) = &a.by_bank {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::new(format!("{}: {e}", dir.display())))?;
        let mut per_bank: BTreeMap<String, Vec<Lead>> = BTreeMap::new();
        for l in &book.leads {
            let bank = l.bank_id.clone().unwrap_or_else(|| "未分配".into());
            per_bank.entry(bank).or_default().push(l.clone());
        }
        let ext = if out_kind == Kind::Csv { "csv" } else { "xlsx" };
        for (bank, leads) in &per_bank {
            write(&dir.join(format!("{bank}.{ext}")), out_kind, leads)?;
        }
    }
    print(&summary(&book, &catalog, &a.out, invalid))
}

/// Matches every line of the registry into `book`, in parallel by chunks,
/// the leads in registry order. A line that is not a valid profile is
/// skipped and counted (`smefin match --input` says why).
fn read_registry(
    input: &Path,
    catalog: &Catalog,
    opts: &MatchOptions,
    book: &mut LeadBook,
) -> Result<u64, CliError> {
    let file = std::fs::File::open(input)
        .map_err(|e| CliError::new(format!("{}: {e}", input.display())))?;
    let mut lines = BufReader::new(file).lines();
    let (mut line_no, mut invalid) = (0u64, 0u64);
    loop {
        let mut chunk = Vec::with_capacity(4096);
        for l in lines.by_ref().take(4096) {
            line_no += 1;
            let l =
                l.map_err(|e| CliError::new(format!("{} line {line_no}: {e}", input.display())))?;
            if !l.trim().is_empty() {
                chunk.push((line_no, l));
            }
        }
        if chunk.is_empty() {
            return Ok(invalid);
        }
        // matched in parallel, numbered and assigned in registry order
        let firms: Vec<Option<FirmLeads>> = chunk
            .par_iter()
            .map(|(n, l)| {
                let p = Profile::from_json(l).ok()?;
                let cls = p.classify();
                let ev = matching::evaluate(catalog, &p, &cls, opts).ok()?;
                Some(FirmLeads::of(*n, &ev, &cls))
            })
            .collect();
        for firm in firms {
            match firm {
                Some(f) => book.push(f),
                None => invalid += 1,
            }
        }
    }
}

fn write(path: &Path, kind: Kind, leads: &[Lead]) -> Result<(), CliError> {
    let bytes = match kind {
        Kind::Csv => crate::report::leads::csv(leads).into_bytes(),
        Kind::Xlsx => crate::report::leads::xlsx(leads).map_err(CliError::new)?,
    };
    std::fs::write(path, bytes).map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}

/// What the campaign found: leads per product and bank, and the firms left
/// out because they already hold the product.
fn summary(book: &LeadBook, catalog: &Catalog, out: &Path, invalid: u64) -> String {
    let mut s = format!("线索 {} 条，写入 {}", book.leads.len(), out.display());
    if invalid > 0 {
        s.push_str(&format!(
            "；无效记录 {invalid} 条（smefin match --input 可查原因）"
        ));
    }
    s.push('\n');
    let mut t = Table::new(&["产品", "合作银行", "线索", "已获得或已申请"], &[2, 3]);
    let name = |id: &str| {
        catalog
            .product(id)
            .map_or(id.to_string(), |p| p.name.clone())
    };
    for ((product, bank), n) in book.counts() {
        let already = book.already.get(&product).copied().unwrap_or(0);
        t.row(vec![
            name(&product),
            bank.unwrap_or_else(|| "（未分配）".into()),
            n.to_string(),
            already.to_string(),
        ]);
    }
    s.push_str(&t.render(""));
    s
}
