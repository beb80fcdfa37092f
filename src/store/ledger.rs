//! Persistence of the pool ledger: pools and their append-only event logs,
//! on both backends with one behaviour.
//!
//! A write is one transaction that holds the pool (SQLite: the database's
//! write lock; PostgreSQL: an advisory lock on the pool, so replicas take
//! turns), reads the pool's events, lets the domain decide on them, and
//! appends what it decided: two callers racing on one pool never pay one
//! claim twice nor enrol past the scale. Each write carries the caller's
//! request id: the same id with the same content answers the events it
//! recorded; with other content it is ALREADY_EXISTS.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::ledger::event::{Event, EventKind};

/// A pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRow {
    /// Its id.
    pub pool_id: String,
    /// The programme whose rules it follows.
    pub programme_id: String,
    /// Who created it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
}

/// A pool's fold as stored: a cache of the fold of its events up to `seq`
/// (see [`crate::ledger::codec`]), usable only under its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFold {
    /// The last event folded.
    pub seq: u64,
    /// What it was written under.
    pub fingerprint: String,
    /// The fold.
    pub data: Vec<u8>,
}

/// The pool's stored fold as a running fold: `None` when none is stored or
/// it was written under another fingerprint (other rules, another build);
/// why not when it cannot be read.
pub fn read_fold(
    store: &dyn LedgerStore,
    pool_id: &str,
    p: &std::sync::Arc<crate::ledger::rules::Programme>,
) -> Result<Option<crate::ledger::running::Running>, String> {
    use crate::ledger::codec;
    match store.fold(pool_id).map_err(|e| e.to_string())? {
        Some(f) if f.fingerprint == codec::fingerprint(p) => codec::decode(p.clone(), &f.data)
            .map(Some)
            .map_err(|why| format!("{why} (stored at event {})", f.seq)),
        _ => Ok(None),
    }
}

/// A pool's log as a write sees it, inside the write's lock.
pub trait Log {
    /// The events recorded after sequence number `seq` (0: every one), in
    /// the order recorded.
    fn after(&self, seq: u64) -> Result<Vec<Event>, StoreError>;

    /// Hands `f` the events that took effect by `as_of`, in the order they
    /// took effect, then recorded (see [`LedgerStore::visit`]).
    fn visit(&self, as_of: NaiveDate, f: &mut dyn FnMut(&Event)) -> Result<(), StoreError>;
}

/// What a write decides, reading the pool's log: the events to append
/// (each with the day it takes effect), or why not.
pub type Decide<'a> = dyn FnMut(&dyn Log) -> Result<Vec<(NaiveDate, EventKind)>, StoreError> + 'a;

/// What the ledger service needs of a store.
pub trait LedgerStore: Send + Sync + std::fmt::Debug {
    /// Creates a pool; the same pool again is answered with it; the same id
    /// for another programme is ALREADY_EXISTS.
    fn create_pool(
        &self,
        pool_id: &str,
        programme_id: &str,
        by: &str,
    ) -> Result<PoolRow, StoreError>;

    /// A pool.
    fn pool(&self, pool_id: &str) -> Result<Option<PoolRow>, StoreError>;

    /// The events of a pool recorded after sequence number `seq` (0:
    /// every one), in the order recorded.
    fn events_after(&self, pool_id: &str, seq: u64) -> Result<Vec<Event>, StoreError>;

    /// At most `limit` events of a pool recorded after sequence number
    /// `seq`, in the order recorded.
    fn events_page(&self, pool_id: &str, seq: u64, limit: usize) -> Result<Vec<Event>, StoreError>;

    /// Hands `f` the events of a pool that took effect by `as_of` and were
    /// recorded by `known` (RFC 3339; `None`: every one), in the order they
    /// took effect, then recorded: read a page at a time, so a fold over
    /// them holds its book, never the log. On an error `f` may have seen
    /// part of the log: the caller drops what it folded.
    fn visit(
        &self,
        pool_id: &str,
        as_of: NaiveDate,
        known: Option<&str>,
        f: &mut dyn FnMut(&Event),
    ) -> Result<(), StoreError>;

    /// Every event of a pool, in the order recorded.
    fn events(&self, pool_id: &str) -> Result<Vec<Event>, StoreError> {
        self.events_after(pool_id, 0)
    }

    /// The pool's stored fold, if any.
    fn fold(&self, pool_id: &str) -> Result<Option<StoredFold>, StoreError>;

    /// Stores the pool's fold in place of the one stored, unless that one
    /// is further along under the same fingerprint (a replica that is
    /// behind never sets it back; one as far along is the same fold, or
    /// one that could not be read).
    fn save_fold(&self, pool_id: &str, fold: &StoredFold) -> Result<(), StoreError>;

    /// Appends what `decide` decides on the pool's log, under the pool's
    /// lock, idempotent by (`by`, `request_id`) and `content_hash`.
    fn record(
        &self,
        pool_id: &str,
        request_id: &str,
        content_hash: &str,
        by: &str,
        decide: &mut Decide<'_>,
    ) -> Result<Vec<Event>, StoreError>;
}

/// The answer to a repeated request: the events it recorded, or why not.
pub(super) fn repeated(
    events: Vec<Event>,
    stored_hash: &str,
    content_hash: &str,
    request_id: &str,
) -> Result<Vec<Event>, StoreError> {
    if stored_hash == content_hash {
        Ok(events)
    } else {
        Err(StoreError::AlreadyExists(format!(
            "request_id `{request_id}` was already used for a different request"
        )))
    }
}

/// Why a pool id cannot be used for another programme.
pub(super) fn pool_taken(id: &str, programme: &str) -> StoreError {
    StoreError::AlreadyExists(format!("pool `{id}` exists for programme `{programme}`"))
}

/// Why a write names no pool.
pub(super) fn no_pool(id: &str) -> StoreError {
    StoreError::NotFound(format!("no pool `{id}`"))
}

/// An event's stored columns: seq, effective, recorded_at, recorded_by,
/// request_id, JSON.
pub(super) type Columns = (i64, String, String, String, String, String);

/// Events from their stored columns. (A request that decided no event
/// stores nothing; repeated, it is decided again.)
pub(super) fn events_of(rows: Vec<Columns>) -> Result<Vec<Event>, StoreError> {
    rows.into_iter().map(event_of).collect()
}

/// An event from its stored columns.
pub(super) fn event_of(
    (seq, effective, recorded_at, recorded_by, request_id, json): Columns,
) -> Result<Event, StoreError> {
    Ok(Event {
        seq: seq as u64,
        effective: effective
            .parse()
            .map_err(|e: chrono::ParseError| StoreError::Corrupt(e.to_string()))?,
        recorded_at,
        recorded_by,
        request_id,
        kind: super::referral::from_json(&json)?,
    })
}

/// A day as stored (`YYYY-MM-DD`, which orders as the days do), the latest
/// a store can hold standing for any later one.
pub(super) fn stored_day(d: NaiveDate) -> String {
    d.min(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(d))
        .to_string()
}
