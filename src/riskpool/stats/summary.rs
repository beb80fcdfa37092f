//! What a run's summary holds: probabilities, money figures, fans,
//! histograms, contributions.

use serde::{Deserialize, Serialize};

use crate::kernel::money::Yuan;

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A probability estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probability {
    /// Estimate.
    pub estimate: f64,
    /// Standard error of the estimate.
    pub std_error: f64,
    /// Lower end of the 95% interval.
    pub ci95_low: f64,
    /// Upper end of the 95% interval.
    pub ci95_high: f64,
}

impl Probability {
    /// From `hits` of `n` plain Monte Carlo scenarios (Wilson interval).
    pub fn from_count(hits: u64, n: u64) -> Probability {
        let nf = n as f64;
        let p = hits as f64 / nf;
        let se = (p * (1.0 - p) / nf).sqrt();
        let z2 = Z95 * Z95;
        let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
        let half = Z95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / (1.0 + z2 / nf);
        Probability {
            estimate: p,
            std_error: se,
            ci95_low: (centre - half).max(0.0),
            ci95_high: (centre + half).min(1.0),
        }
    }

    /// From importance-sampling terms wᵢ·1ᵢ.
    pub fn from_weighted(terms: &[f64]) -> Probability {
        let n = terms.len() as f64;
        let mean = terms.iter().sum::<f64>() / n;
        let var = terms.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / (n - 1.0).max(1.0);
        let se = (var / n).sqrt();
        Probability {
            estimate: mean,
            std_error: se,
            ci95_low: (mean - Z95 * se).max(0.0),
            ci95_high: (mean + Z95 * se).min(1.0),
        }
    }
}

/// A quantile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantile {
    /// Level.
    pub level: f64,
    /// Value.
    pub value: Yuan,
}

/// Distribution of a money outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyStats {
    /// Mean.
    pub mean: Yuan,
    /// Standard deviation.
    pub std_dev: Yuan,
    /// Standard error of the mean.
    pub mean_std_error: Yuan,
    /// Quantiles at 50, 90, 95, 99 and 99.9%.
    pub quantiles: Vec<Quantile>,
    /// VaR at the tail level.
    pub var: Yuan,
    /// Expected shortfall at the tail level.
    pub es: Yuan,
    /// Largest outcome.
    pub max: Yuan,
}

/// Default-count moments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DefaultStats {
    /// Mean.
    pub mean: f64,
    /// Sample variance (N − 1).
    pub variance: f64,
}

/// Pool balance quantiles at one period end (fan chart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanPoint {
    /// Period (1-based).
    pub period: u32,
    /// 5, 25, 50, 75, 95% quantiles (upper edges of 2%-of-capital bins).
    pub quantiles: Vec<Quantile>,
}

/// A histogram's bins as probabilities (importance sampling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedBins {
    /// Probability of each bin.
    pub probabilities: Vec<f64>,
    /// Probability beyond the last bin.
    pub overflow: f64,
}

/// Loss histogram with fixed bins of loss rate (loss / exposure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Width of each bin, as a loss rate.
    pub bin_width_rate: f64,
    /// Width of each bin, in money.
    pub bin_width: Yuan,
    /// Counts per bin.
    pub counts: Vec<u64>,
    /// Scenarios above the last bin.
    pub overflow: u64,
    /// Under importance sampling: each bin's likelihood-ratio-weighted
    /// probability (then `counts` and `overflow` are empty and 0: raw counts
    /// of the shifted measure would mislead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted: Option<WeightedBins>,
}

/// A sector's share of the expected shortfall of the book's loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Sector.
    pub sector: String,
    /// Mean loss of the sector in the tail scenarios.
    pub es_contribution: Yuan,
    /// Share of the total.
    pub share: f64,
}

/// The Vasicek large-pool figure for a homogeneous book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VasicekFigure {
    /// PD of one period (the annual PD when periods are years).
    pub pd: f64,
    /// ρ used.
    pub rho: f64,
    /// Default rate at which the pool runs dry.
    pub default_rate_threshold: f64,
    /// Large-pool exhaustion probability 1 − F(threshold).
    pub exhaustion_probability: f64,
}

/// Breaker statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakerStats {
    /// Probability the breaker trips within the horizon.
    pub trip_probability: Probability,
    /// Probability of tripping in each period.
    pub by_period: Vec<f64>,
}

/// Importance-sampling diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IsStats {
    /// Factor mean shift μ.
    pub shift: f64,
    /// Effective sample size of the exhaustion estimator, (Σwᵢ1ᵢ)²/Σ(wᵢ1ᵢ)².
    pub effective_sample_size: f64,
}

/// Everything a run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenarios run.
    pub scenarios: u64,
    /// Seed.
    pub seed: u64,
    /// Scenario preset.
    pub preset: String,
    /// Periods.
    pub periods: u32,
    /// Loans in the book.
    pub loans: u64,
    /// Credit scale (total exposure).
    pub exposure: Yuan,
    /// Pool capital.
    pub capital: Yuan,
    /// exposure / capital.
    pub leverage: f64,
    /// P(the pool runs dry within the horizon).
    pub exhaustion_probability: Probability,
    /// P(dry by the end of each period).
    pub exhaustion_by_period: Vec<Probability>,
    /// Default count.
    pub defaults: DefaultStats,
    /// Net credit loss of the book.
    pub loss: MoneyStats,
    /// Net compensation paid by the pool.
    pub compensation: MoneyStats,
    /// Claims the pool could not pay (borne by the banks).
    pub unfunded_claims: MoneyStats,
    /// Loss retained by the banks.
    pub bank_loss: MoneyStats,
    /// Breaker, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerStats>,
    /// Pool balance fan chart.
    pub balance_fan: Vec<FanPoint>,
    /// Probability that the pool is topped up at the end of each period
    /// (with a top-up rule, plain Monte Carlo; empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_up_by_period: Vec<f64>,
    /// Loss histogram.
    pub loss_histogram: Histogram,
    /// Histogram of the pool's compensation (claims), on the loss
    /// histogram's bins.
    pub compensation_histogram: Histogram,
    /// Sector shares of the loss ES.
    pub risk_contributions: Vec<Contribution>,
    /// Vasicek large-pool figure, when the book is homogeneous.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vasicek: Option<VasicekFigure>,
    /// Importance sampling, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance_sampling: Option<IsStats>,
    /// Tail level of VaR and ES.
    pub tail_level: f64,
    /// The conventions used.
    pub conventions: String,
}
