//! Risk-compensation pool simulation: will a pool's capital survive the
//! defaults of the credit it backs?
//!
//! - [`spec`]: the spec (TOML/JSON) as written, and the loan CSV reader;
//! - [`model`]: validation and compilation of a spec to a [`Model`];
//! - [`scenarios`]: named stress presets;
//! - [`engine`]: the Monte Carlo engine (per-scenario streams, integer fen);
//! - [`stats`]: summaries (probabilities, quantiles, ES, fan charts …);
//! - [`oracle`]: closed forms and exact integrals the engine is checked against;
//! - [`analytic`]: the semi-analytic engine (a single period's distributions
//!   without sampling, with bounds) and its certificate against Monte Carlo;
//! - [`run`]: the use case: choose the method, run, certify;
//! - [`shard`]: shards and merges;
//! - [`grid`]: stress grids and the leverage solver.

pub mod analytic;
pub mod book;
pub mod control;
pub mod engine;
pub mod grid;
pub mod model;
pub mod oracle;
pub mod plan;
pub mod raw;
pub mod run;
pub mod scenarios;
pub mod shard;
pub mod spec;
pub mod stats;
pub mod validate;

pub use control::{Cancelled, Control};
pub use engine::Engine;
pub use engine::{auto_shift, engine_for};
pub use model::Model;
pub use raw::{Period, Raw};
pub use run::monte_carlo;
pub use shard::{
    MergeError, Merged, PART_FORMAT, Part, Sharded, VERSION, check_parts, inputs_digest, merge,
    merge_named, run_shard, shard_range,
};
pub use spec::{Limits, Spec, SpecError};
pub use stats::Summary;
