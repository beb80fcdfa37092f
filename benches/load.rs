//! Load, isolation and memory figures for the gRPC server
//! (`cargo bench --bench load`; loopback only, bounded in count and time).
//!
//! 1. MatchEnterprise at concurrency 1, 16 and 64: throughput and latency
//!    percentiles, each level capped at `REQUESTS` requests or `CAP` seconds.
//! 2. Isolation: three rounds of concurrency 16 idle and then while the
//!    maximum number of simulations runs (p99 ratio per round and median);
//!    one simulation more must get RESOURCE_EXHAUSTED.
//! 3. Cancellation: how long after their clients go away the simulations'
//!    slots are free again, and how late a run whose deadline passes stops.
//! 4. Open loop (`open`): MatchEnterprise at fixed arrival rates
//!    (`SMEFIN_LOAD_RATES`, requests per second, default 500,1000,2000,4000)
//!    for 5 s each. Each request is due at start + i/rate and its latency
//!    counts from then, not from when it was sent, so a slow answer delays
//!    no later request's clock (no coordinated omission).
//!
//! The server runs in this process on its own runtime; the client on
//! another. Both share the machine's cores, as a co-located client would:
//! by default one thread each (`server.worker_threads = 1`), so on a 2-core
//! machine neither oversubscribes the cores. Settings (environment):
//! `SMEFIN_LOAD_SERVER_THREADS`, `SMEFIN_LOAD_CLIENT_THREADS` (runtime
//! threads, default 1 each), `SMEFIN_LOAD_CONNECTIONS` (HTTP/2 connections
//! the calls are spread over, default 1), `SMEFIN_LOAD_SIM_THREADS`
//! (simulation pool, default every core but one), `SMEFIN_LOAD_PARTS`.

use std::time::{Duration, Instant};

use smefin::server::pb;
use smefin::server::pb::matching_service_client::MatchingServiceClient;
use smefin::server::pb::risk_pool_service_client::RiskPoolServiceClient;
use tonic::transport::Channel;

#[path = "../tests/common/mod.rs"]
mod common;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REQUESTS: usize = 40_000;
const CAP: Duration = Duration::from_secs(8);

fn profile() -> pb::EnterpriseProfile {
    pb::EnterpriseProfile {
        name: "南昌某新材料科技有限公司".into(),
        region_code: Some("360102".into()),
        industry_code: Some("C3562".into()),
        employees: Some(24),
        annual_revenue: Some("1800万".into()),
        total_assets: Some("2600万".into()),
        certifications: vec![pb::Certification::ZjtxProvincial as i32],
        in_industrial_park: Some(true),
        tax_credit_grade: Some(pb::TaxCreditGrade::A as i32),
        has_bank_loans: Some(true),
        new_eligible_hires: Some(3),
        wage_or_social_insurance_arrears: Some(false),
        request: Some(pb::FinancingRequest {
            amount: Some("300万".into()),
            term_months: Some(12),
            purpose: None,
        }),
        ..Default::default()
    }
}

struct Stats {
    n: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
}

async fn load(chs: &[Channel], concurrency: usize) -> Stats {
    let per = REQUESTS / concurrency;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..concurrency {
        let mut c = MatchingServiceClient::new(chs[k % chs.len()].clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for _ in 0..per {
                if start.elapsed() > CAP {
                    break;
                }
                let t = Instant::now();
                c.match_enterprise(pb::MatchEnterpriseRequest {
                    profile: Some(profile()),
                    as_of: "2024-06-01".into(),
                    product_ids: vec![],
                    view: 0,
                })
                .await
                .expect("MatchEnterprise");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let q = |p: f64| all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1];
    Stats {
        n: all.len(),
        secs,
        p50: q(0.5),
        p99: q(0.99),
        p999: q(0.999),
    }
}

/// Requests due at start + i/rate for `secs`, each sent by its own task;
/// latency from the due time to the answer.
async fn open_loop(chs: &[Channel], rate: f64, secs: f64) -> Stats {
    let n = (rate * secs) as usize;
    let start = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let mut c = MatchingServiceClient::new(chs[i % chs.len()].clone());
        tasks.push(tokio::spawn(async move {
            let sent = tokio::time::Instant::now();
            c.match_enterprise(pb::MatchEnterpriseRequest {
                profile: Some(profile()),
                as_of: "2024-06-01".into(),
                product_ids: vec![],
                view: 0,
            })
            .await
            .expect("MatchEnterprise");
            (due.elapsed(), sent - due)
        }));
    }
    let mut all = Vec::with_capacity(n);
    let mut late = Vec::with_capacity(n);
    let mut service = Vec::with_capacity(n);
    for t in tasks {
        let (l, s) = t.await.unwrap();
        all.push(l);
        late.push(s);
        service.push(l - s);
    }
    let secs = (tokio::time::Instant::now() - start).as_secs_f64();
    all.sort_unstable();
    late.sort_unstable();
    service.sort_unstable();
    let q =
        |v: &[Duration], p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  sent late by p50 {:.3} / p99 {:.3} ms (the client's timer and work: counted below); from send to answer p50 {:.3} / p99 {:.3} / p999 {:.3} ms",
        ms(q(&late, 0.5)),
        ms(q(&late, 0.99)),
        ms(q(&service, 0.5)),
        ms(q(&service, 0.99)),
        ms(q(&service, 0.999))
    );
    Stats {
        n: all.len(),
        secs,
        p50: q(&all, 0.5),
        p99: q(&all, 0.99),
        p999: q(&all, 0.999),
    }
}

fn row(label: &str, s: &Stats) {
    println!(
        "{label:<34} {:>8} req {:>9.0} req/s   p50 {:>7.3} ms   p99 {:>7.3} ms   p999 {:>7.3} ms",
        s.n,
        s.n as f64 / s.secs,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.p999.as_secs_f64() * 1e3
    );
}

/// Peak resident set of this process (server and client), MB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn sim_request(scenarios: u64) -> pb::SimulatePoolRequest {
    pb::SimulatePoolRequest {
        spec: Some(pb::PoolSpec {
            document: Some(pb::pool_spec::Document::Toml(
                smefin::riskpool::spec::DEFAULT_SPEC_TOML.into(),
            )),
            scenarios,
            seed: None,
        }),
        ..Default::default()
    }
}

/// Two simulations of `scenarios`, retrying every millisecond until the
/// server admits both (at most 10 s).
async fn admit_two(
    rp: &mut RiskPoolServiceClient<Channel>,
    scenarios: u64,
) -> Vec<tonic::Response<tonic::Streaming<pb::SimulatePoolResponse>>> {
    let t = Instant::now();
    let mut held = Vec::new();
    while held.len() < 2 {
        match rp.simulate_pool(sim_request(scenarios)).await {
            Ok(s) => held.push(s),
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
        assert!(t.elapsed() < Duration::from_secs(10), "slots never freed");
    }
    held
}

/// Whether a section runs: `SMEFIN_LOAD_PARTS` lists them (comma-separated:
/// load, memory, isolation); all by default.
fn part(name: &str) -> bool {
    std::env::var("SMEFIN_LOAD_PARTS").map_or(true, |v| v.split(',').any(|p| p.trim() == name))
}

/// A numeric setting from the environment.
fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; anything else is ignored.
    let threads_for_sims = knob("SMEFIN_LOAD_SIM_THREADS", 0);
    let server_threads = knob("SMEFIN_LOAD_SERVER_THREADS", 1).max(1);
    let client_threads = knob("SMEFIN_LOAD_CLIENT_THREADS", 1).max(1);
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .thread_name("server")
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = smefin::config::Config::default();
    cfg.riskpool.threads = threads_for_sims;
    let server = server_rt.block_on(common::start_with(cfg));
    let addr = server.addr;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client_threads)
        .thread_name("client")
        .enable_all()
        .build()
        .unwrap();
    client_rt.block_on(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut chs = Vec::new();
        for _ in 0..knob("SMEFIN_LOAD_CONNECTIONS", 1).max(1) {
            chs.push(
                Channel::from_shared(format!("http://{addr}"))
                    .unwrap()
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .unwrap(),
            );
        }
        let ch = chs[0].clone();
        println!(
            "MatchEnterprise over loopback, {} cores, server threads {}, client threads {}, connections {}, simulation threads {}",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            server_threads,
            client_threads,
            chs.len(),
            if threads_for_sims == 0 {
                "all".to_string()
            } else {
                threads_for_sims.to_string()
            }
        );
        let _warm = load(&chs, 4).await;
        let levels: &[usize] = if part("load") { &[1, 16, 64] } else { &[] };
        for &c in levels {
            let s = load(&chs, c).await;
            row(&format!("concurrency {c}"), &s);
        }

        if part("open") {
            let rates: Vec<f64> = std::env::var("SMEFIN_LOAD_RATES")
                .unwrap_or_else(|_| "500,1000,2000,4000".into())
                .split(',')
                .filter_map(|r| r.trim().parse().ok())
                .collect();
            for rate in rates {
                let s = open_loop(&chs, rate, 5.0).await;
                row(&format!("open loop at {rate:.0} req/s"), &s);
            }
        }

        // Memory: BatchMatch streams of growing length; the peak must not grow with them.
        let mut m = MatchingServiceClient::new(ch.clone());
        let lengths: &[usize] = if part("memory") {
            &[100_000, 1_000_000]
        } else {
            &[]
        };
        for &n in lengths {
            let t = Instant::now();
            let reqs = (0..n).map(|i| pb::BatchMatchRequest {
                reference: i.to_string(),
                profile: Some(profile()),
                as_of: "2024-06-01".into(),
                view: 0,
            });
            let mut out = m
                .batch_match(tokio_stream::iter(reqs))
                .await
                .unwrap()
                .into_inner();
            let mut got = 0usize;
            while let Some(r) = out.message().await.unwrap() {
                assert!(r.result.is_some());
                got += 1;
            }
            assert_eq!(got, n);
            let secs = t.elapsed().as_secs_f64();
            println!(
                "BatchMatch of {n} profiles: {secs:.1} s, {:.0} profiles/s; process peak RSS {} MB",
                n as f64 / secs,
                peak_rss_mb()
            );
        }

        if !part("isolation") {
            return;
        }
        // Isolation: three rounds of concurrency 16 idle, then again with
        // every simulation slot filled with a long run; each round's ratio
        // compares two measurements taken seconds apart.
        let mut rp = RiskPoolServiceClient::new(ch.clone());
        let mut ratios = Vec::new();
        let mut streams = Vec::new();
        for round in 1..=3 {
            if !streams.is_empty() {
                drop(std::mem::take(&mut streams));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let idle = load(&chs, 16).await;
            for _ in 0..2 {
                let mut s = rp
                    .simulate_pool(sim_request(20_000_000))
                    .await
                    .unwrap()
                    .into_inner();
                let _ = s.message().await.unwrap();
                streams.push(s);
            }
            if round == 1 {
                let refused = rp
                    .simulate_pool(sim_request(1000))
                    .await
                    .err()
                    .map(|e| e.code());
                println!("third simulation while 2 run: {refused:?}");
            }
            let busy = load(&chs, 16).await;
            row(&format!("round {round}: concurrency 16, idle"), &idle);
            row(&format!("round {round}: same, 2 simulations"), &busy);
            ratios.push(busy.p99.as_secs_f64() / idle.p99.as_secs_f64());
        }
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "p99 ratio busy/idle by round: {}; median {:.2}",
            shown.join(", "),
            ratios[1]
        );

        // Cancellation: drop both streams; time until both slots are free
        // again (each new run is held until the next one is admitted).
        let t0 = Instant::now();
        drop(streams);
        let held = admit_two(&mut rp, 20_000_000).await;
        println!(
            "both slots free again {:.1} ms after their clients went away",
            t0.elapsed().as_secs_f64() * 1e3
        );
        let t1 = Instant::now();
        drop(held);
        let held = admit_two(&mut rp, 1000).await;
        println!(
            "runs cancelled right after their start: both slots free {:.1} ms after",
            t1.elapsed().as_secs_f64() * 1e3
        );
        for s in held {
            let mut s = s.into_inner();
            while s.message().await.unwrap().is_some() {}
        }

        // Deadline: a run whose 300 ms deadline passes mid-run; how late
        // its DEADLINE_EXCEEDED arrives (the error is sent once the run has
        // stopped).
        let mut late = Vec::new();
        for _ in 0..5 {
            let mut req = tonic::Request::new(sim_request(20_000_000));
            let limit = Duration::from_millis(300);
            req.set_timeout(limit);
            let t = Instant::now();
            let mut s = rp.simulate_pool(req).await.unwrap().into_inner();
            let code = loop {
                match s.message().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => break None,
                    Err(e) => break Some(e.code()),
                }
            };
            assert_eq!(code, Some(tonic::Code::DeadlineExceeded));
            late.push((t.elapsed().saturating_sub(limit)).as_secs_f64() * 1e3);
        }
        println!(
            "deadline of 300 ms: stopped and reported {} ms after it passed",
            late.iter()
                .map(|x| format!("{x:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    });
    server_rt.block_on(server.shutdown());
}
