//! The notification hub: who is connected, and who gets which committed [`Event`].
//!
//! Sessions are registered per kitchen: an event of a kitchen reaches that kitchen's sessions
//! and no other's.
//!
//! - ADMIN sessions (head and sous chefs): any number per user; every event of their kitchen
//!   is broadcast to all of them.
//! - STAFF sessions (everyone else): at most one per user; a newer one replaces the older,
//!   which is closed with 4001. Review decisions go to the requester's STAFF session only.
//!   "Newer" is decided by a claim number, so that it means the same in every process: from
//!   a PostgreSQL sequence when several processes share the database (each process hears
//!   every claim through the bus and closes its own older session), else from the hub.
//!
//! Each message is serialized and framed once ([`Frame`]); every session gets a clone of the
//! same bytes (a reference count, not a copy) through its own bounded queue ([`Outbox`]) and
//! writes them to its socket as they are. The sessions are woken a chunk at a time (see
//! [`pacer`] for why). Fan-out never waits: a session
//! whose queue is full is closed with 1013 and removed, so one slow reader cannot delay
//! anyone else.
//!
//! The hub knows nothing of SQL: it is fed events by the bus and keeps, per kitchen, the
//! latest pending counts it has published (every event carries both of its kitchen's counts;
//! it starts from every kitchen's counts as read at start-up, and takes them again after the
//! bus reconnects). A new admin session starts from those, so its first counts and the live
//! events after them are consistent without a database round trip. They come only from the
//! ordered stream of events and resyncs: a count read by the side could run ahead of an event
//! not yet published, and the count of that event would then be no news for the sessions
//! that still need it.

mod frame;
mod outbox;
mod pacer;
mod session;

pub use frame::Frame;
pub use outbox::{Next, Outbox};
pub use pacer::Admission;
use pacer::Pacer;
pub use session::{run_session, websocket_config, SessionSettings};

use crate::{
    auth::{AuthUser, SessionId},
    clock::KitchenClock,
    event::{Change, Event, PendingCounts},
    metrics::{CloseLabel, HubMetrics, SessionTypeLabel},
    store::EndReason,
};
use app::wire::{close_code, Category, NewItemNotice, Notification, ReviewNotice, SessionType, WELCOME_MESSAGE};
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame},
    Message, Utf8Bytes,
};

/// Why a session ended: the code and reason of the close frame it sends (every way a
/// session can end, whoever ends it: the hub, the session task or the upgrade handler).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

/// RFC 6455 reserves 1006 for a connection that ended without a close frame: it names a
/// client that vanished, and is never sent.
const CONNECTION_LOST_CODE: u16 = 1006;

impl CloseReason {
    /// A refused token or Origin (the reason says which), or a token that expired.
    pub const fn policy(reason: &'static str) -> CloseReason {
        CloseReason { code: close_code::POLICY_VIOLATION, reason }
    }
    /// A live session's token expired.
    pub const TOKEN_EXPIRED: CloseReason = CloseReason::policy(app::wire::close_reason::TOKEN_EXPIRED);
    /// Signed in with a temporary password that has not been changed yet.
    pub const PASSWORD_CHANGE_REQUIRED: CloseReason = CloseReason::policy("password change required");
    /// A newer STAFF session of the same user took over.
    pub const REPLACED: CloseReason = CloseReason { code: close_code::REPLACED, reason: "replaced by a newer session" };
    /// The outbound queue overflowed.
    pub const TOO_SLOW: CloseReason = CloseReason { code: close_code::TRY_AGAIN_LATER, reason: "too slow to keep up" };
    /// The session could not be set up for now (the database did not answer).
    pub const TRY_LATER: CloseReason = CloseReason { code: close_code::TRY_AGAIN_LATER, reason: "try again later" };
    /// The server is stopping.
    pub const SHUTDOWN: CloseReason = CloseReason { code: close_code::GOING_AWAY, reason: "server shutting down" };
    /// The client sent a message over the size limit.
    pub const MESSAGE_TOO_BIG: CloseReason =
        CloseReason { code: close_code::MESSAGE_TOO_BIG, reason: "message too big" };
    /// The user opened more sockets than allowed; this, their oldest, goes.
    pub const TOO_MANY_SESSIONS: CloseReason =
        CloseReason { code: close_code::TOO_MANY_SESSIONS, reason: "too many sessions" };
    /// The client did not answer a ping within a period.
    pub const PING_TIMEOUT: CloseReason = CloseReason { code: close_code::PING_TIMEOUT, reason: "ping timeout" };
    /// The client vanished (or its socket failed): nothing is sent.
    pub const CONNECTION_LOST: CloseReason = CloseReason { code: CONNECTION_LOST_CODE, reason: "connection lost" };
    /// The client sent a close frame; the socket library answers it, nothing more is sent.
    /// Recorded as a normal closure.
    pub const CLOSED_BY_CLIENT: CloseReason =
        CloseReason { code: close_code::NORMAL_CLOSURE, reason: "closed by the client" };

    /// The close frame to send, unless the client is already gone or closed first.
    pub fn frame(self) -> Option<Message> {
        (self != CloseReason::CONNECTION_LOST && self != CloseReason::CLOSED_BY_CLIENT).then(|| {
            Message::Close(Some(CloseFrame {
                code: CloseCode::from(self.code),
                reason: Utf8Bytes::from_static(self.reason),
            }))
        })
    }
}

/// The hub's side of one session.
struct SessionHandle {
    id: u64,
    /// The server-side session whose token opened it: ending that session closes it.
    session: SessionId,
    /// For STAFF sessions, the claim that orders them (newest wins); 0 for ADMIN sessions.
    claim: i64,
    outbox: Arc<Outbox>,
}

impl SessionHandle {
    /// Ends the session with `reason` (it may already be gone, which is fine).
    fn close(self, reason: CloseReason) {
        self.outbox.close(reason);
    }
}

/// One kitchen, as this hub knows it.
#[derive(Default)]
struct KitchenRoom {
    /// The newest counts published for the kitchen; its new admin sessions start from these.
    counts: PendingCounts,
    /// The kitchen's clock, as its sessions registered with it (a resync stamps its counts
    /// with it; a kitchen's zone never changes).
    clock: Option<KitchenClock>,
    /// The kitchen's ADMIN sessions, by session id.
    admins: HashMap<u64, SessionHandle>,
}

/// Everything behind the hub's one lock.
#[derive(Default)]
struct Registry {
    /// Every kitchen with a session here or an event heard, by kitchen id.
    kitchens: HashMap<i64, KitchenRoom>,
    /// ADMIN session ids per user, oldest first; kept only while sockets per user are capped.
    admins_by_user: HashMap<i64, VecDeque<u64>>,
    /// STAFF sessions by user id: at most one each.
    staff: HashMap<i64, SessionHandle>,
    /// The newest STAFF claim seen per user, from this process or any other.
    newest_claims: HashMap<i64, i64>,
    next_id: u64,
    /// Set on shutdown: no new session is registered.
    closed: bool,
}

struct Shared {
    /// One std mutex: it is held only for map updates, non-blocking outbox pushes and the
    /// hand-over of a broadcast's sessions to the pacer, never across an `.await`, and
    /// publishing (one task at a time) must be atomic with respect to registration so a new
    /// session misses nothing and sees nothing twice.
    registry: Mutex<Registry>,
    /// The database's epoch, sent in every welcome.
    epoch: Arc<str>,
    queue_capacity: usize,
    /// How much load the pacer may carry (broadcasts not yet woken, plus writes under way)
    /// before a write must wait (see [`Hub::admit_write`]).
    fan_out_load_limit: usize,
    /// Most sockets one user may hold in this process; 0 for no limit.
    max_sockets_per_user: usize,
    /// Session tasks still running, so shutdown can wait for their close frames.
    running: AtomicUsize,
    all_stopped: Notify,
    /// Wakes the sessions a broadcast queued frames for, a chunk at a time.
    pacer: Pacer,
    metrics: HubMetrics,
}

/// A cheap, cloneable handle to the hub.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

/// A session the hub has accepted.
pub struct Registration {
    /// Sent before anything else: the welcome, then (admins) the two current counts.
    pub greeting: Vec<Frame>,
    /// Where the hub queues this session's frames and its close request.
    pub outbox: Arc<Outbox>,
    /// Keeps the hub's count of running sessions; dropping it unregisters the session.
    pub guard: SessionGuard,
}

/// Unregisters its session when dropped.
pub struct SessionGuard {
    hub: Hub,
    id: u64,
    user_id: i64,
    kitchen_id: i64,
    session_type: SessionType,
    started: std::time::Instant,
}

impl SessionGuard {
    /// Records how the session ended: the one log line an operator gets per session, and the
    /// close-code counter. Then unregisters it.
    pub fn finish(self, reason: CloseReason, frames_sent: u64) {
        let session_type = SessionTypeLabel::from(self.session_type).session_type;
        let duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let _span = tracing::info_span!(parent: None, "socket", user_id = self.user_id, session_type).entered();
        tracing::info!(
            user_id = self.user_id,
            session_type,
            duration_ms,
            frames_sent,
            close_code = reason.code,
            close_reason = reason.reason,
            "socket session ended"
        );
        self.hub.shared.metrics.sessions_closed.get_or_create(&CloseLabel { session_type, code: reason.code }).inc();
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.hub.unregister(self.id, self.user_id, self.kitchen_id, self.session_type);
        self.hub.shared.metrics.sessions_open.get_or_create(&self.session_type.into()).dec();
        if self.hub.shared.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.hub.shared.all_stopped.notify_waiters();
        }
    }
}

/// The hub is shutting down and takes no new sessions.
#[derive(Debug, thiserror::Error)]
#[error("the server is shutting down")]
pub struct HubClosed;

impl Hub {
    /// A hub with per-session queues of `queue_capacity` messages and at most
    /// `max_sockets_per_user` sockets per user (0: no limit), counting into `metrics`. Must be
    /// called within a tokio runtime (it starts the task that wakes sessions).
    pub fn new(epoch: &str, queue_capacity: usize, max_sockets_per_user: usize, metrics: HubMetrics) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry::default()),
                epoch: epoch.into(),
                queue_capacity: queue_capacity.max(4),
                // An event is at most two frames to an admin: a session waiting its turn then
                // holds at most a quarter of its queue. Also what a write waits behind under
                // overload: a quarter, not half, of the queue kept that wait near what it was
                // before the pacer paused between rounds, at the same throughput
                // (docs/PERFORMANCE.md).
                fan_out_load_limit: (queue_capacity / 8).max(1),
                max_sockets_per_user,
                running: AtomicUsize::new(0),
                all_stopped: Notify::new(),
                pacer: Pacer::start(),
                metrics,
            }),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding this lock would be a bug in the few lines below; the maps
        // stay consistent either way, so keep serving.
        self.shared.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a session for `user` in their kitchen and prepares its greeting, stamped on
    /// the kitchen's `clock`; an ADMIN session's greeting carries the kitchen's counts. A STAFF
    /// session needs a `claim` when several processes share the database (see
    /// [`Hub::apply_claim`]); with `None` the hub numbers it itself.
    pub fn register(
        &self,
        user: &AuthUser,
        claim: Option<i64>,
        clock: KitchenClock,
    ) -> Result<Registration, HubClosed> {
        let outbox = Arc::new(Outbox::default());
        let session_type = if user.role.is_admin() { SessionType::Admin } else { SessionType::Staff };
        let timestamp = clock.now_formatted();
        let mut registry = self.registry();
        if registry.closed {
            return Err(HubClosed);
        }
        registry.next_id += 1;
        let id = registry.next_id;
        let claim = match session_type {
            SessionType::Admin => 0,
            SessionType::Staff => claim.unwrap_or(id as i64),
        };
        let handle = SessionHandle { id, session: user.session, claim, outbox: outbox.clone() };
        let mut greeting = vec![encode(&Notification::Connected {
            message: WELCOME_MESSAGE.to_string(),
            session_type,
            user_id: user.id,
            kitchen_id: user.kitchen_id,
            timestamp: timestamp.clone(),
            epoch: self.shared.epoch.to_string(),
        })];
        let Registry { kitchens, admins_by_user, .. } = &mut *registry;
        let kitchen = kitchens.entry(user.kitchen_id).or_default();
        kitchen.clock = Some(clock);
        match session_type {
            SessionType::Admin => {
                let counts = kitchen.counts;
                greeting.extend(Category::ALL.map(|category| encode(&count_update(&counts, category, &timestamp))));
                kitchen.admins.insert(id, handle);
                let cap = self.shared.max_sockets_per_user;
                if cap > 0 {
                    // A user's sessions are all of their one kitchen.
                    let own = admins_by_user.entry(user.id).or_default();
                    own.push_back(id);
                    let excess = own.len().saturating_sub(cap);
                    for oldest in own.drain(..excess) {
                        if let Some(session) = kitchen.admins.remove(&oldest) {
                            session.close(CloseReason::TOO_MANY_SESSIONS);
                        }
                    }
                }
            }
            SessionType::Staff => {
                let newest = registry.newest_claims.entry(user.id).or_insert(claim);
                if *newest > claim {
                    // A newer session of this user already exists, in another process.
                    handle.close(CloseReason::REPLACED);
                } else {
                    *newest = claim;
                    if let Some(older) = registry.staff.insert(user.id, handle) {
                        older.close(CloseReason::REPLACED);
                    }
                }
            }
        }
        drop(registry);
        self.shared.running.fetch_add(1, Ordering::AcqRel);
        self.shared.metrics.sessions_open.get_or_create(&session_type.into()).inc();
        let started = std::time::Instant::now();
        Ok(Registration {
            greeting,
            outbox,
            guard: SessionGuard {
                hub: self.clone(),
                id,
                user_id: user.id,
                kitchen_id: user.kitchen_id,
                session_type,
                started,
            },
        })
    }

    /// Records a STAFF claim made in any process; this process's older session of that user,
    /// if any, is closed with 4001.
    pub fn apply_claim(&self, user_id: i64, claim: i64) {
        let mut registry = self.registry();
        let newest = registry.newest_claims.entry(user_id).or_insert(claim);
        if *newest < claim {
            *newest = claim;
        }
        if registry.staff.get(&user_id).is_some_and(|session| session.claim < claim) {
            if let Some(older) = registry.staff.remove(&user_id) {
                older.close(CloseReason::REPLACED);
            }
        }
    }

    /// Closes, with 1008 and the reason, every socket of these ended sessions.
    pub fn end_sessions(&self, ended: &[(SessionId, EndReason)]) {
        let reason_of = |session: SessionId| {
            ended.iter().find(|(ended, _)| *ended == session).map(|(_, reason)| CloseReason::policy(reason.message()))
        };
        let mut registry = self.registry();
        for kitchen in registry.kitchens.values_mut() {
            kitchen.admins.retain(|_, handle| close_if_ended(handle, reason_of(handle.session)));
        }
        registry.staff.retain(|_, handle| close_if_ended(handle, reason_of(handle.session)));
    }

    /// Removes a session, unless a newer one already took its place.
    fn unregister(&self, id: u64, user_id: i64, kitchen_id: i64, session_type: SessionType) {
        let mut registry = self.registry();
        match session_type {
            SessionType::Admin => {
                if let Some(kitchen) = registry.kitchens.get_mut(&kitchen_id) {
                    kitchen.admins.remove(&id);
                }
                if let Some(own) = registry.admins_by_user.get_mut(&user_id) {
                    own.retain(|session| *session != id);
                    if own.is_empty() {
                        registry.admins_by_user.remove(&user_id);
                    }
                }
            }
            SessionType::Staff => {
                if registry.staff.get(&user_id).is_some_and(|current| current.id == id) {
                    registry.staff.remove(&user_id);
                }
            }
        }
    }

    /// Delivers one committed event to the sessions of its kitchen that should see it.
    /// Called by the bus, one event at a time, each kitchen's in `seq` order.
    pub fn publish(&self, event: &Event) {
        let mut registry = self.registry();
        let Registry { kitchens, staff, .. } = &mut *registry;
        let kitchen = kitchens.entry(event.kitchen_id).or_default();
        let count_is_news = kitchen.counts.advance_to(event.counts);
        let delivery = deliveries(event, count_is_news);
        let frames: Vec<Frame> = delivery.to_admins.iter().map(encode).collect();
        let metrics = &self.shared.metrics;
        if !frames.is_empty() {
            broadcast(&mut kitchen.admins, &frames, &self.shared);
            metrics.broadcasts.inc();
        }
        if let Some((user_id, message)) = &delivery.to_staff {
            if direct(staff, *user_id, encode(message), self.shared.queue_capacity, metrics) {
                metrics.direct_messages.inc();
            }
        }
    }

    /// Takes a kitchen's `counts` read from the database at start-up, or after the bus
    /// reconnected (events may have been missed meanwhile), and sends them to the kitchen's
    /// admins, as the contract asks. They carry the current `seq`, which equals the last one sent when nothing was
    /// missed; clients ignore such a repeat by the `seq` rule. A read older than what was
    /// already published changes nothing.
    pub fn resync(&self, kitchen_id: i64, counts: PendingCounts) {
        let mut registry = self.registry();
        let kitchen = registry.kitchens.entry(kitchen_id).or_default();
        if counts.seq < kitchen.counts.seq {
            return;
        }
        kitchen.counts = counts;
        if let Some(clock) = kitchen.clock {
            let timestamp = clock.now_formatted();
            let updates = Category::ALL.map(|category| encode(&count_update(&counts, category, &timestamp)));
            broadcast(&mut kitchen.admins, &updates, &self.shared);
        }
    }

    /// Admits a write that may broadcast: waits while the fan-out is too far behind, then
    /// holds a place until the admission is dropped (after the write). Creates and reviews
    /// call this first, so that under load writers slow down to the pace of the fan-out
    /// instead of overflowing the queues of sessions that read fine. At ordinary rates it
    /// admits at once.
    pub async fn admit_write(&self) -> Admission {
        self.shared.pacer.admit(self.shared.fan_out_load_limit).await
    }

    /// The counts of a kitchen the hub has published last.
    pub fn counts(&self, kitchen_id: i64) -> PendingCounts {
        self.registry().kitchens.get(&kitchen_id).map(|kitchen| kitchen.counts).unwrap_or_default()
    }

    /// How many sessions are registered, in every kitchen: `(admin, staff)`.
    pub fn session_counts(&self) -> (usize, usize) {
        let registry = self.registry();
        (registry.kitchens.values().map(|kitchen| kitchen.admins.len()).sum(), registry.staff.len())
    }

    /// Closes every session with 1001, refuses new ones, and waits until every session
    /// task has finished (each sends its close frame first).
    pub async fn shut_down(&self) {
        {
            let mut registry = self.registry();
            registry.closed = true;
            for kitchen in registry.kitchens.values_mut() {
                for (_, session) in kitchen.admins.drain() {
                    session.close(CloseReason::SHUTDOWN);
                }
            }
            for (_, session) in registry.staff.drain() {
                session.close(CloseReason::SHUTDOWN);
            }
        }
        loop {
            let stopped = self.shared.all_stopped.notified();
            if self.shared.running.load(Ordering::Acquire) == 0 {
                return;
            }
            stopped.await;
        }
    }
}

/// Closes `handle` with `reason`, if there is one; whether to keep it in the registry.
fn close_if_ended(handle: &SessionHandle, reason: Option<CloseReason>) -> bool {
    match reason {
        Some(reason) => {
            handle.outbox.close(reason);
            false
        }
        None => true,
    }
}

/// What one event means for the sessions: the messages for every ADMIN session, in order,
/// and the one for the requester's STAFF session.
#[derive(Debug, PartialEq)]
pub struct Delivery {
    pub to_admins: Vec<Notification>,
    pub to_staff: Option<(i64, Notification)>,
}

/// The messages `event` turns into, stamped with its timestamp: a new item is announced to
/// the admins and followed by its count; a review sends the admins only the count and tells
/// the requester. The count is left out when it is no news (`count_is_news` false: an event
/// the counts already include, heard again after a resync).
pub fn deliveries(event: &Event, count_is_news: bool) -> Delivery {
    let timestamp = &event.timestamp;
    let count = count_is_news.then(|| Notification::PendingCountUpdated {
        category: event.category,
        count: event.pending(),
        seq: event.seq(),
        timestamp: timestamp.to_string(),
    });
    match &event.change {
        Change::Created { item_id, item_name, requested_by } => {
            let announcement = Notification::new_item(NewItemNotice {
                category: event.category,
                request_id: *item_id,
                item_name: item_name.clone(),
                requested_by: requested_by.clone(),
                timestamp: timestamp.to_string(),
                // A creation's event is stamped with the item's creation instant.
                created_at_millis: event.at_millis,
            });
            Delivery { to_admins: std::iter::once(announcement).chain(count).collect(), to_staff: None }
        }
        Change::Reviewed { item_id, item_name, requester_id, reviewed_by, decision, note } => {
            let notice = ReviewNotice {
                category: event.category,
                request_id: *item_id,
                item_name: item_name.clone(),
                reviewed_by: reviewed_by.clone(),
                timestamp: timestamp.to_string(),
                note: note.clone(),
                // A review's event is stamped with the review's instant.
                reviewed_at_millis: event.at_millis,
            };
            Delivery {
                to_admins: count.into_iter().collect(),
                to_staff: Some((*requester_id, Notification::review(*decision, notice))),
            }
        }
    }
}

/// The PENDING_COUNT_UPDATED of one category of `counts`.
fn count_update(counts: &PendingCounts, category: Category, timestamp: &str) -> Notification {
    Notification::PendingCountUpdated {
        category,
        count: counts.of(category),
        seq: counts.seq,
        timestamp: timestamp.to_string(),
    }
}

/// Serializes and frames a message once; the result is shared by every recipient.
fn encode(message: &Notification) -> Frame {
    // The message types hold only strings and integers; serializing them cannot fail.
    Frame::text(&serde_json::to_string(message).expect("notifications always serialize"))
}

/// Queues `frames` (in order) on every one of a kitchen's `admins` and has the pacer wake
/// them; closes with 1013 the sessions whose queue is full. Counts the frames and bytes sent.
fn broadcast(admins: &mut HashMap<u64, SessionHandle>, frames: &[Frame], shared: &Shared) {
    if frames.is_empty() {
        return;
    }
    let metrics = &shared.metrics;
    let mut overflowed = Vec::new();
    let mut to_wake = Vec::new();
    for (id, session) in admins.iter() {
        match session.outbox.push_quietly(frames, shared.queue_capacity) {
            Some(true) => to_wake.push(session.outbox.clone()),
            Some(false) => {}
            None => overflowed.push(*id),
        }
    }
    shared.pacer.wake(to_wake);
    let recipients = (admins.len() - overflowed.len()) as u64;
    let bytes: usize = frames.iter().map(Frame::payload_len).sum();
    metrics.frames.inc_by(recipients * frames.len() as u64);
    metrics.bytes.inc_by(recipients * bytes as u64);
    metrics.queue_overflows.inc_by(overflowed.len() as u64);
    for id in overflowed {
        if let Some(session) = admins.remove(&id) {
            session.close(CloseReason::TOO_SLOW);
        }
    }
}

/// Queues `frame` on one user's STAFF session, if it is connected; whether it was queued.
fn direct(
    staff: &mut HashMap<i64, SessionHandle>,
    user_id: i64,
    frame: Frame,
    capacity: usize,
    metrics: &HubMetrics,
) -> bool {
    let Some(session) = staff.get(&user_id) else { return false };
    let bytes = frame.payload_len() as u64;
    if session.outbox.push(&[frame], capacity) {
        metrics.frames.inc();
        metrics.bytes.inc_by(bytes);
        return true;
    }
    metrics.queue_overflows.inc();
    if let Some(session) = staff.remove(&user_id) {
        session.close(CloseReason::TOO_SLOW);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::{Decision, Person, Role};

    fn clock() -> KitchenClock {
        KitchenClock::new(chrono_tz::UTC)
    }

    fn user(id: i64, role: Role) -> AuthUser {
        AuthUser {
            id,
            role,
            first_name: format!("User{id}"),
            last_name: "Test".into(),
            expires_at: i64::MAX,
            session: SessionId::from_u128(u128::try_from(id).expect("test ids are positive")),
            kitchen_id: KITCHEN,
        }
    }

    /// The kitchen of the tests' users and events.
    const KITCHEN: i64 = 1;

    fn new_hub(queue_capacity: usize, max_sockets_per_user: usize) -> Hub {
        Hub::new("test", queue_capacity, max_sockets_per_user, HubMetrics::default())
    }

    /// Registers `user` as the socket handler does, with the kitchen's counts at zero.
    fn join(hub: &Hub, user: &AuthUser) -> Registration {
        hub.register(user, None, clock()).expect("registered")
    }

    fn ali() -> Person {
        Person { id: 3, first_name: "Ali".into(), last_name: "Hassan".into() }
    }

    fn created(seq: i64, pending: i64) -> Event {
        Event {
            kitchen_id: KITCHEN,
            counts: PendingCounts { ingredient_requests: pending, dish_suggestions: 0, seq },
            category: Category::IngredientRequest,
            at_millis: 0,
            timestamp: "2026-03-27 10:15".into(),
            change: Change::Created { item_id: seq, item_name: "Dild".into(), requested_by: ali() },
        }
    }

    fn reviewed(seq: i64, pending: i64, decision: Decision) -> Event {
        Event {
            kitchen_id: KITCHEN,
            counts: PendingCounts { ingredient_requests: 0, dish_suggestions: pending, seq },
            category: Category::DishSuggestion,
            at_millis: 0,
            timestamp: "2026-03-27 10:20".into(),
            change: Change::Reviewed {
                item_id: 9,
                item_name: "Rødgrød".into(),
                requester_id: 3,
                reviewed_by: Person { id: 1, first_name: "Gordon".into(), last_name: "Ramsay".into() },
                decision,
                note: Some("i morgen".into()),
            },
        }
    }

    /// Everything queued on `outbox` so far, parsed; or the close request.
    fn drain(outbox: &Outbox) -> Vec<Notification> {
        let mut frames = Vec::new();
        outbox.take_waiting(&mut frames, usize::MAX);
        frames.iter().map(|frame| serde_json::from_str(frame.payload()).expect("a notification")).collect()
    }

    #[test]
    fn a_new_item_is_announced_to_the_admins_then_counted() {
        let delivery = deliveries(&created(7, 2), true);
        assert!(matches!(
            &delivery.to_admins[..],
            [
                Notification::NewIngredientRequest(NewItemNotice { request_id: 7, .. }),
                Notification::PendingCountUpdated { category: Category::IngredientRequest, count: 2, seq: 7, .. },
            ]
        ));
        assert_eq!(delivery.to_staff, None);
    }

    #[test]
    fn a_review_counts_for_the_admins_and_tells_the_requester_alone() {
        let delivery = deliveries(&reviewed(8, 0, Decision::Reject), true);
        assert!(matches!(
            &delivery.to_admins[..],
            [Notification::PendingCountUpdated { category: Category::DishSuggestion, count: 0, seq: 8, .. }]
        ));
        let Some((3, Notification::SuggestionRejected(notice))) = &delivery.to_staff else {
            panic!("the requester gets SUGGESTION_REJECTED: {:?}", delivery.to_staff);
        };
        assert_eq!((notice.request_id, notice.note.as_deref()), (9, Some("i morgen")));
    }

    #[test]
    fn a_count_that_is_no_news_is_left_out() {
        assert_eq!(deliveries(&created(7, 2), false).to_admins.len(), 1);
        assert!(deliveries(&reviewed(8, 0, Decision::Approve), false).to_admins.is_empty());
    }

    #[test]
    fn counts_take_only_newer_ones() {
        let mut counts = PendingCounts { ingredient_requests: 4, dish_suggestions: 1, seq: 10 };
        assert!(!counts.advance_to(created(10, 9).counts));
        assert!(counts.advance_to(PendingCounts { ingredient_requests: 5, dish_suggestions: 1, seq: 11 }));
        assert_eq!(counts, PendingCounts { ingredient_requests: 5, dish_suggestions: 1, seq: 11 });
    }

    #[tokio::test]
    async fn an_admin_is_greeted_with_the_current_counts_and_a_cook_without() {
        let hub = new_hub(16, 0);
        hub.resync(KITCHEN, PendingCounts { ingredient_requests: 2, dish_suggestions: 1, seq: 5 });
        let admin = join(&hub, &user(1, Role::HeadChef));
        let greeting: Vec<Notification> =
            admin.greeting.iter().map(|frame| serde_json::from_str(frame.payload()).unwrap()).collect();
        assert!(matches!(
            &greeting[..],
            [
                Notification::Connected { session_type: SessionType::Admin, user_id: 1, kitchen_id: KITCHEN, .. },
                Notification::PendingCountUpdated { category: Category::IngredientRequest, count: 2, seq: 5, .. },
                Notification::PendingCountUpdated { category: Category::DishSuggestion, count: 1, seq: 5, .. },
            ]
        ));
        let cook = join(&hub, &user(3, Role::LineCook));
        assert_eq!(cook.greeting.len(), 1);
        assert_eq!(hub.session_counts(), (1, 1));
    }

    #[tokio::test]
    async fn a_newer_staff_session_replaces_the_older_one() {
        let hub = new_hub(16, 0);
        let first = join(&hub, &user(3, Role::LineCook));
        let second = join(&hub, &user(3, Role::LineCook));
        assert_eq!(first.outbox.closed().await, CloseReason::REPLACED);
        // The replaced session's end does not unregister its successor.
        drop(first);
        assert_eq!(hub.session_counts(), (0, 1));
        hub.publish(&reviewed(1, 0, Decision::Approve));
        assert!(matches!(&drain(&second.outbox)[..], [Notification::SuggestionApproved(_)]));
    }

    #[tokio::test]
    async fn claims_from_other_processes_decide_which_session_is_newest() {
        let hub = new_hub(16, 0);
        let session = hub.register(&user(3, Role::LineCook), Some(10), clock()).unwrap();
        hub.apply_claim(3, 9);
        hub.apply_claim(4, 99);
        assert_eq!(hub.session_counts(), (0, 1), "an older claim, or another user's, changes nothing");
        hub.apply_claim(3, 11);
        assert_eq!(session.outbox.closed().await, CloseReason::REPLACED);
        // A session whose claim is already outdated when it registers is closed at once.
        let late = hub.register(&user(3, Role::LineCook), Some(10), clock()).unwrap();
        assert_eq!(late.outbox.closed().await, CloseReason::REPLACED);
        assert_eq!(hub.session_counts(), (0, 0));
    }

    #[tokio::test]
    async fn a_session_whose_queue_is_full_is_closed_and_removed_while_others_keep_up() {
        let hub = new_hub(4, 0);
        let slow = join(&hub, &user(1, Role::HeadChef));
        let keeping_up = join(&hub, &user(2, Role::SousChef));
        for seq in 1..=3 {
            hub.publish(&created(seq, seq));
            assert_eq!(drain(&keeping_up.outbox).len(), 2);
        }
        assert_eq!(slow.outbox.closed().await, CloseReason::TOO_SLOW);
        assert_eq!(hub.session_counts(), (1, 0));
        hub.publish(&created(4, 4));
        assert_eq!(drain(&keeping_up.outbox).len(), 2);
    }

    #[tokio::test]
    async fn a_resync_sends_the_counts_and_an_older_read_changes_nothing() {
        let hub = new_hub(16, 0);
        let admin = join(&hub, &user(1, Role::HeadChef));
        hub.publish(&created(5, 1));
        drain(&admin.outbox);
        hub.resync(KITCHEN, PendingCounts { ingredient_requests: 0, dish_suggestions: 0, seq: 4 });
        assert!(drain(&admin.outbox).is_empty());
        hub.resync(KITCHEN, PendingCounts { ingredient_requests: 3, dish_suggestions: 2, seq: 9 });
        assert!(matches!(
            &drain(&admin.outbox)[..],
            [
                Notification::PendingCountUpdated { count: 3, seq: 9, .. },
                Notification::PendingCountUpdated { count: 2, seq: 9, .. },
            ]
        ));
        assert_eq!(hub.counts(KITCHEN).seq, 9);
    }

    #[tokio::test]
    async fn shutting_down_closes_every_session_and_refuses_new_ones() {
        let hub = new_hub(16, 0);
        let admin = join(&hub, &user(1, Role::HeadChef));
        let cook = join(&hub, &user(3, Role::LineCook));
        let stopping = tokio::spawn({
            let hub = hub.clone();
            async move { hub.shut_down().await }
        });
        assert_eq!(admin.outbox.closed().await, CloseReason::SHUTDOWN);
        assert_eq!(cook.outbox.closed().await, CloseReason::SHUTDOWN);
        assert!(hub.register(&user(2, Role::SousChef), None, clock()).is_err());
        // Shutdown waits until every session task has ended (dropped its guard).
        drop((admin, cook));
        stopping.await.unwrap();
    }

    #[tokio::test]
    async fn ending_a_session_closes_only_its_sockets_with_its_reason() {
        let hub = new_hub(16, 0);
        let chef_tablet = join(&hub, &user(1, Role::HeadChef));
        let chef_wall = join(&hub, &user(1, Role::HeadChef));
        let sous = join(&hub, &user(2, Role::SousChef));
        let cook = join(&hub, &user(3, Role::LineCook));
        hub.end_sessions(&[
            (SessionId::from_u128(1), EndReason::SignedOut),
            (SessionId::from_u128(3), EndReason::AccountDisabled),
        ]);
        assert_eq!(chef_tablet.outbox.closed().await, CloseReason::policy("signed out"));
        assert_eq!(chef_wall.outbox.closed().await, CloseReason::policy("signed out"));
        assert_eq!(cook.outbox.closed().await, CloseReason::policy("account disabled"));
        assert_eq!(hub.session_counts(), (1, 0));
        hub.publish(&created(1, 1));
        assert_eq!(drain(&sous.outbox).len(), 2);
    }

    #[tokio::test]
    async fn beyond_the_socket_cap_the_oldest_of_that_user_is_closed_with_4008() {
        let hub = new_hub(16, 2);
        let first = join(&hub, &user(1, Role::HeadChef));
        let second = join(&hub, &user(1, Role::HeadChef));
        let sous = join(&hub, &user(2, Role::SousChef));
        let third = join(&hub, &user(1, Role::HeadChef));
        assert_eq!(first.outbox.closed().await, CloseReason::TOO_MANY_SESSIONS);
        assert_eq!(hub.session_counts(), (3, 0));
        // A socket that leaves makes room: the next one closes nobody.
        drop(second);
        let fourth = join(&hub, &user(1, Role::HeadChef));
        assert_eq!(hub.session_counts(), (3, 0));
        hub.publish(&created(1, 1));
        for alive in [&sous, &third, &fourth] {
            assert_eq!(drain(&alive.outbox).len(), 2, "the new item and its count");
        }
    }

    #[tokio::test]
    async fn an_event_reaches_only_the_sessions_of_its_kitchen() {
        let hub = new_hub(16, 0);
        let our_chef = join(&hub, &user(1, Role::HeadChef));
        let their_chef = join(&hub, &AuthUser { kitchen_id: 2, ..user(7, Role::HeadChef) });
        let their_cook = join(&hub, &AuthUser { kitchen_id: 2, ..user(8, Role::LineCook) });
        hub.publish(&created(1, 1));
        assert_eq!(drain(&our_chef.outbox).len(), 2);
        assert!(drain(&their_chef.outbox).is_empty());
        let mut theirs = reviewed(5, 0, Decision::Approve);
        theirs.kitchen_id = 2;
        if let Change::Reviewed { requester_id, .. } = &mut theirs.change {
            *requester_id = 8;
        }
        hub.publish(&theirs);
        assert!(drain(&our_chef.outbox).is_empty());
        assert!(matches!(&drain(&their_chef.outbox)[..], [Notification::PendingCountUpdated { seq: 5, .. }]));
        assert!(matches!(&drain(&their_cook.outbox)[..], [Notification::SuggestionApproved(_)]));
        assert_eq!((hub.counts(KITCHEN).seq, hub.counts(2).seq), (1, 5));
    }

    /// One thread, so the pacer runs only when the test awaits.
    #[tokio::test(flavor = "current_thread")]
    async fn writes_wait_while_the_fan_out_is_behind_and_sessions_are_woken() {
        use futures::FutureExt;
        let in_time = std::time::Duration::from_secs(5);
        // Queues of 16 frames: a load of at most 2 (broadcasts not yet woken, writes under way).
        let hub = new_hub(16, 0);
        let ours = join(&hub, &user(1, Role::HeadChef));
        let theirs = join(&hub, &AuthUser { kitchen_id: 2, ..user(7, Role::HeadChef) });
        let waiting: Vec<_> = [&ours, &theirs]
            .map(|session| {
                let outbox = session.outbox.clone();
                tokio::spawn(async move { outbox.next().await })
            })
            .into();
        tokio::task::yield_now().await;

        let write = hub.admit_write().now_or_never().expect("nothing behind: admitted at once");
        hub.publish(&created(1, 1));
        drop(write);
        let second = hub.admit_write().now_or_never().expect("one broadcast behind: admitted");
        assert!(hub.admit_write().now_or_never().is_none(), "a broadcast and a write under way: full");
        let mut other_kitchens = created(1, 1);
        other_kitchens.kitchen_id = 2;
        hub.publish(&other_kitchens);
        drop(second);
        assert!(hub.admit_write().now_or_never().is_none(), "two broadcasts behind: the write waits");

        let admitted = tokio::time::timeout(in_time, hub.admit_write()).await.expect("admitted once the pacer runs");
        for waiter in waiting {
            let next = tokio::time::timeout(in_time, waiter).await.expect("woken by the pacer").expect("ran");
            assert!(matches!(next, Next::Frame(_)), "{next:?}");
        }
        drop(admitted);
        // Every broadcast woken and every write done: the whole limit is free again.
        tokio::time::timeout(in_time, async {
            loop {
                let both = (hub.admit_write().now_or_never(), hub.admit_write().now_or_never());
                if matches!(both, (Some(_), Some(_))) {
                    return;
                }
                drop(both);
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the load drains to nothing");
    }

    #[tokio::test]
    async fn a_kitchens_counts_come_from_its_events_heard_before_its_first_session() {
        let hub = new_hub(16, 0);
        hub.resync(KITCHEN, PendingCounts { ingredient_requests: 3, dish_suggestions: 1, seq: 5 });
        hub.publish(&created(6, 4));
        let admin = join(&hub, &user(1, Role::HeadChef));
        assert!(admin.greeting[1].payload().contains(r#""count":4,"seq":6"#), "{}", admin.greeting[1].payload());
        assert!(admin.greeting[2].payload().contains(r#""count":0,"seq":6"#), "{}", admin.greeting[2].payload());
        // Another kitchen, never heard of: zero, as a new kitchen starts.
        let other = join(&hub, &AuthUser { kitchen_id: 2, ..user(7, Role::HeadChef) });
        assert!(other.greeting[1].payload().contains(r#""count":0,"seq":0"#), "{}", other.greeting[1].payload());
    }

    /// docs/asyncapi.yaml names every message the hub sends and every close code and reason.
    #[tokio::test]
    async fn the_asyncapi_document_names_every_message_and_close() {
        let document = include_str!("../../../docs/asyncapi.yaml");
        let mut messages: Vec<Notification> = Vec::new();
        for decision in [Decision::Approve, Decision::Reject] {
            for category in Category::ALL {
                let mut event = created(1, 1);
                event.category = category;
                messages.extend(deliveries(&event, true).to_admins);
                let mut review = reviewed(2, 0, decision);
                review.category = category;
                messages.extend(deliveries(&review, true).to_staff.map(|(_, message)| message));
            }
        }
        let user = user(1, Role::HeadChef);
        let hub = new_hub(16, 0);
        let greeting = join(&hub, &user).greeting;
        messages
            .extend(greeting.iter().map(|frame| serde_json::from_str::<Notification>(frame.payload()).expect("JSON")));
        let mut types: Vec<String> = messages
            .iter()
            .map(|message| {
                serde_json::to_value(message).expect("JSON")["notificationType"].as_str().expect("tag").into()
            })
            .collect();
        types.sort();
        types.dedup();
        assert_eq!(types.len(), 8, "{types:?}");
        for name in types {
            assert!(document.contains(&format!("name: {name}")), "docs/asyncapi.yaml lacks the message {name}");
        }
        let sent = [
            CloseReason::TOKEN_EXPIRED,
            CloseReason::PASSWORD_CHANGE_REQUIRED,
            CloseReason::REPLACED,
            CloseReason::TOO_SLOW,
            CloseReason::TRY_LATER,
            CloseReason::SHUTDOWN,
            CloseReason::MESSAGE_TOO_BIG,
            CloseReason::TOO_MANY_SESSIONS,
            CloseReason::PING_TIMEOUT,
        ];
        let ended = [EndReason::SignedOut, EndReason::AccountDisabled, EndReason::Revoked, EndReason::Expired]
            .map(|reason| CloseReason::policy(reason.message()));
        for reason in sent.into_iter().chain(ended) {
            assert!(
                document.contains(&format!("* {}", reason.code)) && document.contains(&format!("`{}`", reason.reason)),
                "docs/asyncapi.yaml lacks {reason:?}"
            );
        }
        for recorded_only in [CloseReason::CONNECTION_LOST, CloseReason::CLOSED_BY_CLIENT] {
            assert!(
                document.contains(&format!("* {}", recorded_only.code)),
                "docs/asyncapi.yaml lacks {recorded_only:?}"
            );
        }
    }
}
