//! Serving connections with the limits of section 8, which `axum::serve` does not set (it
//! gives hyper no timer): hyper's HTTP/1 connection (with upgrades, for the notification
//! socket) driven by hyper-util's tokio glue, under three rules:
//!
//! - at most `max_connections` connections at once, counted until the socket closes (an
//!   upgraded WebSocket keeps its place): one more is closed at once, before a byte is read,
//!   so the process never runs out of file descriptors and the users already in are unharmed;
//! - a new connection whose first request's headers are not complete within
//!   `header_timeout` is dropped;
//! - a kept-alive connection waits at most `idle_timeout` for its next request. (hyper
//!   times a request's headers from the moment it waits for them, so on a kept-alive
//!   connection the idle wait and the next request's headers share that one timer.)
//!
//! Stopping: no new connection is accepted, idle connections close, requests in flight
//! finish; upgraded sockets are closed by the hub beforehand. Every connection's task is
//! tracked, so stopping waits until the last one has ended, without polling. (hyper-util's
//! `GracefulShutdown` would do the same, but it cannot watch a connection that may be
//! upgraded, which the notification socket needs.)

use crate::config::Config;
use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

/// The connection limits; `None` lifts one.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub max_connections: Option<usize>,
    pub header_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
}

impl ConnectionLimits {
    /// The limits `config` sets.
    pub fn of(config: &Config) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: config.max_connections(),
            header_timeout: config.header_timeout(),
            idle_timeout: config.idle_timeout(),
        }
    }
}

/// How long stopping waits for requests in flight before it gives up on them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to pause accepting after the kernel refused a new socket (out of descriptors).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `stop` completes, then stops as described above.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let capacity = limits.max_connections.unwrap_or(Semaphore::MAX_PERMITS).clamp(1, Semaphore::MAX_PERMITS);
    let places = Arc::new(Semaphore::new(capacity));
    let stopping = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.idle_timeout).keep_alive(true);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection; pausing");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            // Full: the client sees the connection closed at once and may try again.
            tracing::debug!(%peer, "connection refused: at the connection limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            io: TokioIo::new(Counted { stream, _place: place }),
            peer,
            router: router.clone(),
            http: http.clone(),
            limits,
            stopping: stopping.clone(),
        };
        connections.spawn(connection.run());
    }
    drop(listener);
    stopping.cancel();
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait()).await.is_err() {
        tracing::warn!("some connections were still open {DRAIN_TIMEOUT:?} after stopping");
    }
    Ok(())
}

/// One accepted connection and what it needs to be served.
struct Connection {
    io: TokioIo<Counted>,
    peer: SocketAddr,
    router: Router,
    http: http1::Builder,
    limits: ConnectionLimits,
    stopping: CancellationToken,
}

impl Connection {
    async fn run(self) {
        let first_request_seen = Arc::new(AtomicBool::new(false));
        let seen = first_request_seen.clone();
        let (router, peer) = (self.router, self.peer);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            seen.store(true, Ordering::Release);
            // What the `ConnectInfo` extractor reads (sign-in throttling counts addresses).
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = self.http.serve_connection(self.io, service).with_upgrades();
        tokio::pin!(connection);
        // The first request's headers must be complete within the header timeout.
        let first_deadline = tokio::time::sleep(self.limits.header_timeout.unwrap_or(Duration::ZERO));
        let mut awaiting_first = self.limits.header_timeout.is_some();
        let stopping = self.stopping.cancelled();
        tokio::pin!(first_deadline, stopping);
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                    return;
                }
                () = &mut first_deadline, if awaiting_first => {
                    awaiting_first = false;
                    if !first_request_seen.load(Ordering::Acquire) {
                        tracing::debug!(%peer, "dropped a connection whose first request did not arrive in time");
                        return;
                    }
                }
                () = &mut stopping => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                    return;
                }
            }
        }
    }
}

/// A connection's socket together with its place under the connection limit, so the place
/// is given back exactly when the socket closes, also after an upgrade.
struct Counted {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
