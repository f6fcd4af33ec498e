//! The outbox's push sender: takes the pushes that are due and sends each (the loop is
//! [`super::drain`]'s, shared with the webhooks' sender).
//!
//! A push is taken for a lease ([`LEASE`]); within it, the answer decides: accepted, it leaves
//! the outbox; its subscription gone (404, 410), the subscription goes; refused for good (any
//! other 4xx), it is dropped; otherwise (429, 5xx, no answer) it is tried again after the
//! service's `Retry-After`, or at most 5 s later, doubling, for up to 12 hours. A process that
//! dies mid-send leaves the push to be taken again when the lease ends: at least once.

use super::{
    drain::{self, answer_text, backoff, since_recorded},
    guard::{NotPublic, OutboundRules},
    push::{audience, Outcome, SubscriptionKeys, VapidKey, TTL_SECONDS},
};
use crate::{
    metrics::OutboundMetrics,
    store::{DuePush, Store},
};
use std::{sync::Arc, time::Duration};
use tokio::{
    sync::{Mutex, Notify},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How long a taken push is left to the process that took it: the request's 10 s limit and
/// the time to record its answer, with room to spare.
const LEASE: Duration = Duration::from_secs(30);

/// How long the VAPID key read from the database is used before it is read again: a key
/// replaced by `server push rotate-key` signs every process's pushes within this.
const KEY_READ_EVERY: Duration = Duration::from_secs(5);

/// A push not accepted within this long of its decision is given up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(12 * 3_600);

/// What every send needs.
struct Sender {
    store: Store,
    client: reqwest::Client,
    rules: OutboundRules,
    /// The VAPID JWT's `sub`: the operator's contact (`MISEOS_PUSH_SUBJECT`).
    subject: String,
    metrics: OutboundMetrics,
    key: Mutex<KeyInUse>,
}

/// Starts the sender on `tasks`; it stops when `stop` is cancelled (pushes being sent finish
/// first: each is limited to 10 s).
pub fn start_push_sender(
    store: Store,
    rules: OutboundRules,
    subject: String,
    metrics: OutboundMetrics,
    tasks: &TaskTracker,
    stop: CancellationToken,
) {
    let sender = Sender { client: rules.client(), store, rules, subject, metrics, key: Mutex::default() };
    drain::start(sender, tasks, stop);
}

impl drain::Sender for Sender {
    /// A push, with the VAPID key to sign it.
    type Due = (Arc<VapidKey>, DuePush);
    const WHAT: &'static str = "pushes";

    fn wake(&self) -> Arc<Notify> {
        self.store.outbox_wake()
    }

    async fn take(&self, room: usize) -> Result<Vec<Self::Due>, String> {
        let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let limit = i64::try_from(room).unwrap_or(1);
        let due = self.store.take_due_pushes(limit, lease_ms).await.map_err(|error| error.to_string())?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.key.lock().await.current(&self.store).await?;
        Ok(due.into_iter().map(|push| (key.clone(), push)).collect())
    }

    async fn send(&self, (key, push): Self::Due) {
        self.deliver(&key, push).await;
    }
}

impl Sender {
    /// Sends one push and records what came of it.
    async fn deliver(&self, key: &VapidKey, push: DuePush) {
        let started = Instant::now();
        let result = self.attempt(key, &push).await;
        let age = since_recorded(push.created_at, push.taken_at, started);
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
            let text = answer_text(&mut answer).await;
            tracing::info!(subscription = push.subscription_id, status, answer = %text, "push not accepted");
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
