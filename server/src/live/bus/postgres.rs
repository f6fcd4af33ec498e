//! The PostgreSQL side of the bus: one LISTEN connection per process, for committed events,
//! STAFF session claims and ended sessions.
//!
//! A notification carries only ids: an event's kitchen and `seq` as `kitchen:seq` (the event
//! itself is written to the `event_log` table in the same transaction), or a user id (whose
//! newest claim is in `staff_session_latest`). The listener reads what happened from those tables. Any database
//! role may NOTIFY on any channel, but only the server's role writes the tables, so a forged
//! notification can at most make a process read again; it cannot invent an event, freeze the
//! counts with a huge `seq`, or close sessions with a huge claim.
//!
//! After every (re)connection the listener first LISTENs, then reads every kitchen's counts and
//! the latest STAFF claims and hands them to the hub, so a change committed while it was cut off still
//! reaches the dashboards as a count, a session replaced meanwhile is still closed, and
//! nothing committed after the read can be missed.

use crate::{
    event::Event,
    hub::Hub,
    metrics::BusMetrics,
    store::{Announcement, Store, StoreError},
};
use sqlx::{postgres::PgListener, AnyConnection};
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::sync::{watch, Notify};

/// The channel that carries committed events between server processes.
const EVENT_CHANNEL: &str = "miseos_events";
/// The channel that carries STAFF session claims between server processes.
const SESSION_CHANNEL: &str = "miseos_sessions";
/// The channel that says sessions ended (its payload, a user id, is only logged).
const SESSIONS_ENDED_CHANNEL: &str = "miseos_sessions_ended";

/// Queues `announcement` on its channel inside the caller's transaction (logging an event
/// first): PostgreSQL sends it to every listener when, and only if, that transaction commits.
pub(super) async fn notify(connection: &mut AnyConnection, announcement: Announcement<'_>) -> Result<(), sqlx::Error> {
    let (channel, ids) = match announcement {
        Announcement::Event(event) => {
            let payload = serde_json::to_string(event).map_err(|error| sqlx::Error::Encode(error.into()))?;
            Store::log_event(connection, event, &payload).await?;
            (EVENT_CHANNEL, format!("{}:{}", event.kitchen_id, event.seq()))
        }
        Announcement::Claim(claim) => (SESSION_CHANNEL, claim.user_id.to_string()),
        Announcement::SessionsEnded { user_id } => (SESSIONS_ENDED_CHANNEL, user_id.to_string()),
    };
    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(ids).execute(connection).await?;
    Ok(())
}

/// The kitchen and `seq` an event notification names (`kitchen:seq`).
fn event_ids(payload: &str) -> Option<(i64, i64)> {
    let (kitchen, seq) = payload.split_once(':')?;
    Some((kitchen.parse().ok()?, seq.parse().ok()?))
}

/// How long logged events are kept: far longer than a listener takes to read one.
const EVENT_LOG_KEPT_MS: i64 = 10 * 60 * 1000;
/// How often the listener prunes the event log.
const EVENT_LOG_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// First and largest wait between reconnection attempts.
const RECONNECT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Whether this process currently hears the other processes' events.
#[derive(Clone, Default)]
pub struct ListenerHealth {
    listening: Arc<AtomicBool>,
}

impl ListenerHealth {
    /// True while the LISTEN connection is up.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    fn set(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
    }
}

/// Connects the listener (failing start-up if PostgreSQL cannot be reached) and keeps it
/// running, reconnecting with backoff, until `shutdown` turns true.
pub async fn start_listener(
    store: Store,
    database_url: &str,
    hub: Hub,
    sessions_ended: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    metrics: BusMetrics,
) -> Result<ListenerHealth, StoreError> {
    let health = ListenerHealth::default();
    let first = listen(&store, database_url, &hub, &health).await?;
    let url = database_url.to_string();
    let task_health = health.clone();
    tokio::spawn(async move {
        let mut listener = Some(first);
        let mut backoff = RECONNECT_BACKOFF.0;
        loop {
            match listener.take() {
                Some(mut connected) => {
                    backoff = RECONNECT_BACKOFF.0;
                    tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => return,
                        () = relay(&mut connected, &store, &hub, &sessions_ended, &metrics) => {}
                    }
                    task_health.set(false);
                    metrics.reconnects.inc();
                    tracing::warn!("lost the PostgreSQL LISTEN connection; reconnecting");
                }
                None => {
                    tokio::select! {
                        _ = shutdown.wait_for(|stop| *stop) => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    match listen(&store, &url, &hub, &task_health).await {
                        Ok(connected) => {
                            tracing::info!("PostgreSQL LISTEN connection restored");
                            // Sessions may have ended while we were not listening.
                            sessions_ended.notify_one();
                            listener = Some(connected);
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot reconnect the PostgreSQL listener");
                            backoff = (backoff * 2).min(RECONNECT_BACKOFF.1);
                        }
                    }
                }
            }
        }
    });
    Ok(health)
}

/// A listening connection, after the hub has been brought up to date: the counts, and the
/// STAFF claims made elsewhere (which close this process's replaced sessions).
///
/// The process reports itself ready before the hub sends anything, so a client that gets
/// the resent counts never finds `/readyz` still at 503.
async fn listen(
    store: &Store,
    database_url: &str,
    hub: &Hub,
    health: &ListenerHealth,
) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen_all([EVENT_CHANNEL, SESSION_CHANNEL, SESSIONS_ENDED_CHANNEL]).await?;
    let counts = store.all_pending_counts().await?;
    let claims = store.latest_staff_claims().await?;
    health.set(true);
    for (kitchen_id, counts) in counts {
        hub.resync(kitchen_id, counts);
    }
    for claim in claims {
        hub.apply_claim(claim.user_id, claim.claim);
    }
    Ok(listener)
}

/// Hands what every notification names to the hub (or, for ended sessions, wakes the
/// session watcher) until the connection is lost. Events are read one at a time, so they
/// reach the hub in commit order.
async fn relay(listener: &mut PgListener, store: &Store, hub: &Hub, sessions_ended: &Notify, metrics: &BusMetrics) {
    let mut last_prune = tokio::time::Instant::now();
    loop {
        let notification = match listener.try_recv().await {
            Ok(Some(notification)) => notification,
            Ok(None) | Err(_) => return,
        };
        metrics.notifications_received.inc();
        let payload = notification.payload();
        let handled = match (notification.channel(), payload.parse::<i64>()) {
            (SESSIONS_ENDED_CHANNEL, _) => {
                sessions_ended.notify_one();
                Ok(())
            }
            (SESSION_CHANNEL, Ok(user_id)) => store.latest_staff_claim(user_id).await.map(|claim| match claim {
                Some(claim) => hub.apply_claim(claim.user_id, claim.claim),
                None => tracing::warn!(user = user_id, "ignoring a session claim the database does not have"),
            }),
            (EVENT_CHANNEL, _) => match event_ids(payload) {
                Some((kitchen_id, seq)) => store.logged_event(kitchen_id, seq).await.map(|logged| {
                    match logged.map(|text| serde_json::from_str::<Event>(&text)) {
                        Some(Ok(event)) => hub.publish(&event),
                        Some(Err(error)) => tracing::error!(%error, "ignoring an event this version cannot read"),
                        None => tracing::warn!(
                            kitchen = kitchen_id,
                            seq,
                            "ignoring a notification of an event the database does not have"
                        ),
                    }
                }),
                None => {
                    tracing::warn!(payload, "ignoring an event notification that names no event");
                    Ok(())
                }
            },
            (channel, _) => {
                tracing::warn!(channel, payload, "ignoring a notification that names no id");
                Ok(())
            }
        };
        if let Err(error) = handled {
            // Reconnecting resynchronises the counts and claims from the database.
            tracing::warn!(%error, "cannot read what a notification names; reconnecting");
            return;
        }
        if last_prune.elapsed() >= EVENT_LOG_PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            if let Err(error) = store.prune_event_log(crate::store::now_millis() - EVENT_LOG_KEPT_MS).await {
                tracing::warn!(%error, "cannot prune the event log");
            }
        }
    }
}
