//! Percentages as smefin prints them: rates (exact decimals) and
//! probabilities (floating point), each in one spelling per use.

use rust_decimal::Decimal;

/// A rate fraction as a percentage with up to 4 decimals ("3.45%").
pub fn rate(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::from(100)).round_dp(4).normalize())
}

/// A rate fraction as a percentage with at least 2 decimals, for tables
/// ("3.00%", "3.45%", "1.9500%" → "1.95%").
pub fn rate2(rate: Decimal) -> String {
    let mut p = (rate * Decimal::from(100)).round_dp(4).normalize();
    if p.scale() < 2 {
        p.rescale(2);
    }
    format!("{p}%")
}

/// A probability as a percentage with exactly `digits` decimals
/// (`fixed(0.0123456, 3)` is "1.235%").
pub fn fixed(p: f64, digits: usize) -> String {
    format!("{:.digits$}%", p * 100.0)
}

/// A probability as a short percentage with enough digits to tell chart
/// ticks apart ("13%", "1.5%", "0.25%", "0.0012%").
pub fn short(p: f64) -> String {
    let v = p * 100.0;
    let s = if v == 0.0 || v.abs() >= 10.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    };
    format!("{}%", trim_zeros(&s))
}

/// An interval of probabilities as "low – high", each end with the
/// fewest significant digits (at least two) that tell the ends apart, so an
/// interval never prints as "13% – 13%".
pub fn range(lo: f64, hi: f64) -> String {
    let (a, b) = (lo * 100.0, hi * 100.0);
    let top = a.abs().max(b.abs());
    let lead = if top > 0.0 {
        top.log10().floor() as i32
    } else {
        0
    };
    for d in 2..=8 {
        // both ends with the decimals that give the larger `d` significant
        // digits
        let after = (d - 1 - lead).max(0) as usize;
        let (x, y) = (format!("{a:.after$}"), format!("{b:.after$}"));
        if x != y || lo == hi || d == 8 {
            return format!("{x}% – {y}%");
        }
    }
    unreachable!("the loop returns at d = 8")
}

/// A decimal numeral without trailing zeros after its point ("1.50" →
/// "1.5", "2.00" → "2", "300" unchanged).
pub fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(rate(Decimal::new(345, 4)), "3.45%");
        assert_eq!(rate2(Decimal::new(3, 2)), "3.00%");
        assert_eq!(rate2(Decimal::new(195, 4)), "1.95%");
        assert_eq!(rate2(Decimal::new(19512, 6)), "1.9512%");
        assert_eq!(fixed(0.0123456, 3), "1.235%");
        assert_eq!(fixed(0.5, 4), "50.0000%");
        assert_eq!(short(0.13), "13%");
        assert_eq!(short(0.015), "1.5%");
        assert_eq!(short(0.0025), "0.25%");
        assert_eq!(short(0.0), "0%");
        assert_eq!(trim_zeros("300"), "300");
    }

    #[test]
    fn an_interval_never_prints_its_ends_alike() {
        // two significant digits would print 13% – 13%
        assert_eq!(range(0.1296, 0.1349), "13.0% – 13.5%");
        assert_eq!(range(0.00741, 0.00998), "0.74% – 1.00%");
        assert_eq!(range(0.00015, 0.00021), "0.015% – 0.021%");
        assert_eq!(range(0.0, 0.00192), "0.00% – 0.19%");
        assert_eq!(range(0.05, 0.05), "5.0% – 5.0%");
        assert_eq!(range(0.13001, 0.13002), "13.001% – 13.002%");
    }
}
