//! Page tokens of the list methods (`ListProducts`, `ListBanks`,
//! `ListReports`): `o<offset>`, where the offset is written exactly as the
//! server writes it — decimal digits, no sign, no leading zero, at most
//! 2⁶³−1 — so a tampered or invented token is INVALID_ARGUMENT, never a
//! silent first page.

use crate::kernel::violation::FieldViolation;

/// Largest offset a token may carry (the store's signed 64-bit range).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items skipped.
    pub offset: u64,
    /// Items on the page.
    pub size: u64,
}

impl Page {
    /// Reads a request's `page_token` and `page_size` (0: `default`; above
    /// `max`: `max`).
    pub fn parse(token: &str, size: u32, default: u64, max: u64) -> Result<Page, FieldViolation> {
        let offset = if token.is_empty() {
            0
        } else {
            parse_offset(token).ok_or_else(|| {
                FieldViolation::new("page_token", "is not a token this service returned")
            })?
        };
        let size = match size {
            0 => default,
            n => u64::from(n).min(max),
        };
        Ok(Page { offset, size })
    }

    /// The token of the page after this one, which showed `shown` items, or
    /// "" when there are no `more`.
    pub fn next_token(&self, shown: usize, more: bool) -> String {
        if more {
            format!("o{}", self.offset.saturating_add(shown as u64))
        } else {
            String::new()
        }
    }
}

fn parse_offset(token: &str) -> Option<u64> {
    let digits = token.strip_prefix('o')?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return None;
    }
    digits.parse::<u64>().ok().filter(|&n| n <= MAX_OFFSET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_exactly_what_the_server_writes() {
        assert_eq!(
            Page::parse("", 0, 50, 500).unwrap(),
            Page {
                offset: 0,
                size: 50
            }
        );
        assert_eq!(
            Page::parse("o10", 9999, 50, 500).unwrap(),
            Page {
                offset: 10,
                size: 500
            }
        );
        assert_eq!(
            Page::parse("o9223372036854775807", 1, 50, 500)
                .unwrap()
                .offset,
            i64::MAX as u64
        );
        for bad in [
            "o9223372036854775808",
            "o18446744073709551615",
            "o18446744073709551616",
            "o+1",
            "o-1",
            "o01",
            "o",
            "1",
            "o1 ",
            "x5",
        ] {
            let e = Page::parse(bad, 0, 50, 500).unwrap_err();
            assert_eq!(e.field, "page_token", "{bad}");
        }
    }
}
