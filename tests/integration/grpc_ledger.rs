//! LedgerService through a real server with tokens, as a bureau and two
//! banks run a pool: capital, enrolments up to the scale, monthly files,
//! claims at 89 and 90 days, a denial, payments, a recovery, the breaker
//! and its resumption, a top-up; every figure of the state against a count
//! made here from what was sent; what a bank may not do or see.

use smefin::server::pb;
use smefin::server::pb::ledger_service_client::LedgerServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::violation_fields as fields;
use crate::grpc_incentive::{req, server};
use crate::grpc_matching::profile;

const BUREAU: Option<&str> = Some("tok-bureau");
const ANALYST: Option<&str> = Some("tok-analyst");
const JXB: Option<&str> = Some("tok-jxb");
const NCRCB: Option<&str> = Some("tok-nc");

/// A valid credit code for firm `i`.
fn code(i: usize) -> String {
    let first = format!("91360100MA{i:07}");
    let c = smefin::enterprise::credit_code::check_character(first.as_bytes()).unwrap();
    format!("{first}{c}")
}

fn bank_of(i: usize) -> (&'static str, Option<&'static str>) {
    if i.is_multiple_of(2) {
        ("JXB", JXB)
    } else {
        ("NCRCB", NCRCB)
    }
}

pub(crate) fn enrol(i: usize, wan: u32) -> pb::EnrollLoanRequest {
    let mut borrower = profile();
    borrower.credit_code = Some(code(i));
    borrower.name = format!("南昌某{i}号科技有限公司");
    pb::EnrollLoanRequest {
        request_id: format!("enrol-{i}"),
        pool_id: "GXT".into(),
        loan_id: format!("L{i}"),
        bank_id: bank_of(i).0.into(),
        borrower: Some(borrower),
        amount: format!("{wan}万"),
        annual_rate: "3.45%".into(),
        term_months: 12,
        disbursed: "2023-01-10".into(),
        date: "2023-01-16".into(),
    }
}

fn reason(e: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    e.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

async fn state(
    c: &mut LedgerServiceClient<Channel>,
    who: Option<&str>,
    as_of: &str,
) -> pb::GetPoolStateResponse {
    c.get_pool_state(req(
        pb::GetPoolStateRequest {
            pool_id: "GXT".into(),
            as_of: as_of.into(),
            ..Default::default()
        },
        who,
    ))
    .await
    .unwrap()
    .into_inner()
}

/// A month-end file of bank `bank`: every one of its loans at 28万 (of 300万), those
/// in `late` at `dpd` days.
fn file(
    bank: &str,
    n: usize,
    month: &str,
    late: &[usize],
    dpd: u32,
) -> Vec<pb::ReportLoanStatusRequest> {
    let lines: Vec<pb::LoanStatusLine> = (0..n)
        .filter(|i| bank_of(*i).0 == bank)
        .map(|i| pb::LoanStatusLine {
            loan_id: format!("L{i}"),
            outstanding: "28万".into(),
            days_past_due: if late.contains(&i) { dpd } else { 0 },
            ..Default::default()
        })
        .collect();
    let mut msgs: Vec<pb::ReportLoanStatusRequest> = lines
        .chunks(100)
        .map(|c| pb::ReportLoanStatusRequest {
            lines: c.to_vec(),
            ..Default::default()
        })
        .collect();
    msgs[0].request_id = format!("{bank}-{month}");
    msgs[0].pool_id = "GXT".into();
    msgs[0].as_of = month.into();
    msgs[0].bank_id = bank.into();
    msgs
}

/// A client of `srv`, and pool GXT (工信通) with 3000万 of capital from
/// 2023-01-03.
async fn pool_with_capital(srv: &crate::common::TestServer) -> LedgerServiceClient<Channel> {
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
    c
}

#[tokio::test]
async fn a_year_of_a_pool_as_a_bureau_and_two_banks_run_it() {
    let (srv, _dir) = server().await;
    let mut c = LedgerServiceClient::connect(srv.url()).await.unwrap();
    let e = c
        .create_pool(req(
            pb::CreatePoolRequest {
                pool_id: "GXT".into(),
                programme_id: "gongxintong".into(),
            },
            JXB,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    c.create_pool(req(
        pb::CreatePoolRequest {
            pool_id: "GXT".into(),
            programme_id: "gongxintong".into(),
        },
        BUREAU,
    ))
    .await
    .unwrap();
    let cash = |id: &str, kind: pb::CashKind, wan: u32, date: &str| pb::RecordCashRequest {
        request_id: id.into(),
        pool_id: "GXT".into(),
        kind: kind as i32,
        amount: format!("{wan}万"),
        date: date.into(),
    };
    c.record_cash(req(
        cash("cap", pb::CashKind::Capital, 3000, "2023-01-03"),
        BUREAU,
    ))
    .await
    .unwrap();
    // 200 loans of 300万: the 6亿 scale, to the fen
    const N: usize = 200;
    for i in 0..N {
        let (_, token) = bank_of(i);
        c.enroll_loan(req(enrol(i, 300), token)).await.unwrap();
    }
    // the 201st would cross the scale
    let e = c.enroll_loan(req(enrol(N, 300), JXB)).await.unwrap_err();
    assert_eq!(
        (e.code(), reason(&e).as_str()),
        (Code::FailedPrecondition, "SCALE_EXCEEDED"),
        "{}",
        e.message()
    );
    // a bank may not enrol for another; an ineligible borrower is refused with why
    let e = c.enroll_loan(req(enrol(N + 1, 10), JXB)).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "L{} is NCRCB's", N + 1);
    let mut big = enrol(N + 2, 10);
    big.borrower.as_mut().unwrap().employees = Some(5000);
    big.borrower.as_mut().unwrap().annual_revenue = Some("50亿".into());
    let e = c.enroll_loan(req(big, JXB)).await.unwrap_err();
    assert_eq!(reason(&e), "NOT_ELIGIBLE", "{}", e.message());
    // the same enrolment again answers what it recorded; a bank's reply
    // carries no sequence number (it would count the other banks' events;
    // the bureau's replies do: the payment below)
    let again = c
        .enroll_loan(req(enrol(0, 300), JXB))
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!((again.seq, again.effective.as_str()), (0, "2023-01-16"));
    assert!(again.json.contains("\"L0\""), "{}", again.json);

    // month ends: L0 and L1 fall behind; at 89 days no claim, at 90 one
    for (month, dpd) in [("2023-03-31", 30), ("2023-04-30", 60), ("2023-05-31", 89)] {
        for bank in ["JXB", "NCRCB"] {
            let token = if bank == "JXB" { JXB } else { NCRCB };
            let r = c
                .report_loan_status(req(
                    tokio_stream::iter(file(bank, N, month, &[0, 1], dpd)),
                    token,
                ))
                .await
                .unwrap()
                .into_inner();
            assert_eq!((r.recorded, r.problems.len(), r.missing.len()), (100, 0, 0));
        }
    }
    let claim = |id: &str, loan: &str, date: &str| pb::FileClaimRequest {
        bank_id: String::new(),
        request_id: id.into(),
        pool_id: "GXT".into(),
        claim_id: id.into(),
        loan_id: loan.into(),
        date: date.into(),
    };
    let e = c
        .file_claim(req(claim("C0", "L0", "2023-05-31"), JXB))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "CLAIM_NOT_DUE", "{}", e.message());
    // June: 90 days; NCRCB's file leaves a loan out and names one unknown
    let r = c
        .report_loan_status(req(
            tokio_stream::iter(file("JXB", N, "2023-06-30", &[0], 90)),
            JXB,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.recorded, 100);
    let mut nc = file("NCRCB", N, "2023-06-30", &[1], 90);
    nc[0].lines.remove(5);
    nc[0].lines.push(pb::LoanStatusLine {
        loan_id: "L0".into(),
        outstanding: "1万".into(),
        ..Default::default()
    });
    nc[0]
        .lines
        .iter_mut()
        .find(|l| l.loan_id == "L3")
        .unwrap()
        .outstanding = "301万".into();
    let r = c
        .report_loan_status(req(tokio_stream::iter(nc), NCRCB))
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<(&str, &str)> = r
        .problems
        .iter()
        .map(|p| (p.loan_id.as_str(), p.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [("L3", "BALANCE_ABOVE_ORIGINAL"), ("L0", "UNKNOWN_LOAN")]
    );
    assert_eq!(r.missing, ["L11"]);
    // NCRCB cannot claim JXB's loan (it is not found among its own)
    let e = c
        .file_claim(req(claim("C0", "L0", "2023-07-01"), NCRCB))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    c.file_claim(req(claim("C0", "L0", "2023-07-01"), JXB))
        .await
        .unwrap();
    c.file_claim(req(claim("C1", "L1", "2023-07-01"), NCRCB))
        .await
        .unwrap();
    claims_and_cash(&mut c).await;
    srv.shutdown().await;
}

/// Review, pay, recover, top up; the state as the bureau, a bank and an
/// analyst see it.
async fn claims_and_cash(c: &mut LedgerServiceClient<Channel>) {
    let review = |id: &str, deny: pb::ClaimDenial| pb::ReviewClaimRequest {
        bank_id: String::new(),
        request_id: format!("review-{id}"),
        pool_id: "GXT".into(),
        claim_id: id.into(),
        deny: deny as i32,
        date: "2023-07-10".into(),
    };
    let e = c
        .review_claim(req(review("C0", pb::ClaimDenial::Unspecified), JXB))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    c.review_claim(req(review("C0", pb::ClaimDenial::Unspecified), BUREAU))
        .await
        .unwrap();
    c.review_claim(req(review("C1", pb::ClaimDenial::NoRecoveryEffort), BUREAU))
        .await
        .unwrap();
    let pay = pb::PayClaimRequest {
        bank_id: String::new(),
        request_id: "pay-C0".into(),
        pool_id: "GXT".into(),
        claim_id: "C0".into(),
        date: "2023-07-15".into(),
    };
    let paid = c
        .pay_claim(req(pay.clone(), BUREAU))
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert!(paid.seq > 100, "{}", paid.seq);
    assert!(
        paid.json.contains("\"amount\":\"140000.00\""),
        "28万 × 0.5: {}",
        paid.json
    );
    // paid once however often asked
    let again = c
        .pay_claim(req(pay, BUREAU))
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert_eq!(again.seq, paid.seq);
    let e = c
        .pay_claim(req(
            pb::PayClaimRequest {
                bank_id: String::new(),
                request_id: "pay-C0b".into(),
                pool_id: "GXT".into(),
                claim_id: "C0".into(),
                date: "2023-07-16".into(),
            },
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "CLAIM_NOT_PAYABLE");
    c.report_recovery(req(
        pb::ReportRecoveryRequest {
            bank_id: String::new(),
            request_id: "rec-L0".into(),
            pool_id: "GXT".into(),
            loan_id: "L0".into(),
            amount: "7万".into(),
            date: "2023-09-01".into(),
        },
        JXB,
    ))
    .await
    .unwrap();
    c.record_cash(req(
        pb::RecordCashRequest {
            request_id: "top".into(),
            pool_id: "GXT".into(),
            kind: pb::CashKind::TopUp as i32,
            amount: "14万".into(),
            date: "2023-12-31".into(),
        },
        BUREAU,
    ))
    .await
    .unwrap();
    let s = state(c, BUREAU, "2023-12-31").await;
    let pool = s.pool.as_ref().unwrap();
    let figures = pool.figures.as_ref().unwrap();
    let rates = pool.rates.as_ref().unwrap();
    // 3000万 − 14万 + 3.5万 (half of the 7万 recovered) + 14万
    assert_eq!(pool.cash, "30035000.00");
    assert_eq!(figures.claims_paid, "140000.00");
    assert_eq!(figures.recovered, "35000.00");
    assert_eq!(figures.enrolled_loans, 200);
    assert_eq!(figures.enrolled, "600000000.00");
    // 198 loans current at 28万; L0 and L1 at 90 days (the 61–90 bucket)
    assert_eq!(
        figures.buckets,
        ["55440000.00", "0.00", "0.00", "560000.00", "0.00"]
    );
    assert_eq!(
        (rates.by_count.as_str(), rates.recovery.as_str()),
        ("0.005", "0.25")
    );
    // 不良率: 56万 (90 days: the claim trigger) of 5600万, 1%, under the
    // 3% warning; no breaker
    assert_eq!(figures.npl_rate, "0.01");
    assert_eq!(pool.breaker, pb::BreakerLevel::Normal as i32);
    assert_eq!(s.banks.len(), 2);
    assert!(s.enrolment_open);
    assert_eq!(s.version_from, "2022-04-27");
    // a bank sees its own figures alone
    let own = state(c, NCRCB, "2023-12-31").await;
    assert!(own.pool.is_none());
    assert_eq!(own.banks.len(), 1);
    assert_eq!(own.banks[0].bank_id, "NCRCB");
    assert_eq!(own.banks[0].figures.as_ref().unwrap().claims_paid, "0.00");
    // an analyst reads, never writes
    assert!(state(c, ANALYST, "2023-12-31").await.pool.is_some());
    let e = c
        .record_cash(req(
            pb::RecordCashRequest {
                request_id: "x".into(),
                pool_id: "GXT".into(),
                kind: pb::CashKind::Interest as i32,
                amount: "1".into(),
                date: "2024-01-01".into(),
            },
            ANALYST,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
}

/// The largest, smallest, NaN, empty and malformed values of the ledger's
/// fields: each refused INVALID_ARGUMENT naming its field, nothing recorded.
#[tokio::test]
async fn hostile_values_are_refused_by_field() {
    use crate::common::violation_fields as violations;
    let (srv, _dir) = server().await;
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
    for (pool, programme, field) in [
        ("", "gongxintong", "pool_id"),
        ("a b", "gongxintong", "pool_id"),
        (&*"P".repeat(65), "gongxintong", "pool_id"),
        ("GXT2", "", "programme_id"),
    ] {
        let e = c
            .create_pool(req(
                pb::CreatePoolRequest {
                    pool_id: pool.into(),
                    programme_id: programme.into(),
                },
                BUREAU,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), violations(&e)),
            (Code::InvalidArgument, vec![field.to_string()]),
            "{pool:?}"
        );
    }
    let cash = |amount: &str, date: &str, kind: pb::CashKind| pb::RecordCashRequest {
        request_id: "c".into(),
        pool_id: "GXT".into(),
        kind: kind as i32,
        amount: amount.into(),
        date: date.into(),
    };
    for (amount, date, kind, field) in [
        ("", "2023-01-01", pb::CashKind::Capital, "amount"),
        ("NaN", "2023-01-01", pb::CashKind::Capital, "amount"),
        ("-1", "2023-01-01", pb::CashKind::Capital, "amount"),
        ("0", "2023-01-01", pb::CashKind::Capital, "amount"),
        ("1e400", "2023-01-01", pb::CashKind::Capital, "amount"),
        (
            "99999999999999999999999999",
            "2023-01-01",
            pb::CashKind::Capital,
            "amount",
        ),
        ("1.001", "2023-01-01", pb::CashKind::Capital, "amount"),
        ("100", "2023-02-30", pb::CashKind::Capital, "date"),
        ("100", "2023-01-01", pb::CashKind::Unspecified, "kind"),
    ] {
        let e = c
            .record_cash(req(cash(amount, date, kind), BUREAU))
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), violations(&e)),
            (Code::InvalidArgument, vec![field.to_string()]),
            "{amount} {date}"
        );
    }
    let mut bad_kind = cash("100", "2023-01-01", pb::CashKind::Capital);
    bad_kind.kind = 99;
    let e = c.record_cash(req(bad_kind, BUREAU)).await.unwrap_err();
    assert_eq!(violations(&e), ["kind"]);
    let enrol_with = |f: &dyn Fn(&mut pb::EnrollLoanRequest)| {
        let mut r = enrol(0, 300);
        f(&mut r);
        r
    };
    let cases: Vec<(pb::EnrollLoanRequest, &str)> = vec![
        (enrol_with(&|r| r.amount = "0".into()), "amount"),
        (enrol_with(&|r| r.amount = "NaN".into()), "amount"),
        (enrol_with(&|r| r.annual_rate = "NaN".into()), "annual_rate"),
        (enrol_with(&|r| r.annual_rate = "2".into()), "annual_rate"),
        (enrol_with(&|r| r.term_months = 0), "term_months"),
        (enrol_with(&|r| r.term_months = u32::MAX), "term_months"),
        (enrol_with(&|r| r.disbursed = String::new()), "disbursed"),
        (enrol_with(&|r| r.loan_id = "\u{200B}".into()), "loan_id"),
        (enrol_with(&|r| r.loan_id = "L".repeat(129)), "loan_id"),
        (enrol_with(&|r| r.borrower = None), "borrower"),
        (
            enrol_with(&|r| r.borrower.as_mut().unwrap().credit_code = None),
            "borrower.credit_code",
        ),
        (enrol_with(&|r| r.bank_id = String::new()), "bank_id"),
    ];
    for (r, field) in cases {
        let e = c.enroll_loan(req(r, BUREAU)).await.unwrap_err();
        assert_eq!(
            (e.code(), violations(&e)),
            (Code::InvalidArgument, vec![field.to_string()]),
            "{field}"
        );
    }
    let e = c
        .file_claim(req(
            pb::FileClaimRequest {
                request_id: "f".into(),
                pool_id: "GXT".into(),
                ..Default::default()
            },
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), ["claim_id", "loan_id"]);
    let e = c
        .report_recovery(req(
            pb::ReportRecoveryRequest {
                bank_id: String::new(),
                request_id: "r".into(),
                pool_id: "GXT".into(),
                loan_id: "L0".into(),
                amount: "0".into(),
                date: String::new(),
            },
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), ["amount"]);
    let e = c
        .review_claim(req(
            pb::ReviewClaimRequest {
                request_id: "v".into(),
                pool_id: "GXT".into(),
                deny: 99,
                ..Default::default()
            },
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), ["claim_id", "deny"]);
    let e = c
        .resume_enrolment(req(
            pb::ResumeEnrolmentRequest {
                request_id: "z".into(),
                pool_id: "GXT".into(),
                bank_id: "J X".into(),
                date: String::new(),
            },
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), ["bank_id"]);
    let e = c
        .get_pool_state(req(
            pb::GetPoolStateRequest {
                pool_id: "GXT".into(),
                known_at: "yesterday".into(),
                ..Default::default()
            },
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(violations(&e), ["known_at"]);
    // a status stream with no first fields, and an empty stream
    let e = c
        .report_loan_status(req(
            tokio_stream::iter(vec![pb::ReportLoanStatusRequest::default()]),
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        violations(&e),
        ["request_id", "pool_id", "bank_id", "as_of"]
    );
    let e = c
        .report_loan_status(req(
            tokio_stream::iter(Vec::<pb::ReportLoanStatusRequest>::new()),
            BUREAU,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // nothing was recorded
    let s = state(&mut c, BUREAU, "2023-12-31").await;
    assert_eq!(s.pool.unwrap().cash, "0.00");
    srv.shutdown().await;
}

/// EnrollLoans: 12,005 enrolments of 5万 in one stream (two batches),
/// decided as if sent one by one: a bad amount, an ineligible borrower and
/// a loan sent twice refused by name, the scale (12,000 loans of 5万 = 6亿)
/// stopping the last two; the same stream again answers the same; a bank
/// may send only its own loans.
#[tokio::test]
async fn many_enrolments_in_one_stream() {
    let (srv, _dir) = server().await;
    let mut c = pool_with_capital(&srv).await;
    let msgs: Vec<pb::EnrollLoanRequest> = (0..12_005)
        .map(|i| {
            let mut m = enrol(i, 5);
            m.request_id = if i == 0 { "book".into() } else { String::new() };
            match i {
                3 => m.amount = "abc".into(),
                5 => {
                    let b = m.borrower.as_mut().unwrap();
                    (b.employees, b.annual_revenue) = (Some(5000), Some("50亿".into()));
                }
                // (NCRCB's own L1 again: ids are each bank's own)
                7 => m.loan_id = "L1".into(),
                // dated before the ones sent before it: decided on the log
                // folded as of its day, with the stream's earlier loans
                100 => m.date = "2023-01-15".into(),
                _ => {}
            }
            m
        })
        .collect();
    let send = |c: &mut LedgerServiceClient<Channel>, m: Vec<pb::EnrollLoanRequest>, who| {
        let mut c = c.clone();
        let m = m
            .into_iter()
            .map(|loan| pb::EnrollLoansRequest { loan: Some(loan) });
        async move { c.enroll_loans(req(tokio_stream::iter(m), who)).await }
    };
    let r = send(&mut c, msgs.clone(), BUREAU)
        .await
        .unwrap()
        .into_inner();
    let refused: Vec<(u64, &str)> = r
        .refused
        .iter()
        .map(|x| (x.index, x.code.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            (3, "INVALID"),
            (5, "NOT_ELIGIBLE"),
            (7, "ALREADY_ENROLLED"),
            (12_003, "SCALE_EXCEEDED"),
            (12_004, "SCALE_EXCEEDED")
        ]
    );
    assert_eq!((r.enrolled, r.refused_count), (12_000, 5));
    assert!(
        r.refused[0].message.contains("amount"),
        "{}",
        r.refused[0].message
    );
    let s = state(&mut c, BUREAU, "2023-01-31").await;
    let f = s.pool.unwrap().figures.unwrap();
    assert_eq!(
        (f.enrolled_loans, f.enrolled.as_str()),
        (12_000, "600000000.00")
    );
    // the same stream again: the same loans enrolled, nothing twice
    let again = send(&mut c, msgs, BUREAU).await.unwrap().into_inner();
    assert_eq!((again.enrolled, again.refused_count), (12_000, 5));
    let s = state(&mut c, BUREAU, "2023-01-31").await;
    assert_eq!(s.pool.unwrap().figures.unwrap().enrolled_loans, 12_000);
    // a bank sends its own loans only
    let e = send(&mut c, vec![enrol(20_000, 5), enrol(20_001, 5)], JXB)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());
    srv.shutdown().await;
}

/// Loan and claim ids are each bank's own: a bank enrolls and claims under
/// ids another bank uses, learning nothing of it; naming another bank's
/// loan answers as a loan that does not exist; the bureau names the bank
/// when two banks share an id.
#[tokio::test]
async fn ids_are_each_banks_own_and_tell_nothing_of_another_banks() {
    let (srv, _dir) = server().await;
    let mut c = pool_with_capital(&srv).await;
    // both banks lend under the id `2023-0001`; JXB alone under `JX-9`
    let loan = |i: usize, id: &str| pb::EnrollLoanRequest {
        loan_id: id.into(),
        ..enrol(i, 300)
    };
    c.enroll_loan(req(loan(0, "2023-0001"), JXB)).await.unwrap();
    c.enroll_loan(req(loan(2, "JX-9"), JXB)).await.unwrap();
    c.enroll_loan(req(loan(1, "2023-0001"), NCRCB))
        .await
        .unwrap();
    let mut again = loan(4, "2023-0001");
    again.request_id = "again".into();
    let e = c.enroll_loan(req(again, JXB)).await.unwrap_err();
    assert_eq!(reason(&e), "ALREADY_ENROLLED", "JXB's own id twice");
    for (bank, token) in [("JXB", JXB), ("NCRCB", NCRCB)] {
        let lines = vec![pb::LoanStatusLine {
            loan_id: "2023-0001".into(),
            outstanding: "200万".into(),
            days_past_due: 95,
            ..Default::default()
        }];
        let msg = pb::ReportLoanStatusRequest {
            request_id: format!("{bank}-may"),
            pool_id: "GXT".into(),
            as_of: "2023-05-31".into(),
            bank_id: bank.into(),
            lines,
        };
        let r = c
            .report_loan_status(req(tokio_stream::iter(vec![msg]), token))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((r.recorded, r.problems.len()), (1, 0), "{bank}");
    }
    let claim = |id: &str, loan: &str, bank: &str| pb::FileClaimRequest {
        request_id: format!("{id}-{loan}-{bank}"),
        pool_id: "GXT".into(),
        claim_id: id.into(),
        loan_id: loan.into(),
        date: "2023-06-01".into(),
        bank_id: bank.into(),
    };
    // each bank claims `C-1` on its own `2023-0001`
    c.file_claim(req(claim("C-1", "2023-0001", ""), JXB))
        .await
        .unwrap();
    c.file_claim(req(claim("C-1", "2023-0001", ""), NCRCB))
        .await
        .unwrap();
    // NCRCB naming JXB's loan, or JXB's id alone, is answered as an id
    // that exists nowhere
    let nowhere = c
        .file_claim(req(claim("C-2", "NOWHERE", ""), NCRCB))
        .await
        .unwrap_err();
    for (loan, bank) in [("2023-0001", "JXB"), ("JX-9", ""), ("JX-9", "JXB")] {
        let e = c
            .file_claim(req(claim("C-2", loan, bank), NCRCB))
            .await
            .unwrap_err();
        assert_eq!(e.code(), nowhere.code(), "{loan} {bank}");
        assert_eq!(
            e.message().replace(loan, "NOWHERE"),
            nowhere.message(),
            "{loan} {bank}"
        );
    }
    // the bureau names the bank of a shared claim id
    let review = |bank: &str| pb::ReviewClaimRequest {
        request_id: format!("ok-{bank}"),
        pool_id: "GXT".into(),
        claim_id: "C-1".into(),
        deny: 0,
        date: "2023-06-02".into(),
        bank_id: bank.into(),
    };
    let e = c.review_claim(req(review(""), BUREAU)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(fields(&e), ["bank_id"]);
    assert!(e.message().contains("JXB, NCRCB"), "{}", e.message());
    c.review_claim(req(review("NCRCB"), BUREAU)).await.unwrap();
    let paid = c
        .pay_claim(req(
            pb::PayClaimRequest {
                request_id: "pay".into(),
                pool_id: "GXT".into(),
                claim_id: "C-1".into(),
                date: "2023-06-03".into(),
                bank_id: "NCRCB".into(),
            },
            BUREAU,
        ))
        .await
        .unwrap()
        .into_inner()
        .event
        .unwrap();
    assert!(paid.json.contains("\"NCRCB\""), "{}", paid.json);
    // a recovery: NCRCB's on its own loan; JXB naming NCRCB's is not found
    let recovery = |bank: &str| pb::ReportRecoveryRequest {
        request_id: format!("rec-{bank}"),
        pool_id: "GXT".into(),
        loan_id: "2023-0001".into(),
        amount: "40万".into(),
        date: "2023-07-01".into(),
        bank_id: bank.into(),
    };
    let e = c
        .report_recovery(req(recovery("NCRCB"), JXB))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    c.report_recovery(req(recovery(""), NCRCB)).await.unwrap();
    let s = state(&mut c, BUREAU, "2023-12-31").await;
    let bank = |id: &str| {
        s.banks
            .iter()
            .find(|b| b.bank_id == id)
            .and_then(|b| b.figures.clone())
            .unwrap()
    };
    // NCRCB's claim 200万 × 0.5 paid, 40万 × 0.5 back; JXB's claim filed
    assert_eq!(
        (
            bank("NCRCB").claims_paid.as_str(),
            bank("NCRCB").recovered.as_str()
        ),
        ("1000000.00", "200000.00")
    );
    assert_eq!(bank("JXB").claims_paid, "0.00");
    assert_eq!(bank("JXB").outstanding, "5000000.00");
    srv.shutdown().await;
}

/// SimulatePool from a pool the ledger holds (`from_pool`): the same book
/// as `smefin simulate --from-pool` reads from the same store, figure for
/// figure; the exact mean loss is Σ amount × LGD × PD with the prior's
/// twelve-month default chance; options refused by name under
/// `from_pool`.
#[tokio::test]
async fn simulate_pool_runs_the_pool_the_ledger_holds() {
    use smefin::server::pb::risk_pool_service_client::RiskPoolServiceClient;
    let (srv, _dir) = server().await;
    let mut c = pool_with_capital(&srv).await;
    for i in 0..40 {
        c.enroll_loan(req(enrol(i, 300), BUREAU)).await.unwrap();
    }
    let mut rp = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let live = |rho: Option<f64>| pb::LivePool {
        pool_id: "GXT".into(),
        as_of: "2023-01-31".into(),
        rho,
        scenarios: 20_000,
        ..Default::default()
    };
    let ask = |from_pool: pb::LivePool, spec: Option<pb::PoolSpec>| {
        req(
            pb::SimulatePoolRequest {
                from_pool: Some(from_pool),
                spec,
                method: pb::SimulationMethod::Both as i32,
                ..Default::default()
            },
            ANALYST,
        )
    };
    let mut stream = rp
        .simulate_pool(ask(live(None), None))
        .await
        .unwrap()
        .into_inner();
    let mut result = None;
    while let Some(ev) = stream.message().await.unwrap() {
        if let pb::simulate_pool_response::Event::Result(r) = ev.event.unwrap() {
            result = Some(r);
        }
    }
    let r = result.unwrap();
    assert!(r.notes[0].contains("40 open loans"), "{:?}", r.notes);
    // the prior's chance a current loan defaults within 12 months
    let m = smefin::ledger::rolls::Prior::default().rates;
    let mut p = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    for _ in 0..12 {
        let mut q = [0.0, 0.0, 0.0, 0.0, p[4], p[5]];
        for i in 0..4 {
            for j in 0..6 {
                q[j] += p[i] * m[i][j];
            }
        }
        p = q;
    }
    let analytic = r.analytic.as_ref().unwrap();
    let mean: f64 = analytic
        .loss
        .as_ref()
        .unwrap()
        .mean
        .as_ref()
        .unwrap()
        .estimate
        .parse()
        .unwrap();
    let want = 40.0 * 3_000_000.0 * 0.8 * p[4];
    assert!(
        (mean - want).abs() < 0.01 + 1e-9 * want,
        "{mean} against {want}"
    );
    // the CLI reads the same book from the same store
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_smefin"))
        .args([
            "simulate",
            "--from-pool",
            "GXT",
            "--as-of",
            "2023-01-31",
            "--scenarios",
            "20000",
            "--json",
            "--data-dir",
        ])
        .arg(srv.data.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cli: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        cli["analytic"]["loss"]["mean"]["estimate"]
            .as_str()
            .unwrap(),
        analytic
            .loss
            .as_ref()
            .unwrap()
            .mean
            .as_ref()
            .unwrap()
            .estimate
    );
    assert_eq!(
        cli["exhaustion_probability"]["estimate"].as_f64(),
        r.exhaustion_probability.as_ref().map(|p| p.estimate)
    );
    // refused by name
    let e = rp
        .simulate_pool(ask(live(Some(1.5)), None))
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), fields(&e)),
        (Code::InvalidArgument, vec!["from_pool.rho".to_string()])
    );
    let e = rp
        .simulate_pool(ask(live(None), Some(pb::PoolSpec::default())))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), ["from_pool"]);
    let mut nowhere = live(None);
    nowhere.pool_id = "NOWHERE".into();
    let e = rp.simulate_pool(ask(nowhere, None)).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    let mut early = live(None);
    early.as_of = "2023-01-05".into();
    let e = rp.simulate_pool(ask(early, None)).await.unwrap_err();
    assert_eq!(fields(&e), ["from_pool.pool_id"], "{}", e.message());
    srv.shutdown().await;
}
