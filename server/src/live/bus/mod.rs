//! The bus: a transport for what the store commits. It is the store's [`AnnouncementSink`]
//! and hands every announcement, from this process or any other, to one [`Handler`]: it
//! never names the hub (as centrifuge's broker calls back through its event handler).
//!
//! - In one process (SQLite): nothing to stage; a committed announcement goes straight to
//!   the handler. The store runs one SQLite write at a time, up to and including this
//!   hand-over, so events reach the handler in commit order.
//! - PostgreSQL ([`postgres`]): each announcement is staged as a `pg_notify` inside its
//!   transaction (an event is also written to the event log); a listener in each process
//!   receives them (PostgreSQL delivers notifications in commit order, and only for committed
//!   transactions) and hands what they name to the handler. A process hears its own events and
//!   claims the same way, so `committed` delivers only its endings, at once.
//! - The command line serves nothing: it stages the NOTIFY of what it changes on PostgreSQL,
//!   and nothing else.
//!
//! Session endings also have a place in the database's order of endings. Whatever the
//! backend, the bus follows that order ([`EndingsFollower`]): it reads the endings after the
//! last it has handed over whenever a notification says there are some, and every half
//! second besides. That is how a change made by the command line reaches a SQLite server, and how a
//! process that missed a notification catches up, whatever any process's clock says.

mod postgres;

use crate::{
    event::{Announcement, ChefsOnline, Escalation, Event, KitchenUpdate, PendingCounts, SessionsEnded, StaffClaim},
    metrics::BusMetrics,
    store::{AnnouncementSink, Backend, Store, StoreError},
};
use app::wire::KitchenId;
use futures::future::BoxFuture;
use sqlx::AnyConnection;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::sync::Notify;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Where the bus hands what it carries: implemented once, beside the hub.
pub trait Handler: Send + Sync + 'static {
    /// Whether this process wants the kitchen's events and escalations (it has a socket of
    /// the kitchen): the listener reads those of no other kitchen (docs/SCALING.md, step 1).
    fn wants(&self, kitchen: KitchenId) -> bool;
    /// A committed change of a kitchen's items; each kitchen's in `seq` order.
    fn event(&self, event: &Event);
    /// A kitchen's counts as read from the database after a listener reconnected: whatever
    /// was missed meanwhile.
    fn resync(&self, kitchen: KitchenId, counts: PendingCounts);
    /// A new STAFF socket claim, from any process.
    fn claim(&self, claim: StaffClaim);
    /// Sessions that ended, from any process; possibly more than once.
    fn sessions_ended(&self, ended: &SessionsEnded);
    /// A kitchen's count of chefs online as of its presence version, from any process;
    /// possibly more than once, and not always in version order.
    fn chefs_online(&self, online: ChefsOnline);
    /// A kitchen's settings as of their version, from any process; possibly more than once,
    /// and not always in version order.
    fn kitchen_updated(&self, update: &KitchenUpdate);
    /// An item escalated for waiting too long, from any process; once.
    fn item_escalated(&self, escalation: &Escalation);
}

/// How often the bus reads the endings it may have missed, notified or not.
const ENDINGS_EVERY: Duration = Duration::from_millis(500);

/// How committed announcements travel. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    /// `None` for a process that serves nothing (the command line).
    handler: Option<Arc<dyn Handler>>,
    /// Whether this process hears the others (always, but on PostgreSQL while LISTEN is up).
    listening: AtomicBool,
}

impl Bus {
    /// Starts the bus for `store`'s database, handing what it carries to `handler`: on
    /// PostgreSQL connects the listener (failing start-up if it cannot), and on either
    /// database follows the endings. Its tasks run on `tasks` until `stop` is cancelled.
    pub async fn start(
        store: &Store,
        database_url: &str,
        handler: Arc<dyn Handler>,
        metrics: BusMetrics,
        tasks: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<Bus, StoreError> {
        let bus = Bus {
            inner: Arc::new(Inner {
                backend: store.backend(),
                handler: Some(handler.clone()),
                listening: AtomicBool::new(true),
            }),
        };
        let endings = EndingsFollower::start(store, handler.clone(), tasks, stop.clone()).await?;
        if store.backend() == Backend::Postgres {
            postgres::start_listener(store.clone(), database_url, bus.clone(), endings, metrics, tasks, stop).await?;
        }
        Ok(bus)
    }

    /// The bus of a process that serves nothing (the command line): it stages what it
    /// changes for the servers to hear.
    pub fn outside(backend: Backend) -> Bus {
        Bus { inner: Arc::new(Inner { backend, handler: None, listening: AtomicBool::new(true) }) }
    }

    /// Whether events are flowing: always in one process, for PostgreSQL while the LISTEN
    /// connection is up.
    pub fn is_connected(&self) -> bool {
        self.inner.listening.load(Ordering::Acquire)
    }

    fn set_listening(&self, listening: bool) {
        self.inner.listening.store(listening, Ordering::Release);
    }

    fn handler(&self) -> Option<&dyn Handler> {
        self.inner.handler.as_deref()
    }
}

impl AnnouncementSink for Bus {
    fn stage<'a>(
        &'a self,
        connection: &'a mut AnyConnection,
        announcement: &'a Announcement,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(async move {
            match self.inner.backend {
                Backend::Sqlite => Ok(()),
                Backend::Postgres => postgres::notify(connection, announcement).await,
            }
        })
    }

    fn committed(&self, announcement: &Announcement) {
        let Some(handler) = self.handler() else { return };
        match (self.inner.backend, announcement) {
            (Backend::Sqlite, Announcement::Event(event)) => handler.event(event),
            (Backend::Sqlite, Announcement::Claim(claim)) => handler.claim(*claim),
            (Backend::Sqlite, Announcement::ChefsOnline(online)) => handler.chefs_online(*online),
            (Backend::Sqlite, Announcement::KitchenUpdated(update)) => handler.kitchen_updated(update),
            (Backend::Sqlite, Announcement::ItemEscalated(escalation)) => handler.item_escalated(escalation),
            // This process's own endings take effect here at once, on either database (the
            // others hear them through the bus; hearing them again is harmless).
            (_, Announcement::SessionsEnded(ended)) => handler.sessions_ended(ended),
            // PostgreSQL: the listener hears this process's events, claims, presence, settings
            // and escalations in commit order.
            (
                Backend::Postgres,
                Announcement::Event(_)
                | Announcement::Claim(_)
                | Announcement::ChefsOnline(_)
                | Announcement::KitchenUpdated(_)
                | Announcement::ItemEscalated(_),
            ) => {}
        }
    }
}

/// Follows the database's order of endings: hands every ending after the last it handed over
/// to the handler, when told there are some ([`EndingsFollower::look_now`]) and every half second.
#[derive(Clone)]
pub(super) struct EndingsFollower {
    wake: Arc<Notify>,
}

impl EndingsFollower {
    /// Starts following from the newest ending now (this process has cached no session yet,
    /// so none before matters to it).
    async fn start(
        store: &Store,
        handler: Arc<dyn Handler>,
        tasks: &TaskTracker,
        stop: CancellationToken,
    ) -> Result<EndingsFollower, StoreError> {
        let mut read_up_to = store.newest_ending().await?;
        let wake = Arc::new(Notify::new());
        let follower = EndingsFollower { wake: wake.clone() };
        let store = store.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(ENDINGS_EVERY) => {}
                }
                match store.endings_after(read_up_to).await {
                    Ok(endings) => {
                        for ended in &endings {
                            handler.sessions_ended(ended);
                            read_up_to = read_up_to.max(ended.seq);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot read the session endings; trying again"),
                }
            }
        });
        Ok(follower)
    }

    /// Reads the endings at once (a notification said there are new ones).
    pub(super) fn look_now(&self) {
        self.wake.notify_one();
    }
}
