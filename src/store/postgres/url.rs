//! The store URL: its password hidden for logs, the sslmode the driver is
//! given, and a warning for a connection that is not encrypted.

use postgres::Client;

/// `url` with its password (in the authority or as `password=`) replaced by
/// `***`.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let auth_end = out[start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..auth_end].rfind('@').map(|i| start + i)
            && let Some(colon) = out[start..at].find(':').map(|i| start + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    if let Some(i) = out.find("password=") {
        let v = i + "password=".len();
        let end = out[v..].find('&').map_or(out.len(), |j| v + j);
        out.replace_range(v..end, "***");
    }
    out
}

/// Logs a warning when the connection `c` is not encrypted (the URL's
/// `sslmode` is `disable`, or `prefer` met a database without TLS): the
/// store's traffic, bank data and the password exchange, then crosses the
/// network in the clear.
pub(super) fn warn_if_plaintext(c: &mut Client) {
    let ssl = c
        .query_opt(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .ok()
        .flatten()
        .map(|r| r.get::<_, bool>(0));
    if ssl == Some(false) {
        tracing::warn!(
            "database connection is NOT encrypted: write sslmode=verify-full in store.url (and store.ca_file) so that TLS is required"
        );
    }
}

/// `url` with libpq's `sslmode=verify-full` or `verify-ca` as the driver
/// spells them: `require` (which here always verifies the certificate and
/// the host name, so all three mean verify-full).
pub(super) fn driver_sslmode(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
}
