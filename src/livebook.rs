//! The pool the ledger holds as the simulator's book, so the existing
//! engines run it (the exact method with its Monte Carlo certificate where
//! it applies). Each open loan is a loan of the book at its outstanding,
//! with the chance that the roll-rate chain of the pool's own history
//! takes a loan of its state to default within twelve months as its PD
//! (one annual period), and `1 − recovery rate` as its LGD, its bank as its
//! sector; the capital is the cash less what is already owed (approved and
//! filed claims not yet paid, and the claims of loans at the trigger); the
//! share and the cap are the programme's.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::kernel::money::Yuan;
use crate::ledger::rolls::{self, RollRates};
use crate::ledger::rules::Programme;
use crate::ledger::state::{Book, ClaimStatus};
use crate::riskpool::spec::{LgdSpec, LoanSpec, Spec};

/// How the live book is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Asset correlation ρ.
    pub rho: f64,
    /// The share of a loss recovered: each loan's LGD is 1 − it.
    pub recovery_rate: f64,
    /// Pseudo-loans of the roll rates' prior per state.
    pub prior_strength: f64,
}

impl Default for Options {
    fn default() -> Self {
        let d = crate::ledger::project::Options::default();
        Options {
            rho: d.rho,
            recovery_rate: d.recovery_rate,
            prior_strength: rolls::Prior::default().strength,
        }
    }
}

/// What is wrong: the option (`rho`, `recovery_rate`, `prior_strength`,
/// `as_of`, `pool_id`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The option.
    pub field: &'static str,
    /// Why.
    pub why: String,
}

fn problem(field: &'static str, why: impl Into<String>) -> Problem {
    Problem {
        field,
        why: why.into(),
    }
}

impl Options {
    /// Each option within its range, or the first that is not.
    pub fn check(&self) -> Result<(), Problem> {
        if !(self.rho.is_finite() && (0.0..1.0).contains(&self.rho)) {
            return Err(problem("rho", "must be at least 0 and below 1"));
        }
        if !(self.recovery_rate.is_finite() && (0.0..=1.0).contains(&self.recovery_rate)) {
            return Err(problem("recovery_rate", "must be a share from 0 to 1"));
        }
        if !(self.prior_strength.is_finite() && (0.0..=1e9).contains(&self.prior_strength)) {
            return Err(problem(
                "prior_strength",
                "must be a number of pseudo-loans from 0 to 1e9",
            ));
        }
        Ok(())
    }

    /// The roll rates' prior.
    pub fn prior(&self) -> rolls::Prior {
        rolls::Prior {
            strength: self.prior_strength,
            ..rolls::Prior::default()
        }
    }
}

/// The open loans of `book` as the simulator's (PD by state `pd`, LGD
/// `1 − rr`), and what is already owed (fen-exact yuan): claims filed or
/// approved and not yet paid, and the claims (`claim` of the outstanding)
/// of loans at the trigger.
fn open_loans(
    book: &Book,
    pd: &[f64; 4],
    rr: f64,
    claim: impl Fn(Yuan) -> Decimal,
) -> (Vec<LoanSpec>, Decimal) {
    let (mut loans, mut owed) = (Vec::new(), Decimal::ZERO);
    let mut keys: Vec<&String> = book.loans.keys().collect();
    keys.sort();
    for k in keys {
        let l = &book.loans[k];
        let s = rolls::state_of(l);
        match l
            .claim
            .as_ref()
            .and_then(|c| book.claim(&l.loan.bank_id, c))
        {
            Some(c) if matches!(c.status, ClaimStatus::Filed | ClaimStatus::Approved) => {
                owed += c.owed().0;
            }
            Some(_) => {}
            None if s == 4 && !l.outstanding.0.is_zero() => owed += claim(l.outstanding),
            None if s < 4 && !l.outstanding.0.is_zero() => loans.push(LoanSpec {
                id: k.clone(),
                amount: l.outstanding,
                pd: pd[s],
                lgd: LgdSpec::Fixed(1.0 - rr),
                sector: l.loan.bank_id.clone(),
                term_months: 12,
                turnover: None,
            }),
            None => {}
        }
    }
    (loans, owed)
}

/// The spec of pool `pool` of `programme`, its `book` and roll `rates` as
/// of `as_of`, and what the reader should know of how it was built.
pub fn spec(
    pool: &str,
    programme: &Programme,
    (book, rates): (&Book, &RollRates),
    as_of: NaiveDate,
    o: &Options,
    (scenarios, seed): (Option<u64>, Option<u64>),
) -> Result<(Spec, Vec<String>), Problem> {
    o.check()?;
    let v = programme.version_on(as_of).ok_or_else(|| {
        problem(
            "as_of",
            format!(
                "programme {} had no rules in force on {as_of}",
                programme.name
            ),
        )
    })?;
    let pd = rolls::default_within(&crate::ledger::project::matrix(rates), 12);
    let (loans, owed) = open_loans(book, &pd, o.recovery_rate, |y| v.claim_of(y));
    if loans.is_empty() {
        return Err(problem(
            "pool_id",
            format!("pool {pool} has no open loan on {as_of} to simulate"),
        ));
    }
    let capital = Yuan((book.cash.0 - owed).max(Decimal::ZERO)).round_fen();
    let mut spec = Spec::default();
    spec.seed = seed.unwrap_or(spec.seed);
    spec.scenarios = scenarios.unwrap_or(spec.scenarios);
    spec.pool.capital = capital;
    spec.pool.compensation_share =
        rust_decimal::prelude::ToPrimitive::to_f64(&v.pool_share).unwrap_or(0.0);
    spec.pool.per_loan_cap = v.coverage_cap;
    spec.dependence.rho = o.rho;
    spec.portfolio.loans = loans;
    let notes = vec![format!(
        "{pool} on {as_of}: {} open loans; capital {} (cash {} less {} already owed); PD the chance of default within 12 months by roll-rate state ({}), LGD {}, ρ {}",
        spec.portfolio.loans.len(),
        capital.human(),
        book.cash.human(),
        Yuan(owed).round_fen().human(),
        pd.iter()
            .zip(rolls::STATES)
            .map(|(p, s)| format!("{s} {}", crate::kernel::percent::fixed(*p, 2)))
            .collect::<Vec<_>>()
            .join(", "),
        1.0 - o.recovery_rate,
        o.rho
    )];
    Ok((spec, notes))
}
