//! Pools and their event logs in the embedded SQLite.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};

use super::Store;
use crate::ledger::event::Event;
use crate::store::ledger::{
    Columns, Decide, LedgerStore, Log, PoolRow, StoredFold, event_of, events_of, no_pool,
    pool_taken, repeated, stored_day,
};
use crate::store::referral::to_json;
use crate::store::{StoreError, now};

/// The tables (migration 4); PostgreSQL's are the same shape.
pub(super) const SCHEMA: &str = "CREATE TABLE ledger_pools (
        pool_id TEXT PRIMARY KEY,
        programme_id TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
     );
     CREATE TABLE ledger_events (
        pool_id TEXT NOT NULL REFERENCES ledger_pools(pool_id),
        seq INTEGER NOT NULL,
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
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
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
        seq INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        data BLOB NOT NULL
     );";

/// Migration 6 of SQLite, 5 of PostgreSQL: loan and claim ids are each
/// bank's own, so every event of a loan or a claim names its bank. A log
/// written before had ids unique in the pool: each such event takes the
/// bank of the loan's enrolment (of the claim's filing); stored folds are
/// dropped (the next read refolds the log).
pub(super) const BANK_IDS: &str = "CREATE TABLE ledger_loan_banks AS
        SELECT pool_id, json_extract(json, '$.loan_id') AS loan_id, json_extract(json, '$.bank_id') AS bank_id
        FROM ledger_events WHERE json_extract(json, '$.kind') = 'loan_enrolled';
     CREATE INDEX ledger_loan_banks_loan ON ledger_loan_banks (pool_id, loan_id);
     UPDATE ledger_events SET json = json_set(json, '$.bank_id', (
            SELECT b.bank_id FROM ledger_loan_banks b
            WHERE b.pool_id = ledger_events.pool_id AND b.loan_id = json_extract(ledger_events.json, '$.loan_id')))
        WHERE json_extract(json, '$.kind') IN ('loan_status', 'loan_repaid', 'loan_charged_off', 'claim_filed', 'recovery_reported')
          AND json_extract(json, '$.bank_id') IS NULL;
     CREATE TABLE ledger_claim_banks AS
        SELECT pool_id, json_extract(json, '$.claim_id') AS claim_id, json_extract(json, '$.bank_id') AS bank_id
        FROM ledger_events WHERE json_extract(json, '$.kind') = 'claim_filed';
     CREATE INDEX ledger_claim_banks_claim ON ledger_claim_banks (pool_id, claim_id);
     UPDATE ledger_events SET json = json_set(json, '$.bank_id', (
            SELECT b.bank_id FROM ledger_claim_banks b
            WHERE b.pool_id = ledger_events.pool_id AND b.claim_id = json_extract(ledger_events.json, '$.claim_id')))
        WHERE json_extract(json, '$.kind') IN ('claim_approved', 'claim_denied', 'claim_paid')
          AND json_extract(json, '$.bank_id') IS NULL;
     DROP TABLE ledger_loan_banks;
     DROP TABLE ledger_claim_banks;
     DELETE FROM ledger_folds;";

fn pool_in(c: &Connection, id: &str) -> Result<Option<PoolRow>, StoreError> {
    Ok(c.query_row(
        "SELECT pool_id, programme_id, created_by, created_at FROM ledger_pools WHERE pool_id = ?1",
        [id],
        |r| {
            Ok(PoolRow {
                pool_id: r.get(0)?,
                programme_id: r.get(1)?,
                created_by: r.get(2)?,
                created_at: r.get(3)?,
            })
        },
    )
    .optional()?)
}

type Row = Columns;

/// An event's columns in a row selected as [`COLUMNS`].
fn columns(r: &rusqlite::Row<'_>) -> rusqlite::Result<Columns> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn rows(c: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Row>, StoreError> {
    let mut st = c.prepare(sql)?;
    let it = st.query_map(p, columns)?;
    Ok(it.collect::<Result<_, _>>()?)
}

const COLUMNS: &str = "seq, effective, recorded_at, recorded_by, request_id, json";

fn events_in(c: &Connection, pool: &str, after: u64) -> Result<Vec<Event>, StoreError> {
    events_of(rows(
        c,
        &format!(
            "SELECT {COLUMNS} FROM ledger_events WHERE pool_id = ?1 AND seq > ?2 ORDER BY seq"
        ),
        &[&pool, &(after as i64)],
    )?)
}

/// The events in effective order (see [`LedgerStore::visit`]), on `c`.
fn visit_in(
    c: &Connection,
    pool: &str,
    as_of: NaiveDate,
    known: Option<&str>,
    f: &mut dyn FnMut(&Event),
) -> Result<(), StoreError> {
    let mut st = c.prepare(&format!(
        "SELECT {COLUMNS} FROM ledger_events WHERE pool_id = ?1 AND effective <= ?2
         AND (?3 IS NULL OR recorded_at <= ?3) ORDER BY effective, seq"
    ))?;
    let mut rows = st.query(params![pool, stored_day(as_of), known])?;
    while let Some(r) = rows.next()? {
        f(&event_of(columns(r)?)?);
    }
    Ok(())
}

/// The log inside a write's transaction.
struct TxLog<'a> {
    c: &'a Connection,
    pool: &'a str,
}

impl Log for TxLog<'_> {
    fn after(&self, seq: u64) -> Result<Vec<Event>, StoreError> {
        events_in(self.c, self.pool, seq)
    }

    fn visit(&self, as_of: NaiveDate, f: &mut dyn FnMut(&Event)) -> Result<(), StoreError> {
        visit_in(self.c, self.pool, as_of, None, f)
    }
}

impl LedgerStore for Store {
    fn create_pool(
        &self,
        pool_id: &str,
        programme_id: &str,
        by: &str,
    ) -> Result<PoolRow, StoreError> {
        let conn = self.lock();
        if let Some(p) = pool_in(&conn, pool_id)? {
            return if p.programme_id == programme_id {
                Ok(p)
            } else {
                Err(pool_taken(pool_id, &p.programme_id))
            };
        }
        conn.execute(
            "INSERT INTO ledger_pools (pool_id, programme_id, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![pool_id, programme_id, by, now()],
        )?;
        pool_in(&conn, pool_id)?.ok_or_else(|| no_pool(pool_id))
    }

    fn pool(&self, pool_id: &str) -> Result<Option<PoolRow>, StoreError> {
        pool_in(&self.lock(), pool_id)
    }

    fn events_after(&self, pool_id: &str, seq: u64) -> Result<Vec<Event>, StoreError> {
        events_in(&self.lock(), pool_id, seq)
    }

    fn fold(&self, pool_id: &str) -> Result<Option<StoredFold>, StoreError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT seq, fingerprint, data FROM ledger_folds WHERE pool_id = ?1",
                [pool_id],
                |r| {
                    Ok(StoredFold {
                        seq: r.get::<_, i64>(0)? as u64,
                        fingerprint: r.get(1)?,
                        data: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn save_fold(&self, pool_id: &str, fold: &StoredFold) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO ledger_folds (pool_id, seq, fingerprint, saved_at, data) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (pool_id) DO UPDATE SET seq = excluded.seq, fingerprint = excluded.fingerprint,
                saved_at = excluded.saved_at, data = excluded.data
             WHERE ledger_folds.seq <= excluded.seq OR ledger_folds.fingerprint <> excluded.fingerprint",
            params![pool_id, fold.seq as i64, fold.fingerprint, now(), fold.data],
        )?;
        Ok(())
    }

    fn visit(
        &self,
        pool_id: &str,
        as_of: NaiveDate,
        known: Option<&str>,
        f: &mut dyn FnMut(&Event),
    ) -> Result<(), StoreError> {
        // (on a connection of its own: WAL lets writes go on meanwhile)
        visit_in(&self.reader()?, pool_id, as_of, known, f)
    }

    fn events_page(&self, pool_id: &str, seq: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        events_of(rows(
            &self.lock(),
            &format!(
                "SELECT {COLUMNS} FROM ledger_events WHERE pool_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            ),
            &[&pool_id, &(seq as i64), &(limit as i64)],
        )?)
    }

    fn record(
        &self,
        pool_id: &str,
        request_id: &str,
        content_hash: &str,
        by: &str,
        decide: &mut Decide<'_>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if pool_in(&tx, pool_id)?.is_none() {
            return Err(no_pool(pool_id));
        }
        let prior: Option<(String, i64, i64)> = tx
            .query_row(
                "SELECT content_hash, first_seq, last_seq FROM ledger_requests
                 WHERE pool_id = ?1 AND request_scope = ?2 AND request_id = ?3",
                params![pool_id, by, request_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((hash, first, last)) = prior {
            let events = events_of(rows(
                &tx,
                &format!(
                    "SELECT {COLUMNS} FROM ledger_events WHERE pool_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq"
                ),
                &[&pool_id, &first, &last],
            )?)?;
            return repeated(events, &hash, content_hash, request_id);
        }
        let new = decide(&TxLog {
            c: &tx,
            pool: pool_id,
        })?;
        let at = now();
        let last: i64 = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM ledger_events WHERE pool_id = ?1",
            [pool_id],
            |r| r.get(0),
        )?;
        let first = last as u64 + 1;
        let mut out = Vec::with_capacity(new.len());
        {
            let mut st = tx.prepare(
                "INSERT INTO ledger_events (pool_id, seq, effective, recorded_at, recorded_by, request_id, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (i, (effective, kind)) in new.into_iter().enumerate() {
                let seq = first + i as u64;
                st.execute(params![
                    pool_id,
                    seq as i64,
                    effective.to_string(),
                    at,
                    by,
                    request_id,
                    to_json(&kind)?
                ])?;
                out.push(Event {
                    seq,
                    effective,
                    recorded_at: at.clone(),
                    recorded_by: by.to_string(),
                    request_id: request_id.to_string(),
                    kind,
                });
            }
        }
        if let (Some(a), Some(b)) = (out.first(), out.last()) {
            tx.execute(
                "INSERT INTO ledger_requests (pool_id, request_scope, request_id, content_hash, first_seq, last_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![pool_id, by, request_id, content_hash, a.seq as i64, b.seq as i64],
            )?;
        }
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::money::Yuan;
    use crate::ledger::event::EventKind;

    /// A store written before migration 5 keeps answering its requests:
    /// the same request id and content answers the events it recorded;
    /// other content is refused; a new request goes on after them.
    #[test]
    fn migration_5_keeps_the_requests_of_an_existing_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = Connection::open(dir.path().join("smefin.sqlite3")).unwrap();
            for m in &super::super::MIGRATIONS[..4] {
                c.execute_batch(m).unwrap();
            }
            c.pragma_update(None, "user_version", 4).unwrap();
            let cash = r#"{"kind":"capital_injected","amount":"100.00"}"#;
            c.execute(
                "INSERT INTO ledger_pools VALUES ('P', 'gongxintong', 'bureau', '2023-01-01T00:00:00+08:00')",
                [],
            )
            .unwrap();
            for (seq, rid, hash) in [(1, "cap", "h1"), (2, "two", "h2"), (3, "two", "h2")] {
                c.execute(
                    "INSERT INTO ledger_events VALUES ('P', ?1, '2023-01-03', '2023-01-03T00:00:00+08:00', 'bureau', 'bureau', ?2, ?3, ?4)",
                    params![seq, rid, hash, cash],
                )
                .unwrap();
            }
        }
        let s = Store::open(dir.path()).unwrap();
        let again = s
            .record("P", "two", "h2", "bureau", &mut |_| panic!("decided again"))
            .unwrap();
        assert_eq!(again.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        let e = s
            .record("P", "two", "other", "bureau", &mut |_| Ok(vec![]))
            .unwrap_err();
        assert!(matches!(e, StoreError::AlreadyExists(_)), "{e}");
        // another caller's "two" is its own
        let d: NaiveDate = "2023-01-05".parse().unwrap();
        let top_up = EventKind::TopUp {
            amount: Yuan::wan(1),
        };
        let theirs = s
            .record("P", "two", "h9", "analyst", &mut |_| {
                Ok(vec![(d, top_up.clone())])
            })
            .unwrap();
        assert_eq!(theirs[0].seq, 4);
        let again = s
            .record("P", "two", "h9", "analyst", &mut |_| {
                panic!("decided again")
            })
            .unwrap();
        assert_eq!(again, theirs);
    }

    /// A log written before migration 6 (loan and claim events without
    /// their bank, ids unique in the pool) reads after it with each event's
    /// bank: the loan's enrolment's, the claim's filing's; its stored fold
    /// is dropped.
    #[test]
    fn migration_6_names_the_bank_of_every_loan_and_claim_event() {
        use crate::ledger::event::{DenialReason, Loan};
        use crate::ledger::state::Book;
        let loan = |id: &str, bank: &str| {
            EventKind::LoanEnrolled(Loan {
                loan_id: id.into(),
                bank_id: bank.into(),
                credit_code: format!("F{id}"),
                firm: "企业".into(),
                amount: Yuan::wan(100),
                annual_rate: rust_decimal::Decimal::new(345, 4),
                term_months: 12,
                disbursed: "2023-01-10".parse().unwrap(),
                version_from: "2022-04-27".parse().unwrap(),
            })
        };
        let (l1, l2) = ("L1".to_string(), "L2".to_string());
        let (jxb, nc) = ("JXB".to_string(), "NCRCB".to_string());
        let kinds = vec![
            EventKind::CapitalInjected {
                amount: Yuan::wan(300),
            },
            loan("L1", "JXB"),
            loan("L2", "NCRCB"),
            EventKind::LoanStatus {
                bank_id: nc.clone(),
                loan_id: l2.clone(),
                outstanding: Yuan::wan(90),
                days_past_due: 95,
            },
            EventKind::LoanStatus {
                bank_id: jxb.clone(),
                loan_id: l1.clone(),
                outstanding: Yuan::wan(80),
                days_past_due: 120,
            },
            EventKind::ClaimFiled {
                bank_id: nc.clone(),
                claim_id: "C2".into(),
                loan_id: l2.clone(),
                outstanding_at_default: Yuan::wan(90),
                claimable: Yuan::wan(45),
            },
            EventKind::ClaimFiled {
                bank_id: jxb.clone(),
                claim_id: "C1".into(),
                loan_id: l1.clone(),
                outstanding_at_default: Yuan::wan(80),
                claimable: Yuan::wan(40),
            },
            EventKind::ClaimApproved {
                bank_id: nc.clone(),
                claim_id: "C2".into(),
            },
            EventKind::ClaimDenied {
                bank_id: jxb.clone(),
                claim_id: "C1".into(),
                reason: DenialReason::Late,
            },
            EventKind::ClaimPaid {
                bank_id: nc.clone(),
                claim_id: "C2".into(),
                amount: Yuan::wan(45),
            },
            EventKind::RecoveryReported {
                bank_id: nc.clone(),
                loan_id: l2.clone(),
                amount: Yuan::wan(10),
                pool_part: Yuan::wan(5),
            },
            EventKind::LoanChargedOff {
                bank_id: nc.clone(),
                loan_id: l2.clone(),
            },
            EventKind::LoanRepaid {
                bank_id: jxb.clone(),
                loan_id: l1.clone(),
            },
        ];
        let dir = tempfile::tempdir().unwrap();
        {
            let c = Connection::open(dir.path().join("smefin.sqlite3")).unwrap();
            for m in &super::super::MIGRATIONS[..5] {
                c.execute_batch(m).unwrap();
            }
            c.pragma_update(None, "user_version", 5).unwrap();
            c.execute(
                "INSERT INTO ledger_pools VALUES ('P', 'gongxintong', 'bureau', '2023-01-01T00:00:00+08:00')",
                [],
            )
            .unwrap();
            for (i, k) in kinds.iter().enumerate() {
                // as written before: no bank on a loan's or a claim's event
                let mut v = serde_json::to_value(k).unwrap();
                if !matches!(k, EventKind::LoanEnrolled(_)) {
                    v.as_object_mut().unwrap().remove("bank_id");
                }
                c.execute(
                    "INSERT INTO ledger_events VALUES ('P', ?1, '2023-06-30', '2023-06-30T00:00:00Z', 'bureau', ?2, ?3)",
                    params![i as i64 + 1, format!("r{i}"), v.to_string()],
                )
                .unwrap();
            }
            c.execute(
                "INSERT INTO ledger_folds VALUES ('P', 13, 'old', '2023-06-30T00:00:00Z', x'00')",
                [],
            )
            .unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let read: Vec<EventKind> = s.events("P").unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(read, kinds);
        assert!(s.fold("P").unwrap().is_none(), "the old fold is dropped");
        let p = std::sync::Arc::new(
            crate::ledger::rules::builtin()
                .into_iter()
                .find(|p| p.id == "gongxintong")
                .unwrap(),
        );
        let b = Book::fold(
            &p,
            &s.events("P").unwrap(),
            "2023-12-31".parse().unwrap(),
            None,
        );
        assert_eq!(b.banks["NCRCB"].claims_paid, Yuan::wan(45));
        assert_eq!(b.banks["NCRCB"].recovered, Yuan::wan(5));
        assert_eq!(b.cash, Yuan::wan(300 - 45 + 5));
        assert!(b.loan("JXB", "L1").unwrap().repaid);
    }
}
