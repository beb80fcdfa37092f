//! `smefin incentives compute`: offline, from CSV files, no server.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::table::Table;
use super::{CliError, print, read_input};
use crate::kernel::percent;
use crate::incentive::{self, IncentiveRules, Quarter, Statement};
use crate::kernel::money::Yuan;

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
        print(&render(&s))?;
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

fn opt(y: Option<Yuan>) -> String {
    y.map_or("—".into(), |y| y.to_fen_string())
}

/// The readable statement.
pub fn render(s: &Statement) -> String {
    let mut o = format!(
        "普惠小微贷款余额增量激励 · {} · 激励比例 {}",
        s.period,
        percent::rate(s.rate)
    );
    if let Some(b) = s.budget {
        o.push_str(&format!(
            " · 预算 {}{}",
            b.human(),
            if s.scaled {
                "（已按比例压降）"
            } else {
                ""
            }
        ));
    }
    o.push('\n');
    let mut t = Table::new(
        &[
            "银行",
            "类型",
            "上季末余额",
            "本季末余额",
            "增量",
            "激励",
            "说明",
        ],
        &[2, 3, 4, 5],
    );
    for l in &s.lines {
        let mut note = l.note.clone();
        for e in &l.excluded {
            if !note.is_empty() {
                note.push('；');
            }
            note.push_str(&format!(
                "剔除{}笔 {}（{}）",
                e.loans,
                e.balance.to_fen_string(),
                e.reason.name_zh()
            ));
        }
        t.row(vec![
            format!("{} {}", l.bank_id, l.bank_name),
            l.institution_type.name_zh().into(),
            opt(l.previous_balance),
            opt(l.balance),
            opt(l.increment),
            l.incentive.to_fen_string(),
            note,
        ]);
    }
    o.push_str(&t.render(""));
    o.push_str(&format!("合计激励：{}\n", s.total.to_fen_string()));
    o
}
