//! Reading a raw profile's fields: counts, money, codes, certifications and
//! their dates, the financing request, each problem recorded under its field.

use chrono::NaiveDate;

use super::*;
use crate::kernel::date::parse_date;
use crate::kernel::money::Yuan;
use crate::kernel::violation::FieldViolation;

pub(super) fn count(field: &str, v: Option<i64>, errs: &mut Vec<FieldViolation>) -> Option<u32> {
    let v = v?;
    match u32::try_from(v) {
        Ok(n) => Some(n),
        Err(_) if v < 0 => {
            errs.push(FieldViolation::new(
                field,
                format!("must not be negative, got {v}"),
            ));
            None
        }
        Err(_) => {
            errs.push(FieldViolation::new(field, format!("{v} is out of range")));
            None
        }
    }
}

pub(super) fn money(
    field: &str,
    v: &Option<String>,
    errs: &mut Vec<FieldViolation>,
) -> Option<Yuan> {
    let s = v.as_ref()?;
    match Yuan::parse(s) {
        Ok(y) => Some(y),
        Err(e) => {
            errs.push(FieldViolation::new(field, e.to_string()));
            None
        }
    }
}

/// A present field parsed by `parse`; a failure is recorded under `field`.
pub(super) fn checked<T, E: std::fmt::Display>(
    field: &str,
    value: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, E>,
    errs: &mut Vec<FieldViolation>,
) -> Option<T> {
    match parse(&value?) {
        Ok(v) => Some(v),
        Err(e) => {
            errs.push(FieldViolation::new(field, e.to_string()));
            None
        }
    }
}

/// A GB/T 2260 area code: 2, 4 or 6 digits, surrounding spaces ignored.
pub(super) fn parse_region(r: &str) -> Result<String, String> {
    let t = r.trim();
    if matches!(t.len(), 2 | 4 | 6) && t.bytes().all(|b| b.is_ascii_digit()) {
        Ok(t.to_string())
    } else {
        Err(format!(
            "`{r}` is not a GB/T 2260 area code (2, 4 or 6 digits, e.g. \"360102\")"
        ))
    }
}

pub(super) fn expected<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> String {
    all.iter().map(|&v| code(v)).collect::<Vec<_>>().join(", ")
}

/// More than [`MAX_CERTIFICATIONS`] entries is one problem, not one per
/// entry: 500,000 unknown values made 150 MB of problems out of a 1 MB
/// message.
pub(super) fn too_many(field: &str, len: usize, errs: &mut Vec<FieldViolation>) -> bool {
    let over = len > MAX_CERTIFICATIONS;
    if over {
        errs.push(FieldViolation::new(
            field,
            format!(
                "{len} entries; at most {MAX_CERTIFICATIONS} (there are {} kinds)",
                Certification::ALL.len()
            ),
        ));
    }
    over
}

/// Certifications, deduplicated in enum order; each unknown entry is a
/// problem of its own, and too many entries are one problem.
pub(super) fn parse_certifications(
    list: &[String],
    errs: &mut Vec<FieldViolation>,
) -> Vec<Certification> {
    if too_many("certifications", list.len(), errs) {
        return Vec::new();
    }
    let mut certs = Vec::new();
    for (i, c) in list.iter().enumerate() {
        match Certification::parse(c) {
            Some(v) => certs.push(v),
            None => errs.push(FieldViolation::new(
                format!("certifications[{i}]"),
                format!(
                    "unknown certification `{c}` (expected one of: {})",
                    expected(Certification::ALL, Certification::code)
                ),
            )),
        }
    }
    certs.sort();
    certs.dedup();
    certs
}

/// Designation dates, one per certification; each entry's problems are
/// reported under its index.
pub(super) fn parse_certification_dates(
    list: &[RawCertificationDate],
    errs: &mut Vec<FieldViolation>,
) -> std::collections::BTreeMap<Certification, NaiveDate> {
    let mut out = std::collections::BTreeMap::new();
    if too_many("certification_dates", list.len(), errs) {
        return out;
    }
    for (i, d) in list.iter().enumerate() {
        let c = Certification::parse(&d.certification);
        if c.is_none() {
            errs.push(FieldViolation::new(
                format!("certification_dates[{i}].certification"),
                format!(
                    "unknown certification `{}` (expected one of: {})",
                    d.certification,
                    expected(Certification::ALL, Certification::code)
                ),
            ));
        }
        let date = checked(
            &format!("certification_dates[{i}].designated"),
            Some(d.designated.clone()),
            parse_date,
            errs,
        );
        if let (Some(c), Some(date)) = (c, date)
            && out.insert(c, date).is_some_and(|prev| prev != date)
        {
            errs.push(FieldViolation::new(
                format!("certification_dates[{i}]"),
                format!("{} is dated twice, differently", c.code()),
            ));
        }
    }
    out
}

/// The financing request: a positive amount, 1 to 600 months, a known purpose.
pub(super) fn parse_request(r: RawRequest, errs: &mut Vec<FieldViolation>) -> FinancingRequest {
    let amount = money("request.amount", &r.amount, errs);
    if amount.is_some_and(|a| a.0.is_zero()) {
        errs.push(FieldViolation::new(
            "request.amount",
            "must be greater than zero",
        ));
    }
    let term_months = r.term_months.and_then(|t| {
        if (1..=600).contains(&t) {
            Some(t as u32)
        } else {
            errs.push(FieldViolation::new(
                "request.term_months",
                format!("{t} is out of range (1 to 600 months)"),
            ));
            None
        }
    });
    let purpose = checked(
        "request.purpose",
        r.purpose,
        |p| {
            LoanPurpose::parse(p).ok_or_else(|| {
                format!(
                    "unknown purpose `{p}` (expected one of: {})",
                    expected(LoanPurpose::ALL, LoanPurpose::code)
                )
            })
        },
        errs,
    );
    FinancingRequest {
        amount,
        term_months,
        purpose,
    }
}

/// A 纳税信用等级 (A, B, M, C or D).
pub(super) fn parse_grade(g: &str) -> Result<TaxCreditGrade, String> {
    TaxCreditGrade::parse(g)
        .ok_or_else(|| format!("unknown grade `{g}` (expected A, B, M, C or D)"))
}

/// Most entries of a profile's `held_products`: more than a catalogue has.
pub const MAX_HELD_PRODUCTS: usize = 256;

/// Products held or applied for; each entry's problems under its index.
pub(super) fn parse_held_products(
    list: &[RawHeldProduct],
    errs: &mut Vec<FieldViolation>,
) -> Vec<HeldProduct> {
    if list.len() > MAX_HELD_PRODUCTS {
        errs.push(FieldViolation::new(
            "held_products",
            format!("{} entries; at most {MAX_HELD_PRODUCTS}", list.len()),
        ));
        return Vec::new();
    }
    let mut out: Vec<HeldProduct> = Vec::with_capacity(list.len());
    for (i, h) in list.iter().enumerate() {
        let f = |name: &str| format!("held_products[{i}].{name}");
        let id = h.product_id.trim();
        if id.is_empty() {
            errs.push(FieldViolation::new(
                f("product_id"),
                "must name a product of the catalogue",
            ));
        } else if out.iter().any(|o| o.product_id == id) {
            errs.push(FieldViolation::new(
                f("product_id"),
                format!("`{id}` is listed twice"),
            ));
        }
        let status = Holding::parse(&h.status);
        if status.is_none() {
            errs.push(FieldViolation::new(
                f("status"),
                format!(
                    "`{}` is not a holding status (expected one of: {})",
                    h.status,
                    expected(Holding::ALL, Holding::code)
                ),
            ));
        }
        let since = match h.since.as_deref() {
            Some(d) => parse_date(d)
                .map_err(|e| errs.push(FieldViolation::new(f("since"), e)))
                .ok(),
            None => None,
        };
        if let Some(status) = status {
            out.push(HeldProduct {
                product_id: id.to_string(),
                status,
                since,
            });
        }
    }
    out
}

/// A contact: each part at most 64 characters (a phone 32, of digits,
/// spaces, `+`, `-` and brackets), no control or invisible character.
pub(super) fn parse_contact(c: &RawContact, errs: &mut Vec<FieldViolation>) -> Contact {
    let mut text = |field: &str, v: &Option<String>, max: usize| {
        let v = v.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        match crate::kernel::text::check_text(v, max) {
            Ok(()) => Some(v.to_string()),
            Err(why) => {
                errs.push(FieldViolation::new(format!("contact.{field}"), why));
                None
            }
        }
    };
    let person = text("person", &c.person, 64);
    let phone = text("phone", &c.phone, 32);
    if let Some(p) = &phone
        && !p
            .chars()
            .all(|ch| ch.is_ascii_digit() || " +-()".contains(ch))
    {
        errs.push(FieldViolation::new(
            "contact.phone",
            format!("`{p}` is not a telephone number (digits, spaces, +, - and brackets)"),
        ));
    }
    Contact { person, phone }
}
