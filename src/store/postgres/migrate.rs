//! The schema, migration by migration, applied once under an advisory lock.

/// Advisory-lock key under which migrations run (any fixed number; this one
/// spells "smefin" in ASCII).
pub(super) const MIGRATION_LOCK: i64 = 0x736d_6566_696e;

/// The schema, one migration per entry; `smefin_schema.version` says how many
/// have run. The shape is SQLite's after its migrations.
pub(super) const MIGRATIONS: &[&str] = &[
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
    // 2: campaigns, their leads, and the outcomes banks report
    super::referral::SCHEMA,
    // 3: pools and their event logs
    super::ledger::SCHEMA,
    // 4: each pool's stored fold
    super::ledger::FOLDS,
    // 5: every event of a loan or a claim names its bank
    super::ledger::BANK_IDS,
];
