//! The adapters' access to files and the clock: reading a catalogue, a
//! simulation spec and the loan CSV it names, and today's date. The domain
//! (money, enterprise, catalog, matching, riskpool, incentive) does none of
//! this: it is handed text and dates (`tests/integration/architecture.rs`
//! fails the build's tests when it starts to).

use std::path::Path;

use chrono::NaiveDate;

use crate::catalog::{Catalog, CatalogError};
use crate::riskpool::{Spec, SpecError};

/// Why `bytes` are not UTF-8 text, in a phrase: where they break, and, when
/// they read as GB18030 (GBK) — as Excel saves a CSV on a Chinese Windows —
/// how to save the file instead.
pub fn not_utf8(bytes: &[u8]) -> String {
    let at = std::str::from_utf8(bytes)
        .err()
        .map_or(0, |e| e.valid_up_to());
    if encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .is_some()
    {
        "not UTF-8 text: it reads as GBK/GB18030 (as Excel saves \"CSV (逗号分隔)\"); save it as \"CSV UTF-8 (逗号分隔)\" (Excel: 另存为 → CSV UTF-8), or convert it with `iconv -f GB18030 -t UTF-8`".into()
    } else {
        format!("not UTF-8 text (byte {at} is not)")
    }
}

/// The text of `bytes`: UTF-8, a leading byte-order mark dropped; else why
/// not ([`not_utf8`]).
pub fn utf8(bytes: Vec<u8>) -> Result<String, String> {
    match String::from_utf8(bytes) {
        Ok(s) => Ok(match s.strip_prefix('\u{FEFF}') {
            Some(rest) => rest.to_string(),
            None => s,
        }),
        Err(e) => Err(not_utf8(e.as_bytes())),
    }
}

/// A file's text ([`utf8`]); an error names the file.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    utf8(bytes).map_err(|why| format!("{}: {why}", path.display()))
}

/// Today's date in China Standard Time (UTC+8), the default match date.
pub fn today_cst() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// Loads a catalogue file.
pub fn catalog(path: &Path) -> Result<Catalog, CatalogError> {
    let s = read_text(path).map_err(|reason| CatalogError::Io {
        path: path.display().to_string(),
        reason,
    })?;
    Catalog::from_toml(&s)
}

/// A spec read from a file, with the text of the loan CSV it names.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// The spec (a relative `portfolio.csv` made relative to the spec file).
    pub spec: Spec,
    /// The CSV's text, when the spec names one.
    pub csv: Option<String>,
}

/// Reads a spec file: JSON when it ends in `.json`, TOML otherwise, or the
/// built-in default for the name `default`; then the loan CSV it names.
pub fn spec(path: &Path) -> Result<SpecFile, SpecError> {
    if path.as_os_str() == "default" {
        return Ok(SpecFile {
            spec: Spec::from_toml(crate::riskpool::spec::DEFAULT_SPEC_TOML)?,
            csv: None,
        });
    }
    let text = read_text(path).map_err(|why| SpecError::one("(file)", why))?;
    let mut spec = if path.extension().is_some_and(|e| e == "json") {
        Spec::from_json(&text)?
    } else {
        Spec::from_toml(&text)?
    };
    // A relative CSV path is relative to the spec file.
    if let (Some(csv), Some(dir)) = (&spec.portfolio.csv, path.parent())
        && csv.is_relative()
    {
        spec.portfolio.csv = Some(dir.join(csv));
    }
    let csv = csv_of(&spec)?;
    Ok(SpecFile { spec, csv })
}

/// The text of the loan CSV a spec names (its path as the spec gives it),
/// or `None` when it names none.
pub fn csv_of(spec: &Spec) -> Result<Option<String>, SpecError> {
    match &spec.portfolio.csv {
        None => Ok(None),
        Some(p) => read_text(p)
            .map(Some)
            .map_err(|why| SpecError::one("portfolio.csv", why)),
    }
}

/// The programmes of the pool ledger: the file at `path`, or the built-in
/// ones; an unreadable or invalid file names itself and the problem.
pub fn programmes(path: Option<&Path>) -> Result<Vec<crate::ledger::rules::Programme>, String> {
    let Some(path) = path else {
        return crate::ledger::rules::parse(crate::ledger::rules::BUILTIN);
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::ledger::rules::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}
