//! One WebSocket session: a single task that writes the hub's queued frames, reads (and
//! mostly ignores) the client's frames, pings an idle peer, and closes the socket with the
//! contract's code when the hub, the token's expiry or the client ends it.
//!
//! One task rather than a reader and a writer task: per idle session that halves the task
//! memory, and nothing here needs the two halves to run in parallel.

use super::{CloseReason, Next, Outbox, Registration};
use axum::extract::ws::{Message, Utf8Bytes};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::time::Duration;
use tokio::time::Instant;

/// Largest client message accepted before closing with 1009.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;

/// Frames written per flush at most, so one busy session yields to the others.
const MAX_BATCH: usize = 128;

/// How long a close frame may take to leave before the socket is simply dropped.
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);

/// Timing of a session.
#[derive(Clone, Copy, Debug)]
pub struct SessionSettings {
    /// Ping an idle peer this often; drop it if the previous ping got no answer.
    pub ping_interval: Duration,
    /// When the token expires: the session is closed with 1008 then.
    pub expires_at: Instant,
}

/// Runs a registered session over a socket's two halves until it ends: `sink` takes the
/// frames, `stream` yields the client's. Generic so that tests can drive it without a
/// socket; the server runs it over a split [`axum::extract::ws::WebSocket`].
pub async fn run_session<Out, In>(mut sink: Out, mut stream: In, registration: Registration, settings: SessionSettings)
where
    Out: Sink<Message, Error = axum::Error> + Unpin,
    In: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let Registration { greeting, outbox, guard } = registration;
    let mut frames_sent: u64 = 0;
    let ending = async {
        // One write per greeting frame: tungstenite keeps its output buffer's capacity for the
        // life of the socket, and sized for one frame rather than three it costs every idle
        // session a few hundred bytes less.
        for frame in greeting {
            if sink.send(Message::Text(frame)).await.is_err() {
                return CloseReason::CONNECTION_LOST;
            }
            frames_sent += 1;
        }
        // One timer serves both the pings and the token's expiry: fewer timers per session
        // to keep in memory and to poll on every wake-up.
        let mut next_ping_at = Instant::now() + settings.ping_interval;
        let mut awaiting_pong = false;
        let timer = tokio::time::sleep_until(next_ping_at.min(settings.expires_at));
        tokio::pin!(timer);
        loop {
            tokio::select! {
                // Frames first: under load the queue is what is ready most often.
                biased;
                next = outbox.next() => {
                    let frame = match next {
                        Next::Close(reason) => return reason,
                        Next::Frame(frame) => frame,
                    };
                    // Write the frame and whatever else is already waiting in one flush. The
                    // write's state lives on the heap only while it runs, which keeps every
                    // idle session's task small.
                    match Box::pin(write_waiting(&mut sink, frame, &outbox)).await {
                        Ok(written) => frames_sent += written,
                        Err(ending) => return ending,
                    }
                }
                incoming = stream.next() => {
                    awaiting_pong = false;
                    match incoming {
                        None => return CloseReason::CONNECTION_LOST,
                        Some(Ok(Message::Close(_))) => return CloseReason::CLOSED_BY_CLIENT,
                        Some(Ok(Message::Text(text))) if text.len() > MAX_CLIENT_MESSAGE_BYTES => {
                            return CloseReason::MESSAGE_TOO_BIG;
                        }
                        Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_CLIENT_MESSAGE_BYTES => {
                            return CloseReason::MESSAGE_TOO_BIG;
                        }
                        // The protocol has no client requests yet: other frames are ignored.
                        Some(Ok(_)) => {}
                        Some(Err(error)) if is_oversized(&error) => return CloseReason::MESSAGE_TOO_BIG,
                        Some(Err(_)) => return CloseReason::CONNECTION_LOST,
                    }
                }
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= settings.expires_at {
                        return CloseReason::TOKEN_EXPIRED;
                    }
                    if awaiting_pong {
                        return CloseReason::PING_TIMEOUT;
                    }
                    awaiting_pong = true;
                    // Boxed like the writes: its timer lives on the heap only while it runs.
                    if let Some(ending) = Box::pin(ping(&mut sink, settings.ping_interval)).await {
                        return ending;
                    }
                    next_ping_at = now + settings.ping_interval;
                    timer.as_mut().reset(next_ping_at.min(settings.expires_at));
                }
            }
        }
    }
    .await;
    if let Some(frame) = ending.frame() {
        // A peer that does not take the close frame in time is dropped all the same.
        let _ = tokio::time::timeout(CLOSE_DEADLINE, sink.send(frame)).await;
    }
    guard.finish(ending, frames_sent);
}

/// Writes `first` and what else is waiting (up to `MAX_BATCH` frames) with one flush. A
/// stalled peer is cut off by the hub's close request, not waited for. Returns how many
/// frames were written, or why the session ends.
async fn write_waiting<Out>(sink: &mut Out, first: Utf8Bytes, outbox: &Outbox) -> Result<u64, CloseReason>
where
    Out: Sink<Message, Error = axum::Error> + Unpin,
{
    let mut batch = vec![first];
    outbox.take_waiting(&mut batch, MAX_BATCH - 1);
    let frames = batch.len() as u64;
    tokio::select! {
        biased;
        reason = outbox.closed() => Err(reason),
        written = write_batch(sink, &mut batch) => written.map(|()| frames).map_err(|_| CloseReason::CONNECTION_LOST),
    }
}

/// Sends a ping. A peer whose socket will not even take it within `patience` is as dead as a
/// silent one. Returns why the session ends, if it does.
async fn ping<Out>(sink: &mut Out, patience: Duration) -> Option<CloseReason>
where
    Out: Sink<Message, Error = axum::Error> + Unpin,
{
    match tokio::time::timeout(patience, sink.send(Message::Ping(Default::default()))).await {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(CloseReason::CONNECTION_LOST),
        Err(_) => Some(CloseReason::PING_TIMEOUT),
    }
}

/// Feeds every frame of `batch` (emptying it), then flushes once.
async fn write_batch<Out>(sink: &mut Out, batch: &mut Vec<Utf8Bytes>) -> Result<(), axum::Error>
where
    Out: Sink<Message, Error = axum::Error> + Unpin,
{
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{auth::AuthUser, clock::KitchenClock, hub::Hub};
    use app::wire::{close_code, Role};
    use futures::channel::mpsc;

    const PING: Duration = Duration::from_secs(30);

    /// A session of a head chef run over channels instead of a socket: what it sends, and a
    /// handle to send it the client's frames.
    struct Harness {
        hub: Hub,
        sent: mpsc::UnboundedReceiver<Message>,
        client: mpsc::UnboundedSender<Result<Message, axum::Error>>,
        started: Instant,
    }

    fn start(expires_in: Duration) -> Harness {
        let hub = Hub::new("test", 16, 0, Default::default());
        let user = AuthUser {
            id: 1,
            role: Role::HeadChef,
            first_name: "Gordon".into(),
            last_name: "Ramsay".into(),
            expires_at: 0,
            session: crate::auth::SessionId::from_u128(1),
            kitchen_id: 1,
        };
        let clock = KitchenClock::new(chrono_tz::UTC);
        let registration = hub.register(&user, None, clock).expect("registered");
        let (sink, sent) = mpsc::unbounded();
        let (client, stream) = mpsc::unbounded();
        let started = Instant::now();
        let settings = SessionSettings { ping_interval: PING, expires_at: started + expires_in };
        tokio::spawn(run_session(sink.sink_map_err(axum::Error::new), stream, registration, settings));
        Harness { hub, sent, client, started }
    }

    impl Harness {
        /// The next frame the session sends that is not a greeting text frame.
        async fn next_control(&mut self) -> Message {
            loop {
                match self.sent.next().await.expect("the session sends more") {
                    Message::Text(_) => continue,
                    other => return other,
                }
            }
        }

        fn close_code(message: &Message) -> (u16, String) {
            match message {
                Message::Close(Some(frame)) => (frame.code, frame.reason.to_string()),
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_is_pinged_then_dropped_with_1011() {
        let mut session = start(Duration::from_secs(3600));
        assert!(matches!(session.next_control().await, Message::Ping(_)));
        assert_eq!(session.started.elapsed(), PING);
        let close = session.next_control().await;
        assert_eq!(Harness::close_code(&close), (close_code::PING_TIMEOUT, "ping timeout".into()));
        assert_eq!(session.started.elapsed(), 2 * PING);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_answers_is_kept() {
        let mut session = start(Duration::from_secs(3600));
        for _ in 0..3 {
            assert!(matches!(session.next_control().await, Message::Ping(_)));
            session.client.unbounded_send(Ok(Message::Pong(Default::default()))).unwrap();
        }
        assert_eq!(session.started.elapsed(), 3 * PING);
        assert_eq!(session.hub.session_counts(), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_session_ends_with_1008_when_its_token_expires() {
        let mut session = start(Duration::from_secs(5));
        let close = session.next_control().await;
        assert_eq!(Harness::close_code(&close), (close_code::POLICY_VIOLATION, "token expired".into()));
        assert_eq!(session.started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_message_over_4_kib_ends_the_session_with_1009() {
        let mut session = start(Duration::from_secs(3600));
        session.client.unbounded_send(Ok(Message::Text("x".repeat(MAX_CLIENT_MESSAGE_BYTES).into()))).unwrap();
        session.client.unbounded_send(Ok(Message::Text("x".repeat(MAX_CLIENT_MESSAGE_BYTES + 1).into()))).unwrap();
        let close = session.next_control().await;
        assert_eq!(Harness::close_code(&close), (close_code::MESSAGE_TOO_BIG, "message too big".into()));
        assert_eq!(session.started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_goes_away_is_unregistered_without_a_close_frame() {
        let mut session = start(Duration::from_secs(3600));
        drop(session.client);
        while let Some(message) = session.sent.next().await {
            assert!(matches!(message, Message::Text(_)), "nothing but the greeting: {message:?}");
        }
        assert_eq!(session.hub.session_counts(), (0, 0));
    }
}
