//! What an operator scrapes: counters and gauges in Prometheus' text format, served at
//! `/metrics` (see `crate::http::telemetry` and [`crate::config::Config::metrics_port`]).
//!
//! Each application owns its registry (no process-wide recorder), so tests that run many
//! servers in one process read only their own numbers. The hot paths hold plain handles
//! (an atomic each): the hub counts a fan-out once, adding its number of recipients, never
//! once per frame; labelled families are touched only where something starts or ends (a
//! socket, a request).

use app::wire::SessionType;
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use prometheus_client::{
    encoding::{prometheus_text, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};
use std::sync::Arc;

/// A family whose known label sets exist from the start, at 0: a dashboard or an alert reads
/// "none yet", not "no data".
fn family_at_zero<L, M>(labels: impl IntoIterator<Item = L>) -> Family<L, M>
where
    L: Clone + std::hash::Hash + Eq,
    M: Default,
{
    let family = Family::<L, M>::default();
    for label in labels {
        drop(family.get_or_create(&label));
    }
    family
}

/// The `session_type` label of a notification socket (the contract's `sessionType`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SessionTypeLabel {
    pub session_type: &'static str,
}

impl From<SessionType> for SessionTypeLabel {
    fn from(session_type: SessionType) -> SessionTypeLabel {
        SessionTypeLabel {
            session_type: match session_type {
                SessionType::Admin => "admin",
                SessionType::Staff => "staff",
            },
        }
    }
}

/// How a notification socket closed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabel {
    pub session_type: &'static str,
    pub code: u16,
}

/// One kind of HTTP answer: the route as the router matched it (never the raw path, which
/// would give every item id its own series) and the status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

/// Why a sign-in was refused or slowed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignInLabel {
    pub outcome: &'static str,
}

/// The hub's counters: what the fan-out did.
#[derive(Clone)]
pub struct HubMetrics {
    pub sockets_open: Family<SessionTypeLabel, Gauge>,
    pub sockets_closed: Family<CloseLabel, Counter>,
    /// Frames queued for delivery, summed over recipients.
    pub frames: Counter,
    /// Bytes of those frames, summed over recipients.
    pub bytes: Counter,
    /// Events sent to every admin socket.
    pub broadcasts: Counter,
    /// Decisions sent to one cook's socket.
    pub direct_messages: Counter,
    /// Sockets closed because their queue was full.
    pub queue_overflows: Counter,
}

impl Default for HubMetrics {
    /// Both session types' gauges exist from the start, at 0.
    fn default() -> HubMetrics {
        HubMetrics {
            sockets_open: family_at_zero([SessionType::Admin, SessionType::Staff].map(SessionTypeLabel::from)),
            sockets_closed: Family::default(),
            frames: Counter::default(),
            bytes: Counter::default(),
            broadcasts: Counter::default(),
            direct_messages: Counter::default(),
            queue_overflows: Counter::default(),
        }
    }
}

/// Every reason a sign-in is refused (`miseos_sign_in_refusals_total`), exported at 0 from
/// the start.
pub const SIGN_IN_REFUSALS: [&str; 4] = ["bad_credentials", "account_disabled", "throttled", "busy"];

/// The PostgreSQL bus's counters.
#[derive(Clone, Default)]
pub struct BusMetrics {
    pub notifications_received: Counter,
    /// Event notifications of kitchens with no socket in this process: not read.
    pub events_skipped: Counter,
    pub reconnects: Counter,
}

/// What became of a push or webhook attempt (`miseos_push_attempts_total`,
/// `miseos_webhook_attempts_total`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: &'static str,
}

/// Every outcome of a push attempt, exported at 0 from the start.
pub const PUSH_OUTCOMES: [&str; 6] = ["delivered", "retried", "gone", "refused", "expired", "unsendable"];

/// An outbox sender's counters (one set for pushes, one for webhook deliveries).
#[derive(Clone)]
pub struct OutboundMetrics {
    /// Attempts by outcome (one of the sender's outcomes, each exported at 0 from the start).
    pub attempts: Family<OutcomeLabel, Counter>,
    /// Seconds from a change's commit to the receiver accepting what it was sent.
    pub delivery_seconds: Histogram,
}

impl OutboundMetrics {
    /// The counters of a sender whose attempts end in one of `outcomes`.
    pub fn with_outcomes<const N: usize>(outcomes: [&'static str; N]) -> OutboundMetrics {
        OutboundMetrics {
            attempts: family_at_zero(outcomes.map(|outcome| OutcomeLabel { outcome })),
            delivery_seconds: latency_histogram(),
        }
    }

    /// The push sender's: [`PUSH_OUTCOMES`].
    pub fn pushes() -> OutboundMetrics {
        OutboundMetrics::with_outcomes(PUSH_OUTCOMES)
    }

    /// The webhooks' sender's: [`WEBHOOK_OUTCOMES`].
    pub fn webhooks() -> OutboundMetrics {
        OutboundMetrics::with_outcomes(WEBHOOK_OUTCOMES)
    }

    /// Counts an attempt's outcome.
    pub fn outcome(&self, outcome: &'static str) {
        self.attempts.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// Counts a delivery accepted `after` its change's commit.
    pub fn delivered(&self, after: std::time::Duration) {
        self.outcome("delivered");
        self.delivery_seconds.observe(after.as_secs_f64());
    }
}

/// Every outcome of a webhook delivery attempt, exported at 0 from the start: delivered (2xx),
/// retried (anything else, or no answer), expired (24 hours without success: failed),
/// unsendable (the URL or the secret no longer usable: failed).
pub const WEBHOOK_OUTCOMES: [&str; 4] = ["delivered", "retried", "expired", "unsendable"];

/// Store calls waiting for a pooled connection.
#[derive(Clone, Default)]
pub struct PoolMetrics {
    pub waiting: Gauge,
}

impl PoolMetrics {
    /// Counts one caller as waiting until the guard drops.
    pub fn wait(&self) -> WaitingGuard {
        self.waiting.inc();
        WaitingGuard(self.waiting.clone())
    }
}

/// One caller waiting for a connection; see [`PoolMetrics::wait`].
pub struct WaitingGuard(Gauge);

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Every metric of one application.
pub struct Metrics {
    registry: Registry,
    pub hub: HubMetrics,
    pub bus: BusMetrics,
    pub pool: PoolMetrics,
    pub push: OutboundMetrics,
    pub webhooks: OutboundMetrics,
    pool_in_use: Gauge,
    pool_idle: Gauge,
    /// Requests by route and status with their latency (`_count`: how many).
    pub http_requests: Family<RouteLabel, Histogram>,
    pub sign_ins: Family<SignInLabel, Counter>,
    /// Accounts that reached their failure limit (each then refuses sign-ins for a while).
    pub lockouts: Counter,
}

/// Latency buckets from 0.25 ms to about 4 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Metrics {
    /// Registers every metric, named `miseos_…`.
    pub fn new(
        hub: HubMetrics,
        bus: BusMetrics,
        pool: PoolMetrics,
        push: OutboundMetrics,
        webhooks: OutboundMetrics,
    ) -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("miseos");
        // The names keep the contract's word for a socket's kind (its `sessionType`).
        registry.register("ws_sessions_open", "Notification sockets open, by session type", hub.sockets_open.clone());
        registry.register(
            "ws_sessions_closed",
            "Notification sockets closed, by session type and close code (1006: the client vanished)",
            hub.sockets_closed.clone(),
        );
        registry.register("ws_frames_sent", "Frames queued to sockets, summed over recipients", hub.frames.clone());
        registry.register("ws_bytes_sent", "Bytes of those frames, summed over recipients", hub.bytes.clone());
        registry.register("ws_broadcasts", "Events fanned out to every admin socket", hub.broadcasts.clone());
        registry.register("ws_direct_messages", "Decisions sent to one cook's socket", hub.direct_messages.clone());
        registry.register(
            "ws_queue_overflows",
            "Sockets closed with 1013 because their queue was full",
            hub.queue_overflows.clone(),
        );
        registry.register(
            "bus_notifications_received",
            "PostgreSQL notifications received over LISTEN",
            bus.notifications_received.clone(),
        );
        registry.register(
            "bus_events_skipped",
            "Event notifications of kitchens with no socket in this process, whose events were not read",
            bus.events_skipped.clone(),
        );
        registry.register(
            "bus_reconnects",
            "Times the LISTEN connection was lost and made again",
            bus.reconnects.clone(),
        );
        let pool_in_use = Gauge::default();
        let pool_idle = Gauge::default();
        registry.register("db_pool_in_use", "Database connections in use", pool_in_use.clone());
        registry.register("db_pool_idle", "Database connections open and idle", pool_idle.clone());
        registry.register(
            "db_pool_waiting",
            "Store calls waiting for a database connection (a transaction: until its BEGIN ran)",
            pool.waiting.clone(),
        );
        // Its `_count` is the number of requests: one lookup per request, not two.
        let http_requests =
            Family::<RouteLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests answered, by method, route and status, and the time to answer them",
            http_requests.clone(),
        );
        let sign_ins: Family<SignInLabel, Counter> =
            family_at_zero(SIGN_IN_REFUSALS.map(|outcome| SignInLabel { outcome }));
        registry.register(
            "sign_in_refusals",
            "Sign-ins refused: wrong credentials, disabled account, throttled (429) or busy (503)",
            sign_ins.clone(),
        );
        registry.register(
            "push_attempts",
            "Web Push attempts by outcome: delivered, retried, gone (subscription deleted), refused, expired, unsendable",
            push.attempts.clone(),
        );
        registry.register(
            "push_delivery_seconds",
            "Seconds from a decision's commit to the push service accepting its push",
            push.delivery_seconds.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome: delivered, retried, expired (failed after 24 h), unsendable (failed)",
            webhooks.attempts.clone(),
        );
        registry.register(
            "webhook_delivery_seconds",
            "Seconds from a change's commit to its webhook receiver's 2xx",
            webhooks.delivery_seconds.clone(),
        );
        let lockouts = Counter::default();
        registry.register(
            "sign_in_lockouts",
            "Accounts locked out by failed sign-ins (5 within 15 minutes): a password being guessed; alert on any",
            lockouts.clone(),
        );
        Arc::new(Metrics {
            registry,
            hub,
            bus,
            pool,
            push,
            webhooks,
            pool_in_use,
            pool_idle,
            http_requests,
            sign_ins,
            lockouts,
        })
    }

    /// Counts a refused sign-in (`bad_credentials`, `account_disabled`, `throttled`, `busy`).
    pub fn sign_in_refused(&self, outcome: &'static str) {
        self.sign_ins.get_or_create(&SignInLabel { outcome }).inc();
    }

    /// Counts an account locked out by failed sign-ins.
    pub fn account_locked_out(&self) {
        self.lockouts.inc();
    }

    /// The text exposition, with the pool's gauges read now.
    pub fn render(&self, pool_size: u32, pool_idle: usize) -> String {
        let idle = i64::try_from(pool_idle).unwrap_or(i64::MAX);
        self.pool_idle.set(idle);
        self.pool_in_use.set(i64::from(pool_size).saturating_sub(idle).max(0));
        let mut text = String::new();
        // Writing into a String cannot fail.
        prometheus_text::encode(&mut text, &self.registry).expect("metrics encode into a String");
        text
    }
}
