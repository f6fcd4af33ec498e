//! Serving connections with the limits of section 8, which `axum::serve` does not set (it
//! gives hyper no timer): hyper's HTTP/1 connection (with upgrades, for the notification
//! socket) driven by hyper-util's tokio glue, under these rules:
//!
//! - at most `max_connections` connections at once, counted until the socket closes (an
//!   upgraded WebSocket keeps its place): one more is closed at once, before a byte is read,
//!   so the process never runs out of file descriptors and the users already in are unharmed;
//! - at most `max_per_address` of them from one client (an IPv4 address, or an IPv6 /64, the
//!   block one host usually holds); trusted proxies, which carry many clients, are exempt. One
//!   client over its share is refused the same way, and nobody else notices;
//! - every request's headers must be complete within `header_timeout` of their first byte
//!   (and a new connection's first request within `header_timeout` of its connecting): a
//!   client that sends headers a byte at a time holds its connection for no longer, on a
//!   kept-alive connection as on a new one;
//! - a kept-alive connection waits at most `idle_timeout` for its next request (hyper's own
//!   header timer, which runs from the moment it waits for a request).
//!
//! Stopping: no new connection is accepted, idle connections close, requests in flight
//! finish; upgraded sockets are closed by the hub beforehand. Every connection's task is
//! tracked, so stopping waits until the last one has ended, without polling. (hyper-util's
//! `GracefulShutdown` would do the same, but it cannot watch a connection that may be
//! upgraded, which the notification socket needs.)

use super::forwarded::client_key;
use crate::config::Config;
use axum::{extract::ConnectInfo, Router};
use futures::FutureExt;
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt;

/// The connection limits; `None` lifts one.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    pub max_connections: Option<usize>,
    pub max_per_address: Option<usize>,
    /// Peers the per-address limit does not count: the trusted reverse proxies.
    pub exempt: Arc<[IpNet]>,
    pub header_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
}

impl ConnectionLimits {
    /// The limits `config` sets.
    pub fn of(config: &Config) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: config.max_connections(),
            max_per_address: config.max_connections_per_address(),
            exempt: config.trusted_proxies.clone().into(),
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
    let per_address = Arc::new(AddressPlaces::default());
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
        let address_place = match limits.max_per_address {
            Some(share) if !limits.exempt.iter().any(|net| net.contains(&peer.ip().to_canonical())) => {
                match per_address.take(client_key(peer.ip()), share) {
                    Some(address_place) => Some(address_place),
                    None => {
                        tracing::debug!(%peer, "connection refused: the client holds its share already");
                        drop(stream);
                        continue;
                    }
                }
            }
            _ => None,
        };
        let _ = stream.set_nodelay(true);
        let clock = limits.header_timeout.map(|_| Arc::new(RequestClock::new()));
        let connection = Connection {
            io: TokioIo::new(Counted { stream, _place: place, _address_place: address_place, clock: clock.clone() }),
            peer,
            router: router.clone(),
            http: http.clone(),
            header_timeout: limits.header_timeout,
            clock,
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
    header_timeout: Option<Duration>,
    /// Where the connection is between requests (`None` without a header timeout).
    clock: Option<Arc<RequestClock>>,
    stopping: CancellationToken,
}

impl Connection {
    async fn run(self) {
        let (router, peer, clock) = (self.router, self.peer, self.clock);
        let request_clock = clock.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What the `ConnectInfo` extractor reads (sign-in throttling counts addresses).
            request.extensions_mut().insert(ConnectInfo(peer));
            if let Some(clock) = &request_clock {
                clock.set(Phase::Answering);
            }
            let answered = request_clock.clone();
            router.clone().oneshot(request).map(move |response| {
                if let Some(clock) = &answered {
                    clock.set(Phase::Idle);
                }
                response
            })
        });
        let connection = self.http.serve_connection(self.io, service).with_upgrades();
        tokio::pin!(connection);
        // Armed while a request's headers are on their way (the first one's from the connect).
        let deadline = tokio::time::sleep(Duration::ZERO);
        let stopping = self.stopping.cancelled();
        tokio::pin!(deadline, stopping);
        let mut head_started = None;
        loop {
            if let (Some(clock), Some(timeout)) = (&clock, self.header_timeout) {
                head_started = match clock.phase() {
                    Phase::Head(started) => Some(started),
                    Phase::Idle | Phase::Answering => None,
                };
                if let Some(started) = head_started {
                    deadline.as_mut().reset(started + timeout);
                }
            }
            let changed = async {
                match &clock {
                    Some(clock) => clock.changed.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                    return;
                }
                () = changed => {}
                () = &mut deadline, if head_started.is_some() => {
                    if clock.as_ref().map(|clock| clock.phase()) == head_started.map(Phase::Head) {
                        tracing::debug!(%peer, "dropped a connection whose request headers did not arrive in time");
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

/// Where a connection is between its requests, for the header timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A request's headers are on their way since this instant (the first request's since the
    /// connection was accepted).
    Head(Instant),
    /// A request is being answered.
    Answering,
    /// Answered; no byte of the next request yet (hyper's idle timeout runs).
    Idle,
}

/// A connection's phase, moved on by the socket's reads and the service's requests, watched
/// by the connection's task.
struct RequestClock {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl RequestClock {
    fn new() -> RequestClock {
        RequestClock { phase: Mutex::new(Phase::Head(Instant::now())), changed: Notify::new() }
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        // Every critical section is one assignment.
        self.phase.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn phase(&self) -> Phase {
        *self.lock()
    }

    fn set(&self, phase: Phase) {
        *self.lock() = phase;
        self.changed.notify_one();
    }

    /// Bytes arrived: after an answer, they are the next request's first.
    fn bytes_read(&self) {
        let mut phase = self.lock();
        if *phase == Phase::Idle {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_one();
        }
    }
}

/// How many connections each client holds, for the per-address limit.
#[derive(Default)]
struct AddressPlaces {
    held: Mutex<HashMap<IpAddr, usize>>,
}

impl AddressPlaces {
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Every critical section is one map update.
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for one more connection of `client`, unless it holds `share` already.
    fn take(self: &Arc<Self>, client: IpAddr, share: usize) -> Option<AddressPlace> {
        let mut held = self.lock();
        let count = held.entry(client).or_insert(0);
        if *count >= share {
            return None;
        }
        *count += 1;
        Some(AddressPlace { places: self.clone(), client })
    }
}

/// One connection's place in its client's share; given back when the socket closes.
struct AddressPlace {
    places: Arc<AddressPlaces>,
    client: IpAddr,
}

impl Drop for AddressPlace {
    fn drop(&mut self) {
        let mut held = self.places.lock();
        if let Some(count) = held.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.client);
            }
        }
    }
}

/// A connection's socket together with its places under the connection limits, so they are
/// given back exactly when the socket closes, also after an upgrade; its reads move the
/// request clock on.
struct Counted {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
    _address_place: Option<AddressPlace>,
    clock: Option<Arc<RequestClock>>,
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(clock)) = (&read, &self.clock) {
            if buf.filled().len() > before {
                clock.bytes_read();
            }
        }
        read
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
