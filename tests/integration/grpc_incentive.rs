//! IncentiveService through a real server with tokens: the whole flow, every
//! RPC × every role, idempotency, concurrency, and open-mode safety.

use crate::common;

use smefin::server::auth::token_hash;
use smefin::server::pb;
use smefin::server::pb::incentive_service_client::IncentiveServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Request};

const TOKENS: [(&str, &str); 5] = [
    ("tok-bureau", "bureau"),
    ("tok-analyst", "analyst"),
    ("tok-jxb", "bank:JXB"),
    ("tok-nc", "bank:NCRCB"),
    ("tok-other", "bank:OTHER"),
];

pub(crate) fn token_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut s = String::new();
    for (t, p) in TOKENS {
        s.push_str(&format!(
            "[[token]]\nsha256 = \"{}\"\nprincipal = \"{p}\"\n",
            token_hash(t)
        ));
    }
    let path = dir.join("tokens.toml");
    std::fs::write(&path, s).unwrap();
    path
}

pub(crate) async fn server() -> (common::TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = smefin::config::Config::default();
    cfg.auth.tokens_file = Some(token_file(dir.path()));
    (common::start_with(cfg).await, dir)
}

pub(crate) fn req<T>(msg: T, token: Option<&str>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    r
}

pub(crate) async fn client(url: String) -> IncentiveServiceClient<Channel> {
    IncentiveServiceClient::connect(url).await.unwrap()
}

pub(crate) fn total(
    request_id: &str,
    bank: &str,
    period: &str,
    balance: &str,
) -> pb::SubmitBalanceReportRequest {
    pb::SubmitBalanceReportRequest {
        request_id: request_id.into(),
        bank_id: bank.into(),
        period: period.into(),
        balance: balance.into(),
    }
}

pub(crate) fn loan(
    id: &str,
    bt: pb::BorrowerType,
    u: pb::LoanUse,
    line: &str,
    bal: &str,
) -> pb::LoanRecord {
    pb::LoanRecord {
        loan_id: id.into(),
        borrower_id: format!("B{id}"),
        borrower_type: bt as i32,
        purpose: u as i32,
        credit_line: line.into(),
        balance: bal.into(),
    }
}

pub(crate) async fn register_three(c: &mut IncentiveServiceClient<Channel>) {
    for (id, name, t) in [
        ("JXB", "江西银行", pb::InstitutionType::CityCommercial),
        (
            "NCRCB",
            "南昌农商银行",
            pb::InstitutionType::RuralCommercial,
        ),
        (
            "ICBC",
            "工商银行江西省分行",
            pb::InstitutionType::StateOwnedLarge,
        ),
    ] {
        c.register_bank(req(
            pb::RegisterBankRequest {
                bank_id: id.into(),
                name: name.into(),
                institution_type: t as i32,
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn reports_snapshots_statement_and_restatement() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    c.submit_balance_report(req(
        total("jxb-q1", "JXB", "2023Q1", "12亿"),
        Some("tok-jxb"),
    ))
    .await
    .unwrap();
    let r = c
        .submit_balance_report(req(
            total("jxb-q2", "JXB", "2023Q2", "1350000000.00"),
            Some("tok-jxb"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.report.as_ref().unwrap().version, 1);
    c.submit_balance_report(req(
        total("nc-q1", "NCRCB", "2023Q1", "8亿"),
        Some("tok-nc"),
    ))
    .await
    .unwrap();
    // NCRCB's Q2 from a loan snapshot, streamed in three messages
    use pb::BorrowerType as B;
    use pb::LoanUse as U;
    let msgs = vec![
        pb::SubmitLoanSnapshotRequest {
            request_id: "nc-q2-snap".into(),
            bank_id: "NCRCB".into(),
            period: "2023Q2".into(),
            loans: vec![loan(
                "1",
                B::SmallMicroEnterprise,
                U::Business,
                "800万",
                "8亿",
            )],
        },
        pb::SubmitLoanSnapshotRequest {
            loans: vec![
                loan(
                    "2",
                    B::IndividualBusiness,
                    U::Business,
                    "50万",
                    "12345678.91",
                ),
                loan("3", B::IndividualBusiness, U::Consumption, "30万", "20万"),
            ],
            ..Default::default()
        },
        pb::SubmitLoanSnapshotRequest {
            loans: vec![loan(
                "4",
                B::SmallMicroEnterprise,
                U::Business,
                "1500万",
                "900万",
            )],
            ..Default::default()
        },
    ];
    let mut sreq = Request::new(tokio_stream::iter(msgs));
    sreq.metadata_mut()
        .insert("authorization", "Bearer tok-nc".parse().unwrap());
    let snap = c.submit_loan_snapshot(sreq).await.unwrap().into_inner();
    assert_eq!(snap.loans_received, 4);
    // Problems name the loan by its place in the stream, however many
    // problems the loans before it had (loan 1 was named loans[2] when the
    // index was derived from the problems counted so far).
    let bad = vec![
        pb::SubmitLoanSnapshotRequest {
            request_id: "nc-bad".into(),
            bank_id: "NCRCB".into(),
            period: "2023Q3".into(),
            loans: vec![loan("a", B::Unspecified, U::Business, "x", "1")],
        },
        pb::SubmitLoanSnapshotRequest {
            loans: vec![loan(
                "b",
                B::SmallMicroEnterprise,
                U::Business,
                "50万",
                "-1",
            )],
            ..Default::default()
        },
    ];
    let mut breq = Request::new(tokio_stream::iter(bad));
    breq.metadata_mut()
        .insert("authorization", "Bearer tok-nc".parse().unwrap());
    let e = c.submit_loan_snapshot(breq).await.unwrap_err();
    let fields = common::violation_fields(&e);
    assert_eq!(
        fields,
        vec![
            "loans[0].borrower_type",
            "loans[0].credit_line",
            "loans[1].balance"
        ]
    );
    let rep = snap.report.unwrap();
    assert_eq!(rep.balance, "812345678.91");
    assert_eq!(rep.source, "snapshot");
    assert_eq!(rep.excluded.len(), 2);

    let st = c
        .compute_incentives(req(
            pb::ComputeIncentivesRequest {
                period: "2023Q2".into(),
                budget: String::new(),
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    let line = |id: &str| st.lines.iter().find(|l| l.bank_id == id).unwrap().clone();
    assert_eq!(line("JXB").incentive, "3000000.00");
    assert_eq!(line("NCRCB").incentive, "246913.58");
    assert_eq!(line("ICBC").incentive, "0.00");
    // a non-qualifying bank is not an error, whatever it reported
    assert!(!line("ICBC").error);
    assert!(
        line("ICBC").note.contains("不属于地方法人金融机构"),
        "{}",
        line("ICBC").note
    );
    assert_eq!(st.total, "3246913.58");
    assert_eq!(st.version, 1);

    // JXB restates Q2; the recomputed statement shows the adjustment
    c.submit_balance_report(req(
        total("jxb-q2-fix", "JXB", "2023Q2", "13亿"),
        Some("tok-jxb"),
    ))
    .await
    .unwrap();
    let st2 = c
        .compute_incentives(req(
            pb::ComputeIncentivesRequest {
                period: "2023Q2".into(),
                budget: "300万".into(),
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap()
        .into_inner()
        .statement
        .unwrap();
    assert_eq!(st2.version, 2);
    assert_eq!(st2.total, "2246913.58");
    let j = st2.lines.iter().find(|l| l.bank_id == "JXB").unwrap();
    assert_eq!(j.incentive, "2000000.00");
    assert_eq!(j.previously_stated, "3000000.00");
    assert_eq!(j.adjustment, "-1000000.00");
    // both versions stay readable; a bank sees only its own line
    let v1 = c
        .get_statement(req(
            pb::GetStatementRequest {
                period: "2023Q2".into(),
                version: 1,
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap();
    assert_eq!(v1.into_inner().statement.unwrap().total, "3246913.58");
    let mine = c
        .get_statement(req(
            pb::GetStatementRequest {
                period: "2023Q2".into(),
                version: 0,
            },
            Some("tok-jxb"),
        ))
        .await
        .unwrap();
    let mine = mine.into_inner().statement.unwrap();
    assert_eq!(mine.lines.len(), 1);
    assert_eq!(mine.lines[0].bank_id, "JXB");
    assert_eq!(mine.total, "");
    // every version of every report is kept
    let all = c
        .list_reports(req(
            pb::ListReportsRequest {
                page_size: 2,
                ..Default::default()
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.reports.len(), 2);
    assert!(!all.next_page_token.is_empty());
    let own = c
        .list_reports(req(pb::ListReportsRequest::default(), Some("tok-jxb")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.reports.len(), 3);
    assert!(own.reports.iter().all(|r| r.bank_id == "JXB"));
    srv.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_idempotent() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    let a = c
        .submit_balance_report(req(total("r-1", "JXB", "2023Q1", "1亿"), Some("tok-jxb")))
        .await
        .unwrap()
        .into_inner();
    let b = c
        .submit_balance_report(req(total("r-1", "JXB", "2023Q1", "1亿"), Some("tok-jxb")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a, b);
    let e = c
        .submit_balance_report(req(total("r-1", "JXB", "2023Q1", "2亿"), Some("tok-jxb")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let list = c
        .list_reports(req(pb::ListReportsRequest::default(), Some("tok-bureau")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.reports.len(), 1);
    srv.shutdown().await;
}

#[tokio::test]
async fn concurrent_submitters_are_safe() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let url = srv.url();
        tasks.push(tokio::spawn(async move {
            let mut c = client(url).await;
            for k in 0..10 {
                let (bank, tok) = if i % 2 == 0 {
                    ("JXB", "tok-jxb")
                } else {
                    ("NCRCB", "tok-nc")
                };
                c.submit_balance_report(req(
                    total(
                        &format!("c-{i}-{k}"),
                        bank,
                        "2023Q3",
                        &format!("{}万", i * 100 + k),
                    ),
                    Some(tok),
                ))
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let list = c
        .list_reports(req(
            pb::ListReportsRequest {
                page_size: 1000,
                ..Default::default()
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.reports.len(), 160);
    for bank in ["JXB", "NCRCB"] {
        let mut v: Vec<u32> = list
            .reports
            .iter()
            .filter(|r| r.bank_id == bank)
            .map(|r| r.version)
            .collect();
        v.sort_unstable();
        assert_eq!(
            v,
            (1..=80).collect::<Vec<u32>>(),
            "{bank}: versions must be 1..80 without gaps or repeats"
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_invalid_argument() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    let e = c
        .submit_balance_report(req(total("", "J X", "2023Q5", "-3"), Some("tok-bureau")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let fields = common::violation_fields(&e);
    assert_eq!(fields, vec!["request_id", "bank_id", "period", "balance"]);
    let e = c
        .submit_balance_report(req(total("x", "NOPE", "2023Q1", "1"), Some("tok-bureau")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    let e = c
        .register_bank(req(
            pb::RegisterBankRequest {
                bank_id: "A".into(),
                name: "a".into(),
                institution_type: 0,
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    srv.shutdown().await;
}

/// Every incentive RPC × every role, plus the other services' gates.
#[tokio::test]
async fn every_rpc_by_every_role() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    c.submit_balance_report(req(
        total("seed-q1", "JXB", "2023Q1", "1亿"),
        Some("tok-jxb"),
    ))
    .await
    .unwrap();
    c.compute_incentives(req(
        pb::ComputeIncentivesRequest {
            period: "2023Q1".into(),
            budget: String::new(),
        },
        Some("tok-bureau"),
    ))
    .await
    .unwrap();

    use Code::{Ok as OK, PermissionDenied as PD, Unauthenticated as UA};
    // role order: none, wrong, bureau, analyst, bank:JXB, bank:OTHER
    let roles: [Option<&str>; 6] = [
        None,
        Some("nope"),
        Some("tok-bureau"),
        Some("tok-analyst"),
        Some("tok-jxb"),
        Some("tok-other"),
    ];
    let code = |r: Result<(), tonic::Status>| r.err().map_or(OK, |s| s.code());
    let mut n = 0;
    for (i, tok) in roles.iter().enumerate() {
        let expect = |row: [Code; 6]| row[i];
        let k = format!("m-{i}");
        let got = code(
            c.register_bank(req(
                pb::RegisterBankRequest {
                    bank_id: format!("NEW{i}"),
                    name: "x".into(),
                    institution_type: 6,
                },
                *tok,
            ))
            .await
            .map(|_| ()),
        );
        assert_eq!(
            got,
            expect([UA, UA, OK, PD, PD, PD]),
            "RegisterBank as {tok:?}"
        );
        let got = code(
            c.list_banks(req(pb::ListBanksRequest::default(), *tok))
                .await
                .map(|_| ()),
        );
        assert_eq!(
            got,
            expect([UA, UA, OK, PD, OK, OK]),
            "ListBanks as {tok:?}"
        );
        let got = code(
            c.submit_balance_report(req(total(&k, "JXB", "2023Q2", "2亿"), *tok))
                .await
                .map(|_| ()),
        );
        assert_eq!(
            got,
            expect([UA, UA, OK, PD, OK, PD]),
            "SubmitBalanceReport(JXB) as {tok:?}"
        );
        let mut s = Request::new(tokio_stream::iter(vec![pb::SubmitLoanSnapshotRequest {
            request_id: format!("s-{i}"),
            bank_id: "JXB".into(),
            period: "2023Q4".into(),
            loans: vec![loan(
                "1",
                pb::BorrowerType::SmallMicroEnterprise,
                pb::LoanUse::Business,
                "1万",
                "1万",
            )],
        }]));
        if let Some(t) = tok {
            s.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        let got = code(c.submit_loan_snapshot(s).await.map(|_| ()));
        assert_eq!(
            got,
            expect([UA, UA, OK, PD, OK, PD]),
            "SubmitLoanSnapshot(JXB) as {tok:?}"
        );
        let got = code(
            c.compute_incentives(req(
                pb::ComputeIncentivesRequest {
                    period: "2023Q2".into(),
                    budget: String::new(),
                },
                *tok,
            ))
            .await
            .map(|_| ()),
        );
        assert_eq!(
            got,
            expect([UA, UA, OK, PD, PD, PD]),
            "ComputeIncentives as {tok:?}"
        );
        let got = code(
            c.get_statement(req(
                pb::GetStatementRequest {
                    period: "2023Q1".into(),
                    version: 0,
                },
                *tok,
            ))
            .await
            .map(|_| ()),
        );
        assert_eq!(
            got,
            expect([UA, UA, OK, PD, OK, OK]),
            "GetStatement as {tok:?}"
        );
        let got = code(
            c.list_reports(req(
                pb::ListReportsRequest {
                    bank_id: "JXB".into(),
                    ..Default::default()
                },
                *tok,
            ))
            .await
            .map(|_| ()),
        );
        assert_eq!(
            got,
            expect([UA, UA, OK, PD, OK, PD]),
            "ListReports(JXB) as {tok:?}"
        );
        n += 7;
    }
    // a bank sees only itself, and an OTHER bank's statement view is empty
    let banks = c
        .list_banks(req(pb::ListBanksRequest::default(), Some("tok-jxb")))
        .await
        .unwrap()
        .into_inner()
        .banks;
    assert_eq!(
        banks.iter().map(|b| b.bank_id.as_str()).collect::<Vec<_>>(),
        vec!["JXB"]
    );
    let other = c
        .get_statement(req(
            pb::GetStatementRequest {
                period: "2023Q1".into(),
                version: 0,
            },
            Some("tok-other"),
        ))
        .await
        .unwrap();
    assert!(other.into_inner().statement.unwrap().lines.is_empty());

    // matching and simulation: bureau and analysts only; health is open
    use smefin::server::pb::matching_service_client::MatchingServiceClient;
    let mut m = MatchingServiceClient::connect(srv.url()).await.unwrap();
    for (tok, want) in [
        (None, UA),
        (Some("tok-analyst"), OK),
        (Some("tok-bureau"), OK),
        (Some("tok-jxb"), PD),
    ] {
        let got = code(
            m.list_products(req(pb::ListProductsRequest::default(), tok))
                .await
                .map(|_| ()),
        );
        assert_eq!(got, want, "ListProducts as {tok:?}");
        n += 1;
    }
    use smefin::server::pb::risk_pool_service_client::RiskPoolServiceClient;
    let mut r = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    for (tok, want) in [(None, UA), (Some("tok-analyst"), OK), (Some("tok-jxb"), PD)] {
        let got = code(
            r.list_scenario_presets(req(pb::ListScenarioPresetsRequest {}, tok))
                .await
                .map(|_| ()),
        );
        assert_eq!(got, want, "ListScenarioPresets as {tok:?}");
        n += 1;
    }
    let mut h = tonic_health::pb::health_client::HealthClient::new(
        Channel::from_shared(srv.url())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    assert!(
        h.check(tonic_health::pb::HealthCheckRequest {
            service: String::new()
        })
        .await
        .is_ok()
    );
    assert!(n >= 49);
    srv.shutdown().await;
}

#[tokio::test]
async fn open_mode_refuses_non_loopback_addresses() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = smefin::config::Config::default();
    cfg.store.data_dir = data.path().to_path_buf();
    let catalog = std::sync::Arc::new(smefin::catalog::Catalog::builtin());
    let r = smefin::server::serve(listener, &cfg, catalog, async {}).await;
    let e = r.unwrap_err().to_string();
    assert!(e.contains("not a loopback address"), "{e}");
}
