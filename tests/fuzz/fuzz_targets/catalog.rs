//! Catalogue files: loading never panics, and a loaded catalogue matches a
//! profile without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smefin::catalog::Catalog;
use smefin::enterprise::Profile;
use smefin::matching::{MatchOptions, match_profile};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(cat) = Catalog::from_toml(s) {
        let p = Profile::from_json(r#"{"industry_code":"C3562","employees":30,"annual_revenue":"800万","region_code":"360102","request":{"amount":"100万","term_months":12}}"#).unwrap();
        for d in [(2022, 6, 1), (2026, 1, 1)] {
            let d = chrono::NaiveDate::from_ymd_opt(d.0, d.1, d.2).unwrap();
            let _ = match_profile(&cat, &p, &MatchOptions::on(d));
        }
    }
});
