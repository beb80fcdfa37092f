//! Layered configuration: built-in defaults → TOML file → environment.
//!
//! Every key has a default that serves a laptop, so `smefin serve` needs no
//! file. A file given with `--config` overrides any subset of keys; then
//! environment variables `SMEFIN__<SECTION>__<KEY>` (double underscores,
//! case-insensitive) override those, e.g. `SMEFIN__SERVER__LISTEN=0.0.0.0:50051`.
//! Command-line flags override everything. Unknown keys are errors, so a typo
//! never silently falls back to a default.

use crate::store::StoreOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Environment-variable prefix.
pub const ENV_PREFIX: &str = "SMEFIN__";

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// gRPC server.
    pub server: ServerConfig,
    /// Product catalogue.
    pub catalog: CatalogConfig,
    /// Logging.
    pub log: LogConfig,
    /// Risk-pool simulations.
    pub riskpool: RiskPoolConfig,
    /// Storage.
    pub store: StoreOptions,
    /// Access control.
    pub auth: AuthConfig,
    /// TLS.
    pub tls: TlsConfig,
    /// Incentive rules: qualifying institution types, the rate schedule and
    /// the credit-line limits (UNCERTAIN policy figures, configurable).
    pub incentive: crate::incentive::IncentiveRules,
    /// The pool ledger.
    pub ledger: LedgerConfig,
}

/// Pool-ledger settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerConfig {
    /// A programmes file (the shape of the built-in one) replacing the
    /// built-in programmes and their rule versions.
    pub programmes: Option<PathBuf>,
}

/// Access-control settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Token file (SHA-256 hashes → principals). Without one the server is
    /// open, and listens on loopback only.
    pub tokens_file: Option<PathBuf>,
    /// Allow an open server on a non-loopback address.
    pub insecure: bool,
}

/// TLS settings (rustls).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key.
    pub key: Option<PathBuf>,
    /// PEM CA bundle: when set, clients must present a certificate it signed.
    pub client_ca: Option<PathBuf>,
}

/// Risk-pool simulation settings of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskPoolConfig {
    /// Simulations (and grids, solver runs) running at once; more are
    /// refused with RESOURCE_EXHAUSTED rather than queued.
    pub max_concurrent: usize,
    /// Threads of the simulation worker pool, shared by all simulations
    /// (0: every core but one, leaving a core to interactive calls).
    pub threads: usize,
    /// Most loans in a spec.
    pub max_loans: u64,
    /// Most scenarios in a spec.
    pub max_scenarios: u64,
    /// Most periods in a spec (also the longest recovery lag).
    pub max_periods: u32,
    /// Most memory one run may be estimated to hold, bytes.
    pub max_run_bytes: u64,
    /// Most work one request may be estimated to take: loan-periods ×
    /// scenarios, summed over the runs of a grid or solver request.
    pub max_work: u64,
    /// Most work of one run of the exact method, in multiply-adds of its
    /// cost model (about 1–3·10⁹ a second on one core).
    pub max_analytic_work: u64,
}

impl Default for RiskPoolConfig {
    fn default() -> Self {
        let l = crate::riskpool::Limits::default();
        RiskPoolConfig {
            max_concurrent: 2,
            threads: 0,
            max_loans: l.max_loans,
            max_scenarios: l.max_scenarios,
            max_periods: l.max_periods,
            max_run_bytes: l.max_run_bytes,
            max_work: l.max_work,
            max_analytic_work: l.max_analytic_work,
        }
    }
}

impl RiskPoolConfig {
    /// The spec limits.
    pub fn limits(&self) -> crate::riskpool::Limits {
        crate::riskpool::Limits {
            max_loans: self.max_loans,
            max_scenarios: self.max_scenarios,
            max_periods: self.max_periods,
            max_run_bytes: self.max_run_bytes,
            max_work: self.max_work,
            max_analytic_work: self.max_analytic_work,
        }
    }
}

/// gRPC server settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest request message accepted, bytes.
    pub max_message_bytes: usize,
    /// Responses buffered per BatchMatch stream before the server waits for
    /// the client to read (bounds memory per stream).
    pub batch_buffer: usize,
    /// Seconds to wait for calls in flight at shutdown.
    pub shutdown_grace_seconds: u64,
    /// Threads answering calls; 0 = one per core. Fewer than the cores
    /// when the machine also runs other busy processes: oversubscribed
    /// threads cost tail latency (see README, "Performance and limits").
    pub worker_threads: usize,
    /// HTTP/2 flow-control window of each stream the server receives,
    /// bytes: how much a client may send on one call before the server
    /// reads it. Small enough that a stream the server has paused (its
    /// answers wait for the client to read them) buffers few frames.
    pub stream_window_bytes: u32,
    /// HTTP/2 flow-control window of a whole connection, bytes. h2 closes a
    /// connection whose buffered small DATA frames cost more than half of
    /// it in framing overhead, so it is large beside the stream window.
    pub connection_window_bytes: u32,
    /// Calls open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
    pub max_concurrent_streams: u32,
    /// Connections held at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Seconds a new connection may stay silent before it is closed.
    pub handshake_timeout_seconds: u64,
    /// Seconds between HTTP/2 keepalive pings on a connection (0: none).
    pub keepalive_interval_seconds: u64,
    /// Seconds a ping may go unanswered before the connection is closed.
    pub keepalive_timeout_seconds: u64,
    /// Seconds after which a connection is asked to close (GOAWAY) once its
    /// calls finish; clients reconnect (0: never).
    pub max_connection_age_seconds: u64,
    /// Most memory one loan snapshot may hold while it streams in, bytes
    /// (its loans are checked and kept until the stream ends, then stored
    /// in one transaction); a larger snapshot is refused
    /// RESOURCE_EXHAUSTED.
    pub max_snapshot_bytes: u64,
    /// Most memory all the snapshots streaming in at once may hold, bytes.
    pub max_snapshot_bytes_total: u64,
    /// Most leads one RunCampaign may find (they are held until the stream
    /// ends, then stored in one transaction); more is refused
    /// RESOURCE_EXHAUSTED. Larger registries: `smefin campaign` offline.
    pub max_campaign_leads: u64,
    /// A second address serving only `grpc.health.v1.Health`, in plaintext
    /// even when the main port has TLS (for probes that cannot speak TLS,
    /// as Kubernetes' gRPC probes cannot); off by default.
    pub health_listen: Option<SocketAddr>,
}

/// Catalogue settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// A catalogue file replacing the built-in one.
    pub path: Option<PathBuf>,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter directive (`RUST_LOG` syntax); `RUST_LOG` wins when set.
    pub filter: String,
    /// Emit JSON lines instead of text.
    pub json: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            max_message_bytes: 4 * 1024 * 1024,
            batch_buffer: 256,
            shutdown_grace_seconds: 10,
            worker_threads: 0,
            stream_window_bytes: 64 * 1024,
            connection_window_bytes: 16 * 1024 * 1024,
            max_concurrent_streams: 256,
            max_connections: 4096,
            handshake_timeout_seconds: 10,
            keepalive_interval_seconds: 60,
            keepalive_timeout_seconds: 20,
            max_connection_age_seconds: 0,
            max_snapshot_bytes: 512 << 20,
            max_snapshot_bytes_total: 1 << 30,
            max_campaign_leads: 200_000,
            health_listen: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            json: false,
        }
    }
}

/// A configuration that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {reason}")]
    Io {
        /// Path.
        path: String,
        /// OS error.
        reason: String,
    },
    /// The file is not TOML.
    #[error("config file {path} is not valid TOML: {reason}")]
    Syntax {
        /// Path.
        path: String,
        /// Parser message.
        reason: String,
    },
    /// A key has a bad value or is unknown.
    #[error("config key `{key}` ({source_name}): {reason}")]
    Invalid {
        /// Dotted key.
        key: String,
        /// Where the value came from.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Parses an environment value as a TOML value when it is one (numbers,
/// booleans, quoted strings, arrays), otherwise as a plain string.
fn env_value(raw: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

/// Lays the `SMEFIN__SECTION__KEY` variables over the table; the keys they
/// set, dotted (`riskpool.threads`).
fn overlay_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, ConfigError> {
    let mut env_keys = Vec::new();
    for (k, v) in env {
        let Some(rest) = k.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Invalid {
                key: k.clone(),
                source_name: "environment".into(),
                reason: "expected SMEFIN__SECTION__KEY".into(),
            });
        }
        let mut over = toml::Table::new();
        let mut cur = &mut over;
        for seg in &path[..path.len() - 1] {
            cur = cur
                .entry(seg.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .expect("just inserted a table");
        }
        cur.insert(path[path.len() - 1].clone(), env_value(&v));
        merge(table, over);
        env_keys.push(path.join("."));
    }
    Ok(env_keys)
}

impl Config {
    /// Loads defaults, then `file` (if any), then the given environment
    /// variables (pass `std::env::vars()`).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table =
            toml::Table::try_from(Config::default()).map_err(|e| ConfigError::Invalid {
                key: String::new(),
                source_name: "defaults".into(),
                reason: e.to_string(),
            })?;
        let mut source = "defaults".to_string();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let over: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                path: path.display().to_string(),
                reason: e.message().to_string(),
            })?;
            merge(&mut table, over);
            source = path.display().to_string();
        }
        let env_keys = overlay_env(&mut table, env)?;
        // Where a key's value came from: the environment, else the file (a
        // value that does not parse came from one of the two).
        let source_of = |key: &str| {
            if env_keys
                .iter()
                .any(|k| key.starts_with(k.as_str()) || k.starts_with(key))
            {
                "environment".to_string()
            } else {
                source.clone()
            }
        };
        let config = serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                ConfigError::Invalid {
                    source_name: source_of(&key),
                    key,
                    reason: e
                        .into_inner()
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string(),
                }
            })?;
        match config.out_of_range() {
            None => Ok(config),
            Some((key, reason)) => Err(ConfigError::Invalid {
                source_name: source_of(key),
                key: key.to_string(),
                reason,
            }),
        }
    }

    /// The first numeric key outside its range, and why. Serde checks types;
    /// this checks what a value of the right type must also be (a pool of
    /// 0 simulations, a channel of 0 messages or a million threads would
    /// otherwise fail later, or be quietly replaced).
    fn out_of_range(&self) -> Option<(&'static str, String)> {
        let server = server_ranges(&self.server);
        let riskpool = riskpool_ranges(&self.riskpool);
        let store = store_ranges(&self.store);
        server
            .into_iter()
            .chain(riskpool)
            .chain(store)
            .find_map(|(key, v, lo, hi, note)| {
                let range = if hi == u64::MAX {
                    format!("at least {lo}")
                } else {
                    format!("in {lo}..={hi}")
                };
                (v < lo || v > hi).then(|| (key, format!("{v} is not {range}{note}")))
            })
    }
}

/// A numeric key's range: its name, its value, the least and the most it
/// may be (`u64::MAX`: no most), and a note on what an edge value means.
type Range = (&'static str, u64, u64, u64, &'static str);

/// The `[server]` ranges.
#[rustfmt::skip]
fn server_ranges(s: &ServerConfig) -> [Range; 15] {
    let window = (1 << 31) - 1;
    [
        ("server.stream_window_bytes", s.stream_window_bytes.into(), 65_535, window, ""),
        ("server.connection_window_bytes", s.connection_window_bytes.into(), 65_535, window, ""),
        ("server.max_concurrent_streams", s.max_concurrent_streams.into(), 1, 1 << 20, ""),
        ("server.max_connections", s.max_connections as u64, 1, 1 << 20, ""),
        ("server.handshake_timeout_seconds", s.handshake_timeout_seconds, 1, 3600, ""),
        ("server.keepalive_interval_seconds", s.keepalive_interval_seconds, 0, 86_400, " (0: no pings)"),
        ("server.keepalive_timeout_seconds", s.keepalive_timeout_seconds, 1, 3600, ""),
        ("server.max_connection_age_seconds", s.max_connection_age_seconds, 0, 365 * 86_400, " (0: never)"),
        ("server.max_message_bytes", s.max_message_bytes as u64, 1024, 1 << 30, ""),
        ("server.batch_buffer", s.batch_buffer as u64, 1, 1 << 20, ""),
        ("server.worker_threads", s.worker_threads as u64, 0, MAX_THREADS as u64, " (0: one per core)"),
        ("server.shutdown_grace_seconds", s.shutdown_grace_seconds, 0, 3600, ""),
        ("server.max_snapshot_bytes", s.max_snapshot_bytes, 1 << 20, u64::MAX, ""),
        ("server.max_snapshot_bytes_total", s.max_snapshot_bytes_total, 1 << 20, u64::MAX, ""),
        ("server.max_campaign_leads", s.max_campaign_leads, 1, 10_000_000, ""),
    ]
}

/// The `[riskpool]` ranges.
#[rustfmt::skip]
fn riskpool_ranges(r: &RiskPoolConfig) -> [Range; 8] {
    [
        ("riskpool.max_concurrent", r.max_concurrent as u64, 1, 1024, ""),
        ("riskpool.threads", r.threads as u64, 0, MAX_THREADS as u64, " (0: every core but one)"),
        ("riskpool.max_loans", r.max_loans, 1, u64::MAX, ""),
        ("riskpool.max_scenarios", r.max_scenarios, 1, u64::MAX, ""),
        ("riskpool.max_periods", r.max_periods.into(), 1, u16::MAX.into(), ""),
        ("riskpool.max_run_bytes", r.max_run_bytes, 1 << 20, u64::MAX, ""),
        ("riskpool.max_work", r.max_work, 1, u64::MAX, ""),
        ("riskpool.max_analytic_work", r.max_analytic_work, 1, u64::MAX, ""),
    ]
}

/// The `[store]` ranges.
#[rustfmt::skip]
fn store_ranges(s: &StoreOptions) -> [Range; 4] {
    [
        ("store.pool_size", s.pool_size as u64, 1, 1024, ""),
        ("store.max_versions_per_quarter", s.max_versions_per_quarter.into(), 1, u32::MAX.into(), ""),
        ("store.max_loans_per_quarter", s.max_loans_per_quarter, 1, u64::MAX, ""),
        ("store.connect_timeout_seconds", s.connect_timeout_seconds, 1, 600, ""),
    ]
}

/// Most threads a pool of smefin's may be given (`server.worker_threads`,
/// `riskpool.threads`, `--threads`): far more than the cores of any machine it
/// runs on, and few enough that the operating system can start them all.
pub const MAX_THREADS: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn defaults_parse() {
        let c = Config::load(None, no_env()).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:50051");
    }

    #[test]
    fn file_then_env_override() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[server]\nlisten = \"127.0.0.1:6000\"\nbatch_buffer = 8\n[log]\njson = true"
        )
        .unwrap();
        let env = vec![
            (
                "SMEFIN__SERVER__LISTEN".to_string(),
                "0.0.0.0:7000".to_string(),
            ),
            (
                "SMEFIN__CATALOG__PATH".to_string(),
                "/tmp/c.toml".to_string(),
            ),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        let c = Config::load(Some(f.path()), env).unwrap();
        assert_eq!(c.server.listen.to_string(), "0.0.0.0:7000");
        assert_eq!(c.server.batch_buffer, 8);
        assert!(c.log.json);
        assert_eq!(c.catalog.path.as_deref(), Some(Path::new("/tmp/c.toml")));
        assert_eq!(c.server.max_message_bytes, 4 * 1024 * 1024);
    }

    #[test]
    fn incentive_schedule_is_configurable() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[incentive]\nqualifying = [\"城市商业银行\", \"village\"]\nrates = [{{ from = \"2025Q1\", to = \"2025Q4\", rate = \"1.5%\" }}]"
        )
        .unwrap();
        let c = Config::load(Some(f.path()), no_env()).unwrap();
        assert_eq!(
            c.incentive.rate("2025Q2".parse().unwrap()),
            Some(rust_decimal::Decimal::new(15, 3))
        );
        assert_eq!(c.incentive.rate("2023Q2".parse().unwrap()), None);
        assert_eq!(c.incentive.qualifying.len(), 2);
        // untouched keys keep their defaults
        assert_eq!(
            c.incentive.line_limits,
            crate::incentive::IncentiveRules::default().line_limits
        );
    }

    #[test]
    fn bad_values_name_the_key_and_source() {
        let env = vec![("SMEFIN__SERVER__LISTEN".to_string(), "nowhere".to_string())];
        let e = Config::load(None, env).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config key `server.listen` (environment)"),
            "{e}"
        );
        let env = vec![("SMEFIN__SERVER__LISTN".to_string(), "1".to_string())];
        let e = Config::load(None, env).unwrap_err().to_string();
        assert!(e.contains("listn"), "{e}");
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "[server]\nbatch_buffer = \"many\"").unwrap();
        let e = Config::load(Some(f.path()), no_env())
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.batch_buffer"), "{e}");
        let e = Config::load(Some(Path::new("/nonexistent/smefin.toml")), no_env()).unwrap_err();
        assert!(matches!(e, ConfigError::Io { .. }));
    }

    #[test]
    fn out_of_range_values_name_the_key_the_source_and_the_range() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "[riskpool]
max_scenarios = 0
[server]
max_message_bytes = 100"
        )
        .unwrap();
        let e = Config::load(Some(f.path()), no_env()).unwrap_err();
        let ConfigError::Invalid {
            key,
            source_name,
            reason,
        } = e
        else {
            panic!("{e:?}")
        };
        // the first key of the checks' order is reported
        assert_eq!(key, "server.max_message_bytes");
        assert_eq!(source_name, f.path().display().to_string());
        assert_eq!(reason, "100 is not in 1024..=1073741824");
        // with that key fixed from the environment, the next bad one is the
        // file's
        let env = vec![(
            "SMEFIN__SERVER__MAX_MESSAGE_BYTES".to_string(),
            "4096".to_string(),
        )];
        let e = Config::load(Some(f.path()), env).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "config key `riskpool.max_scenarios` ({}): 0 is not at least 1",
                f.path().display()
            )
        );
        let env = vec![("SMEFIN__RISKPOOL__MAX_PERIODS".to_string(), "0".to_string())];
        let e = Config::load(None, env).unwrap_err().to_string();
        assert_eq!(
            e,
            "config key `riskpool.max_periods` (environment): 0 is not in 1..=65535"
        );
        // bounds themselves are accepted
        let env = vec![
            ("SMEFIN__RISKPOOL__THREADS".to_string(), "1024".to_string()),
            (
                "SMEFIN__SERVER__WORKER_THREADS".to_string(),
                "0".to_string(),
            ),
            (
                "SMEFIN__RISKPOOL__MAX_CONCURRENT".to_string(),
                "1".to_string(),
            ),
        ];
        let c = Config::load(None, env).unwrap();
        assert_eq!((c.riskpool.threads, c.riskpool.max_concurrent), (1024, 1));
    }
}
