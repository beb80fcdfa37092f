//! Replicas on one PostgreSQL, and the faults a province will meet: a replica
//! killed with SIGKILL mid-ingest, the database stopped for 5 s under load,
//! the database killed (`pg_ctl stop -m immediate`) and restarted. Nothing
//! acknowledged is lost in any of them.

use std::collections::HashMap;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smefin::server::pb;
use smefin::server::pb::incentive_service_client::IncentiveServiceClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::common::pg::PgCluster;
use crate::durability::start_with;

/// A smefin server process on the database at `url`.
pub(crate) struct Replica {
    child: Child,
    pub(crate) url: String,
    _data: tempfile::TempDir,
}

impl Replica {
    pub(crate) fn start(db: &str) -> Replica {
        let data = tempfile::tempdir().unwrap();
        let (child, url) = start_with(
            data.path(),
            &[
                ("SMEFIN__STORE__URL", db),
                ("SMEFIN__STORE__CONNECT_TIMEOUT_SECONDS", "1"),
                // (the load below writes thousands of versions of one bank's
                // quarter; the per-bank quota is not what is tested here)
                ("SMEFIN__STORE__MAX_VERSIONS_PER_QUARTER", "4294967295"),
            ],
        );
        Replica {
            child,
            url,
            _data: data,
        }
    }

    pub(crate) fn kill(&mut self) {
        if self.child.try_wait().is_ok_and(|s| s.is_none()) {
            let _ = self.child.kill(); // SIGKILL
        }
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

fn report(id: &str, balance: &str) -> pb::SubmitBalanceReportRequest {
    pb::SubmitBalanceReportRequest {
        request_id: id.into(),
        bank_id: "JXB".into(),
        period: "2024Q1".into(),
        balance: balance.into(),
    }
}

/// Registers the bank JXB (a 城市商业银行) through the server at `url`.
pub(crate) async fn register(url: &str) {
    let mut c = IncentiveServiceClient::connect(url.to_string())
        .await
        .unwrap();
    c.register_bank(pb::RegisterBankRequest {
        bank_id: "JXB".into(),
        name: "江西银行".into(),
        institution_type: 6,
    })
    .await
    .unwrap();
}

/// Every stored report, through ListReports page by page.
pub(crate) async fn all_reports(url: &str) -> Vec<pb::BalanceReport> {
    let mut c = IncentiveServiceClient::connect(url.to_string())
        .await
        .unwrap();
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let r = c
            .list_reports(pb::ListReportsRequest {
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(r.reports);
        if r.next_page_token.is_empty() {
            return all;
        }
        token = r.next_page_token;
    }
}

/// Every acknowledged (request id → version, balance) is stored as it was
/// acknowledged; versions are 1..n with no gap.
fn check_stored(stored: &[pb::BalanceReport], acked: &HashMap<String, (u32, String)>) {
    let found: HashMap<&str, (u32, &str)> = stored
        .iter()
        .map(|r| (r.request_id.as_str(), (r.version, r.balance.as_str())))
        .collect();
    for (id, (v, b)) in acked {
        assert_eq!(
            found.get(id.as_str()),
            Some(&(*v, b.as_str())),
            "acknowledged write {id} was lost or changed"
        );
    }
    let mut versions: Vec<u32> = stored.iter().map(|r| r.version).collect();
    versions.sort_unstable();
    let n = versions.len() as u32;
    assert_eq!(versions, (1..=n).collect::<Vec<_>>(), "versions have a gap");
}

#[test]
fn two_replicas_one_killed_mid_ingest_lose_nothing() {
    let Some(pg) = PgCluster::start() else { return };
    let db = pg.database("smefin");
    let a = Replica::start(&db);
    let mut b = Replica::start(&db);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (writers, each) = (8, 60);
    let acked: Arc<Mutex<HashMap<String, (u32, String)>>> = Arc::default();
    let failovers = Arc::new(Mutex::new(0));
    rt.block_on(async {
        register(&a.url).await;
        let mut tasks = Vec::new();
        for w in 0..writers {
            // half the submitters on each replica; the survivor is `a`
            let first = if w % 2 == 0 { &a.url } else { &b.url }.clone();
            let survivor = a.url.clone();
            let (acked, failovers) = (acked.clone(), failovers.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = IncentiveServiceClient::connect(first).await.unwrap();
                for k in 0..each {
                    let id = format!("w{w}-{k}");
                    let balance = format!("{}.{:02}", 1_000_000 + k, w);
                    let r = match c.submit_balance_report(report(&id, &balance)).await {
                        Ok(r) => r,
                        Err(_) => {
                            // the replica is gone: the client retries the
                            // same request id through the other one
                            *failovers.lock().unwrap() += 1;
                            c = IncentiveServiceClient::connect(survivor.clone())
                                .await
                                .unwrap();
                            c.submit_balance_report(report(&id, &balance))
                                .await
                                .unwrap()
                        }
                    };
                    let r = r.into_inner().report.unwrap();
                    acked.lock().unwrap().insert(id, (r.version, r.balance));
                }
            }));
        }
        // SIGKILL one replica while every submitter is mid-flight
        while acked.lock().unwrap().len() < writers * each / 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        b.kill();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let failovers = *failovers.lock().unwrap();
    assert!(
        failovers > 0,
        "the kill came after every submitter on it had finished"
    );
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), writers * each);
    let stored = rt.block_on(all_reports(&a.url));
    check_stored(&stored, &acked);
    // every request stored once, even those retried after the kill
    assert_eq!(stored.len(), writers * each);
    // an acknowledged request id again, through the other replica: nothing new
    let (v, bal) = acked["w1-0"].clone();
    let again = rt.block_on(async {
        let mut c = IncentiveServiceClient::connect(a.url.clone())
            .await
            .unwrap();
        c.submit_balance_report(report("w1-0", &bal))
            .await
            .unwrap()
            .into_inner()
    });
    assert_eq!(again.report.unwrap().version, v);
    assert_eq!(rt.block_on(all_reports(&a.url)).len(), writers * each);
    // SIGTERM: the survivor drains and exits cleanly, closing its connections
    let mut a = a;
    let pid = a.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = a.child.wait().unwrap();
    assert!(
        status.success(),
        "the replica exited with {status} on SIGTERM"
    );
    eprintln!(
        "{} writes over two replicas, {failovers} retried through the survivor",
        acked.len()
    );
}

/// What the load saw: each call's start, end and outcome.
type Calls = Arc<Mutex<Vec<(Instant, Instant, Result<(), Code>)>>>;

/// The database goes away for 5 s under load (`mode`: how pg_ctl stops it),
/// then comes back.
fn database_outage(mode: &str) {
    let Some(pg) = PgCluster::start() else { return };
    let db = pg.database("smefin");
    let a = Replica::start(&db);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let deadline = Duration::from_secs(3);
    let calls: Calls = Arc::default();
    let health: Arc<Mutex<Vec<(Instant, i32)>>> = Arc::default();
    let acked: Arc<Mutex<HashMap<String, (u32, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (down, up) = rt.block_on(async {
        register(&a.url).await;
        let channel = Channel::from_shared(a.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for w in 0..4 {
            let (channel, calls, acked, stop) =
                (channel.clone(), calls.clone(), acked.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = IncentiveServiceClient::new(channel);
                let mut k = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let id = format!("w{w}-{k}");
                    let balance = format!("{}.{:02}", 1_000 + k, w);
                    let mut req = tonic::Request::new(report(&id, &balance));
                    req.set_timeout(deadline);
                    let t = Instant::now();
                    let r = c.submit_balance_report(req).await;
                    let outcome = match r {
                        Ok(r) => {
                            let r = r.into_inner().report.unwrap();
                            acked.lock().unwrap().insert(id, (r.version, r.balance));
                            k += 1;
                            Ok(())
                        }
                        // a failed id is retried next round, as a client would
                        Err(s) => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Err(s.code())
                        }
                    };
                    calls.lock().unwrap().push((t, Instant::now(), outcome));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
        }
        {
            let (channel, health, stop) = (channel.clone(), health.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut h = HealthClient::new(channel);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let s = h
                        .check(tonic_health::pb::HealthCheckRequest {
                            service: "smefin.v1.IncentiveService".into(),
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .status;
                    health.lock().unwrap().push((Instant::now(), s));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        let pg = &pg;
        let mode = mode.to_string();
        let (down, up) = tokio::task::block_in_place(move || {
            pg.stop(&mode);
            let down = Instant::now();
            std::thread::sleep(Duration::from_secs(5));
            pg.start_again();
            (down, Instant::now())
        });
        tokio::time::sleep(Duration::from_secs(4)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        (down, up)
    });
    let calls = calls.lock().unwrap().clone();
    let failed: Vec<_> = calls.iter().filter(|c| c.2.is_err()).collect();
    assert!(
        !failed.is_empty(),
        "no call failed while the database was down"
    );
    for (start, end, outcome) in &failed {
        assert_eq!(
            *outcome,
            Err(Code::Unavailable),
            "a call failed otherwise than UNAVAILABLE"
        );
        assert!(*end - *start <= deadline, "a call outlived its deadline");
    }
    // nothing fails from 2 s after the database is back, and calls succeed
    let recovered = up + Duration::from_secs(2);
    let late: Vec<_> = failed.iter().filter(|c| c.0 >= recovered).collect();
    assert!(
        late.is_empty(),
        "{} calls failed more than 2 s after the database returned",
        late.len()
    );
    assert!(calls.iter().any(|c| c.0 >= recovered && c.2.is_ok()));
    let first_ok = calls
        .iter()
        .filter(|c| c.0 >= up && c.2.is_ok())
        .map(|c| c.1)
        .min()
        .unwrap();
    // health: NOT_SERVING while down, SERVING again within 2 s of the return
    let health = health.lock().unwrap().clone();
    let serving = ServingStatus::Serving as i32;
    assert!(
        health
            .iter()
            .any(|(t, s)| *t > down && *t < up && *s != serving),
        "health never reported NOT_SERVING while the database was down"
    );
    assert!(
        health
            .iter()
            .filter(|(t, _)| *t >= recovered)
            .all(|(_, s)| *s == serving),
        "health was not SERVING 2 s after the database returned"
    );
    let acked = acked.lock().unwrap().clone();
    let stored = rt.block_on(all_reports(&a.url));
    check_stored(&stored, &acked);
    eprintln!(
        "{mode}: {} calls, {} UNAVAILABLE; first success {:?} after the database returned; {} acknowledged, {} stored",
        calls.len(),
        failed.len(),
        first_ok.saturating_duration_since(up),
        acked.len(),
        stored.len()
    );
}

#[test]
fn database_stopped_for_5_s_under_load() {
    database_outage("fast");
}

#[test]
fn database_killed_and_restarted() {
    database_outage("immediate");
}
