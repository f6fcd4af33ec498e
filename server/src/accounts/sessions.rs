//! Which server-side sessions are live, checked on every request without a database round
//! trip.
//!
//! Each process keeps the sessions it has seen in a [`SessionCache`]. A request whose session
//! is cached, live and recently used costs one lookup; anything else (first use here, long
//! unused, a temporary password not yet changed) reads the session's row. Endings are pushed,
//! not polled per request: every ending is announced by the store once committed and reaches
//! this cache through the live road ([`SessionCache::ended`]), from this process at once and
//! from the others through the bus, which also catches up on endings it missed by their place
//! in the database's order.
//!
//! Upkeep ([`Sessions::keep_up`], a background task): uses are counted in memory and written
//! back in one statement every flush interval (a tenth of the idle time, at most a minute). A
//! session is expired only when neither this process nor the database has seen it used for
//! the idle time plus that interval and one upkeep tick, so a session busy on another process
//! is never expired early. Every minute the cached live sessions are read again, so a session
//! that ended by a way the road does not carry (a restore) is refused here too.

use super::{tokens::TokenHolder, Caller};
use crate::{
    event::{EndReason, SessionId},
    store::{now_millis, Store, StoreError},
};
use app::wire::{KitchenId, User, UserId};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use tokio_util::sync::CancellationToken;

/// How often upkeep runs.
const UPKEEP_TICK: Duration = Duration::from_millis(500);
/// How often the cached live sessions are checked against the database.
const RECHECK_EVERY_MS: i64 = 60_000;
/// Most sessions one read or write of the upkeep names (a statement's bind parameters stay
/// far below either database's limit).
const BATCH: usize = 500;
/// How long an ended session stays cached (its token keeps getting the right 401 reason
/// from memory meanwhile; afterwards, from the database).
const ENDED_KEPT_MS: i64 = 60_000;
/// How long failed sign-ins are remembered: the longest throttling window.
const FAILURES_KEPT_MS: i64 = 15 * 60 * 1000;

/// Why a token's session does not admit it.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The session ended; the reason is told to the caller.
    #[error("{}", .0.reason())]
    Ended(EndReason),
    /// No such session, or it belongs to someone else.
    #[error("invalid token")]
    Unknown,
    /// The database could not be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone, Copy, Debug)]
struct Cached {
    user: UserId,
    /// The user's kitchen: a token naming another is not one this server issued.
    kitchen: KitchenId,
    ended: Option<EndReason>,
    /// Unix ms: last use seen by this process.
    last_used: i64,
    /// Unix ms: the last use written to the database.
    flushed: i64,
    /// Unix ms: when this process learnt the session ended.
    ended_seen: i64,
    must_change_password: bool,
}

/// What else must happen when sessions end: their sockets close (the live road's part, given
/// as a function so accounts never names it).
pub type OnEnded = dyn Fn(&[(SessionId, EndReason)]) + Send + Sync;

/// The sessions this process has seen, live or recently ended. Cheap to clone; the live road
/// holds one to mark endings as they arrive.
#[derive(Clone)]
pub struct SessionCache {
    sessions: Arc<Mutex<HashMap<SessionId, Cached>>>,
    on_ended: Arc<OnEnded>,
}

impl SessionCache {
    /// An empty cache; `on_ended` is told of every session it learns has ended, once.
    pub fn new(on_ended: Arc<OnEnded>) -> SessionCache {
        SessionCache { sessions: Arc::default(), on_ended }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, Cached>> {
        // Every critical section is a map update that cannot panic half-way.
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks sessions ended: their tokens are refused from now on, with this reason, and
    /// those not known to have ended before are handed to `on_ended` (their sockets close),
    /// whichever way the ending was learnt (the live road, or a read of the database).
    pub fn ended(&self, endings: &[(SessionId, EndReason)]) {
        let now = now_millis();
        let mut newly_ended = Vec::new();
        {
            let mut cache = self.lock();
            for &(session, reason) in endings {
                let entry = cache.entry(session).or_insert(Cached {
                    user: UserId(0),
                    kitchen: KitchenId(0),
                    ended: None,
                    last_used: now,
                    flushed: now,
                    ended_seen: now,
                    must_change_password: false,
                });
                if entry.ended.is_none() {
                    entry.ended = Some(reason);
                    entry.ended_seen = now;
                    newly_ended.push((session, reason));
                }
            }
        }
        if !newly_ended.is_empty() {
            (self.on_ended)(&newly_ended);
        }
    }

    /// Why `session` ended, if this process knows it did. Checked once more after a socket
    /// registers, so an ending that raced the registration still closes it.
    pub fn ended_reason(&self, session: SessionId) -> Option<EndReason> {
        self.lock().get(&session).and_then(|cached| cached.ended)
    }
}

struct Inner {
    store: Store,
    cache: SessionCache,
    idle_ms: i64,
    flush_ms: i64,
}

/// The session registry of this process. Cheap to clone.
#[derive(Clone)]
pub struct Sessions(Arc<Inner>);

impl Sessions {
    /// A registry over `cache`, expiring sessions unused for `idle`. `store` announces the
    /// endings it writes (see [`Store::with_sink`]).
    pub fn new(store: Store, cache: SessionCache, idle: Duration) -> Sessions {
        let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX / 4).max(1);
        let flush_ms = (idle_ms / 10).clamp(100, 60_000);
        Sessions(Arc::new(Inner { store, cache, idle_ms, flush_ms }))
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<SessionId, Cached>> {
        self.0.cache.lock()
    }

    /// How long past the idle time a session is kept, for uses not yet written back.
    fn idle_grace_ms(&self) -> i64 {
        self.0.idle_ms + self.0.flush_ms + i64::try_from(UPKEEP_TICK.as_millis()).unwrap_or(500)
    }

    /// Admits the holder of a verified token if its session is live, counting this as a use:
    /// the caller, with whether they must change a temporary password first.
    pub async fn admit(&self, holder: TokenHolder) -> Result<Caller, Refusal> {
        let now = now_millis();
        let local_last_used = {
            let mut cache = self.cache();
            match cache.get_mut(&holder.session) {
                Some(Cached { ended: Some(reason), .. }) => return Err(Refusal::Ended(*reason)),
                Some(cached) if cached.user != holder.user || cached.kitchen != holder.kitchen => {
                    return Err(Refusal::Unknown)
                }
                Some(cached) if !cached.must_change_password && now - cached.last_used <= self.0.idle_ms => {
                    cached.last_used = now;
                    return Ok(Caller::new(holder, false));
                }
                Some(cached) => Some(cached.last_used),
                None => None,
            }
        };
        let stored = self.0.store.session(holder.session).await?.ok_or(Refusal::Unknown)?;
        // The kitchen of a token is its user's; a token that says otherwise was not ours.
        if stored.user_id != holder.user || stored.kitchen_id != holder.kitchen {
            return Err(Refusal::Unknown);
        }
        if let Some(reason) = stored.ended {
            self.0.cache.ended(&[(holder.session, reason)]);
            return Err(Refusal::Ended(reason));
        }
        let last_seen = stored.last_seen_at.max(local_last_used.unwrap_or(i64::MIN));
        if now - last_seen > self.idle_grace_ms() {
            // The ending is announced: this cache and the sockets hear of it through the road.
            let expired = self.0.store.expire_sessions(&[holder.session], now - self.idle_grace_ms()).await?;
            if !expired.is_empty() {
                return Err(Refusal::Ended(EndReason::Expired));
            }
        }
        let mut cache = self.cache();
        let cached = cache.entry(holder.session).or_insert(Cached {
            user: holder.user,
            kitchen: holder.kitchen,
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
        Ok(Caller::new(holder, stored.must_change_password))
    }

    /// Admits the holder like [`Sessions::admit`], but asks the database whether the session
    /// and its user are still live whatever this process has cached: for the rare calls that
    /// extend a session's life (a token refresh).
    pub async fn admit_checked(&self, holder: TokenHolder) -> Result<Caller, Refusal> {
        let session = holder.session;
        let stored = self.0.store.session(session).await?.ok_or(Refusal::Unknown)?;
        if let Some(reason) = stored.ended {
            self.0.cache.ended(&[(session, reason)]);
            return Err(Refusal::Ended(reason));
        }
        self.admit(holder).await
    }

    /// Caches a session just started by a sign-in on this process. An ending that came in
    /// between (a disable committed the moment the session's row was) is kept.
    pub fn started(&self, session: SessionId, user: &User, must_change_password: bool) {
        let now = now_millis();
        self.cache().entry(session).or_insert(Cached {
            user: user.id,
            kitchen: user.kitchen_id,
            ended: None,
            last_used: now,
            flushed: now,
            ended_seen: 0,
            must_change_password,
        });
    }

    /// The session's password was changed by its own user: it may do everything again.
    pub fn password_changed(&self, session: SessionId) {
        if let Some(cached) = self.cache().get_mut(&session) {
            cached.must_change_password = false;
        }
    }

    /// Why `session` ended, if this process knows it did.
    pub fn ended_reason(&self, session: SessionId) -> Option<EndReason> {
        self.0.cache.ended_reason(session)
    }

    /// Runs the upkeep until `stop` is cancelled: uses written back, idle sessions expired,
    /// cached sessions checked again, old entries, failed sign-ins and day-old idempotency
    /// keys forgotten.
    pub async fn keep_up(self, stop: CancellationToken) {
        let mut last_prune = now_millis();
        let mut last_recheck = now_millis();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(UPKEEP_TICK) => {}
            }
            if let Err(error) = self.upkeep_once(&mut last_recheck, &mut last_prune).await {
                tracing::warn!(%error, "cannot keep the sessions up to date; trying again");
            }
        }
    }

    /// One round of upkeep.
    async fn upkeep_once(&self, last_recheck: &mut i64, last_prune: &mut i64) -> Result<(), StoreError> {
        let now = now_millis();
        // Uses are written before anything is expired, so a failure to expire cannot keep
        // this process's uses from the others.
        self.flush_uses(now).await?;
        self.expire_idle(now).await?;
        if now - *last_recheck >= RECHECK_EVERY_MS {
            *last_recheck = now;
            let live: Vec<SessionId> =
                self.cache().iter().filter(|(_, cached)| cached.ended.is_none()).map(|(id, _)| *id).collect();
            self.take_in_stored(&live).await?;
        }
        if now - *last_prune >= 60_000 {
            *last_prune = now;
            self.cache().retain(|_, cached| cached.ended.is_none() || now - cached.ended_seen < ENDED_KEPT_MS);
            self.0.store.prune_failures(now - FAILURES_KEPT_MS).await?;
            self.0.store.prune_idempotency_keys().await?;
        }
        Ok(())
    }

    /// Expires the cached sessions unused for longer than the idle time, here and (as far as
    /// the database knows) everywhere else.
    async fn expire_idle(&self, now: i64) -> Result<(), StoreError> {
        let cutoff = now - self.idle_grace_ms();
        let stale: Vec<SessionId> = self
            .cache()
            .iter()
            .filter(|(_, cached)| cached.ended.is_none() && cached.last_used < cutoff)
            .map(|(session, _)| *session)
            .collect();
        for batch in stale.chunks(BATCH) {
            // What expires is announced, and reaches this cache through the road.
            let expired = self.0.store.expire_sessions(batch, cutoff).await?;
            // The others were used elsewhere (or ended otherwise): take in what the database saw.
            let others: Vec<SessionId> = batch.iter().copied().filter(|session| !expired.contains(session)).collect();
            self.take_in_stored(&others).await?;
        }
        Ok(())
    }

    /// Reads these sessions' rows and takes in what they say: an ending this process missed,
    /// a session the database no longer has, uses seen by other processes.
    async fn take_in_stored(&self, sessions: &[SessionId]) -> Result<(), StoreError> {
        for batch in sessions.chunks(BATCH) {
            let states = self.0.store.session_states(batch).await?;
            let mut endings = Vec::new();
            {
                let mut cache = self.cache();
                for session in batch {
                    match states.get(session) {
                        None => endings.push((*session, EndReason::Revoked)),
                        Some(state) => match state.ended {
                            Some(reason) => endings.push((*session, reason)),
                            None => {
                                if let Some(cached) = cache.get_mut(session) {
                                    cached.last_used = cached.last_used.max(state.last_seen_at);
                                    cached.flushed = cached.flushed.max(state.last_seen_at);
                                }
                            }
                        },
                    }
                }
            }
            self.0.cache.ended(&endings);
        }
        Ok(())
    }

    /// Writes back the uses of sessions not written for a flush interval, in batches of one
    /// statement each.
    async fn flush_uses(&self, now: i64) -> Result<(), StoreError> {
        let due: Vec<(SessionId, i64)> = self
            .cache()
            .iter()
            .filter(|(_, cached)| {
                cached.ended.is_none() && cached.last_used > cached.flushed && now - cached.flushed >= self.0.flush_ms
            })
            .map(|(session, cached)| (*session, cached.last_used))
            .collect();
        for batch in due.chunks(BATCH) {
            self.0.store.touch_sessions(batch).await?;
            let mut cache = self.cache();
            for (session, last_used) in batch {
                if let Some(cached) = cache.get_mut(session) {
                    cached.flushed = cached.flushed.max(*last_used);
                }
            }
        }
        Ok(())
    }
}
