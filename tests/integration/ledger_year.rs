//! A scripted year of a 2,000-loan 工信通 pool over gRPC, as a bureau and
//! two banks run it: enrolment by eight clients at once up to the 6亿
//! scale, twelve monthly files per bank, 200 loans falling behind, a claim
//! refused at 89 days and filed at 90, a denial, payments, a breaker trip
//! and its resumption (refused while the rate is high), cures, charge-offs,
//! a recovery, a year-end top-up. After every month the state of the pool
//! and of each bank is compared with a model of the pool kept here from
//! what was sent; at the end every month end again (then folded from the
//! log, no longer the running fold); the report shows the year.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use smefin::server::pb;
use smefin::server::pb::ledger_service_client::LedgerServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::cli::{run, stderr};
use crate::grpc_incentive::{req, server};

const BUREAU: Option<&str> = Some("tok-bureau");
const JXB: Option<&str> = Some("tok-jxb");
const NCRCB: Option<&str> = Some("tok-nc");
/// 1万 in fen.
const WAN: i64 = 1_000_000;

fn bank(i: usize) -> &'static str {
    if i.is_multiple_of(2) { "JXB" } else { "NCRCB" }
}

fn token(b: &str) -> Option<&'static str> {
    if b == "JXB" { JXB } else { NCRCB }
}

/// Falls behind from March (200 loans).
fn defaults(i: usize) -> bool {
    i % 20 < 2
}

/// Of those, claimed in July (the rest cure in August).
fn claimed(i: usize) -> bool {
    defaults(i) && i < 600
}

/// Repaid early, in June.
fn repays(i: usize) -> bool {
    matches!(i % 50, 7 | 8)
}

fn month_end(m: u32) -> String {
    let next = chrono::NaiveDate::from_ymd_opt(2023 + (m / 12) as i32, m % 12 + 1, 1).unwrap();
    next.pred_opt().unwrap().to_string()
}

fn fen(f: i64) -> String {
    format!("{}.{:02}", f / 100, f % 100)
}

fn reason(e: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    e.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

#[derive(Clone, Default)]
struct Loan {
    bank: &'static str,
    amount: i64,
    out: i64,
    dpd: u32,
    repaid: bool,
    charged_off: bool,
    /// The claim: (approved, denied, claimable, paid).
    claim: Option<(bool, bool, i64, i64)>,
}

/// The pool as the script made it, counted here.
#[derive(Clone, Default)]
struct Model {
    loans: BTreeMap<usize, Loan>,
    cash: i64,
    recovered: BTreeMap<&'static str, i64>,
}

impl Model {
    fn npl(l: &Loan) -> bool {
        !l.repaid && (l.charged_off || l.dpd >= 90)
    }

    /// The figures of the pool (`None`) or of one bank, as the wire gives them.
    fn figures(&self, only: Option<&str>) -> pb::LedgerFigures {
        let mut f = pb::LedgerFigures::default();
        let (mut enrolled, mut out, mut npl, mut paid, mut pipe, mut owed) = (0, 0, 0, 0, 0, 0);
        let mut buckets = [0i64; 5];
        for l in self
            .loans
            .values()
            .filter(|l| only.is_none_or(|b| b == l.bank))
        {
            f.enrolled_loans += 1;
            enrolled += l.amount;
            out += l.out;
            let b = match (l.charged_off, l.dpd) {
                (true, _) => 4,
                (_, 0) => 0,
                (_, 1..=30) => 1,
                (_, 31..=60) => 2,
                (_, 61..=90) => 3,
                _ => 4,
            };
            buckets[b] += l.out;
            if Self::npl(l) {
                npl += l.out;
            }
            let live = l.claim.is_some_and(|c| !c.1);
            if Self::npl(l) && !live && l.out > 0 {
                f.pipeline_loans += 1;
                pipe += l.out;
            }
            if let Some((approved, denied, claimable, p)) = l.claim {
                paid += p;
                f.claims_paid_loans += u64::from(p > 0);
                if approved && !denied {
                    owed += claimable - p;
                }
            }
        }
        f.enrolled = fen(enrolled);
        f.outstanding = fen(out);
        f.buckets = buckets.iter().map(|b| fen(*b)).collect();
        f.npl = fen(npl);
        f.npl_rate = if out == 0 {
            String::new()
        } else {
            (Decimal::from(npl) / Decimal::from(out))
                .round_dp(6)
                .normalize()
                .to_string()
        };
        f.claims_paid = fen(paid);
        f.recovered = fen(match only {
            None => self.recovered.values().sum(),
            Some(b) => self.recovered.get(b).copied().unwrap_or(0),
        });
        f.pipeline = fen(pipe);
        f.committed = fen(owed);
        f
    }

    /// One bank's month-end file, and the model moved by it.
    fn file(&mut self, b: &'static str, m: u32) -> Vec<pb::LoanStatusLine> {
        const DPD: [u32; 13] = [0, 0, 0, 29, 59, 89, 90, 121, 152, 182, 213, 243, 274];
        let mut lines = Vec::new();
        for (i, l) in self.loans.iter_mut().filter(|(_, l)| l.bank == b) {
            if l.repaid || l.charged_off {
                continue;
            }
            let behind = defaults(*i) && m >= 3 && (m <= 7 || claimed(*i));
            let mut line = pb::LoanStatusLine {
                loan_id: format!("L{i}"),
                ..Default::default()
            };
            if repays(*i) && m == 6 && !behind {
                line.repaid = true;
                (l.out, l.dpd, l.repaid) = (0, 0, true);
            } else if behind {
                (l.out, l.dpd) = (28 * WAN, DPD[m as usize]);
                l.charged_off = m == 11;
            } else {
                // (a loan enrolled in September starts from its amount)
                l.out = l.out.min(l.amount - i64::from(m) * WAN).max(WAN);
                l.dpd = 0;
            }
            line.outstanding = fen(l.out);
            line.days_past_due = l.dpd;
            line.charged_off = l.charged_off;
            lines.push(line);
        }
        lines
    }
}

fn enrolment(i: usize, disbursed: &str, on: &str) -> pb::EnrollLoanRequest {
    let mut r = crate::grpc_ledger::enrol(i, 30);
    r.pool_id = "YEAR".into();
    r.bank_id = bank(i).into();
    r.disbursed = disbursed.into();
    r.date = on.into();
    r
}

async fn state(
    c: &mut LedgerServiceClient<Channel>,
    who: Option<&str>,
    as_of: &str,
) -> pb::GetPoolStateResponse {
    c.get_pool_state(req(
        pb::GetPoolStateRequest {
            pool_id: "YEAR".into(),
            as_of: as_of.into(),
            ..Default::default()
        },
        who,
    ))
    .await
    .unwrap()
    .into_inner()
}

/// The state as the bureau and each bank see it, against the model.
async fn check(c: &mut LedgerServiceClient<Channel>, model: &Model, as_of: &str) {
    let s = state(c, BUREAU, as_of).await;
    let pool = s.pool.as_ref().unwrap();
    assert_eq!(pool.cash, fen(model.cash), "cash on {as_of}");
    assert_eq!(
        pool.figures.as_ref().unwrap(),
        &model.figures(None),
        "pool on {as_of}"
    );
    for (b, t) in [("JXB", JXB), ("NCRCB", NCRCB)] {
        let own = state(c, t, as_of).await;
        assert!(own.pool.is_none());
        assert_eq!(own.banks.len(), 1);
        assert_eq!(
            own.banks[0].figures.as_ref().unwrap(),
            &model.figures(Some(b)),
            "{b} on {as_of}"
        );
        let seen = s.banks.iter().find(|x| x.bank_id == b).unwrap();
        assert_eq!(seen.figures, own.banks[0].figures);
    }
}

async fn write<T, F, Fut>(f: F) -> Result<T, tonic::Status>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    f().await.map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_scripted_year_of_a_2000_loan_pool() {
    let (srv, _tokens) = server().await;
    let data = srv.data.path().to_str().unwrap().to_string();
    let mut c = LedgerServiceClient::connect(srv.url()).await.unwrap();
    c.create_pool(req(
        pb::CreatePoolRequest {
            pool_id: "YEAR".into(),
            programme_id: "gongxintong".into(),
        },
        BUREAU,
    ))
    .await
    .unwrap();
    c.record_cash(req(
        pb::RecordCashRequest {
            request_id: "cap".into(),
            pool_id: "YEAR".into(),
            kind: pb::CashKind::Capital as i32,
            amount: "3000万".into(),
            date: "2023-01-03".into(),
        },
        BUREAU,
    ))
    .await
    .unwrap();
    let mut model = Model {
        cash: 3000 * WAN,
        ..Default::default()
    };
    // eight clients enrol 2,008 loans of 30万 at once: 2,000 fit the 6亿 scale
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let mut c = c.clone();
            tokio::spawn(async move {
                let mut outcome = Vec::new();
                for i in (t..2008).step_by(8) {
                    let r = c
                        .enroll_loan(req(
                            enrolment(i, "2023-01-10", "2023-01-16"),
                            token(bank(i)),
                        ))
                        .await;
                    outcome.push((i, r.map_err(|e| reason(&e))));
                }
                outcome
            })
        })
        .collect();
    let mut refused = Vec::new();
    for t in tasks {
        for (i, r) in t.await.unwrap() {
            match r {
                Ok(_) => {
                    model.loans.insert(
                        i,
                        Loan {
                            bank: bank(i),
                            amount: 30 * WAN,
                            out: 30 * WAN,
                            ..Default::default()
                        },
                    );
                }
                Err(why) => refused.push(why),
            }
        }
    }
    assert_eq!(model.loans.len(), 2000);
    assert_eq!(refused, vec!["SCALE_EXCEEDED"; 8]);
    // and the 2,001st, asked alone
    let e = c
        .enroll_loan(req(enrolment(3000, "2023-01-10", "2023-01-16"), JXB))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "SCALE_EXCEEDED", "{}", e.message());
    check(&mut c, &model, "2023-01-31").await;
    // a wrong file of 1,500 unknown loans: nothing recorded; the first
    // 1,000 problems and missing loans named, all counted
    let wrong = pb::ReportLoanStatusRequest {
        request_id: "wrong".into(),
        pool_id: "YEAR".into(),
        as_of: "2023-01-31".into(),
        bank_id: "NCRCB".into(),
        lines: (0..1500)
            .map(|i| pb::LoanStatusLine {
                loan_id: format!("X{i}"),
                outstanding: "1万".into(),
                ..Default::default()
            })
            .collect(),
    };
    let r = c
        .report_loan_status(req(tokio_stream::iter([wrong]), NCRCB))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.recorded, r.problems.len(), r.problem_count),
        (0, 1000, 1500)
    );
    let ncrcb = model.loans.values().filter(|l| l.bank == "NCRCB").count();
    assert_eq!(
        (r.missing.len(), r.missing_count as usize),
        (ncrcb.min(1000), ncrcb)
    );
    assert_eq!(r.problems[999].loan_id, "X999");
    let mut month_ends = BTreeMap::new();
    for m in 1..=12u32 {
        let end = month_end(m);
        for b in ["JXB", "NCRCB"] {
            let lines = model.file(b, m);
            let n = lines.len();
            let charged = lines.iter().filter(|l| l.charged_off).count();
            let mut msgs: Vec<pb::ReportLoanStatusRequest> = lines
                .chunks(250)
                .map(|c| pb::ReportLoanStatusRequest {
                    lines: c.to_vec(),
                    ..Default::default()
                })
                .collect();
            msgs[0].request_id = format!("{b}-{end}");
            msgs[0].pool_id = "YEAR".into();
            msgs[0].as_of = end.clone();
            msgs[0].bank_id = b.into();
            let r = c
                .report_loan_status(req(tokio_stream::iter(msgs), token(b)))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                (r.recorded as usize, r.problems.len(), r.missing.len()),
                (n + charged, 0, 0),
                "{b} {end}: {:?}",
                r.problems.first()
            );
        }
        check(&mut c, &model, &end).await;
        month_ends.insert(end, model.clone());
        script(&mut c, &mut model, m).await;
    }
    // every month end again, now folded from the log (later events exist)
    for (end, then) in &month_ends {
        if end.as_str() < "2023-12-31" {
            check(&mut c, then, end).await;
        }
    }
    let s = state(&mut c, BUREAU, "2023-12-31").await;
    let pool = s.pool.unwrap();
    assert_eq!(pool.cash, "30000000.00", "topped up to the capital");
    assert_eq!(pool.top_up_due, "", "nothing more due");
    // warned and suspended as June's files came in; resumed to a warning
    assert_eq!(
        pool.breaker_history
            .iter()
            .map(|h| (h.date.as_str(), h.level))
            .collect::<Vec<_>>(),
        [
            ("2023-06-30", pb::BreakerLevel::Warning as i32),
            ("2023-06-30", pb::BreakerLevel::Suspended as i32),
            ("2023-09-01", pb::BreakerLevel::Warning as i32)
        ]
    );
    // projected from the year's end over the year's own roll rates
    let proj = |who, scenarios| {
        let mut c = c.clone();
        async move {
            c.project_pool(req(
                pb::ProjectPoolRequest {
                    pool_id: "YEAR".into(),
                    as_of: "2023-12-31".into(),
                    scenarios,
                    ..Default::default()
                },
                who,
            ))
            .await
        }
    };
    let p = proj(BUREAU, 2000).await.unwrap().into_inner();
    assert_eq!(p.months.len(), 12);
    assert_eq!(p.history_months, 11);
    let behind = model
        .loans
        .keys()
        .filter(|i| defaults(**i) && **i < 3000)
        .count() as u64;
    let count = |from: &str, to: &str| {
        p.roll_rates
            .iter()
            .find(|r| r.from == from && r.to == to)
            .unwrap()
            .count
    };
    // the 200 loans fell behind a state a month, March to June
    assert_eq!(count("current", "1-30"), behind);
    assert_eq!(count("1-30", "31-60"), behind);
    assert_eq!(count("31-60", "61-trigger"), behind);
    assert_eq!(count("61-trigger", "default"), behind);
    assert_eq!(p.cash, "30000000.00");
    assert_eq!(p.claims[0].bank_id, "");
    assert!(p.months.iter().all(|m| m.cash_fan.len() == 5));
    let e = proj(JXB, 2000).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let e = proj(BUREAU, 5).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("scenarios"), "{}", e.message());
    // a pool id that names no pool's form: the field, not NOT_FOUND
    for call in ["ProjectPool", "GetPoolState"] {
        let mut c = c.clone();
        let e = if call == "ProjectPool" {
            c.project_pool(req(pb::ProjectPoolRequest::default(), BUREAU))
                .await
                .unwrap_err()
        } else {
            c.get_pool_state(req(pb::GetPoolStateRequest::default(), BUREAU))
                .await
                .unwrap_err()
        };
        assert_eq!(e.code(), Code::InvalidArgument, "{call}: {}", e.message());
        assert!(e.message().contains("pool_id"), "{call}: {}", e.message());
    }
    // the report shows the year
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "pool",
            "report",
            "--pool",
            "YEAR",
            "--as-of",
            "2023-12-31",
            "--out",
            "year.html",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.path().join("year.html")).unwrap();
    for want in [
        "2023-01",
        "2023-12",
        "2023-06-30",
        "2023-09-01",
        "熔断记录",
        "JXB",
        "NCRCB",
    ] {
        assert!(html.contains(want), "the report lacks {want}");
    }
    // a backtest from six months before the year's end
    let o = run(
        &[
            "pool",
            "project",
            "--pool",
            "YEAR",
            "--as-of",
            "2023-06-30",
            "--months",
            "6",
            "--scenarios",
            "2000",
            "--backtest",
            "--json",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&crate::cli::stdout(&o)).unwrap();
    let months = v["backtest"]["months"].as_array().unwrap();
    assert_eq!(months.len(), 6);
    for (m, end) in months
        .iter()
        .zip(["2023-07-31", "2023-08-31", "2023-09-30"])
    {
        assert_eq!(m["end"], end);
        let cash = &month_ends[end].cash;
        assert_eq!(m["cash"], fen(*cash), "the ledger's cash on {end}");
    }
    // the suspension of June holds until September
    assert_eq!(months[0]["suspended"], true);
    assert_eq!(months[2]["suspended"], false);
    let o = run(
        &[
            "pool",
            "project",
            "--pool",
            "YEAR",
            "--as-of",
            "2023-06-30",
            "--months",
            "6",
            "--scenarios",
            "500",
            "--backtest",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(
        crate::cli::stdout(&o).contains("回测"),
        "{}",
        crate::cli::stdout(&o)
    );
    audit_trail(&mut c, &data, dir.path()).await;
    subsidy(&mut c, &data, dir.path()).await;
    srv.shutdown().await;
}

/// The year's cohort costed: its claims and recovery at their amounts
/// discounted on the built-in curve from their days to 1 January (flat
/// 1.4% under a year), the rest expected; the text names the curve as a
/// stated default; a bad curve file is refused by name.
async fn subsidy(c: &mut LedgerServiceClient<Channel>, data: &str, dir: &std::path::Path) {
    let s = state(c, BUREAU, "2023-12-31").await;
    let f = s.pool.unwrap().figures.unwrap();
    let o = run(
        &[
            "pool",
            "subsidy",
            "--pool",
            "YEAR",
            "--as-of",
            "2023-12-31",
            "--json",
            "--data-dir",
            data,
        ],
        dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&crate::cli::stdout(&o)).unwrap();
    let cohorts = v["cohorts"].as_array().unwrap();
    assert_eq!(cohorts.len(), 1);
    let c0 = &cohorts[0];
    assert_eq!(c0["year"], 2023);
    assert_eq!(c0["loans"], f.enrolled_loans);
    assert_eq!(c0["enrolled"], f.enrolled);
    assert!(c0["reestimate"].is_null());
    let e = &c0["original"];
    assert_eq!(e["as_of"], "2023-12-31");
    let money = |x: &serde_json::Value| x.as_str().unwrap().parse::<f64>().unwrap();
    let pv =
        |amount: f64, days: f64| (amount * 1.014f64.powf(-days / 365.25) * 100.0).round() / 100.0;
    let paid: f64 = f.claims_paid.parse().unwrap();
    assert!(paid > 0.0);
    assert_eq!(
        money(&e["claims_paid"]),
        pv(paid, 195.0),
        "all paid on 2023-07-15"
    );
    assert_eq!(
        money(&e["recovered"]),
        pv(50_000.0, 252.0),
        "5万 back on 2023-09-10"
    );
    let net = money(&e["claims_paid"]) - money(&e["recovered"]) + money(&e["expected_claims"])
        - money(&e["expected_recoveries"]);
    assert!((money(&e["cost"]) - net).abs() <= 0.02, "{e}");
    assert!(
        money(&e["expected_claims"]) > 0.0,
        "loans still behind at the year's end"
    );
    let o = run(
        &[
            "pool",
            "subsidy",
            "--pool",
            "YEAR",
            "--as-of",
            "2023-12-31",
            "--data-dir",
            data,
        ],
        dir,
    );
    let out = crate::cli::stdout(&o);
    for want in [
        "补贴成本",
        "中债国债收益率曲线（约值）（默认值",
        "2023",
        "原始估计即截至日的估计",
    ] {
        assert!(out.contains(want), "{want} not in:\n{out}");
    }
    std::fs::write(
        dir.join("bad-curve.toml"),
        "name = 'x'\nsource = 'y'\npoints = [[1.0, 0.9]]\n",
    )
    .unwrap();
    let o = run(
        &[
            "pool",
            "subsidy",
            "--pool",
            "YEAR",
            "--curve",
            "bad-curve.toml",
            "--data-dir",
            data,
        ],
        dir,
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--curve bad-curve.toml: points[0]"),
        "{}",
        stderr(&o)
    );
}

async fn events(
    c: &mut LedgerServiceClient<Channel>,
    loan: &str,
    bank: &str,
    page_size: u32,
) -> Vec<pb::LedgerEvent> {
    let (mut all, mut token) = (Vec::new(), String::new());
    loop {
        let r = c
            .list_events(req(
                pb::ListEventsRequest {
                    pool_id: "YEAR".into(),
                    loan_id: loan.into(),
                    bank_id: bank.into(),
                    page_size,
                    page_token: token.clone(),
                },
                BUREAU,
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(r.events.len() <= page_size as usize);
        all.extend(r.events);
        if r.next_page_token.is_empty() {
            return all;
        }
        token = r.next_page_token;
    }
}

fn kind(e: &pb::LedgerEvent) -> String {
    let v: serde_json::Value = serde_json::from_str(&e.json).unwrap();
    v["kind"].as_str().unwrap().to_string()
}

/// The year's log read back as its audit trail: every event once, in
/// order, with who and the request id; one loan's and one bank's alone;
/// what may not read it or page it.
async fn audit_trail(c: &mut LedgerServiceClient<Channel>, data: &str, dir: &std::path::Path) {
    let all = events(c, "", "", 1000).await;
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=all.len() as u64).collect::<Vec<_>>());
    assert!(all.len() > 2_000 * 12, "{} events", all.len());
    assert!(
        all.iter()
            .all(|e| !e.request_id.is_empty() && !e.recorded_by.is_empty())
    );
    // L0: enrolled, 12 month ends, claimed, approved, paid, a recovery
    let l0 = events(c, "L0", "", 3).await;
    let kinds: Vec<String> = l0.iter().map(kind).collect();
    assert_eq!(kinds[0], "loan_enrolled");
    for k in [
        "claim_filed",
        "claim_approved",
        "claim_paid",
        "recovery_reported",
    ] {
        assert_eq!(
            kinds.iter().filter(|x| *x == k).count(),
            1,
            "{k}: {kinds:?}"
        );
    }
    let about_l0 = |e: &&pb::LedgerEvent| e.json.contains("\"L0\"") || e.json.contains("\"C0\"");
    assert_eq!(l0.len(), all.iter().filter(about_l0).count());
    assert!(l0.iter().all(|e| about_l0(&e)));
    // each event is one bank's, or the pool's cash and breaker
    let jxb = events(c, "", "JXB", 1000).await;
    let nc = events(c, "", "NCRCB", 1000).await;
    let pool_wide = all
        .iter()
        .filter(|e| {
            matches!(
                kind(e).as_str(),
                "capital_injected" | "top_up" | "withdrawal" | "interest_credited"
            ) || kind(e) == "breaker_resumed" && e.json.contains("\"bank\":null")
        })
        .count();
    assert_eq!(jxb.len() + nc.len() + pool_wide, all.len());
    assert!(
        jxb.iter()
            .all(|e| !e.json.contains("\"bank_id\":\"NCRCB\""))
    );
    // a bank may not read the log; a token of another query, a page of
    // 1,001 and an unknown pool are refused
    let ask = |loan: &str, size: u32, token: &str, who| {
        let mut c = c.clone();
        let r = pb::ListEventsRequest {
            pool_id: "YEAR".into(),
            loan_id: loan.into(),
            page_size: size,
            page_token: token.into(),
            ..Default::default()
        };
        async move { c.list_events(req(r, who)).await }
    };
    assert_eq!(
        ask("", 10, "", JXB).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let first = ask("", 10, "", BUREAU).await.unwrap().into_inner();
    let e = ask("L0", 10, &first.next_page_token, BUREAU)
        .await
        .unwrap_err();
    assert_eq!(crate::common::violation_fields(&e), ["page_token"]);
    // a sequence number past what the store holds is no token it gave
    let key = first.next_page_token.split_once('.').unwrap().1;
    let huge = format!("{}.{key}", u64::MAX);
    let e = ask("", 10, &huge, BUREAU).await.unwrap_err();
    assert_eq!(crate::common::violation_fields(&e), ["page_token"]);
    let e = ask("", 1001, "x", BUREAU).await.unwrap_err();
    assert_eq!(
        crate::common::violation_fields(&e),
        ["page_size", "page_token"]
    );
    // from a shell: L1's claim and its denial, as an officer reads them
    let o = run(
        &[
            "pool",
            "events",
            "--pool",
            "YEAR",
            "--loan",
            "L1",
            "--data-dir",
            data,
        ],
        dir,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = crate::cli::stdout(&o);
    for want in [
        "纳入贷款 NCRCB/L1（",
        "申请代偿 NCRCB/C1（贷款 L1",
        "拒绝代偿 NCRCB/C1：未尽清收义务",
        "review-C1",
    ] {
        assert!(out.contains(want), "{want} not in:\n{out}");
    }
}

/// What the bureau and the banks do after month `m`'s files.
async fn script(c: &mut LedgerServiceClient<Channel>, model: &mut Model, m: u32) {
    match m {
        5 => {
            // 89 days: not yet
            let e = write(|| c.file_claim(req(claim("C0", "L0", "2023-06-01"), JXB)))
                .await
                .unwrap_err();
            assert_eq!(reason(&e), "CLAIM_NOT_DUE", "{}", e.message());
        }
        6 => {
            // 90 days: the 不良率 passes 5%; the programme and both banks suspend
            let s = state(c, BUREAU, "2023-06-30").await;
            assert!(!s.enrolment_open);
            assert!(
                s.banks
                    .iter()
                    .all(|b| b.breaker == pb::BreakerLevel::Suspended as i32)
            );
            let e =
                write(|| c.enroll_loan(req(enrolment(3001, "2023-06-30", "2023-06-30"), NCRCB)))
                    .await
                    .unwrap_err();
            assert_eq!(reason(&e), "ENROLMENT_SUSPENDED", "{}", e.message());
            // the claims of July on June's 90 days
            let ids: Vec<usize> = model
                .loans
                .keys()
                .copied()
                .filter(|i| claimed(*i))
                .collect();
            for i in &ids {
                let b = bank(*i);
                write(|| {
                    c.file_claim(req(
                        claim(&format!("C{i}"), &format!("L{i}"), "2023-07-05"),
                        token(b),
                    ))
                })
                .await
                .unwrap();
                let l = model.loans.get_mut(i).unwrap();
                l.claim = Some((false, false, 14 * WAN, 0));
            }
            for i in &ids {
                let deny = if *i == 1 {
                    pb::ClaimDenial::NoRecoveryEffort
                } else {
                    pb::ClaimDenial::Unspecified
                };
                write(|| {
                    c.review_claim(req(
                        pb::ReviewClaimRequest {
                            bank_id: String::new(),
                            request_id: format!("review-C{i}"),
                            pool_id: "YEAR".into(),
                            claim_id: format!("C{i}"),
                            deny: deny as i32,
                            date: "2023-07-10".into(),
                        },
                        BUREAU,
                    ))
                })
                .await
                .unwrap();
                let l = model.loans.get_mut(i).unwrap();
                l.claim = Some((*i != 1, *i == 1, 14 * WAN, 0));
            }
            for i in ids.iter().filter(|i| **i != 1) {
                write(|| {
                    c.pay_claim(req(
                        pb::PayClaimRequest {
                            bank_id: String::new(),
                            request_id: format!("pay-C{i}"),
                            pool_id: "YEAR".into(),
                            claim_id: format!("C{i}"),
                            date: "2023-07-15".into(),
                        },
                        BUREAU,
                    ))
                })
                .await
                .unwrap();
                model.loans.get_mut(i).unwrap().claim = Some((true, false, 14 * WAN, 14 * WAN));
                model.cash -= 14 * WAN;
            }
            // checked mid-month too: the approved claims are paid, the pipeline is the rest
            check(c, model, "2023-07-15").await;
        }
        7 => {
            // the rate is still above the level: no resumption
            let e = write(|| c.resume_enrolment(req(resume("early", "", "2023-08-01"), BUREAU)))
                .await
                .unwrap_err();
            assert_eq!(reason(&e), "STILL_ABOVE_LEVEL", "{}", e.message());
        }
        8 => {
            // resumption is granted on 1 September once the cures are in
            // August's file
            let rate = |s: &pb::GetPoolStateResponse| {
                s.pool
                    .as_ref()
                    .unwrap()
                    .figures
                    .as_ref()
                    .unwrap()
                    .npl_rate
                    .clone()
            };
            let s = state(c, BUREAU, "2023-08-31").await;
            assert!(rate(&s).parse::<f64>().unwrap() < 0.05, "{}", rate(&s));
            write(|| c.resume_enrolment(req(resume("resume", "", "2023-09-01"), BUREAU)))
                .await
                .unwrap();
            write(|| c.resume_enrolment(req(resume("resume-jxb", "JXB", "2023-09-01"), BUREAU)))
                .await
                .unwrap();
            let e = write(|| c.resume_enrolment(req(resume("resume", "", "2023-09-01"), JXB)))
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied);
            // JXB lends again; NCRCB, still suspended, may not
            write(|| c.enroll_loan(req(enrolment(3000, "2023-09-04", "2023-09-05"), JXB)))
                .await
                .unwrap();
            model.loans.insert(
                3000,
                Loan {
                    bank: "JXB",
                    amount: 30 * WAN,
                    out: 30 * WAN,
                    ..Default::default()
                },
            );
            let e =
                write(|| c.enroll_loan(req(enrolment(3001, "2023-09-04", "2023-09-05"), NCRCB)))
                    .await
                    .unwrap_err();
            assert_eq!(reason(&e), "BANK_SUSPENDED", "{}", e.message());
            // a recovery of 10万 on L0: the pool paid 14万 of the 28万 lost, gets half
            write(|| c.report_recovery(req(recovery("L0", "10万"), JXB)))
                .await
                .unwrap();
            model.cash += 5 * WAN;
            *model.recovered.entry("JXB").or_default() += 5 * WAN;
            // on L1 the claim was denied: the recovery is the bank's
            let e = write(|| c.report_recovery(req(recovery("L1", "10万"), NCRCB)))
                .await
                .unwrap_err();
            assert_eq!(reason(&e), "NOTHING_PAID", "{}", e.message());
        }
        12 => {
            // the bureau tops the cash back up to the capital at year end
            let short = 3000 * WAN - model.cash;
            // the rule (refill to 3000万 at the year end) says how much
            let s = state(c, BUREAU, "2023-12-31").await;
            let pool = s.pool.unwrap();
            assert_eq!(
                (pool.top_up_due.as_str(), pool.top_up_by.as_str()),
                (fen(short).as_str(), "2023-12-31")
            );
            write(|| {
                c.record_cash(req(
                    pb::RecordCashRequest {
                        request_id: "top-2023".into(),
                        pool_id: "YEAR".into(),
                        kind: pb::CashKind::TopUp as i32,
                        amount: fen(short),
                        date: "2023-12-31".into(),
                    },
                    BUREAU,
                ))
            })
            .await
            .unwrap();
            model.cash += short;
        }
        _ => {}
    }
}

fn claim(id: &str, loan: &str, date: &str) -> pb::FileClaimRequest {
    pb::FileClaimRequest {
        bank_id: String::new(),
        request_id: id.into(),
        pool_id: "YEAR".into(),
        claim_id: id.into(),
        loan_id: loan.into(),
        date: date.into(),
    }
}

fn recovery(loan: &str, amount: &str) -> pb::ReportRecoveryRequest {
    pb::ReportRecoveryRequest {
        bank_id: String::new(),
        request_id: format!("rec-{loan}"),
        pool_id: "YEAR".into(),
        loan_id: loan.into(),
        amount: amount.into(),
        date: "2023-09-10".into(),
    }
}

fn resume(request: &str, bank: &str, date: &str) -> pb::ResumeEnrolmentRequest {
    pb::ResumeEnrolmentRequest {
        request_id: request.into(),
        pool_id: "YEAR".into(),
        bank_id: bank.into(),
        date: date.into(),
    }
}
