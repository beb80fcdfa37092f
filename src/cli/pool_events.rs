//! `smefin pool events`: the pool's log in the order recorded, its audit
//! trail, as an officer reads it (or one JSON object a line).

use chrono::NaiveDate;

use super::pool::{EventsArgs, each, open, read_error};
use super::{CliError, print};
use crate::ledger::event::EventKind;
use crate::ledger::state::Book;
use crate::report::text::table::Table;

/// Runs `smefin pool events`.
pub fn log(a: EventsArgs) -> Result<(), CliError> {
    let (store, p, as_of) = open(&a.which)?;
    let pool = a.which.pool.as_str();
    // (the fold only to find the loan of a claim's events: a bank is in
    // every event of its own)
    let book = match a.loan {
        Some(_) => Some(
            Book::fold_from(&p, each(store.as_ref(), pool, NaiveDate::MAX), None)
                .map_err(read_error(pool))?,
        ),
        None => None,
    };
    let (mut json, mut t) = (
        String::new(),
        Table::new(
            &["序号", "生效日", "记录时间", "记录人", "请求号", "事件"],
            &[0],
        ),
    );
    let mut after = 0;
    loop {
        let page = store
            .events_page(pool, after, 10_000)
            .map_err(read_error(pool))?;
        let Some(last) = page.last().map(|e| e.seq) else {
            break;
        };
        after = last;
        let picked = page.iter().filter(|e| {
            e.effective <= as_of
                && match &book {
                    Some(b) => b.is_about(e, a.loan.as_deref(), a.bank.as_deref()),
                    None => a.bank.is_none() || e.kind.bank() == a.bank.as_deref(),
                }
        });
        for e in picked {
            if a.json {
                let line = serde_json::json!({
                    "seq": e.seq,
                    "effective": e.effective,
                    "recorded_at": e.recorded_at,
                    "recorded_by": e.recorded_by,
                    "request_id": e.request_id,
                    "event": e.kind,
                });
                json.push_str(&line.to_string());
                json.push('\n');
            } else {
                t.row(vec![
                    e.seq.to_string(),
                    e.effective.to_string(),
                    e.recorded_at.clone(),
                    e.recorded_by.clone(),
                    e.request_id.clone(),
                    describe(&e.kind),
                ]);
            }
        }
    }
    if !a.json && t.is_empty() {
        return print("没有符合条件的事件。\n");
    }
    print(&if a.json { json } else { t.render("") })
}

/// An event in a line, as an officer reads it (a loan or a claim named
/// with its bank: ids are each bank's own).
fn describe(k: &EventKind) -> String {
    match k {
        EventKind::CapitalInjected { amount } => format!("注入资本 {}", amount.human()),
        EventKind::TopUp { amount } => format!("补充资金 {}", amount.human()),
        EventKind::Withdrawal { amount } => format!("调出资金 {}", amount.human()),
        EventKind::InterestCredited { amount } => format!("利息入账 {}", amount.human()),
        EventKind::LoanEnrolled(l) => format!(
            "纳入贷款 {}/{}（{}，{}，{} 个月）",
            l.bank_id,
            l.loan_id,
            l.firm,
            l.amount.human(),
            l.term_months
        ),
        EventKind::LoanStatus {
            bank_id,
            loan_id,
            outstanding,
            days_past_due,
        } => format!(
            "月度状态 {bank_id}/{loan_id}：余额 {}，逾期 {days_past_due} 天",
            outstanding.human()
        ),
        EventKind::LoanRepaid { bank_id, loan_id } => format!("结清 {bank_id}/{loan_id}"),
        EventKind::LoanChargedOff { bank_id, loan_id } => format!("核销 {bank_id}/{loan_id}"),
        EventKind::ClaimFiled {
            bank_id,
            claim_id,
            loan_id,
            claimable,
            ..
        } => format!(
            "申请代偿 {bank_id}/{claim_id}（贷款 {loan_id}，应补偿 {}）",
            claimable.human()
        ),
        EventKind::ClaimApproved { bank_id, claim_id } => {
            format!("批准代偿 {bank_id}/{claim_id}")
        }
        EventKind::ClaimDenied {
            bank_id,
            claim_id,
            reason,
        } => format!("拒绝代偿 {bank_id}/{claim_id}：{}", reason.label()),
        EventKind::ClaimPaid {
            bank_id,
            claim_id,
            amount,
        } => format!("支付代偿 {bank_id}/{claim_id} {}", amount.human()),
        EventKind::RecoveryReported {
            bank_id,
            loan_id,
            amount,
            pool_part,
        } => format!(
            "追偿回收 {bank_id}/{loan_id} {}，返还资金池 {}",
            amount.human(),
            pool_part.human()
        ),
        EventKind::BreakerResumed { bank } => match bank {
            Some(b) => format!("恢复 {b} 的新增纳入"),
            None => "恢复新增纳入".to_string(),
        },
    }
}
