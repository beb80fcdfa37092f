//! One problem with one input field, and many of them as one line: the
//! shape of every validation error in smefin, whichever domain finds it.

use serde::Serialize;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    /// Field path, e.g. `annual_revenue` or `certifications[2]`.
    pub field: String,
    /// Why it was rejected.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field` for `description`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Violations as one line, `field: reason; field: reason`, of about 2 KiB at
/// most: past that the rest are counted (`; … and 499990 more`), so a flood
/// of problems makes an error line, not megabytes.
pub fn describe_all(v: &[FieldViolation]) -> String {
    const MAX: usize = 2048;
    let mut out = String::new();
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            if out.len() + x.field.len() + x.description.len() > MAX {
                out.push_str(&format!("; … and {} more", v.len() - i));
                break;
            }
            out.push_str("; ");
        }
        out.push_str(&x.field);
        out.push_str(": ");
        out.push_str(&x.description);
    }
    out
}
