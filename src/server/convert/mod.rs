//! Proto ↔ domain conversions, one module per proto file. Generated structs
//! are destructured exhaustively, so a new proto field breaks the build until
//! it is handled here.

pub mod common;
pub mod incentive;
pub mod ledger;
pub mod matching;
pub mod referral;
pub mod riskpool;
