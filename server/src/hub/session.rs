//! One WebSocket session: a single task that writes the hub's queued frames, reads (and
//! mostly ignores) the client's frames, pings an idle peer, and closes the socket with the
//! contract's code when the hub, the token's expiry or the client ends it.
//!
//! One task rather than a reader and a writer task: per idle session that halves the task
//! memory, and nothing here needs the two halves to run in parallel.

use super::{Next, Outbox, Registration};
use app::wire::close_code;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::time::Instant;

/// Largest client message accepted before closing with 1009.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;

/// Frames written per flush at most, so one busy session yields to the others.
const MAX_BATCH: usize = 64;

/// How long a close frame may take to leave before the socket is simply dropped.
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);

/// Timing of a session.
#[derive(Clone, Copy, Debug)]
pub struct SessionSettings {
    /// Ping an idle peer this often; drop it if the previous ping got no answer.
    pub ping_interval: Duration,
    /// The token's expiry, in Unix seconds: the session is closed with 1008 then.
    pub expires_at: i64,
}

/// How a session ended, for the close frame.
enum Ending {
    /// The client closed or vanished: nothing more to send.
    ClientGone,
    /// Send this close frame, then stop.
    Close(u16, &'static str),
}

/// Runs a registered session until it ends.
pub async fn run_session(socket: WebSocket, registration: Registration, settings: SessionSettings) {
    let Registration { greeting, outbox, guard } = registration;
    let (mut sink, mut stream) = socket.split();
    let ending = async {
        // One write per greeting frame: tungstenite keeps its output buffer's capacity for the
        // life of the socket, and sized for one frame rather than three it costs every idle
        // session a few hundred bytes less.
        for frame in greeting {
            if sink.send(Message::Text(frame)).await.is_err() {
                return Ending::ClientGone;
            }
        }
        // One timer serves both the pings and the token's expiry: fewer timers per session
        // to keep in memory and to poll on every wake-up.
        let expires_at = instant_of_unix(settings.expires_at);
        let mut next_ping_at = Instant::now() + settings.ping_interval;
        let mut awaiting_pong = false;
        let timer = tokio::time::sleep_until(next_ping_at.min(expires_at));
        tokio::pin!(timer);
        loop {
            tokio::select! {
                // Frames first: under load the queue is what is ready most often.
                biased;
                next = outbox.next() => {
                    let frame = match next {
                        Next::Close(reason) => return Ending::Close(reason.code, reason.reason),
                        Next::Frame(frame) => frame,
                    };
                    // Write the frame and whatever else is already waiting in one flush. The
                    // write's state lives on the heap only while it runs, which keeps every
                    // idle session's task small.
                    if let Some(ending) = Box::pin(write_waiting(&mut sink, frame, &outbox)).await {
                        return ending;
                    }
                }
                incoming = stream.next() => {
                    awaiting_pong = false;
                    match incoming {
                        None | Some(Ok(Message::Close(_))) => return Ending::ClientGone,
                        Some(Ok(Message::Text(text))) if text.len() > MAX_CLIENT_MESSAGE_BYTES => {
                            return Ending::Close(close_code::MESSAGE_TOO_BIG, "message too big");
                        }
                        Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_CLIENT_MESSAGE_BYTES => {
                            return Ending::Close(close_code::MESSAGE_TOO_BIG, "message too big");
                        }
                        // The protocol has no client requests yet: other frames are ignored.
                        Some(Ok(_)) => {}
                        Some(Err(error)) if is_oversized(&error) => {
                            return Ending::Close(close_code::MESSAGE_TOO_BIG, "message too big");
                        }
                        Some(Err(_)) => return Ending::ClientGone,
                    }
                }
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= expires_at {
                        return Ending::Close(close_code::POLICY_VIOLATION, "token expired");
                    }
                    if awaiting_pong {
                        return Ending::Close(close_code::PING_TIMEOUT, "ping timeout");
                    }
                    awaiting_pong = true;
                    // Boxed like the writes: its timer lives on the heap only while it runs.
                    if let Some(ending) = Box::pin(ping(&mut sink, settings.ping_interval)).await {
                        return ending;
                    }
                    next_ping_at = now + settings.ping_interval;
                    timer.as_mut().reset(next_ping_at.min(expires_at));
                }
            }
        }
    }
    .await;
    if let Ending::Close(code, reason) = ending {
        let frame = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }));
        // A peer that does not take the close frame in time is dropped all the same.
        let _ = tokio::time::timeout(CLOSE_DEADLINE, sink.send(frame)).await;
    }
    drop(guard);
}

/// Writes `first` and what else is waiting (up to `MAX_BATCH` frames) with one flush. A
/// stalled peer is cut off by the hub's close request, not waited for: returns how the
/// session ends, if it does.
async fn write_waiting(sink: &mut futures::stream::SplitSink<WebSocket, Message>, first: Utf8Bytes, outbox: &Outbox) -> Option<Ending> {
    let mut batch = vec![first];
    outbox.take_waiting(&mut batch, MAX_BATCH - 1);
    tokio::select! {
        biased;
        reason = outbox.closed() => Some(Ending::Close(reason.code, reason.reason)),
        written = write_batch(sink, &mut batch) => written.is_err().then_some(Ending::ClientGone),
    }
}

/// Sends a ping. A peer whose socket will not even take it within `patience` is as dead as a
/// silent one: returns how the session ends, if it does.
async fn ping(sink: &mut futures::stream::SplitSink<WebSocket, Message>, patience: Duration) -> Option<Ending> {
    match tokio::time::timeout(patience, sink.send(Message::Ping(Default::default()))).await {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(Ending::ClientGone),
        Err(_) => Some(Ending::Close(close_code::PING_TIMEOUT, "ping timeout")),
    }
}

/// Feeds every frame of `batch` (emptying it), then flushes once.
async fn write_batch(sink: &mut futures::stream::SplitSink<WebSocket, Message>, batch: &mut Vec<Utf8Bytes>) -> Result<(), axum::Error> {
    for frame in batch.drain(..) {
        sink.feed(Message::Text(frame)).await?;
    }
    sink.flush().await
}

/// Whether a read error is the socket's size limit (a message or frame over the cap).
fn is_oversized(error: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::{error::CapacityError, Error};
    let source: &(dyn std::error::Error + 'static) = error;
    let mut cause = Some(source);
    while let Some(current) = cause {
        if let Some(Error::Capacity(CapacityError::MessageTooLong { .. })) = current.downcast_ref::<Error>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// The tokio instant of a Unix time in seconds (now, if it already passed).
fn instant_of_unix(unix_seconds: i64) -> Instant {
    let remaining = unix_seconds.saturating_sub(chrono::Utc::now().timestamp()).max(0);
    Instant::now() + Duration::from_secs(u64::try_from(remaining).unwrap_or(0))
}
