//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary
//! directory, a free loopback port, stopped (and removed) when dropped.
//!
//! The binaries are found on PATH or where Debian's `postgresql` package puts
//! them (`/usr/lib/postgresql/<version>/bin`). As root the cluster runs as the
//! `postgres` system user (PostgreSQL refuses to run as root). Without
//! PostgreSQL, [`PgCluster::start`] says so and returns `None`, and the test
//! skips, unless `SMEFIN_REQUIRE_POSTGRES` is set (CI sets it): then it fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running cluster with a trusted superuser `smefin`.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    /// Extra server settings (`-c …`), e.g. TLS.
    extra: String,
}

fn find_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("pg_ctl").is_file() && d.join("initdb").is_file())
    });
    if let Some(d) = on_path {
        // Debian's /usr/bin/pg_ctl is a wrapper: prefer the real one beside
        // initdb when both are there.
        return Some(
            std::fs::canonicalize(d.join("initdb"))
                .ok()?
                .parent()?
                .to_path_buf(),
        );
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgCluster {
    /// Initialises and starts a cluster, or `None` when PostgreSQL is not
    /// installed (and not required).
    pub fn start() -> Option<PgCluster> {
        Self::start_with(None)
    }

    /// A cluster that also offers TLS with this certificate and key (PEM).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Option<PgCluster> {
        Self::start_with(Some((cert_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Option<PgCluster> {
        let Some(bin) = find_bin() else {
            assert!(
                std::env::var_os("SMEFIN_REQUIRE_POSTGRES").is_none(),
                "SMEFIN_REQUIRE_POSTGRES is set but no PostgreSQL (initdb, pg_ctl) was found"
            );
            eprintln!(
                "SKIPPED: PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin); `apt-get install postgresql` to run this test"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("smefin-pg")
            .tempdir()
            .unwrap();
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(dir.path()));
            // the temp dir's parents must let the postgres user through
            let _ = Command::new("chmod")
                .arg("o+x")
                .arg(dir.path().parent().unwrap())
                .status();
        }
        let mut c = PgCluster {
            dir,
            bin,
            port: free_port(),
            as_postgres,
            extra: String::new(),
        };
        if let Some((cert, key)) = tls {
            let (cf, kf) = (
                c.dir.path().join("server.crt"),
                c.dir.path().join("server.key"),
            );
            std::fs::write(&cf, cert).unwrap();
            std::fs::write(&kf, key).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&kf, std::fs::Permissions::from_mode(0o600)).unwrap();
            if as_postgres {
                run(Command::new("chown").arg("postgres:").arg(&cf).arg(&kf));
            }
            c.extra = format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cf.display(),
                kf.display()
            );
        }
        let data = c.data();
        c.pg("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "smefin",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .map(|o| check(o, "initdb"))
            .unwrap();
        c.start_again();
        Some(c)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// Starts the (stopped) cluster on its port and waits until it accepts
    /// connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200{}",
            self.port,
            self.dir.path().display(),
            self.extra
        );
        let o = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .output()
            .unwrap();
        check(o, "pg_ctl start");
    }

    /// Stops the cluster: `fast` (clients disconnected, clean shutdown) or
    /// `immediate` (no shutdown checkpoint: crash recovery at the next start).
    pub fn stop(&self, mode: &str) {
        let o = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "stop"])
            .output()
            .unwrap();
        check(o, "pg_ctl stop");
    }

    /// Creates database `name` and returns its URL.
    pub fn database(&self, name: &str) -> String {
        self.query("postgres", &format!("CREATE DATABASE {name}"));
        self.url(name)
    }

    /// URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://smefin@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs one SQL query with psql and returns its unaligned output.
    pub fn query(&self, db: &str, sql: &str) -> String {
        let o = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "smefin",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        String::from_utf8(check(o, sql).stdout).unwrap()
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Directory of the cluster.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn run(c: &mut Command) {
    let o = c.output().unwrap();
    check(o, &format!("{c:?}"));
}

fn check(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}
