//! The notification hub: who is connected, and who gets which committed [`Event`].
//!
//! - ADMIN sessions (head and sous chefs): any number per user; every event is broadcast to
//!   all of them.
//! - STAFF sessions (everyone else): at most one per user; a newer one replaces the older,
//!   which is closed with 4001. Review decisions go to the requester's STAFF session only.
//!   "Newer" is decided by a claim number, so that it means the same in every process: from
//!   a PostgreSQL sequence when several processes share the database (each process hears
//!   every claim through the bus and closes its own older session), else from the hub.
//!
//! Each message is serialized once; every session gets a clone of the same bytes (a
//! reference count, not a copy) through its own bounded queue ([`Outbox`]). Fan-out never waits: a session
//! whose queue is full is closed with 1013 and removed, so one slow reader cannot delay
//! anyone else.
//!
//! The hub knows nothing of SQL: it is fed events by the bus and keeps the latest pending
//! counts it has seen, so a new session's initial counts and the live events after them are
//! consistent without a database round trip.

mod outbox;
mod session;

pub use outbox::{Next, Outbox};
pub use session::{run_session, SessionSettings, MAX_CLIENT_MESSAGE_BYTES};

use crate::{
    auth::AuthUser,
    clock::KitchenClock,
    event::{Change, Event, PendingCounts},
};
use app::wire::{close_code, Category, NewItemNotice, Notification, ReviewNotice, SessionType, WELCOME_MESSAGE};
use axum::extract::ws::Utf8Bytes;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
};
use tokio::sync::Notify;

/// Why the hub ended a session: the close frame the session sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

impl CloseReason {
    /// A newer STAFF session of the same user took over.
    pub const REPLACED: CloseReason = CloseReason { code: close_code::REPLACED, reason: "replaced by a newer session" };
    /// The outbound queue overflowed.
    pub const TOO_SLOW: CloseReason = CloseReason { code: close_code::TRY_AGAIN_LATER, reason: "too slow to keep up" };
    /// The server is stopping.
    pub const SHUTDOWN: CloseReason = CloseReason { code: close_code::GOING_AWAY, reason: "server shutting down" };
}

/// The hub's side of one session.
struct SessionHandle {
    id: u64,
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

/// Everything behind the hub's one lock.
#[derive(Default)]
struct Registry {
    /// The newest counts the hub has published; new sessions start from these.
    counts: PendingCounts,
    admins: HashMap<u64, SessionHandle>,
    /// STAFF sessions by user id: at most one each.
    staff: HashMap<i64, SessionHandle>,
    /// The newest STAFF claim seen per user, from this process or any other.
    newest_claims: HashMap<i64, i64>,
    next_id: u64,
    /// Set on shutdown: no new session is registered.
    closed: bool,
}

struct Shared {
    /// One std mutex: it is held only for map updates and non-blocking outbox pushes, never
    /// across an `.await`, and publishing (one task at a time) must be atomic with respect to
    /// registration so a new session misses nothing and sees nothing twice.
    registry: Mutex<Registry>,
    clock: KitchenClock,
    queue_capacity: usize,
    /// Session tasks still running, so shutdown can wait for their close frames.
    running: AtomicUsize,
    all_stopped: Notify,
}

/// A cheap, cloneable handle to the hub.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

/// A session the hub has accepted.
pub struct Registration {
    /// Sent before anything else: the welcome, then (admins) the two current counts.
    pub greeting: Vec<Utf8Bytes>,
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
    session_type: SessionType,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.hub.unregister(self.id, self.user_id, self.session_type);
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
    /// A hub starting from `counts`, with per-session queues of `queue_capacity` messages.
    pub fn new(clock: KitchenClock, counts: PendingCounts, queue_capacity: usize) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry { counts, ..Registry::default() }),
                clock,
                queue_capacity: queue_capacity.max(4),
                running: AtomicUsize::new(0),
                all_stopped: Notify::new(),
            }),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding this lock would be a bug in the few lines below; the maps
        // stay consistent either way, so keep serving.
        self.shared.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a session for `user` and prepares its greeting. A STAFF session needs a
    /// `claim` when several processes share the database (see [`Hub::apply_claim`]); with
    /// `None` the hub numbers it itself.
    pub fn register(&self, user: &AuthUser, claim: Option<i64>) -> Result<Registration, HubClosed> {
        let outbox = Arc::new(Outbox::default());
        let session_type = if user.role.is_admin() { SessionType::Admin } else { SessionType::Staff };
        let timestamp = self.shared.clock.now_formatted();
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
        let handle = SessionHandle { id, claim, outbox: outbox.clone() };
        let mut greeting = vec![encode(&Notification::Connected {
            message: WELCOME_MESSAGE.to_string(),
            session_type,
            user_id: user.id,
            timestamp: timestamp.clone(),
        })];
        match session_type {
            SessionType::Admin => {
                let counts = registry.counts;
                for category in [Category::IngredientRequest, Category::DishSuggestion] {
                    greeting.push(encode(&Notification::PendingCountUpdated {
                        category,
                        count: counts.of(category),
                        seq: counts.seq,
                        timestamp: timestamp.clone(),
                    }));
                }
                registry.admins.insert(id, handle);
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
        Ok(Registration {
            greeting,
            outbox,
            guard: SessionGuard { hub: self.clone(), id, user_id: user.id, session_type },
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

    /// Removes a session, unless a newer one already took its place.
    fn unregister(&self, id: u64, user_id: i64, session_type: SessionType) {
        let mut registry = self.registry();
        match session_type {
            SessionType::Admin => {
                registry.admins.remove(&id);
            }
            SessionType::Staff => {
                if registry.staff.get(&user_id).is_some_and(|current| current.id == id) {
                    registry.staff.remove(&user_id);
                }
            }
        }
    }

    /// Delivers one committed event to the sessions that should see it. Called by the bus,
    /// one event at a time, in `seq` order.
    pub fn publish(&self, event: &Event) {
        let timestamp = self.shared.clock.format(event.at_millis);
        let mut registry = self.registry();
        let is_newer = event.seq > registry.counts.seq;
        if is_newer {
            set_count(&mut registry.counts, event.category, event.pending);
            registry.counts.seq = event.seq;
        }
        let count_update = is_newer.then(|| {
            encode(&Notification::PendingCountUpdated {
                category: event.category,
                count: event.pending,
                seq: event.seq,
                timestamp: timestamp.clone(),
            })
        });
        match &event.change {
            Change::Created { item_id, item_name, requested_by } => {
                let notice = NewItemNotice {
                    category: event.category,
                    request_id: *item_id,
                    item_name: item_name.clone(),
                    requested_by: requested_by.clone(),
                    timestamp,
                };
                let announcement = encode(&match event.category {
                    Category::IngredientRequest => Notification::NewIngredientRequest(notice),
                    Category::DishSuggestion => Notification::NewDishSuggestion(notice),
                });
                broadcast(&mut registry, [Some(announcement), count_update], self.shared.queue_capacity);
            }
            Change::Reviewed { item_id, item_name, requester_id, reviewed_by, approved, note } => {
                broadcast(&mut registry, [count_update, None], self.shared.queue_capacity);
                let notice = ReviewNotice {
                    category: event.category,
                    request_id: *item_id,
                    item_name: item_name.clone(),
                    reviewed_by: reviewed_by.clone(),
                    timestamp,
                    note: note.clone(),
                };
                let message = match (event.category, approved) {
                    (Category::IngredientRequest, true) => Notification::RequestApproved(notice),
                    (Category::IngredientRequest, false) => Notification::RequestRejected(notice),
                    (Category::DishSuggestion, true) => Notification::SuggestionApproved(notice),
                    (Category::DishSuggestion, false) => Notification::SuggestionRejected(notice),
                };
                direct(&mut registry, *requester_id, encode(&message), self.shared.queue_capacity);
            }
        }
    }

    /// Takes `counts` read from the database after the bus reconnected (events may have been
    /// missed meanwhile) and sends them to every admin, as the contract asks. They carry the
    /// current `seq`, which equals the last one sent when nothing was missed; clients ignore
    /// such a repeat by the `seq` rule. A read older than what was already published changes
    /// nothing.
    pub fn resync(&self, counts: PendingCounts) {
        let timestamp = self.shared.clock.now_formatted();
        let mut registry = self.registry();
        if counts.seq < registry.counts.seq {
            return;
        }
        registry.counts = counts;
        let updates = [Category::IngredientRequest, Category::DishSuggestion].map(|category| {
            Some(encode(&Notification::PendingCountUpdated {
                category,
                count: counts.of(category),
                seq: counts.seq,
                timestamp: timestamp.clone(),
            }))
        });
        broadcast(&mut registry, updates, self.shared.queue_capacity);
    }

    /// The counts the hub has published last.
    pub fn counts(&self) -> PendingCounts {
        self.registry().counts
    }

    /// How many sessions are registered: `(admin, staff)`.
    pub fn session_counts(&self) -> (usize, usize) {
        let registry = self.registry();
        (registry.admins.len(), registry.staff.len())
    }

    /// Closes every session with 1001, refuses new ones, and waits until every session
    /// task has finished (each sends its close frame first).
    pub async fn shut_down(&self) {
        {
            let mut registry = self.registry();
            registry.closed = true;
            for (_, session) in registry.admins.drain() {
                session.close(CloseReason::SHUTDOWN);
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

fn set_count(counts: &mut PendingCounts, category: Category, pending: i64) {
    match category {
        Category::IngredientRequest => counts.ingredient_requests = pending,
        Category::DishSuggestion => counts.dish_suggestions = pending,
    }
}

/// Serializes a message once; the result is shared by every recipient.
fn encode(message: &Notification) -> Utf8Bytes {
    // The message types hold only strings and integers; serializing them cannot fail.
    Utf8Bytes::from(serde_json::to_string(message).expect("notifications always serialize"))
}

/// Queues `frames` (in order, skipping `None`) on every admin session; closes with 1013 the
/// sessions whose queue is full.
fn broadcast(registry: &mut Registry, frames: [Option<Utf8Bytes>; 2], capacity: usize) {
    let frames: Vec<Utf8Bytes> = frames.into_iter().flatten().collect();
    let mut overflowed = Vec::new();
    for (id, session) in &registry.admins {
        if !session.outbox.push(&frames, capacity) {
            overflowed.push(*id);
        }
    }
    for id in overflowed {
        if let Some(session) = registry.admins.remove(&id) {
            session.close(CloseReason::TOO_SLOW);
        }
    }
}

/// Queues `frame` on one user's STAFF session, if it is connected.
fn direct(registry: &mut Registry, user_id: i64, frame: Utf8Bytes, capacity: usize) {
    let Some(session) = registry.staff.get(&user_id) else { return };
    if !session.outbox.push(&[frame], capacity) {
        if let Some(session) = registry.staff.remove(&user_id) {
            session.close(CloseReason::TOO_SLOW);
        }
    }
}
