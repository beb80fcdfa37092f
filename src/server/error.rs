//! The one place where domain errors become gRPC statuses.
//!
//! Bad input is `INVALID_ARGUMENT` carrying a `google.rpc.BadRequest` with one
//! field violation per problem (field paths as in the request:
//! `profile.annual_revenue`, `profile.certifications[2]`) and a
//! `google.rpc.ErrorInfo` whose `reason` is an UPPER_SNAKE code.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation as PbViolation, StatusExt};

use crate::enterprise::{FieldViolation, ProfileError};
use crate::matching::MatchError;

/// Error domain reported in ErrorInfo.
pub const DOMAIN: &str = "smefin.v1";

/// Every error a handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Request fields failed validation.
    #[error("invalid request: {}", crate::enterprise::describe_all(.violations))]
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

fn bad_request(reason: &str, message: String, violations: Vec<FieldViolation>) -> Status {
    let mut details = ErrorDetails::new();
    details.set_bad_request(
        violations
            .into_iter()
            .map(|v| PbViolation::new(v.field, v.description))
            .collect::<Vec<_>>(),
    );
    details.set_error_info(reason, DOMAIN, HashMap::new());
    Status::with_error_details(Code::InvalidArgument, message, details)
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let message = e.to_string();
        match e {
            ApiError::InvalidArgument { reason, violations } => {
                bad_request(reason, message, violations)
            }
            ApiError::Profile(p) => bad_request("INVALID_PROFILE", message, p.violations),
            ApiError::Match(MatchError::NoLpr { .. }) => bad_request(
                "LPR_UNKNOWN",
                message.clone(),
                vec![FieldViolation::new("as_of", message)],
            ),
            ApiError::Match(MatchError::UnknownProduct(id)) => bad_request(
                "UNKNOWN_PRODUCT",
                message,
                vec![FieldViolation::new(
                    "product_ids",
                    format!("unknown product `{id}`"),
                )],
            ),
            ApiError::Store(e) => {
                use crate::store::StoreError as S;
                let (code, reason) = match &e {
                    S::AlreadyExists(_) => (Code::AlreadyExists, "ALREADY_EXISTS"),
                    S::UnknownBank(_) => (Code::FailedPrecondition, "BANK_NOT_REGISTERED"),
                    S::Db(_) | S::Dir { .. } | S::Corrupt(_) => (Code::Internal, "STORAGE_FAILURE"),
                };
                if code == Code::Internal {
                    tracing::error!(error = %e, "storage failure");
                }
                let mut details = ErrorDetails::new();
                details.set_error_info(reason, DOMAIN, HashMap::new());
                Status::with_error_details(code, e.to_string(), details)
            }
            ApiError::ResourceExhausted(m) => {
                let mut details = ErrorDetails::new();
                details.set_error_info("SIMULATIONS_BUSY", DOMAIN, HashMap::new());
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
                let mut details = ErrorDetails::new();
                details.set_error_info(reason, DOMAIN, HashMap::from([(kind.to_string(), name)]));
                Status::with_error_details(Code::NotFound, message, details)
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
}
