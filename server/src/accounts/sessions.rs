//! Which server-side sessions are live, checked on every REST request without a database
//! round trip.
//!
//! Each process keeps the sessions it has seen in a map. A request whose session is cached,
//! live and recently used costs one lookup; anything else (first use here, long unused, a
//! temporary password not yet changed) reads the session's row. Endings are pushed, not
//! polled per request:
//!
//! - a change made by this process marks its ended sessions at once and closes their sockets;
//! - a watcher task reads the sessions ended in the last few seconds, every half second and
//!   at once when the bus reports an ending (PostgreSQL's NOTIFY from another process). That
//!   read is also how a change made by the command line reaches a running SQLite server.
//!
//! Idle expiry: uses are counted in memory and written back every `flush interval` (a tenth
//! of the idle time, at most a minute). A session is expired only when neither this process
//! nor the database has seen it used for the idle time plus that interval and one watcher
//! tick, so a session busy on another process is never expired early.

use crate::{
    auth::{AuthUser, SessionId},
    bus::Bus,
    hub::Hub,
    store::{now_millis, EndReason, Store, StoreError},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use tokio::sync::{watch, Notify};

/// How often the watcher looks for ended and idle sessions.
const WATCH_TICK: Duration = Duration::from_millis(500);
/// How far before its last successful read the watcher reads endings again: enough to cover
/// a slow commit or clocks a few seconds apart between processes (keep them in sync with
/// NTP); the cache makes re-reading an ending harmless. After a failed read (the database
/// away) the next one reaches back to the last that succeeded, so no ending is skipped.
const ENDINGS_OVERLAP_MS: i64 = 15_000;
/// How long an ended session stays cached (its token keeps getting the right 401 reason
/// from memory meanwhile; afterwards, from the database).
const ENDED_KEPT_MS: i64 = 60_000;
/// How long failed sign-ins are remembered: the longest throttling window.
const FAILURES_KEPT_MS: i64 = 15 * 60 * 1000;

/// Why a token's session does not admit it.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The session ended; the reason is told to the caller.
    #[error("{}", .0.message())]
    Ended(EndReason),
    /// No such session, or it belongs to someone else.
    #[error("invalid token")]
    Unknown,
    /// The database could not be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a live session may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Signed in with a temporary password that has not been changed yet.
    pub must_change_password: bool,
}

#[derive(Clone, Copy, Debug)]
struct Cached {
    user_id: i64,
    /// The user's kitchen: a token naming another is not one this server issued.
    kitchen_id: i64,
    ended: Option<EndReason>,
    /// Unix ms: last use seen by this process.
    last_used: i64,
    /// Unix ms: the last use written to the database.
    flushed: i64,
    /// Unix ms: when this process learnt the session ended.
    ended_seen: i64,
    must_change_password: bool,
}

struct Inner {
    store: Store,
    hub: Hub,
    bus: Bus,
    idle_ms: i64,
    flush_ms: i64,
    cache: Mutex<HashMap<SessionId, Cached>>,
    wake: Arc<Notify>,
}

/// The session registry of this process. Cheap to clone.
#[derive(Clone)]
pub struct Sessions(Arc<Inner>);

impl Sessions {
    /// A registry expiring sessions unused for `idle`; `wake` is notified by the bus when
    /// another process ended sessions.
    pub fn new(store: Store, hub: Hub, bus: Bus, idle: Duration, wake: Arc<Notify>) -> Sessions {
        let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX / 4).max(1);
        let flush_ms = (idle_ms / 10).clamp(100, 60_000);
        Sessions(Arc::new(Inner { store, hub, bus, idle_ms, flush_ms, cache: Mutex::new(HashMap::new()), wake }))
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<SessionId, Cached>> {
        // Every critical section is a map update that cannot panic half-way.
        self.0.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long past the idle time a session is kept, for uses not yet written back.
    fn idle_grace_ms(&self) -> i64 {
        self.0.idle_ms + self.0.flush_ms + i64::try_from(WATCH_TICK.as_millis()).unwrap_or(500)
    }

    /// Admits `user`'s request if its session is live, and counts it as a use.
    pub async fn check(&self, user: &AuthUser) -> Result<Standing, Refusal> {
        let now = now_millis();
        let local_last_used = {
            let mut cache = self.cache();
            match cache.get_mut(&user.session) {
                Some(Cached { ended: Some(reason), .. }) => return Err(Refusal::Ended(*reason)),
                Some(cached) if cached.user_id != user.id || cached.kitchen_id != user.kitchen_id => {
                    return Err(Refusal::Unknown)
                }
                Some(cached) if !cached.must_change_password && now - cached.last_used <= self.0.idle_ms => {
                    cached.last_used = now;
                    return Ok(Standing { must_change_password: false });
                }
                Some(cached) => Some(cached.last_used),
                None => None,
            }
        };
        let stored = self.0.store.session(user.session).await?.ok_or(Refusal::Unknown)?;
        // The kitchen of a token is its user's; a token that says otherwise was not ours.
        if stored.user_id != user.id || stored.kitchen_id != user.kitchen_id {
            return Err(Refusal::Unknown);
        }
        if let Some(reason) = stored.ended {
            self.mark_ended(&[(user.session, reason)], now);
            return Err(Refusal::Ended(reason));
        }
        let last_seen = stored.last_seen_at.max(local_last_used.unwrap_or(i64::MIN));
        if now - last_seen > self.idle_grace_ms() {
            let expired = self
                .0
                .store
                .expire_sessions(&[(user.session, user.id)], now - self.idle_grace_ms(), &self.0.bus)
                .await?;
            if !expired.is_empty() {
                self.ended_here(&[(user.session, EndReason::Expired)]);
                return Err(Refusal::Ended(EndReason::Expired));
            }
        }
        let mut cache = self.cache();
        let cached = cache.entry(user.session).or_insert(Cached {
            user_id: user.id,
            kitchen_id: user.kitchen_id,
            ended: None,
            last_used: now,
            flushed: stored.last_seen_at,
            ended_seen: 0,
            must_change_password: stored.must_change_password,
        });
        if let Some(reason) = cached.ended {
            // Ended while the row was being read.
            return Err(Refusal::Ended(reason));
        }
        cached.last_used = now;
        cached.must_change_password = stored.must_change_password;
        Ok(Standing { must_change_password: stored.must_change_password })
    }

    /// Caches a session just started by a sign-in on this process.
    pub fn started(&self, session: SessionId, user: &app::wire::User, must_change_password: bool) {
        let now = now_millis();
        self.cache().insert(
            session,
            Cached {
                user_id: user.id,
                kitchen_id: user.kitchen_id,
                ended: None,
                last_used: now,
                flushed: now,
                ended_seen: 0,
                must_change_password,
            },
        );
    }

    /// The session's password was changed by its own user: it may do everything again.
    pub fn password_changed(&self, session: SessionId) {
        if let Some(cached) = self.cache().get_mut(&session) {
            cached.must_change_password = false;
        }
    }

    /// Sessions this process just ended: refused from now on, their sockets closed. (Other
    /// processes hear of it through the bus.)
    pub fn ended_here(&self, ended: &[(SessionId, EndReason)]) {
        self.mark_ended(ended, now_millis());
    }

    /// Why `session` ended, if this process knows it did. Checked once more after a socket
    /// registers, so an ending that raced the registration still closes it.
    pub fn ended_reason(&self, session: SessionId) -> Option<EndReason> {
        self.cache().get(&session).and_then(|cached| cached.ended)
    }

    /// Marks sessions ended and closes the sockets of those not already known to be.
    fn mark_ended(&self, ended: &[(SessionId, EndReason)], now: i64) {
        let mut newly_ended = Vec::new();
        {
            let mut cache = self.cache();
            for &(session, reason) in ended {
                match cache.get_mut(&session) {
                    Some(Cached { ended: Some(_), .. }) => {}
                    Some(cached) => {
                        cached.ended = Some(reason);
                        cached.ended_seen = now;
                        newly_ended.push((session, reason));
                    }
                    None => {
                        cache.insert(
                            session,
                            Cached {
                                user_id: 0,
                                kitchen_id: 0,
                                ended: Some(reason),
                                last_used: now,
                                flushed: now,
                                ended_seen: now,
                                must_change_password: false,
                            },
                        );
                        newly_ended.push((session, reason));
                    }
                }
            }
        }
        if !newly_ended.is_empty() {
            self.0.hub.end_sessions(&newly_ended);
        }
    }

    /// Runs the watcher until `shutdown` turns true.
    pub fn spawn_watcher(&self, mut shutdown: watch::Receiver<bool>) {
        let sessions = self.clone();
        tokio::spawn(async move {
            let mut last_prune = now_millis();
            let mut read_since = now_millis() - ENDINGS_OVERLAP_MS;
            loop {
                tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => return,
                    () = sessions.0.wake.notified() => {}
                    () = tokio::time::sleep(WATCH_TICK) => {}
                }
                if let Err(error) = sessions.watch_once(&mut read_since, &mut last_prune).await {
                    tracing::warn!(%error, "cannot check sessions; trying again");
                }
            }
        });
    }

    /// One round of the watcher: endings from anywhere, writing uses back, idle expiry.
    async fn watch_once(&self, read_since: &mut i64, last_prune: &mut i64) -> Result<(), StoreError> {
        let now = now_millis();
        let ended = self.0.store.sessions_ended_since(*read_since).await?;
        *read_since = now - ENDINGS_OVERLAP_MS;
        self.mark_ended(&ended, now);
        // Uses are written before anything is expired, so a failure to expire cannot keep
        // this process's uses from the others.
        self.flush_uses(now).await?;
        self.expire_idle(now).await?;
        if now - *last_prune >= 60_000 {
            *last_prune = now;
            self.cache().retain(|_, cached| cached.ended.is_none() || now - cached.ended_seen < ENDED_KEPT_MS);
            self.0.store.prune_failures(now - FAILURES_KEPT_MS).await?;
        }
        Ok(())
    }

    /// Expires the cached sessions unused for longer than the idle time, here and (as far as
    /// the database knows) everywhere else.
    async fn expire_idle(&self, now: i64) -> Result<(), StoreError> {
        let cutoff = now - self.idle_grace_ms();
        let stale: Vec<(SessionId, i64)> = self
            .cache()
            .iter()
            .filter(|(_, cached)| cached.ended.is_none() && cached.last_used < cutoff)
            .map(|(session, cached)| (*session, cached.user_id))
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        let expired = self.0.store.expire_sessions(&stale, cutoff, &self.0.bus).await?;
        let expired: Vec<_> = expired.into_iter().map(|session| (session, EndReason::Expired)).collect();
        self.mark_ended(&expired, now);
        // The others were used elsewhere (or ended otherwise): take in what the database saw.
        for (session, _) in stale {
            if self.ended_reason(session).is_none() {
                if let Some(stored) = self.0.store.session(session).await? {
                    if let Some(reason) = stored.ended {
                        self.mark_ended(&[(session, reason)], now);
                        continue;
                    }
                    let mut cache = self.cache();
                    if let Some(cached) = cache.get_mut(&session) {
                        cached.last_used = cached.last_used.max(stored.last_seen_at);
                        cached.flushed = cached.flushed.max(stored.last_seen_at);
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes back the uses of sessions not written for a flush interval.
    async fn flush_uses(&self, now: i64) -> Result<(), StoreError> {
        let due: Vec<(SessionId, i64)> = self
            .cache()
            .iter()
            .filter(|(_, cached)| {
                cached.ended.is_none() && cached.last_used > cached.flushed && now - cached.flushed >= self.0.flush_ms
            })
            .map(|(session, cached)| (*session, cached.last_used))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        self.0.store.touch_sessions(&due).await?;
        let mut cache = self.cache();
        for (session, last_used) in due {
            if let Some(cached) = cache.get_mut(&session) {
                cached.flushed = cached.flushed.max(last_used);
            }
        }
        Ok(())
    }
}
