//! RiskPoolService through a real server and the generated client.

use crate::common;

use std::time::{Duration, Instant};

use smefin::riskpool::{self, Control, Limits, Model, Spec};
use smefin::server::pb;
use smefin::server::pb::risk_pool_service_client::RiskPoolServiceClient;
use tonic::Code;
use tonic_types::StatusExt;

fn spec(scenarios: u64) -> pb::PoolSpec {
    pb::PoolSpec {
        document: Some(pb::pool_spec::Document::Toml(
            riskpool::spec::DEFAULT_SPEC_TOML.into(),
        )),
        scenarios,
        seed: None,
    }
}

use crate::common::violation_fields as fields;

#[tokio::test]
async fn simulate_pool_streams_progress_then_the_same_result_as_the_library() {
    let srv = common::start().await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let mut stream = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: Some(spec(50_000)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut progress = 0;
    let mut result = None;
    while let Some(ev) = stream.message().await.unwrap() {
        match ev.event.unwrap() {
            pb::simulate_pool_response::Event::Progress(p) => {
                assert_eq!(p.total, 50_000);
                assert!(result.is_none(), "progress after the result");
                progress += 1;
            }
            pb::simulate_pool_response::Event::Result(r) => result = Some(r),
        }
    }
    assert!(progress >= 1);
    let r = result.expect("a result");
    let mut s = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    s.scenarios = 50_000;
    let m = Model::compile(&s, &Limits::default()).unwrap();
    let (_, want) = riskpool::monte_carlo(&m, 1, &Control::default()).unwrap();
    let p = r.exhaustion_probability.unwrap();
    assert_eq!(p.estimate, want.exhaustion_probability.estimate);
    assert_eq!(r.loss.unwrap().mean, want.loss.mean.to_fen_string());
    assert_eq!(
        r.compensation.unwrap().es,
        want.compensation.es.to_fen_string()
    );
    assert_eq!(r.defaults.unwrap().variance, want.defaults.variance);
    assert_eq!(r.capital, "30000000.00");
    assert_eq!(r.exposure, "600000000.00");
    assert!(r.vasicek.is_some());
    assert!(r.report_html.is_empty(), "a report nobody asked for");
    srv.shutdown().await;
}

/// Each run returns its HTML report in its final message when asked.
#[tokio::test]
async fn runs_return_their_html_report_when_asked() {
    let srv = common::start().await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let mut stream = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: Some(spec(5_000)),
            report: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut html = String::new();
    while let Some(ev) = stream.message().await.unwrap() {
        if let pb::simulate_pool_response::Event::Result(r) = ev.event.unwrap() {
            html = r.report_html;
        }
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("风险补偿资金池模拟报告"));
    assert!(html.contains("<svg") && !html.contains("<script"));
    assert!(html.contains("gRPC SimulatePool"));
    let g = c
        .run_stress_grid(pb::RunStressGridRequest {
            spec: Some(spec(3_000)),
            pd_multipliers: vec![1.0, 2.0],
            rhos: vec![0.1, 0.2],
            report: true,
            report_target: 0.01,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(g.report_html.contains("压力测试报告"));
    assert_eq!(
        g.report_html.matches("<rect class=\"series cell").count(),
        4
    );
    // under basel_sme a ρ axis is refused, naming the axis and the setting
    let basel =
        riskpool::spec::DEFAULT_SPEC_TOML.replace("[dependence]", "[dependence]\nbasel_sme = true");
    assert!(basel.contains("basel_sme = true"));
    let e = c
        .run_stress_grid(pb::RunStressGridRequest {
            spec: Some(pb::PoolSpec {
                document: Some(pb::pool_spec::Document::Toml(basel)),
                scenarios: 1_000,
                seed: None,
            }),
            rhos: vec![0.1, 0.2],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(fields(&e), vec!["rhos", "spec.dependence.basel_sme"]);
    for bad in [
        1.5,
        1.0,
        -0.01,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -f64::MIN_POSITIVE,
    ] {
        let e = c
            .run_stress_grid(pb::RunStressGridRequest {
                spec: Some(spec(3_000)),
                report: true,
                report_target: bad,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        assert_eq!(fields(&e), vec!["report_target"], "{bad}");
    }
    let r = c
        .solve_leverage(pb::SolveLeverageRequest {
            spec: Some(spec(3_000)),
            target: 0.01,
            solve: pb::LeverageTarget::Scale as i32,
            report: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.path.len() as u32, r.steps);
    assert!(r.report_html.contains("放大倍数测算报告"));
    // the conservative answer: its whole interval within the target, at a
    // scale no larger than the point answer's; the report headlines it
    let sure = r.conservative.unwrap();
    let q = sure.exhaustion_probability.unwrap();
    assert!(q.ci95_high <= 0.01, "{q:?}");
    let money = |s: &str| s.parse::<f64>().unwrap();
    assert!(money(&sure.exposure) <= money(&r.exposure));
    assert!(r.exhaustion_probability.unwrap().ci95_high > 0.01);
    assert!(r.report_html.contains("授信规模（稳健口径）"));
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_specs_are_invalid_argument_naming_the_field() {
    let srv = common::start().await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let bad = |toml: &str| pb::SimulatePoolRequest {
        spec: Some(pb::PoolSpec {
            document: Some(pb::pool_spec::Document::Toml(toml.into())),
            scenarios: 0,
            seed: None,
        }),
        ..Default::default()
    };
    let e = c
        .simulate_pool(bad(
            "[dependence]\nrho = 1.2\n[[portfolio.loans]]\namount = \"1万\"\npd = 1.5\n",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&e),
        vec!["spec.dependence.rho", "spec.portfolio.loans[0].pd"]
    );
    let e = c
        .simulate_pool(bad(
            "scenarios = 1000000000000\n[[portfolio.loans]]\namount = \"1万\"\npd = 0.1\n",
        ))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["spec.scenarios"]);
    let e = c
        .simulate_pool(bad("[pool]\ncapital = \"-3000万\"\n"))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["spec.pool.capital"]);
    let e = c
        .simulate_pool(bad("[portfolio]\ncsv = \"/etc/passwd\"\n"))
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["spec.portfolio.csv"]);
    let e = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["spec"]);
    let json = pb::SimulatePoolRequest {
        spec: Some(pb::PoolSpec {
            document: Some(pb::pool_spec::Document::Json("{\"seed\": -1}".into())),
            scenarios: 0,
            seed: None,
        }),
        ..Default::default()
    };
    let e = c.simulate_pool(json).await.unwrap_err();
    assert_eq!(fields(&e), vec!["spec.seed"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn excess_simulations_are_refused_and_cancellation_frees_the_slot() {
    let mut cfg = smefin::config::Config::default();
    cfg.riskpool.max_concurrent = 1;
    let srv = common::start_with(cfg).await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    // a long run: 20M scenarios of the default book
    let mut long = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: Some(spec(20_000_000)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = long.message().await.unwrap().unwrap();
    assert!(matches!(
        first.event,
        Some(pb::simulate_pool_response::Event::Progress(_))
    ));
    let e = c
        .simulate_pool(pb::SimulatePoolRequest {
            spec: Some(spec(1000)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(
        e.get_error_details().error_info().unwrap().reason,
        "SIMULATIONS_BUSY"
    );
    // the client goes away: the run stops and its slot frees
    drop(long);
    let t0 = Instant::now();
    loop {
        match c
            .simulate_pool(pb::SimulatePoolRequest {
                spec: Some(spec(1000)),
                ..Default::default()
            })
            .await
        {
            Ok(s) => {
                drop(s);
                break;
            }
            Err(e) => assert_eq!(e.code(), Code::ResourceExhausted),
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the cancelled run never released its slot"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("slot freed {:?} after the client went away", t0.elapsed());
    srv.shutdown().await;
}

#[tokio::test]
async fn deadline_stops_a_simulation() {
    let srv = common::start().await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let mut req = tonic::Request::new(pb::SimulatePoolRequest {
        spec: Some(spec(20_000_000)),
        ..Default::default()
    });
    req.set_timeout(Duration::from_millis(300));
    let mut stream = c.simulate_pool(req).await.unwrap().into_inner();
    let end = loop {
        match stream.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("stream ended without an error"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(end.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{end:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn stress_grid_leverage_and_presets() {
    let srv = common::start().await;
    let mut c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let g = c
        .run_stress_grid(pb::RunStressGridRequest {
            spec: Some(spec(20_000)),
            pd_multipliers: vec![1.0, 2.0],
            rhos: vec![0.1, 0.2],
            shares: vec![],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(g.cells.len(), 4);
    let p = |i: usize| g.cells[i].exhaustion_probability.unwrap().estimate;
    // common random numbers: more PD or more correlation never lowers the estimate
    assert!(
        p(0) <= p(1) && p(0) <= p(2) && p(2) <= p(3),
        "{:?}",
        g.cells
    );
    // A grid of 150,000 × 150,000 values (2.4 MB on the wire) is refused by
    // counting, before anything is listed: listing its 2.25·10¹⁰ cells first
    // took the server past 16 GB.
    let e = c
        .run_stress_grid(pb::RunStressGridRequest {
            spec: Some(spec(20_000)),
            pd_multipliers: vec![1.0; 150_000],
            rhos: vec![0.1; 150_000],
            shares: vec![],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(fields(&e), vec!["pd_multipliers"]);
    assert!(
        e.message()
            .contains("22500000000 cells exceed the limit of 400"),
        "{e:?}"
    );

    let r = c
        .solve_leverage(pb::SolveLeverageRequest {
            spec: Some(spec(20_000)),
            target: 0.01,
            solve: pb::LeverageTarget::Scale as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.exhaustion_probability.unwrap().estimate <= 0.01);
    assert!(r.leverage > 20.0, "{r:?}");
    let e = c
        .solve_leverage(pb::SolveLeverageRequest {
            spec: Some(spec(20_000)),
            target: 1.5,
            solve: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["target", "solve"]);

    let presets = c
        .list_scenario_presets(pb::ListScenarioPresetsRequest {})
        .await
        .unwrap()
        .into_inner()
        .presets;
    let names: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["baseline", "adverse", "severe", "sector_shock"]);
    srv.shutdown().await;
}

/// `method`: the analytic engine alone and both with their certificate;
/// a model it does not apply to, and a value that is no method, are
/// INVALID_ARGUMENT on `method`.
#[tokio::test]
async fn simulate_pool_computes_analytically_and_certifies_when_asked() {
    let srv = common::start().await;
    let c = RiskPoolServiceClient::connect(srv.url()).await.unwrap();
    let small = |scenarios: u64| pb::PoolSpec {
        document: Some(pb::pool_spec::Document::Toml(
            "[pool]\ncapital = \"100万\"\ncompensation_share = 0.5\n\
             [[portfolio.segments]]\ncount = 100\namount = \"20万\"\npd = 0.05\nlgd = 0.5\n"
                .into(),
        )),
        scenarios,
        seed: Some(7),
    };
    let result = |req: pb::SimulatePoolRequest| {
        let mut c = c.clone();
        async move {
            let mut stream = c.simulate_pool(req).await?.into_inner();
            let mut last = None;
            while let Some(ev) = stream.message().await? {
                if let pb::simulate_pool_response::Event::Result(r) = ev.event.unwrap() {
                    last = Some(r);
                }
            }
            Ok::<_, tonic::Status>(last.unwrap())
        }
    };
    // analytic only: no scenarios, the library's figures (mean loss
    // 100 × 5% × 20万 × 0.5 = 50万)
    let r = result(pb::SimulatePoolRequest {
        from_pool: None,
        spec: Some(small(1_000)),
        method: pb::SimulationMethod::Analytic.into(),
        report: true,
    })
    .await
    .unwrap();
    assert_eq!(r.method, pb::SimulationMethod::Analytic as i32);
    assert_eq!(r.scenarios, 0);
    let a = r.analytic.unwrap();
    let model = Model::compile(
        &Spec::from_toml(
            "seed = 7\nscenarios = 1000\n[pool]\ncapital = \"100万\"\ncompensation_share = 0.5\n\
             [[portfolio.segments]]\ncount = 100\namount = \"20万\"\npd = 0.05\nlgd = 0.5\n",
        )
        .unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let lib = riskpool::analytic::analyze(
        &model,
        &riskpool::analytic::Options::default(),
        &Control::default(),
    )
    .unwrap();
    let e = a.exhaustion_probability.unwrap();
    assert_eq!(e.estimate, lib.exhaustion_probability.estimate);
    assert!(a.exact_lattice);
    assert_eq!(a.loss.unwrap().mean.unwrap().estimate, "500000.00");
    assert!(r.report_html.contains("风险补偿资金池解析报告"));
    assert!(r.certificate.is_none());
    // both: Monte Carlo, the analytic figures and a certificate that agrees
    let r = result(pb::SimulatePoolRequest {
        from_pool: None,
        spec: Some(small(20_000)),
        method: pb::SimulationMethod::Both.into(),
        report: true,
    })
    .await
    .unwrap();
    assert_eq!(r.scenarios, 20_000);
    let cert = r.certificate.unwrap();
    assert_eq!(cert.lines.len(), 3);
    assert!(cert.agree, "{cert:?}");
    assert!(r.report_html.contains("两种方法核验"));
    // unspecified stays Monte Carlo
    let r = result(pb::SimulatePoolRequest {
        spec: Some(small(2_000)),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(r.method, pb::SimulationMethod::MonteCarlo as i32);
    assert!(r.analytic.is_none());
    // several periods: refused, saying why
    let multi = pb::PoolSpec {
        document: Some(pb::pool_spec::Document::Toml(
            "periods = 4\nperiods_per_year = 4\n[[portfolio.segments]]\ncount = 10\namount = \"10万\"\npd = 0.02\n"
                .into(),
        )),
        scenarios: 1_000,
        seed: None,
    };
    for (spec, method) in [
        (multi, pb::SimulationMethod::Analytic as i32),
        (small(1_000), 9),
        (small(1_000), -1),
    ] {
        let e = result(pb::SimulatePoolRequest {
            from_pool: None,
            spec: Some(spec),
            method,
            report: false,
        })
        .await
        .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{method}: {e:?}");
        assert_eq!(fields(&e), vec!["method"]);
        if method == 2 {
            assert!(
                e.message().contains("4 periods")
                    || format!("{:?}", e.get_details_bad_request()).contains("4 periods"),
                "{e:?}"
            );
        }
    }
    srv.shutdown().await;
}
