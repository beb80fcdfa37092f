//! 统一社会信用代码 (unified social credit code), GB 32100-2015.
//!
//! Layout of the 18 characters: 1 registration authority, 2 entity type,
//! 3–8 administrative area (GB/T 2260), 9–17 the 组织机构代码 (whose own check
//! character is position 17, GB 11714), 18 the check character.
//!
//! Check character (GB 32100 §5): over the charset
//! `0123456789ABCDEFGHJKLMNPQRTUWXY` (values 0–30; no I, O, S, V, Z) with
//! weights wᵢ = 3^(i−1) mod 31, `c₁₈ = (31 − Σ vᵢ·wᵢ mod 31) mod 31`.
//!
//! A wrong format (length, charset, non-digit area) is a hard error; a wrong
//! check character is only a warning, because real registered codes exist that
//! fail it (e.g. `91350203M0001QAY9B`).

use serde::Serialize;

/// The 31 characters of the code, in value order.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights for positions 1–17.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
/// GB 11714 weights for positions 9–16 (the 组织机构代码 body).
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Why a credit code was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("must be 18 characters, got {0}")]
    Length(usize),
    /// A character outside the GB 32100 charset.
    #[error("character {pos} `{ch}` is not allowed (allowed: 0-9 and A-Z except I, O, S, V, Z)")]
    Charset {
        /// 1-based position.
        pos: usize,
        /// The character.
        ch: char,
    },
    /// Positions 3–8 must be the 6-digit area code.
    #[error("characters 3-8 must be a 6-digit administrative area code, got `{0}`")]
    Area(String),
}

/// A format-valid credit code and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditCode {
    /// The code, upper-cased.
    pub code: String,
    /// Whether position 18 is the right check character.
    pub check_character_valid: bool,
    /// Entity type from positions 1–2, when the authority is 工商/市场监管 (9).
    pub entity_type: String,
    /// Administrative area code from positions 3–8.
    pub region_code: String,
    /// Warnings, in Chinese.
    pub warnings: Vec<String>,
}

fn value(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The check character for the first 17 characters (which must be in the
/// charset).
pub fn check_character(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    let idx = (31 - sum % 31) % 31;
    Some(CHARSET[idx as usize] as char)
}

/// The GB 11714 check character of the 组织机构代码 body (positions 9–16).
fn org_check_character(body: &[u8]) -> Option<char> {
    let mut sum = 0u32;
    for (c, w) in body.iter().zip(ORG_WEIGHTS) {
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap_or('0'),
    })
}

fn entity_type(authority: u8, kind: u8) -> &'static str {
    match (authority, kind) {
        (b'9', b'1') => "企业",
        (b'9', b'2') => "个体工商户",
        (b'9', b'3') => "农民专业合作社",
        (b'9', _) => "其他市场主体",
        (b'1', _) => "机构编制",
        (b'5', b'1') => "社会团体",
        (b'5', b'2') => "民办非企业单位",
        (b'5', b'3') => "基金会",
        (b'5', _) => "民政登记组织",
        _ => "其他",
    }
}

/// Validates a credit code. Surrounding whitespace is ignored and letters are
/// upper-cased.
pub fn validate(input: &str) -> Result<CreditCode, CreditCodeError> {
    let code: String = input.trim().to_ascii_uppercase();
    let n = code.chars().count();
    if n != 18 {
        return Err(CreditCodeError::Length(n));
    }
    let bytes = code.as_bytes();
    for (i, c) in code.chars().enumerate() {
        if !c.is_ascii() || !CHARSET.contains(&(c as u8)) {
            return Err(CreditCodeError::Charset { pos: i + 1, ch: c });
        }
    }
    let area = &code[2..8];
    if !area.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CreditCodeError::Area(area.to_string()));
    }
    let expected = check_character(&bytes[..17]).unwrap_or('?');
    let check_ok = expected == bytes[17] as char;
    let mut warnings = Vec::new();
    if !check_ok {
        warnings.push(format!(
            "校验码不符：第18位为 {}，按 GB 32100-2015 应为 {}（部分真实登记的代码存在此情况，请核实）",
            bytes[17] as char, expected
        ));
    }
    if let Some(org) = org_check_character(&bytes[8..16])
        && org != bytes[16] as char
    {
        warnings.push(format!(
            "组织机构代码校验码不符：第17位为 {}，按 GB 11714 应为 {}",
            bytes[16] as char, org
        ));
    }
    Ok(CreditCode {
        entity_type: entity_type(bytes[0], bytes[1]).to_string(),
        region_code: area.to_string(),
        check_character_valid: check_ok,
        warnings,
        code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1u32;
        for expected in WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % 31;
        }
    }

    #[test]
    fn real_codes_pass() {
        for c in [
            "91430111MA4L41YT1U",
            "91350200776049653A",
            "913502000728319549",
            "9135021359498494XQ",
            "91350100M000100Y43",
        ] {
            let r = validate(c).unwrap();
            assert!(r.check_character_valid, "{c}");
            assert!(r.warnings.is_empty(), "{c}: {:?}", r.warnings);
            assert_eq!(r.entity_type, "企业");
        }
        assert_eq!(
            validate("91430111MA4L41YT1U").unwrap().region_code,
            "430111"
        );
    }

    #[test]
    fn lowercase_and_spaces_are_normalised() {
        let r = validate("  91430111ma4l41yt1u ").unwrap();
        assert_eq!(r.code, "91430111MA4L41YT1U");
        assert!(r.check_character_valid);
    }

    #[test]
    fn wrong_check_character_is_a_warning() {
        let r = validate("91350203M0001QAY9B").unwrap();
        assert!(!r.check_character_valid);
        assert!(r.warnings[0].contains("应为 9"), "{:?}", r.warnings);
        let fixed = validate("91350203M0001QAY99").unwrap();
        assert!(fixed.check_character_valid);
    }

    #[test]
    fn bad_format_is_an_error() {
        assert_eq!(validate("9143011"), Err(CreditCodeError::Length(7)));
        assert_eq!(validate(""), Err(CreditCodeError::Length(0)));
        assert_eq!(
            validate("91430111MA4L41YT1I"),
            Err(CreditCodeError::Charset { pos: 18, ch: 'I' })
        );
        assert_eq!(
            validate("9143011SMA4L41YT1U"),
            Err(CreditCodeError::Charset { pos: 8, ch: 'S' })
        );
        assert_eq!(
            validate("914A0111MA4L41YT1U"),
            Err(CreditCodeError::Area("4A0111".into()))
        );
        assert!(matches!(
            validate("91430111MA4L41YT1统"),
            Err(CreditCodeError::Charset { pos: 18, .. })
        ));
    }

    #[test]
    fn entity_types() {
        assert_eq!(entity_type(b'9', b'2'), "个体工商户");
        assert_eq!(entity_type(b'9', b'3'), "农民专业合作社");
        assert_eq!(entity_type(b'5', b'3'), "基金会");
    }
}
