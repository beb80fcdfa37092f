//! A real smefin server on 127.0.0.1:0 for integration tests.

#![allow(dead_code)]

pub mod pg;

use std::net::SocketAddr;
use std::sync::Arc;

use smefin::catalog::Catalog;
use smefin::config::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server; dropping `stop` (or sending on it) shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    pub stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<()>,
    /// The data directory (removed when the server is dropped).
    pub data: tempfile::TempDir,
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.expect("server task panicked");
    }

    /// Stops the server as [`TestServer::shutdown`] does and hands back its
    /// data directory, for another server to start on.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.expect("server task panicked");
        self.data
    }
}

pub async fn start_with(config: Config) -> TestServer {
    start_in(config, tempfile::tempdir().expect("data dir")).await
}

/// A server on the data directory `data` (a restart when another server
/// used it before).
pub async fn start_in(mut config: Config, data: tempfile::TempDir) -> TestServer {
    config.store.data_dir = data.path().to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let catalog = Arc::new(Catalog::builtin());
    let task = tokio::spawn(async move {
        smefin::server::serve(listener, &config, catalog, async {
            let _ = rx.await;
        })
        .await
        .expect("server failed");
    });
    TestServer {
        addr,
        stop: Some(tx),
        task,
        data,
    }
}

pub async fn start() -> TestServer {
    start_with(Config::default()).await
}

/// The field paths of a status's `google.rpc.BadRequest`, in order (empty
/// when it has none).
pub fn violation_fields(s: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    s.get_error_details().bad_request().map_or(vec![], |b| {
        b.field_violations.iter().map(|v| v.field.clone()).collect()
    })
}
