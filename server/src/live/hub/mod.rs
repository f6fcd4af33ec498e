//! The notification hub: which sockets are open, and which of them get which committed
//! [`Event`].
//!
//! Sockets are registered per kitchen: an event of a kitchen reaches that kitchen's sockets
//! and no other's.
//!
//! - ADMIN sockets (head and sous chefs): any number per user; every event of their kitchen
//!   is broadcast to all of them.
//! - STAFF sockets (everyone else): at most one per user; a newer one replaces the older,
//!   which is closed with 4001. Review decisions go to the requester's STAFF socket only.
//!   "Newer" is decided by a claim number, so that it means the same in every process: from
//!   a PostgreSQL sequence when several processes share the database (each process hears
//!   every claim through the bus and closes its own older socket), else from the hub.
//!
//! Each message is serialized and framed once ([`Frame`]); every socket gets a clone of the
//! same bytes (a reference count, not a copy) through its own bounded queue ([`Outbox`]) and
//! writes them as they are. The sockets are woken a chunk at a time (see [`pacer`] for why).
//! Fan-out never waits: a socket whose queue is full is closed with 1013 and removed, so one
//! slow reader cannot delay anyone else.
//!
//! The hub knows nothing of SQL nor of the bus: it is told what happened through the live
//! road's handler, and keeps, per kitchen, the latest pending counts it has published (every
//! event carries both of its kitchen's counts).
//!
//! **Interest by kitchen** (docs/SCALING.md, step 1). The bus hands this process the events of
//! the kitchens it has a socket of, or one about to register ([`Hub::take_interest`]), and no
//! others: with many processes, each reads only its own kitchens' events. A kitchen's counts
//! are therefore current only while it holds interest. The first socket of a kitchen takes
//! interest *before* its counts are read from the database, and registers with the newer of
//! what it read and what was published since: an event committed after the read is handed
//! over (interest was already held), and one committed before it is in the read. Later sockets
//! start from the counts in memory, without a database round trip, which the events keep
//! current. A read that runs ahead of an event not yet published is sent to the kitchen's
//! other admins at once, since that event's count is then no news for them.

mod close;
mod delivery;
mod frame;
mod outbox;
mod pacer;
mod socket;
#[cfg(test)]
mod tests;

pub use close::CloseReason;
pub use frame::Frame;
pub use outbox::{Next, Outbox};
pub use pacer::Admission;
pub use socket::{run_socket, websocket_config, SocketSettings};

use crate::{
    clock::KitchenClock,
    event::{deliveries, ChefsOnline, Escalation, Event, KitchenUpdate, PendingCounts, SessionId, StaffClaim},
    metrics::{CloseLabel, HubMetrics, SessionTypeLabel},
};
use app::wire::{KitchenId, Notification, SessionType, UserId, WELCOME_MESSAGE};
use delivery::{broadcast, count_frames, direct, encode, to_kitchen_staff, to_own_dashboards};
use pacer::Pacer;
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard, OnceLock,
    },
};
use tokio::sync::{mpsc::UnboundedSender, Notify};

/// A socket's number in this hub.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct SocketId(u64);

/// Whose socket registers: what the hub needs to know of an admitted caller.
#[derive(Clone, Copy, Debug)]
pub struct SocketOwner {
    pub user: UserId,
    pub kitchen: KitchenId,
    /// The sign-in whose token opened it: ending that session closes the socket.
    pub session: SessionId,
    pub session_type: SessionType,
}

/// A chef's first dashboard of a kitchen opened in this process, or their last one closed:
/// what the hub reports for presence (API.md section 13).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChefPresence {
    pub kitchen: KitchenId,
    pub user: UserId,
    pub online: bool,
}

/// The hub's side of one socket.
struct SocketHandle {
    id: SocketId,
    /// Whose socket it is (a chef's own item's decision reaches their dashboards).
    user: UserId,
    /// Its kitchen (a STAFF socket hears its kitchen's presence).
    kitchen: KitchenId,
    /// The sign-in whose token opened it.
    session: SessionId,
    /// For STAFF sockets, the claim that orders them (newest wins); 0 for ADMIN sockets.
    claim: i64,
    outbox: Arc<Outbox>,
}

impl SocketHandle {
    /// Ends the socket with `reason` (it may already be gone, which is fine).
    fn close(self, reason: CloseReason) {
        self.outbox.close(reason);
    }
}

/// One kitchen, as this hub knows it.
#[derive(Default)]
struct KitchenRoom {
    /// The newest counts published for the kitchen; its new admin sockets start from these.
    counts: PendingCounts,
    /// Sockets registered in the kitchen, and registrations under way: while above zero, the
    /// bus hands this process the kitchen's events.
    interest: usize,
    /// Whether `counts` are current: read from the database while interest was held, and
    /// followed through every event since. Lost when interest drops to zero.
    counts_current: bool,
    /// The kitchen's clock, as its sockets registered with it or its settings last said (a
    /// resync stamps its counts with it).
    clock: Option<KitchenClock>,
    /// The version of the newest settings heard (older ones heard later change nothing).
    settings_version: i64,
    /// The kitchen's ADMIN sockets.
    admins: HashMap<SocketId, SocketHandle>,
    /// How many chefs of the kitchen have a dashboard open on any process, as of the newest
    /// presence version heard (its STAFF sockets are told when the count changes).
    chefs_online: ChefsOnlineCount,
}

/// A kitchen's chefs online, with the presence version it is true as of.
#[derive(Default, Clone, Copy)]
struct ChefsOnlineCount {
    count: i64,
    version: i64,
}

/// Everything behind the hub's one lock.
#[derive(Default)]
struct Registry {
    /// Every kitchen with a socket here or an event heard.
    kitchens: HashMap<KitchenId, KitchenRoom>,
    /// ADMIN sockets per user, oldest first; kept only while sockets per user are capped.
    admins_by_user: HashMap<UserId, VecDeque<SocketId>>,
    /// STAFF sockets by user: at most one each.
    staff: HashMap<UserId, SocketHandle>,
    /// The newest STAFF claim seen per user, from this process or any other.
    newest_claims: HashMap<UserId, i64>,
    /// ADMIN sockets open here per kitchen and chef: presence changes when one appears or goes.
    chef_sockets: HashMap<(KitchenId, UserId), usize>,
    next_id: u64,
    /// Set on shutdown: no new socket is registered.
    closed: bool,
}

struct Shared {
    /// One std mutex: it is held only for map updates, non-blocking outbox pushes and the
    /// hand-over of a broadcast's sockets to the pacer, never across an `.await`, and
    /// publishing (one task at a time) must be atomic with respect to registration so a new
    /// socket misses nothing and sees nothing twice.
    registry: Mutex<Registry>,
    /// The database's epoch, sent in every welcome.
    epoch: Arc<str>,
    queue_capacity: usize,
    /// How much load the pacer may carry (broadcasts not yet woken, plus writes under way)
    /// before a write must wait (see [`Hub::admit_write`]).
    fan_out_load_limit: usize,
    /// Most sockets one user may hold in this process; 0 for no limit.
    max_sockets_per_user: usize,
    /// Socket tasks still running, so shutdown can wait for their close frames.
    running: AtomicUsize,
    all_stopped: Notify,
    /// Wakes the sockets a broadcast queued frames for, a chunk at a time.
    pacer: Pacer,
    metrics: HubMetrics,
    /// Where the chefs' presence changes in this process go (see [`Hub::report_presence`]).
    presence: OnceLock<UnboundedSender<ChefPresence>>,
}

/// A cheap, cloneable handle to the hub.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

/// A socket the hub has accepted.
pub struct Registration {
    /// Sent before anything else: the welcome, then (admins) the two current counts.
    pub greeting: Vec<Frame>,
    /// Where the hub queues this socket's frames and its close request.
    pub outbox: Arc<Outbox>,
    /// Keeps the hub's count of running sockets; dropping it unregisters the socket.
    pub guard: SocketGuard,
}

/// A kitchen's interest held for a socket about to register (see [`Hub::take_interest`]).
/// Registering hands it to the socket, which holds it until it is unregistered; dropped
/// before that, it is given up.
pub struct KitchenInterest {
    /// `None` once handed to a socket.
    hub: Option<Hub>,
    kitchen: KitchenId,
    counts_needed: bool,
    read: Option<PendingCounts>,
}

impl KitchenInterest {
    /// Whether an ADMIN socket must read the kitchen's counts from the database (and give them
    /// to [`KitchenInterest::read`]) before it registers: the counts in memory are not current.
    pub fn counts_needed(&self) -> bool {
        self.counts_needed
    }

    /// The kitchen's counts, read from the database after the interest was taken.
    pub fn read(&mut self, counts: PendingCounts) {
        self.read = Some(counts);
    }
}

impl Drop for KitchenInterest {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.take() {
            hub.lose_interest(&mut hub.registry(), self.kitchen);
        }
    }
}

/// Unregisters its socket when dropped.
pub struct SocketGuard {
    hub: Hub,
    id: SocketId,
    owner: SocketOwner,
    started: std::time::Instant,
}

impl SocketGuard {
    /// Records how the socket ended: the one log line an operator gets per socket, and the
    /// close-code counter. Then unregisters it.
    pub fn finish(self, reason: CloseReason, frames_sent: u64) {
        let session_type = SessionTypeLabel::from(self.owner.session_type).session_type;
        let duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let user_id = self.owner.user.0;
        let _span = tracing::info_span!(parent: None, "socket", user_id, session_type).entered();
        tracing::info!(
            user_id,
            session_type,
            duration_ms,
            frames_sent,
            close_code = reason.code,
            close_reason = reason.reason,
            "socket closed"
        );
        self.hub.shared.metrics.sockets_closed.get_or_create(&CloseLabel { session_type, code: reason.code }).inc();
    }
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.hub.unregister(self.id, &self.owner);
        self.hub.shared.metrics.sockets_open.get_or_create(&self.owner.session_type.into()).dec();
        if self.hub.shared.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.hub.shared.all_stopped.notify_waiters();
        }
    }
}

/// The hub is shutting down and takes no new sockets.
#[derive(Debug, thiserror::Error)]
#[error("the server is shutting down")]
pub struct HubClosed;

impl Hub {
    /// A hub with per-socket queues of `queue_capacity` messages and at most
    /// `max_sockets_per_user` sockets per user (0: no limit), counting into `metrics`. Must be
    /// called within a tokio runtime (it starts the task that wakes sockets).
    pub fn new(epoch: &str, queue_capacity: usize, max_sockets_per_user: usize, metrics: HubMetrics) -> Hub {
        Hub {
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry::default()),
                epoch: epoch.into(),
                queue_capacity: queue_capacity.max(4),
                // An event is at most two frames to an admin, so a socket waiting its turn
                // holds at most a quarter of its queue; docs/PERFORMANCE.md has why an eighth
                // and not a quarter.
                fan_out_load_limit: (queue_capacity / 8).max(1),
                max_sockets_per_user,
                running: AtomicUsize::new(0),
                all_stopped: Notify::new(),
                pacer: Pacer::start(),
                metrics,
                presence: OnceLock::new(),
            }),
        }
    }

    /// Sends every change of this process's chefs' presence to `changes` from now on (the live
    /// road records it in the database); set once, at start.
    pub fn report_presence(&self, changes: UnboundedSender<ChefPresence>) {
        let _ = self.shared.presence.set(changes);
    }

    /// Reports a presence change, if anyone listens.
    fn presence_changed(&self, kitchen: KitchenId, user: UserId, online: bool) {
        if let Some(changes) = self.shared.presence.get() {
            // Nobody listens after shutdown: the change no longer matters.
            let _ = changes.send(ChefPresence { kitchen, user, online });
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding this lock would be a bug in the few lines below; the maps
        // stay consistent either way, so keep serving.
        self.shared.registry.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes an interest in a kitchen for a socket about to register: from now on the bus
    /// hands this process the kitchen's events. When the interest says its counts are needed,
    /// an ADMIN socket reads them from the database after this, and gives them to
    /// [`KitchenInterest::read`] before registering.
    pub fn take_interest(&self, kitchen_id: KitchenId) -> KitchenInterest {
        let mut registry = self.registry();
        let kitchen = registry.kitchens.entry(kitchen_id).or_default();
        kitchen.interest += 1;
        KitchenInterest {
            hub: Some(self.clone()),
            kitchen: kitchen_id,
            counts_needed: !kitchen.counts_current,
            read: None,
        }
    }

    /// Whether the kitchen has a socket here, or one about to register: whether its events
    /// are to be read for this process.
    pub fn is_interested_in(&self, kitchen_id: KitchenId) -> bool {
        self.registry().kitchens.get(&kitchen_id).is_some_and(|kitchen| kitchen.interest > 0)
    }

    /// Gives up one interest in a kitchen; with none left, its counts are no longer followed.
    fn lose_interest(&self, registry: &mut Registry, kitchen_id: KitchenId) {
        if let Some(kitchen) = registry.kitchens.get_mut(&kitchen_id) {
            kitchen.interest = kitchen.interest.saturating_sub(1);
            if kitchen.interest == 0 {
                kitchen.counts_current = false;
            }
        }
    }

    /// Registers a socket of `owner` in their kitchen, with the `interest` taken for it, and
    /// prepares its greeting, stamped on the kitchen's `clock`; an ADMIN socket's greeting
    /// carries the kitchen's counts. A STAFF socket needs a `claim` when several processes
    /// share the database (see [`Hub::apply_claim`]); with `None` the hub numbers it itself.
    pub fn register(
        &self,
        owner: SocketOwner,
        claim: Option<i64>,
        clock: KitchenClock,
        mut interest: KitchenInterest,
    ) -> Result<Registration, HubClosed> {
        assert_eq!(interest.kitchen, owner.kitchen, "a socket registers with its own kitchen's interest");
        let outbox = Arc::new(Outbox::default());
        let timestamp = clock.now_formatted();
        let mut registry = self.registry();
        if registry.closed {
            drop(registry);
            return Err(HubClosed);
        }
        registry.next_id += 1;
        let id = SocketId(registry.next_id);
        let claim = match owner.session_type {
            SessionType::Admin => 0,
            SessionType::Staff => claim.unwrap_or(id.0 as i64),
        };
        let handle = SocketHandle {
            id,
            user: owner.user,
            kitchen: owner.kitchen,
            session: owner.session,
            claim,
            outbox: outbox.clone(),
        };
        let Registry { kitchens, admins_by_user, staff, newest_claims, chef_sockets, .. } = &mut *registry;
        let kitchen = kitchens.entry(owner.kitchen).or_default();
        kitchen.clock = Some(clock);
        if let Some(read) = interest.read.take() {
            if read.seq > kitchen.counts.seq {
                kitchen.counts = read;
                // The kitchen's other admins would otherwise never hear these counts: the
                // events they include come later, and are then no news.
                broadcast(&mut kitchen.admins, &count_frames(&read, &timestamp), &self.shared);
            }
            kitchen.counts_current = true;
        }
        let mut greeting = vec![encode(&Notification::Connected {
            message: WELCOME_MESSAGE.to_string(),
            session_type: owner.session_type,
            user_id: owner.user,
            kitchen_id: owner.kitchen,
            timestamp: timestamp.clone(),
            epoch: self.shared.epoch.to_string(),
            chefs_online: (owner.session_type == SessionType::Staff).then_some(kitchen.chefs_online.count),
        })];
        let mut arrived = false;
        match owner.session_type {
            SessionType::Admin => {
                let open = chef_sockets.entry((owner.kitchen, owner.user)).or_default();
                *open += 1;
                arrived = *open == 1;
                let counts = kitchen.counts;
                greeting.extend(count_frames(&counts, &timestamp));
                kitchen.admins.insert(id, handle);
                let cap = self.shared.max_sockets_per_user;
                if cap > 0 {
                    // A user's sockets are all of their one kitchen.
                    let own = admins_by_user.entry(owner.user).or_default();
                    own.push_back(id);
                    let excess = own.len().saturating_sub(cap);
                    for oldest in own.drain(..excess) {
                        if let Some(socket) = kitchen.admins.remove(&oldest) {
                            socket.close(CloseReason::TOO_MANY_SESSIONS);
                        }
                    }
                }
            }
            SessionType::Staff => {
                let newest = newest_claims.entry(owner.user).or_insert(claim);
                if *newest > claim {
                    // A newer socket of this user already exists, in another process.
                    handle.close(CloseReason::REPLACED);
                } else {
                    *newest = claim;
                    if let Some(older) = staff.insert(owner.user, handle) {
                        older.close(CloseReason::REPLACED);
                    }
                }
            }
        }
        drop(registry);
        if arrived {
            self.presence_changed(owner.kitchen, owner.user, true);
        }
        self.shared.running.fetch_add(1, Ordering::AcqRel);
        self.shared.metrics.sockets_open.get_or_create(&owner.session_type.into()).inc();
        let started = std::time::Instant::now();
        // The socket's guard holds the interest from here: unregistering it gives it up.
        interest.hub = None;
        Ok(Registration { greeting, outbox, guard: SocketGuard { hub: self.clone(), id, owner, started } })
    }

    /// Records a STAFF claim made in any process; this process's older socket of that user,
    /// if any, is closed with 4001.
    pub fn apply_claim(&self, claim: StaffClaim) {
        let mut registry = self.registry();
        let newest = registry.newest_claims.entry(claim.user_id).or_insert(claim.claim);
        if *newest < claim.claim {
            *newest = claim.claim;
        }
        if registry.staff.get(&claim.user_id).is_some_and(|socket| socket.claim < claim.claim) {
            if let Some(older) = registry.staff.remove(&claim.user_id) {
                older.close(CloseReason::REPLACED);
            }
        }
    }

    /// Closes every socket opened by one of these sessions, each with its reason.
    pub fn close_sockets_of(&self, sessions: &[(SessionId, CloseReason)]) {
        let reason_of =
            |session: SessionId| sessions.iter().find(|(ended, _)| *ended == session).map(|(_, reason)| *reason);
        let mut registry = self.registry();
        for kitchen in registry.kitchens.values_mut() {
            kitchen.admins.retain(|_, handle| close_if_ended(handle, reason_of(handle.session)));
        }
        registry.staff.retain(|_, handle| close_if_ended(handle, reason_of(handle.session)));
    }

    /// Removes a socket, unless a newer one already took its place.
    fn unregister(&self, id: SocketId, owner: &SocketOwner) {
        let mut registry = self.registry();
        match owner.session_type {
            SessionType::Admin => {
                let chef = (owner.kitchen, owner.user);
                let left = registry.chef_sockets.get_mut(&chef).map(|open| {
                    *open -= 1;
                    *open == 0
                });
                if left == Some(true) {
                    registry.chef_sockets.remove(&chef);
                    self.presence_changed(owner.kitchen, owner.user, false);
                }
                if let Some(kitchen) = registry.kitchens.get_mut(&owner.kitchen) {
                    kitchen.admins.remove(&id);
                }
                if let Some(own) = registry.admins_by_user.get_mut(&owner.user) {
                    own.retain(|socket| *socket != id);
                    if own.is_empty() {
                        registry.admins_by_user.remove(&owner.user);
                    }
                }
            }
            SessionType::Staff => {
                if registry.staff.get(&owner.user).is_some_and(|current| current.id == id) {
                    registry.staff.remove(&owner.user);
                }
            }
        }
        self.lose_interest(&mut registry, owner.kitchen);
    }

    /// Delivers one committed event to the sockets of its kitchen that should see it.
    /// Called one event at a time, each kitchen's in `seq` order.
    pub fn publish(&self, event: &Event) {
        let mut registry = self.registry();
        let Registry { kitchens, staff, chef_sockets, .. } = &mut *registry;
        // A kitchen never seen here has no socket to deliver to; its counts are read when its
        // first socket comes.
        let Some(kitchen) = kitchens.get_mut(&event.kitchen_id) else { return };
        let count_is_news = kitchen.counts.advance_to(event.counts);
        let delivery = deliveries(event, count_is_news);
        let frames: Vec<Frame> = delivery.to_admins.iter().map(encode).collect();
        let metrics = &self.shared.metrics;
        if !frames.is_empty() {
            broadcast(&mut kitchen.admins, &frames, &self.shared);
            metrics.broadcasts.inc();
        }
        if let Some((user, message)) = &delivery.to_staff {
            let frame = encode(message);
            // A sous chef who asked for something hears the decision on their dashboards too.
            if chef_sockets.contains_key(&(event.kitchen_id, *user)) {
                to_own_dashboards(&mut kitchen.admins, *user, &frame, &self.shared);
            }
            if direct(staff, *user, frame, self.shared.queue_capacity, metrics) {
                metrics.direct_messages.inc();
            }
        }
    }

    /// Takes a kitchen's `counts` read from the database after the bus reconnected (events
    /// may have been missed meanwhile), and sends them to the kitchen's admins, as the
    /// contract asks. They carry the current `seq`, which equals the last one sent when
    /// nothing was missed; clients ignore such a repeat by the `seq` rule. A read older than
    /// what was already published changes nothing, and a kitchen without interest here
    /// ignores it (its counts are read when its first socket comes).
    pub fn resync(&self, kitchen_id: KitchenId, counts: PendingCounts) {
        let mut registry = self.registry();
        let Some(kitchen) = registry.kitchens.get_mut(&kitchen_id).filter(|kitchen| kitchen.interest > 0) else {
            return;
        };
        kitchen.counts_current = true;
        if counts.seq < kitchen.counts.seq {
            return;
        }
        kitchen.counts = counts;
        if let Some(clock) = kitchen.clock {
            let timestamp = clock.now_formatted();
            broadcast(&mut kitchen.admins, &count_frames(&counts, &timestamp), &self.shared);
        }
    }

    /// Takes a kitchen's settings, if newer than what the hub has: its messages are stamped in
    /// the new zone, and every socket of the kitchen, ADMIN and STAFF, is told
    /// (`KITCHEN_UPDATED`).
    pub fn kitchen_updated(&self, update: &KitchenUpdate) {
        let kitchen_id = update.settings.id;
        let mut registry = self.registry();
        let Registry { kitchens, staff, .. } = &mut *registry;
        let kitchen = kitchens.entry(kitchen_id).or_default();
        if update.version <= kitchen.settings_version {
            return;
        }
        kitchen.settings_version = update.version;
        if let Ok(zone) = update.settings.time_zone.parse() {
            kitchen.clock = Some(KitchenClock::new(zone));
        }
        let frame = encode(&Notification::KitchenUpdated { kitchen: update.settings.clone() });
        broadcast(&mut kitchen.admins, std::slice::from_ref(&frame), &self.shared);
        to_kitchen_staff(staff, kitchen_id, &frame, self.shared.queue_capacity, &self.shared.metrics);
    }

    /// Tells every ADMIN socket of the escalation's kitchen that an item waited too long.
    pub fn item_escalated(&self, escalation: &Escalation) {
        let frame = encode(&Notification::ItemEscalated(escalation.notice.clone()));
        let mut registry = self.registry();
        if let Some(kitchen) = registry.kitchens.get_mut(&escalation.kitchen_id) {
            broadcast(&mut kitchen.admins, std::slice::from_ref(&frame), &self.shared);
        }
    }

    /// Takes a kitchen's count of chefs online, if newer than what the hub has; when the count
    /// changed, the kitchen's STAFF sockets are told (`CHEFS_ONLINE`).
    pub fn set_chefs_online(&self, online: ChefsOnline) {
        let mut registry = self.registry();
        let Registry { kitchens, staff, .. } = &mut *registry;
        let kitchen = kitchens.entry(online.kitchen_id).or_default();
        if online.version <= kitchen.chefs_online.version {
            return;
        }
        let changed = kitchen.chefs_online.count != online.count;
        kitchen.chefs_online = ChefsOnlineCount { count: online.count, version: online.version };
        if !changed {
            return;
        }
        let timestamp = kitchen.clock.map(|clock| clock.now_formatted()).unwrap_or_default();
        let frame = encode(&Notification::ChefsOnline { count: online.count, timestamp });
        to_kitchen_staff(staff, online.kitchen_id, &frame, self.shared.queue_capacity, &self.shared.metrics);
    }

    /// The count of chefs online in a kitchen the hub has.
    pub fn chefs_online(&self, kitchen_id: KitchenId) -> i64 {
        self.registry().kitchens.get(&kitchen_id).map_or(0, |kitchen| kitchen.chefs_online.count)
    }

    /// Admits a write that may broadcast: waits while the fan-out is too far behind, then
    /// holds a place until the admission is dropped (after the write). Creates and reviews
    /// call this first, so that under load writers slow down to the pace of the fan-out
    /// instead of overflowing the queues of sockets that read fine. At ordinary rates it
    /// admits at once.
    pub async fn admit_write(&self) -> Admission {
        self.shared.pacer.admit(self.shared.fan_out_load_limit).await
    }

    /// The counts of a kitchen the hub has published last, while they are current (the
    /// kitchen has a socket here whose counts were read); `None` otherwise, when its next
    /// ADMIN socket reads them.
    pub fn current_counts(&self, kitchen_id: KitchenId) -> Option<PendingCounts> {
        let registry = self.registry();
        registry.kitchens.get(&kitchen_id).filter(|kitchen| kitchen.counts_current).map(|kitchen| kitchen.counts)
    }

    /// How many sockets are registered, in every kitchen: `(admin, staff)`.
    pub fn socket_counts(&self) -> (usize, usize) {
        let registry = self.registry();
        (registry.kitchens.values().map(|kitchen| kitchen.admins.len()).sum(), registry.staff.len())
    }

    /// Closes every socket with 1001, refuses new ones, and waits until every socket task
    /// has finished (each sends its close frame first).
    pub async fn shut_down(&self) {
        {
            let mut registry = self.registry();
            registry.closed = true;
            for kitchen in registry.kitchens.values_mut() {
                for (_, socket) in kitchen.admins.drain() {
                    socket.close(CloseReason::SHUTDOWN);
                }
            }
            for (_, socket) in registry.staff.drain() {
                socket.close(CloseReason::SHUTDOWN);
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
fn close_if_ended(handle: &SocketHandle, reason: Option<CloseReason>) -> bool {
    match reason {
        Some(reason) => {
            handle.outbox.close(reason);
            false
        }
        None => true,
    }
}
