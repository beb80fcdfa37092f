//! The integration tests, in one binary: a real server on an ephemeral
//! loopback port called by real clients, and the CLI run as a user runs it.
//!
//! One binary rather than one per file: each test binary links all of smefin
//! and its dependencies, so eight of them cost eight links and ~450 MB more of
//! target/.

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod cli;
mod cli_pool;
mod cli_referral;
mod cli_riskpool;
mod deploy;
mod durability;
mod golden_paths;
mod grpc_incentive;
mod grpc_ledger;
mod grpc_matching;
mod grpc_referral;
mod grpc_riskpool;
mod hardening;
mod hardening_banks;
mod hardening_exact;
mod ledger_folds;
mod ledger_year;
mod replicas;
mod replicas_ledger;
mod reports;
mod riskpool;
mod spec_props;
mod store_backends;
mod store_ledger;
mod store_referral;
mod tls;
