//! The pool within one scenario: its balance, what it paid and got back, and
//! its top-up rule.

use crate::riskpool::raw::Period;

/// The top-up rule in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TopUp {
    /// Refill when the balance is below this.
    pub(super) below: i64,
    /// Refill to this.
    pub(super) refill_to: i64,
    /// At most this much in a year.
    pub(super) max_per_year: i64,
}

/// The pool's running figures within one scenario, fen.
#[derive(Debug, Clone, Copy)]
pub(super) struct PoolState {
    pub(super) balance: i64,
    /// Capital provided: initial plus top-ups.
    pub(super) provided: i64,
    pub(super) paid_cum: i64,
    pub(super) returned_cum: i64,
    pub(super) defaulted_amount: i64,
    pub(super) lent: i64,
    pub(super) tripped: bool,
    pub(super) topped_this_year: i64,
}

impl PoolState {
    pub(super) fn new(capital: i64) -> PoolState {
        PoolState {
            balance: capital,
            provided: capital,
            paid_cum: 0,
            returned_cum: 0,
            defaulted_amount: 0,
            lent: 0,
            tripped: false,
            topped_this_year: 0,
        }
    }

    /// Pays period `t`'s claims in full until the pool is dry; what it
    /// cannot pay is unfunded, and the first such period is when it ran dry.
    /// Returns what it paid.
    #[inline]
    pub(super) fn pay(&mut self, claims: i64, t: usize, out: &mut Outcome) -> i64 {
        let paid = claims.min(self.balance.max(0));
        if claims > 0 && claims >= self.balance && out.exhausted_period.is_none() {
            out.exhausted_period = Period::new((t + 1) as u16);
        }
        self.balance -= paid;
        self.paid_cum += paid;
        out.unfunded += claims - paid;
        paid
    }

    /// The top-up rule at the end of period `t` (`ppy` periods a year).
    #[inline]
    /// Returns whether money was added.
    pub(super) fn top_up(&mut self, rule: TopUp, t: usize, ppy: usize) -> bool {
        let mut added = false;
        if self.balance < rule.below {
            let add = (rule.refill_to - self.balance)
                .min(rule.max_per_year - self.topped_this_year)
                .max(0);
            self.balance += add;
            self.provided += add;
            self.topped_this_year += add;
            added = add > 0;
        }
        if (t + 1).is_multiple_of(ppy) {
            self.topped_this_year = 0;
        }
        added
    }
}

/// Outcome of one scenario.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Outcome {
    pub(super) defaults: u32,
    pub(super) loss: i64,
    pub(super) compensation: i64,
    pub(super) unfunded: i64,
    pub(super) exhausted_period: Option<Period>,
    pub(super) breaker_period: Option<Period>,
    pub(super) weight: f64,
}

/// Where a period's defaults are booked: the pool's running figures, the
/// scenario's outcome, and (when asked) the loss by sector.
pub(super) struct Books<'a> {
    pub(super) st: &'a mut PoolState,
    pub(super) out: &'a mut Outcome,
    pub(super) sector_loss: Option<&'a mut [i64]>,
}

impl Books<'_> {
    /// Books `k` defaults of sector `sector` losing `loss` fen in all.
    #[inline]
    pub(super) fn add(&mut self, sector: usize, k: u32, loss: i64) {
        self.out.defaults += k;
        self.out.loss += loss;
        if let Some(sl) = self.sector_loss.as_deref_mut() {
            sl[sector] += loss;
        }
    }
}
