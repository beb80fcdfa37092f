//! The server's side of its TCP connections: how many it holds, how long a
//! silent one may wait, and counters an operator can read in the log.
//!
//! tonic accepts any stream of connections; smefin gives it one that
//! - holds at most `server.max_connections` at once (a connection beyond
//!   them is closed at once, counted, and logged at debug);
//! - closes a connection whose client sends nothing within
//!   `server.handshake_timeout_seconds` (an idle or half-open socket never
//!   reaches HTTP/2, so it would otherwise hold a file descriptor forever);
//! - sets TCP_NODELAY and TCP keepalive on each socket.
//!
//! HTTP/2 keepalive pings (`server.keepalive_*`) then close established
//! connections whose peer has gone, and `server.max_connection_age_seconds`
//! recycles long-lived ones gracefully.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Events an operator may want to count, kept as totals since start-up and
/// logged at info once a minute when they changed (and when the server
/// stops), instead of one log line each.
#[derive(Debug)]
pub struct Counters {
    /// Connections closed at once because `server.max_connections` were open.
    pub connections_refused: AtomicU64,
    /// Connections closed because the client sent nothing in time.
    pub handshake_timeouts: AtomicU64,
    /// Connections accepted.
    pub connections_accepted: AtomicU64,
    /// Streaming calls whose client went away or reset the stream before
    /// the call ended (BatchMatch, SubmitLoanSnapshot, SimulatePool).
    pub abandoned_streams: AtomicU64,
}

/// The process's counters (every server the process runs adds to them).
pub static COUNTERS: Counters = Counters {
    connections_refused: AtomicU64::new(0),
    handshake_timeouts: AtomicU64::new(0),
    connections_accepted: AtomicU64::new(0),
    abandoned_streams: AtomicU64::new(0),
};

/// Counts a streaming call its client abandoned, logged at debug.
pub fn abandoned(method: &'static str, detail: &dyn std::fmt::Display) {
    COUNTERS.abandoned_streams.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(method, %detail, "client abandoned the stream");
}

impl Counters {
    fn snapshot(&self) -> [u64; 4] {
        [
            self.connections_accepted.load(Ordering::Relaxed),
            self.connections_refused.load(Ordering::Relaxed),
            self.handshake_timeouts.load(Ordering::Relaxed),
            self.abandoned_streams.load(Ordering::Relaxed),
        ]
    }

    /// Logs the totals at info.
    pub fn log(&self) {
        let [accepted, refused, timeouts, abandoned] = self.snapshot();
        tracing::info!(
            connections_accepted = accepted,
            connections_refused = refused,
            handshake_timeouts = timeouts,
            abandoned_streams = abandoned,
            "connection and stream counters (totals since start-up)"
        );
    }

    /// Logs the totals once a minute while they change; runs until dropped.
    pub async fn log_every_minute(&'static self) {
        let mut last = self.snapshot();
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = self.snapshot();
            if now != last {
                self.log();
                last = now;
            }
        }
    }
}

/// Connection limits (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Most connections held at once.
    pub max_connections: usize,
    /// How long a new connection may stay silent.
    pub handshake_timeout: Duration,
    /// TCP keepalive idle time.
    pub tcp_keepalive: Duration,
}

/// An accepted connection; its slot frees when tonic drops it.
#[derive(Debug)]
pub struct Conn {
    io: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

fn tune(sock: &TcpStream, keepalive: Duration) {
    let _ = sock.set_nodelay(true);
    let s = socket2::SockRef::from(sock);
    let _ = s.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(keepalive));
}

/// The connections of `listener`, limited as `limits` say. The accept loop
/// ends when the stream is dropped (the server stopped).
pub fn incoming(
    listener: TcpListener,
    limits: ConnLimits,
) -> impl Stream<Item = Result<Conn, io::Error>> {
    let (tx, rx) = mpsc::channel::<Result<Conn, io::Error>>(64);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = tx.closed() => break,
                r = listener.accept() => r,
            };
            let sock = match accepted {
                Ok((sock, _)) => sock,
                Err(e) => {
                    // Out of file descriptors or a transient network error:
                    // back off briefly instead of spinning.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                COUNTERS.connections_refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("server.max_connections reached: connection closed");
                continue;
            };
            COUNTERS
                .connections_accepted
                .fetch_add(1, Ordering::Relaxed);
            tune(&sock, limits.tcp_keepalive);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut first = [0u8; 1];
                match tokio::time::timeout(limits.handshake_timeout, sock.peek(&mut first)).await {
                    Ok(Ok(n)) if n > 0 => {
                        let _ = tx
                            .send(Ok(Conn {
                                io: sock,
                                _slot: slot,
                            }))
                            .await;
                    }
                    Ok(_) => {} // closed, or failed, before a byte came
                    Err(_) => {
                        COUNTERS.handshake_timeouts.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("connection silent past the handshake timeout: closed");
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
