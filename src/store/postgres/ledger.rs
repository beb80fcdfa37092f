//! Pools and their event logs in PostgreSQL: SQLite's behaviour, a write
//! holding a transaction-scoped advisory lock on its pool so that replicas
//! take turns on one pool and never both decide on the same events.

use std::cell::RefCell;

use chrono::NaiveDate;

use postgres::GenericClient;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use super::PgStore;
use super::errors::Failure;
use crate::ledger::event::Event;
use crate::store::ledger::{
    Columns, Decide, LedgerStore, Log, PoolRow, StoredFold, event_of, events_of, no_pool,
    pool_taken, repeated, stored_day,
};
use crate::store::referral::to_json;
use crate::store::{StoreError, now};

/// The tables (migration 3); the same shape as SQLite's.
pub(super) const SCHEMA: &str = "CREATE TABLE ledger_pools (
        pool_id TEXT PRIMARY KEY,
        programme_id TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
     );
     CREATE TABLE ledger_events (
        pool_id TEXT NOT NULL REFERENCES ledger_pools(pool_id),
        seq BIGINT NOT NULL,
        effective TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        request_scope TEXT NOT NULL,
        request_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (pool_id, seq)
     );
     CREATE INDEX ledger_events_request ON ledger_events (pool_id, request_scope, request_id);";

/// Migration 5 of SQLite, 4 of PostgreSQL (the same shape): the events in
/// effective order; each write's request once (its events are a range of
/// the log), in place of an index and two columns on every event; a pool's
/// stored fold.
pub(super) const FOLDS: &str = "CREATE INDEX ledger_events_effective ON ledger_events (pool_id, effective, seq);
     CREATE TABLE ledger_requests (
        pool_id TEXT NOT NULL REFERENCES ledger_pools(pool_id),
        request_scope TEXT NOT NULL,
        request_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        PRIMARY KEY (pool_id, request_scope, request_id)
     );
     INSERT INTO ledger_requests (pool_id, request_scope, request_id, content_hash, first_seq, last_seq)
        SELECT pool_id, request_scope, request_id, MIN(content_hash), MIN(seq), MAX(seq)
        FROM ledger_events GROUP BY pool_id, request_scope, request_id;
     DROP INDEX ledger_events_request;
     ALTER TABLE ledger_events DROP COLUMN content_hash;
     ALTER TABLE ledger_events DROP COLUMN request_scope;
     CREATE TABLE ledger_folds (
        pool_id TEXT PRIMARY KEY REFERENCES ledger_pools(pool_id),
        seq BIGINT NOT NULL,
        fingerprint TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        data BYTEA NOT NULL
     );";

/// Migration 5 of PostgreSQL, 6 of SQLite: loan and claim ids are each
/// bank's own, so every event of a loan or a claim names its bank. A log
/// written before had ids unique in the pool: each such event takes the
/// bank of the loan's enrolment (of the claim's filing); stored folds are
/// dropped (the next read refolds the log).
pub(super) const BANK_IDS: &str = "CREATE TABLE ledger_loan_banks AS
        SELECT pool_id, json::jsonb->>'loan_id' AS loan_id, json::jsonb->>'bank_id' AS bank_id
        FROM ledger_events WHERE json::jsonb->>'kind' = 'loan_enrolled';
     CREATE INDEX ledger_loan_banks_loan ON ledger_loan_banks (pool_id, loan_id);
     UPDATE ledger_events e SET json = jsonb_set(e.json::jsonb, '{bank_id}', to_jsonb(b.bank_id))::text
        FROM ledger_loan_banks b
        WHERE b.pool_id = e.pool_id AND b.loan_id = e.json::jsonb->>'loan_id'
          AND e.json::jsonb->>'kind' IN ('loan_status', 'loan_repaid', 'loan_charged_off', 'claim_filed', 'recovery_reported')
          AND e.json::jsonb->'bank_id' IS NULL;
     CREATE TABLE ledger_claim_banks AS
        SELECT pool_id, json::jsonb->>'claim_id' AS claim_id, json::jsonb->>'bank_id' AS bank_id
        FROM ledger_events WHERE json::jsonb->>'kind' = 'claim_filed';
     CREATE INDEX ledger_claim_banks_claim ON ledger_claim_banks (pool_id, claim_id);
     UPDATE ledger_events e SET json = jsonb_set(e.json::jsonb, '{bank_id}', to_jsonb(b.bank_id))::text
        FROM ledger_claim_banks b
        WHERE b.pool_id = e.pool_id AND b.claim_id = e.json::jsonb->>'claim_id'
          AND e.json::jsonb->>'kind' IN ('claim_approved', 'claim_denied', 'claim_paid')
          AND e.json::jsonb->'bank_id' IS NULL;
     DROP TABLE ledger_loan_banks;
     DROP TABLE ledger_claim_banks;
     DELETE FROM ledger_folds;";

fn pool_in(c: &mut impl GenericClient, id: &str) -> Result<Option<PoolRow>, Failure> {
    let row = c.query_opt(
        "SELECT pool_id, programme_id, created_by, created_at FROM ledger_pools WHERE pool_id = $1",
        &[&id],
    )?;
    Ok(row.map(|r| PoolRow {
        pool_id: r.get(0),
        programme_id: r.get(1),
        created_by: r.get(2),
        created_at: r.get(3),
    }))
}

const COLUMNS: &str = "seq, effective, recorded_at, recorded_by, request_id, json";

fn events_where(
    c: &mut impl GenericClient,
    filter: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<Event>, Failure> {
    let rows = c.query(
        &format!("SELECT {COLUMNS} FROM ledger_events WHERE {filter} ORDER BY seq"),
        params,
    )?;
    Ok(events_of(rows.iter().map(columns).collect())?)
}

/// Rows a read of the log in effective order fetches at a time.
const PAGE: i32 = 10_000;

/// The events in effective order (see [`LedgerStore::visit`]), inside
/// `tx`, a page at a time.
fn visit_in(
    tx: &mut postgres::Transaction<'_>,
    pool: &str,
    as_of: NaiveDate,
    known: Option<&str>,
    f: &mut dyn FnMut(&Event),
) -> Result<(), Failure> {
    let portal = tx.bind(
        &format!(
            "SELECT {COLUMNS} FROM ledger_events WHERE pool_id = $1 AND effective <= $2
             AND ($3::TEXT IS NULL OR recorded_at <= $3) ORDER BY effective, seq"
        ),
        &[&pool, &stored_day(as_of), &known],
    )?;
    loop {
        let rows = tx.query_portal(&portal, PAGE)?;
        if rows.is_empty() {
            return Ok(());
        }
        for r in &rows {
            f(&event_of(columns(r))?);
        }
    }
}

fn unfailed(f: Failure) -> StoreError {
    match f {
        Failure::Store(e) => e,
        Failure::Pg(e) => super::errors::classify(e),
    }
}

/// An event's columns in a row selected as [`COLUMNS`].
fn columns(r: &postgres::Row) -> Columns {
    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
}

/// The log inside a write's transaction.
struct TxLog<'a, 't> {
    tx: RefCell<&'a mut postgres::Transaction<'t>>,
    pool: &'a str,
}

impl Log for TxLog<'_, '_> {
    fn after(&self, seq: u64) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.tx.borrow_mut();
        events_where(
            &mut **tx,
            "pool_id = $1 AND seq > $2",
            &[&self.pool, &(seq as i64)],
        )
        .map_err(unfailed)
    }

    fn visit(&self, as_of: NaiveDate, f: &mut dyn FnMut(&Event)) -> Result<(), StoreError> {
        let mut tx = self.tx.borrow_mut();
        visit_in(&mut tx, self.pool, as_of, None, f).map_err(unfailed)
    }
}

impl LedgerStore for PgStore {
    fn create_pool(
        &self,
        pool_id: &str,
        programme_id: &str,
        by: &str,
    ) -> Result<PoolRow, StoreError> {
        self.transact(|tx| {
            tx.execute(
                "INSERT INTO ledger_pools (pool_id, programme_id, created_by, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (pool_id) DO NOTHING",
                &[&pool_id, &programme_id, &by, &now()],
            )?;
            match pool_in(tx, pool_id)? {
                Some(p) if p.programme_id == programme_id => Ok(p),
                Some(p) => Err(pool_taken(pool_id, &p.programme_id).into()),
                None => Err(no_pool(pool_id).into()),
            }
        })
    }

    fn pool(&self, pool_id: &str) -> Result<Option<PoolRow>, StoreError> {
        self.read(|c| pool_in(c, pool_id))
    }

    fn events_after(&self, pool_id: &str, seq: u64) -> Result<Vec<Event>, StoreError> {
        self.read(|c| events_where(c, "pool_id = $1 AND seq > $2", &[&pool_id, &(seq as i64)]))
    }

    fn fold(&self, pool_id: &str) -> Result<Option<StoredFold>, StoreError> {
        self.read(|c| {
            let row = c.query_opt(
                "SELECT seq, fingerprint, data FROM ledger_folds WHERE pool_id = $1",
                &[&pool_id],
            )?;
            Ok(row.map(|r| StoredFold {
                seq: r.get::<_, i64>(0) as u64,
                fingerprint: r.get(1),
                data: r.get(2),
            }))
        })
    }

    fn save_fold(&self, pool_id: &str, fold: &StoredFold) -> Result<(), StoreError> {
        self.transact(|tx| {
            tx.execute(
                "INSERT INTO ledger_folds (pool_id, seq, fingerprint, saved_at, data) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (pool_id) DO UPDATE SET seq = excluded.seq, fingerprint = excluded.fingerprint,
                    saved_at = excluded.saved_at, data = excluded.data
                 WHERE ledger_folds.seq <= excluded.seq OR ledger_folds.fingerprint <> excluded.fingerprint",
                &[&pool_id, &(fold.seq as i64), &fold.fingerprint, &now(), &fold.data],
            )?;
            Ok(())
        })
    }

    fn visit(
        &self,
        pool_id: &str,
        as_of: NaiveDate,
        known: Option<&str>,
        f: &mut dyn FnMut(&Event),
    ) -> Result<(), StoreError> {
        // (never read twice: `f` has seen what the first read handed it)
        let mut tried = false;
        self.read(|c| {
            if std::mem::replace(&mut tried, true) {
                return Err(Failure::Store(StoreError::Unavailable(
                    "the connection to the database was lost while the pool's log was read; retry"
                        .into(),
                )));
            }
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            visit_in(&mut tx, pool_id, as_of, known, f)?;
            tx.commit()?;
            Ok(())
        })
    }

    fn events_page(&self, pool_id: &str, seq: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        self.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT {COLUMNS} FROM ledger_events WHERE pool_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                ),
                &[&pool_id, &(seq as i64), &(limit as i64)],
            )?;
            Ok(events_of(
                rows.iter()
                    .map(columns)
                    .collect(),
            )?)
        })
    }

    fn record(
        &self,
        pool_id: &str,
        request_id: &str,
        content_hash: &str,
        by: &str,
        decide: &mut Decide<'_>,
    ) -> Result<Vec<Event>, StoreError> {
        self.transact(|tx| {
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('ledger/' || $1::TEXT, 0))",
                &[&pool_id],
            )?;
            if pool_in(tx, pool_id)?.is_none() {
                return Err(no_pool(pool_id).into());
            }
            let prior = tx.query_opt(
                "SELECT content_hash, first_seq, last_seq FROM ledger_requests
                 WHERE pool_id = $1 AND request_scope = $2 AND request_id = $3",
                &[&pool_id, &by, &request_id],
            )?;
            if let Some(r) = prior {
                let (hash, first, last): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
                let events = events_where(
                    tx,
                    "pool_id = $1 AND seq BETWEEN $2 AND $3",
                    &[&pool_id, &first, &last],
                )?;
                return Ok(repeated(events, &hash, content_hash, request_id)?);
            }
            let new = decide(&TxLog {
                tx: RefCell::new(&mut *tx),
                pool: pool_id,
            })?;
            let at = now();
            let last: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(seq), 0) FROM ledger_events WHERE pool_id = $1",
                    &[&pool_id],
                )?
                .get(0);
            let first = last as u64 + 1;
            let mut out = Vec::with_capacity(new.len());
            for (i, (effective, kind)) in new.into_iter().enumerate() {
                out.push(Event {
                    seq: first + i as u64,
                    effective,
                    recorded_at: at.clone(),
                    recorded_by: by.to_string(),
                    request_id: request_id.to_string(),
                    kind,
                });
            }
            append(tx, pool_id, &out, &at, by, request_id)?;
            if let (Some(a), Some(b)) = (out.first(), out.last()) {
                tx.execute(
                    "INSERT INTO ledger_requests (pool_id, request_scope, request_id, content_hash, first_seq, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&pool_id, &by, &request_id, &content_hash, &(a.seq as i64), &(b.seq as i64)],
                )?;
            }
            Ok(out)
        })
    }
}

/// Writes from this many events up go by binary COPY; fewer, by one
/// INSERT (one round trip instead of COPY's two).
const COPY_FROM: usize = 1_000;

/// Appends `events`, recorded at `at` by `by` for `request_id`, their JSON
/// encoded on every core.
fn append(
    tx: &mut postgres::Transaction<'_>,
    pool_id: &str,
    events: &[Event],
    at: &str,
    by: &str,
    request_id: &str,
) -> Result<(), Failure> {
    use rayon::prelude::*;
    let json: Vec<String> = events
        .par_iter()
        .map(|e| to_json(&e.kind))
        .collect::<Result<_, _>>()?;
    if events.len() < COPY_FROM {
        let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
        let days: Vec<String> = events.iter().map(|e| e.effective.to_string()).collect();
        tx.execute(
            "INSERT INTO ledger_events (pool_id, seq, effective, recorded_at, recorded_by, request_id, json)
             SELECT $1, s, e, $4, $5, $6, j FROM UNNEST($2::BIGINT[], $3::TEXT[], $7::TEXT[]) AS t(s, e, j)",
            &[&pool_id, &seqs, &days, &at, &by, &request_id, &json],
        )?;
        return Ok(());
    }
    let sink = tx.copy_in(
        "COPY ledger_events (pool_id, seq, effective, recorded_at, recorded_by, request_id, json) FROM STDIN BINARY",
    )?;
    let mut w = BinaryCopyInWriter::new(
        sink,
        &[
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
    );
    let mut day = (None, String::new());
    for (e, j) in events.iter().zip(&json) {
        if day.0 != Some(e.effective) {
            day = (Some(e.effective), e.effective.to_string());
        }
        w.write(&[&pool_id, &(e.seq as i64), &day.1, &at, &by, &request_id, j])?;
    }
    w.finish()?;
    Ok(())
}
