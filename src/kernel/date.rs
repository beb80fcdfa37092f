//! Dates as smefin reads them.

use chrono::NaiveDate;

/// Parses an ISO date, exactly `YYYY-MM-DD` ("2024-07-22"): four-digit
/// year, two-digit month and day, no sign, no space; a day that does not
/// exist (`2024-02-30`) is refused.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    shaped
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| format!("`{s}` is not a date (expected YYYY-MM-DD)"))
}
