//! The CSV readers (loan books, balances, banks, loan snapshots) never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smefin::incentive::{IncentiveRules, csv::Inputs};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = smefin::riskpool::spec::loans_from_csv(s, "f");
    let mut inputs = Inputs::default();
    let mut errs = Vec::new();
    inputs.add_balances(s, "b", &mut errs);
    inputs.add_banks(s, "k", &mut errs);
    inputs.add_loans(s, "l", &IncentiveRules::default(), &mut errs);
    let banks: Vec<_> = inputs.banks.values().cloned().collect();
    for q in ["2023Q2", "2024Q1"] {
        let _ = smefin::incentive::compute(&IncentiveRules::default(), q.parse().unwrap(), &banks, &inputs.reports, None, None);
    }
});
