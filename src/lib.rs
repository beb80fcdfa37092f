//! smefin: SME financing support for Jiangxi's programmes.
//!
//! The domain is pure Rust with no I/O, on a kernel of its own; adapters
//! sit around it (`docs/layout.md` has the floors, and
//! `tests/integration/architecture.rs` holds the imports to them):
//!
//! - [`kernel`]: exact money ([`kernel::money::Yuan`]), field violations,
//!   named values, dates, percentages.
//! - [`enterprise`]: the SME profile, its fields, size class (划型), credit codes.
//! - [`catalog`]: financing products as data, the built-in Jiangxi catalogue
//!   and the 1-year LPR table.
//! - [`matching`]: eligibility, explanations, suggestions, cost, ranking.
//! - [`riskpool`]: risk-pool simulation: specs, the plan, Monte Carlo and
//!   the exact method, statistics, shards, stress grids and the leverage solver.
//! - [`incentive`]: balance reports, the increment rule, statements.
//! - [`ledger`]: the pool as it is: enrolled loans, statuses, claims,
//!   recoveries, cash and breakers as a dated event log, and its state on
//!   any date.
//! - [`livebook`]: the pool the ledger holds as the simulator's book.
//!
//! Adapters and renderers (they read files, the clock, the network and the
//! database; the domain never does):
//!
//! - [`report`]: HTML reports and the text of every answer.
//! - [`files`]: catalogue and spec files, the loan CSV, today's date.
//! - [`store`]: SQLite and PostgreSQL persistence of banks, reports,
//!   statements, campaigns, leads and outcomes.
//! - [`config`]: layered configuration (defaults → TOML file → `SMEFIN__…`).
//! - [`server`]: the tonic gRPC services and proto ↔ domain conversion.
//! - [`cli`]: the `smefin` command line.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod catalog;
pub mod cli;
pub mod config;
pub mod enterprise;
pub mod files;
pub mod incentive;
pub mod kernel;
pub mod ledger;
pub mod livebook;
pub mod matching;
pub mod report;
pub mod riskpool;
pub mod server;
pub mod store;
