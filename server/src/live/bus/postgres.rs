//! The PostgreSQL side of the bus: one LISTEN connection per process, for committed events,
//! STAFF socket claims, session endings, chefs' presence, kitchens' settings and escalations.
//!
//! A notification carries only ids: an event's kitchen and `seq` as `kitchen:seq` (the event
//! itself is written to the event log in the same transaction), a user id (whose newest claim
//! is in `staff_session_latest`), an ending's place in the order of endings, or a kitchen whose
//! presence changed (its count is in `chefs_online`) or whose settings changed (in `kitchens`),
//! or an escalated item as `kitchen:collection:id` (its `escalated_at` is set).
//! The listener
//! reads what happened from those tables (see `store::live_log` for why a notification is
//! never trusted beyond "look now").
//!
//! The relay takes every notification already received at once, in order, and collapses the
//! STAFF claims between two events into one read however many a reconnecting client made, so
//! a cook reconnecting in a loop costs the others at most one read per event. (Socket opens
//! are also rate-limited per user before anything is written: `MISEOS_MAX_SOCKET_OPENS_PER_MINUTE`.)
//!
//! Events and escalations are read only for the kitchens this process has a socket of
//! ([`Handler::wants`]); the hub reads a kitchen's counts when its first socket comes, after
//! taking the interest that makes the listener read its events (docs/SCALING.md, step 1).
//!
//! After every (re)connection the listener first LISTENs, then reads every kitchen's counts,
//! chefs online, settings and the latest STAFF claims and hands them to the handler, so a change committed while it
//! was cut off still reaches the dashboards as a count, a socket replaced meanwhile is still
//! closed, and nothing committed after the read can be missed.

use super::{Bus, EndingsFollower, Handler};
use crate::{
    event::{Announcement, Event, KitchenUpdate},
    metrics::BusMetrics,
    store::{now_millis, Store, StoreError},
};
use app::wire::{Category, KitchenId, UserId};
use sqlx::{
    postgres::{PgListener, PgNotification},
    AnyConnection,
};
use std::{collections::BTreeSet, time::Duration};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// The channel that carries committed events between server processes.
const EVENT_CHANNEL: &str = "miseos_events";
/// The channel that carries STAFF socket claims between server processes.
const CLAIM_CHANNEL: &str = "miseos_sessions";
/// The channel that says sessions ended (its payload, the ending's place, is only logged).
const ENDINGS_CHANNEL: &str = "miseos_sessions_ended";
/// The channel that names a kitchen whose chefs online changed.
const PRESENCE_CHANNEL: &str = "miseos_presence";
/// The channel that names a kitchen whose settings changed.
const KITCHEN_CHANNEL: &str = "miseos_kitchen";
/// The channel that names an escalated item.
const ESCALATION_CHANNEL: &str = "miseos_escalations";

/// How long logged events are kept: far longer than a listener takes to read one.
const EVENT_LOG_KEPT_MS: i64 = 10 * 60 * 1000;
/// How often the listener prunes the event log.
const EVENT_LOG_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// First and largest wait between reconnection attempts.
const RECONNECT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Queues `announcement` on its channel inside the caller's transaction (logging an event
/// first): PostgreSQL sends it to every listener when, and only if, that transaction commits.
pub(super) async fn notify(connection: &mut AnyConnection, announcement: &Announcement) -> Result<(), sqlx::Error> {
    let (channel, ids) = match announcement {
        Announcement::Event(event) => {
            let payload = serde_json::to_string(event).map_err(|error| sqlx::Error::Encode(error.into()))?;
            Store::log_event(connection, event, &payload).await?;
            (EVENT_CHANNEL, format!("{}:{}", event.kitchen_id, event.seq()))
        }
        Announcement::Claim(claim) => (CLAIM_CHANNEL, claim.user_id.to_string()),
        Announcement::SessionsEnded(ended) => (ENDINGS_CHANNEL, ended.seq.to_string()),
        Announcement::ChefsOnline(online) => (PRESENCE_CHANNEL, online.kitchen_id.to_string()),
        Announcement::KitchenUpdated(update) => (KITCHEN_CHANNEL, update.settings.id.to_string()),
        Announcement::ItemEscalated(escalation) => (
            ESCALATION_CHANNEL,
            format!(
                "{}:{}:{}",
                escalation.kitchen_id,
                escalation.notice.category.resource(),
                escalation.notice.request_id
            ),
        ),
    };
    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(ids).execute(connection).await?;
    Ok(())
}

/// The kitchen and `seq` an event notification names (`kitchen:seq`).
fn event_ids(payload: &str) -> Option<(KitchenId, i64)> {
    let (kitchen, seq) = payload.split_once(':')?;
    Some((KitchenId(kitchen.parse().ok()?), seq.parse().ok()?))
}

/// The kitchen, kind and id an escalation notification names (`kitchen:collection:id`).
fn escalation_ids(payload: &str) -> Option<(KitchenId, Category, i64)> {
    let mut parts = payload.splitn(3, ':');
    let kitchen = KitchenId(parts.next()?.parse().ok()?);
    let resource = parts.next()?;
    let category = Category::ALL.into_iter().find(|category| category.resource() == resource)?;
    Some((kitchen, category, parts.next()?.parse().ok()?))
}

/// Connects the listener (failing start-up if PostgreSQL cannot be reached) and keeps it
/// running on `tasks`, reconnecting with backoff, until `stop` is cancelled.
pub(super) async fn start_listener(
    store: Store,
    database_url: &str,
    bus: Bus,
    endings: EndingsFollower,
    metrics: BusMetrics,
    tasks: &TaskTracker,
    stop: CancellationToken,
) -> Result<(), StoreError> {
    let first = listen(&store, database_url, &bus).await?;
    let url = database_url.to_string();
    tasks.spawn(async move {
        let mut listener = Some(first);
        let mut backoff = RECONNECT_BACKOFF.0;
        loop {
            match listener.take() {
                Some(mut connected) => {
                    backoff = RECONNECT_BACKOFF.0;
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = relay(&mut connected, &store, &bus, &endings, &metrics) => {}
                    }
                    bus.set_listening(false);
                    metrics.reconnects.inc();
                    tracing::warn!("lost the PostgreSQL LISTEN connection; reconnecting");
                }
                None => {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    // A database that does not answer must not hold up stopping.
                    let listened = tokio::select! {
                        () = stop.cancelled() => return,
                        listened = listen(&store, &url, &bus) => listened,
                    };
                    match listened {
                        Ok(connected) => {
                            tracing::info!("PostgreSQL LISTEN connection restored");
                            // Sessions may have ended while we were not listening.
                            endings.look_now();
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
    Ok(())
}

/// A listening connection, after the handler has been brought up to date: the counts, and
/// the STAFF claims made elsewhere (which close this process's replaced sockets).
///
/// The process reports itself ready before the handler is told anything, so a client that
/// gets the resent counts never finds `/readyz` still at 503.
async fn listen(store: &Store, database_url: &str, bus: &Bus) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect(database_url).await?;
    listener
        .listen_all([
            EVENT_CHANNEL,
            CLAIM_CHANNEL,
            ENDINGS_CHANNEL,
            PRESENCE_CHANNEL,
            KITCHEN_CHANNEL,
            ESCALATION_CHANNEL,
        ])
        .await?;
    let counts = store.all_pending_counts().await?;
    let claims = store.latest_staff_claims().await?;
    let presence = store.all_chefs_online().await?;
    let settings = store.all_kitchen_settings().await?;
    bus.set_listening(true);
    if let Some(handler) = bus.handler() {
        for (kitchen_id, counts) in counts {
            handler.resync(kitchen_id, counts);
        }
        for claim in claims {
            handler.claim(claim);
        }
        for online in presence {
            handler.chefs_online(online);
        }
        for (settings, version) in settings {
            store.forget_clock(settings.id);
            handler.kitchen_updated(&KitchenUpdate { settings, version });
        }
    }
    Ok(listener)
}

/// Hands what the notifications name to the handler until the connection is lost.
async fn relay(listener: &mut PgListener, store: &Store, bus: &Bus, endings: &EndingsFollower, metrics: &BusMetrics) {
    let Some(handler) = bus.handler() else { return };
    let mut last_prune = tokio::time::Instant::now();
    let mut received = Vec::new();
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => received.push(notification),
            Ok(None) | Err(_) => return,
        }
        received.extend(std::iter::from_fn(|| listener.next_buffered()));
        metrics.notifications_received.inc_by(received.len() as u64);
        if let Err(error) = hand_over(received.drain(..), store, handler, endings, metrics).await {
            // Reconnecting resynchronises the counts and claims from the database.
            tracing::warn!(%error, "cannot read what a notification names; reconnecting");
            return;
        }
        if last_prune.elapsed() >= EVENT_LOG_PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            if let Err(error) = store.prune_event_log(now_millis() - EVENT_LOG_KEPT_MS).await {
                tracing::warn!(%error, "cannot prune the event log");
            }
        }
    }
}

/// Hands over what a batch of notifications names, in the order they came: each event in
/// turn (one kitchen's in `seq` order), and the claims between two events as one read of the
/// newest claim of each user they name, however many a reconnecting client made.
async fn hand_over(
    notifications: impl Iterator<Item = PgNotification>,
    store: &Store,
    handler: &dyn Handler,
    endings: &EndingsFollower,
    metrics: &BusMetrics,
) -> Result<(), StoreError> {
    let mut claimants = BTreeSet::new();
    for notification in notifications {
        let payload = notification.payload();
        match notification.channel() {
            EVENT_CHANNEL => {
                // A claim made before this event is applied before it: a decision committed
                // after a newer socket's claim must not reach the socket it replaced.
                hand_over_claims(&mut claimants, store, handler).await?;
                match event_ids(payload) {
                    Some((kitchen_id, _)) if !handler.wants(kitchen_id) => {
                        metrics.events_skipped.inc();
                    }
                    Some((kitchen_id, seq)) => match store.logged_event(kitchen_id, seq).await? {
                        Some(logged) => match serde_json::from_str::<Event>(&logged) {
                            Ok(event) => handler.event(&event),
                            Err(error) => tracing::error!(%error, "ignoring an event this version cannot read"),
                        },
                        None => tracing::warn!(
                            kitchen = %kitchen_id,
                            seq,
                            "ignoring a notification of an event the database does not have"
                        ),
                    },
                    None => tracing::warn!(payload, "ignoring an event notification that names no event"),
                }
            }
            CLAIM_CHANNEL => match payload.parse::<i64>() {
                Ok(user) => {
                    claimants.insert(UserId(user));
                }
                Err(_) => tracing::warn!(payload, "ignoring a claim notification that names no user"),
            },
            ENDINGS_CHANNEL => endings.look_now(),
            PRESENCE_CHANNEL => match payload.parse::<i64>() {
                Ok(kitchen) => {
                    if let Some(online) = store.chefs_online_in(KitchenId(kitchen)).await? {
                        handler.chefs_online(online);
                    }
                }
                Err(_) => tracing::warn!(payload, "ignoring a presence notification that names no kitchen"),
            },
            KITCHEN_CHANNEL => match payload.parse::<i64>() {
                Ok(kitchen) => match store.kitchen_settings_versioned(KitchenId(kitchen)).await {
                    Ok((settings, version)) => {
                        store.forget_clock(settings.id);
                        handler.kitchen_updated(&KitchenUpdate { settings, version });
                    }
                    Err(StoreError::NotFound) => {
                        tracing::warn!(
                            kitchen,
                            "ignoring a settings notification of a kitchen the database does not have"
                        );
                    }
                    Err(error) => return Err(error),
                },
                Err(_) => tracing::warn!(payload, "ignoring a settings notification that names no kitchen"),
            },
            ESCALATION_CHANNEL => match escalation_ids(payload) {
                Some((kitchen_id, ..)) if !handler.wants(kitchen_id) => {}
                Some((kitchen_id, category, id)) => match store.escalation(kitchen_id, category, id).await? {
                    Some(escalation) => handler.item_escalated(&escalation),
                    None => tracing::warn!(payload, "ignoring an escalation the database does not have"),
                },
                None => tracing::warn!(payload, "ignoring an escalation notification that names no item"),
            },
            channel => tracing::warn!(channel, payload, "ignoring a notification of an unknown channel"),
        }
    }
    hand_over_claims(&mut claimants, store, handler).await
}

/// Hands over the newest claim of each user gathered, with one read, and forgets them.
async fn hand_over_claims(
    claimants: &mut BTreeSet<UserId>,
    store: &Store,
    handler: &dyn Handler,
) -> Result<(), StoreError> {
    if claimants.is_empty() {
        return Ok(());
    }
    let users: Vec<UserId> = std::mem::take(claimants).into_iter().collect();
    for claim in store.latest_staff_claims_of(&users).await? {
        handler.claim(claim);
    }
    Ok(())
}
