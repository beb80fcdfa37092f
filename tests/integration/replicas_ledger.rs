//! The ledger on two replicas of one PostgreSQL, one of them killed with
//! SIGKILL while eight clients enrol: no enrolment past the scale, every
//! acknowledged enrolment kept, none twice (the clients retry through the
//! survivor with the same request id); then eight clients over two replicas
//! racing to pay the same claims: each paid once, the cash right.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use smefin::server::pb;
use smefin::server::pb::ledger_service_client::LedgerServiceClient;

use crate::common::pg::PgCluster;
use crate::grpc_ledger::enrol;
use crate::replicas::Replica;

async fn client(url: &str) -> LedgerServiceClient<tonic::transport::Channel> {
    LedgerServiceClient::connect(url.to_string()).await.unwrap()
}

async fn state(url: &str) -> pb::LedgerFigures {
    let s = client(url)
        .await
        .get_pool_state(pb::GetPoolStateRequest {
            pool_id: "GXT".into(),
            as_of: "2023-12-31".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    s.pool.unwrap().figures.unwrap()
}

#[test]
fn two_replicas_one_killed_keep_the_scale_and_pay_once() {
    let Some(pg) = PgCluster::start() else { return };
    let db = pg.database("smefin");
    let a = Replica::start(&db);
    let mut b = Replica::start(&db);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let failovers = Arc::new(Mutex::new(0));
    rt.block_on(async {
        let mut c = client(&a.url).await;
        c.create_pool(pb::CreatePoolRequest {
            pool_id: "GXT".into(),
            programme_id: "gongxintong".into(),
        })
        .await
        .unwrap();
        c.record_cash(pb::RecordCashRequest {
            request_id: "cap".into(),
            pool_id: "GXT".into(),
            kind: pb::CashKind::Capital as i32,
            amount: "3000万".into(),
            date: "2023-01-03".into(),
        })
        .await
        .unwrap();
        // 8 clients, 520 loans of 300万 between them: 200 fit the 6亿
        let mut tasks = Vec::new();
        for w in 0..8usize {
            let first = if w % 2 == 0 { &a.url } else { &b.url }.clone();
            let survivor = a.url.clone();
            let (acked, failovers) = (acked.clone(), failovers.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = client(&first).await;
                for i in (w..520).step_by(8) {
                    let r = match c.enroll_loan(enrol(i, 300)).await {
                        // (the replica is gone, however the transport says so)
                        Err(e) if e.code() != tonic::Code::FailedPrecondition => {
                            *failovers.lock().unwrap() += 1;
                            c = client(&survivor).await;
                            c.enroll_loan(enrol(i, 300)).await
                        }
                        r => r,
                    };
                    match r {
                        Ok(_) => acked.lock().unwrap().push(i),
                        Err(e) => {
                            assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{}", e.message())
                        }
                    }
                }
            }));
        }
        while acked.lock().unwrap().len() < 50 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        b.kill();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert!(*failovers.lock().unwrap() > 0, "the kill came too late");
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), 200, "exactly the scale's worth acknowledged");
    let f = rt.block_on(state(&a.url));
    assert_eq!(
        (f.enrolled_loans, f.enrolled.as_str()),
        (200, "600000000.00")
    );
    // the claims: ten of the loans at 90 days, claimed and approved; then
    // eight clients over two replicas each try to pay every one
    let b2 = Replica::start(&db);
    let late: Vec<usize> = acked
        .iter()
        .copied()
        .filter(|i| i % 2 == 0)
        .take(10)
        .collect();
    rt.block_on(async {
        let mut c = client(&a.url).await;
        let lines: Vec<pb::LoanStatusLine> = late
            .iter()
            .map(|i| pb::LoanStatusLine {
                loan_id: format!("L{i}"),
                outstanding: "280万".into(),
                days_past_due: 90,
                ..Default::default()
            })
            .collect();
        c.report_loan_status(tokio_stream::iter([pb::ReportLoanStatusRequest {
            request_id: "jxb-06".into(),
            pool_id: "GXT".into(),
            as_of: "2023-06-30".into(),
            bank_id: "JXB".into(),
            lines,
        }]))
        .await
        .unwrap();
        for i in &late {
            c.file_claim(pb::FileClaimRequest {
                bank_id: String::new(),
                request_id: format!("claim-{i}"),
                pool_id: "GXT".into(),
                claim_id: format!("C{i}"),
                loan_id: format!("L{i}"),
                date: "2023-07-01".into(),
            })
            .await
            .unwrap();
            c.review_claim(pb::ReviewClaimRequest {
                bank_id: String::new(),
                request_id: format!("review-{i}"),
                pool_id: "GXT".into(),
                claim_id: format!("C{i}"),
                deny: 0,
                date: "2023-07-02".into(),
            })
            .await
            .unwrap();
        }
        let mut tasks = Vec::new();
        for w in 0..8 {
            let url = if w % 2 == 0 { &a.url } else { &b2.url }.clone();
            let late = late.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = client(&url).await;
                let mut paid = 0;
                for i in late {
                    let r = c
                        .pay_claim(pb::PayClaimRequest {
                            bank_id: String::new(),
                            request_id: format!("pay-{i}-by-{w}"),
                            pool_id: "GXT".into(),
                            claim_id: format!("C{i}"),
                            date: "2023-07-03".into(),
                        })
                        .await;
                    paid += u32::from(r.is_ok());
                }
                paid
            }));
        }
        let mut paid = 0;
        for t in tasks {
            paid += t.await.unwrap();
        }
        assert_eq!(paid, 10, "each claim paid by exactly one of the 8 clients");
    });
    let s = rt.block_on(async {
        client(&b2.url)
            .await
            .get_pool_state(pb::GetPoolStateRequest {
                pool_id: "GXT".into(),
                as_of: "2023-12-31".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    });
    let pool = s.pool.unwrap();
    // 3000万 − 10 × 140万
    assert_eq!(pool.cash, "16000000.00");
    assert_eq!(pool.figures.unwrap().claims_paid_loans, 10);
}
