//! `smefin pool subsidy`: the subsidy cost of each year's loans (see
//! [`crate::ledger::subsidy`]), as a table or JSON.

use std::path::PathBuf;

use clap::Args;

use super::pool::{Which, each, open, read_error};
use super::{CliError, print};
use crate::ledger::rolls::Prior;
use crate::ledger::subsidy::{Curve, Estimate, Options, SubsidyCost, subsidy_cost};
use crate::report::text::table::Table;

/// Flags of `smefin pool subsidy`.
#[derive(Debug, Args)]
pub struct SubsidyArgs {
    /// Which pool; `--as-of` is the day of the re-estimate.
    #[command(flatten)]
    pub which: Which,
    /// The discount curve (TOML: `name`, `source`, `uncertain`, `points =
    /// [[years, yield], …]`); default the built-in 国债 curve, a stated
    /// default flagged uncertain.
    #[arg(long)]
    pub curve: Option<PathBuf>,
    /// Months from a default to its claim being paid (0 to 120).
    #[arg(long, default_value_t = 1)]
    pub claim_lag: u32,
    /// The share of a claim the pool gets back (0 to 1).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub recovery_rate: f64,
    /// Months from a claim's payment to its recovery (0 to 120).
    #[arg(long, default_value_t = 12)]
    pub recovery_lag: u32,
    /// Pseudo-loans of the roll rates' prior per state (0: history alone).
    #[arg(long, default_value_t = 20.0, allow_negative_numbers = true)]
    pub prior_strength: f64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

fn options(a: &SubsidyArgs) -> Result<Options, CliError> {
    let bad = |flag: &str, why: &str| Err(CliError::new(format!("--{flag}: {why}")));
    if a.claim_lag > 120 {
        return bad("claim-lag", "must be at most 120 months");
    }
    if a.recovery_lag > 120 {
        return bad("recovery-lag", "must be at most 120 months");
    }
    if !(a.recovery_rate.is_finite() && (0.0..=1.0).contains(&a.recovery_rate)) {
        return bad("recovery-rate", "must be a share from 0 to 1");
    }
    if !(a.prior_strength.is_finite() && (0.0..=1e9).contains(&a.prior_strength)) {
        return bad(
            "prior-strength",
            "must be a number of pseudo-loans from 0 to 1e9",
        );
    }
    Ok(Options {
        claim_lag: a.claim_lag,
        recovery_rate: a.recovery_rate,
        recovery_lag: a.recovery_lag,
        prior: Prior {
            strength: a.prior_strength,
            ..Prior::default()
        },
    })
}

/// Runs `smefin pool subsidy`.
pub fn run(a: SubsidyArgs) -> Result<(), CliError> {
    let o = options(&a)?;
    let curve = match &a.curve {
        None => Curve::builtin(),
        Some(path) => {
            let text = crate::files::read_text(path)
                .map_err(|why| CliError::new(format!("--curve {why}")))?;
            Curve::parse(&text)
                .map_err(|e| CliError::new(format!("--curve {}: {e}", path.display())))?
        }
    };
    let (store, p, as_of) = open(&a.which)?;
    let (pool, store) = (a.which.pool.as_str(), store.as_ref());
    let r = subsidy_cost(&p, |on| each(store, pool, on), as_of, &curve, &o)
        .map_err(read_error(pool))?;
    if a.json {
        let text = serde_json::to_string_pretty(&r).map_err(|e| CliError::new(e.to_string()))?;
        return print(&(text + "\n"));
    }
    print(&text(pool, &p.name, &r))
}

fn rate(x: f64) -> String {
    crate::kernel::percent::fixed(x, 2)
}

fn cells(e: &Estimate) -> [String; 4] {
    [
        e.as_of.to_string(),
        e.cost.human(),
        rate(e.rate),
        format!(
            "{} − {}",
            crate::kernel::money::Yuan(e.claims_paid.0 + e.expected_claims.0).human(),
            crate::kernel::money::Yuan(e.recovered.0 + e.expected_recoveries.0).human()
        ),
    ]
}

/// The table of `r`, pool `pool` of programme `name`.
fn text(pool: &str, name: &str, r: &SubsidyCost) -> String {
    let mut out = format!(
        "{pool}（{name}）各年度纳入贷款的补贴成本（代偿支出减追偿回收的现值，折现到纳入年度1月1日），截至 {}\n",
        r.as_of
    );
    out.push_str(&format!(
        "折现曲线：{}{}\n",
        r.curve.name,
        if r.curve.uncertain {
            "（默认值，未经核实：请以估值日公布的曲线替换，--curve）"
        } else {
            ""
        }
    ));
    if r.cohorts.is_empty() {
        out.push_str(&format!("截至 {} 没有纳入的贷款。\n", r.as_of));
        return out;
    }
    let mut t = Table::new(
        &[
            "年度",
            "笔数",
            "纳入本金",
            "原始估计日",
            "原始成本",
            "成本率",
            "代偿 − 回收",
            "重估日",
            "重估成本",
            "成本率",
            "代偿 − 回收",
        ],
        &[1, 2, 4, 5, 6, 8, 9, 10],
    );
    for c in &r.cohorts {
        let mut row = vec![c.year.to_string(), c.loans.to_string(), c.enrolled.human()];
        row.extend(cells(&c.original));
        match &c.reestimate {
            Some(e) => row.extend(cells(e)),
            None => row.extend(["—".to_string(), "—".into(), "—".into(), "—".into()]),
        }
        t.row(row);
    }
    out.push_str(&t.render(""));
    if r.cohorts.iter().any(|c| c.reestimate.is_none()) {
        out.push_str("—：截至日未晚于该年度末，原始估计即截至日的估计。\n");
    }
    out.push_str(&format!(
        "\n已发生的代偿与回收按发生日折现；未来的按资金池自身历史的月度迁徙率（先验每状态 {} 笔）取期望：违约后 {} 个月支付代偿，回收代偿的 {}，在支付后 {} 个月。\n不含管理费用、担保费与贴息（台账未记录），不含资金池利息收入、摊还与新增贷款。\n",
        r.options.prior.strength,
        r.options.claim_lag,
        rate(r.options.recovery_rate),
        r.options.recovery_lag
    ));
    out
}
