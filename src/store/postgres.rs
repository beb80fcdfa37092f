//! The PostgreSQL backend: one database shared by every replica.
//!
//! Driver: the `postgres` crate, the blocking client of `tokio-postgres`
//! (sfackler's rust-postgres, the most used PostgreSQL driver for Rust). The
//! store's calls are blocking transactions that the server already runs on its
//! blocking pool, so a blocking client fits the seam as SQLite's does, with
//! no second async runtime in the store; money is integer fen, so the
//! driver's `rust_decimal` support is not needed. A small pool of its own
//! (`Pool`) bounds the connections and drops the ones the server closed.
//!
//! Behaviour across replicas:
//! - migrations run in one transaction under an advisory lock: two servers
//!   starting at once migrate once;
//! - a submission takes transaction-scoped advisory locks on its request id,
//!   then on its (bank, period): the version is `MAX + 1` under the lock, so
//!   versions are 1..n with no gap however the submitters race; the
//!   `(scope, request_id)` primary key makes a request id unique in the
//!   database itself;
//! - TLS (rustls) as the URL's `sslmode` asks (`prefer` by default;
//!   `verify-full`, `verify-ca` and `require` all require TLS), the
//!   database's certificate and host name always verified against
//!   `store.ca_file` or the system's CAs; a connection that is not encrypted
//!   is logged as a warning;
//! - a failed connection is `UNAVAILABLE` to the caller, never a hang: the
//!   connect timeout is `store.connect_timeout_seconds`, and a connection the
//!   server dropped is discarded and replaced on the next call.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, GenericClient, Transaction};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{IncentiveStore, Quota, StoreError, StoredReport, StoredStatement, Submission, now};
use crate::incentive::{
    self, BalanceReport, Bank, Excluded, IncentiveRules, InstitutionType, Quarter, Statement,
};
use crate::kernel::money::Yuan;

/// Advisory-lock key under which migrations run (any fixed number; this one
/// spells "smefin" in ASCII).
const MIGRATION_LOCK: i64 = 0x736d_6566_696e;

/// The schema, one migration per entry; `smefin_schema.version` says how many
/// have run. The shape is SQLite's after its migrations.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema
    "CREATE TABLE banks (
        bank_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        institution_type TEXT NOT NULL,
        registered_at TEXT NOT NULL
     );
     CREATE TABLE reports (
        id BIGSERIAL PRIMARY KEY,
        bank_id TEXT NOT NULL REFERENCES banks(bank_id),
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        balance_fen BIGINT NOT NULL,
        source TEXT NOT NULL,
        loans BIGINT NOT NULL,
        excluded_json TEXT NOT NULL,
        request_id TEXT NOT NULL,
        submitted_by TEXT NOT NULL,
        submitted_at TEXT NOT NULL,
        UNIQUE (bank_id, period, version)
     );
     CREATE TABLE snapshot_loans (
        report_id BIGINT NOT NULL REFERENCES reports(id),
        loan_id TEXT NOT NULL,
        borrower_id TEXT NOT NULL,
        borrower_type TEXT NOT NULL,
        purpose TEXT NOT NULL,
        credit_line_fen BIGINT NOT NULL,
        balance_fen BIGINT NOT NULL
     );
     CREATE INDEX snapshot_loans_report ON snapshot_loans (report_id);
     CREATE TABLE requests (
        scope TEXT NOT NULL,
        request_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        report_id BIGINT NOT NULL REFERENCES reports(id),
        PRIMARY KEY (scope, request_id)
     );
     CREATE TABLE statements (
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        json TEXT NOT NULL,
        computed_by TEXT NOT NULL,
        computed_at TEXT NOT NULL,
        PRIMARY KEY (period, version)
     );",
];

/// Attempts of a transaction that lost a race (serialization failure,
/// deadlock, or a request id inserted meanwhile by another replica).
const ATTEMPTS: u32 = 5;

/// Connection-pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long to wait for the database to accept a connection, and for a
    /// free connection when all are busy.
    pub connect_timeout: Duration,
    /// PEM file of the certificate authorities trusted for the database's
    /// certificate (None: the system bundle).
    pub ca_file: Option<std::path::PathBuf>,
}

impl From<&super::StoreOptions> for PoolOptions {
    fn from(c: &super::StoreOptions) -> Self {
        PoolOptions {
            max_connections: c.pool_size,
            connect_timeout: Duration::from_secs(c.connect_timeout_seconds),
            ca_file: c.ca_file.clone(),
        }
    }
}

/// Where Debian (and most Linux systems) keep the system's trusted CAs.
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// The TLS connector: rustls (ring), trusting the CAs of `ca_file`, or of
/// the system bundle. Whether TLS is used follows the URL's `sslmode`
/// (`disable`, `prefer` — the default: TLS when the server offers it — or
/// `require`); when it is, the database's certificate is always verified
/// against these CAs and the host name.
fn tls(ca_file: Option<&std::path::Path>) -> Result<MakeRustlsConnect, StoreError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let path = match ca_file {
        Some(p) => Some(p.to_path_buf()),
        None => SYSTEM_CA_BUNDLES
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file()),
    };
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = &path {
        let bad = |e: String| StoreError::Config(format!("store.ca_file {}: {e}", path.display()));
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
            roots
                .add(cert.map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("holds no certificate".into()));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StoreError::Config(format!("store TLS settings: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// A bounded pool of blocking clients.
struct Pool {
    config: postgres::Config,
    tls: MakeRustlsConnect,
    opts: PoolOptions,
    idle: Mutex<Vec<Client>>,
    /// Connections handed out or idle.
    open: Mutex<usize>,
    freed: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("opts", &self.opts).finish()
    }
}

/// A connection on loan from the pool; returned when dropped, unless the
/// server closed it.
struct Conn<'p> {
    pool: &'p Pool,
    client: Option<Client>,
    /// Connected for this call (not taken from the idle list).
    fresh: bool,
}

impl Conn<'_> {
    fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a loaned connection holds a client")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.is_closed()
        {
            lock(&self.pool.idle).push(c);
            self.pool.freed.notify_one();
            return;
        }
        *lock(&self.pool.open) -= 1;
        self.pool.freed.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent whatever panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    fn get(&self) -> Result<Conn<'_>, StoreError> {
        let deadline = std::time::Instant::now() + self.opts.connect_timeout;
        loop {
            if let Some(c) = lock(&self.idle).pop() {
                if !c.is_closed() {
                    return Ok(Conn {
                        pool: self,
                        client: Some(c),
                        fresh: false,
                    });
                }
                *lock(&self.open) -= 1;
                continue;
            }
            let mut open = lock(&self.open);
            if *open < self.opts.max_connections {
                *open += 1;
                drop(open);
                return match self.config.connect(self.tls.clone()) {
                    Ok(mut c) => {
                        warn_if_plaintext(&mut c);
                        Ok(Conn {
                            pool: self,
                            client: Some(c),
                            fresh: true,
                        })
                    }
                    Err(e) => {
                        *lock(&self.open) -= 1;
                        self.freed.notify_one();
                        Err(classify(e))
                    }
                };
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable(format!(
                    "all {} database connections are busy (store.pool_size)",
                    self.opts.max_connections
                )));
            }
            let _ = self
                .freed
                .wait_timeout(open, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Pool {
    /// Drops every idle connection: after the database went away they are
    /// all dead, though a blocking client learns it only when next used.
    fn clear_idle(&self) {
        let dropped = std::mem::take(&mut *lock(&self.idle)).len();
        *lock(&self.open) -= dropped;
        self.freed.notify_all();
    }
}

/// Maps a driver error: a connection that failed, closed or was refused is
/// UNAVAILABLE (retry later, same request id); a database that is shutting
/// down or starting is too; anything else is the database's own error.
fn classify(e: postgres::Error) -> StoreError {
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
fn describe(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}

fn retryable(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

/// A step of a transaction: the store's own outcome, or a driver error the
/// retry loop looks at.
enum Failure {
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

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    /// The health check's own connection, outside the pool, so a busy pool
    /// does not read as a database that is down.
    health: Mutex<Option<Client>>,
}

impl Drop for PgStore {
    /// A blocking client closes by blocking on its own runtime, which tokio
    /// forbids on a thread that drives async tasks (where a server drops its
    /// store at shutdown): the clients are closed on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *lock(&self.pool.idle));
        let health = lock(&self.health).take();
        let close = move || drop((idle, health));
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(close).join();
        } else {
            close();
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool).finish()
    }
}

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
fn warn_if_plaintext(c: &mut Client) {
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
fn driver_sslmode(url: &str) -> String {
    url.replace("sslmode=verify-full", "sslmode=require")
        .replace("sslmode=verify-ca", "sslmode=require")
}

impl PgStore {
    /// Connects to `url` and migrates the database (once, whatever else is
    /// starting against it).
    pub fn open(url: &str, opts: &PoolOptions) -> Result<PgStore, StoreError> {
        let mut config: postgres::Config = driver_sslmode(url)
            .parse()
            .map_err(|e| StoreError::Config(format!("store.url {}: {e}", redact(url))))?;
        if config.get_hosts().is_empty() {
            return Err(StoreError::Config(format!(
                "store.url {}: names no host",
                redact(url)
            )));
        }
        config
            .connect_timeout(opts.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("smefin");
        let store = PgStore {
            pool: Pool {
                config,
                tls: tls(opts.ca_file.as_deref())?,
                opts: opts.clone(),
                idle: Mutex::new(Vec::new()),
                open: Mutex::new(0),
                freed: Condvar::new(),
            },
            health: Mutex::new(None),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.client().transaction().map_err(classify)?;
        let run = |tx: &mut Transaction<'_>| -> Result<(), postgres::Error> {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS smefin_schema (version INTEGER NOT NULL);
                 INSERT INTO smefin_schema (version)
                    SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM smefin_schema);",
            )?;
            let done: i32 = tx
                .query_one("SELECT version FROM smefin_schema", &[])?
                .get(0);
            for (i, m) in MIGRATIONS.iter().enumerate().skip(done.max(0) as usize) {
                tx.batch_execute(m)?;
                tx.execute("UPDATE smefin_schema SET version = $1", &[&(i as i32 + 1)])?;
            }
            Ok(())
        };
        run(&mut tx).map_err(classify)?;
        tx.commit().map_err(classify)
    }

    /// Runs `f` in a transaction, retrying a lost race; commits what it
    /// returns. A connection that was idle and turns out dead (the database
    /// restarted meanwhile) is replaced once: a submission is idempotent by
    /// its request id, so running it again is safe.
    fn transact<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        self.with_conn(|client| {
            let mut attempt = 1;
            loop {
                let mut tx = client.transaction()?;
                let r = f(&mut tx).and_then(|v| tx.commit().map(|()| v).map_err(Failure::Pg));
                match r {
                    Err(Failure::Pg(e)) if retryable(&e) && attempt < ATTEMPTS => attempt += 1,
                    r => return r,
                }
            }
        })
    }

    /// Runs read-only `f` on a pooled connection.
    fn read<T>(&self, f: impl FnMut(&mut Client) -> Result<T, Failure>) -> Result<T, StoreError> {
        self.with_conn(f)
    }

    fn with_conn<T>(
        &self,
        mut f: impl FnMut(&mut Client) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let mut reused = 0;
        loop {
            let mut conn = self.pool.get()?;
            let e = match f(conn.client()) {
                Ok(v) => return Ok(v),
                Err(Failure::Store(e)) => return Err(e),
                Err(Failure::Pg(e)) => classify(e),
            };
            if !matches!(e, StoreError::Unavailable(_)) {
                return Err(e);
            }
            self.pool.clear_idle();
            reused += 1;
            if conn.fresh || reused > 2 {
                return Err(e);
            }
        }
    }
}

/// A `u64` page bound as PostgreSQL's `BIGINT`.
fn bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl IncentiveStore for PgStore {
    fn register_bank(&self, b: &Bank) -> Result<Bank, StoreError> {
        self.transact(|tx| {
            tx.execute(
                "INSERT INTO banks (bank_id, name, institution_type, registered_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (bank_id) DO NOTHING",
                &[&b.bank_id, &b.name, &b.institution_type.code(), &now()],
            )?;
            let old = bank_in(tx, &b.bank_id)?;
            match old {
                Some(old) if old == *b => Ok(old),
                _ => Err(Failure::Store(StoreError::AlreadyExists(format!(
                    "bank `{}` is registered with other details",
                    b.bank_id
                )))),
            }
        })
    }

    fn banks_page(
        &self,
        only: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Bank>, StoreError> {
        self.read(|c| banks_in(c, only, offset, limit))
    }

    fn submit(
        &self,
        request_id: &str,
        content_hash: &str,
        bank_id: &str,
        period: Quarter,
        sub: Submission<'_>,
        by: &str,
        quota: &Quota,
    ) -> Result<StoredReport, StoreError> {
        let period_s = period.to_string();
        self.transact(|tx| {
            // Lock order: request, then (bank, period); every submitter
            // takes them in this order.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('request/' || $1::TEXT || '/' || $2::TEXT, 0))",
                &[&by, &request_id],
            )?;
            let prior = tx.query_opt(
                "SELECT content_hash, report_id FROM requests WHERE scope = $1 AND request_id = $2",
                &[&by, &request_id],
            )?;
            if let Some(row) = prior {
                let hash: String = row.get(0);
                if hash != content_hash {
                    return Err(Failure::Store(StoreError::AlreadyExists(format!(
                        "request_id `{request_id}` was already used for different content"
                    ))));
                }
                return report_by_id(tx, row.get(1));
            }
            if bank_in(tx, bank_id)?.is_none() {
                return Err(Failure::Store(StoreError::UnknownBank(bank_id.to_string())));
            }
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('report/' || $1::TEXT || '/' || $2::TEXT, 0))",
                &[&bank_id, &period_s],
            )?;
            let row = tx.query_one(
                "SELECT COUNT(*)::INT4, COALESCE(SUM(loans), 0)::INT8 FROM reports WHERE bank_id = $1 AND period = $2",
                &[&bank_id, &period_s],
            )?;
            let (versions, stored): (i32, i64) = (row.get(0), row.get(1));
            // The latest version's content again: answered with it.
            let latest = tx.query_opt(
                "SELECT r.id FROM reports r JOIN requests q ON q.report_id = r.id
                 WHERE r.bank_id = $1 AND r.period = $2 AND r.version = $3 AND q.content_hash = $4
                 LIMIT 1",
                &[&bank_id, &period_s, &versions, &content_hash],
            )?;
            let id: i64 = match latest {
                Some(row) => row.get(0),
                None => {
            let (balance, source, loans, excluded) = match &sub {
                Submission::Total(b) => (*b, "total", 0u64, Vec::new()),
                Submission::Snapshot(ls, s) => {
                    (s.balance, "snapshot", ls.len() as u64, s.excluded.clone())
                }
            };
            if let Some(why) = quota.refuses(versions as u64, stored as u64, loans) {
                return Err(Failure::Store(StoreError::Quota(why)));
            }
            let version = versions + 1;
            let excluded_json = serde_json::to_string(&excluded)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO reports (bank_id, period, version, balance_fen, source, loans, excluded_json, request_id, submitted_by, submitted_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    &[&bank_id, &period_s, &version, &balance.to_fen(), &source, &bound(loans), &excluded_json, &request_id, &by, &now()],
                )?
                .get(0);
            if let Submission::Snapshot(ls, _) = &sub {
                let sink = tx.copy_in(
                    "COPY snapshot_loans (report_id, loan_id, borrower_id, borrower_type, purpose, credit_line_fen, balance_fen) FROM STDIN BINARY",
                )?;
                let mut w = BinaryCopyInWriter::new(
                    sink,
                    &[Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8, Type::INT8],
                );
                for l in ls.iter() {
                    w.write(&[
                        &id,
                        &l.loan_id,
                        &l.borrower_id,
                        &l.borrower_type.code(),
                        &l.purpose.code(),
                        &l.credit_line.to_fen(),
                        &l.balance.to_fen(),
                    ])?;
                }
                w.finish()?;
            }
            id
                }
            };
            tx.execute(
                "INSERT INTO requests (scope, request_id, content_hash, report_id) VALUES ($1, $2, $3, $4)",
                &[&by, &request_id, &content_hash, &id],
            )?;
            report_by_id(tx, id)
        })
    }

    fn reports(
        &self,
        bank: Option<&str>,
        period: Option<Quarter>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<StoredReport>, StoreError> {
        let period = period.map(|p| p.to_string());
        self.read(|c| {
            let rows = c.query(
                "SELECT id FROM reports WHERE ($1::TEXT IS NULL OR bank_id = $1) AND ($2::TEXT IS NULL OR period = $2)
                 ORDER BY id LIMIT $3 OFFSET $4",
                &[&bank, &period, &bound(limit), &bound(offset)],
            )?;
            rows.iter().map(|r| report_by_id(c, r.get(0))).collect()
        })
    }

    fn compute_statement(
        &self,
        rules: &IncentiveRules,
        period: Quarter,
        budget: Option<Yuan>,
        by: &str,
    ) -> Result<StoredStatement, StoreError> {
        let period_s = period.to_string();
        self.transact(|tx| {
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('statement/' || $1::TEXT, 0))",
                &[&period_s],
            )?;
            let banks = banks_in(tx, None, 0, u64::MAX)?;
            let mut latest: BTreeMap<(String, Quarter), BalanceReport> = BTreeMap::new();
            for p in [period.prev(), period] {
                let rows = tx.query(
                    "SELECT r.id FROM reports r WHERE r.period = $1 AND r.version =
                     (SELECT MAX(version) FROM reports x WHERE x.bank_id = r.bank_id AND x.period = r.period)",
                    &[&p.to_string()],
                )?;
                for row in rows {
                    let r = report_by_id(tx, row.get(0))?;
                    latest.insert((r.report.bank_id.clone(), p), r.report);
                }
            }
            let previous = statement_in(tx, period, None)?;
            let s = incentive::compute(
                rules,
                period,
                &banks,
                &latest,
                budget,
                previous.as_ref().map(|p| &p.statement),
            );
            let json =
                serde_json::to_string(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let at = now();
            tx.execute(
                "INSERT INTO statements (period, version, json, computed_by, computed_at) VALUES ($1, $2, $3, $4, $5)",
                &[&period_s, &(s.version as i32), &json, &by, &at],
            )?;
            Ok(StoredStatement {
                statement: s,
                computed_by: by.to_string(),
                computed_at: at,
            })
        })
    }

    fn statement(
        &self,
        period: Quarter,
        version: Option<u32>,
    ) -> Result<Option<StoredStatement>, StoreError> {
        self.read(|c| statement_in(c, period, version))
    }

    fn ping(&self) -> Result<(), StoreError> {
        let mut slot = lock(&self.health);
        let mut client = match slot.take() {
            Some(c) if !c.is_closed() => c,
            _ => match self.pool.config.connect(self.pool.tls.clone()) {
                Ok(c) => c,
                Err(e) => {
                    self.pool.clear_idle();
                    return Err(classify(e));
                }
            },
        };
        match client.simple_query("SELECT 1") {
            Ok(_) => {
                *slot = Some(client);
                Ok(())
            }
            Err(e) => {
                // The pool's idle connections went down with this one.
                self.pool.clear_idle();
                Err(classify(e))
            }
        }
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

fn bank_in(c: &mut impl GenericClient, id: &str) -> Result<Option<Bank>, Failure> {
    let row = c.query_opt(
        "SELECT bank_id, name, institution_type FROM banks WHERE bank_id = $1",
        &[&id],
    )?;
    let Some(row) = row else { return Ok(None) };
    let t: String = row.get(2);
    let institution_type = InstitutionType::parse(&t)
        .ok_or_else(|| StoreError::Corrupt(format!("institution type `{t}`")))?;
    Ok(Some(Bank {
        bank_id: row.get(0),
        name: row.get(1),
        institution_type,
    }))
}

fn banks_in(
    c: &mut impl GenericClient,
    only: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Bank>, Failure> {
    let rows = c.query(
        "SELECT bank_id, name, institution_type FROM banks WHERE ($1::TEXT IS NULL OR bank_id = $1)
         ORDER BY bank_id LIMIT $2 OFFSET $3",
        &[&only, &bound(limit), &bound(offset)],
    )?;
    rows.iter()
        .map(|row| {
            let t: String = row.get(2);
            let institution_type = InstitutionType::parse(&t)
                .ok_or_else(|| StoreError::Corrupt(format!("institution type `{t}`")))?;
            Ok(Bank {
                bank_id: row.get(0),
                name: row.get(1),
                institution_type,
            })
        })
        .collect()
}

fn report_by_id(c: &mut impl GenericClient, id: i64) -> Result<StoredReport, Failure> {
    let row = c.query_one(
        "SELECT bank_id, period, version, balance_fen, source, loans, excluded_json, request_id, submitted_by, submitted_at
         FROM reports WHERE id = $1",
        &[&id],
    )?;
    let period: String = row.get(1);
    let period: Quarter = period.parse().map_err(StoreError::Corrupt)?;
    let excluded: String = row.get(6);
    let excluded: Vec<Excluded> =
        serde_json::from_str(&excluded).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let version: i32 = row.get(2);
    let loans: i64 = row.get(5);
    Ok(StoredReport {
        report: BalanceReport {
            bank_id: row.get(0),
            period,
            balance: Yuan::from_fen(row.get(3)),
            version: version as u32,
            excluded,
        },
        source: row.get(4),
        loans: loans as u64,
        request_id: row.get(7),
        submitted_by: row.get(8),
        submitted_at: row.get(9),
    })
}

fn statement_in(
    c: &mut impl GenericClient,
    period: Quarter,
    version: Option<u32>,
) -> Result<Option<StoredStatement>, Failure> {
    let version = version.map(|v| i32::try_from(v).unwrap_or(i32::MAX));
    let row = c.query_opt(
        "SELECT json, computed_by, computed_at FROM statements
         WHERE period = $1 AND ($2::INTEGER IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
        &[&period.to_string(), &version],
    )?;
    let Some(row) = row else { return Ok(None) };
    let json: String = row.get(0);
    let statement: Statement =
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(StoredStatement {
        statement,
        computed_by: row.get(1),
        computed_at: row.get(2),
    }))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://smefin:s3cr@t@db:5432/smefin?sslmode=disable"),
            "postgres://smefin:***@db:5432/smefin?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://db/smefin?user=u&password=pw&x=1"),
            "postgres://db/smefin?user=u&password=***&x=1"
        );
        assert_eq!(redact("postgres://u@db/smefin"), "postgres://u@db/smefin");
    }
}
