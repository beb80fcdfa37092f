//! Each finding of the hostile-caller review as a test: a spec that hung or
//! killed the server, streams and connections a client could exhaust,
//! request ids another bank could block, lenient input, auth edge cases.

use std::io::Read;
use std::time::{Duration, Instant};

use smefin::server::pb;
use smefin::server::pb::matching_service_client::MatchingServiceClient;
use smefin::server::pb::risk_pool_service_client::RiskPoolServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

use crate::cli::{bin, stderr, write};
use crate::common::{self, violation_fields as fields};
use crate::grpc_incentive::{client, loan, register_three, req, server, total};

fn toml_spec(text: &str) -> pb::PoolSpec {
    pb::PoolSpec {
        document: Some(pb::pool_spec::Document::Toml(text.into())),
        scenarios: 0,
        seed: None,
    }
}

fn reason(s: &tonic::Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

async fn health(url: String) -> bool {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let ch = tonic::transport::Channel::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut h = HealthClient::new(ch);
    let r = h
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    r.into_inner().status == ServingStatus::Serving as i32
}

#[tokio::test]
async fn specs_that_hung_or_killed_the_server_are_refused_and_health_answers() {
    let srv = common::start().await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let seg = |extra: &str| {
        format!("[[portfolio.segments]]\ncount = 2000\ntotal = \"6亿\"\npd = 0.02\n{extra}\n")
    };
    // size_sigma: each of these pinned a runtime thread forever.
    for sigma in ["1e10", "1e308", "inf", "nan", "700"] {
        let spec = seg(&format!("size_sigma = {sigma}"));
        let s = c
            .simulate_pool(pb::SimulatePoolRequest {
                spec: Some(toml_spec(&spec)),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{sigma}: {s:?}");
        assert_eq!(
            fields(&s),
            ["spec.portfolio.segments[0].size_sigma"],
            "{sigma}"
        );
        assert!(health(srv.url()).await);
    }
    // A recovery lag past the configured maximum (it allocated without
    // bound), and a lag with one period (it panicked): refused, or run.
    let s = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: Some(toml_spec(&format!(
                "periods = 4\n[pool]\nrecovery_lag = 4294967295\n{}",
                seg("")
            ))),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&s), ["spec.pool.recovery_lag"]);
    for (rpc, spec) in [
        (
            "simulate",
            format!("scenarios = 2000\n[pool]\nrecovery_lag = 1\n{}", seg("")),
        ),
        (
            "grid",
            format!("scenarios = 500\n[pool]\nrecovery_lag = 1\n{}", seg("")),
        ),
    ] {
        if rpc == "simulate" {
            let mut st = c
                .simulate_pool(pb::SimulatePoolRequest {
                    spec: Some(toml_spec(&spec)),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let mut done = false;
            while let Some(ev) = st.message().await.unwrap() {
                done |= matches!(ev.event, Some(pb::simulate_pool_response::Event::Result(_)));
            }
            assert!(done);
        } else {
            let g = c
                .run_stress_grid(pb::RunStressGridRequest {
                    spec: Some(toml_spec(&spec)),
                    pd_multipliers: vec![1.0, 2.0],
                    rhos: vec![],
                    shares: vec![],
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(g.cells.len(), 2);
        }
    }
    // Work is estimated before anything runs: a grid of 400 cells of a
    // 20M-scenario book is refused at once, naming the limit.
    let t = Instant::now();
    let s = c
        .run_stress_grid(pb::RunStressGridRequest {
            spec: Some(toml_spec(&format!("scenarios = 20000000\n{}", seg("")))),
            pd_multipliers: (1..=20).map(f64::from).collect(),
            rhos: (1..=20).map(|r| f64::from(r) / 100.0).collect(),
            shares: vec![],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(fields(&s), ["spec.scenarios"]);
    assert!(s.message().contains("riskpool.max_work"), "{}", s.message());
    assert!(t.elapsed() < Duration::from_secs(30));
    srv.shutdown().await;
}

#[test]
fn the_cli_refuses_the_same_specs_at_once() {
    let d = tempfile::tempdir().unwrap();
    let spec = write(
        d.path(),
        "s.toml",
        "[[portfolio.segments]]\ncount = 2000\ntotal = \"6亿\"\npd = 0.02\nsize_sigma = 1e308\n",
    );
    let o = bin()
        .args(["simulate", spec.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("portfolio.segments[0].size_sigma"),
        "{}",
        stderr(&o)
    );
    let spec = write(
        d.path(),
        "lag.toml",
        &format!(
            "{}\n[pool]\nrecovery_lag = 1\n",
            "scenarios = 1000\n[[portfolio.segments]]\ncount = 200\ntotal = \"6000万\"\npd = 0.02\n"
        ),
    );
    let o = bin()
        .args(["simulate", spec.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[tokio::test]
async fn request_ids_are_scoped_to_the_submitter() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    // JXB takes an id first; NCRCB's own report with the same id is its own.
    c.submit_balance_report(req(
        total("B-2025Q1", "JXB", "2025Q1", "12亿"),
        Some("tok-jxb"),
    ))
    .await
    .unwrap();
    let r = c
        .submit_balance_report(req(
            total("B-2025Q1", "NCRCB", "2025Q1", "8亿"),
            Some("tok-nc"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.report.unwrap().bank_id, "NCRCB");
    // Each bank's resubmission is still idempotent, and a changed one is
    // still refused, within its own scope.
    let again = c
        .submit_balance_report(req(
            total("B-2025Q1", "NCRCB", "2025Q1", "8亿"),
            Some("tok-nc"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.report.unwrap().version, 1);
    let s = c
        .submit_balance_report(req(
            total("B-2025Q1", "NCRCB", "2025Q1", "9亿"),
            Some("tok-nc"),
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::AlreadyExists);
    // request_id limits are in characters: 128 Chinese characters (384
    // bytes) pass, 129 do not.
    let long: String = "号".repeat(128);
    c.submit_balance_report(req(total(&long, "JXB", "2025Q2", "12亿"), Some("tok-jxb")))
        .await
        .unwrap();
    let s = c
        .submit_balance_report(req(
            total(&format!("{long}号"), "JXB", "2025Q2", "12亿"),
            Some("tok-jxb"),
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&s), ["request_id"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn snapshots_refuse_repeated_and_empty_loan_ids() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    use pb::{BorrowerType as B, LoanUse as U};
    let msg = |loans| pb::SubmitLoanSnapshotRequest {
        request_id: "snap-1".into(),
        bank_id: "JXB".into(),
        period: "2025Q1".into(),
        loans,
    };
    let l1 = loan("L1", B::SmallMicroEnterprise, U::Business, "500万", "100万");
    let mut empty = loan("", B::SmallMicroEnterprise, U::Business, "500万", "50万");
    empty.loan_id = "  ".into();
    let s = c
        .submit_loan_snapshot(req(
            tokio_stream::iter(vec![msg(vec![l1.clone(), l1.clone()]), msg(vec![empty])]),
            Some("tok-jxb"),
        ))
        .await
        .unwrap_err();
    assert_eq!(s.code(), Code::InvalidArgument);
    assert_eq!(fields(&s), ["loans[1].loan_id", "loans[2].loan_id"]);
    assert!(
        s.get_error_details()
            .bad_request()
            .unwrap()
            .field_violations[0]
            .description
            .contains("loans[0]")
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn page_tokens_are_checked_and_money_and_dates_are_strict() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    for token in [
        "o9223372036854775808",
        "o18446744073709551615",
        "o+1",
        "o01",
        "o-1",
        "x",
    ] {
        let s = c
            .list_reports(req(
                pb::ListReportsRequest {
                    page_token: token.into(),
                    ..Default::default()
                },
                Some("tok-bureau"),
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&s), ["page_token"], "{token}");
        let mut m = MatchingServiceClient::connect(srv.url()).await.unwrap();
        let s = m
            .list_products(req(
                pb::ListProductsRequest {
                    page_token: token.into(),
                    ..Default::default()
                },
                Some("tok-bureau"),
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&s), ["page_token"], "{token}");
    }
    // Amounts a bank reports are whole fen, written strictly.
    for bad in [
        "0.005",
        "1.999",
        "-0",
        "1,00万",
        ",1000万",
        "1,0,0,0万",
        "3 00万",
        "+5",
    ] {
        let s = c
            .submit_balance_report(req(total("r-bad", "JXB", "2025Q1", bad), Some("tok-jxb")))
            .await
            .unwrap_err();
        assert_eq!(fields(&s), ["balance"], "{bad}");
    }
    c.submit_balance_report(req(
        total("r-ok", "JXB", "2025Q1", "1,000万"),
        Some("tok-jxb"),
    ))
    .await
    .unwrap();
    for bad in ["2025q1", "2025-Q1", " 2025Q1"] {
        let s = c
            .submit_balance_report(req(total("r-q", "JXB", bad, "1"), Some("tok-jxb")))
            .await
            .unwrap_err();
        assert_eq!(fields(&s), ["period"], "{bad}");
    }
    let mut m = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let profile = pb::EnterpriseProfile {
        industry_code: Some("C3562".into()),
        employees: Some(24),
        ..Default::default()
    };
    for bad in ["+2024-01-01", "2024-1-1", "-2024-01-01"] {
        let s = m
            .match_enterprise(req(
                pb::MatchEnterpriseRequest {
                    profile: Some(profile.clone()),
                    as_of: bad.into(),
                    product_ids: vec![],
                    view: 0,
                },
                Some("tok-bureau"),
            ))
            .await
            .unwrap_err();
        assert_eq!(fields(&s), ["as_of"], "{bad}");
    }
    // Before the LPR table: LPR_UNKNOWN, not an empty OK.
    let s = m
        .match_enterprise(req(
            pb::MatchEnterpriseRequest {
                profile: Some(profile),
                as_of: "1900-01-01".into(),
                product_ids: vec![],
                view: 0,
            },
            Some("tok-bureau"),
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&s), "LPR_UNKNOWN");
    srv.shutdown().await;
}

#[tokio::test]
async fn auth_scheme_is_case_insensitive_one_header_and_errors_carry_a_reason() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let mut r = tonic::Request::new(pb::ListBanksRequest::default());
        r.metadata_mut().insert(
            "authorization",
            format!("{scheme} tok-bureau").parse().unwrap(),
        );
        c.list_banks(r)
            .await
            .unwrap_or_else(|e| panic!("{scheme}: {e:?}"));
    }
    let mut r = tonic::Request::new(pb::ListBanksRequest::default());
    r.metadata_mut()
        .append("authorization", "Bearer tok-bureau".parse().unwrap());
    r.metadata_mut()
        .append("authorization", "Bearer tok-jxb".parse().unwrap());
    let s = c.list_banks(r).await.unwrap_err();
    assert_eq!(s.code(), Code::Unauthenticated);
    assert_eq!(reason(&s), "AMBIGUOUS_CREDENTIALS");
    let s = c
        .list_banks(req(pb::ListBanksRequest::default(), None))
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), reason(&s).as_str()),
        (Code::Unauthenticated, "MISSING_CREDENTIALS")
    );
    let s = c
        .list_banks(req(pb::ListBanksRequest::default(), Some("nope")))
        .await
        .unwrap_err();
    assert_eq!(reason(&s), "UNKNOWN_TOKEN");
    let s = c
        .compute_incentives(req(
            pb::ComputeIncentivesRequest {
                period: "2025Q1".into(),
                budget: String::new(),
            },
            Some("tok-jxb"),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), reason(&s).as_str()),
        (Code::PermissionDenied, "NOT_ALLOWED")
    );
    let mut rp = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let s = rp
        .list_scenario_presets(req(pb::ListScenarioPresetsRequest {}, Some("tok-jxb")))
        .await
        .unwrap_err();
    assert_eq!(
        (s.code(), reason(&s).as_str()),
        (Code::PermissionDenied, "ROLE_NOT_ALLOWED")
    );
    srv.shutdown().await;
}

#[test]
fn an_open_server_beyond_loopback_is_refused_before_binding() {
    // Hold the port: were the server to bind before checking, it would
    // fail with "address in use" instead of the refusal.
    let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let d = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["serve", "--listen", &format!("0.0.0.0:{port}")])
        .env("RUST_LOG", "info")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("refusing to serve without a token file"),
        "{err}"
    );
    assert!(
        !err.contains("listening") && !err.contains("in use"),
        "{err}"
    );
}

#[tokio::test]
async fn silent_and_surplus_connections_are_closed() {
    let mut cfg = smefin::config::Config::default();
    cfg.server.handshake_timeout_seconds = 1;
    cfg.server.max_connections = 3;
    let srv = common::start_with(cfg).await;
    let addr = srv.addr;
    tokio::task::spawn_blocking(move || {
        // A socket that never speaks is closed after the handshake timeout.
        let mut silent = std::net::TcpStream::connect(addr).unwrap();
        silent
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let t = Instant::now();
        let mut b = [0u8; 16];
        assert_eq!(silent.read(&mut b).unwrap_or(0), 0, "closed, not answered");
        assert!(
            t.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );
        // Beyond max_connections a new socket is closed at once.
        let held: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut extra = std::net::TcpStream::connect(addr).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let t = Instant::now();
        assert_eq!(extra.read(&mut b).unwrap_or(0), 0);
        assert!(
            t.elapsed() < Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );
        drop(held);
    })
    .await
    .unwrap();
    // Once the silent ones are gone, the server still answers.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(health(srv.url()).await);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_stream_is_counted_not_warned() {
    use std::sync::atomic::Ordering;
    let srv = common::start().await;
    let before = smefin::server::listen::COUNTERS
        .abandoned_streams
        .load(Ordering::Relaxed);
    // A client mid-stream whose process goes away: its runtime (and the
    // connection with it) is dropped after the first answer, the request
    // stream never ended.
    let url = srv.url();
    tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut m = MatchingServiceClient::connect(url).await.unwrap();
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let mut out = m
                .batch_match(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .unwrap()
                .into_inner();
            tx.send(pb::BatchMatchRequest {
                reference: "a".into(),
                profile: Some(pb::EnterpriseProfile::default()),
                as_of: "2025-06-01".into(),
                view: 0,
            })
            .await
            .unwrap();
            out.message().await.unwrap().unwrap();
            std::mem::forget(tx);
        });
        drop(rt);
    })
    .await
    .unwrap();
    let t = Instant::now();
    while smefin::server::listen::COUNTERS
        .abandoned_streams
        .load(Ordering::Relaxed)
        == before
    {
        assert!(t.elapsed() < Duration::from_secs(10), "not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn basic_view_has_statuses_and_codes_without_sentences() {
    let srv = common::start().await;
    let mut m = MatchingServiceClient::connect(srv.url()).await.unwrap();
    let profile: pb::EnterpriseProfile = pb::EnterpriseProfile {
        industry_code: Some("C3562".into()),
        employees: Some(24),
        annual_revenue: Some("1800万".into()),
        new_eligible_hires: Some(3),
        ..Default::default()
    };
    let ask = |view: pb::MatchView| pb::MatchEnterpriseRequest {
        profile: Some(profile.clone()),
        as_of: "2025-06-01".into(),
        product_ids: vec![],
        view: view as i32,
    };
    let full = m
        .match_enterprise(ask(pb::MatchView::Full))
        .await
        .unwrap()
        .into_inner();
    let unspecified = m
        .match_enterprise(ask(pb::MatchView::Unspecified))
        .await
        .unwrap()
        .into_inner();
    let basic = m
        .match_enterprise(ask(pb::MatchView::Basic))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(full, unspecified);
    let (f, b) = (full.result.unwrap(), basic.result.unwrap());
    type Shape = Vec<(String, i32, Vec<(String, i32)>)>;
    let shape = |r: &pb::MatchResult| -> Shape {
        [&r.eligible, &r.needs_info, &r.ineligible]
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p.product_id.clone(),
                    p.status,
                    p.criteria
                        .iter()
                        .map(|c| (c.code.clone(), c.outcome))
                        .collect(),
                )
            })
            .collect()
    };
    assert_eq!(shape(&f), shape(&b));
    assert_eq!(
        f.eligible
            .iter()
            .map(|p| p.offer.clone())
            .collect::<Vec<_>>(),
        b.eligible
            .iter()
            .map(|p| p.offer.clone())
            .collect::<Vec<_>>()
    );
    let all = |r: &pb::MatchResult| {
        [&r.eligible, &r.needs_info, &r.ineligible]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        all(&b)
            .iter()
            .all(|p| p.suggestions.is_empty() && p.criteria.iter().all(|c| c.message.is_empty()))
    );
    assert!(all(&f).iter().any(|p| !p.suggestions.is_empty()));
    use prost::Message;
    let (fb, bb) = (f.encoded_len(), b.encoded_len());
    assert!(bb * 3 < fb, "basic {bb} bytes, full {fb}");
    let s = m
        .match_enterprise(pb::MatchEnterpriseRequest {
            view: 9,
            ..ask(pb::MatchView::Basic)
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&s), ["view"]);
    srv.shutdown().await;
}

#[test]
fn sigterm_stops_the_server_while_the_largest_simulation_runs() {
    use std::io::BufRead;
    use std::process::Stdio;
    let d = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("SMEFIN__SERVER__SHUTDOWN_GRACE_SECONDS", "1")
        .stderr(Stdio::piped())
        .current_dir(d.path())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "server ended early");
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let url = format!("http://{addr}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The largest run the default limits admit: 20M scenarios.
        let mut c = RiskPoolServiceClient::connect(url.clone()).await.unwrap();
        let mut st = c
            .simulate_pool(pb::SimulatePoolRequest {
                spec: Some(pb::PoolSpec {
                    document: Some(pb::pool_spec::Document::Toml(
                        smefin::riskpool::spec::DEFAULT_SPEC_TOML.into(),
                    )),
                    scenarios: 20_000_000,
                    seed: None,
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        // It is running (progress arrives) and health still answers.
        st.message().await.unwrap().unwrap();
        assert!(health(url).await);
        let t = Instant::now();
        let pid = child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "{status:?}");
        // The grace period (1 s), then the run is cancelled: no wait for a
        // run of several seconds to end.
        assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
        // The client is told (after the progress already sent), not left
        // hanging, and gets no result.
        while let Ok(Some(ev)) = st.message().await {
            assert!(matches!(
                ev.event,
                Some(pb::simulate_pool_response::Event::Progress(_))
            ));
        }
    });
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(
        rest.contains("cancelled the simulations still running"),
        "{rest}"
    );
}

#[tokio::test]
async fn list_banks_pages_in_the_store_and_a_bank_sees_itself() {
    let (srv, _d) = server().await;
    let mut c = client(srv.url()).await;
    register_three(&mut c).await;
    let page = |token: &str, size: u32, who: &'static str| {
        req(
            pb::ListBanksRequest {
                page_size: size,
                page_token: token.into(),
            },
            Some(who),
        )
    };
    let first = c
        .list_banks(page("", 2, "tok-bureau"))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = first.banks.iter().map(|b| b.bank_id.as_str()).collect();
    assert_eq!(ids, ["ICBC", "JXB"]);
    assert_eq!(first.next_page_token, "o2");
    let second = c
        .list_banks(page(&first.next_page_token, 2, "tok-bureau"))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = second.banks.iter().map(|b| b.bank_id.as_str()).collect();
    assert_eq!(ids, ["NCRCB"]);
    assert_eq!(second.next_page_token, "");
    let own = c
        .list_banks(page("", 0, "tok-nc"))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = own.banks.iter().map(|b| b.bank_id.as_str()).collect();
    assert_eq!(ids, ["NCRCB"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn an_absurd_grpc_timeout_neither_panics_nor_kills_the_run() {
    let srv = common::start().await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    for timeout in ["18446744073709551615H", "99999999H", "x", "5"] {
        let mut r = tonic::Request::new(pb::SimulatePoolRequest {
            spec: Some(toml_spec(
                "scenarios = 2000\n[[portfolio.segments]]\ncount = 200\ntotal = \"6000万\"\npd = 0.02\n",
            )),
            ..Default::default()
        });
        r.metadata_mut()
            .insert("grpc-timeout", timeout.parse().unwrap());
        match c.simulate_pool(r).await {
            Ok(resp) => {
                let mut st = resp.into_inner();
                let mut done = false;
                while let Some(ev) = st.message().await.unwrap() {
                    done |= matches!(ev.event, Some(pb::simulate_pool_response::Event::Result(_)));
                }
                assert!(done, "{timeout}");
            }
            // tonic itself may refuse a malformed header; never INTERNAL.
            Err(s) => assert_ne!(s.code(), Code::Internal, "{timeout}: {s:?}"),
        }
    }
    assert!(health(srv.url()).await);
    srv.shutdown().await;
}
