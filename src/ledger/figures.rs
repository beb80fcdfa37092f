//! A pool's figures (of the whole pool or of one bank) and its breakers,
//! as the fold moves them loan by loan and claim by claim.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::state::{Claim, ClaimStatus, LoanState, add, bucket, sub};
use crate::kernel::money::Yuan;

/// Figures of the whole pool or of one bank.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Loans enrolled, ever.
    pub enrolled_loans: u64,
    /// Principal enrolled, ever.
    pub enrolled: Yuan,
    /// Principal outstanding.
    pub outstanding: Yuan,
    /// Outstanding per bucket (see [`BUCKETS`](super::state::BUCKETS)).
    pub buckets: [Yuan; 5],
    /// Outstanding of loans past the trigger or charged off.
    pub npl: Yuan,
    /// Claims paid, ever (amount).
    pub claims_paid: Yuan,
    /// Claims paid at least in part, ever (count).
    pub claims_paid_loans: u64,
    /// The pool's part of recoveries, ever.
    pub recovered: Yuan,
    /// Loans at or past the trigger with no claim yet.
    pub pipeline_loans: u64,
    /// Their outstanding.
    pub pipeline: Yuan,
    /// Approved claims not yet paid in full: what is still owed.
    pub committed: Yuan,
}

impl Figures {
    pub(super) fn take(&mut self, l: &LoanState) {
        sub(&mut self.outstanding, l.outstanding);
        sub(
            &mut self.buckets[bucket(if l.charged_off { u32::MAX } else { l.dpd })],
            l.outstanding,
        );
        if l.npl() {
            sub(&mut self.npl, l.outstanding);
        }
        if l.in_pipeline() {
            self.pipeline_loans -= 1;
            sub(&mut self.pipeline, l.outstanding);
        }
    }

    pub(super) fn put(&mut self, l: &LoanState) {
        add(&mut self.outstanding, l.outstanding);
        add(
            &mut self.buckets[bucket(if l.charged_off { u32::MAX } else { l.dpd })],
            l.outstanding,
        );
        if l.npl() {
            add(&mut self.npl, l.outstanding);
        }
        if l.in_pipeline() {
            self.pipeline_loans += 1;
            add(&mut self.pipeline, l.outstanding);
        }
    }

    /// `c` counted out of the committed claims.
    pub(super) fn take_claim(&mut self, c: &Claim) {
        if c.status == ClaimStatus::Approved {
            sub(&mut self.committed, c.owed());
        }
    }

    /// `c` counted into the committed claims.
    pub(super) fn put_claim(&mut self, c: &Claim) {
        if c.status == ClaimStatus::Approved {
            add(&mut self.committed, c.owed());
        }
    }

    /// 不良率: non-performing over outstanding (`None` with nothing out).
    pub fn npl_rate(&self) -> Option<Decimal> {
        (self.outstanding.0 > Decimal::ZERO).then(|| self.npl.0 / self.outstanding.0)
    }
}

/// A breaker's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below the warn level.
    Normal,
    /// At or above the warn level.
    Warning,
    /// At or above the suspend level: no new enrolment until the bureau
    /// resumes it with the rate back below.
    Suspended,
}

/// A breaker (the programme's or one bank's) and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breaker {
    /// Its level now.
    pub level: Level,
    /// Each change: the day and the new level.
    pub history: Vec<(NaiveDate, Level)>,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            level: Level::Normal,
            history: Vec::new(),
        }
    }
}

impl Breaker {
    fn set(&mut self, d: NaiveDate, level: Level) {
        if level != self.level {
            self.level = level;
            self.history.push((d, level));
        }
    }

    /// After the metric moved to `rate` on `d`: a suspension holds until
    /// resumed.
    pub(super) fn evaluate(
        &mut self,
        d: NaiveDate,
        rate: Option<Decimal>,
        warn: Decimal,
        suspend: Decimal,
    ) {
        if self.level == Level::Suspended {
            return;
        }
        let r = rate.unwrap_or(Decimal::ZERO);
        let level = if r >= suspend {
            Level::Suspended
        } else if r >= warn {
            Level::Warning
        } else {
            Level::Normal
        };
        self.set(d, level);
    }

    pub(super) fn resume(&mut self, d: NaiveDate, rate: Option<Decimal>, warn: Decimal) {
        let warned = rate.is_some_and(|r| r >= warn);
        self.set(
            d,
            if warned {
                Level::Warning
            } else {
                Level::Normal
            },
        );
    }
}
