//! The readable text of every answer, for a terminal: one renderer per
//! answer, beside the HTML reports. The command line prints these; it
//! keeps only its flags and its files.

pub mod analytic;
pub mod incentive;
pub mod matching;
pub mod riskpool;
pub mod table;
