//! Money, rate, date and quarter parsing never panic, and a parsed amount
//! prints back to an amount that parses to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(y) = smefin::kernel::money::Yuan::parse(s) {
        let printed = y.to_fen_string();
        let back = smefin::kernel::money::Yuan::parse(&printed).expect("a printed amount parses");
        assert_eq!(back, y.round_fen());
        let _ = y.human();
        let _ = y.approx_human();
    }
    let _ = smefin::kernel::money::parse_rate(s);
    let _ = smefin::kernel::date::parse_date(s);
    let _ = s.parse::<smefin::incentive::Quarter>();
});
