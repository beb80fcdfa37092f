//! Incentive accounting speed (`cargo bench --bench incentive`):
//! classifying and aggregating 1,000,000 loan records, and durable ingestion
//! of loan records through the real server (SubmitLoanSnapshot), stored in
//! SQLite (WAL, synchronous=FULL) and in PostgreSQL (a throwaway cluster
//! with its defaults: fsync on, synchronous_commit on), in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smefin::incentive::{BorrowerType, LoanRecord, LoanUse, snapshot_balance};
use smefin::kernel::money::Yuan;
use smefin::server::pb;

#[path = "../tests/common/mod.rs"]
mod common;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn records(n: usize) -> Vec<LoanRecord> {
    let types = [
        BorrowerType::SmallMicroEnterprise,
        BorrowerType::IndividualBusiness,
        BorrowerType::SmallMicroOwner,
        BorrowerType::LargeMediumEnterprise,
    ];
    let purposes = [LoanUse::Business, LoanUse::Business, LoanUse::Consumption];
    (0..n)
        .map(|i| LoanRecord {
            loan_id: format!("L{i}"),
            borrower_id: format!("B{}", i / 3),
            borrower_type: types[i % 4],
            purpose: purposes[i % 3],
            credit_line: Yuan::wan((i % 1500) as i64 + 1),
            balance: Yuan(rust_decimal::Decimal::new(
                (i % 100_000) as i64 * 1000 + 17,
                2,
            )),
        })
        .collect()
}

fn pb_records(n: usize, offset: usize) -> Vec<pb::LoanRecord> {
    (offset..offset + n)
        .map(|i| pb::LoanRecord {
            loan_id: format!("L{i}"),
            borrower_id: format!("B{}", i / 3),
            borrower_type: (i % 4 + 1) as i32,
            purpose: (i % 3 / 2 + 1) as i32,
            credit_line: format!("{}万", i % 1500 + 1),
            balance: format!("{}.17", (i % 100_000) * 10),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let loans = records(1_000_000);
    let mut g = c.benchmark_group("incentive");
    g.sample_size(10);
    g.throughput(Throughput::Elements(loans.len() as u64));
    g.bench_function("classify_aggregate_1m_loans", |b| {
        b.iter(|| black_box(snapshot_balance(&loans, Yuan::wan(1000)).balance))
    });
    g.finish();

    // Durable ingestion through the server: SQLite, then (when installed)
    // a PostgreSQL cluster started here, in the same run.
    ingest(c, "durable_snapshot_ingest_200k_records", None);
    if let Some(pg) = common::pg::PgCluster::start() {
        let url = pg.database("smefin_bench");
        ingest(
            c,
            "durable_snapshot_ingest_200k_records_postgres",
            Some(url),
        );
    }
}

/// SubmitLoanSnapshot of 200,000 records in messages of 2,000 through a real
/// server on the store at `store_url` (None: SQLite, synchronous=FULL).
fn ingest(c: &mut Criterion, name: &str, store_url: Option<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = smefin::config::Config::default();
    cfg.server.max_message_bytes = 64 * 1024 * 1024;
    cfg.store.url = store_url;
    let server = rt.block_on(common::start_with(cfg));
    let url = server.url();
    let per_run = 200_000usize;
    let batch = 2_000usize;
    let mut run_no = 0u64;
    let mut g = c.benchmark_group("incentive_server");
    g.sample_size(10);
    g.throughput(Throughput::Elements(per_run as u64));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut c =
                    pb::incentive_service_client::IncentiveServiceClient::connect(url.clone())
                        .await
                        .unwrap()
                        .max_decoding_message_size(64 * 1024 * 1024)
                        .max_encoding_message_size(64 * 1024 * 1024);
                c.register_bank(pb::RegisterBankRequest {
                    bank_id: "JXB".into(),
                    name: "江西银行".into(),
                    institution_type: 6,
                })
                .await
                .unwrap();
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    run_no += 1;
                    let msgs: Vec<pb::SubmitLoanSnapshotRequest> = (0..per_run / batch)
                        .map(|k| pb::SubmitLoanSnapshotRequest {
                            request_id: if k == 0 {
                                format!("bench-{run_no}")
                            } else {
                                String::new()
                            },
                            bank_id: if k == 0 { "JXB".into() } else { String::new() },
                            period: if k == 0 {
                                "2023Q2".into()
                            } else {
                                String::new()
                            },
                            loans: pb_records(batch, k * batch),
                        })
                        .collect();
                    let t0 = Instant::now();
                    let r = c
                        .submit_loan_snapshot(tokio_stream::iter(msgs))
                        .await
                        .unwrap()
                        .into_inner();
                    total += t0.elapsed();
                    assert_eq!(r.loans_received, per_run as u64);
                }
                total
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
