//! The gRPC server: `smefin.v1.MatchingService`, `smefin.v1.RiskPoolService`,
//! `grpc.health.v1.Health` and
//! server reflection (v1 and v1alpha, with the health descriptors registered
//! so reflection clients can see health too).

mod audit;
pub mod auth;
pub mod convert;
pub mod error;
pub mod incentive;
pub mod ledger;
pub mod listen;
pub mod matching;
pub mod page;
mod progress;
pub mod referral;
pub mod riskpool;
mod snapshot;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_reflection::server as reflection;

use self::pb::incentive_service_server::IncentiveServiceServer;
use self::pb::ledger_service_server::LedgerServiceServer;
use self::pb::matching_service_server::MatchingServiceServer;
use self::pb::referral_service_server::ReferralServiceServer;
use self::pb::risk_pool_service_server::RiskPoolServiceServer;

use crate::catalog::Catalog;
use crate::config::Config;

/// Generated protobuf and gRPC code for `smefin.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb;

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The token file is unusable.
    #[error(transparent)]
    Tokens(#[from] auth::TokenFileError),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// An open server was asked to listen beyond loopback.
    #[error(
        "refusing to serve without a token file on {0}, which is not a loopback address (give auth.tokens_file / --tokens, or --insecure)"
    )]
    Insecure(std::net::SocketAddr),
    /// TLS files are unusable.
    #[error("tls: {0}")]
    Tls(String),
    /// The ledger's programmes file is unusable.
    #[error("ledger.programmes: {0}")]
    Programmes(String),
    /// A listener could not be opened.
    #[error("{0}")]
    Listen(String),
    /// Reflection could not be built from the descriptors.
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Runs a blocking store call on the blocking pool; a store error becomes
/// the caller's status (every service that keeps data uses this one way).
pub(crate) async fn on_store<S: ?Sized + Send + Sync + 'static, T: Send + 'static>(
    store: &Arc<S>,
    f: impl FnOnce(&S) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, tonic::Status> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| tonic::Status::internal(format!("storage worker failed: {e}")))?
        .map_err(|e| error::ApiError::from(e).into())
}

/// Refuses an open server (no token file) on an address beyond loopback
/// unless `auth.insecure`: checked before the address is bound, and again
/// by [`serve`].
pub fn check_open_mode(config: &Config, addr: std::net::SocketAddr) -> Result<(), ServeError> {
    if config.auth.tokens_file.is_none() && !addr.ip().is_loopback() && !config.auth.insecure {
        return Err(ServeError::Insecure(addr));
    }
    Ok(())
}

/// Every service's health (and the server's, the empty name) set to `status`.
async fn set_health(
    reporter: &tonic_health::server::HealthReporter,
    status: tonic_health::ServingStatus,
) {
    use crate::server::pb::incentive_service_server::IncentiveServiceServer;
    use crate::server::pb::ledger_service_server::LedgerServiceServer;
    use crate::server::pb::matching_service_server::MatchingServiceServer;
    use crate::server::pb::referral_service_server::ReferralServiceServer;
    use crate::server::pb::risk_pool_service_server::RiskPoolServiceServer;
    use tonic::server::NamedService;
    for name in [
        <LedgerServiceServer<ledger::LedgerSvc> as NamedService>::NAME,
        <MatchingServiceServer<matching::MatchingSvc> as NamedService>::NAME,
        <RiskPoolServiceServer<riskpool::RiskPoolSvc> as NamedService>::NAME,
        <IncentiveServiceServer<incentive::IncentiveSvc> as NamedService>::NAME,
        <ReferralServiceServer<referral::ReferralSvc> as NamedService>::NAME,
    ] {
        reporter.set_service_status(name, status).await;
    }
    if status == tonic_health::ServingStatus::NotServing {
        reporter.set_service_status("", status).await;
    }
}

/// How often the health service asks the store whether it answers.
const STORE_CHECK: Duration = Duration::from_millis(500);

/// Keeps the health of the services that need the database (incentives,
/// referral) in step with it: NOT_SERVING
/// while the store does not answer, SERVING again at the first check it does
/// (within [`STORE_CHECK`] of its return). The overall status ("") stays
/// SERVING: matching and simulations need no database.
async fn watch_store(
    store: Arc<dyn crate::store::IncentiveStore>,
    reporter: tonic_health::server::HealthReporter,
) {
    use crate::server::pb::incentive_service_server::IncentiveServiceServer;
    use crate::server::pb::ledger_service_server::LedgerServiceServer;
    use crate::server::pb::referral_service_server::ReferralServiceServer;
    use tonic::server::NamedService;
    use tonic_health::ServingStatus;
    let names = [
        <IncentiveServiceServer<incentive::IncentiveSvc> as NamedService>::NAME,
        <ReferralServiceServer<referral::ReferralSvc> as NamedService>::NAME,
        <LedgerServiceServer<ledger::LedgerSvc> as NamedService>::NAME,
    ];
    let mut up = true;
    let mut tick = tokio::time::interval(STORE_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = store.clone();
        let r = tokio::task::spawn_blocking(move || s.ping()).await;
        let now_up = matches!(r, Ok(Ok(())));
        if now_up != up {
            up = now_up;
            if up {
                tracing::info!(
                    backend = store.backend(),
                    "store answers again: incentive and referral services SERVING"
                );
                for name in names {
                    reporter
                        .set_service_status(name, ServingStatus::Serving)
                        .await;
                }
            } else {
                let why = match r {
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => e.to_string(),
                    Ok(Ok(())) => String::new(),
                };
                tracing::warn!(backend = store.backend(), error = %why, "store does not answer: incentive and referral services NOT_SERVING");
                for name in names {
                    reporter
                        .set_service_status(name, ServingStatus::NotServing)
                        .await;
                }
            }
        }
    }
}

/// The HTTP/2 transport: windows, stream and keep-alive limits, connection
/// age, and TLS when configured.
fn transport(config: &Config) -> Result<Server, ServeError> {
    let sc = &config.server;
    let ping = (sc.keepalive_interval_seconds > 0)
        .then(|| Duration::from_secs(sc.keepalive_interval_seconds));
    let mut builder = Server::builder()
        .initial_stream_window_size(sc.stream_window_bytes)
        .initial_connection_window_size(sc.connection_window_bytes)
        .max_concurrent_streams(sc.max_concurrent_streams)
        .http2_adaptive_window(Some(false))
        .http2_keepalive_interval(ping)
        .http2_keepalive_timeout(Some(Duration::from_secs(sc.keepalive_timeout_seconds)));
    if sc.max_connection_age_seconds > 0 {
        builder = builder
            .max_connection_age(Duration::from_secs(sc.max_connection_age_seconds))
            .max_connection_age_grace(Duration::from_secs(sc.shutdown_grace_seconds.max(1)));
    }
    if let (Some(cert), Some(key)) = (&config.tls.cert, &config.tls.key) {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| ServeError::Tls(format!("{}: {e}", p.display())))
        };
        let mut tls = tonic::transport::ServerTlsConfig::new().identity(
            tonic::transport::Identity::from_pem(read(cert)?, read(key)?),
        );
        if let Some(ca) = &config.tls.client_ca {
            tls = tls.client_ca_root(tonic::transport::Certificate::from_pem(read(ca)?));
        }
        builder = builder
            .tls_config(tls)
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        tracing::info!(client_auth = config.tls.client_ca.is_some(), "TLS on");
    } else if config.tls.cert.is_some() || config.tls.key.is_some() {
        return Err(ServeError::Tls("give both tls.cert and tls.key".into()));
    }
    Ok(builder)
}

/// Opens the store the configuration names (off the async runtime: opening
/// may migrate), saying what it opened.
async fn open_store(
    config: &Config,
) -> Result<(Arc<dyn crate::store::Backend>, crate::store::Location), ServeError> {
    let location =
        crate::store::Location::parse(config.store.url.as_deref(), &config.store.data_dir)?;
    let store = {
        let (location, cfg) = (location.clone(), config.store.clone());
        tokio::task::spawn_blocking(move || crate::store::open(&location, &cfg))
            .await
            .map_err(|e| {
                crate::store::StoreError::Unavailable(format!("opening the store failed: {e}"))
            })??
    };
    tracing::info!(store = %location.redacted(), "store open");
    if matches!(location, crate::store::Location::Sqlite(_))
        && config.store.synchronous != crate::store::Synchronous::Full
    {
        tracing::warn!(synchronous = ?config.store.synchronous, "store.synchronous is not full: acknowledged writes can be lost on a power cut");
    }
    Ok((store, location))
}

/// Server reflection, v1 and v1alpha, with the health descriptors too.
fn reflection() -> Result<
    (
        reflection::v1::ServerReflectionServer<impl reflection::v1::ServerReflection>,
        reflection::v1alpha::ServerReflectionServer<impl reflection::v1alpha::ServerReflection>,
    ),
    ServeError,
> {
    let v1 = reflection::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let v1alpha = reflection::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    Ok((v1, v1alpha))
}

/// The three smefin services with their message limits, and the handle on
/// the simulations running.
struct Services {
    matching: MatchingServiceServer<matching::MatchingSvc>,
    riskpool: RiskPoolServiceServer<riskpool::RiskPoolSvc>,
    runs: riskpool::Runs,
    incentives: IncentiveServiceServer<incentive::IncentiveSvc>,
    referral: ReferralServiceServer<referral::ReferralSvc>,
    ledger: LedgerServiceServer<ledger::LedgerSvc>,
    /// The ledger's folds, stored on the way out.
    folds: ledger::LedgerSvc,
}

fn services(
    config: &Config,
    catalog: Arc<Catalog>,
    store: Arc<dyn crate::store::Backend>,
    programmes: Vec<crate::ledger::rules::Programme>,
) -> Services {
    let max = config.server.max_message_bytes;
    let out_max = max.max(16 * 1024 * 1024);
    let referral = ReferralServiceServer::new(referral::ReferralSvc::new(
        store.clone(),
        catalog.clone(),
        config.server.max_campaign_leads,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(out_max);
    let folds = ledger::LedgerSvc::new(store.clone(), catalog.clone(), programmes);
    let ledger = LedgerServiceServer::new(folds.clone())
        .max_decoding_message_size(max)
        .max_encoding_message_size(out_max);
    let matching = MatchingServiceServer::new(matching::MatchingSvc::new(
        catalog,
        config.server.batch_buffer,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(out_max);
    let riskpool_svc =
        riskpool::RiskPoolSvc::new(config.riskpool.clone(), out_max).with_ledger(folds.clone());
    let runs = riskpool_svc.runs();
    let riskpool = RiskPoolServiceServer::new(riskpool_svc)
        .max_decoding_message_size(max)
        .max_encoding_message_size(out_max);
    let incentives = IncentiveServiceServer::new(incentive::IncentiveSvc::new(
        store,
        config.incentive.clone(),
        config.store.quota(),
        incentive::SnapshotMemory::new(
            config.server.max_snapshot_bytes,
            config.server.max_snapshot_bytes_total,
        ),
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(out_max);
    Services {
        matching,
        riskpool,
        runs,
        incentives,
        referral,
        ledger,
        folds,
    }
}

/// Health alone, in plaintext, for probes that cannot speak TLS
/// (`server.health_listen`).
async fn health_listener(
    config: &Config,
    health: &tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
) -> Result<Option<tokio::task::JoinHandle<()>>, ServeError> {
    let Some(at) = config.server.health_listen else {
        return Ok(None);
    };
    let l = TcpListener::bind(at)
        .await
        .map_err(|e| ServeError::Listen(format!("server.health_listen {at}: {e}")))?;
    tracing::info!(addr = %at, "health (plaintext) listening");
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(l);
    let svc = health.clone();
    Ok(Some(tokio::spawn(async move {
        let r = Server::builder()
            .add_service(svc)
            .serve_with_incoming(incoming)
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "the health listener stopped");
        }
    })))
}

/// What the start-up line says.
struct Started {
    addr: std::net::SocketAddr,
    products: usize,
}

impl Started {
    /// What the start-up line will say of `listener` and `catalog`.
    fn of(listener: &TcpListener, catalog: &Catalog) -> Result<Started, ServeError> {
        Ok(Started {
            addr: listener
                .local_addr()
                .map_err(|e| ServeError::Listen(e.to_string()))?,
            products: catalog.products.len(),
        })
    }

    /// Every start-up check has passed (tokens, store, TLS, the health
    /// port): only now is the server said to listen, with its version.
    fn log(&self, config: &Config) {
        tracing::info!(
            addr = %self.addr,
            version = %crate::riskpool::VERSION,
            products = self.products,
            catalog = %config.catalog.path.as_ref().map_or("built-in".to_string(), |p| p.display().to_string()),
            "smefin listening"
        );
    }
}

/// On SIGHUP, reads the token file again: the new tokens replace the old
/// for every call that starts after; a file that does not load leaves the
/// old tokens in force, with an error line saying why. Without a token
/// file (open mode) there is nothing to reload, and the line says so.
async fn reload_on_hangup(auth: auth::Auth, path: Option<std::path::PathBuf>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            let Some(path) = &path else {
                tracing::warn!("received SIGHUP: no token file to reload (serving open)");
                continue;
            };
            match auth::Tokens::load(path) {
                Ok(t) => {
                    if let Some((was, now)) = auth.reload(t) {
                        tracing::info!(file = %path.display(), was, now, "received SIGHUP: reloaded the token file");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "received SIGHUP: the token file did not load; the previous tokens stay in force")
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (auth, path);
        std::future::pending::<()>().await;
    }
}

/// The callers' tokens, or open mode where the configuration allows it
/// (said in the log).
fn authorise(config: &Config, listener: &TcpListener) -> Result<auth::Auth, ServeError> {
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    let tokens = match &config.auth.tokens_file {
        Some(p) => Some(auth::Tokens::load(p)?),
        None => None,
    };
    check_open_mode(config, addr)?;
    if tokens.is_none() {
        tracing::warn!(%addr, "no token file: serving OPEN, every caller acts as the bureau");
    }
    Ok(auth::Auth::new(tokens))
}

/// What happens when `shutdown` completes: the store is no longer watched,
/// health says NOT_SERVING (load balancers and health checkers see the
/// drain before the listener closes), and `fired` starts the grace period.
async fn drain_on(
    shutdown: impl Future<Output = ()>,
    store_watch: Option<tokio::task::JoinHandle<()>>,
    reporter: tonic_health::server::HealthReporter,
    fired: tokio::sync::oneshot::Sender<()>,
) {
    shutdown.await;
    if let Some(w) = &store_watch {
        w.abort();
    }
    tracing::info!("shutting down: no new calls; draining calls in flight");
    set_health(&reporter, tonic_health::ServingStatus::NotServing).await;
    let _ = fired.send(());
}

/// After the server stops: the counters' last line, and the simulations
/// still running (their calls drained or abandoned) stopped, so the process
/// can exit.
fn stopped(runs: &riskpool::Runs) {
    listen::COUNTERS.log();
    let n = runs.cancel_all();
    if n > 0 {
        tracing::info!(simulations = n, "cancelled the simulations still running");
    }
}

/// Serves until the server stops by itself, or until the grace period after
/// the shutdown signal fired (`fired`) runs out with calls still in flight.
async fn drained(
    server: impl Future<Output = Result<(), tonic::transport::Error>>,
    fired: tokio::sync::oneshot::Receiver<()>,
    grace: Duration,
) -> Result<(), ServeError> {
    tokio::select! {
        r = server => r?,
        () = async {
            if fired.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!(?grace, "calls still in flight after the grace period; stopping anyway"),
    }
    Ok(())
}

/// What one connection may take, from the `[server]` settings.
fn conn_limits(sc: &crate::config::ServerConfig) -> listen::ConnLimits {
    listen::ConnLimits {
        max_connections: sc.max_connections,
        handshake_timeout: Duration::from_secs(sc.handshake_timeout_seconds),
        tcp_keepalive: Duration::from_secs(sc.keepalive_interval_seconds.max(60)),
    }
}

/// Serves on `listener` until `shutdown` completes, then drains calls in
/// flight for at most `server.shutdown_grace_seconds`.
pub async fn serve(
    listener: TcpListener,
    config: &Config,
    catalog: Arc<Catalog>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    use tonic::service::interceptor::InterceptedService;

    let auth = authorise(config, &listener)?;
    let programmes = crate::files::programmes(config.ledger.programmes.as_deref())
        .map_err(ServeError::Programmes)?;
    let (store, location) = open_store(config).await?;
    let started = Started::of(&listener, &catalog)?;

    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, tonic_health::ServingStatus::Serving).await;
    // A shared database can go away while the server runs; an embedded
    // SQLite file cannot, and is not polled.
    let store_watch = matches!(location, crate::store::Location::Postgres(_))
        .then(|| tokio::spawn(watch_store(store.clone(), reporter.clone())));
    let (reflection_v1, reflection_v1alpha) = reflection()?;
    let Services {
        matching,
        riskpool,
        runs,
        incentives,
        referral,
        ledger,
        folds,
    } = services(config, catalog, store, programmes);

    let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = drain_on(shutdown, store_watch, reporter.clone(), fired_tx);
    let incoming = listen::incoming(listener, conn_limits(&config.server));
    let counter_log = tokio::spawn(listen::COUNTERS.log_every_minute());
    let health_only = health_listener(config, &health).await?;
    let builder = transport(config)?;
    let reloads = tokio::spawn(reload_on_hangup(
        auth.clone(),
        config.auth.tokens_file.clone(),
    ));
    started.log(config);
    let server = builder
        .layer(audit::AuditLayer::new(auth.clone()))
        .trace_fn(|req| tracing::info_span!("grpc", method = %req.uri().path()))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(InterceptedService::new(
            matching,
            auth.interceptor(auth::analysis_allowed, "matching"),
        ))
        .add_service(InterceptedService::new(
            riskpool,
            auth.interceptor(auth::analysis_allowed, "risk-pool simulation"),
        ))
        .add_service(InterceptedService::new(
            incentives,
            auth.interceptor(auth::incentive_allowed, "incentives"),
        ))
        .add_service(InterceptedService::new(
            referral,
            auth.interceptor(auth::referral_allowed, "referral"),
        ))
        .add_service(InterceptedService::new(
            ledger,
            auth.interceptor(auth::referral_allowed, "the pool ledger"),
        ))
        .serve_with_incoming_shutdown(incoming, signal);
    let grace = Duration::from_secs(config.server.shutdown_grace_seconds);
    drained(server, fired_rx, grace).await?;
    folds.store_folds().await;
    abort_all([Some(counter_log), Some(reloads), health_only]);
    stopped(&runs);
    Ok(())
}

/// Stops the server's background tasks.
fn abort_all(tasks: [Option<tokio::task::JoinHandle<()>>; 3]) {
    for task in tasks.into_iter().flatten() {
        task.abort();
    }
}
