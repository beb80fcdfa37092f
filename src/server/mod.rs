//! The gRPC server: `smefin.v1.MatchingService`, `smefin.v1.RiskPoolService`,
//! `grpc.health.v1.Health` and
//! server reflection (v1 and v1alpha, with the health descriptors registered
//! so reflection clients can see health too).

pub mod auth;
pub mod convert;
pub mod error;
pub mod incentive;
pub mod matching;
pub mod riskpool;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::catalog::Catalog;
use crate::config::Config;

/// Generated protobuf and gRPC code for `smefin.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("smefin.v1");

    /// Encoded `FileDescriptorSet` of every smefin proto, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/smefin_descriptor.bin"));
}

/// A request that is not valid protobuf (bad wire format, a string that is
/// not UTF-8) is the caller's error: tonic reports it as INTERNAL, this turns
/// it into INVALID_ARGUMENT before it leaves the server. (Trailers-only
/// responses, which is how a request that cannot be decoded fails.)
fn malformed_request_is_invalid_argument(
    mut resp: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let h = resp.headers();
    let internal = h.get("grpc-status").is_some_and(|v| v == "13");
    let decode = h
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m.starts_with("failed%20to%20decode"));
    if internal && decode {
        resp.headers_mut()
            .insert("grpc-status", http::HeaderValue::from_static("3"));
    }
    resp
}

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
    /// Reflection could not be built from the descriptors.
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves on `listener` until `shutdown` completes, then drains calls in
/// flight for at most `server.shutdown_grace_seconds`.
pub async fn serve(
    listener: TcpListener,
    config: &Config,
    catalog: Arc<Catalog>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    use crate::server::pb::matching_service_server::MatchingServiceServer;
    use crate::server::pb::risk_pool_service_server::RiskPoolServiceServer;

    use crate::server::pb::incentive_service_server::IncentiveServiceServer;
    use tonic::service::interceptor::InterceptedService;

    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Tls(e.to_string()))?;
    let tokens = match &config.auth.tokens_file {
        Some(p) => Some(auth::Tokens::load(p)?),
        None => None,
    };
    if tokens.is_none() {
        if !addr.ip().is_loopback() && !config.auth.insecure {
            return Err(ServeError::Insecure(addr));
        }
        tracing::warn!(%addr, "no token file: serving OPEN, every caller acts as the bureau");
    }
    let auth = auth::Auth::new(tokens);
    let store = Arc::new(crate::store::Store::open(&config.store.data_dir)?);
    tracing::info!(data_dir = %config.store.data_dir.display(), "store open");

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<MatchingServiceServer<matching::MatchingSvc>>()
        .await;
    reporter
        .set_serving::<RiskPoolServiceServer<riskpool::RiskPoolSvc>>()
        .await;
    reporter
        .set_serving::<IncentiveServiceServer<incentive::IncentiveSvc>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let max = config.server.max_message_bytes;
    let out_max = max.max(16 * 1024 * 1024);
    let matching = MatchingServiceServer::new(matching::MatchingSvc::new(
        catalog,
        config.server.batch_buffer,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(out_max);
    let riskpool = RiskPoolServiceServer::new(riskpool::RiskPoolSvc::new(config.riskpool.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(out_max);
    let incentives = IncentiveServiceServer::new(incentive::IncentiveSvc::new(
        store,
        config.incentive.clone(),
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(out_max);

    let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: no new calls; draining calls in flight");
        let _ = fired_tx.send(());
    };
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = Server::builder();
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
    let server = builder
        .layer(tower::util::MapResponseLayer::new(
            malformed_request_is_invalid_argument,
        ))
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
        .serve_with_incoming_shutdown(incoming, signal);
    let grace = Duration::from_secs(config.server.shutdown_grace_seconds);
    tokio::select! {
        r = server => r?,
        () = async {
            if fired_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!(?grace, "calls still in flight after the grace period; stopping anyway"),
    }
    Ok(())
}
