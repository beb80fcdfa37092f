//! Identifiers and stored text: bank ids, loan and borrower ids (trimmed, in
//! NFKC, no control or invisible characters), and the ids of one snapshot,
//! each once.

/// Checks a bank id: 1–64 ASCII letters, digits, '-' or '_'. One rule for
/// RegisterBank, the `bank:<id>` principals of the token file and the CSV
/// inputs, so a token can only name a bank that can be registered.
pub fn check_bank_id(id: &str) -> Result<(), String> {
    if crate::kernel::text::is_slug(id) {
        Ok(())
    } else {
        Err(format!(
            "`{id}` is not a bank id (1-64 letters, digits, '-' or '_')"
        ))
    }
}

/// Most characters (Unicode scalar values, not bytes) of a `request_id` or a
/// `loan_id`.
pub const MAX_ID_CHARS: usize = 128;

pub use crate::kernel::text::check_text;
use crate::kernel::text::hidden;

/// An id as it is stored and compared, from what a caller wrote (a
/// submission's `request_id`, a loan's `loan_id` or `borrower_id`), by one
/// rule on every path: trimmed and in Unicode NFKC (so `L1 `, `Ｌ1` and
/// `L1` are one id), then required, at most [`MAX_ID_CHARS`] characters,
/// and without control or invisible characters (`L1\u{200B}` is refused,
/// not kept as a second `L1`).
pub fn normalize_id(id: &str) -> Result<String, String> {
    use unicode_normalization::UnicodeNormalization;
    if let Some(c) = id.chars().find(|&c| hidden(c)) {
        return Err(format!(
            "contains the control or invisible character U+{:04X}; remove it",
            u32::from(c)
        ));
    }
    let n: String = id.trim().nfkc().collect();
    let n = n.trim().to_string();
    if n.is_empty() {
        Err("is required".into())
    } else if n.chars().count() > MAX_ID_CHARS {
        Err(format!(
            "has {} characters; at most {MAX_ID_CHARS}",
            n.chars().count()
        ))
    } else {
        Ok(n)
    }
}

/// Checks an id a caller gives (see [`normalize_id`]).
pub fn check_id(id: &str) -> Result<(), String> {
    normalize_id(id).map(|_| ())
}

/// The loan ids of one snapshot, checked as they arrive: each is required,
/// at most [`MAX_ID_CHARS`] characters, and appears once once normalised
/// ([`normalize_id`]) — a loan listed twice would be counted twice in the
/// balance.
#[derive(Debug, Default)]
pub struct LoanIds {
    pub(super) first: std::collections::HashMap<String, usize>,
}

impl LoanIds {
    /// Admits the id of loan `index` and returns it normalised, or says why
    /// not (`place` names where an earlier index is: `loans[3]`, `line 5`).
    pub fn admit(
        &mut self,
        index: usize,
        id: &str,
        place: impl Fn(usize) -> String,
    ) -> Result<String, String> {
        let id = normalize_id(id)?;
        match self.first.entry(id.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => Err(format!(
                "`{}` is listed again (first at {}); a snapshot lists each loan once (ids are compared trimmed and in Unicode NFKC)",
                clip_id(&id),
                place(*e.get())
            )),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(index);
                Ok(id)
            }
        }
    }
}

/// An id cut to 64 characters for a message.
pub(super) fn clip_id(id: &str) -> String {
    if id.chars().count() > 64 {
        id.chars().take(64).chain(std::iter::once('…')).collect()
    } else {
        id.to_string()
    }
}
