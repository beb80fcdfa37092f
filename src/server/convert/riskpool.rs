//! Conversions for `smefin/v1/riskpool_service.proto`.

use crate::kernel::money::Yuan;
use crate::riskpool::analytic::{
    AnalyticMoney, AnalyticQuantile, AnalyticSummary, Bounded, Certificate, Method,
};
use crate::riskpool::grid::{Cell, GridResult, LeverageResult};
use crate::riskpool::scenarios::Preset;
use crate::riskpool::stats::{self, Summary};
use crate::server::pb;

impl From<stats::Probability> for pb::ProbabilityEstimate {
    fn from(p: stats::Probability) -> Self {
        let stats::Probability {
            estimate,
            std_error,
            ci95_low,
            ci95_high,
        } = p;
        pb::ProbabilityEstimate {
            estimate,
            std_error,
            ci95_low,
            ci95_high,
        }
    }
}

fn quantiles(q: Vec<stats::Quantile>) -> Vec<pb::MoneyQuantile> {
    q.into_iter()
        .map(|q| pb::MoneyQuantile {
            level: q.level,
            value: q.value.to_fen_string(),
        })
        .collect()
}

impl From<stats::MoneyStats> for pb::MoneyDistribution {
    fn from(m: stats::MoneyStats) -> Self {
        let stats::MoneyStats {
            mean,
            std_dev,
            mean_std_error,
            quantiles: q,
            var,
            es,
            max,
        } = m;
        pb::MoneyDistribution {
            mean: mean.to_fen_string(),
            std_dev: std_dev.to_fen_string(),
            mean_std_error: mean_std_error.to_fen_string(),
            quantiles: quantiles(q),
            var: var.to_fen_string(),
            es: es.to_fen_string(),
            max: max.to_fen_string(),
        }
    }
}

impl From<Summary> for pb::SimulationResult {
    fn from(s: Summary) -> Self {
        let Summary {
            scenarios,
            seed,
            preset,
            periods,
            loans,
            exposure,
            capital,
            leverage,
            exhaustion_probability,
            exhaustion_by_period,
            defaults,
            loss,
            compensation,
            unfunded_claims,
            bank_loss,
            breaker,
            balance_fan,
            loss_histogram,
            compensation_histogram,
            top_up_by_period,
            risk_contributions,
            vasicek,
            importance_sampling,
            tail_level,
            conventions,
        } = s;
        let (breaker_trip_probability, breaker_by_period) = match breaker {
            Some(b) => (Some(b.trip_probability.into()), b.by_period),
            None => (None, Vec::new()),
        };
        pb::SimulationResult {
            notes: Vec::new(),
            scenarios,
            seed,
            preset,
            periods,
            loans,
            exposure: exposure.to_fen_string(),
            capital: capital.to_fen_string(),
            leverage,
            exhaustion_probability: Some(exhaustion_probability.into()),
            exhaustion_by_period: exhaustion_by_period.into_iter().map(Into::into).collect(),
            defaults: Some(pb::DefaultMoments {
                mean: defaults.mean,
                variance: defaults.variance,
            }),
            loss: Some(loss.into()),
            compensation: Some(compensation.into()),
            unfunded_claims: Some(unfunded_claims.into()),
            bank_loss: Some(bank_loss.into()),
            breaker_trip_probability,
            breaker_by_period,
            balance_fan: balance_fan.into_iter().map(Into::into).collect(),
            loss_histogram: Some(histogram(loss_histogram)),
            compensation_histogram: Some(histogram(compensation_histogram)),
            top_up_by_period,
            method: pb::SimulationMethod::MonteCarlo.into(),
            analytic: None,
            certificate: None,
            risk_contributions: risk_contributions.into_iter().map(Into::into).collect(),
            vasicek: vasicek.map(Into::into),
            importance_sampling_shift: importance_sampling.map_or(0.0, |i| i.shift),
            effective_sample_size: importance_sampling.map_or(0.0, |i| i.effective_sample_size),
            tail_level,
            conventions,
            report_html: String::new(),
        }
    }
}

impl From<stats::FanPoint> for pb::BalanceFanPoint {
    fn from(f: stats::FanPoint) -> Self {
        pb::BalanceFanPoint {
            period: f.period,
            quantiles: quantiles(f.quantiles),
        }
    }
}

impl From<stats::Contribution> for pb::RiskContribution {
    fn from(c: stats::Contribution) -> Self {
        pb::RiskContribution {
            sector: c.sector,
            es_contribution: c.es_contribution.to_fen_string(),
            share: c.share,
        }
    }
}

impl From<stats::VasicekFigure> for pb::VasicekFigure {
    fn from(v: stats::VasicekFigure) -> Self {
        pb::VasicekFigure {
            pd: v.pd,
            rho: v.rho,
            default_rate_threshold: v.default_rate_threshold,
            exhaustion_probability: v.exhaustion_probability,
        }
    }
}

fn histogram(h: stats::Histogram) -> pb::LossHistogram {
    pb::LossHistogram {
        bin_width_rate: h.bin_width_rate,
        bin_width: h.bin_width.to_fen_string(),
        probabilities: h
            .weighted
            .as_ref()
            .map(|w| w.probabilities.clone())
            .unwrap_or_default(),
        overflow_probability: h.weighted.as_ref().map_or(0.0, |w| w.overflow),
        counts: h.counts,
        overflow: h.overflow,
    }
}

impl From<Cell> for pb::StressCell {
    fn from(c: Cell) -> Self {
        let Cell {
            pd_multiplier,
            rho,
            compensation_share,
            lgd_shift,
            exhaustion_probability,
        } = c;
        pb::StressCell {
            pd_multiplier,
            rho,
            compensation_share,
            exhaustion_probability: Some(exhaustion_probability.into()),
            lgd_shift,
        }
    }
}

impl From<GridResult> for pb::RunStressGridResponse {
    fn from(g: GridResult) -> Self {
        pb::RunStressGridResponse {
            scenarios: g.scenarios,
            cells: g.cells.into_iter().map(Into::into).collect(),
            report_html: String::new(),
        }
    }
}

impl From<LeverageResult> for pb::SolveLeverageResponse {
    fn from(r: LeverageResult) -> Self {
        let LeverageResult {
            solve: _,
            target: _,
            capital,
            exposure,
            leverage,
            exhaustion_probability,
            conservative,
            steps,
            path,
        } = r;
        pb::SolveLeverageResponse {
            conservative: Some(pb::LeveragePoint {
                capital: conservative.capital.to_fen_string(),
                exposure: conservative.exposure.to_fen_string(),
                leverage: conservative.leverage,
                exhaustion_probability: Some(conservative.exhaustion_probability.into()),
            }),
            capital: capital.to_fen_string(),
            exposure: exposure.to_fen_string(),
            leverage,
            exhaustion_probability: Some(exhaustion_probability.into()),
            steps,
            path: path
                .into_iter()
                .map(|s| pb::LeverageStep {
                    capital: s.capital.to_fen_string(),
                    exposure: s.exposure.to_fen_string(),
                    exhaustion_probability: Some(s.exhaustion_probability.into()),
                })
                .collect(),
            report_html: String::new(),
        }
    }
}

impl From<Preset> for pb::ScenarioPreset {
    fn from(p: Preset) -> Self {
        let Preset {
            name,
            description,
            pd_multiplier,
            rho_shift,
            lgd_shift,
            sector_pd_multiplier,
        } = p;
        pb::ScenarioPreset {
            name,
            description,
            pd_multiplier,
            rho_shift,
            lgd_shift,
            sector_pd_multiplier,
        }
    }
}

impl From<Method> for pb::SimulationMethod {
    fn from(m: Method) -> Self {
        match m {
            Method::MonteCarlo => pb::SimulationMethod::MonteCarlo,
            Method::Analytic => pb::SimulationMethod::Analytic,
            Method::Both => pb::SimulationMethod::Both,
        }
    }
}

fn amount(b: Bounded<Yuan>) -> pb::BoundedAmount {
    pb::BoundedAmount {
        estimate: b.estimate.to_fen_string(),
        low: b.low.to_fen_string(),
        high: b.high.to_fen_string(),
    }
}

fn quantile(q: AnalyticQuantile) -> pb::BoundedQuantile {
    pb::BoundedQuantile {
        level: q.level,
        value: Some(amount(q.value)),
    }
}

impl From<AnalyticMoney> for pb::AnalyticMoney {
    fn from(m: AnalyticMoney) -> Self {
        pb::AnalyticMoney {
            mean: Some(amount(m.mean)),
            quantiles: m.quantiles.into_iter().map(quantile).collect(),
            var: Some(quantile(m.var)),
            es: Some(amount(m.es)),
        }
    }
}

impl From<AnalyticSummary> for pb::AnalyticResult {
    fn from(a: AnalyticSummary) -> Self {
        let e = a.exhaustion_probability;
        pb::AnalyticResult {
            method: a.method,
            exhaustion_probability: Some(pb::BoundedProbability {
                estimate: e.estimate,
                low: e.low,
                high: e.high,
            }),
            mean_defaults: a.mean_defaults,
            loss: Some(a.loss.into()),
            claims: Some(a.claims.into()),
            compensation: Some(a.compensation.into()),
            unfunded_claims: Some(a.unfunded_claims.into()),
            tail_level: a.tail_level,
            loss_unit: a.lattice.loss_unit.to_fen_string(),
            loss_points: a.lattice.loss_points,
            claim_unit: a.lattice.claim_unit.to_fen_string(),
            claim_points: a.lattice.claim_points,
            exact_lattice: a.lattice.exact,
            quadrature_nodes: a.quadrature.nodes,
            quadrature_error: a.quadrature.error_estimate,
            notes: a.notes,
        }
    }
}

impl From<Certificate> for pb::Certificate {
    fn from(c: Certificate) -> Self {
        pb::Certificate {
            lines: c
                .lines
                .into_iter()
                .map(|l| pb::CertificateLine {
                    quantity: l.quantity,
                    monte_carlo: l.monte_carlo,
                    std_error: l.std_error,
                    analytic: l.analytic,
                    analytic_low: l.analytic_low,
                    analytic_high: l.analytic_high,
                    z: l.z,
                    flagged: l.flagged,
                })
                .collect(),
            agree: c.agree,
        }
    }
}

/// The answer of a SimulatePool run: the Monte Carlo summary (or, when only
/// the exact method ran, the run's header from the model), the method that
/// ran, the exact figures and the certificate.
pub(crate) fn simulation_result(
    out: crate::riskpool::run::Outcome,
    model: &crate::riskpool::Model,
) -> pb::SimulationResult {
    let mut result: pb::SimulationResult = match out.monte_carlo {
        Some(s) => s.into(),
        None => pb::SimulationResult {
            seed: model.spec().seed,
            preset: model.preset().name.clone(),
            periods: model.spec().periods,
            loans: model.loans().len() as u64,
            exposure: Yuan::from_fen(model.exposure_fen()).to_fen_string(),
            capital: Yuan::from_fen(model.capital_fen()).to_fen_string(),
            leverage: model.leverage(),
            tail_level: model.spec().output.tail_level,
            ..Default::default()
        },
    };
    result.method = pb::SimulationMethod::from(out.method).into();
    result.analytic = out.analytic.map(Into::into);
    result.certificate = out.certificate.map(Into::into);
    result
}
