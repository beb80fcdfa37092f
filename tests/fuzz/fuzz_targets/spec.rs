//! Simulation specs (TOML and JSON): parsing, validation and a tiny run
//! never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smefin::riskpool::{self, Control, Limits, Model, Spec};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for spec in [Spec::from_toml(s), Spec::from_json(s)] {
        let Ok(mut spec) = spec else { continue };
        spec.portfolio.csv = None; // never read files named by fuzz input
        let limits = Limits {
            max_loans: 500,
            max_scenarios: 50,
            max_periods: 8,
            max_run_bytes: 64 << 20,
            max_analytic_work: 1_000_000_000,
            max_work: 1_000_000,
        };
        if let Ok(m) = Model::compile(&spec, &limits) {
            let _ = riskpool::monte_carlo(&m, 1, &Control::default());
        }
    }
});
