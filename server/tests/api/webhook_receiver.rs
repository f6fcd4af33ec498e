//! A purchasing system's webhook receiver on loopback for the tests. It checks every delivery
//! as a receiver following the README would, with an implementation the server does not use:
//! the `X-MiseOS-Signature` is recomputed with OpenSSL's HMAC-SHA256 over `"<t>.<raw body>"`
//! and compared, and the body must be the contract's JSON with the event id of the header.

use crate::helpers::Recorded;
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::time::Instant;

/// One delivery as the receiver got it, checked.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub event_id: String,
    pub body: serde_json::Value,
    /// What the receiver answered (`None`: it hung until the server gave up).
    pub answered: Option<u16>,
    pub at: Instant,
}

impl Delivery {
    pub fn event_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }
}

/// How the receiver answers the next delivery.
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    Status(u16),
    /// Never answers (the server's 10 s limit ends it).
    Hang,
}

#[derive(Default)]
struct ReceiverState {
    /// The secret each delivery must be signed with (set once the webhook is made).
    secret: Mutex<Option<String>>,
    received: Recorded<Delivery>,
    /// Scripted replies, in order; 200 once they run out.
    replies: Mutex<VecDeque<Reply>>,
}

/// A receiver on loopback: `POST /hook`.
pub struct Receiver {
    pub port: u16,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver on `port` (0: a free one).
    pub async fn start_on(port: u16) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        let router = Router::new().route("/hook", post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the receiver binds");
        let port = listener.local_addr().expect("an address").port();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the receiver serves");
        });
        Receiver { port, state, task }
    }

    pub async fn start() -> Receiver {
        Receiver::start_on(0).await
    }

    /// `http://127.0.0.1:<port>`: what `MISEOS_WEBHOOK_EXTRA_ORIGINS` must allow.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The URL to give the webhook.
    pub fn url(&self) -> String {
        format!("{}/hook", self.origin())
    }

    /// The secret deliveries must be signed with from now on.
    pub fn expect_secret(&self, secret: &str) {
        *self.state.secret.lock().unwrap() = Some(secret.to_string());
    }

    /// Replies to the next deliveries with these, in order (then 200).
    pub fn reply_next(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.replies.lock().unwrap().extend(replies);
    }

    /// Everything received so far, in the order it came.
    pub fn received(&self) -> Vec<Delivery> {
        self.state.received.all()
    }

    /// Waits until `count` deliveries have arrived (at most `within`); them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Delivery> {
        self.state.received.wait_for(count, within).await
    }

    /// The deliveries answered with a 2xx, in order.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.received().into_iter().filter(|delivery| delivery.answered.is_some_and(|status| status < 300)).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Stripe's check, with OpenSSL: `t=<unix seconds>,v1=<hex HMAC-SHA256("<t>.<body>")>`.
pub fn signature_is_valid(header: &str, secret: &str, body: &[u8]) -> bool {
    use openssl::{hash::MessageDigest, pkey::PKey, sign::Signer};
    let mut parts = header.split(',');
    let (Some(t), Some(v1), None) = (
        parts.next().and_then(|part| part.strip_prefix("t=")),
        parts.next().and_then(|part| part.strip_prefix("v1=")),
        parts.next(),
    ) else {
        return false;
    };
    let Ok(seconds) = t.parse::<i64>() else { return false };
    // A receiver refuses a stale signature (a replay): five minutes, as Stripe's libraries do.
    if (chrono::Utc::now().timestamp() - seconds).abs() > 300 {
        return false;
    }
    let key = PKey::hmac(secret.as_bytes()).expect("an HMAC key");
    let mut signer = Signer::new(MessageDigest::sha256(), &key).expect("a signer");
    signer.update(t.as_bytes()).expect("update");
    signer.update(b".").expect("update");
    signer.update(body).expect("update");
    let expected: String = signer.sign_to_vec().expect("a MAC").iter().map(|byte| format!("{byte:02x}")).collect();
    openssl::memcmp::eq(expected.as_bytes(), v1.as_bytes())
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_string();
    let secret = state.secret.lock().unwrap().clone().expect("the test gave the receiver its secret");
    assert!(signature_is_valid(&header("x-miseos-signature"), &secret, &body), "a bad signature: {headers:?}");
    assert_eq!(header("content-type"), "application/json");
    let parsed: serde_json::Value = serde_json::from_slice(&body).expect("the body is JSON");
    let event_id = header("x-miseos-event-id");
    assert_eq!(parsed["id"], event_id.as_str(), "the header names the body's event");
    assert!(parsed["kitchenId"].is_i64() && parsed["data"].is_object(), "{parsed}");
    chrono::DateTime::parse_from_rfc3339(parsed["createdAt"].as_str().expect("createdAt")).expect("RFC 3339");
    let reply = state.replies.lock().unwrap().pop_front().unwrap_or(Reply::Status(200));
    let answered = match reply {
        Reply::Status(status) => Some(status),
        Reply::Hang => None,
    };
    state.received.push(Delivery { event_id, body: parsed, answered, at: Instant::now() });
    match reply {
        Reply::Status(status) => StatusCode::from_u16(status).expect("a status"),
        Reply::Hang => std::future::pending().await,
    }
}
