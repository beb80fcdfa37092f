//! `smefin incentives compute`: offline, from CSV files, no server.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{CliError, print, read_input};
use crate::incentive::{self, IncentiveRules, Quarter};
use crate::kernel::money::Yuan;
use crate::report::text;

/// Incentive actions.
#[derive(Debug, Subcommand)]
pub enum IncentiveCommand {
    /// Compute a quarter's statement from CSV files.
    Compute(ComputeArgs),
}

/// Flags of `smefin incentives compute`.
#[derive(Debug, Args)]
pub struct ComputeArgs {
    /// Balances: bank_id,bank_name,institution_type,period,balance.
    #[arg(long)]
    pub reports: Option<PathBuf>,
    /// Banks: bank_id,bank_name,institution_type (for --loans without --reports).
    #[arg(long)]
    pub banks: Option<PathBuf>,
    /// Loans: bank_id,period,loan_id,borrower_id,borrower_type,purpose,credit_line,balance.
    #[arg(long)]
    pub loans: Option<PathBuf>,
    /// The quarter, e.g. 2023Q2.
    #[arg(long)]
    pub period: String,
    /// Budget for the quarter ("500万"): incentives are scaled pro rata to it.
    #[arg(long)]
    pub budget: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Configuration file whose [incentive] section sets the rate schedule,
    /// qualifying types and credit-line limits.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Runs an incentive action.
pub fn run(cmd: IncentiveCommand) -> Result<(), CliError> {
    match cmd {
        IncentiveCommand::Compute(a) => compute(a),
    }
}

fn compute(a: ComputeArgs) -> Result<(), CliError> {
    let period: Quarter = a
        .period
        .parse()
        .map_err(|e: String| CliError::new(format!("--period: {e}")))?;
    let budget = match &a.budget {
        Some(b) => Some(Yuan::parse_fen(b).map_err(|e| CliError::new(format!("--budget: {e}")))?),
        None => None,
    };
    if a.reports.is_none() && a.loans.is_none() {
        return Err(CliError::new("give --reports and/or --loans"));
    }
    let rules: IncentiveRules = crate::config::Config::load(a.config.as_deref(), std::env::vars())
        .map_err(|e| CliError::new(e.to_string()))?
        .incentive;
    let mut inputs = incentive::csv::Inputs::default();
    let mut errs = Vec::new();
    if let Some(p) = &a.reports {
        inputs.add_balances(&read_input(p)?, &p.display().to_string(), &mut errs);
    }
    if let Some(p) = &a.banks {
        inputs.add_banks(&read_input(p)?, &p.display().to_string(), &mut errs);
    }
    if let Some(p) = &a.loans {
        inputs.add_loans(&read_input(p)?, &p.display().to_string(), &rules, &mut errs);
    }
    if !errs.is_empty() {
        return Err(CliError::new(format!(
            "invalid input: {}",
            crate::kernel::violation::describe_all(&errs)
        )));
    }
    let banks: Vec<_> = inputs.banks.values().cloned().collect();
    let s = incentive::compute(&rules, period, &banks, &inputs.reports, budget, None);
    if a.json {
        let text = serde_json::to_string_pretty(&s).map_err(|e| CliError::new(e.to_string()))?;
        print(&format!("{text}\n"))?;
    } else {
        print(&text::incentive::render(&s))?;
    }
    let failed = s.lines.iter().filter(|l| l.error).count();
    if failed > 0 {
        return Err(CliError {
            message: format!("{failed} bank(s) could not be computed (see the notes)"),
            code: 3,
            io: None,
        });
    }
    Ok(())
}
