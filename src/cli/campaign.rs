//! `smefin campaign`: a registry's leads (精准推送), assigned to each
//! product's cooperating banks, written as the CSV or XLSX a bank takes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use clap::Args;
use rayon::prelude::*;

use super::lead_files::{Kind, LeadFiles};
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
    Kind::of(&a.out)?;
    super::check_output_dirs(&[Some(a.out.as_path())])?;
    let catalog = load_catalog(a.catalog.as_deref())?;
    let opts = MatchOptions {
        as_of: as_of(&a.as_of)?,
        product_ids: a.products.clone(),
    };
    super::check_products(&catalog, &a.products)?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("campaign-{}", opts.as_of));
    crate::matching::leads::check_campaign_name(&name)
        .map_err(|why| CliError::new(format!("--name: {why}")))?;
    let banks = crate::matching::leads::banks_for(&catalog, assignments(&a.assign, &catalog)?);
    let mut book = LeadBook::new(&name, banks);
    let files = LeadFiles::create(&a.out, a.by_bank.as_deref(), a.save)?;
    let (invalid, digest, kept) = read_registry(&a.input, &catalog, &opts, &mut book, files)?;
    // (after the work, so a failure stays one line)
    super::warn_stale_lpr(&catalog, opts.as_of);
    let mut text = summary(&book, &catalog, &a.out, invalid);
    if let Some(leads) = kept {
        text.push_str(&save(&a, &name, &opts, &book, &leads, invalid, &digest)?);
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
    leads: &[Lead],
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
        .save_campaign(name, &hash, "cli", &new, leads)
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

/// A chunk of registry lines: (line number, text), blank lines left out.
type Chunk = Vec<(u64, String)>;

/// The chunks as they are read, and the reader (its result: the digest).
type Chunks = (
    std::sync::mpsc::Receiver<Result<Chunk, CliError>>,
    std::thread::JoinHandle<String>,
);

/// Reads the registry on a thread of its own, in chunks of 4096 lines, so
/// reading overlaps matching; the thread's result is the file's SHA-256.
fn read_chunks(input: &Path) -> Result<Chunks, CliError> {
    use sha2::Digest;
    let file = std::fs::File::open(input)
        .map_err(|e| CliError::new(format!("{}: {e}", input.display())))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    let name = input.display().to_string();
    let reader = std::thread::spawn(move || {
        let mut hasher = sha2::Sha256::new();
        let mut chunk = Vec::with_capacity(4096);
        for (i, l) in BufReader::with_capacity(1 << 20, file).lines().enumerate() {
            let n = i as u64 + 1;
            let l = match l {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(CliError::new(format!("{name} line {n}: {e}"))));
                    return String::new();
                }
            };
            hasher.update(l.as_bytes());
            hasher.update(b"\n");
            if !l.trim().is_empty() {
                chunk.push((n, l));
            }
            if chunk.len() == 4096 && tx.send(Ok(std::mem::take(&mut chunk))).is_err() {
                return String::new();
            }
        }
        if !chunk.is_empty() {
            let _ = tx.send(Ok(chunk));
        }
        hex::encode(hasher.finalize())
    });
    Ok((rx, reader))
}

/// Matches every line of the registry into `book` and `files`, in parallel
/// by chunks, the leads in registry order. A line that is not a valid
/// profile is skipped and counted (`smefin match --input` says why).
/// Returns the invalid lines and the registry's digest.
fn read_registry(
    input: &Path,
    catalog: &Catalog,
    opts: &MatchOptions,
    book: &mut LeadBook,
    files: LeadFiles,
) -> Result<(u64, String, Option<Vec<Lead>>), CliError> {
    let (chunks, reader) = read_chunks(input)?;
    // (the files are written on a thread of their own, overlapping the
    // next chunk's matching)
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Lead>>(2);
    let writer = std::thread::spawn(move || {
        let mut files = files;
        for leads in rx {
            files.push(leads)?;
        }
        files.finish()
    });
    let mut invalid = 0u64;
    for chunk in chunks {
        let chunk = chunk?;
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
        let mut leads = Vec::new();
        for firm in firms {
            match firm {
                Some(f) => leads.extend(book.push(f)),
                None => invalid += 1,
            }
        }
        if tx.send(leads).is_err() {
            // (the writer stopped on an error, which `join` returns)
            break;
        }
    }
    drop(tx);
    let kept = writer
        .join()
        .map_err(|_| CliError::new("the lead files' writer failed".to_string()))??;
    let digest = reader
        .join()
        .map_err(|_| CliError::new(format!("{}: the reader failed", input.display())))?;
    Ok((invalid, digest, kept))
}

/// What the campaign found: leads per product and bank, and the firms left
/// out because they already hold the product.
fn summary(book: &LeadBook, catalog: &Catalog, out: &Path, invalid: u64) -> String {
    let mut s = format!("线索 {} 条，写入 {}", book.leads, out.display());
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
        let (product, bank, n) = (product.clone(), bank.clone(), *n);
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
