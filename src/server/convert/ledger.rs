//! `ledger_service.proto` ← the ledger's state.

use rust_decimal::Decimal;

use crate::ledger::state::{Figures, Level};
use crate::ledger::{BankState, PoolFigures, PoolState, Rates};
use crate::server::pb;

fn dec(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

fn level(l: Level) -> i32 {
    let l = match l {
        Level::Normal => pb::BreakerLevel::Normal,
        Level::Warning => pb::BreakerLevel::Warning,
        Level::Suspended => pb::BreakerLevel::Suspended,
    };
    l as i32
}

fn figures(f: &Figures) -> pb::LedgerFigures {
    pb::LedgerFigures {
        enrolled_loans: f.enrolled_loans,
        enrolled: f.enrolled.to_fen_string(),
        outstanding: f.outstanding.to_fen_string(),
        buckets: f.buckets.iter().map(|b| b.to_fen_string()).collect(),
        npl: f.npl.to_fen_string(),
        npl_rate: dec(f.npl_rate().map(|r| r.round_dp(6))),
        claims_paid: f.claims_paid.to_fen_string(),
        claims_paid_loans: f.claims_paid_loans,
        recovered: f.recovered.to_fen_string(),
        pipeline_loans: f.pipeline_loans,
        pipeline: f.pipeline.to_fen_string(),
        committed: f.committed.to_fen_string(),
    }
}

fn rates(r: &Rates) -> pb::LedgerRates {
    pb::LedgerRates {
        by_amount: dec(r.by_amount),
        by_count: dec(r.by_count),
        in_period: dec(r.in_period),
        period_start: r.period_start.map(|d| d.to_string()).unwrap_or_default(),
        recovery: dec(r.recovery),
    }
}

fn pool(p: &PoolFigures) -> pb::PoolFigures {
    pb::PoolFigures {
        cash: p.cash.to_fen_string(),
        capital: p.capital.to_fen_string(),
        interest: p.interest.to_fen_string(),
        figures: Some(figures(&p.figures)),
        credit_scale: p.credit_scale.to_fen_string(),
        scale_left: p.scale_left.to_fen_string(),
        leverage: dec(p.leverage),
        rates: Some(rates(&p.rates)),
        breaker: level(p.breaker.level),
        breaker_history: p
            .breaker
            .history
            .iter()
            .map(|(d, l)| pb::BreakerChange {
                date: d.to_string(),
                level: level(*l),
            })
            .collect(),
        top_up_due: p
            .top_up_due
            .map(|(_, y)| y.to_fen_string())
            .unwrap_or_default(),
        top_up_by: p.top_up_due.map(|(d, _)| d.to_string()).unwrap_or_default(),
    }
}

fn bank(b: &BankState) -> pb::BankLedgerState {
    pb::BankLedgerState {
        bank_id: b.bank_id.clone(),
        figures: Some(figures(&b.figures)),
        rates: Some(rates(&b.rates)),
        breaker: level(b.breaker),
    }
}

/// The state on the wire.
pub fn state(s: &PoolState) -> pb::GetPoolStateResponse {
    pb::GetPoolStateResponse {
        as_of: s.as_of.to_string(),
        enrolment_open: s.enrolment_open,
        version_from: s.version_from.map(|d| d.to_string()).unwrap_or_default(),
        pool: s.pool.as_ref().map(pool),
        banks: s.banks.iter().map(bank).collect(),
        known_at: s.known_at.clone().unwrap_or_default(),
    }
}
