//! A small pool of connections of its own: bounded, waiting at most the
//! connect timeout, dropping connections the server closed.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::*;
use crate::store::StoreError;

/// Connection-pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_connections: usize,
    /// How long to wait for the database to accept a connection, and for a
    /// free connection when all are busy.
    pub connect_timeout: Duration,
    /// PEM file of the certificate authorities trusted for the database's
    /// certificate (None: the system bundle).
    pub ca_file: Option<std::path::PathBuf>,
}

impl From<&crate::store::StoreOptions> for PoolOptions {
    fn from(c: &crate::store::StoreOptions) -> Self {
        PoolOptions {
            max_connections: c.pool_size,
            connect_timeout: Duration::from_secs(c.connect_timeout_seconds),
            ca_file: c.ca_file.clone(),
        }
    }
}

/// A bounded pool of blocking clients.
pub(super) struct Pool {
    pub(super) config: postgres::Config,
    pub(super) tls: MakeRustlsConnect,
    pub(super) opts: PoolOptions,
    pub(super) idle: Mutex<Vec<Client>>,
    /// Connections handed out or idle.
    pub(super) open: Mutex<usize>,
    pub(super) freed: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("opts", &self.opts).finish()
    }
}

/// A connection on loan from the pool; returned when dropped, unless the
/// server closed it.
pub(super) struct Conn<'p> {
    pub(super) pool: &'p Pool,
    pub(super) client: Option<Client>,
    /// Connected for this call (not taken from the idle list).
    pub(super) fresh: bool,
}

impl Conn<'_> {
    pub(super) fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a loaned connection holds a client")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.is_closed()
        {
            lock(&self.pool.idle).push(c);
            self.pool.freed.notify_one();
            return;
        }
        *lock(&self.pool.open) -= 1;
        self.pool.freed.notify_one();
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent whatever panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    pub(super) fn get(&self) -> Result<Conn<'_>, StoreError> {
        let deadline = std::time::Instant::now() + self.opts.connect_timeout;
        loop {
            if let Some(c) = lock(&self.idle).pop() {
                if !c.is_closed() {
                    return Ok(Conn {
                        pool: self,
                        client: Some(c),
                        fresh: false,
                    });
                }
                *lock(&self.open) -= 1;
                continue;
            }
            let mut open = lock(&self.open);
            if *open < self.opts.max_connections {
                *open += 1;
                drop(open);
                return match self.config.connect(self.tls.clone()) {
                    Ok(mut c) => {
                        warn_if_plaintext(&mut c);
                        Ok(Conn {
                            pool: self,
                            client: Some(c),
                            fresh: true,
                        })
                    }
                    Err(e) => {
                        *lock(&self.open) -= 1;
                        self.freed.notify_one();
                        Err(classify(e))
                    }
                };
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable(format!(
                    "all {} database connections are busy (store.pool_size)",
                    self.opts.max_connections
                )));
            }
            let _ = self
                .freed
                .wait_timeout(open, left.min(Duration::from_millis(50)))
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Pool {
    /// Drops every idle connection: after the database went away they are
    /// all dead, though a blocking client learns it only when next used.
    pub(super) fn clear_idle(&self) {
        let dropped = std::mem::take(&mut *lock(&self.idle)).len();
        *lock(&self.open) -= dropped;
        self.freed.notify_all();
    }
}
