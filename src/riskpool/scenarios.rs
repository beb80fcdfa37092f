//! Named stress presets. Each is a PD multiplier, a shift of the asset
//! correlation ρ and a shift of LGD, plus (for `sector_shock`) a PD
//! multiplier for the sectors named in the spec; every figure can be
//! overridden in the spec's `[scenario]` table.
//!
//! The calibrations are UNCERTAIN: no public loss data of the Jiangxi pools
//! was found. `severe` approximates the 2022 pandemic shock as the stress
//! commonly applied to SME books (PD ×2.5, ρ +0.05, LGD +0.10); treat all four
//! as documented defaults to be replaced with a programme's own figures.

use serde::Serialize;

use super::spec::ScenarioSpec;

/// A resolved scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preset {
    /// Name.
    pub name: String,
    /// Chinese description.
    pub description: String,
    /// PD multiplier for every loan.
    pub pd_multiplier: f64,
    /// Added to ρ.
    pub rho_shift: f64,
    /// Added to LGD (mean LGD for Beta).
    pub lgd_shift: f64,
    /// PD multiplier for the shocked sectors (on top of `pd_multiplier`).
    pub sector_pd_multiplier: f64,
}

impl Preset {
    /// The baseline.
    pub fn baseline() -> Preset {
        presets().remove(0)
    }
}

/// The built-in presets.
pub fn presets() -> Vec<Preset> {
    let p = |name: &str, description: &str, pd: f64, rho: f64, lgd: f64, sector: f64| Preset {
        name: name.into(),
        description: description.into(),
        pd_multiplier: pd,
        rho_shift: rho,
        lgd_shift: lgd,
        sector_pd_multiplier: sector,
    };
    vec![
        p(
            "baseline",
            "基准情景：按输入的违约率、相关性和违约损失率",
            1.0,
            0.0,
            0.0,
            1.0,
        ),
        p(
            "adverse",
            "不利情景：违约率×1.5，资产相关性+0.02，违约损失率+0.05",
            1.5,
            0.02,
            0.05,
            1.0,
        ),
        p(
            "severe",
            "严重情景（约当2022年疫情冲击）：违约率×2.5，资产相关性+0.05，违约损失率+0.10",
            2.5,
            0.05,
            0.10,
            1.0,
        ),
        p(
            "sector_shock",
            "行业冲击：指定行业违约率×3，其他行业不变",
            1.0,
            0.0,
            0.0,
            3.0,
        ),
    ]
}

/// Resolves a spec's scenario table into a preset with its overrides, or
/// (field, reason).
pub fn resolve(s: &ScenarioSpec) -> Result<Preset, (String, String)> {
    let mut p = presets()
        .into_iter()
        .find(|p| p.name == s.preset)
        .ok_or_else(|| {
            (
                "scenario.preset".to_string(),
                format!(
                    "unknown preset `{}` (expected one of: {})",
                    s.preset,
                    presets()
                        .iter()
                        .map(|p| p.name.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let finite = |f: &str, v: f64, lo: f64, hi: f64| {
        if v.is_finite() && v >= lo && v <= hi {
            Ok(v)
        } else {
            Err((
                format!("scenario.{f}"),
                format!("{v} is not in [{lo}, {hi}]"),
            ))
        }
    };
    if let Some(v) = s.pd_multiplier {
        p.pd_multiplier = finite("pd_multiplier", v, 0.0, 100.0)?;
    }
    if let Some(v) = s.rho_shift {
        p.rho_shift = finite("rho_shift", v, -1.0, 1.0)?;
    }
    if let Some(v) = s.lgd_shift {
        p.lgd_shift = finite("lgd_shift", v, -1.0, 1.0)?;
    }
    if let Some(v) = s.sector_pd_multiplier {
        p.sector_pd_multiplier = finite("sector_pd_multiplier", v, 0.0, 100.0)?;
    }
    if p.name == "sector_shock" && s.shock_sectors.is_empty() {
        return Err((
            "scenario.shock_sectors".into(),
            "sector_shock needs the sectors it hits".into(),
        ));
    }
    Ok(p)
}
