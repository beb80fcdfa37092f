//! What a PostgreSQL error means to the caller: unavailable, a conflict to
//! retry, or a bug.

use postgres::error::SqlState;

use crate::store::StoreError;

/// Maps a driver error: a connection that failed, closed or was refused is
/// UNAVAILABLE (retry later, same request id); a database that is shutting
/// down or starting is too; anything else is the database's own error.
pub(super) fn classify(e: postgres::Error) -> StoreError {
    let text = describe(&e);
    if let Some(code) = e.code() {
        let c = code.code();
        return if c.starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
        {
            StoreError::Unavailable(text)
        } else {
            StoreError::Postgres(format!("{text} (SQLSTATE {c})"))
        };
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(s) = src {
        if s.is::<std::io::Error>() {
            return StoreError::Unavailable(text);
        }
        src = s.source();
    }
    if e.is_closed() {
        return StoreError::Unavailable(text);
    }
    StoreError::Postgres(text)
}

/// The error and its causes: the driver's own text ("db error", "error
/// connecting to server") says little without them.
pub(super) fn describe(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}

pub(super) fn retryable(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

/// A step of a transaction: the store's own outcome, or a driver error the
/// retry loop looks at.
pub(super) enum Failure {
    Store(StoreError),
    Pg(postgres::Error),
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Self {
        Failure::Pg(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}
