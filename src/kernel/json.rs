//! A JSON document that does not fit its shape, said as a field violation:
//! the path of the field, what is wrong in words, and for a misspelt key
//! the key it probably is.

use super::violation::FieldViolation;

/// Parses `text` as `T`; a problem names the field (`request.amount`,
/// `(json)` when the document is not JSON at all).
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FieldViolation> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(violation)
}

fn violation(e: serde_path_to_error::Error<serde_json::Error>) -> FieldViolation {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let mut msg = inner.to_string();
    // serde_json ends its messages with the position; the path says more
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once("`, expected ")
    {
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        // (the path ends with the unknown key)
        let field = if path == "." || path.is_empty() {
            key.to_string()
        } else {
            path.clone()
        };
        let why = match closest(key, &known) {
            Some(k) => format!("unknown field: did you mean `{k}`?"),
            None => format!("unknown field (the fields are {})", known.join(", ")),
        };
        return FieldViolation::new(field, why);
    }
    if inner.is_syntax() || inner.is_eof() || path == "." || path.is_empty() {
        return FieldViolation::new("(json)", msg);
    }
    let number =
        msg.starts_with("invalid type: integer") || msg.starts_with("invalid type: floating point");
    if number && msg.ends_with("expected a string") {
        msg.push_str(
            " (write it in quotes: amounts as \"3000000\" or \"300万\", dates as \"2024-06-01\")",
        );
    }
    FieldViolation::new(path, msg)
}

/// The known name nearest `key` by edit distance, when it is near enough to
/// be a slip (at most a third of its length, and at least 1).
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (key.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edits(key, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance, by characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        amount: Option<String>,
        term_months: Option<u32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        annual_revenue: Option<String>,
        employees: Option<u32>,
        request: Option<Inner>,
    }

    #[test]
    fn problems_name_the_field_and_the_fix() {
        let e = parse::<Doc>(r#"{"anual_revenue": "1万"}"#).unwrap_err();
        assert_eq!(e.field, "anual_revenue");
        assert_eq!(
            e.description,
            "unknown field: did you mean `annual_revenue`?"
        );
        let e = parse::<Doc>(r#"{"request": {"amout": "1万"}}"#).unwrap_err();
        assert_eq!(e.field, "request.amout");
        assert!(e.description.contains("`amount`"), "{}", e.description);
        let e = parse::<Doc>(r#"{"zzz": 1}"#).unwrap_err();
        assert!(
            e.description
                .contains("the fields are annual_revenue, employees, request")
        );
        let e = parse::<Doc>(r#"{"annual_revenue": 3000000}"#).unwrap_err();
        assert_eq!(e.field, "annual_revenue");
        assert!(
            e.description
                .contains("integer `3000000`, expected a string")
        );
        assert!(e.description.contains("\"300万\""), "{}", e.description);
        assert!(!e.description.contains("line 1"));
        let e = parse::<Doc>(r#"{"employees": "many"}"#).unwrap_err();
        assert_eq!(e.field, "employees");
        let e = parse::<Doc>(r#"{"employees": 3"#).unwrap_err();
        assert_eq!(e.field, "(json)");
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
