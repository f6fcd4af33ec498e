//! One notification socket: a single task that writes the hub's queued frames, reads (and
//! mostly ignores) the client's frames, pings an idle peer, and closes the socket with the
//! contract's code when the hub, the token's expiry or the client ends it.
//!
//! One task rather than a reader and a writer task: per idle socket that halves the task
//! memory, and nothing here needs the two halves to run in parallel.
//!
//! The hub's frames are written straight to the socket, already encoded and shared (see
//! [`super::frame`]); tungstenite reads the client's frames and writes the control frames
//! (pings, a pong it owes, the close). The two never interleave inside a frame: tungstenite's
//! own output is flushed before the hub's frames are written, and a write of them is only
//! ever left at a frame's boundary (see [`VectoredWrite`]).

use super::{CloseReason, Frame, Next, Outbox, Registration};
use futures::{SinkExt, StreamExt};
use std::{io, io::IoSlice, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncWrite, AsyncWriteExt},
    time::Instant,
};
use tokio_tungstenite::{
    tungstenite::{protocol::WebSocketConfig, Message},
    WebSocketStream,
};

/// Largest client message accepted before closing with 1009.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;

/// Frames written per write at most, so one busy socket yields to the others (and one
/// vectored write stays far under the kernel's limit of 1,024 pieces).
const MAX_BATCH: usize = 128;

/// How long a close frame may take to leave before the socket is simply dropped.
const CLOSE_DEADLINE: Duration = Duration::from_secs(2);

/// Bytes tungstenite reads from the socket at a time. Clients send only pongs and the odd
/// tiny frame, and tungstenite zero-fills this whole buffer on its first read: a small one
/// keeps idle sockets small (a 4 KiB client message simply takes several reads).
const READ_BUFFER_BYTES: usize = 128;
/// Control frames tungstenite may hold for a peer that does not read, before its writes
/// fail. The hub's frames never pass through tungstenite's buffer (it only ever holds a
/// ping, a pong or the close), so it stays a few bytes per socket.
const MAX_CONTROL_BUFFER_BYTES: usize = 4 * 1024;

/// How tungstenite is set up for a socket.
pub fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Control frames go out at once; nothing else is gathered in tungstenite.
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_CONTROL_BUFFER_BYTES)
        .max_message_size(Some(MAX_CLIENT_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE_BYTES))
}

/// Timing of a socket.
#[derive(Clone, Copy, Debug)]
pub struct SocketSettings {
    /// Ping an idle peer this often; drop it if the previous ping got no answer.
    pub ping_interval: Duration,
    /// When the token expires: the socket is closed with 1008 then.
    pub expires_at: Instant,
}

/// How a socket ends: why, and whether its close frame may still be sent (not when a
/// write of the hub's frames was cut off inside a frame: anything after it would be read as
/// that frame's rest).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ending {
    reason: CloseReason,
    may_send_close: bool,
}

impl From<CloseReason> for Ending {
    fn from(reason: CloseReason) -> Ending {
        Ending { reason, may_send_close: true }
    }
}

/// The socket's one timer, shared by the pings and the token's expiry (fewer timers per
/// socket to keep in memory and to poll on every wake-up), and what it decides.
struct Clock {
    settings: SocketSettings,
    next_ping_at: Instant,
    /// A ping went out and nothing has come back since.
    awaiting_pong: bool,
    /// When a write of the hub's frames last moved bytes: a write that makes progress shows
    /// the peer reads, whether or not it can answer a ping meanwhile.
    last_write_progress: Instant,
}

impl Clock {
    fn new(settings: SocketSettings) -> Clock {
        let now = Instant::now();
        Clock { settings, next_ping_at: now + settings.ping_interval, awaiting_pong: false, last_write_progress: now }
    }

    fn deadline(&self) -> Instant {
        self.next_ping_at.min(self.settings.expires_at)
    }

    /// The timer fired while a write of the hub's frames was under way (a ping cannot go out
    /// in the middle of a frame): the socket ends if the token expired, or if not one byte has
    /// left for a whole ping period (the peer stopped reading); otherwise it is looked at again
    /// a period after the last progress. Returns the timer's next deadline.
    fn tick_while_writing(&mut self, now: Instant, last_progress: Option<Instant>) -> Result<Instant, CloseReason> {
        if now >= self.settings.expires_at {
            return Err(CloseReason::TOKEN_EXPIRED);
        }
        if let Some(last_progress) = last_progress {
            self.last_write_progress = self.last_write_progress.max(last_progress);
        }
        if now.duration_since(self.last_write_progress) >= self.settings.ping_interval {
            return Err(CloseReason::PING_TIMEOUT);
        }
        // The bytes that left are the peer's answer: nothing is owed until a period after them.
        self.awaiting_pong = false;
        self.next_ping_at = self.last_write_progress + self.settings.ping_interval;
        Ok(self.deadline())
    }
}

/// Runs a registered socket over an accepted socket until it ends. Generic over the socket's
/// transport so that tests can drive it over an in-memory pipe; the server runs it over the
/// upgraded HTTP connection.
pub async fn run_socket<S>(mut socket: WebSocketStream<S>, registration: Registration, settings: SocketSettings)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Registration { greeting, outbox, guard } = registration;
    let mut frames_sent: u64 = 0;
    let ending: Ending = async {
        // The write's state lives on the heap only while it runs, which keeps every idle
        // socket's task small (here and below).
        if Box::pin(VectoredWrite::new(&greeting).run(&mut socket)).await.is_err() {
            return CloseReason::CONNECTION_LOST.into();
        }
        frames_sent += greeting.len() as u64;
        drop(greeting);
        let mut clock = Clock::new(settings);
        let timer = tokio::time::sleep_until(clock.deadline());
        tokio::pin!(timer);
        loop {
            tokio::select! {
                // The timer first and the client's frames next, so pings, the token's expiry
                // and the client's close keep their turn however many frames are waiting.
                biased;
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= settings.expires_at {
                        return CloseReason::TOKEN_EXPIRED.into();
                    }
                    if clock.awaiting_pong {
                        return CloseReason::PING_TIMEOUT.into();
                    }
                    clock.awaiting_pong = true;
                    if let Some(ending) = Box::pin(ping(&mut socket, settings.ping_interval)).await {
                        return ending.into();
                    }
                    clock.next_ping_at = now + settings.ping_interval;
                    timer.as_mut().reset(clock.deadline());
                }
                incoming = socket.next() => {
                    clock.awaiting_pong = false;
                    if let Some(ending) = ending_of(incoming) {
                        return ending;
                    }
                }
                next = outbox.next() => {
                    let frame = match next {
                        Next::Close(reason) => return reason.into(),
                        Next::Frame(frame) => frame,
                    };
                    // Write the frame and whatever else is already waiting in one write.
                    let written = Box::pin(write_waiting(&mut socket, frame, &outbox, &mut clock, timer.as_mut()));
                    match written.await {
                        Ok(written) => frames_sent += written,
                        Err(ending) => return ending,
                    }
                }
            }
        }
    }
    .await;
    if ending.may_send_close {
        // A peer that does not take the close frame in time is dropped all the same.
        let _ = tokio::time::timeout(CLOSE_DEADLINE, send_close(&mut socket, ending.reason)).await;
    }
    guard.finish(ending.reason, frames_sent);
}

/// How what the client sent ends the socket, if it does.
fn ending_of(incoming: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Option<Ending> {
    use tokio_tungstenite::tungstenite::{error::ProtocolError, Error};
    let reason = match incoming {
        None => CloseReason::CONNECTION_LOST,
        Some(Ok(Message::Close(frame))) => CloseReason::closed_by_client(frame.map(|frame| u16::from(frame.code))),
        Some(Ok(Message::Text(text))) if text.len() > MAX_CLIENT_MESSAGE_BYTES => CloseReason::MESSAGE_TOO_BIG,
        Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_CLIENT_MESSAGE_BYTES => CloseReason::MESSAGE_TOO_BIG,
        // The protocol has no client requests yet: other frames are ignored.
        Some(Ok(_)) => return None,
        Some(Err(error)) if is_oversized(&error) => CloseReason::MESSAGE_TOO_BIG,
        // A peer gone without a close frame is not one to answer.
        Some(Err(Error::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => CloseReason::CONNECTION_LOST,
        // An unmasked, reserved-bit or otherwise malformed frame (RFC 6455 §7.4.1).
        Some(Err(Error::Protocol(_))) => CloseReason::PROTOCOL_ERROR,
        Some(Err(Error::Utf8(_))) => CloseReason::INVALID_UTF8,
        Some(Err(_)) => CloseReason::CONNECTION_LOST,
    };
    Some(reason.into())
}

/// Sends the close frame of `reason`, if it has one. The answer to a client's close frame is
/// written as it is (tungstenite would answer a close frame without a code with one without a
/// code, where the contract asks for 1000); any other close goes through tungstenite, which
/// writes what it still holds first.
async fn send_close<S>(socket: &mut WebSocketStream<S>, reason: CloseReason) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Some(echo) = reason.echo_code() {
        let [high, low] = echo.to_be_bytes();
        // FIN and opcode 8 (close), an unmasked payload of two bytes: the code.
        let io = socket.get_mut();
        io.write_all(&[0x88, 0x02, high, low]).await?;
        return io.flush().await;
    }
    match reason.frame() {
        Some(frame) => socket.send(frame).await.map_err(io::Error::other),
        None => Ok(()),
    }
}

/// Writes `first` and what else is waiting (up to `MAX_BATCH` frames) with as few writes as
/// the socket takes. A stalled peer is cut off by the hub's close request, the token's expiry
/// or a ping period without progress (the clock's timer keeps running meanwhile), not waited
/// for. Returns how many frames were written, or how the socket ends.
async fn write_waiting<S>(
    socket: &mut WebSocketStream<S>,
    first: Frame,
    outbox: &Outbox,
    clock: &mut Clock,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
) -> Result<u64, Ending>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut batch = vec![first];
    outbox.take_waiting(&mut batch, MAX_BATCH - 1);
    let mut write = VectoredWrite::new(&batch);
    let cut_off = loop {
        let outcome = tokio::select! {
            biased;
            reason = outbox.closed() => Err(reason),
            () = &mut timer => clock.tick_while_writing(Instant::now(), write.last_progress).map(|deadline| {
                timer.as_mut().reset(deadline);
                None
            }),
            written = write.run(socket) => Ok(Some(written)),
        };
        match outcome {
            Ok(None) => continue,
            Ok(Some(written)) => {
                if let Some(last_progress) = write.last_progress {
                    clock.last_write_progress = last_progress;
                }
                return written.map(|()| batch.len() as u64).map_err(|_| CloseReason::CONNECTION_LOST.into());
            }
            Err(reason) => break reason,
        }
    };
    if !write.inside_a_frame() {
        return Err(cut_off.into());
    }
    // Finish the frame the write stopped in, so the close frame can follow it.
    let finished = tokio::time::timeout(CLOSE_DEADLINE, write.finish_frame(socket.get_mut())).await;
    Err(Ending { reason: cut_off, may_send_close: matches!(finished, Ok(Ok(()))) })
}

/// Sends a ping. A peer whose socket will not even take it within `patience` is as dead as a
/// silent one. Returns why the socket ends, if it does.
async fn ping<S>(socket: &mut WebSocketStream<S>, patience: Duration) -> Option<CloseReason>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(patience, socket.send(Message::Ping(Default::default()))).await {
        Ok(Ok(())) => None,
        Ok(Err(_)) => Some(CloseReason::CONNECTION_LOST),
        Err(_) => Some(CloseReason::PING_TIMEOUT),
    }
}

/// A write of whole frames straight to the socket, as few `writev`s as the kernel allows.
/// It keeps its place, so a write cut off (its future dropped) knows whether it stopped
/// inside a frame.
struct VectoredWrite<'a> {
    /// The frames not yet written entirely; the first may be partly written.
    frames: &'a [Frame],
    /// Bytes of the first frame already written.
    written_of_first: usize,
    /// When bytes last left, if any have.
    last_progress: Option<Instant>,
}

impl<'a> VectoredWrite<'a> {
    fn new(frames: &'a [Frame]) -> Self {
        VectoredWrite { frames, written_of_first: 0, last_progress: None }
    }

    fn inside_a_frame(&self) -> bool {
        self.written_of_first > 0
    }

    /// Writes every frame: first whatever tungstenite holds (a pong it owes), so the two never
    /// interleave.
    async fn run<S>(&mut self, socket: &mut WebSocketStream<S>) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        socket.flush().await.map_err(io::Error::other)?;
        self.write_all(socket.get_mut()).await
    }

    /// Writes the rest of the frame it stopped in, and no more.
    async fn finish_frame<S: AsyncWrite + Unpin>(&mut self, io: &mut S) -> io::Result<()> {
        self.frames = &self.frames[..self.frames.len().min(1)];
        self.write_all(io).await
    }

    async fn write_all<S: AsyncWrite + Unpin>(&mut self, io: &mut S) -> io::Result<()> {
        let mut slices: Vec<IoSlice<'a>> = Vec::with_capacity(self.frames.len());
        while let Some((first, rest)) = self.frames.split_first() {
            slices.clear();
            slices.push(IoSlice::new(&first.as_bytes()[self.written_of_first..]));
            slices.extend(rest.iter().map(|frame| IoSlice::new(frame.as_bytes())));
            let mut written = io.write_vectored(&slices).await?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.last_progress = Some(Instant::now());
            written += self.written_of_first;
            self.written_of_first = 0;
            while let Some((first, rest)) = self.frames.split_first() {
                let length = first.as_bytes().len();
                if written < length {
                    self.written_of_first = written;
                    break;
                }
                written -= length;
                self.frames = rest;
            }
        }
        io.flush().await
    }
}

/// Whether a read error is the socket's size limit (a message or frame over the cap).
fn is_oversized(error: &tokio_tungstenite::tungstenite::Error) -> bool {
    use tokio_tungstenite::tungstenite::{error::CapacityError, Error};
    matches!(error, Error::Capacity(CapacityError::MessageTooLong { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        clock::KitchenClock,
        event::SessionId,
        live::hub::{Hub, SocketOwner},
    };
    use app::wire::close_code;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, DuplexStream};
    use tokio_tungstenite::tungstenite::protocol::Role as SocketRole;

    const PING: Duration = Duration::from_secs(30);
    const TEXT: u8 = 0x1;
    const CLOSE: u8 = 0x8;
    const PING_OPCODE: u8 = 0x9;
    const PONG: u8 = 0xA;

    /// A head chef's socket run over an in-memory pipe. The test is the client, speaking raw
    /// frames: it sees exactly the bytes the socket writes, and answers pings only when told
    /// to (a tungstenite client would answer them by itself).
    struct Harness {
        hub: Hub,
        outbox: Arc<Outbox>,
        client: DuplexStream,
        started: Instant,
    }

    fn start(expires_in: Duration, pipe_bytes: usize) -> Harness {
        let hub = Hub::new("test", 512, 0, Default::default());
        let owner = SocketOwner {
            user: app::wire::UserId(1),
            kitchen: app::wire::KitchenId(1),
            session: SessionId::from_u128(1),
            session_type: app::wire::SessionType::Admin,
        };
        let clock = KitchenClock::new(chrono_tz::UTC);
        let registration = hub.register(owner, None, clock, hub.take_interest(owner.kitchen)).expect("registered");
        let outbox = registration.outbox.clone();
        let (client, server) = tokio::io::duplex(pipe_bytes);
        let started = Instant::now();
        let settings = SocketSettings { ping_interval: PING, expires_at: started + expires_in };
        tokio::spawn(async move {
            let socket = WebSocketStream::from_raw_socket(server, SocketRole::Server, Some(websocket_config())).await;
            run_socket(socket, registration, settings).await;
        });
        Harness { hub, outbox, client, started }
    }

    impl Harness {
        /// The next frame the socket wrote, as its opcode and payload; `None` once the socket
        /// is closed.
        async fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
            let mut head = [0u8; 2];
            self.client.read_exact(&mut head).await.ok()?;
            assert_eq!(head[0] & 0x80, 0x80, "every frame is whole (FIN)");
            assert_eq!(head[1] & 0x80, 0, "a server's frames are not masked");
            let length = match head[1] & 0x7F {
                126 => usize::from(self.client.read_u16().await.expect("length")),
                127 => usize::try_from(self.client.read_u64().await.expect("length")).expect("fits"),
                short => usize::from(short),
            };
            let mut payload = vec![0; length];
            self.client.read_exact(&mut payload).await.expect("the whole payload");
            Some((head[0] & 0x0F, payload))
        }

        /// The next frame that is not a text frame (the greeting and the hub's messages).
        async fn next_control(&mut self) -> (u8, Vec<u8>) {
            loop {
                match self.next_frame().await.expect("the socket sends more") {
                    (TEXT, _) => continue,
                    other => return other,
                }
            }
        }

        /// Sends a client frame, masked (as the protocol requires) with the all-zero key.
        async fn send(&mut self, opcode: u8, payload: &[u8]) {
            let mut frame = vec![0x80 | opcode];
            match payload.len() {
                short @ 0..=125 => frame.push(0x80 | short as u8),
                medium => {
                    frame.push(0x80 | 126);
                    frame.extend(u16::try_from(medium).expect("a test frame under 64 KiB").to_be_bytes());
                }
            }
            frame.extend([0; 4]);
            frame.extend(payload);
            self.client.write_all(&frame).await.expect("the socket reads");
        }

        /// Waits until the socket has unregistered.
        async fn ended(&self) {
            while self.hub.socket_counts() != (0, 0) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }

    fn close_of(frame: &(u8, Vec<u8>)) -> (u16, String) {
        let (opcode, payload) = frame;
        assert_eq!(*opcode, CLOSE, "expected a close frame");
        (u16::from_be_bytes([payload[0], payload[1]]), String::from_utf8(payload[2..].to_vec()).expect("UTF-8"))
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_is_pinged_then_dropped_with_1011() {
        let mut harness = start(Duration::from_secs(3600), 64 * 1024);
        assert_eq!(harness.next_control().await.0, PING_OPCODE);
        assert_eq!(harness.started.elapsed(), PING);
        let close = harness.next_control().await;
        assert_eq!(close_of(&close), (close_code::PING_TIMEOUT, "ping timeout".into()));
        assert_eq!(harness.started.elapsed(), 2 * PING);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_answers_is_kept() {
        let mut harness = start(Duration::from_secs(3600), 64 * 1024);
        for _ in 0..3 {
            assert_eq!(harness.next_control().await.0, PING_OPCODE);
            harness.send(PONG, b"").await;
        }
        assert_eq!(harness.started.elapsed(), 3 * PING);
        assert_eq!(harness.hub.socket_counts(), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_socket_closes_with_1008_when_its_token_expires() {
        let mut harness = start(Duration::from_secs(5), 64 * 1024);
        let close = harness.next_control().await;
        assert_eq!(close_of(&close), (close_code::POLICY_VIOLATION, "token expired".into()));
        assert_eq!(harness.started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_message_over_4_kib_closes_the_socket_with_1009() {
        let mut harness = start(Duration::from_secs(3600), 64 * 1024);
        harness.send(TEXT, "x".repeat(MAX_CLIENT_MESSAGE_BYTES).as_bytes()).await;
        harness.send(TEXT, "x".repeat(MAX_CLIENT_MESSAGE_BYTES + 1).as_bytes()).await;
        let close = harness.next_control().await;
        assert_eq!(close_of(&close), (close_code::MESSAGE_TOO_BIG, "message too big".into()));
        assert_eq!(harness.started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_goes_away_is_unregistered_without_a_close_frame() {
        let mut harness = start(Duration::from_secs(3600), 64 * 1024);
        let mut received = Vec::new();
        harness.client.read_buf(&mut received).await.expect("the greeting");
        drop(harness.client);
        while harness.hub.socket_counts() != (0, 0) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// More frames than one write takes (`MAX_BATCH`), through a pipe narrower than one
    /// frame: every write stops inside a frame, and they still arrive whole and in order.
    #[tokio::test(start_paused = true)]
    async fn queued_frames_arrive_whole_and_in_order_through_short_writes() {
        let mut harness = start(Duration::from_secs(3600), 7);
        let messages: Vec<String> = (0..MAX_BATCH * 2 + 3).map(|index| format!("{{\"n\":{index}}}")).collect();
        for message in &messages {
            assert!(harness.outbox.push(&[Frame::text(message)], 512));
        }
        let greeting = harness.next_frame().await.expect("the welcome");
        assert!(String::from_utf8(greeting.1).expect("UTF-8").contains("CONNECTED"));
        for _ in 0..2 {
            assert_eq!(harness.next_frame().await.expect("a count").0, TEXT);
        }
        for message in &messages {
            assert_eq!(harness.next_frame().await, Some((TEXT, message.clone().into_bytes())));
        }
    }

    /// The hub closes a socket whose write stopped inside a frame (the peer reads slowly):
    /// the frame is finished first, so the close frame that follows is read as one.
    #[tokio::test(start_paused = true)]
    async fn a_close_during_a_write_finishes_the_frame_then_sends_the_close() {
        let mut harness = start(Duration::from_secs(3600), 64);
        let mut greeting = Vec::new();
        for _ in 0..3 {
            greeting.push(harness.next_frame().await.expect("the greeting"));
        }
        let big = "x".repeat(10_000);
        assert!(harness.outbox.push(&[Frame::text(&big), Frame::text("never sent")], 512));
        tokio::time::sleep(Duration::from_millis(10)).await;
        harness.outbox.close(CloseReason::TOO_SLOW);
        assert_eq!(harness.next_frame().await, Some((TEXT, big.into_bytes())));
        let close = harness.next_frame().await.expect("the close frame");
        assert_eq!(close_of(&close), (close_code::TRY_AGAIN_LATER, "too slow to keep up".into()));
        harness.ended().await;
    }

    /// A peer that stops reading inside a frame gets no close frame after it (it would read
    /// as the frame's rest): once the close deadline passes the socket is dropped, and what
    /// the peer can still read is a clean prefix of the frame.
    #[tokio::test(start_paused = true)]
    async fn a_peer_that_never_reads_the_rest_of_a_frame_is_dropped_without_a_close() {
        let mut harness = start(Duration::from_secs(3600), 64);
        for _ in 0..3 {
            harness.next_frame().await.expect("the greeting");
        }
        let big = Frame::text(&"x".repeat(10_000));
        assert!(harness.outbox.push(std::slice::from_ref(&big), 512));
        tokio::time::sleep(Duration::from_millis(10)).await;
        harness.outbox.close(CloseReason::TOO_SLOW);
        harness.ended().await;
        assert!(harness.started.elapsed() >= CLOSE_DEADLINE);
        let mut received = Vec::new();
        harness.client.read_to_end(&mut received).await.expect("the pipe's contents");
        assert!(!received.is_empty() && received.len() < big.as_bytes().len());
        assert_eq!(received, big.as_bytes()[..received.len()]);
    }

    /// The next close frame, after whatever text frames come first.
    async fn close_after_texts(harness: &mut Harness) -> (u16, String) {
        loop {
            match harness.next_frame().await.expect("a close frame") {
                (TEXT, _) => continue,
                other => return close_of(&other),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_clients_close_frame_is_answered_with_its_code_or_1000() {
        for (sent, answered) in [(Some(4321u16), 4321u16), (Some(1001), 1001), (None, 1000), (Some(1005), 1002)] {
            let mut harness = start(Duration::from_secs(3600), 64 * 1024);
            let payload = sent.map(u16::to_be_bytes).map(Vec::from).unwrap_or_default();
            harness.send(CLOSE, &payload).await;
            let (code, _) = close_after_texts(&mut harness).await;
            assert_eq!(code, answered, "the answer to a close frame with {sent:?}");
            harness.ended().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_unmasked_or_reserved_bit_frame_is_closed_with_1002_and_bad_utf8_with_1007() {
        // Unmasked: the mask bit of the second byte is clear.
        let unmasked = [0x81, 0x02, b'h', b'i'];
        // RSV1 set on a masked text frame.
        let reserved = [0xC1, 0x82, 0, 0, 0, 0, b'h', b'i'];
        for (frame, code) in [(&unmasked[..], 1002), (&reserved[..], 1002)] {
            let mut harness = start(Duration::from_secs(3600), 64 * 1024);
            harness.client.write_all(frame).await.expect("the socket reads");
            assert_eq!(close_after_texts(&mut harness).await, (code, "protocol error".into()));
            harness.ended().await;
        }
        let mut harness = start(Duration::from_secs(3600), 64 * 1024);
        harness.send(TEXT, &[0xC3, 0x28]).await;
        assert_eq!(close_after_texts(&mut harness).await, (1007, "invalid UTF-8".into()));
        harness.ended().await;
    }

    /// A client that reads 200 bytes a second while five items a second are queued for it:
    /// its pings and its token's expiry keep their turn, and it is closed with 1008 when the
    /// token expires (the frame under way finished first), not served on past it.
    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_of_a_busy_kitchen_is_closed_when_its_token_expires() {
        let expires_in = Duration::from_secs(5);
        let mut harness = start(expires_in, 256);
        let outbox = harness.outbox.clone();
        let feeding = tokio::spawn(async move {
            for index in 0..100 {
                let _ =
                    outbox.push(&[Frame::text(&format!("{{\"item\":{index},\"name\":\"{}\"}}", "x".repeat(80)))], 512);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let mut received = Vec::new();
        let mut chunk = [0u8; 200];
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            match harness.client.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received.extend_from_slice(&chunk[..read]),
            }
            if harness.hub.socket_counts() == (0, 0) {
                break;
            }
        }
        let closed_at = harness.started.elapsed();
        feeding.abort();
        harness.client.read_to_end(&mut received).await.expect("the rest");
        assert!(
            closed_at >= expires_in && closed_at < expires_in + CLOSE_DEADLINE + Duration::from_secs(1),
            "{closed_at:?}"
        );
        // The close frame is the last thing on the wire, after whole frames.
        let close_at = received.windows(2).rposition(|pair| pair == [0x88, 2 + "token expired".len() as u8]);
        let close_at = close_at.expect("a close frame");
        assert_eq!(&received[close_at + 2..close_at + 4], &1008u16.to_be_bytes());
    }

    /// A peer that stops reading while frames wait for it is closed one ping period after the
    /// last byte left, though it never gets the ping.
    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_is_closed_at_the_next_ping_period() {
        let harness = start(Duration::from_secs(3600), 1024);
        for index in 0..400 {
            let frame = Frame::text(&format!("{{\"item\":{index}}}"));
            if !harness.outbox.push(&[frame], 512) {
                break;
            }
        }
        tokio::time::timeout(10 * PING, harness.ended()).await.expect("closed, not waited for");
        let ended_at = harness.started.elapsed();
        assert!(ended_at >= PING && ended_at <= PING + CLOSE_DEADLINE + Duration::from_millis(10), "{ended_at:?}");
    }

    /// A writer that takes at most the next of `sizes` bytes per call (cycling), like a
    /// socket whose buffer has room for only so much at a time, and takes nothing more once
    /// `stall_after` calls have been made (a peer that stopped reading), while that is set.
    struct ShortWrites {
        written: Vec<u8>,
        sizes: Vec<usize>,
        call: usize,
        stall_after: Option<usize>,
    }

    impl AsyncWrite for ShortWrites {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            if self.stall_after.is_some_and(|stall| self.call >= stall) {
                return std::task::Poll::Pending;
            }
            let room = self.sizes[self.call % self.sizes.len()].min(buf.len());
            self.call += 1;
            self.written.extend_from_slice(&buf[..room]);
            std::task::Poll::Ready(Ok(room))
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Every message `bytes` holds, read as a client would; panics on anything but whole,
    /// valid text frames, a piece of one at the end included.
    fn read_messages(bytes: Vec<u8>) -> Vec<String> {
        let length = bytes.len();
        let messages = read_whole_frames(bytes);
        let framed: usize = messages.iter().map(|text| Frame::text(text).as_bytes().len()).sum();
        assert_eq!(framed, length, "bytes after the last whole frame");
        messages
    }

    fn read_whole_frames(bytes: Vec<u8>) -> Vec<String> {
        let mut client = tokio_tungstenite::tungstenite::WebSocket::from_raw_socket(
            std::io::Cursor::new(bytes),
            SocketRole::Client,
            None,
        );
        let mut messages = Vec::new();
        loop {
            match client.read() {
                Ok(Message::Text(text)) => messages.push(text.to_string()),
                Ok(other) => panic!("not a text frame: {other:?}"),
                // The end of the bytes, at a frame's end (inside one, the read would wait).
                Err(tokio_tungstenite::tungstenite::Error::Protocol(
                    tokio_tungstenite::tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                )) => return messages,
                Err(error) => panic!("not whole frames: {error}"),
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 200, ..Default::default() })]

        /// However short the writes the socket takes, the frames arrive whole, in order, none
        /// split by another; and a write cut off at any point and then finished up to the frame
        /// it stopped in leaves only whole frames on the wire, the first ones, in order.
        #[test]
        fn short_writes_never_split_or_interleave_frames(
            messages in proptest::collection::vec("\\PC{0,300}", 1..12),
            sizes in proptest::collection::vec(1usize..64, 1..8),
            cut_after_calls in 0usize..40,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
            let frames: Vec<Frame> = messages.iter().map(|text| Frame::text(text)).collect();
            let mut whole = ShortWrites { written: Vec::new(), sizes: sizes.clone(), call: 0, stall_after: None };
            runtime.block_on(VectoredWrite::new(&frames).write_all(&mut whole)).expect("written");
            proptest::prop_assert_eq!(read_messages(whole.written), messages.clone());

            // The same, stalled after `cut_after_calls` writes and cut off there (the future
            // dropped, as a close does), then finished to the end of the frame it stopped in.
            let mut cut = ShortWrites { written: Vec::new(), sizes, call: 0, stall_after: Some(cut_after_calls) };
            let mut write = VectoredWrite::new(&frames);
            {
                use futures::FutureExt;
                let _ = write.write_all(&mut cut).now_or_never();
            }
            cut.stall_after = None;
            runtime.block_on(write.finish_frame(&mut cut)).expect("finished");
            let read = read_messages(cut.written);
            proptest::prop_assert!(read.len() <= messages.len());
            proptest::prop_assert_eq!(&read[..], &messages[..read.len()]);
        }
    }
}
