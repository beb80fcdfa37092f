//! `smefin simulate --from-pool`: the pool the ledger holds as the
//! simulator's book, so the existing engines run it (the exact method with
//! its Monte Carlo certificate where it applies). Each open loan is a loan
//! of the book at its outstanding, with the chance that the roll-rate chain
//! of the pool's own history takes a loan of its state to default within
//! twelve months as its PD (one annual period), and `1 − recovery rate` as
//! its LGD, its bank as its sector; the capital is the cash less what is
//! already owed (approved and filed claims not yet paid, and the claims of
//! loans at the trigger); the share and the cap are the programme's.

use clap::Args;

use super::CliError;
use super::funnel::StoreArgs;
use super::pool::{Which, each, open, read_error};
use crate::kernel::money::Yuan;
use crate::ledger::rolls::{self, Prior};
use crate::ledger::state::ClaimStatus;
use crate::riskpool::spec::{LgdSpec, LoanSpec, Spec};

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

/// ρ, the recovery rate and the prior's strength, each checked.
fn options(a: &FromPoolArgs) -> Result<(f64, f64, f64), CliError> {
    let bad = |flag: &str, why: &str| Err(CliError::new(format!("--{flag}: {why}")));
    let d = crate::ledger::project::Options::default();
    let rho = a.rho.unwrap_or(d.rho);
    if !(rho.is_finite() && (0.0..1.0).contains(&rho)) {
        return bad("rho", "must be at least 0 and below 1");
    }
    let rr = a.recovery_rate.unwrap_or(d.recovery_rate);
    if !(rr.is_finite() && (0.0..=1.0).contains(&rr)) {
        return bad("recovery-rate", "must be a share from 0 to 1");
    }
    let strength = a.prior_strength.unwrap_or(Prior::default().strength);
    if !(strength.is_finite() && (0.0..=1e9).contains(&strength)) {
        return bad(
            "prior-strength",
            "must be a number of pseudo-loans from 0 to 1e9",
        );
    }
    Ok((rho, rr, strength))
}

/// The open loans of `book` as the simulator's (PD by state `pd`, LGD
/// `1 − rr`), and what is already owed (fen-exact yuan): claims filed or
/// approved and not yet paid, and the claims (`claim` of the outstanding)
/// of loans at the trigger.
fn open_loans(
    book: &crate::ledger::state::Book,
    pd: &[f64; 4],
    rr: f64,
    claim: impl Fn(Yuan) -> rust_decimal::Decimal,
) -> (Vec<LoanSpec>, rust_decimal::Decimal) {
    let (mut loans, mut owed) = (Vec::new(), rust_decimal::Decimal::ZERO);
    let mut ids: Vec<&String> = book.loans.keys().collect();
    ids.sort();
    for id in ids {
        let l = &book.loans[id];
        let s = rolls::state_of(l);
        match l
            .claim
            .as_ref()
            .and_then(|c| book.claim(&l.loan.bank_id, c))
        {
            Some(c) if matches!(c.status, ClaimStatus::Filed | ClaimStatus::Approved) => {
                owed += c.owed().0;
            }
            Some(_) => {}
            None if s == 4 && !l.outstanding.0.is_zero() => owed += claim(l.outstanding),
            None if s < 4 && !l.outstanding.0.is_zero() => loans.push(LoanSpec {
                id: l.loan.loan_id.clone(),
                amount: l.outstanding,
                pd: pd[s],
                lgd: LgdSpec::Fixed(1.0 - rr),
                sector: l.loan.bank_id.clone(),
                term_months: 12,
                turnover: None,
            }),
            None => {}
        }
    }
    (loans, owed)
}

/// The spec of pool `pool` as the ledger holds it, and what the reader
/// should know of how it was built.
pub fn spec(
    a: &FromPoolArgs,
    pool: &str,
    scenarios: Option<u64>,
    seed: Option<u64>,
) -> Result<(Spec, Vec<String>), CliError> {
    let (rho, rr, strength) = options(a)?;
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
    let prior = Prior {
        strength,
        ..Prior::default()
    };
    let (rates, book) = rolls::estimate_from(&p, each(store.as_ref(), pool, as_of), as_of, &prior)
        .map_err(read_error(pool))
        .map_err(named)?;
    let v = p.version_on(as_of).ok_or_else(|| {
        CliError::new(format!(
            "--as-of: programme {} had no rules in force on {as_of}",
            p.name
        ))
    })?;
    let claim = |y: Yuan| v.claim_of(y);
    let pd = rolls::default_within(&crate::ledger::project::matrix(&rates), 12);
    let (loans, owed) = open_loans(&book, &pd, rr, claim);
    if loans.is_empty() {
        return Err(CliError::new(format!(
            "--from-pool {pool}: the pool has no open loan on {as_of} to simulate"
        )));
    }
    let capital = Yuan((book.cash.0 - owed).max(rust_decimal::Decimal::ZERO)).round_fen();
    let mut spec = Spec::default();
    spec.seed = seed.unwrap_or(spec.seed);
    spec.scenarios = scenarios.unwrap_or(spec.scenarios);
    spec.pool.capital = capital;
    spec.pool.compensation_share =
        rust_decimal::prelude::ToPrimitive::to_f64(&v.pool_share).unwrap_or(0.0);
    spec.pool.per_loan_cap = v.coverage_cap;
    spec.dependence.rho = rho;
    spec.portfolio.loans = loans;
    let notes = vec![format!(
        "{pool} on {as_of}: {} open loans; capital {} (cash {} less {} already owed); PD the chance of default within 12 months by roll-rate state ({}), LGD {}, ρ {rho}",
        spec.portfolio.loans.len(),
        capital.human(),
        book.cash.human(),
        Yuan(owed).round_fen().human(),
        pd.iter()
            .zip(rolls::STATES)
            .map(|(p, s)| format!("{s} {}", crate::kernel::percent::fixed(*p, 2)))
            .collect::<Vec<_>>()
            .join(", "),
        1.0 - rr
    )];
    Ok((spec, notes))
}
