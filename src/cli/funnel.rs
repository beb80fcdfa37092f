//! `smefin funnel`: what became of a stored campaign's leads, as the HTML
//! report or JSON, read from the store the server keeps its data in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::CliError;
use crate::matching::funnel::{Funnel, fold};
use crate::store::referral::funnel_rows;

/// Where the server keeps its data: the `[store]` of a configuration file,
/// with the flags `serve` takes for it.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The server's TOML configuration file (its `[store]` section).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded database (default ./smefin-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL shared by replicas (`postgres://…`).
    #[arg(long)]
    pub store_url: Option<String>,
}

impl StoreArgs {
    /// Opens the store these flags name (migrating it, as a server would).
    pub fn open(&self) -> Result<Arc<dyn crate::store::Backend>, CliError> {
        let mut cfg = crate::config::Config::load(self.config.as_deref(), std::env::vars())
            .map_err(|e| CliError::new(e.to_string()))?;
        if let Some(d) = &self.data_dir {
            cfg.store.data_dir = d.clone();
        }
        if let Some(u) = &self.store_url {
            cfg.store.url = Some(u.clone());
        }
        let loc = crate::store::Location::parse(cfg.store.url.as_deref(), &cfg.store.data_dir)
            .map_err(|e| CliError::new(e.to_string()))?;
        crate::store::open(&loc, &cfg.store)
            .map_err(|e| CliError::new(format!("store {}: {e}", loc.redacted())))
    }
}

/// Flags of `smefin funnel`.
#[derive(Debug, Args)]
pub struct FunnelArgs {
    /// The campaign (its name).
    #[arg(long)]
    pub campaign: String,
    /// A previous campaign to compare with.
    #[arg(long)]
    pub compare: Option<String>,
    /// Only this bank's leads.
    #[arg(long)]
    pub bank: Option<String>,
    /// The report: `.html`, or `.json` for the figures.
    #[arg(long)]
    pub out: PathBuf,
    /// Where the store is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Runs `smefin funnel`.
pub fn run(a: FunnelArgs) -> Result<(), CliError> {
    let html = match a.out.extension().and_then(|e| e.to_str()) {
        Some("html") => true,
        Some("json") => false,
        _ => {
            return Err(CliError::new(format!(
                "--out: {} must end in .html or .json",
                a.out.display()
            )));
        }
    };
    super::check_output_dirs(&[Some(a.out.as_path())])?;
    if let Some(b) = &a.bank {
        crate::incentive::check_bank_id(b)
            .map_err(|why| CliError::new(format!("--bank: {why}")))?;
    }
    let store = a.store.open()?;
    let bank = a.bank.as_deref();
    let funnel = funnel_of(store.as_ref(), &a.campaign, bank, "--campaign")?;
    let previous = match &a.compare {
        Some(c) => Some(funnel_of(store.as_ref(), c, bank, "--compare")?),
        None => None,
    };
    let text = if html {
        crate::report::funnel::html(&funnel, previous.as_ref(), bank)
    } else {
        let v = serde_json::json!({ "funnel": funnel, "previous": previous });
        serde_json::to_string_pretty(&v).map_err(|e| CliError::new(e.to_string()))? + "\n"
    };
    write(&a.out, &text)?;
    let t = &funnel.total;
    super::print(&format!(
        "推送批次 {}：线索 {} 条，已联系 {}，已申请 {}，已获批 {}，放款 {}；写入 {}\n",
        funnel.campaign_id,
        t.leads,
        t.contacted,
        t.applied,
        t.approved,
        t.amount_lent.human(),
        a.out.display()
    ))
}

fn funnel_of(
    store: &dyn crate::store::Backend,
    id: &str,
    bank: Option<&str>,
    flag: &str,
) -> Result<Funnel, CliError> {
    let fail = |e: crate::store::StoreError| CliError::new(format!("{flag} {id}: {e}"));
    let c = store
        .campaign(id)
        .map_err(fail)?
        .ok_or_else(|| CliError::new(format!("{flag}: no campaign `{id}` in the store")))?;
    let rows = funnel_rows(store, id, bank).map_err(fail)?;
    Ok(fold(&c.id, c.as_of, rows))
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}
