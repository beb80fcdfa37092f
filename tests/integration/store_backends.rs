//! One behaviour suite, run against both store backends: the embedded
//! SQLite and a real PostgreSQL (a throwaway cluster started by the test).
//! Each test function takes a [`Backend`] and is run for each.

use std::sync::{Arc, Barrier};

use smefin::incentive::InstitutionType::CityCommercial;
use smefin::incentive::{
    Bank, BorrowerType, IncentiveRules, LoanRecord, LoanUse, Quarter, snapshot_balance,
};
use smefin::kernel::money::Yuan;
use smefin::store::StoreOptions;
use smefin::store::{IncentiveStore, Location, StoreError, Submission};

use crate::common::pg::PgCluster;

/// A store location and what keeps it alive.
pub(crate) enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgCluster, String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(..) => "postgres",
        }
    }

    fn location(&self) -> Location {
        match self {
            Backend::Sqlite(d) => Location::Sqlite(d.path().to_path_buf()),
            Backend::Postgres(_, url) => Location::Postgres(url.clone()),
        }
    }

    /// Opens a store on this backend (a second call is a second server on
    /// the same data).
    pub(crate) fn open(&self) -> Arc<dyn smefin::store::Backend> {
        smefin::store::open(&self.location(), &StoreOptions::default()).unwrap()
    }
}

/// SQLite always; PostgreSQL when installed (see `common::pg`).
pub(crate) fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite(tempfile::tempdir().unwrap())];
    if let Some(pg) = PgCluster::start() {
        let url = pg.database("smefin");
        v.push(Backend::Postgres(pg, url));
    }
    v
}

fn q(s: &str) -> Quarter {
    s.parse().unwrap()
}

fn jxb() -> Bank {
    Bank {
        bank_id: "JXB".into(),
        name: "江西银行".into(),
        institution_type: CityCommercial,
    }
}

fn total(
    s: &dyn IncentiveStore,
    id: &str,
    hash: &str,
    period: &str,
    wan: i64,
) -> Result<u32, StoreError> {
    s.submit(
        id,
        hash,
        "JXB",
        q(period),
        Submission::Total(Yuan::wan(wan)),
        "bank:JXB",
        &smefin::store::Quota::default(),
    )
    .map(|r| r.report.version)
}

fn versions_idempotency_and_statements(b: &Backend) {
    let s = b.open();
    s.register_bank(&jxb()).unwrap();
    assert_eq!(s.register_bank(&jxb()).unwrap(), jxb());
    let other = Bank {
        name: "别的".into(),
        ..jxb()
    };
    assert!(matches!(
        s.register_bank(&other),
        Err(StoreError::AlreadyExists(_))
    ));

    assert_eq!(total(s.as_ref(), "r1", "h1", "2023Q1", 10_000).unwrap(), 1);
    // same id, same content: the original, nothing stored twice
    let again = s
        .submit(
            "r1",
            "h1",
            "JXB",
            q("2023Q1"),
            Submission::Total(Yuan::wan(10_000)),
            "bank:JXB",
            &smefin::store::Quota::default(),
        )
        .unwrap();
    assert_eq!(again.report.version, 1);
    assert_eq!(again.report.balance, Yuan::wan(10_000));
    assert_eq!(s.reports(None, None, 0, 100).unwrap().len(), 1);
    // same id, other content
    assert!(matches!(
        total(s.as_ref(), "r1", "h2", "2023Q1", 1),
        Err(StoreError::AlreadyExists(_))
    ));
    // the same id from another submitter is another request
    s.submit(
        "r1",
        "h1",
        "JXB",
        q("2023Q3"),
        Submission::Total(Yuan::wan(5)),
        "bureau",
        &smefin::store::Quota::default(),
    )
    .unwrap();
    assert!(matches!(
        s.submit(
            "r9",
            "h9",
            "NOPE",
            q("2023Q1"),
            Submission::Total(Yuan::wan(1)),
            "bureau",
            &smefin::store::Quota::default()
        ),
        Err(StoreError::UnknownBank(_))
    ));
    total(s.as_ref(), "r2", "h", "2023Q2", 20_000).unwrap();
    let st = s
        .compute_statement(&IncentiveRules::default(), q("2023Q2"), None, "bureau")
        .unwrap();
    assert_eq!(st.statement.total, Yuan::wan(200));
    // restatement: a new version, the old kept; the recomputation shows the adjustment
    assert_eq!(total(s.as_ref(), "r3", "h3", "2023Q2", 18_000).unwrap(), 2);
    assert_eq!(
        s.reports(Some("JXB"), Some(q("2023Q2")), 0, 100)
            .unwrap()
            .len(),
        2
    );
    let st2 = s
        .compute_statement(&IncentiveRules::default(), q("2023Q2"), None, "bureau")
        .unwrap();
    assert_eq!(st2.statement.version, 2);
    assert_eq!(st2.statement.lines[0].adjustment, Some(Yuan::wan(-40)));
    let v1 = s.statement(q("2023Q2"), Some(1)).unwrap().unwrap();
    assert_eq!(v1.statement.total, Yuan::wan(200));
    assert_eq!(
        s.statement(q("2023Q2"), None)
            .unwrap()
            .unwrap()
            .statement
            .version,
        2
    );
    assert!(s.statement(q("2023Q2"), Some(3)).unwrap().is_none());
    // paging: oldest first
    let page = s.reports(None, None, 1, 2).unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].request_id, "r1");
    assert_eq!(page[0].submitted_by, "bureau");
    assert_eq!(s.banks_page(Some("JXB"), 0, 10).unwrap(), vec![jxb()]);
    assert!(s.banks_page(Some("NOPE"), 0, 10).unwrap().is_empty());
    assert!(s.banks_page(None, 1, 10).unwrap().is_empty());
    s.ping().unwrap();
    drop(s);
    // reopening keeps everything and does not re-run migrations
    let s = b.open();
    assert_eq!(s.reports(None, None, 0, 100).unwrap().len(), 4);
    assert_eq!(s.statement(q("2023Q2"), None).unwrap().unwrap(), st2);
}

fn loans(n: usize, seed: usize) -> Vec<LoanRecord> {
    (0..n)
        .map(|i| LoanRecord {
            loan_id: format!("L{seed}-{i}"),
            borrower_id: format!("B{}", i % 97),
            borrower_type: if i % 5 == 0 {
                BorrowerType::LargeMediumEnterprise
            } else {
                BorrowerType::SmallMicroEnterprise
            },
            purpose: LoanUse::Business,
            credit_line: Yuan::from_fen(50_000_000 + i as i64),
            balance: Yuan::from_fen(1_000_000 + 7 * i as i64),
        })
        .collect()
}

fn snapshots_keep_their_loans_and_money_to_the_fen(b: &Backend) {
    let s = b.open();
    s.register_bank(&jxb()).unwrap();
    let ls = loans(5_000, 1);
    let bal = snapshot_balance(&ls, Yuan::wan(1000));
    let r = s
        .submit(
            "snap",
            "hs",
            "JXB",
            q("2024Q1"),
            Submission::Snapshot(&ls, &bal),
            "bank:JXB",
            &smefin::store::Quota::default(),
        )
        .unwrap();
    assert_eq!(r.source, "snapshot");
    assert_eq!(r.loans, 5_000);
    assert_eq!(r.report.balance, bal.balance);
    assert_eq!(r.report.excluded, bal.excluded);
    // the fen survive the round trip: 4,000 eligible loans of 10,000 yuan + 7i fen
    let expect: i64 = (0..5_000i64)
        .filter(|i| i % 5 != 0)
        .map(|i| 1_000_000 + 7 * i)
        .sum();
    assert_eq!(r.report.balance, Yuan::from_fen(expect));
    let back = s.reports(Some("JXB"), Some(q("2024Q1")), 0, 10).unwrap();
    assert_eq!(back, vec![r]);
}

/// Two servers on the same data (PostgreSQL: two replicas) and 8 submitters
/// on the same (bank, period): versions 1..n without a gap; the same request
/// id raced from every submitter is stored once.
fn racing_submitters_leave_no_gap(b: &Backend) {
    let stores: Vec<Arc<dyn IncentiveStore>> = match b {
        // SQLite is one server's file: its submitters share one store
        Backend::Sqlite(_) => vec![b.open()],
        Backend::Postgres(..) => vec![b.open(), b.open()],
    };
    stores[0].register_bank(&jxb()).unwrap();
    let (threads, each) = (8, 25);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let s = stores[t % stores.len()].clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                for i in 0..each {
                    mine.push(
                        total(
                            s.as_ref(),
                            &format!("t{t}-{i}"),
                            &format!("h{t}-{i}"),
                            "2024Q2",
                            100 + i as i64,
                        )
                        .unwrap(),
                    );
                    // everyone also sends the one shared id
                    total(s.as_ref(), "shared", "hs", "2024Q3", 7).unwrap();
                }
                mine
            })
        })
        .collect();
    let mut versions: Vec<u32> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    versions.sort_unstable();
    let n = (threads * each) as u32;
    assert_eq!(versions, (1..=n).collect::<Vec<_>>(), "{}", b.name());
    let stored = stores[1 % stores.len()]
        .reports(Some("JXB"), Some(q("2024Q2")), 0, 1000)
        .unwrap();
    let mut v: Vec<u32> = stored.iter().map(|r| r.report.version).collect();
    v.sort_unstable();
    assert_eq!(v, (1..=n).collect::<Vec<_>>());
    assert_eq!(
        stores[0]
            .reports(None, Some(q("2024Q3")), 0, 10)
            .unwrap()
            .len(),
        1
    );
}

/// Servers starting at once on an empty database migrate it once.
fn concurrent_start_migrates_once(b: &Backend) {
    let barrier = Arc::new(Barrier::new(4));
    let loc = b.location();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let (barrier, loc) = (barrier.clone(), loc.clone());
            std::thread::spawn(move || {
                barrier.wait();
                smefin::store::open(&loc, &StoreOptions::default()).map(|_| ())
            })
        })
        .collect();
    for h in opened {
        h.join().unwrap().unwrap();
    }
    if let Backend::Postgres(pg, _) = b {
        assert_eq!(
            pg.query("smefin", "SELECT version FROM smefin_schema")
                .trim(),
            "5",
            "every migration run, once"
        );
        assert_eq!(
            pg.query("smefin", "SELECT count(*) FROM smefin_schema")
                .trim(),
            "1"
        );
    }
}

pub(crate) fn each_backend(test: fn(&Backend)) {
    for b in backends() {
        eprintln!("backend: {}", b.name());
        test(&b);
    }
}

#[test]
fn store_versions_idempotency_and_statements() {
    each_backend(versions_idempotency_and_statements);
}

#[test]
fn store_snapshots_keep_their_loans() {
    each_backend(snapshots_keep_their_loans_and_money_to_the_fen);
}

#[test]
fn store_racing_submitters_leave_no_gap() {
    each_backend(racing_submitters_leave_no_gap);
}

#[test]
fn store_concurrent_start_migrates_once() {
    each_backend(concurrent_start_migrates_once);
}

#[test]
fn store_url_is_checked() {
    let d = std::path::Path::new("smefin-data");
    assert_eq!(
        Location::parse(None, d).unwrap(),
        Location::Sqlite(d.into())
    );
    assert_eq!(
        Location::parse(Some("sqlite:"), d).unwrap(),
        Location::Sqlite(d.into())
    );
    assert_eq!(
        Location::parse(Some("sqlite:/var/lib/smefin"), d).unwrap(),
        Location::Sqlite("/var/lib/smefin".into())
    );
    let pg = Location::parse(Some("postgres://u:pw@db:5432/smefin"), d).unwrap();
    assert_eq!(pg.redacted(), "postgres://u:***@db:5432/smefin");
    let e = Location::parse(Some("mysql://db/x"), d)
        .unwrap_err()
        .to_string();
    assert!(e.contains("store.url") && e.contains("mysql"), "{e}");
    // settings that cannot be used are refused before any connection, naming
    // the setting (and never the password)
    let open = |url: &str, cfg: &StoreOptions| {
        smefin::store::open(&Location::Postgres(url.into()), cfg)
            .unwrap_err()
            .to_string()
    };
    let e = open("postgres://", &StoreOptions::default());
    assert_eq!(e, "store.url postgres://: names no host");
    let e = open(
        "postgres://u:secret@db/x?sslmode=bogus",
        &StoreOptions::default(),
    );
    assert!(
        e.starts_with("store.url postgres://u:***@db/x") && !e.contains("secret"),
        "{e}"
    );
    let missing = StoreOptions {
        ca_file: Some("/nonexistent/ca.pem".into()),
        ..StoreOptions::default()
    };
    let e = open("postgres://u@db/x", &missing);
    assert!(e.starts_with("store.ca_file /nonexistent/ca.pem:"), "{e}");
    let empty = tempfile::NamedTempFile::new().unwrap();
    let no_certs = StoreOptions {
        ca_file: Some(empty.path().into()),
        ..StoreOptions::default()
    };
    let e = open("postgres://u@db/x", &no_certs);
    assert!(e.ends_with("holds no certificate"), "{e}");
    // a database that does not answer is UNAVAILABLE, within the connect timeout
    let cfg = StoreOptions {
        connect_timeout_seconds: 1,
        ..StoreOptions::default()
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = std::time::Instant::now();
    let e = smefin::store::open(
        &Location::Postgres(format!("postgres://u@127.0.0.1:{port}/x")),
        &cfg,
    )
    .unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
}

/// PostgreSQL over TLS: `sslmode=require` with the database's CA trusted
/// connects encrypted; the same without that CA is refused (the certificate
/// is verified, never taken on trust); `sslmode=disable` stays plain.
#[test]
fn postgres_over_tls_verifies_the_certificate() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let Some(pg) = PgCluster::start_tls(&cert.pem(), &key.serialize_pem()) else {
        return;
    };
    let plain_url = pg.database("smefin");
    let tls_url = plain_url.replace("127.0.0.1", "localhost") + "?sslmode=require";
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let cfg = StoreOptions {
        ca_file: Some(ca_file),
        ..StoreOptions::default()
    };
    let s = smefin::store::open(&Location::Postgres(tls_url.clone()), &cfg).unwrap();
    s.register_bank(&jxb()).unwrap();
    assert_eq!(
        pg.query(
            "smefin",
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'smefin'"
        )
        .trim(),
        "t",
        "smefin's connections are not encrypted"
    );
    drop(s);
    // the system's CAs do not vouch for this database
    let e = smefin::store::open(&Location::Postgres(tls_url), &StoreOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("certificate") || e.contains("UnknownIssuer"),
        "{e}"
    );
    // disable: plain, as asked
    let s = smefin::store::open(
        &Location::Postgres(plain_url + "?sslmode=disable"),
        &StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(s.banks_page(None, 0, 10).unwrap(), vec![jxb()]);
}
