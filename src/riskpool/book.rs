//! The compiled book: each loan as both engines read it, and the copula's
//! laws.

use rand_distr::ChiSquared;
use statrs::distribution::StudentsT;

/// LGD of a compiled loan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lgd {
    /// Fixed.
    Fixed(f64),
    /// Beta(a, b).
    Beta(f64, f64),
}

impl Lgd {
    /// The mean LGD.
    pub fn mean(self) -> f64 {
        match self {
            Lgd::Fixed(x) => x,
            Lgd::Beta(a, b) => a / (a + b),
        }
    }
}

/// A compiled loan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loan {
    /// Exposure, fen.
    pub amount_fen: i64,
    /// Annual PD after the scenario.
    pub pd: f64,
    /// LGD after the scenario.
    pub lgd: Lgd,
    /// Sector index.
    pub sector: u16,
    /// Term in periods (≥ 1).
    pub term_periods: u32,
    /// Global asset correlation ρ after the scenario.
    pub rho: f64,
}

/// The copula's laws, built when the spec compiles: ν is checked there, so
/// the engine never builds a distribution that could fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CopulaLaw {
    /// Gaussian.
    Gaussian,
    /// Student t with ν degrees of freedom.
    T {
        /// ν.
        nu: f64,
        /// The standard t(ν), for default thresholds.
        student: StudentsT,
        /// χ²(ν), the mixing variable.
        chi2: ChiSquared<f64>,
    },
}
