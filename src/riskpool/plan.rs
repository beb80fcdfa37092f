//! The plan of a compiled book, built once when the model compiles and
//! read alike by Monte Carlo, the exact method and validation: the loans
//! grouped into classes that share a conditional PD, how each class draws
//! its defaults, and what each default costs.

use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

use super::book::{CopulaLaw, Lgd, Loan};
use super::oracle::{phi, phi_inv, t_inv};
use super::spec::Spec;

/// How the loans of a class default, on the latent variable: never (a PD
/// of 0), always (a PD of 1), or when it falls below the threshold (Φ⁻¹ or
/// t⁻¹ of the period PD).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Draw {
    /// PD 0: no loan of the class ever defaults.
    Never,
    /// PD 1: every loan of the class defaults.
    Always,
    /// Default when thr·w > √ρ·z + √ρ_s·z_s + resid_sd·ε.
    Threshold(f64),
}

impl Draw {
    /// The draw of a period PD under the copula (`student` for the t).
    fn of(pd: f64, student: Option<&statrs::distribution::StudentsT>) -> Draw {
        match student {
            _ if pd <= 0.0 => Draw::Never,
            _ if pd >= 1.0 => Draw::Always,
            Some(t) => Draw::Threshold(t_inv(t, pd)),
            None => Draw::Threshold(phi_inv(pd)),
        }
    }
}

/// What one defaulted loan costs, fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultAmounts {
    /// The net credit loss (exposure × LGD).
    pub loss: i64,
    /// What the pool is asked to pay now.
    pub claim: i64,
    /// The pool's share of the recovery, returned `recovery_lag` periods
    /// later (0 without a lag).
    pub back: i64,
}

/// What a default of a class costs, as the engine reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Amounts {
    /// In a single period, every loan of the class costs the same (fixed
    /// LGD, equal amounts): which loans default changes nothing and only
    /// their number is drawn.
    Uniform(DefaultAmounts),
    /// In a single period, every loan of the class has fixed amounts: the
    /// amounts by position in the class, so that a default costs one read
    /// of 24 bytes (not the loan's index, then its amounts).
    Packed(Vec<DefaultAmounts>),
    /// Loan by loan (a drawn LGD, or several periods).
    PerLoan,
}

/// Loans grouped so that they share a conditional PD.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// How its loans default.
    pub draw: Draw,
    /// √ρ.
    pub sqrt_rho: f64,
    /// √(1 − ρ − ρ_s).
    pub resid_sd: f64,
    /// Sector index.
    pub sector: usize,
    /// Its loans, by index into the book.
    pub loans: Vec<u32>,
    /// Period PD.
    pub pd: f64,
    /// What its defaults cost.
    pub amounts: Amounts,
}

impl Class {
    /// The conditional default probability given the scale w (the t
    /// copula's mixing; 1 under the Gaussian) and a = √ρ·z + √ρ_s·s.
    #[inline]
    pub fn conditional_at(&self, w: f64, a: f64) -> f64 {
        match self.draw {
            Draw::Never => 0.0,
            Draw::Always => 1.0,
            Draw::Threshold(thr) => phi((thr * w - a) / self.resid_sd),
        }
    }
}

/// The plan of a book (see the module's head).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    classes: Vec<Class>,
    /// Fixed-LGD amounts per loan; `None` when the LGD is drawn.
    fixed: Vec<Option<DefaultAmounts>>,
    /// The Beta law of a loan's drawn LGD.
    beta: Vec<Option<Beta<f64>>>,
    sqrt_sector_rho: f64,
    share: f64,
    cap_fen: Option<i64>,
    recovery_lag: bool,
}

fn round_fen(x: f64) -> i64 {
    x.round() as i64
}

impl Plan {
    /// The plan of `loans` under `spec`'s dependence and pool rules.
    pub fn new(loans: &[Loan], spec: &Spec, copula: &CopulaLaw, cap_fen: Option<i64>) -> Plan {
        let ppy = f64::from(spec.periods_per_year);
        let d = &spec.dependence;
        let student = match copula {
            CopulaLaw::Gaussian => None,
            CopulaLaw::T { student, .. } => Some(student),
        };
        let mut classes: Vec<Class> = Vec::new();
        let mut index: std::collections::HashMap<(u64, u64, usize), usize> =
            std::collections::HashMap::new();
        for (i, l) in loans.iter().enumerate() {
            let pd_period = if ppy == 1.0 {
                l.pd
            } else {
                1.0 - (1.0 - l.pd).powf(1.0 / ppy)
            };
            let key = (pd_period.to_bits(), l.rho.to_bits(), usize::from(l.sector));
            let c = *index.entry(key).or_insert_with(|| {
                classes.push(Class {
                    draw: Draw::of(pd_period, student),
                    sqrt_rho: l.rho.sqrt(),
                    resid_sd: (1.0 - l.rho - d.sector_rho).max(1e-12).sqrt(),
                    sector: usize::from(l.sector),
                    loans: Vec::new(),
                    pd: pd_period,
                    amounts: Amounts::PerLoan,
                });
                classes.len() - 1
            });
            classes[c].loans.push(i as u32);
        }
        let mut plan = Plan {
            classes,
            fixed: Vec::new(),
            beta: loans
                .iter()
                .map(|l| match l.lgd {
                    Lgd::Beta(a, b) => Beta::new(a, b).ok(),
                    Lgd::Fixed(_) => None,
                })
                .collect(),
            sqrt_sector_rho: d.sector_rho.sqrt(),
            share: spec.pool.compensation_share,
            cap_fen,
            recovery_lag: spec.pool.recovery_lag > 0,
        };
        plan.fixed = loans
            .iter()
            .map(|l| match l.lgd {
                Lgd::Fixed(x) => Some(plan.amounts(l, round_fen(l.amount_fen as f64 * x))),
                Lgd::Beta(..) => None,
            })
            .collect();
        if spec.periods <= 1 {
            for c in &mut plan.classes {
                let first = plan.fixed[c.loans[0] as usize];
                c.amounts = if let Some(u) = first
                    && c.loans.iter().all(|&i| plan.fixed[i as usize] == first)
                {
                    Amounts::Uniform(u)
                } else if let Some(packed) =
                    c.loans.iter().map(|&i| plan.fixed[i as usize]).collect()
                {
                    Amounts::Packed(packed)
                } else {
                    Amounts::PerLoan
                };
            }
        }
        plan
    }

    /// The classes, in the order the engine draws them.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// √ρ_s, the loading of the sector factors (0 without them).
    pub fn sector_loading(&self) -> f64 {
        self.sqrt_sector_rho
    }

    /// The pool's share of a net loss.
    pub fn share(&self) -> f64 {
        self.share
    }

    /// (loss, pool claim, recovery the pool gets back later) of `loan`
    /// defaulting with a loss of `loss` fen. With a recovery lag the pool
    /// pays its share of the whole exposure at once and gets its share of
    /// the recovery back, in proportion to what it paid; without, it pays
    /// its share of the net loss.
    pub fn amounts(&self, loan: &Loan, loss: i64) -> DefaultAmounts {
        let amount = loan.amount_fen;
        let gross = if self.recovery_lag { amount } else { loss };
        let mut claim = round_fen(self.share * gross as f64);
        if let Some(cap) = self.cap_fen {
            claim = claim.min(cap);
        }
        let back = if self.recovery_lag && amount > 0 {
            round_fen(claim as f64 * (amount - loss) as f64 / amount as f64)
        } else {
            0
        };
        DefaultAmounts { loss, claim, back }
    }

    /// What loan number `i` (`loan`) costs when it defaults: its fixed
    /// amounts, or a loss drawn from its Beta LGD with `rng`.
    #[inline]
    pub fn draw_amounts(&self, i: usize, loan: &Loan, rng: &mut ChaCha8Rng) -> DefaultAmounts {
        if let Some(f) = self.fixed[i] {
            return f;
        }
        let lgd = self.beta[i].map_or(0.0, |b| b.sample(rng));
        self.amounts(loan, round_fen(loan.amount_fen as f64 * lgd))
    }

    /// (loss, claim) of a defaulted fixed-LGD loan, fen, exactly as the
    /// engine books them; `None` for a drawn (Beta) LGD.
    pub fn fixed_amounts(&self, i: usize) -> Option<(i64, i64)> {
        self.fixed[i].map(|a| (a.loss, a.claim))
    }
}
