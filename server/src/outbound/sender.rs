//! The outbox's sender: takes the pushes that are due and sends each, at most
//! [`MAX_IN_FLIGHT`] at once, so a slow push service holds up only the places its own pushes
//! take. Woken by every commit of this process that recorded a push, and every second besides
//! (a retry coming due, another process's push left when it died).
//!
//! A push is taken for a lease ([`LEASE`]); within it, the answer decides: accepted, it leaves
//! the outbox; its subscription gone (404, 410), the subscription goes; refused for good (any
//! other 4xx), it is dropped; otherwise (429, 5xx, no answer) it is tried again after the
//! service's `Retry-After`, or at most 5 s later, doubling, for up to 12 hours. A process that
//! dies mid-send leaves the push to be taken again when the lease ends: at least once.

use super::{
    guard::{NotPublic, OutboundRules},
    push::{audience, Outcome, SubscriptionKeys, VapidKey, TTL_SECONDS},
};
use crate::{
    metrics::PushMetrics,
    store::{DuePush, Store},
};
use rand_core::RngCore;
use std::{sync::Arc, time::Duration};
use tokio::{sync::Semaphore, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Pushes being sent at once, at most.
pub const MAX_IN_FLIGHT: usize = 64;

/// How long a taken push is left to the process that took it: the request's 10 s limit and
/// the time to record its answer, with room to spare.
const LEASE: Duration = Duration::from_secs(30);

/// How often the sender looks for pushes that came due without a wake-up.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// How long the VAPID key read from the database is used before it is read again: a key
/// replaced by `server push rotate-key` signs every process's pushes within this.
const KEY_READ_EVERY: Duration = Duration::from_secs(5);

/// The first retry waits at most this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(3_600);

/// A push not accepted within this long of its decision is given up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(12 * 3_600);

/// Most bytes of a push service's answer read (it is only ever logged).
const MAX_ANSWER_BYTES: usize = 4_096;

/// What every send needs.
struct Sender {
    store: Store,
    client: reqwest::Client,
    rules: OutboundRules,
    /// The VAPID JWT's `sub`: the operator's contact (`MISEOS_PUSH_SUBJECT`).
    subject: String,
    metrics: PushMetrics,
}

/// Starts the sender on `tasks`; it stops when `stop` is cancelled (pushes being sent finish
/// first: each is limited to 10 s).
pub fn start_push_sender(
    store: Store,
    rules: OutboundRules,
    subject: String,
    metrics: PushMetrics,
    tasks: &TaskTracker,
    stop: CancellationToken,
) {
    let sender = Arc::new(Sender { client: rules.client(), store, rules, subject, metrics });
    let sends = tasks.clone();
    tasks.spawn(async move { sender.run(&sends, stop).await });
}

impl Sender {
    async fn run(self: Arc<Self>, sends: &TaskTracker, stop: CancellationToken) {
        let places = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let wake = self.store.outbox_wake();
        let mut key = KeyInUse::default();
        loop {
            let first = tokio::select! {
                () = stop.cancelled() => return,
                place = places.clone().acquire_owned() => place.expect("the semaphore is never closed"),
            };
            let room = 1 + places.available_permits();
            let due = match self.take(room, &mut key).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "cannot take the pushes that are due; trying again");
                    drop(first);
                    if sleep_or_stop(LOOK_EVERY, &stop).await {
                        return;
                    }
                    continue;
                }
            };
            let Some((key, due)) = due else {
                drop(first);
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(LOOK_EVERY) => {}
                }
                continue;
            };
            let mut place = Some(first);
            for push in due {
                let place = match place.take() {
                    Some(place) => place,
                    // Counted as free before taking; only this loop takes places.
                    None => places.clone().acquire_owned().await.expect("the semaphore is never closed"),
                };
                let (sender, key) = (self.clone(), key.clone());
                sends.spawn(async move {
                    sender.send(&key, push).await;
                    drop(place);
                });
            }
        }
    }

    /// Takes at most `room` due pushes, with the VAPID key to sign them; `None` when nothing
    /// is due.
    async fn take(&self, room: usize, key: &mut KeyInUse) -> Result<Option<(Arc<VapidKey>, Vec<DuePush>)>, String> {
        let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let limit = i64::try_from(room).unwrap_or(1);
        let due = self.store.take_due_pushes(limit, lease_ms).await.map_err(|error| error.to_string())?;
        if due.is_empty() {
            return Ok(None);
        }
        Ok(Some((key.current(&self.store).await?, due)))
    }

    /// Sends one push and records what came of it.
    async fn send(&self, key: &VapidKey, push: DuePush) {
        let started = Instant::now();
        let result = self.attempt(key, &push).await;
        let age =
            Duration::from_millis(u64::try_from(push.taken_at - push.created_at).unwrap_or(0)) + started.elapsed();
        let recorded = match result {
            Attempt::Answered(Outcome::Delivered) => {
                self.metrics.delivered(age);
                self.store.finish_push(push.outbox_id).await
            }
            Attempt::Answered(Outcome::Gone) => {
                self.metrics.outcome("gone");
                self.store.forget_push_subscription(push.subscription_id).await
            }
            Attempt::Unsendable(why) => {
                tracing::warn!(subscription = push.subscription_id, why, "push subscription dropped");
                self.metrics.outcome("unsendable");
                self.store.forget_push_subscription(push.subscription_id).await
            }
            Attempt::Answered(Outcome::Refused) => {
                self.metrics.outcome("refused");
                self.store.finish_push(push.outbox_id).await
            }
            Attempt::Answered(Outcome::Retry { after }) => {
                let delay = after.unwrap_or_else(|| backoff(push.attempts)).min(GIVE_UP_AFTER);
                if age + delay > GIVE_UP_AFTER {
                    tracing::warn!(
                        subscription = push.subscription_id,
                        attempts = push.attempts,
                        "push given up after 12 hours"
                    );
                    self.metrics.outcome("expired");
                    self.store.finish_push(push.outbox_id).await
                } else {
                    self.metrics.outcome("retried");
                    self.store.retry_push(push.outbox_id, i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)).await
                }
            }
        };
        if let Err(error) = recorded {
            // The lease ends and the push is taken again: sent twice at worst.
            tracing::warn!(%error, outbox = push.outbox_id, "cannot record a push's answer");
        }
    }

    /// One request to the push service.
    async fn attempt(&self, key: &VapidKey, push: &DuePush) -> Attempt {
        let url = match self.rules.check(&push.endpoint) {
            Ok(url) => url,
            Err(why) => return Attempt::Unsendable(why),
        };
        let body = match SubscriptionKeys::parse(&push.p256dh, &push.auth)
            .and_then(|keys| keys.encrypt(push.payload.as_bytes()))
        {
            Ok(body) => body,
            Err(why) => return Attempt::Unsendable(why),
        };
        let authorization = match key.authorization(&audience(&url), &self.subject) {
            Ok(value) => value,
            Err(error) => return Attempt::Unsendable(format!("cannot sign the VAPID JWT: {error}")),
        };
        let request = self
            .client
            .post(url)
            .header("TTL", TTL_SECONDS)
            .header("Urgency", "high")
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body);
        let mut answer = match request.send().await {
            Ok(answer) => answer,
            Err(error) if NotPublic::caused(&error) => return Attempt::Unsendable(error.to_string()),
            Err(error) => {
                tracing::info!(subscription = push.subscription_id, %error, "push service unreachable; trying again");
                return Attempt::Answered(Outcome::Retry { after: None });
            }
        };
        let status = answer.status().as_u16();
        let retry_after = answer.headers().get("retry-after").and_then(|value| value.to_str().ok()).map(str::to_string);
        let outcome = Outcome::of(status, retry_after.as_deref());
        if outcome != Outcome::Delivered {
            let mut text = Vec::new();
            while let Ok(Some(chunk)) = answer.chunk().await {
                text.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - text.len())]);
                if text.len() >= MAX_ANSWER_BYTES {
                    break;
                }
            }
            tracing::info!(subscription = push.subscription_id, status, answer = %String::from_utf8_lossy(&text), "push not accepted");
        }
        Attempt::Answered(outcome)
    }
}

/// The VAPID key the sender signs with, read from the database again every
/// [`KEY_READ_EVERY`] (`server push rotate-key` may have replaced it).
#[derive(Default)]
struct KeyInUse {
    key: Option<(Arc<VapidKey>, Instant)>,
}

impl KeyInUse {
    async fn current(&mut self, store: &Store) -> Result<Arc<VapidKey>, String> {
        if let Some((key, read_at)) = &self.key {
            if read_at.elapsed() < KEY_READ_EVERY {
                return Ok(key.clone());
            }
        }
        let stored = store.push_key().await.map_err(|error| error.to_string())?.ok_or("no VAPID key")?;
        let key = match self.key.take() {
            Some((key, _)) if key.is(&stored) => key,
            _ => Arc::new(VapidKey::from_stored(&stored)?),
        };
        self.key = Some((key.clone(), Instant::now()));
        Ok(key)
    }
}

/// What one attempt came to.
enum Attempt {
    /// The push service answered (or could not be reached: a retry).
    Answered(Outcome),
    /// The push can never be sent to this subscription (its endpoint no longer passes the
    /// rules, its keys are unusable).
    Unsendable(String),
}

/// How long to wait before attempt `attempts + 1` when the service named no time: 5 s, 10 s,
/// 20 s, … up to an hour, each a random time between half that and that, so pushes that
/// failed together do not all come back together.
fn backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let full = FIRST_BACKOFF.saturating_mul(1u32 << doublings).min(MAX_BACKOFF);
    let half = full / 2;
    let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_millis(rand_core::OsRng.next_u64() % spread)
}

/// Sleeps for `period`; whether `stop` came first.
async fn sleep_or_stop(period: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = stop.cancelled() => true,
        () = tokio::time::sleep(period) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_within_five_seconds_and_double_up_to_an_hour() {
        for _ in 0..100 {
            let first = backoff(1);
            assert!(first >= Duration::from_millis(2_500) && first <= FIRST_BACKOFF, "{first:?}");
            let third = backoff(3);
            assert!(third >= Duration::from_secs(10) && third <= Duration::from_secs(20), "{third:?}");
            assert!(backoff(40) <= MAX_BACKOFF && backoff(40) >= MAX_BACKOFF / 2);
        }
    }
}
