//! Risk-compensation pool simulation: will a pool's capital survive the
//! defaults of the credit it backs?
//!
//! - [`spec`]: the spec (TOML/JSON) as written, and the loan CSV reader;
//! - [`model`]: validation and compilation of a spec to a [`Model`];
//! - [`scenarios`]: named stress presets;
//! - [`engine`]: the Monte Carlo engine (per-scenario streams, integer fen);
//! - [`stats`]: summaries (probabilities, quantiles, ES, fan charts …);
//! - [`oracle`]: closed forms and exact integrals the engine is checked against;
//! - this module: runs, shards and merges, stress grids, the leverage solver.

pub mod engine;
pub mod grid;
pub mod model;
pub mod oracle;
pub mod scenarios;
pub mod spec;
pub mod stats;
pub mod validate;

use std::ops::Range;

use serde::{Deserialize, Serialize};

pub use engine::{Cancelled, Control, Engine, Raw};
pub use model::Model;
pub use spec::{Limits, Spec, SpecError};
pub use stats::Summary;

/// Builds the engine of a model, with importance sampling when the spec asks.
pub fn engine_for(model: &Model) -> Engine<'_> {
    let e = Engine::new(model);
    match &model.spec().importance_sampling {
        None => e,
        Some(is) => {
            let shift = is.shift.unwrap_or_else(|| auto_shift(&e, model));
            e.with_factor_shift(shift)
        }
    }
}

/// The factor value z* at which expected claims equal the capital
/// (bisection; claims fall as z rises). Shifting the factor's mean there puts
/// about half the scenarios in the exhaustion region.
pub fn auto_shift(e: &Engine<'_>, model: &Model) -> f64 {
    let target = model.capital_fen() as f64;
    let (mut lo, mut hi) = (-10.0f64, 10.0f64);
    if e.expected_claims_given_factor(lo) < target {
        return lo;
    }
    if e.expected_claims_given_factor(hi) >= target {
        return hi;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if e.expected_claims_given_factor(mid) >= target {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

/// Runs every scenario of the model and summarises.
pub fn simulate(
    model: &Model,
    threads: usize,
    control: &Control,
) -> Result<(Raw, Summary), Cancelled> {
    let engine = engine_for(model);
    let raw = engine.run(0..model.spec().scenarios, threads, control)?;
    let summary = stats::summarize(&engine, model, &raw, control)?;
    Ok((raw, summary))
}

/// The scenario range of shard `k` of `n` (0-based k).
pub fn shard_range(scenarios: u64, k: u64, n: u64) -> Range<u64> {
    let a = (u128::from(scenarios) * u128::from(k) / u128::from(n)) as u64;
    let b = (u128::from(scenarios) * u128::from(k + 1) / u128::from(n)) as u64;
    a..b
}

/// A shard's output: the spec, which shard, and its raw outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// Format tag.
    pub format: String,
    /// The spec every shard must share.
    pub spec: Spec,
    /// Shard index (0-based).
    pub shard: u64,
    /// Number of shards.
    pub shards: u64,
    /// Raw outcomes of the shard's scenarios.
    pub raw: Raw,
}

/// Tag of part files.
pub const PART_FORMAT: &str = "smefin-riskpool-part/1";

/// Runs one shard.
pub fn run_shard(
    model: &Model,
    k: u64,
    n: u64,
    threads: usize,
    control: &Control,
) -> Result<Part, Cancelled> {
    let engine = engine_for(model);
    let raw = engine.run(shard_range(model.spec().scenarios, k, n), threads, control)?;
    Ok(Part {
        format: PART_FORMAT.into(),
        spec: model.spec().clone(),
        shard: k,
        shards: n,
        raw,
    })
}

/// Why parts could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// No parts.
    #[error("no parts given")]
    Empty,
    /// A part is not a part file.
    #[error("part {0}: not a {PART_FORMAT} file")]
    Format(usize),
    /// Parts disagree.
    #[error("part {index}: {reason}")]
    Mismatch {
        /// Which part.
        index: usize,
        /// What differs.
        reason: String,
    },
}

/// Merges the parts of a sharded run into the raw outcomes of the whole run,
/// checking that they share one spec and cover every shard exactly once.
pub fn merge(mut parts: Vec<Part>) -> Result<(Spec, Raw), MergeError> {
    if parts.is_empty() {
        return Err(MergeError::Empty);
    }
    for (i, p) in parts.iter().enumerate() {
        if p.format != PART_FORMAT {
            return Err(MergeError::Format(i));
        }
        if p.spec != parts[0].spec {
            return Err(MergeError::Mismatch {
                index: i,
                reason: "its spec differs from part 0's".into(),
            });
        }
        if p.shards != parts[0].shards {
            return Err(MergeError::Mismatch {
                index: i,
                reason: format!("{} shards, part 0 says {}", p.shards, parts[0].shards),
            });
        }
        let want = shard_range(p.spec.scenarios, p.shard, p.shards);
        if p.raw.start != want.start
            || p.raw.end != want.end
            || p.raw.len() as u64 != want.end - want.start
        {
            return Err(MergeError::Mismatch {
                index: i,
                reason: format!(
                    "holds scenarios {}..{}, shard {} is {:?}",
                    p.raw.start, p.raw.end, p.shard, want
                ),
            });
        }
    }
    parts.sort_by_key(|p| p.shard);
    let n = parts[0].shards;
    for (k, p) in parts.iter().enumerate() {
        if p.shard != k as u64 {
            return Err(MergeError::Mismatch {
                index: k,
                reason: format!("shard {k} of {n} is missing or duplicated"),
            });
        }
    }
    if parts.len() as u64 != n {
        return Err(MergeError::Mismatch {
            index: parts.len(),
            reason: format!("{} of {n} shards given", parts.len()),
        });
    }
    let spec = parts[0].spec.clone();
    let mut it = parts.into_iter();
    let mut raw = it.next().map(|p| p.raw).unwrap_or_default();
    for p in it {
        raw.append(p.raw)
            .map_err(|reason| MergeError::Mismatch { index: 0, reason })?;
    }
    Ok((spec, raw))
}
