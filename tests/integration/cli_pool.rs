//! The pool ledger from a shell beside a running server: a bank's monthly
//! status CSV imported with `smefin pool status`, the state printed, the
//! report written and read in Chromium.

use smefin::server::pb;
use smefin::server::pb::ledger_service_client::LedgerServiceClient;

use crate::cli::{run, stderr, stdout};
use crate::grpc_incentive::{req, server};
use crate::grpc_ledger::enrol;

#[tokio::test]
async fn a_status_file_is_imported_and_the_pool_reported() {
    let (srv, _tokens) = server().await;
    let data = srv.data.path().to_str().unwrap().to_string();
    let mut c = LedgerServiceClient::connect(srv.url()).await.unwrap();
    let bureau = Some("tok-bureau");
    c.create_pool(req(
        pb::CreatePoolRequest {
            pool_id: "GXT".into(),
            programme_id: "gongxintong".into(),
        },
        bureau,
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
        bureau,
    ))
    .await
    .unwrap();
    for i in 0..6 {
        c.enroll_loan(req(enrol(i, 300), bureau)).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    // JXB's loans are L0, L2, L4; one line is for a loan it does not have
    std::fs::write(
        dir.path().join("jxb-2023-06.csv"),
        "\u{FEFF}loan_id,outstanding,days_past_due,status\nL0,280万,95,\nL2,0,0,repaid\nL4,290万,0,\nL1,100万,0,\n",
    )
    .unwrap();
    let import = [
        "pool",
        "status",
        "--pool",
        "GXT",
        "--bank",
        "JXB",
        "--as-of",
        "2023-06-30",
        "--file",
        "jxb-2023-06.csv",
        "--data-dir",
        &data,
    ];
    let o = run(&import, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("记录 3 条；未记录 1 条"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("L1: no loan `L1` of bank `JXB` is enrolled (UNKNOWN_LOAN)"),
        "{}",
        stdout(&o)
    );
    // the same file again records nothing twice
    let again = run(&import, dir.path());
    assert!(
        stdout(&again).starts_with("记录 3 条"),
        "{}",
        stdout(&again)
    );
    let o = run(
        &[
            "pool",
            "state",
            "--pool",
            "GXT",
            "--as-of",
            "2023-06-30",
            "--json",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // 280 + 290 of JXB's, 300 × 3 of NCRCB's
    assert_eq!(s["pool"]["figures"]["outstanding"], "14700000.00");
    assert_eq!(s["pool"]["figures"]["pipeline_loans"], 1);
    let o = run(
        &[
            "pool",
            "state",
            "--pool",
            "GXT",
            "--as-of",
            "2023-06-30",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(stdout(&o).contains("现金 3000万"), "{}", stdout(&o));
    let o = run(
        &[
            "pool",
            "report",
            "--pool",
            "GXT",
            "--as-of",
            "2023-12-31",
            "--out",
            "pool.html",
            "--project",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.path().join("pool.html")).unwrap();
    assert!(html.contains("资金池运行报告") && html.contains("赣工强省小组办字〔2022〕20号"));
    assert!(html.contains("资金池现金：历史与前瞻"), "the outlook is in");
    if let Some(chrome) = crate::reports::chromium() {
        let file = dir.path().join("pool.html");
        let (png, pdf, dom) = crate::reports::render(&chrome, &file, dir.path());
        crate::reports::check_rendered(&html, &png, &pdf, &dom);
    }
    // the roll rates: L0 went from current to default in June, L2 was repaid
    let o = run(
        &[
            "pool",
            "rolls",
            "--pool",
            "GXT",
            "--as-of",
            "2023-12-31",
            "--json",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(r["month_ends"].as_array().unwrap().len(), 12);
    assert_eq!(r["rates"][0][4]["count"], 1);
    assert_eq!(r["rates"][0][5]["count"], 1);
    // January to June 6 loans, then 4 (L0 in default, L2 repaid) to December
    assert_eq!(r["observed"][0], 5 * 6 + 6 * 4);
    let o = run(
        &[
            "pool",
            "rolls",
            "--pool",
            "GXT",
            "--as-of",
            "2023-12-31",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    let text = stdout(&o);
    assert!(
        text.contains("月度迁徙率") && text.contains("预计代偿"),
        "{text}"
    );
    let o = run(
        &[
            "pool",
            "rolls",
            "--pool",
            "GXT",
            "--prior-strength",
            "-1",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--prior-strength"), "{}", stderr(&o));
    // the projection from the pool as it stands
    let o = run(
        &[
            "pool",
            "project",
            "--pool",
            "GXT",
            "--as-of",
            "2023-12-31",
            "--scenarios",
            "2000",
            "--json",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let p = &v["projection"];
    assert_eq!(p["exhausted_by"].as_array().unwrap().len(), 12);
    assert_eq!(p["cash_fan"].as_array().unwrap().len(), 12);
    // L0 (95 days, no claim) is claimed in the first month: 140万 of 280万
    assert_eq!(p["pipeline_claims"], "1400000.00");
    assert_eq!(p["cash_fan"][0][2], "28600000.00");
    let o = run(
        &[
            "pool",
            "project",
            "--pool",
            "GXT",
            "--as-of",
            "2023-12-31",
            "--scenarios",
            "500",
            "--data-dir",
            &data,
        ],
        dir.path(),
    );
    assert!(
        stdout(&o).contains("前瞻模拟") && stdout(&o).contains("需今日补充"),
        "{}",
        stdout(&o)
    );
    for (flag, value) in [
        ("--rho", "1"),
        ("--months", "0"),
        ("--target", "0"),
        ("--scenarios", "5"),
    ] {
        let o = run(
            &[
                "pool",
                "project",
                "--pool",
                "GXT",
                flag,
                value,
                "--data-dir",
                &data,
            ],
            dir.path(),
        );
        assert!(!o.status.success());
        assert!(stderr(&o).contains(flag), "{flag}: {}", stderr(&o));
    }
    // mistakes: one line naming the flag
    for (args, says) in [
        (vec!["pool", "state", "--pool", "NOPE"], "no pool `NOPE`"),
        (
            vec!["pool", "report", "--pool", "GXT", "--out", "p.txt"],
            "--out",
        ),
        (
            vec![
                "pool",
                "status",
                "--pool",
                "GXT",
                "--bank",
                "JXB",
                "--file",
                "jxb-2023-06.csv",
            ],
            "--as-of",
        ),
    ] {
        let mut a = args.clone();
        a.extend(["--data-dir", &data]);
        let o = run(&a, dir.path());
        assert_eq!(o.status.code(), Some(1), "{a:?}");
        assert!(
            stderr(&o).contains(says) && stderr(&o).trim().lines().count() == 1,
            "{}",
            stderr(&o)
        );
    }
    srv.shutdown().await;
}

/// The check of `simulate --from-pool`: a live book with no
/// history (200 current loans just enrolled) and the roll-rate prior whose
/// twelve-month default chance is the PD gives the hypothetical simulation
/// of the same book: the same engines on the same loans answer the same,
/// byte for byte, as a spec written out by hand; the exact method's mean
/// loss is Σ amount × LGD × PD, the PD computed here from the prior's
/// monthly matrix.
#[test]
fn a_live_book_simulates_as_the_same_book_written_as_a_spec() {
    use rust_decimal::Decimal;
    use smefin::kernel::money::Yuan;
    use smefin::ledger::event::{EventKind, Loan};
    use smefin::store::LedgerStore;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    {
        let store = smefin::store::Store::open(&data).unwrap();
        store.create_pool("P", "gongxintong", "bureau").unwrap();
        let write = |rid: &str, on: &str, kind: EventKind| {
            store
                .record("P", rid, rid, "bureau", &mut |_| {
                    Ok(vec![(d(on), kind.clone())])
                })
                .unwrap();
        };
        write(
            "cap",
            "2023-01-03",
            EventKind::CapitalInjected {
                amount: Yuan::wan(3000),
            },
        );
        for i in 0..200u32 {
            write(
                &format!("L{i}"),
                "2023-01-16",
                EventKind::LoanEnrolled(Loan {
                    loan_id: format!("L{i:03}"),
                    bank_id: ["JXB", "NCRCB"][i as usize % 2].into(),
                    credit_code: format!("F{i}"),
                    firm: format!("企业{i}"),
                    amount: Yuan::wan(i64::from(50 + i)),
                    annual_rate: Decimal::new(345, 4),
                    term_months: 12,
                    disbursed: d("2023-01-10"),
                    version_from: d("2022-04-27"),
                }),
            );
        }
    }
    // the prior's chance a current loan defaults within 12 months
    let m = smefin::ledger::rolls::Prior::default().rates;
    let mut p = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    for _ in 0..12 {
        let mut q = [0.0; 6];
        q[4] = p[4];
        q[5] = p[5];
        for i in 0..4 {
            for j in 0..6 {
                q[j] += p[i] * m[i][j];
            }
        }
        p = q;
    }
    let pd = p[4];
    assert!(pd > 0.005 && pd < 0.2, "{pd}");
    let data_s = data.to_str().unwrap();
    let live = run(
        &[
            "simulate",
            "--from-pool",
            "P",
            "--as-of",
            "2023-01-31",
            "--data-dir",
            data_s,
            "--scenarios",
            "20000",
            "--json",
        ],
        dir.path(),
    );
    assert!(live.status.success(), "{}", stderr(&live));
    assert!(
        stderr(&live).contains("200 open loans"),
        "{}",
        stderr(&live)
    );
    // the same book by hand
    let mut spec = String::from(
        "seed = 1\nscenarios = 20000\n[pool]\ncapital = \"3000万\"\ncompensation_share = 0.5\nper_loan_cap = \"1000万\"\n[dependence]\nrho = 0.15\n",
    );
    for i in 0..200u32 {
        spec.push_str(&format!(
            "[[portfolio.loans]]\nid = \"L{i:03}\"\namount = \"{}万\"\npd = {pd:?}\nlgd = 0.8\nsector = \"{}\"\n",
            50 + i,
            ["JXB", "NCRCB"][i as usize % 2]
        ));
    }
    std::fs::write(dir.path().join("book.toml"), spec).unwrap();
    let by_hand = run(&["simulate", "book.toml", "--json"], dir.path());
    assert!(by_hand.status.success(), "{}", stderr(&by_hand));
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&stdout(&live)).unwrap(),
        serde_json::from_str(&stdout(&by_hand)).unwrap(),
    );
    assert_eq!(a, b, "the same engines on the same book");
    assert_eq!(a["method"], "both", "the exact method and its certificate");
    let exposure: f64 = (0..200).map(|i| f64::from(50 + i) * 10_000.0).sum();
    let mean: f64 = a["analytic"]["loss"]["mean"]["estimate"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let want = exposure * 0.8 * pd;
    assert!(
        (mean - want).abs() < 0.01 + 1e-9 * want,
        "{mean} against {want}"
    );
    // refused by name: a pool without open loans, bad options
    let o = run(
        &[
            "simulate",
            "--from-pool",
            "P",
            "--as-of",
            "2023-01-05",
            "--data-dir",
            data_s,
        ],
        dir.path(),
    );
    assert!(
        stderr(&o).contains("no open loan on 2023-01-05"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &[
            "simulate",
            "--from-pool",
            "P",
            "--rho",
            "1.5",
            "--data-dir",
            data_s,
        ],
        dir.path(),
    );
    assert!(
        stderr(&o).contains("--rho: must be at least 0 and below 1"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &["simulate", "--from-pool", "NOPE", "--data-dir", data_s],
        dir.path(),
    );
    assert!(
        stderr(&o).contains("--from-pool: no pool `NOPE`"),
        "{}",
        stderr(&o)
    );
    let o = run(&["simulate", "book.toml", "--rho", "0.2"], dir.path());
    assert!(!o.status.success(), "--rho needs --from-pool");
    assert!(
        stderr(&o).contains("--rho: only with --from-pool"),
        "{}",
        stderr(&o)
    );
}
