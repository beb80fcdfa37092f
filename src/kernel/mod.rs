//! The kernel under every domain: exact money, field violations, named
//! values, dates and percentages, one copy each. It knows nothing of the
//! domains above it.

pub mod date;
pub mod json;
pub mod money;
pub(crate) mod named;
pub mod percent;
pub mod text;
pub mod violation;

pub(crate) use named::named_enum;
