//! Money and rates.
//!
//! [`Yuan`] wraps an exact [`Decimal`]; money is never `f64`. Human input may
//! use the units 万 (10⁴) and 亿 (10⁸) — `"3000万"`, `"1.5亿"` — or plain yuan
//! (`"30000000.00"`, thousands separators `,` allowed). Amounts are rounded to
//! the fen (2 places), half away from zero (四舍五入), once, where they are
//! reported: [`Yuan::to_fen_string`].

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a money or rate string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The string is empty.
    #[error("is empty")]
    Empty,
    /// The string is not a decimal number with an optional 万/亿 unit.
    #[error(
        "`{0}` is not an amount (expected e.g. \"1200000.00\", \"1,200,000.00元\", \"120万\", \"120万元\" or \"1.5亿\")"
    )]
    Malformed(String),
    /// The amount is negative.
    #[error("`{0}` is negative")]
    Negative(String),
    /// The amount is too large to represent.
    #[error("`{0}` is out of range")]
    OutOfRange(String),
    /// A reported amount has a fraction of a fen.
    #[error("`{0}` has a fraction of a fen (at most 2 decimal places in yuan)")]
    SubFen(String),
    /// A rate is not a decimal fraction in range.
    #[error("`{0}` is not a rate (expected a decimal fraction such as \"0.0345\")")]
    BadRate(String),
}

/// The digits of an amount, checked strictly: ASCII digits with at most one
/// decimal point and at least one digit before it; `,` only as a thousands
/// separator between groups of exactly three digits (`1,000,000.5`, never
/// `1,00` or `,100`); no sign, space or exponent. Returns the digits without
/// separators.
fn strict_digits(num: &str) -> Option<String> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (num, None),
    };
    if int.is_empty()
        || frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let groups: Vec<&str> = int.split(',').collect();
    let first_ok = !groups[0].is_empty() && groups[0].bytes().all(|b| b.is_ascii_digit());
    let grouped = groups.len() > 1;
    if !first_ok
        || (grouped && groups[0].len() > 3)
        || !groups[1..]
            .iter()
            .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut out: String = groups.concat();
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// Largest accepted amount: 10¹⁶ yuan (one hundred million 亿), far above any
/// programme, small enough that products of amounts and rates never overflow.
const MAX_YUAN: Decimal = Decimal::from_parts(1_874_919_424, 2_328_306, 0, false, 0);

/// An amount of money in yuan, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Yuan(pub Decimal);

impl Yuan {
    /// Zero yuan.
    pub const ZERO: Yuan = Yuan(Decimal::ZERO);

    /// Parses a non-negative amount: plain yuan or with a 万/亿 unit.
    ///
    /// ```
    /// use smefin::kernel::money::Yuan;
    /// assert_eq!(Yuan::parse("3000万").unwrap().to_fen_string(), "30000000.00");
    /// assert_eq!(Yuan::parse("1.5亿").unwrap().human(), "1.5亿");
    /// assert!(Yuan::parse("-5").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Yuan, MoneyError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(MoneyError::Empty);
        }
        // As documents write amounts: `300万`, `300万元`, `300 万元`,
        // `3,000,000.00元`; a space may part the number from its unit, never
        // the digits.
        let t0 = t.strip_suffix('元').map_or(t, str::trim_end);
        let (num, scale) = if let Some(n) = t0.strip_suffix('亿') {
            (n.trim_end(), Decimal::from(100_000_000u64))
        } else if let Some(n) = t0.strip_suffix('万') {
            (n.trim_end(), Decimal::from(10_000u64))
        } else {
            (t0, Decimal::ONE)
        };
        if num.starts_with('-') {
            return Err(MoneyError::Negative(t.to_string()));
        }
        let cleaned = strict_digits(num).ok_or_else(|| MoneyError::Malformed(t.to_string()))?;
        let d = Decimal::from_str(&cleaned).map_err(|_| MoneyError::OutOfRange(t.to_string()))?;
        let v = d
            .checked_mul(scale)
            .ok_or_else(|| MoneyError::OutOfRange(t.to_string()))?;
        if v > MAX_YUAN {
            return Err(MoneyError::OutOfRange(t.to_string()));
        }
        Ok(Yuan(v.normalize()))
    }

    /// Parses an amount someone reports as held or owed (a balance, a credit
    /// line, a budget): as [`Yuan::parse`], and it must be a whole number of
    /// fen — `"0.005"` is refused, never rounded.
    ///
    /// ```
    /// use smefin::kernel::money::Yuan;
    /// assert!(Yuan::parse_fen("1.99").is_ok());
    /// assert!(Yuan::parse_fen("1.999").is_err());
    /// assert!(Yuan::parse_fen("0.0001万").is_ok());
    /// ```
    pub fn parse_fen(s: &str) -> Result<Yuan, MoneyError> {
        let y = Yuan::parse(s)?;
        if y.0.normalize().scale() > 2 {
            return Err(MoneyError::SubFen(s.trim().to_string()));
        }
        Ok(y)
    }

    /// An amount from a whole number of 万.
    pub fn wan(n: i64) -> Yuan {
        Yuan(Decimal::from(n) * Decimal::from(10_000))
    }

    /// The amount in whole fen (rounded half away from zero), for integer
    /// arithmetic and storage; saturates at the i64 range (never reached
    /// below the parse limit of 10¹⁶ yuan).
    pub fn to_fen(self) -> i64 {
        use rust_decimal::prelude::ToPrimitive;
        (self.round_fen().0 * Decimal::from(100))
            .to_i64()
            .unwrap_or(i64::MAX)
    }

    /// An amount from whole fen.
    pub fn from_fen(fen: i64) -> Yuan {
        Yuan(Decimal::new(fen, 2))
    }

    /// The amount rounded to the fen, half away from zero.
    pub fn round_fen(self) -> Yuan {
        Yuan(
            self.0
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    /// The amount rounded to the fen and printed with exactly two decimals.
    ///
    /// ```
    /// use smefin::kernel::money::Yuan;
    /// use rust_decimal::Decimal;
    /// // half away from zero (四舍五入)
    /// assert_eq!(Yuan(Decimal::new(2675, 3)).to_fen_string(), "2.68");
    /// ```
    pub fn to_fen_string(self) -> String {
        let mut d = self.round_fen().0;
        d.rescale(2);
        d.to_string()
    }

    /// A short human form: "3000万", "1.5亿", or yuan below 1万.
    pub fn human(self) -> String {
        let yi = Decimal::from(100_000_000u64);
        let wan = Decimal::from(10_000u64);
        let v = self.0;
        if v >= yi && (v % (yi / Decimal::from(100))).is_zero() {
            format!("{}亿", (v / yi).normalize())
        } else if v >= wan && (v % (wan / Decimal::from(100))).is_zero() {
            format!("{}万", (v / wan).normalize())
        } else {
            format!("{}元", self.to_fen_string())
        }
    }
}

impl Yuan {
    /// The amount in 万 as the 划型 standard writes it ("40000万"), or yuan
    /// when below 1万 or not a whole number of 0.01万.
    pub fn wan_str(self) -> String {
        let wan = Decimal::from(10_000u64);
        if self.0 >= wan && (self.0 % Decimal::from(100)).is_zero() {
            format!("{}万", (self.0 / wan).normalize())
        } else {
            format!("{}元", self.to_fen_string())
        }
    }
}

impl Yuan {
    /// A rounded human form for reports: "9.53亿", "1234.57万", or yuan.
    pub fn approx_human(self) -> String {
        let yi = Decimal::from(100_000_000u64);
        let wan = Decimal::from(10_000u64);
        if self.0 >= yi {
            format!("{}亿", (self.0 / yi).round_dp(2).normalize())
        } else if self.0 >= wan {
            format!("{}万", (self.0 / wan).round_dp(2).normalize())
        } else {
            format!("{}元", self.to_fen_string())
        }
    }
}

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fen_string())
    }
}

impl FromStr for Yuan {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Yuan::parse(s)
    }
}

impl Serialize for Yuan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_fen_string())
    }
}

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Yuan::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses an annual rate given as a decimal fraction (`"0.0345"`), or as a
/// percentage with a `%` sign (`"3.45%"`). Accepts 0 ≤ rate ≤ 1.
pub fn parse_rate(s: &str) -> Result<Decimal, MoneyError> {
    let t = s.trim();
    let (num, pct) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let d = Decimal::from_str(num).map_err(|_| MoneyError::BadRate(t.to_string()))?;
    let d = if pct { d / Decimal::from(100) } else { d };
    if d.is_sign_negative() && !d.is_zero() || d > Decimal::ONE {
        return Err(MoneyError::BadRate(t.to_string()));
    }
    Ok(d.normalize())
}

/// Converts basis points to a decimal fraction (150 → 0.015).
pub fn bp(points: i64) -> Decimal {
    Decimal::new(points, 4)
}

/// Formats a rate fraction as a wire string with at least 4 decimals
/// ("0.0345").
pub fn rate_string(rate: Decimal) -> String {
    let mut r = rate.normalize();
    if r.scale() < 4 {
        r.rescale(4);
    }
    r.to_string()
}

/// Serde helper for an optional amount that may be negative (an increment, an
/// adjustment): a signed decimal string in yuan. Inputs use [`Yuan::parse`],
/// which refuses negatives; this is for computed figures only.
pub mod opt_signed_serde {
    use super::*;

    /// Serialises as a signed fen string, or null.
    pub fn serialize<S: Serializer>(y: &Option<Yuan>, s: S) -> Result<S::Ok, S::Error> {
        match y {
            Some(y) => s.serialize_str(&y.to_fen_string()),
            None => s.serialize_none(),
        }
    }

    /// Deserialises a signed decimal string, or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Yuan>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            Decimal::from_str(s.trim())
                .map(Yuan)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// Serde helper: a rate written as a decimal string or `"3.45%"`.
pub mod rate_serde {
    use super::*;

    /// Serialises a rate as a decimal-fraction string.
    pub fn serialize<S: Serializer>(r: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rate_string(*r))
    }

    /// Deserialises a rate from a decimal string or percentage.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let s = String::deserialize(d)?;
        parse_rate(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn parses_units() {
        assert_eq!(Yuan::parse("3000万").unwrap(), Yuan(dec!(30000000)));
        assert_eq!(Yuan::parse("6亿").unwrap(), Yuan(dec!(600000000)));
        assert_eq!(Yuan::parse("1.5亿").unwrap(), Yuan(dec!(150000000)));
        assert_eq!(Yuan::parse(" 1,200.50 ").unwrap(), Yuan(dec!(1200.5)));
        assert_eq!(Yuan::parse("30000000.00").unwrap(), Yuan(dec!(30000000)));
        assert_eq!(Yuan::parse("0.5万").unwrap(), Yuan(dec!(5000)));
        assert_eq!(Yuan::parse("100元").unwrap(), Yuan(dec!(100)));
        assert_eq!(Yuan::parse("1,000万").unwrap(), Yuan(dec!(10000000)));
        assert_eq!(
            Yuan::parse("12,345,678.90").unwrap(),
            Yuan(dec!(12345678.9))
        );
        assert_eq!(Yuan::parse("0").unwrap(), Yuan::ZERO);
    }

    #[test]
    fn rejects_bad_amounts() {
        assert_eq!(Yuan::parse(""), Err(MoneyError::Empty));
        assert!(matches!(Yuan::parse("-5"), Err(MoneyError::Negative(_))));
        assert!(matches!(Yuan::parse("abc"), Err(MoneyError::Malformed(_))));
        assert!(matches!(
            Yuan::parse("1.2.3"),
            Err(MoneyError::Malformed(_))
        ));
        assert!(matches!(Yuan::parse("NaN"), Err(MoneyError::Malformed(_))));
        assert!(matches!(Yuan::parse("inf"), Err(MoneyError::Malformed(_))));
        assert!(matches!(Yuan::parse("1e5"), Err(MoneyError::Malformed(_))));
        assert!(matches!(Yuan::parse("万"), Err(MoneyError::Malformed(_))));
        assert!(matches!(Yuan::parse("5-3"), Err(MoneyError::Malformed(_))));
        // strict: separators only between groups of three, no inner space,
        // no sign, no bare point
        for bad in [
            "1,00万",
            ",1000万",
            "1,0,0,0万",
            "1000,万",
            "1,0000",
            "1234,567",
            "1 000",
            "300万万",
            "300元元",
            "300 000万",
            "+100",
            "100.",
            ".5",
            "1..2",
            "1,000.00,0",
            "1_000",
            "１００",
        ] {
            assert!(
                matches!(Yuan::parse(bad), Err(MoneyError::Malformed(_))),
                "{bad}"
            );
        }
        // as documents write them: the unit 元 after 万 or 亿, a space
        // before the unit
        for (text, fen) in [
            ("300万元", 300_000_000),
            ("300 万元", 300_000_000),
            ("300 万", 300_000_000),
            ("1.5亿元", 15_000_000_000),
            ("3,000,000.00元", 300_000_000),
            ("3,000,000.00 元", 300_000_000),
        ] {
            assert_eq!(Yuan::parse(text).map(Yuan::to_fen), Ok(fen), "{text}");
        }
        assert!(matches!(Yuan::parse("-0"), Err(MoneyError::Negative(_))));
        assert!(matches!(Yuan::parse("-0.00"), Err(MoneyError::Negative(_))));
        assert!(matches!(
            Yuan::parse_fen("0.005"),
            Err(MoneyError::SubFen(_))
        ));
        assert!(matches!(
            Yuan::parse_fen("1.999"),
            Err(MoneyError::SubFen(_))
        ));
        assert_eq!(Yuan::parse_fen("1.990").unwrap(), Yuan(dec!(1.99)));
        assert!(matches!(
            Yuan::parse_fen("0.0000001万"),
            Err(MoneyError::SubFen(_))
        ));
        assert!(matches!(
            Yuan::parse("99999999999999999999亿"),
            Err(MoneyError::OutOfRange(_))
        ));
        assert!(matches!(
            Yuan::parse("99999999999999999999999999999999999"),
            Err(MoneyError::OutOfRange(_))
        ));
    }

    #[test]
    fn max_is_ten_to_the_sixteen() {
        assert_eq!(MAX_YUAN, dec!(10000000000000000));
        assert!(Yuan::parse("1亿亿").is_err());
        assert!(Yuan::parse("100000000亿").is_ok());
        assert!(Yuan::parse("100000001亿").is_err());
    }

    #[test]
    fn rounds_half_away_from_zero_once() {
        assert_eq!(Yuan(dec!(0.005)).to_fen_string(), "0.01");
        assert_eq!(Yuan(dec!(0.0049)).to_fen_string(), "0.00");
        assert_eq!(Yuan(dec!(2.675)).to_fen_string(), "2.68");
        assert_eq!(Yuan(dec!(12)).to_fen_string(), "12.00");
        assert_eq!(Yuan(dec!(-0.125)).round_fen(), Yuan(dec!(-0.13)));
    }

    #[test]
    fn human_form() {
        assert_eq!(Yuan::parse("3000万").unwrap().human(), "3000万");
        assert_eq!(Yuan::parse("1.5亿").unwrap().human(), "1.5亿");
        assert_eq!(Yuan::parse("12300").unwrap().human(), "1.23万");
        assert_eq!(Yuan::parse("12345").unwrap().human(), "12345.00元");
        assert_eq!(Yuan::parse("9999").unwrap().human(), "9999.00元");
        assert_eq!(Yuan::parse("4亿").unwrap().wan_str(), "40000万");
        assert_eq!(
            Yuan::parse("952867126.51").unwrap().approx_human(),
            "9.53亿"
        );
        assert_eq!(Yuan::parse("12345678").unwrap().approx_human(), "1234.57万");
        assert_eq!(Yuan::parse("300.5万").unwrap().wan_str(), "300.5万");
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0.0345").unwrap(), dec!(0.0345));
        assert_eq!(parse_rate("3.45%").unwrap(), dec!(0.0345));
        assert!(parse_rate("-0.01").is_err());
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("x").is_err());
        assert_eq!(bp(150), dec!(0.015));
        assert_eq!(rate_string(dec!(0.02)), "0.0200");
        assert_eq!(rate_string(dec!(0.034567)), "0.034567");
    }
}
