//! What the exact method answers: bounded figures, the lattice and quadrature
//! used, and its errors.

use serde::{Deserialize, Serialize};

use crate::kernel::money::Yuan;
use crate::riskpool::control::Cancelled;

/// A value with bounds that contain the exact one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bounded<T> {
    /// The estimate (nearest lattice; exact on an exact lattice, up to the
    /// quadrature).
    pub estimate: T,
    /// Lower bound.
    pub low: T,
    /// Upper bound.
    pub high: T,
}

/// A bounded quantile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnalyticQuantile {
    /// Level.
    pub level: f64,
    /// The quantile (the smallest x with P(X ≤ x) ≥ level) and its bounds.
    #[serde(flatten)]
    pub value: Bounded<Yuan>,
}

/// Distribution figures of one money outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticMoney {
    /// Mean.
    pub mean: Bounded<Yuan>,
    /// Quantiles at 50%, 90%, 95%, 99%, 99.9%.
    pub quantiles: Vec<AnalyticQuantile>,
    /// VaR at the tail level.
    pub var: AnalyticQuantile,
    /// Expected shortfall at the tail level (the continuous
    /// Acerbi–Tasche form: (E[X·1{X > VaR}] + VaR·(F(VaR) − α)) / (1 − α)).
    pub es: Bounded<Yuan>,
}

/// The lattice a run used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatticeInfo {
    /// Unit of the loss lattice.
    pub loss_unit: Yuan,
    /// Points of the loss lattice.
    pub loss_points: u64,
    /// Unit of the claims lattice.
    pub claim_unit: Yuan,
    /// Points of the claims lattice.
    pub claim_points: u64,
    /// Whether both units divide every amount (no discretisation error).
    pub exact: bool,
}

/// The quadrature a run took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuadratureInfo {
    /// Integrand evaluations (conditional distributions computed).
    pub nodes: u64,
    /// Its error estimate: the largest error in a tail probability.
    pub error_estimate: f64,
    /// The tolerance it aimed at.
    pub tolerance: f64,
}

/// The semi-analytic figures of a single-period run, in the shapes of the
/// Monte Carlo summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticSummary {
    /// What made these figures.
    pub method: String,
    /// P(claims ≥ capital): the pool runs dry.
    pub exhaustion_probability: Bounded<f64>,
    /// Expected number of defaults.
    pub mean_defaults: f64,
    /// Net credit loss of the book.
    pub loss: AnalyticMoney,
    /// Claims on the pool (before it runs dry).
    pub claims: AnalyticMoney,
    /// Compensation paid: min(claims, capital).
    pub compensation: AnalyticMoney,
    /// Claims the pool could not pay: max(claims − capital, 0).
    pub unfunded_claims: AnalyticMoney,
    /// Tail level of VaR and ES.
    pub tail_level: f64,
    /// The lattice.
    pub lattice: LatticeInfo,
    /// The quadrature.
    pub quadrature: QuadratureInfo,
    /// What the figures leave out, if anything.
    pub notes: Vec<String>,
}

/// Why there are no analytic figures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyticError {
    /// The model is outside what the engine computes.
    #[error("the analytic method does not apply: {0}")]
    NotApplicable(String),
    /// The run would take, or took, more memory or work than its budget.
    #[error("{0}")]
    TooCostly(String),
    /// The run was cancelled.
    #[error("analysis cancelled")]
    Cancelled,
}

impl From<Cancelled> for AnalyticError {
    fn from(_: Cancelled) -> Self {
        AnalyticError::Cancelled
    }
}

/// Which engine computes a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Monte Carlo only.
    MonteCarlo,
    /// The semi-analytic engine only.
    Analytic,
    /// Both, with a certificate of their agreement.
    Both,
}
