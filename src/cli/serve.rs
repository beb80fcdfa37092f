//! `smefin serve`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::{CliError, load_catalog};
use crate::config::Config;

/// Flags of `smefin serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides config and SMEFIN__SERVER__LISTEN).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Product catalogue replacing the built-in one.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Directory of the database (default ./smefin-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Store URL (store.url): `postgres://user:password@host:port/db` for a
    /// PostgreSQL shared by replicas; absent or `sqlite:` for the embedded
    /// SQLite in the data directory.
    #[arg(long)]
    pub store_url: Option<String>,
    /// Token file (SHA-256 hashes → principals); see `smefin token new`.
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Allow serving without tokens on a non-loopback address.
    #[arg(long)]
    pub insecure: bool,
    /// PEM certificate chain for TLS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle: require client certificates it signed.
    #[arg(long, requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

fn init_logging(cfg: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log.filter));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if cfg.log.json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = term => tracing::info!("received SIGTERM"),
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(a: ServeArgs) -> Result<(), CliError> {
    let mut cfg = Config::load(a.config.as_deref(), std::env::vars())
        .map_err(|e| CliError::new(e.to_string()))?;
    if let Some(l) = a.listen {
        cfg.server.listen = l;
    }
    if let Some(c) = a.catalog {
        cfg.catalog.path = Some(c);
    }
    if let Some(d) = a.data_dir {
        cfg.store.data_dir = d;
    }
    if let Some(u) = a.store_url {
        cfg.store.url = Some(u);
    }
    if let Some(t) = a.tokens {
        cfg.auth.tokens_file = Some(t);
    }
    cfg.auth.insecure |= a.insecure;
    if a.tls_cert.is_some() {
        cfg.tls.cert = a.tls_cert;
        cfg.tls.key = a.tls_key;
    }
    if a.tls_client_ca.is_some() {
        cfg.tls.client_ca = a.tls_client_ca;
    }

    init_logging(&cfg);
    crate::server::check_open_mode(&cfg, cfg.server.listen)
        .map_err(|e| CliError::new(e.to_string()))?;
    let catalog = Arc::new(load_catalog(cfg.catalog.path.as_deref())?);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    // 0: tokio's default, one per core (the range was checked on load).
    if cfg.server.worker_threads > 0 {
        rt.worker_threads(cfg.server.worker_threads);
    }
    let rt = rt
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the runtime: {e}")))?;
    let r = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.server.listen)
            .await
            .map_err(|e| CliError::new(format!("cannot listen on {}: {e}", cfg.server.listen)))?;
        crate::server::serve(listener, &cfg, catalog, shutdown_signal())
            .await
            .map_err(|e| CliError::new(e.to_string()))?;
        tracing::info!("stopped");
        Ok(())
    });
    // Blocking work still running (a simulation between its cancel checks)
    // gets a moment to finish; the process does not wait longer.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    r
}
