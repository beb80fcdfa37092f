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

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, Transaction};

use super::{IncentiveStore, Quota, StoreError, StoredReport, StoredStatement, Submission, now};
use crate::incentive::{self, BalanceReport, Bank, IncentiveRules, Quarter};
use crate::kernel::money::Yuan;

mod errors;
mod ledger;
mod migrate;
mod pool;
mod queries;
mod referral;
mod tls;
mod url;

use self::errors::{Failure, classify, retryable};
use self::migrate::{MIGRATION_LOCK, MIGRATIONS};
pub use self::pool::PoolOptions;
use self::pool::{Pool, lock};
use self::queries::{bank_in, banks_in, report_by_id, statement_in};
use self::tls::tls;
pub use self::url::redact;
use self::url::{driver_sslmode, warn_if_plaintext};

/// Attempts of a transaction that lost a race (serialization failure,
/// deadlock, or a request id inserted meanwhile by another replica).
const ATTEMPTS: u32 = 5;

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
/// The reads a statement is computed from, within one transaction.
struct Reads<'t, 'c>(&'t mut Transaction<'c>);

impl incentive::StatementInputs for Reads<'_, '_> {
    type Error = Failure;
    fn banks(&mut self) -> Result<Vec<Bank>, Failure> {
        banks_in(self.0, None, 0, u64::MAX)
    }
    fn latest_reports(&mut self, period: Quarter) -> Result<Vec<BalanceReport>, Failure> {
        let rows = self.0.query(
            "SELECT r.id FROM reports r WHERE r.period = $1 AND r.version =
             (SELECT MAX(version) FROM reports x WHERE x.bank_id = r.bank_id AND x.period = r.period)",
            &[&period.to_string()],
        )?;
        rows.into_iter()
            .map(|row| report_by_id(self.0, row.get(0)).map(|r| r.report))
            .collect()
    }
    fn latest_statement(
        &mut self,
        period: Quarter,
    ) -> Result<Option<incentive::Statement>, Failure> {
        Ok(statement_in(self.0, period, None)?.map(|s| s.statement))
    }
}

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
                    let new = sub.new_version(versions as u64, stored as u64, quota)?;
                    insert_version(tx, bank_id, &period_s, &new, request_id, by)?
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
            let s = incentive::statement_from(&mut Reads(tx), rules, period, budget)?;
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

/// Writes a new report version and, for a snapshot, its loans (by binary
/// COPY); its id.
fn insert_version(
    tx: &mut Transaction<'_>,
    bank_id: &str,
    period: &str,
    new: &super::NewVersion<'_>,
    request_id: &str,
    by: &str,
) -> Result<i64, Failure> {
    let id: i64 = tx
        .query_one(
            "INSERT INTO reports (bank_id, period, version, balance_fen, source, loans, excluded_json, request_id, submitted_by, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            &[&bank_id, &period, &(new.version as i32), &new.balance_fen, &new.source, &bound(new.loans), &new.excluded_json, &request_id, &by, &now()],
        )?
        .get(0);
    if !new.records.is_empty() {
        let sink = tx.copy_in(
            "COPY snapshot_loans (report_id, loan_id, borrower_id, borrower_type, purpose, credit_line_fen, balance_fen) FROM STDIN BINARY",
        )?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
            ],
        );
        for l in new.records {
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
    Ok(id)
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
