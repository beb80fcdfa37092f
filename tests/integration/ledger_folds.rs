//! A pool's fold stored and read back: a server stopping stores each
//! pool's fold; the next one reads it instead of the whole log (shown by a
//! fold planted with one fen more: the restarted server answers it), and
//! refolds from the log when the stored fold cannot be read or was written
//! under other rules; the stored fold is the fold of the log up to its
//! sequence number.

use chrono::NaiveDate;
use smefin::ledger::codec;
use smefin::ledger::rules::builtin;
use smefin::ledger::state::Book;
use smefin::server::pb;
use smefin::server::pb::ledger_service_client::LedgerServiceClient;
use smefin::store::LedgerStore;

use crate::common;
use crate::grpc_incentive::{req, token_file};
use crate::grpc_ledger::enrol;

const BUREAU: Option<&str> = Some("tok-bureau");

async fn cash(url: String) -> String {
    let mut c = LedgerServiceClient::connect(url).await.unwrap();
    let s = c
        .get_pool_state(req(
            pb::GetPoolStateRequest {
                pool_id: "GXT".into(),
                ..Default::default()
            },
            BUREAU,
        ))
        .await
        .unwrap()
        .into_inner();
    let p = s.pool.unwrap();
    format!(
        "cash {} outstanding {}",
        p.cash,
        p.figures.unwrap().outstanding
    )
}

/// `smefin pool state --json` on the store in `dir`.
fn pool_state(dir: &std::path::Path) -> String {
    let o = crate::cli::run(
        &[
            "pool",
            "state",
            "--pool",
            "GXT",
            "--json",
            "--data-dir",
            dir.to_str().unwrap(),
        ],
        dir,
    );
    assert!(o.status.success(), "{}", crate::cli::stderr(&o));
    crate::cli::stdout(&o)
}

/// Runs `sql` on the server's SQLite file (stopped).
fn sql(dir: &std::path::Path, sql: &str) {
    let c = rusqlite::Connection::open(dir.join("smefin.sqlite3")).unwrap();
    c.execute_batch(sql).unwrap();
}

/// The stored fold of the pool, checked to be the fold of the log up to
/// its sequence number; that sequence number.
fn stored(dir: &std::path::Path) -> u64 {
    let store = smefin::store::Store::open(dir).unwrap();
    let f = store.fold("GXT").unwrap().expect("a stored fold");
    let p = std::sync::Arc::new(
        builtin()
            .into_iter()
            .find(|p| p.id == "gongxintong")
            .unwrap(),
    );
    assert_eq!(f.fingerprint, codec::fingerprint(&p));
    let r = codec::decode(p.clone(), &f.data).unwrap();
    let events: Vec<_> = store
        .events("GXT")
        .unwrap()
        .into_iter()
        .filter(|e| e.seq <= f.seq)
        .collect();
    assert_eq!(r.book, Book::fold(&p, &events, NaiveDate::MAX, None));
    f.seq
}

/// Stores in place of the pool's fold the same fold with one fen more of
/// cash, under `fingerprint` when given.
fn plant(dir: &std::path::Path, fingerprint: Option<&str>) {
    let store = smefin::store::Store::open(dir).unwrap();
    let mut f = store.fold("GXT").unwrap().unwrap();
    let p = std::sync::Arc::new(
        builtin()
            .into_iter()
            .find(|p| p.id == "gongxintong")
            .unwrap(),
    );
    let mut r = codec::decode(p, &f.data).unwrap();
    r.book.cash.0 += rust_decimal::Decimal::new(1, 2);
    f.data = codec::encode(&r);
    if let Some(fp) = fingerprint {
        f.fingerprint = fp.into();
    }
    store.save_fold("GXT", &f).unwrap();
}

#[tokio::test]
async fn a_restart_reads_the_stored_fold_and_refolds_when_it_cannot() {
    let tokens = tempfile::tempdir().unwrap();
    let mut cfg = smefin::config::Config::default();
    cfg.auth.tokens_file = Some(token_file(tokens.path()));
    let srv = common::start_with(cfg.clone()).await;
    let mut c = LedgerServiceClient::connect(srv.url()).await.unwrap();
    c.create_pool(req(
        pb::CreatePoolRequest {
            pool_id: "GXT".into(),
            programme_id: "gongxintong".into(),
        },
        BUREAU,
    ))
    .await
    .unwrap();
    c.record_cash(req(
        pb::RecordCashRequest {
            request_id: "cap".into(),
            pool_id: "GXT".into(),
            kind: pb::CashKind::Capital as i32,
            amount: "3000万".into(),
            date: "2023-01-03".into(),
        },
        BUREAU,
    ))
    .await
    .unwrap();
    let loans = (0..40).map(|i| pb::EnrollLoansRequest {
        loan: Some(pb::EnrollLoanRequest {
            request_id: if i == 0 { "book".into() } else { String::new() },
            ..enrol(i, 100)
        }),
    });
    let r = c
        .enroll_loans(req(tokio_stream::iter(loans), BUREAU))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.enrolled, 40);
    let before = cash(srv.url()).await;
    assert_eq!(before, "cash 30000000.00 outstanding 40000000.00");
    let data = srv.stop().await;
    // stopping stored the fold of all 41 events
    assert_eq!(stored(data.path()), 41);

    // a fold planted with one fen more is what the next server answers:
    // it read the stored fold, not the log
    plant(data.path(), None);
    // so does `smefin pool state` (read from the stored fold too)
    assert!(pool_state(data.path()).contains("\"cash\": \"30000000.01\""));
    let srv = common::start_in(cfg.clone(), data).await;
    assert_eq!(
        cash(srv.url()).await,
        "cash 30000000.01 outstanding 40000000.00"
    );
    let data = srv.stop().await;

    // a stored fold that cannot be read is refolded from the log, and
    // stored right on the way out
    sql(data.path(), "UPDATE ledger_folds SET data = x'0102'");
    assert!(pool_state(data.path()).contains("\"cash\": \"30000000.00\""));
    let srv = common::start_in(cfg.clone(), data).await;
    assert_eq!(cash(srv.url()).await, before);
    let data = srv.stop().await;
    assert_eq!(stored(data.path()), 41);

    // one written under other rules (or another build) is not used
    plant(data.path(), Some("written under other rules"));
    let srv = common::start_in(cfg, data).await;
    assert_eq!(cash(srv.url()).await, before);
    let data = srv.stop().await;
    assert_eq!(stored(data.path()), 41);
}
