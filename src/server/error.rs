//! The one place where domain errors become gRPC statuses.
//!
//! Bad input is `INVALID_ARGUMENT` carrying a `google.rpc.BadRequest` with one
//! field violation per problem (field paths as in the request:
//! `profile.annual_revenue`, `profile.certifications[2]`) and a
//! `google.rpc.ErrorInfo` whose `reason` is an UPPER_SNAKE code.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation as PbViolation, StatusExt};

use crate::enterprise::ProfileError;
use crate::kernel::violation::FieldViolation;
use crate::matching::MatchError;

/// Error domain reported in ErrorInfo.
pub const DOMAIN: &str = "smefin.v1";

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Request fields failed validation.
    #[error("invalid request: {}", crate::kernel::violation::describe_all(.violations))]
    InvalidArgument {
        /// UPPER_SNAKE reason.
        reason: &'static str,
        /// The problems.
        violations: Vec<FieldViolation>,
    },
    /// A named resource does not exist.
    #[error("{kind} `{name}` not found")]
    NotFound {
        /// UPPER_SNAKE reason.
        reason: &'static str,
        /// Resource kind.
        kind: &'static str,
        /// Resource name.
        name: String,
    },
    /// Matching failed.
    #[error(transparent)]
    Match(#[from] MatchError),
    /// The profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Storage failed or refused.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Too much work is already running.
    #[error("{0}")]
    ResourceExhausted(String),
    /// No usable credentials.
    #[error("{message}")]
    Unauthenticated {
        /// UPPER_SNAKE reason.
        reason: &'static str,
        /// What is wrong with the credentials.
        message: String,
    },
    /// The caller may not do this.
    #[error("{message}")]
    PermissionDenied {
        /// UPPER_SNAKE reason.
        reason: &'static str,
        /// Who may not do what.
        message: String,
    },
    /// The work was cancelled (client gone) or ran past its deadline.
    #[error("{message}")]
    Stopped {
        /// True when the deadline passed.
        deadline: bool,
        /// What stopped.
        message: String,
    },
}

impl ApiError {
    /// A spec sent in a request: its violations with field paths under
    /// `spec.`.
    pub fn spec(e: crate::riskpool::SpecError) -> Self {
        ApiError::prefixed("INVALID_SPEC", "spec.", e)
    }

    /// A spec's violations as INVALID_ARGUMENT, field paths prefixed with
    /// where the spec sits in the request.
    fn prefixed(reason: &'static str, prefix: &str, e: crate::riskpool::SpecError) -> Self {
        ApiError::InvalidArgument {
            reason,
            violations: e
                .violations
                .into_iter()
                .map(|v| FieldViolation::new(format!("{prefix}{}", v.field), v.description))
                .collect(),
        }
    }

    /// A simulation that stopped: its deadline passed, or it was cancelled
    /// (the client went away, the server is stopping).
    pub fn stopped(deadline: bool) -> Self {
        ApiError::Stopped {
            deadline,
            message: if deadline {
                "the call's deadline passed; simulation stopped".into()
            } else {
                "simulation cancelled".into()
            },
        }
    }

    /// One invalid field.
    pub fn field(
        reason: &'static str,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        ApiError::InvalidArgument {
            reason,
            violations: vec![FieldViolation::new(field, description)],
        }
    }
}

impl From<crate::riskpool::grid::GridError> for ApiError {
    fn from(e: crate::riskpool::grid::GridError) -> Self {
        use crate::riskpool::grid::GridError as G;
        match e {
            G::Spec(e) => ApiError::prefixed("INVALID_GRID", "grid: ", e),
            G::Cancelled(_) => ApiError::stopped(false),
            e @ G::TooLarge(_) => ApiError::field("INVALID_GRID", "pd_multipliers", e.to_string()),
            G::Axis { axis, reason } => ApiError::InvalidArgument {
                reason: "INVALID_GRID",
                violations: vec![
                    FieldViolation::new(axis, reason.clone()),
                    FieldViolation::new("spec.dependence.basel_sme", reason),
                ],
            },
        }
    }
}

/// A failure reading message `index` of a request stream. A message that
/// is not valid protobuf is the caller's error — INVALID_ARGUMENT naming
/// the message (`requests[17]`), not tonic's INTERNAL — even when the
/// response has already begun and the status travels in its trailers.
/// Anything else (the client reset the stream, a message over the size
/// limit) passes through as tonic reported it.
pub fn inbound(status: Status, field: &str, index: u64) -> Status {
    if status.code() == Code::Internal && status.message().starts_with("failed to decode") {
        ApiError::field(
            "MALFORMED_MESSAGE",
            format!("{field}[{index}]"),
            format!("is not a valid message: {}", status.message()),
        )
        .into()
    } else {
        status
    }
}

/// Most bytes of field violations one status lists, of one violation's
/// description, and of a status message. A status travels in HTTP/2
/// trailers, which clients cap: grpc-core refuses more than 16 KiB of
/// metadata, and from 8 KiB refuses at random; past that the caller gets
/// RESOURCE_EXHAUSTED "received metadata size exceeds …" instead of its
/// problems (seen: 500,000 bad enum values in one profile made 111 MB of
/// details). The message goes twice, percent-encoded (a Chinese character
/// is 9 bytes there) and inside the base64 details, so these keep a status
/// to about 5.5 KiB of trailers.
const MAX_LISTED_BYTES: usize = 2 * 1024;
const MAX_DESCRIPTION_BYTES: usize = 512;
const MAX_MESSAGE_BYTES: usize = 512;

/// `s` cut to at most `max` bytes at a character boundary, with `…` when cut.
pub(crate) fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// A violation with its field and description each cut to
/// [`MAX_DESCRIPTION_BYTES`], for the wire.
pub(crate) fn clipped(v: FieldViolation) -> FieldViolation {
    FieldViolation::new(
        clip(v.field, MAX_DESCRIPTION_BYTES),
        clip(v.description, MAX_DESCRIPTION_BYTES),
    )
}

fn bad_request(reason: &str, message: String, violations: Vec<FieldViolation>) -> Status {
    let total = violations.len();
    let mut listed = Vec::new();
    let mut bytes = 0;
    for v in violations.into_iter().map(clipped) {
        bytes += v.field.len() + v.description.len() + 8;
        if bytes > MAX_LISTED_BYTES && !listed.is_empty() {
            break;
        }
        listed.push(PbViolation::new(v.field, v.description));
    }
    let mut info = HashMap::new();
    let message = if listed.len() < total {
        info.insert("violations".to_string(), total.to_string());
        info.insert("violations_listed".to_string(), listed.len().to_string());
        format!(
            "{} ({total} problems; the first {} are listed)",
            clip(message, MAX_MESSAGE_BYTES),
            listed.len()
        )
    } else {
        clip(message, MAX_MESSAGE_BYTES)
    };
    let mut details = ErrorDetails::new();
    details.set_bad_request(listed);
    details.set_error_info(reason, DOMAIN, info);
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// A status carrying one ErrorInfo with `reason` and `metadata`.
fn with_reason(
    code: Code,
    message: String,
    reason: &str,
    metadata: HashMap<String, String>,
) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

/// An id for one internal failure: milliseconds since the epoch and a
/// process-wide sequence number, both hex (`18c3f2a9b10-7`).
fn failure_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{ms:x}-{:x}", SEQ.fetch_add(1, Ordering::Relaxed))
}

/// A matching error as INVALID_ARGUMENT, naming the field.
fn match_error(e: MatchError, message: String) -> Status {
    match e {
        MatchError::NoLpr { .. } => bad_request(
            "LPR_UNKNOWN",
            message.clone(),
            vec![FieldViolation::new("as_of", message)],
        ),
        MatchError::UnknownProduct(id) => bad_request(
            "UNKNOWN_PRODUCT",
            message,
            vec![FieldViolation::new(
                "product_ids",
                format!("unknown product `{id}`"),
            )],
        ),
        MatchError::UnknownHeldProduct { index, id } => bad_request(
            "UNKNOWN_PRODUCT",
            message,
            vec![FieldViolation::new(
                format!("profile.held_products[{index}].product_id"),
                format!("unknown product `{id}`"),
            )],
        ),
    }
}

/// A store's error as the client reads it (a storage failure by an id to
/// quote, its cause in the log).
fn store_error(e: crate::store::StoreError, message: String) -> Status {
    use crate::store::StoreError as S;
    let (code, reason) = match &e {
        S::AlreadyExists(_) => (Code::AlreadyExists, "ALREADY_EXISTS"),
        S::UnknownBank(_) => (Code::FailedPrecondition, "BANK_NOT_REGISTERED"),
        S::NotFound(_) => (Code::NotFound, "NOT_FOUND"),
        S::Refused { code, .. } => (Code::FailedPrecondition, *code),
        S::Invalid { field, why } => {
            return bad_request(
                "INVALID_LEDGER_REQUEST",
                message,
                vec![FieldViolation::new(*field, why.clone())],
            );
        }
        S::BadToken(m) => {
            let (field, why) = m.split_once(": ").unwrap_or(("page_token", m));
            return bad_request(
                "INVALID_PAGE",
                message,
                vec![FieldViolation::new(field, why)],
            );
        }
        S::Unavailable(_) => (Code::Unavailable, "STORE_UNAVAILABLE"),
        S::Quota(_) => (Code::ResourceExhausted, "QUOTA_EXCEEDED"),
        S::Db(_) | S::Postgres(_) | S::Config(_) | S::Dir { .. } | S::Corrupt(_) => {
            (Code::Internal, "STORAGE_FAILURE")
        }
    };
    if code == Code::Internal {
        // The database's own words stay in the log; the client
        // gets an id to quote, not SQL text.
        let id = failure_id();
        tracing::error!(failure_id = %id, error = %e, "storage failure");
        return with_reason(
            code,
            format!("storage failure (failure id {id}; the server log has the cause)"),
            reason,
            HashMap::from([("failure_id".to_string(), id)]),
        );
    }
    if code == Code::Unavailable {
        // (the database is back, or a connection free, within seconds: the
        // call can be retried with the same request id)
        let mut details = ErrorDetails::new();
        details.set_error_info(reason, DOMAIN, HashMap::new());
        details.set_retry_info(Some(std::time::Duration::from_secs(1)));
        return Status::with_error_details(code, e.to_string(), details);
    }
    with_reason(code, e.to_string(), reason, HashMap::new())
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let message = clip(e.to_string(), MAX_MESSAGE_BYTES);
        match e {
            ApiError::InvalidArgument { reason, violations } => {
                bad_request(reason, message, violations)
            }
            ApiError::Profile(p) => bad_request("INVALID_PROFILE", message, p.violations),
            ApiError::Match(e) => match_error(e, message),
            ApiError::Store(e) => store_error(e, message),
            ApiError::Unauthenticated { reason, message } => {
                with_reason(Code::Unauthenticated, message, reason, HashMap::new())
            }
            ApiError::PermissionDenied { reason, message } => {
                with_reason(Code::PermissionDenied, message, reason, HashMap::new())
            }
            ApiError::ResourceExhausted(m) => {
                // (a client may retry after a second: a slot frees as soon
                // as a run ends)
                let mut details = ErrorDetails::new();
                details.set_error_info("SIMULATIONS_BUSY", DOMAIN, HashMap::new());
                details.set_retry_info(Some(std::time::Duration::from_secs(1)));
                Status::with_error_details(Code::ResourceExhausted, m, details)
            }
            ApiError::Stopped {
                deadline: true,
                message,
            } => Status::deadline_exceeded(message),
            ApiError::Stopped {
                deadline: false,
                message,
            } => Status::cancelled(message),
            ApiError::NotFound { reason, kind, name } => {
                let name = clip(name, MAX_DESCRIPTION_BYTES);
                with_reason(
                    Code::NotFound,
                    message,
                    reason,
                    HashMap::from([(kind.to_string(), name)]),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_errors_carry_every_violation() {
        let err =
            crate::enterprise::Profile::from_json(r#"{"employees": -1, "annual_revenue": "x"}"#)
                .unwrap_err();
        let s: Status = ApiError::from(err).into();
        assert_eq!(s.code(), Code::InvalidArgument);
        let d = s.get_error_details();
        let fields: Vec<String> = d
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect();
        assert_eq!(fields, vec!["employees", "annual_revenue"]);
        assert_eq!(d.error_info().unwrap().reason, "INVALID_PROFILE");
    }

    #[test]
    fn a_flood_of_violations_fits_in_the_trailers() {
        // 500,000 bad enum values, as one profile can carry in 4 MB, with
        // Chinese descriptions (3 bytes a character, 9 percent-encoded)
        let violations: Vec<FieldViolation> = (0..500_000)
            .map(|i| {
                FieldViolation::new(
                    format!("profile.certifications[{i}]"),
                    "未知的资质 `0`（应为：创新型中小企业、专精特新、高新技术企业……）",
                )
            })
            .collect();
        let s: Status = ApiError::InvalidArgument {
            reason: "INVALID_PROFILE",
            violations,
        }
        .into();
        assert_eq!(s.code(), Code::InvalidArgument);
        // the trailers carry the details in base64 and the message
        // percent-encoded: together under grpc-core's 8 KiB soft limit, with
        // room for the other headers
        let percent_encoded: usize = s
            .message()
            .bytes()
            .map(|b| {
                if (0x20..0x7f).contains(&b) && b != b'%' {
                    1
                } else {
                    3
                }
            })
            .sum();
        let trailers = s.details().len().div_ceil(3) * 4 + percent_encoded;
        assert!(trailers < 6 * 1024, "{trailers}");
        assert!(s.message().len() <= MAX_MESSAGE_BYTES + 100);
        let d = s.get_error_details();
        let listed = &d.bad_request().unwrap().field_violations;
        assert!(listed.len() > 10, "{}", listed.len());
        assert_eq!(listed[0].field, "profile.certifications[0]");
        let info = &d.error_info().unwrap().metadata;
        assert_eq!(info["violations"], "500000");
        assert_eq!(info["violations_listed"], listed.len().to_string());
        assert!(
            s.message().ends_with(&format!(
                "(500000 problems; the first {} are listed)",
                listed.len()
            )),
            "{}",
            s.message()
        );
        // a single huge description (an echoed 1 MB string) is cut, on a
        // character boundary
        let s: Status = ApiError::field("X", "product_ids", "产".repeat(400_000)).into();
        let d = s.get_error_details();
        let v = &d.bad_request().unwrap().field_violations[0];
        assert!(v.description.len() <= MAX_DESCRIPTION_BYTES + 3);
        assert!(v.description.ends_with('…'));
        assert!(s.message().len() <= MAX_MESSAGE_BYTES + 3);
        // nothing is cut or counted when there is room
        assert_eq!(clip("abc".into(), 3), "abc");
        assert!(d.error_info().unwrap().metadata.is_empty());
    }

    /// A store that cannot be reached answers UNAVAILABLE with when to
    /// retry; a quota used up does not (retrying does not help).
    #[test]
    fn unavailable_says_when_to_retry() {
        let s: Status = ApiError::Store(crate::store::StoreError::Unavailable(
            "pool timed out".into(),
        ))
        .into();
        assert_eq!(s.code(), Code::Unavailable);
        let d = s.get_error_details();
        assert_eq!(d.error_info().unwrap().reason, "STORE_UNAVAILABLE");
        let retry = d.retry_info().unwrap().retry_delay;
        assert_eq!(retry, Some(std::time::Duration::from_secs(1)));
        let s: Status = ApiError::Store(crate::store::StoreError::Quota("full".into())).into();
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.get_error_details().retry_info().is_none());
    }

    #[test]
    fn not_found_has_error_info() {
        let s: Status = ApiError::NotFound {
            reason: "PRODUCT_NOT_FOUND",
            kind: "product",
            name: "x".into(),
        }
        .into();
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(
            s.get_error_details().error_info().unwrap().reason,
            "PRODUCT_NOT_FOUND"
        );
    }

    #[test]
    fn storage_failures_give_an_id_not_the_database_text() {
        let e =
            crate::store::StoreError::Corrupt("SELECT secret FROM banks: disk I/O error".into());
        let s: Status = ApiError::from(e).into();
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("SELECT"), "{}", s.message());
        let info = s.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "STORAGE_FAILURE");
        let id = &info.metadata["failure_id"];
        assert!(s.message().contains(id.as_str()), "{}", s.message());
    }
}
