//! A quarter's statement: each bank's line from its latest reports, the
//! budget applied, the adjustment against the version stated before; and
//! the reads it is computed from, which every store provides.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{
    BalanceReport, Bank, IncentiveRules, Quarter, Statement, StatementLine, scale_to_budget,
};
use crate::kernel::money::Yuan;

/// What a statement is computed from, read within one transaction of a
/// store: the banks, the latest report of each bank for a quarter, and the
/// latest statement of a quarter.
pub trait StatementInputs {
    /// The store's error.
    type Error;
    /// Every registered bank, in id order.
    fn banks(&mut self) -> Result<Vec<Bank>, Self::Error>;
    /// The latest version of each bank's report for `period`.
    fn latest_reports(&mut self, period: Quarter) -> Result<Vec<BalanceReport>, Self::Error>;
    /// The latest statement of `period`, if one was computed.
    fn latest_statement(&mut self, period: Quarter) -> Result<Option<Statement>, Self::Error>;
}

/// The statement of `period` from what `inputs` holds: the banks, their
/// latest reports for the quarter and the one before, and (for the
/// adjustment column and the version number) the latest statement.
pub fn statement_from<I: StatementInputs>(
    inputs: &mut I,
    rules: &IncentiveRules,
    period: Quarter,
    budget: Option<Yuan>,
) -> Result<Statement, I::Error> {
    let banks = inputs.banks()?;
    let mut latest: BTreeMap<(String, Quarter), BalanceReport> = BTreeMap::new();
    for p in [period.prev(), period] {
        for r in inputs.latest_reports(p)? {
            latest.insert((r.bank_id.clone(), p), r);
        }
    }
    let previous = inputs.latest_statement(period)?;
    Ok(compute(
        rules,
        period,
        &banks,
        &latest,
        budget,
        previous.as_ref(),
    ))
}

/// Computes the statement of `period` for `banks` from their latest reports.
/// `previous` is the last stated version for the period, if any, for the
/// adjustment column.
pub fn compute(
    rules: &IncentiveRules,
    period: Quarter,
    banks: &[Bank],
    reports: &BTreeMap<(String, Quarter), BalanceReport>,
    budget: Option<Yuan>,
    previous: Option<&Statement>,
) -> Statement {
    let rate = rules.rate(period);
    let mut lines: Vec<StatementLine> = (banks.iter())
        .map(|b| line(rules, period, rate, b, reports))
        .collect();
    let before: Vec<Yuan> = lines.iter().map(|l| l.incentive_before_budget).collect();
    let after = match budget {
        Some(b) => scale_to_budget(&before, b),
        None => before.clone(),
    };
    let scaled = after != before;
    for (l, a) in lines.iter_mut().zip(after) {
        l.incentive = a;
        if let Some(prev) = previous {
            let old = prev
                .lines
                .iter()
                .find(|p| p.bank_id == l.bank_id)
                .map_or(Yuan::ZERO, |p| p.incentive);
            l.previously_stated = Some(old);
            l.adjustment = Some(Yuan(a.0 - old.0));
        }
    }
    // A bank stated before and absent now keeps a line that takes its
    // amount back, so the adjustments add up to the change of the total.
    if let Some(prev) = previous {
        for p in &prev.lines {
            if !banks.iter().any(|b| b.bank_id == p.bank_id) {
                lines.push(taken_back(p));
            }
        }
    }
    let total = Yuan(lines.iter().map(|l| l.incentive.0).sum());
    Statement {
        period,
        version: previous.map_or(1, |p| p.version + 1),
        rate: rate.unwrap_or(Decimal::ZERO),
        budget,
        scaled,
        lines,
        total,
    }
}

/// Bank `b`'s line before the budget: its balances, increment, rate and
/// incentive, or the note that says why it has none.
fn line(
    rules: &IncentiveRules,
    period: Quarter,
    rate: Option<Decimal>,
    b: &Bank,
    reports: &BTreeMap<(String, Quarter), BalanceReport>,
) -> StatementLine {
    let cur = reports.get(&(b.bank_id.clone(), period));
    let prev = reports.get(&(b.bank_id.clone(), period.prev()));
    let mut line = StatementLine {
        bank_id: b.bank_id.clone(),
        bank_name: b.name.clone(),
        institution_type: b.institution_type,
        previous_balance: prev.map(|r| r.balance),
        balance: cur.map(|r| r.balance),
        increment: None,
        rate: Decimal::ZERO,
        incentive_before_budget: Yuan::ZERO,
        incentive: Yuan::ZERO,
        previously_stated: None,
        adjustment: None,
        excluded: cur.map(|r| r.excluded.clone()).unwrap_or_default(),
        note: String::new(),
        error: false,
    };
    if let (Some(c), Some(p)) = (cur, prev) {
        line.increment = Some(Yuan(c.balance.0 - p.balance.0));
    }
    if !rules.qualifies(b.institution_type) {
        line.note = format!(
            "{}不属于地方法人金融机构，不享受激励",
            b.institution_type.name_zh()
        );
    } else if cur.is_none() {
        line.error = true;
        line.note = format!("缺少 {period} 季末余额报告");
    } else if prev.is_none() {
        line.error = true;
        line.note = format!("缺少上季（{}）季末余额报告，无法计算增量", period.prev());
    } else if let Some(r) = rate {
        line.rate = r;
        let inc = line.increment.map_or(Decimal::ZERO, |i| i.0);
        if inc > Decimal::ZERO {
            line.incentive_before_budget = Yuan(inc * r).round_fen();
        } else {
            line.note = "余额未增加，不享受激励".into();
        }
    } else {
        line.note = format!("{period} 不在激励期内（未配置激励比例）");
    }
    line
}

/// The line of a bank stated before and absent now: its amount taken back.
fn taken_back(p: &StatementLine) -> StatementLine {
    StatementLine {
        bank_id: p.bank_id.clone(),
        bank_name: p.bank_name.clone(),
        institution_type: p.institution_type,
        previous_balance: None,
        balance: None,
        increment: None,
        rate: Decimal::ZERO,
        incentive_before_budget: Yuan::ZERO,
        incentive: Yuan::ZERO,
        previously_stated: Some(p.incentive),
        adjustment: Some(Yuan(-p.incentive.0)),
        excluded: Vec::new(),
        note: "本版银行名单中已无此行，前版金额冲回".into(),
        error: false,
    }
}
