//! Persistence of the incentive service: one behaviour, two backends.
//!
//! - [`sqlite`]: the embedded SQLite of a single server (the default; needs
//!   nothing installed).
//! - [`postgres`]: a shared PostgreSQL for several replicas behind a load
//!   balancer (`store.url = "postgres://…"`).
//!
//! On both:
//! - money is stored as integer fen;
//! - every submission is kept: a corrected report is a new version, a loan
//!   snapshot keeps its loans, a recomputed statement is a new version;
//! - versions of a (bank, period) are 1..n without gaps, whoever submits;
//! - every submission carries a client `request_id`, scoped to its
//!   submitter: the same id with the same content returns the original result
//!   and stores nothing twice (across replicas: a unique key in the database);
//!   the same id with different content is refused;
//! - schema migrations run at start-up, once however many servers start.

pub mod ledger;
pub mod postgres;
pub mod referral;
pub mod sqlite;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::incentive::{
    BalanceReport, Bank, IncentiveRules, LoanRecord, Quarter, SnapshotBalance, Statement,
};
use crate::kernel::money::Yuan;

pub use ledger::LedgerStore;
pub use referral::ReferralStore;
pub use sqlite::Store;

/// Everything a server keeps: the incentive service's reports and
/// statements, the referral service's campaigns, leads and outcomes, and
/// the pools' ledgers, in one database.
pub trait Backend: IncentiveStore + ReferralStore + LedgerStore {}

impl<T: IncentiveStore + ReferralStore + LedgerStore> Backend for T {}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// PostgreSQL answered with an error.
    #[error("database: {0}")]
    Postgres(String),
    /// The database cannot be reached (down, restarting, or every
    /// connection busy); the call can be retried with the same request id.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A store setting (`store.url`, `store.ca_file`) cannot be used; the
    /// message names the setting.
    #[error("{0}")]
    Config(String),
    /// The data directory could not be prepared.
    #[error("data directory {path}: {reason}")]
    Dir {
        /// Path.
        path: String,
        /// OS error.
        reason: String,
    },
    /// The same request id was used for different content, or a bank id for
    /// different details.
    #[error("{0}")]
    AlreadyExists(String),
    /// What was asked for is not there, or not the caller's to see (the
    /// two answer alike, so an id says nothing of another bank's data).
    #[error("{0}")]
    NotFound(String),
    /// The domain refused the command (a rule, with its code).
    #[error("{message}")]
    Refused {
        /// UPPER_SNAKE code.
        code: &'static str,
        /// What is wrong and which rule says so.
        message: String,
    },
    /// A field of the request that the data makes unusable as given (an
    /// id two banks share, with no bank named).
    #[error("{field}: {why}")]
    Invalid {
        /// The request's field.
        field: &'static str,
        /// Why, and what to give instead.
        why: String,
    },
    /// A page token that names nothing the caller's query shows.
    #[error("{0}")]
    BadToken(String),
    /// A referenced bank is not registered.
    #[error("bank `{0}` is not registered")]
    UnknownBank(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A bank's quota of versions or stored loans for a quarter is used up
    /// (the message names the setting).
    #[error("{0}")]
    Quota(String),
}

/// What one bank may store for one quarter, over every version (so that
/// one token cannot fill the store every bank shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quota {
    /// Most versions of a (bank, quarter) (`store.max_versions_per_quarter`).
    pub max_versions: u32,
    /// Most snapshot loans stored for a (bank, quarter), summed over its
    /// versions (`store.max_loans_per_quarter`).
    pub max_loans: u64,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            max_versions: 1000,
            max_loans: 20_000_000,
        }
    }
}

impl Quota {
    /// Why a new version of `loans` loans, after `versions` versions
    /// holding `stored` loans, is over the quota.
    pub fn refuses(&self, versions: u64, stored: u64, loans: u64) -> Option<String> {
        if versions >= u64::from(self.max_versions) {
            return Some(format!(
                "this bank has {versions} versions for the quarter, the most allowed (store.max_versions_per_quarter); an identical resubmission is answered with the version it repeats"
            ));
        }
        if stored.saturating_add(loans) > self.max_loans {
            return Some(format!(
                "this bank has {stored} snapshot loans stored for the quarter; {loans} more would pass the {} allowed (store.max_loans_per_quarter)",
                self.max_loans
            ));
        }
        None
    }
}

/// A stored report with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReport {
    /// The report.
    pub report: BalanceReport,
    /// "total" or "snapshot".
    pub source: String,
    /// Loans behind a snapshot (0 for totals).
    pub loans: u64,
    /// Client request id.
    pub request_id: String,
    /// Principal that submitted it.
    pub submitted_by: String,
    /// RFC 3339 time.
    pub submitted_at: String,
}

/// A stored statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredStatement {
    /// The statement.
    pub statement: Statement,
    /// Principal that computed it.
    pub computed_by: String,
    /// RFC 3339 time.
    pub computed_at: String,
}

/// What the incentive service needs of a store: the seam where a second
/// backend (a shared database for replicas) is an addition, not a rewrite.
/// Every method is a whole transaction: it is done, or nothing of it is.
/// Calls block; async callers run them on a blocking pool.
pub trait IncentiveStore: Send + Sync + std::fmt::Debug {
    /// Registers a bank; the same details again return it; other details
    /// for the same id are ALREADY_EXISTS.
    fn register_bank(&self, b: &Bank) -> Result<Bank, StoreError>;

    /// One page of banks by id (`only`: that bank alone), `limit` at most.
    fn banks_page(
        &self,
        only: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<Bank>, StoreError>;

    /// Stores a submission as the next version of (bank, period), or
    /// returns the earlier report of the same (`by`, `request_id`) with the
    /// same content; other content is ALREADY_EXISTS. A submission whose
    /// content (`content_hash`, which leaves out the request id) is that of
    /// the latest version is answered with that version: nothing new is
    /// stored. Over `quota`, [`StoreError::Quota`]. Versions of a (bank,
    /// period) are 1..n without gaps.
    // (each argument is one part of the submission's identity or its rule)
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        request_id: &str,
        content_hash: &str,
        bank_id: &str,
        period: Quarter,
        sub: Submission<'_>,
        by: &str,
        quota: &Quota,
    ) -> Result<StoredReport, StoreError>;

    /// Stored reports, every version, oldest first, filtered, paged.
    fn reports(
        &self,
        bank: Option<&str>,
        period: Option<Quarter>,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<StoredReport>, StoreError>;

    /// Computes the statement of `period` from the latest reports and
    /// stores it as the next version.
    fn compute_statement(
        &self,
        rules: &IncentiveRules,
        period: Quarter,
        budget: Option<Yuan>,
        by: &str,
    ) -> Result<StoredStatement, StoreError>;

    /// A stored statement: a version, or the latest.
    fn statement(
        &self,
        period: Quarter,
        version: Option<u32>,
    ) -> Result<Option<StoredStatement>, StoreError>;

    /// Whether the database answers now (for the health service).
    fn ping(&self) -> Result<(), StoreError>;

    /// Which backend, for logs: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}

/// Where the store is, from `store.url`: absent or `sqlite:` is the
/// embedded SQLite in `store.data_dir` (`sqlite:DIR` names another
/// directory); `postgres://…` or `postgresql://…` is PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// SQLite in this directory.
    Sqlite(PathBuf),
    /// PostgreSQL at this connection URL.
    Postgres(String),
}

impl Location {
    /// Reads `url` (the configured `store.url`), with `data_dir` for SQLite.
    pub fn parse(url: Option<&str>, data_dir: &std::path::Path) -> Result<Location, StoreError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Location::Sqlite(data_dir.to_path_buf()));
        };
        if let Some(dir) = url.strip_prefix("sqlite:") {
            let dir = dir.strip_prefix("//").unwrap_or(dir);
            return Ok(Location::Sqlite(if dir.is_empty() {
                data_dir.to_path_buf()
            } else {
                PathBuf::from(dir)
            }));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        let scheme = url.split(':').next().unwrap_or(url);
        Err(StoreError::Config(format!(
            "store.url: unknown scheme `{scheme}`: use `sqlite:` (or leave it out) or `postgres://user@host:port/db`"
        )))
    }

    /// The location with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Location::Sqlite(d) => format!("sqlite:{}", d.display()),
            Location::Postgres(u) => postgres::redact(u),
        }
    }
}

/// Opens the store at `loc`, migrating it.
pub fn open(loc: &Location, cfg: &StoreOptions) -> Result<Arc<dyn Backend>, StoreError> {
    Ok(match loc {
        Location::Sqlite(dir) => Arc::new(Store::open_with(dir, cfg.synchronous)?),
        Location::Postgres(url) => Arc::new(postgres::PgStore::open(
            url,
            &postgres::PoolOptions::from(cfg),
        )?),
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Submission content.
#[derive(Debug, Clone)]
pub enum Submission<'a> {
    /// A reported total.
    Total(Yuan),
    /// A loan snapshot and its computed balance.
    Snapshot(&'a [LoanRecord], &'a SnapshotBalance),
}

impl Submission<'_> {
    /// The row a new version of this submission writes, after `versions`
    /// versions holding `stored` loans; refused when over the quota. Both
    /// stores write it as it is.
    fn new_version(
        &self,
        versions: u64,
        stored: u64,
        quota: &Quota,
    ) -> Result<NewVersion<'_>, StoreError> {
        let (balance, source, loans, excluded, records) = match self {
            Submission::Total(b) => (*b, "total", 0u64, &[][..], &[][..]),
            Submission::Snapshot(ls, s) => {
                (s.balance, "snapshot", ls.len() as u64, &s.excluded[..], *ls)
            }
        };
        if let Some(why) = quota.refuses(versions, stored, loans) {
            return Err(StoreError::Quota(why));
        }
        let excluded_json =
            serde_json::to_string(excluded).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(NewVersion {
            version: versions + 1,
            balance_fen: balance.to_fen(),
            source,
            loans,
            excluded_json,
            records,
        })
    }
}

/// A report version about to be written.
struct NewVersion<'a> {
    version: u64,
    balance_fen: i64,
    /// `total` or `snapshot`.
    source: &'static str,
    loans: u64,
    excluded_json: String,
    /// The snapshot's loans (none for a total).
    records: &'a [LoanRecord],
}

/// SQLite's `synchronous` setting: when a write is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Synced before it is acknowledged (the default).
    Full,
    /// Synced at checkpoints: a power cut can lose the last acknowledged writes.
    Normal,
    /// Never synced by SQLite.
    Off,
}

/// Storage settings: where the store is, how it writes, and the per-bank
/// quota (the `[store]` table of the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreOptions {
    /// Directory of the SQLite database (created if missing).
    pub data_dir: PathBuf,
    /// When a write counts as done: `full` (the default) acknowledges a
    /// write only after SQLite has synced it to disk, so a power cut loses
    /// nothing acknowledged; `normal` and `off` sync less or never (faster,
    /// for throwaway data: acknowledged writes can be lost on a power cut).
    pub synchronous: Synchronous,
    /// Where the store is: absent (or `sqlite:`) is the embedded SQLite in
    /// `data_dir`; `postgres://user:password@host:port/database` is a
    /// PostgreSQL shared by every replica (migrated at start-up, once).
    pub url: Option<String>,
    /// PostgreSQL: most connections a server opens (default 16).
    pub pool_size: usize,
    /// PostgreSQL: seconds to wait for a connection (to connect, or for a
    /// busy pool to free one) before a call fails UNAVAILABLE (default 2).
    pub connect_timeout_seconds: u64,
    /// PostgreSQL over TLS (the URL's `sslmode`: `prefer` by default,
    /// `require`, `disable`): PEM file of the CAs trusted for the database's
    /// certificate; absent, the system's bundle.
    pub ca_file: Option<PathBuf>,
    /// Most versions one bank may store for one quarter (default 1,000).
    pub max_versions_per_quarter: u32,
    /// Most snapshot loans one bank may store for one quarter, over all its
    /// versions (default 20,000,000).
    pub max_loans_per_quarter: u64,
}

impl StoreOptions {
    /// The per-bank quota of the store.
    pub fn quota(&self) -> Quota {
        Quota {
            max_versions: self.max_versions_per_quarter,
            max_loans: self.max_loans_per_quarter,
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            data_dir: PathBuf::from("smefin-data"),
            synchronous: Synchronous::Full,
            url: None,
            pool_size: 16,
            connect_timeout_seconds: 2,
            ca_file: None,
            max_versions_per_quarter: Quota::default().max_versions,
            max_loans_per_quarter: Quota::default().max_loans,
        }
    }
}
