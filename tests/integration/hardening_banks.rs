//! Hardening, part 3, the incentive rows: a bank's view of a statement
//! reveals nothing of another bank; one rule for stored text and ids on
//! both stores and both paths; an identical resubmission stores nothing;
//! a per-bank quota; the memory a streaming snapshot may hold.

use smefin::config::Config;
use smefin::server::pb;
use smefin::server::pb::incentive_service_client::IncentiveServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::common::pg::PgCluster;
use crate::common::{self, violation_fields as fields};
use crate::grpc_incentive::{client, loan, register_three, req, token_file, total};

fn reason(s: &tonic::Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

/// A server with the test tokens, `edit`ed, on SQLite or on `pg`.
async fn server_with(
    pg: Option<&PgCluster>,
    edit: impl FnOnce(&mut Config),
) -> (common::TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.auth.tokens_file = Some(token_file(dir.path()));
    if let Some(pg) = pg {
        let db = format!("h{}", std::process::id() ^ rand_suffix());
        cfg.store.url = Some(pg.database(&db));
    }
    edit(&mut cfg);
    (common::start_with(cfg).await, dir)
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

fn snapshot(id: &str, loans: Vec<pb::LoanRecord>) -> pb::SubmitLoanSnapshotRequest {
    pb::SubmitLoanSnapshotRequest {
        request_id: id.into(),
        bank_id: "JXB".into(),
        period: "2025Q1".into(),
        loans,
    }
}

async fn send_snapshot(
    c: &mut IncentiveServiceClient<Channel>,
    msgs: Vec<pb::SubmitLoanSnapshotRequest>,
) -> Result<pb::SubmitLoanSnapshotResponse, tonic::Status> {
    c.submit_loan_snapshot(req(tokio_stream::iter(msgs), Some("tok-jxb")))
        .await
        .map(|r| r.into_inner())
}

fn small(id: &str) -> pb::LoanRecord {
    use pb::{BorrowerType as B, LoanUse as U};
    loan(id, B::SmallMicroEnterprise, U::Business, "500万", "100万")
}

/// JXB's statement view in a world where NCRCB grew by `ncrcb_q2` and the
/// budget is `budget`.
async fn jxb_view(ncrcb_q2: &str, budget: &str) -> pb::Statement {
    let (srv, _d) = server_with(None, |_| {}).await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    for (id, bank, period, bal, tok) in [
        ("j1", "JXB", "2023Q1", "10亿", "tok-jxb"),
        ("j2", "JXB", "2023Q2", "11亿", "tok-jxb"),
        ("n1", "NCRCB", "2023Q1", "8亿", "tok-nc"),
        ("n2", "NCRCB", "2023Q2", ncrcb_q2, "tok-nc"),
    ] {
        c.submit_balance_report(req(total(id, bank, period, bal), Some(tok)))
            .await
            .unwrap();
    }
    let whole = c
        .compute_incentives(req(
            pb::ComputeIncentivesRequest {
                period: "2023Q2".into(),
                budget: budget.into(),
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert!(whole.scaled && whole.budget == whole.total, "{whole:?}");
    let mut v = c
        .get_statement(req(
            pb::GetStatementRequest {
                period: "2023Q2".into(),
                version: 0,
            },
            Some("tok-jxb"),
        ))
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    srv.shutdown().await;
    v.computed_at.clear();
    v
}

/// Row 6, by trying to infer: two worlds in which NCRCB's increment
/// differs threefold (1亿 and 3亿) and the budget scales JXB alike give JXB
/// the same view, to the byte: nothing in it determines NCRCB's figures.
#[tokio::test]
async fn a_banks_view_reveals_nothing_of_another() {
    let one = jxb_view("9亿", "200万").await;
    let three = jxb_view("11亿", "400万").await;
    assert_eq!(one.lines.len(), 1);
    assert_eq!(one.lines[0].bank_id, "JXB");
    assert_eq!(one.lines[0].incentive, "1000000.00");
    assert_eq!(
        (one.budget.as_str(), one.total.as_str(), one.scaled),
        ("", "", false)
    );
    assert_eq!(one, three, "JXB's view tells the two worlds apart");
}

/// Rows 9 and 10 on both stores: control and invisible characters are
/// refused naming the field; ids are compared trimmed and in NFKC, so
/// `L1 `, `Ｌ1` repeat `L1`.
#[tokio::test]
async fn text_and_ids_follow_one_rule_on_both_stores() {
    let pg = PgCluster::start();
    let mut backends: Vec<Option<&PgCluster>> = vec![None];
    if let Some(p) = pg.as_ref() {
        backends.push(Some(p));
    }
    for b in backends {
        let name = if b.is_some() { "postgres" } else { "sqlite" };
        let (srv, _d) = server_with(b, |_| {}).await;
        let mut c = client(srv.url()).await;
        register_three(&mut c).await;
        let e = c
            .register_bank(req(
                pb::RegisterBankRequest {
                    bank_id: "NUL".into(),
                    name: "江西\0银行".into(),
                    institution_type: pb::InstitutionType::CityCommercial as i32,
                },
                Some("tok-bureau"),
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), fields(&e)),
            (Code::InvalidArgument, vec!["name".to_string()]),
            "{name}"
        );
        assert!(e.message().contains("U+0000"), "{name}: {}", e.message());
        let e = c
            .submit_balance_report(req(
                total("r\u{0}1", "JXB", "2025Q1", "1亿"),
                Some("tok-jxb"),
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["request_id"], "{name}");
        let mut nul_borrower = small("L9");
        nul_borrower.borrower_id = "B\u{0}".into();
        let mut nul_loan = small("L\u{0}1");
        nul_loan.borrower_id = "B0".into();
        let e = send_snapshot(&mut c, vec![snapshot("s0", vec![nul_loan, nul_borrower])])
            .await
            .unwrap_err();
        assert_eq!(
            fields(&e),
            ["loans[0].loan_id", "loans[1].borrower_id"],
            "{name}"
        );
        // the same loan written four ways: one id
        let e = send_snapshot(
            &mut c,
            vec![snapshot(
                "s1",
                vec![small("L1"), small("L1 "), small("Ｌ1"), small("L1\u{200b}")],
            )],
        )
        .await
        .unwrap_err();
        assert_eq!(
            fields(&e),
            // (the borrower `BL1\u{200b}` too)
            [
                "loans[1].loan_id",
                "loans[2].loan_id",
                "loans[3].loan_id",
                "loans[3].borrower_id"
            ],
            "{name}"
        );
        // a padded id is stored as its normalised form
        let r = send_snapshot(
            &mut c,
            vec![snapshot("s2", vec![small(" Ｌ2 "), small("L3")])],
        )
        .await
        .unwrap();
        assert_eq!(r.loans_received, 2, "{name}");
        srv.shutdown().await;
    }
    // the CSV path: the same rule
    let rules = smefin::incentive::IncentiveRules::default();
    let mut inputs = smefin::incentive::csv::Inputs::default();
    let mut errs = Vec::new();
    inputs.add_banks(
        "bank_id,bank_name,institution_type\nJXB,江西银行,城市商业银行\n",
        "banks.csv",
        &mut errs,
    );
    assert!(errs.is_empty(), "{errs:?}");
    let csv = "bank_id,period,loan_id,borrower_id,borrower_type,purpose,credit_line,balance\n\
               JXB,2025Q1,L1,B1,小微企业,经营性,500万,100万\n\
               JXB,2025Q1,Ｌ1,B2,小微企业,经营性,500万,100万\n";
    inputs.add_loans(csv, "loans.csv", &rules, &mut errs);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].description.contains("listed again"), "{errs:?}");
}

/// Row 11: the same snapshot under 20 request ids is one version; a
/// quota of versions and of loans per bank and quarter, RESOURCE_EXHAUSTED
/// naming the setting.
#[tokio::test]
async fn resubmissions_store_nothing_and_quotas_hold() {
    let (srv, _d) = server_with(None, |c| {
        c.store.max_versions_per_quarter = 3;
        c.store.max_loans_per_quarter = 10;
    })
    .await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    let book = || vec![small("L1"), small("L2"), small("L3")];
    for i in 0..20 {
        let r = send_snapshot(&mut c, vec![snapshot(&format!("again-{i}"), book())])
            .await
            .unwrap();
        assert_eq!(r.report.unwrap().version, 1, "resubmission {i}");
    }
    let reports = c
        .list_reports(req(
            pb::ListReportsRequest {
                bank_id: "JXB".into(),
                ..Default::default()
            },
            Some("tok-jxb"),
        ))
        .await
        .unwrap()
        .into_inner()
        .reports;
    assert_eq!(reports.len(), 1);
    // 3 + 4 loans more: 10 stored, then a fourth version is over both
    for (i, n) in [(2, 4usize), (3, 3)] {
        let loans = (0..n).map(|k| small(&format!("V{i}-{k}"))).collect();
        let r = send_snapshot(&mut c, vec![snapshot(&format!("v{i}"), loans)])
            .await
            .unwrap();
        assert_eq!(r.report.unwrap().version, i);
    }
    let e = send_snapshot(&mut c, vec![snapshot("v4", vec![small("X")])])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(reason(&e), "QUOTA_EXCEEDED");
    assert!(
        e.message().contains("store.max_versions_per_quarter"),
        "{}",
        e.message()
    );
    // the latest content again is still answered, with its version
    let loans = (0..3).map(|k| small(&format!("V3-{k}"))).collect();
    let r = send_snapshot(&mut c, vec![snapshot("v3-again", loans)])
        .await
        .unwrap();
    assert_eq!(r.report.unwrap().version, 3);
    srv.shutdown().await;
    // the loans' quota
    let (srv, _d) = server_with(None, |c| c.store.max_loans_per_quarter = 5).await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    let loans = (0..6).map(|k| small(&format!("L{k}"))).collect();
    let e = send_snapshot(&mut c, vec![snapshot("big", loans)])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert!(
        e.message().contains("store.max_loans_per_quarter"),
        "{}",
        e.message()
    );
    srv.shutdown().await;
}

/// Row 4: a snapshot's memory while it streams in is bounded, per
/// snapshot and for all at once, refused RESOURCE_EXHAUSTED naming the
/// setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_snapshot_holds_bounded_memory() {
    let (srv, _d) = server_with(None, |c| {
        c.server.max_snapshot_bytes = 2 << 20;
        c.server.max_snapshot_bytes_total = 3 << 20;
    })
    .await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    let long = |k: usize| small(&format!("{k:0>120}"));
    // 20,000 loans with 120-character ids: about 13 MB held
    let msgs: Vec<_> = (0..20)
        .map(|m| snapshot("long", (0..1000).map(|k| long(m * 1000 + k)).collect()))
        .collect();
    let e = send_snapshot(&mut c, msgs).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(
        e.message().contains("server.max_snapshot_bytes"),
        "{}",
        e.message()
    );
    // two snapshots of ~1.7 MB each: the first, still streaming, holds its
    // share; the second passes the total
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut c2 = client(srv.url()).await;
    let first = tokio::spawn(async move {
        c2.submit_loan_snapshot(req(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            Some("tok-jxb"),
        ))
        .await
    });
    tx.send(snapshot("a", (0..2600).map(long).collect()))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let msgs = vec![snapshot("b", (10_000..12_600).map(long).collect())];
    let e = send_snapshot(&mut c, msgs).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(
        e.message().contains("server.max_snapshot_bytes_total"),
        "{}",
        e.message()
    );
    drop(tx);
    let r = first.await.unwrap().unwrap().into_inner();
    assert_eq!(r.loans_received, 2600);
    srv.shutdown().await;
}
