//! Webhooks (API.md section 14): the signing secrets, sealed for the database; the signature
//! of a delivery; and the sender, which takes each webhook's first due delivery from the
//! outbox and posts it.
//!
//! **Secrets.** A webhook's secret is shown once, when it is made, and stored sealed with
//! AES-256-GCM under a key derived (HKDF-SHA256) from the server's secret
//! (`MISEOS_JWT_SECRET`), which lives in the environment or a file, never in the database: a
//! database dump alone cannot sign a delivery. (Changing the server's secret therefore
//! makes the webhooks' secrets unreadable: their deliveries fail, and the head chef adds the
//! webhooks again.)
//!
//! **Sending.** Each delivery is a `POST` of its recorded body with `X-MiseOS-Event-Id` and
//! `X-MiseOS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, through the
//! guarded client (public addresses only, no redirects, 10 s). A 2xx is success; anything
//! else, or no answer, is tried again after 5 s at most, doubling with jitter up to an hour,
//! for 24 hours, then the delivery is failed and the log says so. The loop is
//! [`super::drain`]'s; each webhook's deliveries go one at a time (the store takes only a
//! webhook's first).

use super::{
    drain::{self, answer_text, backoff, since_recorded},
    guard::{NotPublic, OutboundRules},
};
use crate::{
    metrics::OutboundMetrics,
    store::{AttemptRecord, DeliveryNext, DueDelivery, Store},
};
use aes_gcm::{aead::Aead, Aes256Gcm, KeyInit, Nonce};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::Notify, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How long a taken delivery is left to the process that took it.
const LEASE: Duration = Duration::from_secs(30);

/// A delivery not accepted within this long of its change is failed.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3_600);

/// How much of a failed answer the log keeps.
const ANSWER_LOGGED_CHARS: usize = 200;

/// How long the log of ended deliveries is kept.
const LOG_KEPT: Duration = Duration::from_secs(7 * 24 * 3_600);
/// How often the log is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Seals and opens webhooks' secrets with a key derived from the server's secret.
#[derive(Clone)]
pub struct SecretSealer {
    cipher: Arc<Aes256Gcm>,
}

impl SecretSealer {
    /// The sealer of a server whose (JWT) secret is `server_secret`.
    pub fn new(server_secret: &[u8]) -> SecretSealer {
        let mut key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(Some(b"miseos-live"), server_secret)
            .expand(b"webhook signing secrets v1", &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        SecretSealer { cipher: Arc::new(<Aes256Gcm as KeyInit>::new(&key.into())) }
    }

    /// A fresh secret as shown to the head chef (`whsec_` and 32 random bytes, base64url),
    /// and its sealed form for the database.
    pub fn fresh(&self) -> (String, String) {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let secret = format!("whsec_{}", URL_SAFE_NO_PAD.encode(bytes));
        let sealed = self.seal(&secret);
        (secret, sealed)
    }

    fn seal(&self, secret: &str) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self.cipher.encrypt(&Nonce::from(nonce), secret.as_bytes()).expect("AES-GCM seals any short text");
        format!("v1.{}.{}", URL_SAFE_NO_PAD.encode(nonce), URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The secret sealed in `sealed`, or why it cannot be opened (another server secret).
    pub fn open(&self, sealed: &str) -> Result<String, &'static str> {
        const UNREADABLE: &str = "the webhook's secret cannot be opened with this server's secret";
        let mut parts = sealed.split('.');
        let (Some("v1"), Some(nonce), Some(text), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(UNREADABLE);
        };
        let nonce = URL_SAFE_NO_PAD.decode(nonce).map_err(|_| UNREADABLE)?;
        let text = URL_SAFE_NO_PAD.decode(text).map_err(|_| UNREADABLE)?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| UNREADABLE)?;
        let opened = self.cipher.decrypt(&Nonce::from(nonce), text.as_slice()).map_err(|_| UNREADABLE)?;
        String::from_utf8(opened).map_err(|_| UNREADABLE)
    }
}

/// The `X-MiseOS-Signature` of `body` sent at `unix_seconds` with `secret`.
fn signature(secret: &str, unix_seconds: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={unix_seconds},v1={hex}")
}

/// What every send needs.
struct Sender {
    store: Store,
    client: reqwest::Client,
    rules: OutboundRules,
    sealer: SecretSealer,
    metrics: OutboundMetrics,
    last_prune: Mutex<Instant>,
}

/// Starts the webhooks' sender on `tasks`; it stops when `stop` is cancelled (deliveries
/// being sent finish first: each is limited to 10 s).
pub fn start_webhook_sender(
    store: Store,
    rules: OutboundRules,
    sealer: SecretSealer,
    metrics: OutboundMetrics,
    tasks: &TaskTracker,
    stop: CancellationToken,
) {
    let last_prune = Mutex::new(Instant::now());
    let sender = Sender { client: rules.client(), store, rules, sealer, metrics, last_prune };
    drain::start(sender, tasks, stop);
}

impl drain::Sender for Sender {
    type Due = DueDelivery;
    const WHAT: &'static str = "webhook deliveries";

    fn wake(&self) -> Arc<Notify> {
        self.store.webhook_wake()
    }

    async fn take(&self, room: usize) -> Result<Vec<DueDelivery>, String> {
        let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let limit = i64::try_from(room).unwrap_or(1);
        self.store.take_due_deliveries(limit, lease_ms).await.map_err(|error| error.to_string())
    }

    async fn send(&self, delivery: DueDelivery) {
        self.deliver(delivery).await;
        // The webhook's next delivery may be due now.
        self.store.webhook_wake().notify_one();
    }

    async fn idle(&self) {
        {
            let mut last_prune = self.last_prune.lock().expect("the prune clock is never poisoned");
            if last_prune.elapsed() < PRUNE_EVERY {
                return;
            }
            *last_prune = Instant::now();
        }
        let kept = i64::try_from(LOG_KEPT.as_millis()).unwrap_or(i64::MAX);
        if let Err(error) = self.store.prune_webhook_deliveries(kept).await {
            tracing::warn!(%error, "cannot prune the webhooks' log");
        }
    }
}

impl Sender {
    /// Sends one delivery and records what came of it.
    async fn deliver(&self, delivery: DueDelivery) {
        let started = Instant::now();
        let attempt = self.attempt(&delivery).await;
        let age = since_recorded(delivery.created_at, delivery.taken_at, started);
        let record = AttemptRecord { status_code: attempt.status_code, error: attempt.error.as_deref() };
        let next = if attempt.delivered() {
            self.metrics.delivered(age);
            DeliveryNext::Delivered
        } else if attempt.never {
            tracing::warn!(webhook = delivery.webhook_id, error = ?attempt.error, "webhook delivery failed for good");
            self.metrics.outcome("unsendable");
            DeliveryNext::Failed
        } else {
            let delay = backoff(delivery.attempts);
            if age + delay > GIVE_UP_AFTER {
                tracing::warn!(
                    webhook = delivery.webhook_id,
                    attempts = delivery.attempts,
                    "webhook delivery failed after 24 hours"
                );
                self.metrics.outcome("expired");
                DeliveryNext::Failed
            } else {
                self.metrics.outcome("retried");
                DeliveryNext::RetryAfter(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
            }
        };
        let recorded = self.store.record_delivery_attempt(&delivery, &record, next).await;
        if let Err(error) = recorded {
            // The lease ends and the delivery is taken again: sent twice at worst.
            tracing::warn!(%error, outbox = delivery.outbox_id, "cannot record a webhook delivery's answer");
        }
    }

    /// One request to the receiver.
    async fn attempt(&self, delivery: &DueDelivery) -> Attempt {
        let url = match self.rules.check(&delivery.url) {
            Ok(url) => url,
            Err(why) => return Attempt::never(why),
        };
        let secret = match self.sealer.open(&delivery.sealed_secret) {
            Ok(secret) => secret,
            Err(why) => return Attempt::never(why.to_string()),
        };
        let now = chrono::Utc::now().timestamp();
        let request = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-MiseOS-Event-Id", &delivery.event_id)
            .header("X-MiseOS-Signature", signature(&secret, now, &delivery.body))
            .body(delivery.body.clone());
        let mut answer = match request.send().await {
            Ok(answer) => answer,
            Err(error) if NotPublic::caused(&error) => {
                return Attempt::never("the URL's host resolves to no public address".to_string())
            }
            Err(error) => {
                let why = if error.is_timeout() { "no answer within 10 s".to_string() } else { error.to_string() };
                return Attempt { status_code: None, error: Some(why), never: false };
            }
        };
        let status = answer.status().as_u16();
        // The body is read (at most 4 KiB) so the connection can be used again; only its
        // beginning is kept, for a failure's log.
        let text = answer_text(&mut answer).await;
        let error = (!(200..300).contains(&status))
            .then(|| format!("answered {status}: {}", text.chars().take(ANSWER_LOGGED_CHARS).collect::<String>()));
        Attempt { status_code: Some(status), error, never: false }
    }
}

/// What one attempt came to.
struct Attempt {
    status_code: Option<u16>,
    error: Option<String>,
    /// It can never succeed (its URL no longer passes the rules, its secret cannot be opened).
    never: bool,
}

impl Attempt {
    fn never(why: String) -> Attempt {
        Attempt { status_code: None, error: Some(why), never: true }
    }

    fn delivered(&self) -> bool {
        self.status_code.is_some_and(|status| (200..300).contains(&status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_the_same_server_secret() {
        let sealer = SecretSealer::new(b"a server secret of at least thirty-two bytes");
        let (secret, sealed) = sealer.fresh();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 43);
        assert!(!sealed.contains(&secret[6..]));
        assert_eq!(sealer.open(&sealed).as_deref(), Ok(secret.as_str()));
        let other = SecretSealer::new(b"another server secret of thirty-two bytes");
        assert!(other.open(&sealed).is_err());
        assert!(sealer.open("v1.AAAA.BBBB").is_err());
    }

    /// Stripe's scheme, checked against a value computed apart (Python's hmac module:
    /// `hmac.new(b"whsec_test", b"1700000000.{}", "sha256").hexdigest()`).
    #[test]
    fn the_signature_is_hmac_sha256_of_the_time_and_the_body() {
        assert_eq!(
            signature("whsec_test", 1_700_000_000, "{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }
}
