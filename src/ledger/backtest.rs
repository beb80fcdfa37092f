//! A projection made as of an earlier date set beside what the ledger then
//! recorded: each month end's cash against the projected fan, the claims
//! paid against the projected ones, the breaker against its projected
//! chance — and how often the actual fell inside the 5th–95th percentile
//! band (90% if the projection is calibrated).

use chrono::NaiveDate;
use serde::Serialize;

use super::history::Month;
use super::project::Projection;
use super::state::Level;
use crate::kernel::money::Yuan;

/// One month of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checked {
    /// Month end.
    pub end: NaiveDate,
    /// The cash the ledger recorded.
    pub cash: Yuan,
    /// The projection's 5th and 95th percentiles for it.
    pub band: (Yuan, Yuan),
    /// Whether it fell inside.
    pub inside: bool,
    /// The breaker was suspended at the month end.
    pub suspended: bool,
    /// The projected chance it had tripped by then.
    pub tripped_by: f64,
}

/// A backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Month by month, as far as the ledger goes.
    pub months: Vec<Checked>,
    /// Share of the months inside the band.
    pub coverage: Option<f64>,
    /// Claims the ledger paid over those months.
    pub claims_paid: Yuan,
}

/// Sets projection `r` beside the ledger's month ends `actual` (those after
/// the projection's date, in order).
pub fn backtest(r: &Projection, actual: &[Month]) -> Backtest {
    let months: Vec<Checked> = actual
        .iter()
        .filter(|m| m.end > r.as_of)
        .zip(r.cash_fan.iter().zip(&r.tripped_by))
        .map(|(m, (fan, tripped))| {
            let band = (fan[0], fan[4]);
            Checked {
                end: m.end,
                cash: m.cash,
                band,
                inside: band.0 <= m.cash && m.cash <= band.1,
                suspended: m.breaker == Level::Suspended,
                tripped_by: *tripped,
            }
        })
        .collect();
    let n = months.len();
    let claims_paid = Yuan(
        actual
            .iter()
            .filter(|m| m.end > r.as_of)
            .take(n)
            .map(|m| m.claims_paid.0)
            .sum(),
    );
    Backtest {
        coverage: (n > 0).then(|| months.iter().filter(|m| m.inside).count() as f64 / n as f64),
        months,
        claims_paid,
    }
}
