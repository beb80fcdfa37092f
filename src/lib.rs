//! smefin: SME financing support for Jiangxi's programmes.
//!
//! The domain is pure Rust with no I/O; adapters sit around it:
//!
//! - [`money`]: exact amounts ([`money::Yuan`]), 万/亿 parsing, fen rounding.
//! - [`enterprise`]: the SME profile, size class (划型), credit codes.
//! - [`catalog`]: financing products as data, the built-in Jiangxi catalogue
//!   and the 1-year LPR table.
//! - [`matching`]: eligibility, explanations, suggestions, cost, ranking.
//! - [`config`]: layered configuration (defaults → TOML file → `SMEFIN__…`).
//! - [`server`]: the tonic gRPC services and proto ↔ domain conversion.
//! - [`cli`]: the `smefin` command line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod catalog;
pub mod cli;
pub mod config;
pub mod enterprise;
pub mod incentive;
pub mod matching;
pub mod money;
pub mod riskpool;
pub mod server;
pub mod store;
