//! Test support: what an officer reads of a page, and the raw codes and
//! field names that must never be in it.

use crate::enterprise::{Field, Flag};

/// The text an officer reads of an HTML page: its elements' text, the
/// styles and the markup left out.
pub(crate) fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        rest = &rest[i..];
        let close = if rest.starts_with("<style") {
            rest.find("</style>").map(|j| j + 8)
        } else {
            rest.find('>').map(|j| j + 1)
        };
        rest = &rest[close.unwrap_or(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// Runs of capitals or underscores four long or more (a code such as
/// `OBTAIN_CERTIFICATION`), and bare field names (`annual_revenue`).
pub(crate) fn raw_codes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_uppercase() || c == '_' {
            run.push(c);
        } else {
            if run.chars().count() >= 4 {
                found.push(run.clone());
            }
            run.clear();
        }
    }
    let names = Field::ALL
        .iter()
        .map(|f| f.code())
        .chain(Flag::ALL.iter().map(|f| f.code()));
    for n in names.filter(|n| n.len() >= 6) {
        if text.contains(n) {
            found.push(n.to_string());
        }
    }
    found
}
