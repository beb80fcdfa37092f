//! Text a person reads (a name, a contact): one rule on every path and in
//! every store.

/// Whether `c` is a control character or an invisible format character
/// (zero-width spaces and joiners, bidirectional marks, the byte-order mark,
/// the soft hyphen): neither belongs in a name or an id, and PostgreSQL
/// cannot store U+0000 at all.
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// Whether `s` is an identifier of the kind names and bank ids are: 1 to 64
/// ASCII letters, digits, `-` or `_`.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a text field a person reads (a bank's name): no control or
/// invisible character, 1 to `max` characters after trimming. The one rule
/// for stored text on every path and both stores.
pub fn check_text(s: &str, max: usize) -> Result<(), String> {
    if let Some(c) = s.chars().find(|&c| hidden(c)) {
        return Err(format!(
            "contains the control or invisible character U+{:04X}; remove it",
            u32::from(c)
        ));
    }
    let n = s.trim().chars().count();
    if n == 0 {
        Err("is required".into())
    } else if n > max {
        Err(format!("has {n} characters; at most {max}"))
    } else {
        Ok(())
    }
}
