//! The `smefin` command line: raw flags (clap derive) → validated run → exit
//! code. Errors print one line to stderr and exit non-zero; output that goes
//! to a closed pipe ends quietly.

mod campaign;
mod catalog;
mod from_pool;
mod funnel;
mod incentive;
mod lead_files;
mod matching;
mod merge;
mod pool;
mod pool_events;
mod riskpool;
mod rolls;
mod serve;
mod stress;
mod subsidy;
mod token;

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::catalog::Catalog;

/// smefin — SME financing support for Jiangxi's programmes.
#[derive(Debug, Parser)]
#[command(name = "smefin", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server (default 127.0.0.1:50051).
    Serve(serve::ServeArgs),
    /// Match one enterprise (PROFILE.json, or - for stdin) or a whole registry
    /// (--input firms.jsonl --output results.jsonl) against the catalogue.
    Match(matching::MatchArgs),
    /// Size classification (划型) and credit-code check of an enterprise.
    Classify(matching::ClassifyArgs),
    /// A registry's leads (精准推送): the firms eligible for a product they
    /// do not already hold, assigned to its banks, as XLSX or CSV.
    Campaign(campaign::CampaignArgs),
    /// What became of a stored campaign's leads (推送成效): the funnel by
    /// product, bank, region and size, as HTML or JSON.
    Funnel(funnel::FunnelArgs),
    /// Monte Carlo of a risk-compensation pool (SPEC, or `default` for the
    /// 工信通 pool: 3000万 behind 6亿).
    Simulate(riskpool::SimulateArgs),
    /// Merge the part files of a sharded simulation.
    Merge(merge::MergeArgs),
    /// Stress grid: exhaustion probability over PD multipliers × ρ × share.
    Stress(stress::StressArgs),
    /// Largest credit scale (or smallest capital) for a target exhaustion
    /// probability.
    Leverage(stress::LeverageArgs),
    /// 普惠小微 incentive statements, offline from CSV files.
    Incentives {
        /// Incentive action.
        #[command(subcommand)]
        action: incentive::IncentiveCommand,
    },
    /// Make bearer tokens for the token file.
    Token {
        /// Token action.
        #[command(subcommand)]
        action: token::TokenCommand,
    },
    /// The pool ledger on the server's store: import a bank's monthly status
    /// file, print the state, write the report.
    Pool {
        /// Pool action.
        #[command(subcommand)]
        action: pool::PoolCommand,
    },
    /// Inspect or validate a product catalogue.
    Catalog {
        /// Catalogue action.
        #[command(subcommand)]
        action: catalog::CatalogCommand,
    },
}

/// A CLI failure: a one-line message and an exit code, and the I/O error
/// behind it when there is one (so a closed pipe is recognised by its kind,
/// not by its text).
#[derive(Debug)]
pub struct CliError {
    /// Message (one line).
    pub message: String,
    /// Exit code.
    pub code: u8,
    /// The I/O error, when the failure is one.
    pub io: Option<io::ErrorKind>,
}

impl CliError {
    /// A failure with exit code 1.
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
            io: None,
        }
    }

    /// Whether the failure is writing to a reader that went away
    /// (`smefin … | head`): not an error for the user.
    pub fn is_broken_pipe(&self) -> bool {
        self.io == Some(io::ErrorKind::BrokenPipe)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError {
            message: e.to_string(),
            code: 1,
            io: Some(e.kind()),
        }
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Match(a) => matching::run_match(a),
        Command::Classify(a) => matching::run_classify(a),
        Command::Campaign(a) => campaign::run(a),
        Command::Funnel(a) => funnel::run(a),
        Command::Catalog { action } => catalog::run(action),
        Command::Pool { action } => pool::run(action),
        Command::Incentives { action } => incentive::run(action),
        Command::Token { action } => token::run(action),
        Command::Simulate(a) => riskpool::run_simulate(a),
        Command::Merge(a) => merge::run_merge(a),
        Command::Stress(a) => stress::run_stress(a),
        Command::Leverage(a) => stress::run_leverage(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "smefin: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Loads the catalogue from `path`, or the built-in one.
fn load_catalog(path: Option<&Path>) -> Result<Catalog, CliError> {
    match path {
        Some(p) => crate::files::catalog(p).map_err(|e| CliError::new(e.to_string())),
        None => Ok(Catalog::builtin()),
    }
}

/// Refuses, before any work, a `--product` the catalogue does not have (it
/// would make every firm's match fail, one by one).
fn check_products(catalog: &Catalog, products: &[String]) -> Result<(), CliError> {
    match products.iter().find(|id| catalog.product(id).is_none()) {
        Some(id) => Err(CliError::new(format!("--product: unknown product `{id}`"))),
        None => Ok(()),
    }
}

/// Warns (on standard error) when the match date is more than a month past
/// the catalogue's last LPR row: costs are then priced at a rate that may
/// have changed since.
fn warn_stale_lpr(catalog: &Catalog, as_of: chrono::NaiveDate) {
    if let Some(last) = catalog.lpr.last().map(|r| r.effective)
        && as_of > last + chrono::Days::new(31)
    {
        eprintln!(
            "注意：目录中的1年期LPR最后一行生效于 {last}，匹配日期 {as_of} 已晚一个多月，年化成本按该行利率计算；请以 --catalog 提供含新 [[lpr]] 行的目录"
        );
    }
}

/// Reads a whole file, or stdin for `-`.
fn read_input(path: &Path) -> Result<String, CliError> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::stdin(), &mut bytes)
            .map_err(|e| CliError::new(format!("stdin: {e}")))?;
        crate::files::utf8(bytes).map_err(|why| CliError::new(format!("stdin: {why}")))
    } else {
        crate::files::read_text(path).map_err(CliError::new)
    }
}

/// Writes text to stdout.
/// Refuses, before any work, a file to write (`--out`, `--report`) whose
/// directory does not exist: a long run is not lost to a mistyped path.
fn check_output_dirs(paths: &[Option<&Path>]) -> Result<(), CliError> {
    for p in paths.iter().flatten() {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(CliError::new(format!(
                "{}: directory {} does not exist",
                p.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}

fn print(s: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Parses `--as-of`, defaulting to today in China Standard Time.
fn as_of(s: &Option<String>) -> Result<chrono::NaiveDate, CliError> {
    match s {
        None => Ok(crate::files::today_cst()),
        Some(d) => {
            crate::kernel::date::parse_date(d).map_err(|e| CliError::new(format!("--as-of: {e}")))
        }
    }
}

/// Parses `--threads`: 1 to [`crate::config::MAX_THREADS`]. Leaving the
/// option out gives one thread per core.
fn parse_threads(s: &str) -> Result<usize, String> {
    let max = crate::config::MAX_THREADS;
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        Ok(n) => Err(format!(
            "{n} is not in 1..={max} (leave --threads out for one per core)"
        )),
        Err(e) => Err(e.to_string()),
    }
}
