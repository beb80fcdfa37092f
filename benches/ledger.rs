//! Ledger speed (`cargo bench --bench ledger`), over gRPC to a server in
//! this process, on SQLite (synchronous = full, the default) and on
//! PostgreSQL (a throwaway cluster) in the same run:
//!
//! - enrolment: 2,000 loans by eight clients calling EnrollLoan, then the
//!   rest of `SMEFIN_BENCH_LOANS` (default 100,000) in one EnrollLoans
//!   stream; every loan's borrower re-checked with the matchmaker;
//! - monthly status files: each bank's file of all its loans
//!   (`SMEFIN_BENCH_MONTHS` months, default 3);
//! - `GetPoolState` as of today (criterion): from the running fold;
//! - `GetPoolState` as of an earlier month end (folded from the log); the
//!   shutdown, which stores the pool's fold; the first call of a server
//!   started on the stored pool, reading the stored fold, and again with
//!   no stored fold (it folds the whole log).
//!
//! - the projection of a live book of 100,000 loans, 12 months, 100,000
//!   scenarios (`SMEFIN_BENCH_PARTS=project` runs it alone).
//!
//! The peak resident memory of the process is printed at the end.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use smefin::catalog::Catalog;
use smefin::config::Config;
use smefin::server::pb;
use smefin::server::pb::ledger_service_client::LedgerServiceClient;
use tokio::runtime::Runtime;
use tonic::transport::Channel;

#[path = "../tests/common/mod.rs"]
mod common;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BANKS: [&str; 2] = ["JXB", "NCRCB"];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A valid credit code for firm `i`.
fn code(i: usize) -> String {
    let first = format!("91360100MA{i:07}");
    let c = smefin::enterprise::credit_code::check_character(first.as_bytes()).unwrap();
    format!("{first}{c}")
}

fn borrower(i: usize) -> pb::EnterpriseProfile {
    pb::EnterpriseProfile {
        name: format!("南昌某{i}号科技有限公司"),
        credit_code: Some(code(i)),
        region_code: Some("360102".into()),
        industry_code: Some("C3562".into()),
        employees: Some(24),
        annual_revenue: Some("1800万".into()),
        total_assets: Some("2600万".into()),
        established: Some("2016-03-18".into()),
        certifications: vec![
            pb::Certification::ZjtxProvincial as i32,
            pb::Certification::TechSme as i32,
        ],
        certification_dates: vec![pb::CertificationDate {
            certification: pb::Certification::ZjtxProvincial as i32,
            designated: "2022-06-30".into(),
        }],
        in_industrial_park: Some(true),
        tax_credit_grade: Some(pb::TaxCreditGrade::A as i32),
        has_bank_loans: Some(true),
        wage_or_social_insurance_arrears: Some(false),
        ..Default::default()
    }
}

/// Loans of `amount` yuan (the 6亿 scale over the loans).
fn enrol(i: usize, amount: u64) -> pb::EnrollLoanRequest {
    pb::EnrollLoanRequest {
        request_id: format!("enrol-{i}"),
        pool_id: "BENCH".into(),
        loan_id: format!("L{i}"),
        bank_id: BANKS[i % 2].into(),
        borrower: Some(borrower(i)),
        amount: amount.to_string(),
        annual_rate: "3.45%".into(),
        term_months: 12,
        disbursed: "2023-01-10".into(),
        date: "2023-01-16".into(),
    }
}

fn month_end(m: u32) -> String {
    let next = chrono::NaiveDate::from_ymd_opt(2023 + (m / 12) as i32, m % 12 + 1, 1).unwrap();
    next.pred_opt().unwrap().to_string()
}

async fn start(config: &Config, data: &Path) -> common::TestServer {
    let mut config = config.clone();
    config.store.data_dir = data.to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        smefin::server::serve(listener, &config, Arc::new(Catalog::builtin()), async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    common::TestServer {
        addr,
        stop: Some(tx),
        task,
        data: tempfile::tempdir().unwrap(),
    }
}

async fn state(c: &mut LedgerServiceClient<Channel>, as_of: &str) -> pb::GetPoolStateResponse {
    c.get_pool_state(pb::GetPoolStateRequest {
        pool_id: "BENCH".into(),
        as_of: as_of.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

/// Builds the pool; answers the client and the last month end.
async fn build(name: &str, url: &str, loans: usize, months: u32) -> String {
    let mut c = LedgerServiceClient::connect(url.to_string()).await.unwrap();
    c.create_pool(pb::CreatePoolRequest {
        pool_id: "BENCH".into(),
        programme_id: "gongxintong".into(),
    })
    .await
    .unwrap();
    c.record_cash(pb::RecordCashRequest {
        request_id: "cap".into(),
        pool_id: "BENCH".into(),
        kind: pb::CashKind::Capital as i32,
        amount: "3000万".into(),
        date: "2023-01-03".into(),
    })
    .await
    .unwrap();
    let amount = 600_000_000 / loans as u64;
    // one call per loan, eight clients
    let single = 2_000.min(loans);
    let t = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|k| {
            let mut c = c.clone();
            tokio::spawn(async move {
                for i in (k..single).step_by(8) {
                    c.enroll_loan(enrol(i, amount)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "{name}: EnrollLoan: {single} loans in {s:.2} s ({:.0}/s, 8 clients)",
        single as f64 / s
    );
    // the rest in one stream
    let t = Instant::now();
    let stream = tokio_stream::iter((single..loans).map(move |i| {
        let mut m = enrol(i, amount);
        if i > single {
            m.request_id.clear();
        }
        pb::EnrollLoansRequest { loan: Some(m) }
    }));
    let r = c.enroll_loans(stream).await.unwrap().into_inner();
    assert_eq!(r.refused_count, 0, "{:?}", r.refused.first());
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "{name}: EnrollLoans: {} loans in {s:.2} s ({:.0}/s, one stream)",
        loans - single,
        (loans - single) as f64 / s
    );
    let mut end = String::new();
    for m in 1..=months {
        end = month_end(m);
        let t = Instant::now();
        for (b, bank) in BANKS.iter().enumerate() {
            let lines: Vec<pb::LoanStatusLine> = (b..loans)
                .step_by(2)
                .map(|i| pb::LoanStatusLine {
                    loan_id: format!("L{i}"),
                    outstanding: format!("{}", amount * u64::from(24 - m) / 24),
                    days_past_due: if i % 50 == 0 { 30 * m } else { 0 },
                    ..Default::default()
                })
                .collect();
            let mut msgs: Vec<pb::ReportLoanStatusRequest> = lines
                .chunks(5000)
                .map(|c| pb::ReportLoanStatusRequest {
                    lines: c.to_vec(),
                    ..Default::default()
                })
                .collect();
            msgs[0].request_id = format!("{bank}-{end}");
            msgs[0].pool_id = "BENCH".into();
            msgs[0].as_of = end.clone();
            msgs[0].bank_id = bank.to_string();
            let r = c
                .report_loan_status(tokio_stream::iter(msgs))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(r.problem_count, 0);
        }
        eprintln!(
            "{name}: month {m}: status files of {loans} loans in {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
    end
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, config: &Config) {
    let (loans, months) = (
        env("SMEFIN_BENCH_LOANS", 100_000),
        env("SMEFIN_BENCH_MONTHS", 3) as u32,
    );
    let data = tempfile::tempdir().unwrap();
    let srv = rt.block_on(start(config, data.path()));
    let end = rt.block_on(build(name, &srv.url(), loans, months));
    let mut client = rt
        .block_on(LedgerServiceClient::connect(srv.url()))
        .unwrap();
    let s = rt.block_on(state(&mut client, &end));
    assert_eq!(
        s.pool.unwrap().figures.unwrap().enrolled_loans,
        loans as u64
    );
    c.bench_function(&format!("get_pool_state_today/{name}"), |b| {
        b.iter(|| rt.block_on(state(&mut client, &end)))
    });
    let t = Instant::now();
    rt.block_on(state(&mut client, &month_end(1)));
    eprintln!(
        "{name}: state as of an earlier month end (folded from the log): {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    rt.block_on(srv.shutdown());
    eprintln!(
        "{name}: shutdown, storing the pool's fold: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    for (what, forget) in [
        ("reads the stored fold", false),
        ("no stored fold: folds the whole log", true),
    ] {
        if forget {
            forget_folds(config, data.path());
        }
        let again = rt.block_on(start(config, data.path()));
        let mut c2 = rt
            .block_on(LedgerServiceClient::connect(again.url()))
            .unwrap();
        let t = Instant::now();
        rt.block_on(state(&mut c2, &end));
        eprintln!(
            "{name}: first state after a restart ({what}): {:.3} s",
            t.elapsed().as_secs_f64()
        );
        rt.block_on(again.shutdown());
    }
}

/// Drops every stored fold (a server then folds the log).
fn forget_folds(config: &Config, data: &Path) {
    match &config.store.url {
        Some(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
            c.batch_execute("DELETE FROM ledger_folds").unwrap();
        }
        None => {
            let c = rusqlite::Connection::open(data.join("smefin.sqlite3")).unwrap();
            c.execute_batch("DELETE FROM ledger_folds").unwrap();
        }
    }
}

/// A book of `n` loans sharing the 6亿 scale in memory: 3% of them 15
/// days behind, 1% 45 days, 0.5% 75 days; 3000万 of cash.
fn live_book(n: usize) -> smefin::ledger::state::Book {
    use smefin::kernel::money::Yuan;
    use smefin::ledger::event::{Event, EventKind, Loan};
    let p = Arc::new(
        smefin::ledger::rules::builtin()
            .into_iter()
            .find(|p| p.id == "gongxintong")
            .unwrap(),
    );
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let mut b = smefin::ledger::state::Book::new(p);
    let mut seq = 0;
    let mut apply = |effective: &str, kind: EventKind| {
        seq += 1;
        b.apply(&Event {
            seq,
            effective: day(effective),
            recorded_at: String::new(),
            recorded_by: String::new(),
            request_id: String::new(),
            kind,
        });
    };
    apply(
        "2023-01-02",
        EventKind::CapitalInjected {
            amount: Yuan::wan(3000),
        },
    );
    for i in 0..n {
        apply(
            "2023-01-16",
            EventKind::LoanEnrolled(Loan {
                loan_id: format!("L{i}"),
                bank_id: BANKS[i % 2].into(),
                credit_code: format!("F{i}"),
                firm: format!("企业{i}"),
                amount: Yuan(rust_decimal::Decimal::from(600_000_000 / n as i64)),
                annual_rate: rust_decimal::Decimal::new(345, 4),
                term_months: 24,
                disbursed: day("2023-01-10"),
                version_from: day("2022-04-27"),
            }),
        );
        let dpd = match i % 1000 {
            0..30 => 15,
            30..40 => 45,
            40..45 => 75,
            _ => 0,
        };
        apply(
            "2023-06-30",
            EventKind::LoanStatus {
                bank_id: BANKS[i % 2].into(),
                loan_id: format!("L{i}"),
                outstanding: Yuan(rust_decimal::Decimal::from(500_000_000 / n as i64)),
                days_past_due: dpd,
            },
        );
    }
    b
}

/// The projection of a live book of 100,000 loans, 12 months.
fn bench_project(c: &mut Criterion) {
    use smefin::ledger::project::{Options, project};
    let book = live_book(100_000);
    let m = smefin::ledger::rolls::Prior::default().rates;
    let on = "2023-06-30".parse().unwrap();
    let t = Instant::now();
    let o = Options {
        scenarios: 100_000,
        ..Options::default()
    };
    let r = project(&book, on, &m, &o);
    eprintln!(
        "project: 100,000 loans, 12 months, 100,000 scenarios in {:.2} s (P(exhausted in 12 months) {})",
        t.elapsed().as_secs_f64(),
        r.exhausted_by[11]
    );
    let o = Options {
        scenarios: 10_000,
        ..Options::default()
    };
    c.bench_function("project_100k_loans_12_months_10k_scenarios", |b| {
        b.iter(|| project(&book, on, &m, &o))
    });
}

fn bench(c: &mut Criterion) {
    bench_project(c);
    if std::env::var("SMEFIN_BENCH_PARTS").is_ok_and(|p| p == "project") {
        return;
    }
    let rt = Runtime::new().unwrap();
    bench_backend(c, &rt, "sqlite", &Config::default());
    if let Some(pg) = common::pg::PgCluster::start() {
        let mut config = Config::default();
        config.store.url = Some(pg.database("smefin_bench"));
        bench_backend(c, &rt, "postgres", &config);
        drop(pg);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(peak) = status.lines().find(|l| l.starts_with("VmHWM")) {
        eprintln!(
            "peak resident memory: {}",
            peak.trim_start_matches("VmHWM:").trim()
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
