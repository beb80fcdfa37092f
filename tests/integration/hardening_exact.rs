//! Hardening, part 3, the simulation rows: the exact method sized and
//! priced before it allocates and metered while it runs, its set-up
//! cancelled promptly, admission before compilation, the answer's size
//! known before the run.

use std::time::{Duration, Instant};

use smefin::config::Config;
use smefin::riskpool::analytic::{self, AnalyticError, Method, Options};
use smefin::riskpool::run::{self, RunError};
use smefin::riskpool::{Control, Limits, Model, Spec};
use smefin::server::pb;
use smefin::server::pb::risk_pool_service_client::RiskPoolServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::{self, violation_fields as fields};

fn toml(text: &str) -> pb::PoolSpec {
    pb::PoolSpec {
        document: Some(pb::pool_spec::Document::Toml(text.into())),
        scenarios: 0,
        seed: None,
    }
}

/// `segments` segments of `count` equal 10万 loans, each with a Beta LGD
/// and a PD of its own (the row-1 book).
fn beta_book(segments: usize, count: usize, scenarios: u64) -> String {
    let mut s = format!("scenarios = {scenarios}\n[pool]\ncapital = \"3000万\"\n");
    for i in 0..segments {
        s += &format!(
            "[[portfolio.segments]]\ncount = {count}\namount = \"10万\"\npd = {}\nlgd = {{ mean = 0.45, sd = 0.2 }}\n",
            0.02 + 0.01 * i as f64
        );
    }
    s
}

fn model(text: &str) -> Model {
    Model::compile(&Spec::from_toml(text).unwrap(), &Limits::default()).unwrap()
}

fn opts(max_bytes: u64, max_work: u64) -> Options {
    Options {
        max_bytes,
        max_work,
        ..Options::default()
    }
}

/// Row 1: the hostile book's exact method is priced before anything of its
/// lattice exists: over a 64 MB budget it is refused, naming what to
/// change; within 2 GB its estimate covers its convolution powers.
#[test]
fn the_exact_method_is_sized_before_it_allocates() {
    let m = model(&beta_book(3, 4000, 1));
    let t0 = Instant::now();
    let c = analytic::cost(&m, &Options::default()).unwrap();
    eprintln!("priced in {:?}: {c:?}", t0.elapsed());
    // 3 segments × 6 channels of 4,000 loans: powers of 4,001 × 4,096
    // floats each, as far as half the budget grants them
    assert!(c.groups >= 18, "{c:?}");
    assert!(c.bytes > 512 << 20 && c.bytes <= 2 << 30, "{c:?}");
    // within 64 MB: no powers (each group is convolved loan by loan), so
    // it fits, at more work
    let mid = opts(64 << 20, analytic::DEFAULT_MAX_WORK);
    let c64 = analytic::cost(&m, &mid).unwrap();
    assert!(c64.bytes <= 64 << 20, "{c64:?}");
    assert!(c64.first_pass_work > c.first_pass_work, "{c64:?}");
    // within 4 MB not even the nodes in flight fit: refused, naming what
    // to change, by the method's choice and by analyze itself
    let small = opts(4 << 20, analytic::DEFAULT_MAX_WORK);
    let why = match run::choose(Some(Method::Analytic), &m, &small) {
        Err(AnalyticError::TooCostly(why)) => why,
        other => panic!("{other:?}"),
    };
    assert!(
        why.contains("lattice_points") && why.contains("4 MB"),
        "{why}"
    );
    assert!(matches!(
        analytic::analyze(&m, &small, &Control::default()),
        Err(AnalyticError::TooCostly(_))
    ));
    // fewer lattice points fit
    let fewer = Options {
        lattice_points: 256,
        ..small
    };
    assert!(run::choose(Some(Method::Analytic), &m, &fewer).is_ok());
    // Row 13: by default, 8,190 Beta loans (a gigabyte of powers) run by
    // Monte Carlo alone, saying why
    let m13 = model(&beta_book(2, 4095, 1));
    let c = run::choose(None, &m13, &Options::default()).unwrap();
    assert_eq!(c.method, Method::MonteCarlo);
    assert!(c.note.as_ref().unwrap().contains("MB"), "{c:?}");
    // and a book the exact method takes in well under a second still
    // gets both
    let builtin = model(smefin::riskpool::spec::DEFAULT_SPEC_TOML);
    let c = run::choose(None, &builtin, &Options::default()).unwrap();
    assert_eq!((c.method, c.note), (Method::Both, None));
}

/// Row 2: a work budget of its own, checked before the run (at least the
/// first partitions' work) and charged while it runs: a budget between the
/// first partitions and what the adaptive refinement takes stops the run,
/// saying so, instead of letting it go on.
#[test]
fn the_exact_method_has_a_cost_model_and_a_meter() {
    let text = "scenarios = 1\n[pool]\ncapital = \"100万\"\n[dependence]\nrho = 0.2\ncopula = \"t\"\nnu = 4\n\
                [[portfolio.segments]]\ncount = 40\ntotal = \"4000万\"\nsize_sigma = 0.7\npd = 0.03\nlgd = 0.5\n";
    let m = model(text);
    let small = Options {
        lattice_points: 256,
        ..Options::default()
    };
    let c = analytic::cost(&m, &small).unwrap();
    let least = c.setup_work + c.first_pass_work;
    assert!(least > 0.0 && c.expected_work > least, "{c:?}");
    // under the least: refused before it starts
    let refuse = Options {
        max_work: (least * 0.5) as u64,
        ..small
    };
    match analytic::analyze(&m, &refuse, &Control::default()) {
        Err(AnalyticError::TooCostly(why)) => {
            assert!(why.contains("riskpool.max_analytic_work"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // just over the least: it starts, and the meter stops it in the
    // refinement the t copula's χ² scale needs
    let meter = Options {
        max_work: (least * 1.05) as u64,
        ..small
    };
    match analytic::analyze(&m, &meter, &Control::default()) {
        Err(AnalyticError::TooCostly(why)) => assert!(why.contains("stopped after"), "{why}"),
        other => panic!("{other:?}"),
    }
    // with room it runs
    assert!(analytic::analyze(&m, &small, &Control::default()).is_ok());
    // the default method, over its budget at run time, falls back to
    // Monte Carlo and says so; asked for, it fails
    let choice = run::Choice {
        method: Method::Both,
        note: None,
    };
    let m100 = model(&text.replace("scenarios = 1", "scenarios = 2000"));
    let out = run::simulate(
        &m100,
        &choice,
        true,
        &meter,
        &Control::default(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(out.method, Method::MonteCarlo);
    assert!(out.monte_carlo.is_some() && out.analytic.is_none());
    assert!(out.notes[0].contains("stopped after"), "{:?}", out.notes);
    assert!(matches!(
        run::simulate(
            &m100,
            &choice,
            false,
            &meter,
            &Control::default(),
            &mut |_| {}
        ),
        Err(RunError::Analytic(AnalyticError::TooCostly(_)))
    ));
}

async fn client(
    cfg: Config,
) -> (
    common::TestServer,
    RiskPoolServiceClient<tonic::transport::Channel>,
) {
    let srv = common::start_with(cfg).await;
    let c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    (srv, c)
}

fn analytic_request(text: &str) -> pb::SimulatePoolRequest {
    pb::SimulatePoolRequest {
        spec: Some(toml(text)),
        method: pb::SimulationMethod::Analytic as i32,
        ..Default::default()
    }
}

/// Rows 1 and 2 over gRPC: INVALID_ARGUMENT on `method`, in milliseconds,
/// naming the budget and what to change.
#[tokio::test]
async fn the_server_refuses_exact_runs_over_its_budgets() {
    let mut cfg = Config::default();
    cfg.riskpool.max_run_bytes = 256 << 20;
    cfg.riskpool.max_analytic_work = 10_000_000_000;
    let (srv, mut c) = client(cfg).await;
    let t0 = Instant::now();
    let e = c
        .simulate_pool(analytic_request(&beta_book(3, 4000, 1)))
        .await
        .unwrap_err();
    eprintln!("refused in {:?}: {}", t0.elapsed(), e.message());
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert_eq!(fields(&e), ["method"]);
    let details = e.get_error_details();
    let msg = &details.bad_request().unwrap().field_violations[0].description;
    assert!(
        msg.contains("lattice_points") && msg.contains("Monte Carlo"),
        "{msg}"
    );
    // the sector book is over the work budget
    let sectors = std::fs::read_to_string("benches/sectors.toml").unwrap();
    let e = c
        .simulate_pool(analytic_request(&sectors))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("riskpool.max_analytic_work"),
        "{}",
        e.message()
    );
    // a small book still runs by the exact method
    let ok = c
        .simulate_pool(analytic_request(&beta_book(1, 20, 1)))
        .await
        .unwrap();
    let mut s = ok.into_inner();
    let mut got = None;
    while let Some(m) = s.message().await.unwrap() {
        if let Some(pb::simulate_pool_response::Event::Result(r)) = m.event {
            got = Some(r);
        }
    }
    assert!(got.unwrap().analytic.is_some());
    srv.shutdown().await;
}

/// Row 3: a deadline during the exact method's set-up (the convolution
/// powers of 2 × 4,095 Beta loans) frees the slot at once: the set-up
/// checks the cancel flag between powers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_in_the_set_up_frees_the_slot() {
    let mut cfg = Config::default();
    cfg.riskpool.max_concurrent = 1;
    let (srv, mut c) = client(cfg).await;
    let mut req = tonic::Request::new(analytic_request(&beta_book(2, 4095, 1)));
    req.set_timeout(Duration::from_millis(300));
    let r = c.simulate_pool(req).await;
    let code = match r {
        Err(e) => e.code(),
        Ok(s) => {
            let mut s = s.into_inner();
            loop {
                match s.message().await {
                    Err(e) => break e.code(),
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("finished within 300 ms"),
                }
            }
        }
    };
    assert!(
        matches!(code, Code::DeadlineExceeded | Code::Cancelled),
        "{code:?}"
    );
    let t0 = Instant::now();
    loop {
        match c
            .simulate_pool(analytic_request(&beta_book(1, 10, 1)))
            .await
        {
            Ok(_) => break,
            Err(e) => assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}"),
        }
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "the slot was still held 2 s after the deadline"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("slot free {:?} after the deadline", t0.elapsed());
    srv.shutdown().await;
}

/// Row 5: with every slot busy, a request is refused before its spec is
/// even parsed (an invalid spec gets RESOURCE_EXHAUSTED, not a parse
/// error), with RetryInfo.
#[tokio::test]
async fn admission_comes_before_compilation() {
    let mut cfg = Config::default();
    cfg.riskpool.max_concurrent = 1;
    let (srv, mut c) = client(cfg).await;
    let mut long = c
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
    long.message().await.unwrap().unwrap();
    let t0 = Instant::now();
    let e = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: Some(toml("scenarios = \"not a number\"")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    let details = e.get_error_details();
    assert!(
        details
            .retry_info()
            .expect("RetryInfo")
            .retry_delay
            .is_some()
    );
    eprintln!("refused in {:?}", t0.elapsed());
    // the grid and the solver too
    let e = c
        .run_stress_grid(pb::RunStressGridRequest {
            spec: Some(toml("[[[")),
            pd_multipliers: vec![1.0],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    drop(long);
    srv.shutdown().await;
}

/// `n` sectors of one loan each.
fn one_loan_sectors(n: usize) -> String {
    let mut s = String::from("scenarios = 200\n[dependence]\nrho = 0.1\n");
    for i in 0..n {
        s += &format!(
            "[[portfolio.segments]]\ncount = 1\namount = \"10万\"\npd = 0.05\nlgd = 0.5\nsector = \"S{i}\"\n"
        );
    }
    s
}

/// Row 12: the answer's size is known before the run. The estimate bounds
/// the real answer (with and without the report), and a request whose
/// answer would not fit is refused at once, naming `report`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_too_large_is_refused_before_the_run() {
    use prost::Message;
    let (srv, mut c) = client(Config::default()).await;
    for n in [1usize, 300] {
        for report in [false, true] {
            let text = one_loan_sectors(n);
            let m = model(&text);
            let est = smefin::server::riskpool::answer_bytes(&m, report);
            let mut s = c
                .simulate_pool(pb::SimulatePoolRequest {
                    spec: Some(toml(&text)),
                    report,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let mut len = 0;
            while let Some(m) = s.message().await.unwrap() {
                len = len.max(m.encoded_len() as u64);
            }
            eprintln!("{n} sectors, report {report}: {len} bytes, estimated {est}");
            assert!(len <= est, "{n} sectors, report {report}: {len} > {est}");
            assert!(est < 4 * len + 300_000, "{n}, {report}: {est} ≫ {len}");
        }
    }
    let t0 = Instant::now();
    let e = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: Some(toml(&one_loan_sectors(20_000))),
            report: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    eprintln!("refused in {:?}: {}", t0.elapsed(), e.message());
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(fields(&e), ["report"]);
    srv.shutdown().await;
}

/// Rows 7 and 8: `smefin merge` on edited parts. Each edit is refused with
/// a one-line message naming the file and the field, never a panic, never
/// a merge of changed figures; a part claiming 10¹⁸ shards is refused
/// without listing them.
#[test]
fn merge_checks_every_part_before_it_merges() {
    use crate::cli::{bin, stderr};
    let d = tempfile::tempdir().unwrap();
    let spec = d.path().join("lag.toml");
    std::fs::write(
        &spec,
        "scenarios = 400\nperiods = 4\nperiods_per_year = 4\n[pool]\ncapital = \"200万\"\nrecovery_lag = 2\n\
         [[portfolio.segments]]\ncount = 50\ntotal = \"1000万\"\npd = 0.08\nlgd = 0.5\n",
    )
    .unwrap();
    for k in 0..2 {
        let o = bin()
            .args([
                "simulate",
                "lag.toml",
                "--shard",
                &format!("{k}/2"),
                "--out",
                &format!("p{k}.json"),
            ])
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let p1: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("p1.json")).unwrap()).unwrap();
    let merge = |edit: &dyn Fn(&mut serde_json::Value), alone: bool| {
        let mut v = p1.clone();
        edit(&mut v);
        std::fs::write(d.path().join("edited.json"), v.to_string()).unwrap();
        let files: &[&str] = if alone {
            &["merge", "edited.json"]
        } else {
            &["merge", "p0.json", "edited.json"]
        };
        bin().args(files).current_dir(d.path()).output().unwrap()
    };
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "shards",
            Box::new(|v| v["shards"] = 1_000_000_000_000_000_000u64.into()),
        ),
        (
            "raw.loss",
            Box::new(|v| {
                v["raw"]["loss"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "raw.exhausted_period",
            Box::new(|v| v["raw"]["exhausted_period"] = serde_json::json!([])),
        ),
        (
            "raw.exhausted_period",
            Box::new(|v| v["raw"]["exhausted_period"][3] = 9.into()),
        ),
        (
            "raw.weight",
            Box::new(|v| v["raw"]["weight"] = serde_json::json!(vec![1.0; 200])),
        ),
        (
            "raw.bank_loss",
            Box::new(|v| v["raw"]["compensation"][0] = (-5).into()),
        ),
        (
            "raw.defaults",
            Box::new(|v| v["raw"]["defaults"][1] = 201.into()),
        ),
        (
            "raw.balance_hist",
            Box::new(|v| v["raw"]["balance_hist"][0][0] = u64::MAX.into()),
        ),
        (
            "raw.unfunded",
            Box::new(|v| v["raw"]["unfunded"][2] = (-1).into()),
        ),
    ];
    for (field, edit) in cases {
        let o = merge(edit.as_ref(), field == "shards");
        let e = stderr(&o);
        assert!(!o.status.success(), "{field}: merged");
        assert!(
            !e.contains("panicked") && e.trim().lines().count() == 1,
            "{field}: {e}"
        );
        let named = if field == "shards" { "missing" } else { field };
        assert!(
            e.contains("edited.json") || field == "shards",
            "{field}: {e}"
        );
        assert!(e.contains(named), "{field}: {e}");
    }
    // the parts as written merge
    let o = bin()
        .args(["merge", "p0.json", "p1.json"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}
