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
    /// `PRODUCT=BANK[,BANK…]` (repeatable); replaces the banks the
    /// catalogue lists for that product.
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
    /// Also store the campaign and its leads where the server keeps its
    /// data, so each bank lists its own leads over gRPC and reports back
    /// (the same command again is answered with the stored campaign).
    #[arg(long)]
    pub save: bool,
    /// Where the store is (with `--save`).
    #[command(flatten)]
    pub store: super::funnel::StoreArgs,
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
    crate::matching::leads::check_campaign_name(&name)
        .map_err(|why| CliError::new(format!("--name: {why}")))?;
    let banks = crate::matching::leads::banks_for(&catalog, assignments(&a.assign, &catalog)?);
    let mut book = LeadBook::new(&name, banks);
    let (invalid, digest) = read_registry(&a.input, &catalog, &opts, &mut book)?;
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
    let mut text = summary(&book, &catalog, &a.out, invalid);
    if a.save {
        text.push_str(&save(&a, &name, &opts, &book, invalid, &digest)?);
    }
    print(&text)
}

/// Stores the campaign; the request id is its name, the content the
/// registry's digest and every flag that shapes the leads.
fn save(
    a: &CampaignArgs,
    name: &str,
    opts: &MatchOptions,
    book: &LeadBook,
    invalid: u64,
    digest: &str,
) -> Result<String, CliError> {
    use sha2::Digest;
    let store = a.store.open()?;
    let content = format!(
        "{digest}\n{}\n{:?}\n{:?}\n{:?}",
        opts.as_of, a.assign, a.products, a.catalog
    );
    let hash = hex::encode(sha2::Sha256::digest(content.as_bytes()));
    let firms = book.firms;
    let new = crate::store::referral::NewCampaign {
        id: name.to_string(),
        as_of: opts.as_of,
        firms,
        invalid,
        already: book.already.clone(),
    };
    let c = store
        .save_campaign(name, &hash, "cli", &new, &book.leads)
        .map_err(|e| match e {
            crate::store::StoreError::AlreadyExists(_) => CliError::new(format!(
                "--save: a campaign named `{name}` is already stored from another registry, date or assignment; give this one another --name"
            )),
            e => CliError::new(format!("--save: {e}")),
        })?;
    Ok(format!(
        "已保存推送批次 {}（{} 条线索，{}）：各银行可通过 ListLeads 查看各自线索\n",
        c.id, c.leads, c.created_at
    ))
}

/// Matches every line of the registry into `book`, in parallel by chunks,
/// the leads in registry order. A line that is not a valid profile is
/// skipped and counted (`smefin match --input` says why).
fn read_registry(
    input: &Path,
    catalog: &Catalog,
    opts: &MatchOptions,
    book: &mut LeadBook,
) -> Result<(u64, String), CliError> {
    use sha2::Digest;
    let file = std::fs::File::open(input)
        .map_err(|e| CliError::new(format!("{}: {e}", input.display())))?;
    let mut lines = BufReader::new(file).lines();
    let (mut line_no, mut invalid) = (0u64, 0u64);
    let mut hasher = sha2::Sha256::new();
    loop {
        let mut chunk = Vec::with_capacity(4096);
        for l in lines.by_ref().take(4096) {
            line_no += 1;
            let l =
                l.map_err(|e| CliError::new(format!("{} line {line_no}: {e}", input.display())))?;
            hasher.update(l.as_bytes());
            hasher.update(b"\n");
            if !l.trim().is_empty() {
                chunk.push((line_no, l));
            }
        }
        if chunk.is_empty() {
            return Ok((invalid, hex::encode(hasher.finalize())));
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
