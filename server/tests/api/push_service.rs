//! A push service on loopback for the tests, which checks every push as a real one would,
//! with implementations the server does not use: each body is decrypted by Mozilla's `ece`
//! (RFC 8291), each VAPID JWT's ES256 signature is checked by OpenSSL against `GET
//! /push/key`, and its `aud`, `exp` and `sub` against the rules of RFC 8292. Shared by the API
//! and reliability suites.

use crate::helpers::{Recorded, TestApp};
use app::wire::{NewPushSubscription, PushSubscriptionKeys};
use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

/// What the push service was sent: which browser (the endpoint's last segment), the headers
/// and the encrypted body.
#[derive(Clone, Debug)]
pub struct ReceivedPush {
    pub browser: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The status the service answered.
    pub answered: u16,
}

/// How the service answers the next push: a status and its headers.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer { status, headers: Vec::new() }
    }
}

#[derive(Default)]
struct ServiceState {
    received: Recorded<ReceivedPush>,
    /// Scripted answers, in order; 201 once they run out.
    answers: Mutex<VecDeque<Answer>>,
}

/// A push service on loopback: `POST /push/{browser}`.
pub struct PushService {
    pub port: u16,
    state: Arc<ServiceState>,
    task: tokio::task::JoinHandle<()>,
}

impl PushService {
    /// Starts the service on a free port.
    pub async fn start() -> PushService {
        PushService::start_on(0).await
    }

    /// Starts the service on `port` (0: a free one).
    pub async fn start_on(port: u16) -> PushService {
        let state = Arc::new(ServiceState::default());
        let router = Router::new().route("/push/{browser}", post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the push service binds");
        let port = listener.local_addr().expect("an address").port();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the push service serves");
        });
        PushService { port, state, task }
    }

    /// `http://127.0.0.1:<port>`: what `MISEOS_PUSH_EXTRA_ORIGINS` must allow.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers the next pushes with these, in order (then 201).
    pub fn answer_next(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.answers.lock().unwrap().extend(answers);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<ReceivedPush> {
        self.state.received.all()
    }

    /// Waits until `count` pushes have arrived (at most `within`); them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<ReceivedPush> {
        self.state.received.wait_for(count, within).await
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(state): State<Arc<ServiceState>>,
    Path(browser): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = state.answers.lock().unwrap().pop_front().unwrap_or(Answer::status(201));
    state.received.push(ReceivedPush { browser, headers, body: body.to_vec(), answered: answer.status });
    let mut response = StatusCode::from_u16(answer.status).expect("a status").into_response();
    for (name, value) in answer.headers {
        response.headers_mut().insert(name, value.parse().expect("a header value"));
    }
    response
}

/// A browser's push subscription: its own P-256 key pair and secret, made by `ece` (OpenSSL).
pub struct Browser {
    pub name: String,
    keys: Box<dyn ece::LocalKeyPair>,
    auth: [u8; 16],
    pub endpoint: String,
}

impl Browser {
    pub fn new(service: &PushService, name: &str) -> Browser {
        Browser::at(&service.origin(), name)
    }

    /// A browser whose push service is (or will be) at `origin`.
    pub fn at(origin: &str, name: &str) -> Browser {
        let (keys, auth) = ece::generate_keypair_and_auth_secret().expect("a key pair");
        Browser { name: name.into(), keys, auth, endpoint: format!("{origin}/push/{name}") }
    }

    /// What the page sends: `PushSubscription.toJSON()`.
    pub fn subscription(&self) -> NewPushSubscription {
        NewPushSubscription {
            endpoint: self.endpoint.clone(),
            keys: PushSubscriptionKeys {
                p256dh: URL_SAFE_NO_PAD.encode(self.keys.pub_as_raw().expect("the public key")),
                auth: URL_SAFE_NO_PAD.encode(self.auth),
            },
            expiration_time: None,
        }
    }

    /// Subscribes this browser as the holder of `token`; the answer.
    pub async fn subscribe(&self, app: &TestApp, token: &str) -> reqwest::Response {
        app.post("/api/v1/push/subscriptions", token, &self.subscription()).await
    }

    /// The plaintext of a push, decrypted as the browser would (RFC 8291, by `ece`).
    pub fn decrypt(&self, push: &ReceivedPush) -> String {
        let components = self.keys.raw_components().expect("the key's components");
        let plain = ece::decrypt(&components, &self.auth, &push.body).expect("the push decrypts");
        String::from_utf8(plain).expect("UTF-8")
    }
}

/// Checks a push's headers and its VAPID JWT: signed (ES256, checked by OpenSSL) by the key
/// `GET /push/key` names, `aud` the push service's origin, `exp` in the future and at most
/// 24 hours ahead, `sub` the configured contact.
pub fn check_vapid(push: &ReceivedPush, public_key: &str, audience: &str, subject: &str) {
    use openssl::{bn::BigNum, ec::EcGroup, ec::EcKey, ec::EcPoint, ecdsa::EcdsaSig, nid::Nid};
    let header = |name: &str| push.headers.get(name).map(|value| value.to_str().expect("ASCII").to_string());
    assert_eq!(header("ttl").as_deref(), Some("43200"));
    assert_eq!(header("urgency").as_deref(), Some("high"));
    assert_eq!(header("content-encoding").as_deref(), Some("aes128gcm"));
    let authorization = header("authorization").expect("an Authorization header");
    let rest = authorization.strip_prefix("vapid ").expect("the vapid scheme");
    let (mut jwt, mut key) = (None, None);
    for part in rest.split(',').map(str::trim) {
        if let Some(value) = part.strip_prefix("t=") {
            jwt = Some(value.to_string());
        } else if let Some(value) = part.strip_prefix("k=") {
            key = Some(value.to_string());
        }
    }
    let (jwt, key) = (jwt.expect("t="), key.expect("k="));
    assert_eq!(key, public_key, "k= is the key pages subscribe with");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).expect("base64url");
    let jose: serde_json::Value = serde_json::from_slice(&decode(parts[0])).expect("a JOSE header");
    assert_eq!(jose["alg"], "ES256");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    let mut context = openssl::bn::BigNumContext::new().expect("a context");
    let point = EcPoint::from_bytes(&group, &decode(&key), &mut context).expect("a point");
    let verifier = EcKey::from_public_key(&group, &point).expect("a public key");
    let signature = decode(parts[2]);
    assert_eq!(signature.len(), 64, "JWS ES256 is r || s");
    let signature = EcdsaSig::from_private_components(
        BigNum::from_slice(&signature[..32]).expect("r"),
        BigNum::from_slice(&signature[32..]).expect("s"),
    )
    .expect("a signature");
    let digest = openssl::sha::sha256(format!("{}.{}", parts[0], parts[1]).as_bytes());
    assert!(signature.verify(&digest, &verifier).expect("verification runs"), "the VAPID signature verifies");
    let claims: serde_json::Value = serde_json::from_slice(&decode(parts[1])).expect("claims");
    assert_eq!(claims["aud"], audience);
    assert_eq!(claims["sub"], subject);
    let now = chrono::Utc::now().timestamp();
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp}, now {now}");
}
