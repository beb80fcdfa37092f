//! `smefin simulate --from-pool`: the pool the ledger holds as the
//! simulator's book ([`crate::livebook`]), read from the store the flags
//! name.

use clap::Args;

use super::CliError;
use super::funnel::StoreArgs;
use super::pool::{Which, each, open, read_error};
use crate::ledger::rolls;
use crate::livebook::{self, Options};
use crate::riskpool::spec::Spec;

/// The flags of `smefin simulate --from-pool`.
#[derive(Debug, Args)]
pub struct FromPoolArgs {
    /// Simulate the pool the ledger holds (its id) instead of a spec file:
    /// its open loans, cash and rules as of `--as-of`, twelve months ahead.
    #[arg(long, conflicts_with_all = ["spec", "print_default", "shard"])]
    pub from_pool: Option<String>,
    /// The ledger's date to start from (YYYY-MM-DD); default today (UTC+8).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Asset correlation ρ (default 0.15, as `smefin pool project`).
    #[arg(long, allow_negative_numbers = true)]
    pub rho: Option<f64>,
    /// The share of a loss recovered: each loan's LGD is 1 − it (default
    /// 0.2, as `smefin pool project`).
    #[arg(long, allow_negative_numbers = true)]
    pub recovery_rate: Option<f64>,
    /// Pseudo-loans of the roll rates' prior per state (default 20; 0 to
    /// 1e9).
    #[arg(long, allow_negative_numbers = true)]
    pub prior_strength: Option<f64>,
    /// The programmes file the server uses (`ledger.programmes`).
    #[arg(long)]
    pub programmes: Option<std::path::PathBuf>,
    /// Where the ledger's store is.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Refuses the flags of `--from-pool` given without it (each named).
pub fn unused(a: &FromPoolArgs) -> Result<(), CliError> {
    let given = [
        ("as-of", a.as_of.is_some()),
        ("rho", a.rho.is_some()),
        ("recovery-rate", a.recovery_rate.is_some()),
        ("prior-strength", a.prior_strength.is_some()),
        ("programmes", a.programmes.is_some()),
        ("config", a.store.config.is_some()),
        ("data-dir", a.store.data_dir.is_some()),
        ("store-url", a.store.store_url.is_some()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((flag, _)) if a.from_pool.is_none() => Err(CliError::new(format!(
            "--{flag}: only with --from-pool (a spec file says it itself)"
        ))),
        _ => Ok(()),
    }
}

/// The options as given, the defaults for those not.
fn options(a: &FromPoolArgs) -> Options {
    let d = Options::default();
    Options {
        rho: a.rho.unwrap_or(d.rho),
        recovery_rate: a.recovery_rate.unwrap_or(d.recovery_rate),
        prior_strength: a.prior_strength.unwrap_or(d.prior_strength),
    }
}

/// The spec of pool `pool` as the ledger holds it, and what the reader
/// should know of how it was built.
pub fn spec(
    a: &FromPoolArgs,
    pool: &str,
    scenarios: Option<u64>,
    seed: Option<u64>,
) -> Result<(Spec, Vec<String>), CliError> {
    // (a problem named as the flag that gives it)
    let flagged = |e: livebook::Problem| {
        let flag = match e.field {
            "pool_id" => "from-pool".to_string(),
            f => f.replace('_', "-"),
        };
        CliError::new(format!("--{flag}: {}", e.why))
    };
    let o = options(a);
    o.check().map_err(flagged)?;
    let which = Which {
        pool: pool.to_string(),
        as_of: a.as_of.clone(),
        programmes: a.programmes.clone(),
        store: StoreArgs {
            config: a.store.config.clone(),
            data_dir: a.store.data_dir.clone(),
            store_url: a.store.store_url.clone(),
        },
    };
    // (the pool is named by --from-pool here)
    let named = |mut e: CliError| {
        e.message = e.message.replacen("--pool", "--from-pool", 1);
        e
    };
    let (store, p, as_of) = open(&which).map_err(named)?;
    let (rates, book) =
        rolls::estimate_from(&p, each(store.as_ref(), pool, as_of), as_of, &o.prior())
            .map_err(read_error(pool))
            .map_err(named)?;
    livebook::spec(pool, &p, (&book, &rates), as_of, &o, (scenarios, seed)).map_err(flagged)
}
