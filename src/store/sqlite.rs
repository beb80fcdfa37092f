//! The embedded SQLite backend (bundled): one file in a data directory.
//!
//! - WAL journal with `synchronous=FULL`: a write is acknowledged only once it
//!   is durable, so a process killed with SIGKILL loses nothing it answered.
//! - Schema migrations run at start-up (`PRAGMA user_version`).
//!
//! One connection behind a mutex serialises writers; callers on the async
//! runtime use `spawn_blocking`.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::{
    IncentiveStore, Quota, StoreError, StoredReport, StoredStatement, Submission, Synchronous, now,
};
use crate::incentive::{
    self, BalanceReport, Bank, Excluded, IncentiveRules, InstitutionType, Quarter, Statement,
};
use crate::kernel::money::Yuan;

mod ledger;
mod referral;

/// The embedded SQLite database.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    /// The database file (long reads open their own connection to it).
    path: std::path::PathBuf,
}

const MIGRATIONS: &[&str] = &[
    // 1: the initial schema
    "CREATE TABLE banks (
        bank_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        institution_type TEXT NOT NULL,
        registered_at TEXT NOT NULL
     );
     CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        bank_id TEXT NOT NULL REFERENCES banks(bank_id),
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        balance_fen INTEGER NOT NULL,
        source TEXT NOT NULL,
        loans INTEGER NOT NULL,
        excluded_json TEXT NOT NULL,
        request_id TEXT NOT NULL,
        submitted_by TEXT NOT NULL,
        submitted_at TEXT NOT NULL,
        UNIQUE (bank_id, period, version)
     );
     CREATE TABLE snapshot_loans (
        report_id INTEGER NOT NULL REFERENCES reports(id),
        loan_id TEXT NOT NULL,
        borrower_id TEXT NOT NULL,
        borrower_type TEXT NOT NULL,
        purpose TEXT NOT NULL,
        credit_line_fen INTEGER NOT NULL,
        balance_fen INTEGER NOT NULL
     );
     CREATE TABLE requests (
        request_id TEXT PRIMARY KEY,
        content_hash TEXT NOT NULL,
        report_id INTEGER NOT NULL REFERENCES reports(id)
     );
     CREATE TABLE statements (
        period TEXT NOT NULL,
        version INTEGER NOT NULL,
        json TEXT NOT NULL,
        computed_by TEXT NOT NULL,
        computed_at TEXT NOT NULL,
        PRIMARY KEY (period, version)
     );",
    // 2: request ids are scoped to the submitter (a bank, or the bureau),
    // so no caller can block or probe another's ids. Existing ids keep the
    // scope of the principal that submitted them.
    "CREATE TABLE scoped_requests (
        scope TEXT NOT NULL,
        request_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        report_id INTEGER NOT NULL REFERENCES reports(id),
        PRIMARY KEY (scope, request_id)
     );
     INSERT INTO scoped_requests (scope, request_id, content_hash, report_id)
        SELECT r.submitted_by, q.request_id, q.content_hash, q.report_id
        FROM requests q JOIN reports r ON r.id = q.report_id;
     DROP TABLE requests;
     ALTER TABLE scoped_requests RENAME TO requests;",
    // 3: campaigns, their leads, and the outcomes banks report
    referral::SCHEMA,
    // 4: pools and their event logs
    ledger::SCHEMA,
    // 5: each pool's stored fold
    ledger::FOLDS,
    // 6: every event of a loan or a claim names its bank
    ledger::BANK_IDS,
];

impl Store {
    /// Opens (creating if needed) the database in `dir` and migrates it,
    /// with every write synced before it is acknowledged.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, Synchronous::Full)
    }

    /// [`Store::open`] with the given `synchronous` setting.
    pub fn open_with(dir: &Path, sync: Synchronous) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut conn = Connection::open(dir.join("smefin.sqlite3"))?;
        // First, so that servers starting at once wait for each other's
        // journal switch and migrations rather than fail "database is locked".
        let wait = std::time::Duration::from_secs(10);
        conn.busy_timeout(wait)?;
        // SQLite still answers "busy" at once, without waiting, where waiting
        // could deadlock (two connections upgrading their read locks, as two
        // servers switching an empty database to WAL do): then the whole
        // set-up is tried again, within the same 10 s.
        let until = std::time::Instant::now() + wait;
        loop {
            match Store::set_up(&mut conn, sync) {
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < until =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                r => break r?,
            }
        }
        Ok(Store {
            conn: Mutex::new(conn),
            path: dir.join("smefin.sqlite3"),
        })
    }

    /// The journal, the pragmas and the migrations (each step idempotent:
    /// a migration rolls back whole).
    fn set_up(conn: &mut Connection, sync: Synchronous) -> Result<(), rusqlite::Error> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match sync {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // One writer migrates; the version is read under its write lock, so
        // a second server starting meanwhile finds the work done.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()
    }

    /// A read-only connection of its own, for a long read that must not
    /// hold the store's lock (WAL lets writers go on meanwhile).
    fn reader(&self) -> Result<Connection, StoreError> {
        let c = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(c)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent
        // (transactions roll back), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// All banks, by id.
    pub fn banks(&self) -> Result<Vec<Bank>, StoreError> {
        let conn = self.lock();
        banks_in(&conn, None, 0, u64::MAX)
    }

    /// One bank.
    pub fn bank(&self, id: &str) -> Result<Option<Bank>, StoreError> {
        bank_in(&self.lock(), id)
    }
}

impl IncentiveStore for Store {
    /// Registers a bank; the same details again return it.
    fn register_bank(&self, b: &Bank) -> Result<Bank, StoreError> {
        let conn = self.lock();
        if let Some(old) = bank_in(&conn, &b.bank_id)? {
            return if old == *b {
                Ok(old)
            } else {
                Err(StoreError::AlreadyExists(format!(
                    "bank `{}` is registered with other details",
                    b.bank_id
                )))
            };
        }
        conn.execute(
            "INSERT INTO banks (bank_id, name, institution_type, registered_at) VALUES (?1, ?2, ?3, ?4)",
            params![b.bank_id, b.name, b.institution_type.code(), now()],
        )?;
        Ok(b.clone())
    }

    /// One page of banks by id, paged in the database: `only` restricts it
    /// to one bank (a bank's own view). Returns up to `limit` banks.
    fn banks_page(
        &self,
        only: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Bank>, StoreError> {
        banks_in(&self.lock(), only, offset, limit)
    }

    /// Stores a submission as the next version of (bank, period), or returns
    /// the report of an earlier submission with the same request id and
    /// content. Request ids are scoped to the submitter `by` (`bank:<id>`,
    /// `bureau`, `open`): another submitter's ids are neither visible nor
    /// blocked.
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
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let prior: Option<(String, i64)> = tx
            .query_row(
                "SELECT content_hash, report_id FROM requests WHERE scope = ?1 AND request_id = ?2",
                params![by, request_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((hash, id)) = prior {
            if hash != content_hash {
                return Err(StoreError::AlreadyExists(format!(
                    "request_id `{request_id}` was already used for different content"
                )));
            }
            return report_by_id(&tx, id);
        }
        if bank_in(&tx, bank_id)?.is_none() {
            return Err(StoreError::UnknownBank(bank_id.to_string()));
        }
        let (versions, stored): (i64, i64) = tx.query_row(
            "SELECT COUNT(*), COALESCE(SUM(loans), 0) FROM reports WHERE bank_id = ?1 AND period = ?2",
            params![bank_id, period.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // The latest version's content again: answered with it.
        let latest: Option<i64> = tx
            .query_row(
                "SELECT r.id FROM reports r JOIN requests q ON q.report_id = r.id
                 WHERE r.bank_id = ?1 AND r.period = ?2 AND r.version = ?3 AND q.content_hash = ?4
                 LIMIT 1",
                params![bank_id, period.to_string(), versions, content_hash],
                |r| r.get(0),
            )
            .optional()?;
        let id = match latest {
            Some(id) => id,
            None => {
                let new = sub.new_version(versions as u64, stored as u64, quota)?;
                insert_version(&tx, bank_id, period, &new, request_id, by)?
            }
        };
        tx.execute(
            "INSERT INTO requests (scope, request_id, content_hash, report_id) VALUES (?1, ?2, ?3, ?4)",
            params![by, request_id, content_hash, id],
        )?;
        let r = report_by_id(&tx, id)?;
        tx.commit()?;
        Ok(r)
    }

    /// Stored reports, every version, oldest first, filtered, paged.
    fn reports(
        &self,
        bank: Option<&str>,
        period: Option<Quarter>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<StoredReport>, StoreError> {
        let conn = self.lock();
        let mut st = conn.prepare(
            "SELECT id FROM reports WHERE (?1 IS NULL OR bank_id = ?1) AND (?2 IS NULL OR period = ?2)
             ORDER BY id LIMIT ?3 OFFSET ?4",
        )?;
        let ids: Vec<i64> = st
            .query_map(
                params![
                    bank,
                    period.map(|p| p.to_string()),
                    limit as i64,
                    offset as i64
                ],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| report_by_id(&conn, id)).collect()
    }

    /// Computes the statement of `period` from the latest reports and stores
    /// it as the next version, atomically.
    fn compute_statement(
        &self,
        rules: &IncentiveRules,
        period: Quarter,
        budget: Option<Yuan>,
        by: &str,
    ) -> Result<StoredStatement, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let s = incentive::statement_from(&mut Reads(&tx), rules, period, budget)?;
        let json = serde_json::to_string(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let at = now();
        tx.execute(
            "INSERT INTO statements (period, version, json, computed_by, computed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![period.to_string(), s.version, json, by, at],
        )?;
        tx.commit()?;
        Ok(StoredStatement {
            statement: s,
            computed_by: by.to_string(),
            computed_at: at,
        })
    }

    /// A stored statement: a version, or the latest.
    fn statement(
        &self,
        period: Quarter,
        version: Option<u32>,
    ) -> Result<Option<StoredStatement>, StoreError> {
        statement_in(&self.lock(), period, version)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.lock().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

fn bank_in(conn: &Connection, id: &str) -> Result<Option<Bank>, StoreError> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT bank_id, name, institution_type FROM banks WHERE bank_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(bank_id, name, t)| {
        let institution_type = InstitutionType::parse(&t)
            .ok_or_else(|| StoreError::Corrupt(format!("institution type `{t}`")))?;
        Ok(Bank {
            bank_id,
            name,
            institution_type,
        })
    })
    .transpose()
}

/// Banks by id: `only` that one, `limit` at most after skipping `offset`.
/// The reads a statement is computed from, within one transaction.
struct Reads<'c>(&'c Connection);

impl incentive::StatementInputs for Reads<'_> {
    type Error = StoreError;
    fn banks(&mut self) -> Result<Vec<Bank>, StoreError> {
        banks_in(self.0, None, 0, u64::MAX)
    }
    fn latest_reports(&mut self, period: Quarter) -> Result<Vec<BalanceReport>, StoreError> {
        let mut st = self.0.prepare(
            "SELECT r.id FROM reports r WHERE r.period = ?1 AND r.version =
             (SELECT MAX(version) FROM reports x WHERE x.bank_id = r.bank_id AND x.period = r.period)",
        )?;
        let ids: Vec<i64> = st
            .query_map([period.to_string()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter()
            .map(|id| report_by_id(self.0, id).map(|r| r.report))
            .collect()
    }
    fn latest_statement(&mut self, period: Quarter) -> Result<Option<Statement>, StoreError> {
        Ok(statement_in(self.0, period, None)?.map(|s| s.statement))
    }
}

fn banks_in(
    conn: &Connection,
    only: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<Vec<Bank>, StoreError> {
    let mut st = conn.prepare(
        "SELECT bank_id FROM banks WHERE (?1 IS NULL OR bank_id = ?1) ORDER BY bank_id LIMIT ?2 OFFSET ?3",
    )?;
    let ids: Vec<String> = st
        .query_map(
            params![
                only,
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX)
            ],
            |r| r.get(0),
        )?
        .collect::<Result<_, _>>()?;
    ids.iter()
        .map(|id| {
            bank_in(conn, id).and_then(|b| b.ok_or_else(|| StoreError::UnknownBank(id.clone())))
        })
        .collect()
}

fn report_by_id(conn: &Connection, id: i64) -> Result<StoredReport, StoreError> {
    let row = conn.query_row(
        "SELECT bank_id, period, version, balance_fen, source, loans, excluded_json, request_id, submitted_by, submitted_at
         FROM reports WHERE id = ?1",
        [id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
            ))
        },
    )?;
    let (
        bank_id,
        period,
        version,
        balance,
        source,
        loans,
        excluded,
        request_id,
        submitted_by,
        submitted_at,
    ) = row;
    let period: Quarter = period.parse().map_err(StoreError::Corrupt)?;
    let excluded: Vec<Excluded> =
        serde_json::from_str(&excluded).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(StoredReport {
        report: BalanceReport {
            bank_id,
            period,
            balance: Yuan::from_fen(balance),
            version: version as u32,
            excluded,
        },
        source,
        loans: loans as u64,
        request_id,
        submitted_by,
        submitted_at,
    })
}

fn statement_in(
    conn: &Connection,
    period: Quarter,
    version: Option<u32>,
) -> Result<Option<StoredStatement>, StoreError> {
    // A given version, or (version NULL) the latest.
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT json, computed_by, computed_at FROM statements
             WHERE period = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1",
            params![period.to_string(), version],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(json, computed_by, computed_at)| {
        let statement: Statement =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(StoredStatement {
            statement,
            computed_by,
            computed_at,
        })
    })
    .transpose()
}

/// Writes a new report version and, for a snapshot, its loans; its id.
fn insert_version(
    tx: &rusqlite::Transaction<'_>,
    bank_id: &str,
    period: Quarter,
    new: &super::NewVersion<'_>,
    request_id: &str,
    by: &str,
) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO reports (bank_id, period, version, balance_fen, source, loans, excluded_json, request_id, submitted_by, submitted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![bank_id, period.to_string(), new.version as i64, new.balance_fen, new.source, new.loans as i64, new.excluded_json, request_id, by, now()],
    )?;
    let id = tx.last_insert_rowid();
    if !new.records.is_empty() {
        let mut st = tx.prepare_cached(
            "INSERT INTO snapshot_loans (report_id, loan_id, borrower_id, borrower_type, purpose, credit_line_fen, balance_fen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for l in new.records {
            st.execute(params![
                id,
                l.loan_id,
                l.borrower_id,
                l.borrower_type.code(),
                l.purpose.code(),
                l.credit_line.to_fen(),
                l.balance.to_fen()
            ])?;
        }
    }
    Ok(id)
}
