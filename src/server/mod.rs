//! The gRPC server: `smefin.v1.MatchingService`, `smefin.v1.RiskPoolService`,
//! `grpc.health.v1.Health` and
//! server reflection (v1 and v1alpha, with the health descriptors registered
//! so reflection clients can see health too).

pub mod convert;
pub mod error;
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

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
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

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_serving::<MatchingServiceServer<matching::MatchingSvc>>()
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
    let svc = MatchingServiceServer::new(matching::MatchingSvc::new(
        catalog,
        config.server.batch_buffer,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max.max(16 * 1024 * 1024));

    let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: no new calls; draining calls in flight");
        let _ = fired_tx.send(());
    };
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = Server::builder()
        .trace_fn(|req| tracing::info_span!("grpc", method = %req.uri().path()))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(svc)
        .add_service(
            RiskPoolServiceServer::new(riskpool::RiskPoolSvc::new(config.riskpool.clone()))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max.max(16 * 1024 * 1024)),
        )
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
