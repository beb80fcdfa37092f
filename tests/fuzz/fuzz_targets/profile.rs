//! Credit codes, industry codes and whole JSON profiles: validation and
//! matching never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use smefin::catalog::Catalog;
use smefin::enterprise::{IndustryCode, Profile, credit_code};
use smefin::matching::{MatchOptions, match_profile};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = credit_code::validate(s);
    if let Ok(i) = IndustryCode::parse(s) {
        let _ = i.size_industry();
    }
    if let Ok(p) = Profile::from_json(s) {
        let cat = Catalog::builtin();
        let d = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let _ = match_profile(&cat, &p, &MatchOptions::on(d));
    }
});
