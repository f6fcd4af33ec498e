//! The load generator's clients: sockets opened from many loopback addresses, keep-alive HTTP
//! connections for posting, and tokens minted as the server would.

use crate::{measure::Tally, Args};
use app::wire::{KitchenId, Role, User, UserId};
use futures::StreamExt;
use server::{
    accounts::{tokens::new_session_id, TokenKeys},
    clock::KitchenClock,
    store::{now_millis, NewAccount, Store},
};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig, Message,
};

pub fn source_ip(index: usize, count: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (index % usize::from(count.max(1))) as u8))
}

/// The server session `index` connects to: round-robin over `--server` and `--also-servers`.
pub fn server_for(args: &Args, index: usize) -> SocketAddr {
    match index % (1 + args.also_servers.len()) {
        0 => args.server,
        other => args.also_servers[other - 1],
    }
}

/// Opens one session from a given source address.
pub async fn open_session(
    args: &Args,
    index: usize,
    token: Option<&str>,
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, String> {
    let socket = TcpSocket::new_v4().map_err(|error| error.to_string())?;
    socket.bind(SocketAddr::new(source_ip(index, args.source_ips), 0)).map_err(|error| error.to_string())?;
    let server = server_for(args, index);
    let stream = socket.connect(server).await.map_err(|error| error.to_string())?;
    let path = if args.floor_trigger.is_some() { "/" } else { "/api/v1/notifications" };
    let mut request = format!("ws://{server}{path}").into_client_request().map_err(|error| error.to_string())?;
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|error| error.to_string())?;
        request.headers_mut().insert("authorization", value);
    }
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let (socket, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|error| error.to_string())?;
    Ok(socket)
}

/// Extracts `n` from `"itemName":"bench-<n>"` or `"requestId":<n>` without parsing JSON
/// (the client's CPU is the scarce resource on a 2-core box).
pub fn number_after(text: &str, marker: &str) -> Option<usize> {
    let start = text.find(marker)? + marker.len();
    let digits: &str = &text[start..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The session's next text frame; `None` once it closed or the measurement is over.
pub async fn next_text(
    socket: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    stop: &mut tokio::sync::watch::Receiver<bool>,
) -> Option<tokio_tungstenite::tungstenite::Utf8Bytes> {
    loop {
        let message = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return None,
            message = socket.next() => message?.ok()?,
        };
        if let Message::Text(text) = message {
            return Some(text);
        }
    }
}

/// Reads a session's frames until it closes, recording arrivals of bench events.
pub async fn read_session(
    mut socket: tokio_tungstenite::WebSocketStream<TcpStream>,
    tally: Arc<Tally>,
    marker: &'static str,
) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut stop = tally.stop.subscribe();
    while let Some(text) = next_text(&mut socket, &mut stop).await {
        tally.frames.fetch_add(1, Ordering::Relaxed);
        if text.contains("\"CONNECTED\"") {
            tally.welcomed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let Some(event) = number_after(&text, marker) else { continue };
        let Some(sent) = tally.sent_at.get(event).map(|at| at.load(Ordering::Acquire)) else { continue };
        if sent == 0 {
            continue;
        }
        let now = tally.now_micros();
        latencies.push(now.saturating_sub(sent));
        tally.last_arrival[event].fetch_max(now, Ordering::AcqRel);
    }
    latencies
}

/// A keep-alive HTTP/1.1 connection for posting events: the least client work per request.
pub struct HttpConnection {
    reader: BufReader<TcpStream>,
    host: String,
}

impl HttpConnection {
    pub async fn open(server: SocketAddr) -> std::io::Result<HttpConnection> {
        let stream = TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        Ok(HttpConnection { reader: BufReader::new(stream), host: server.to_string() })
    }

    /// Sends a request and returns the status and body.
    pub async fn call(&mut self, method: &str, path: &str, token: &str, body: &str) -> std::io::Result<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).await?;
        let status = status_line.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Signs session tokens as the server would: a session row in the server's database, then a
/// token for it with the server's secret. (Signing in over HTTP would spend an Argon2id check
/// per token.)
pub struct Minter {
    keys: TokenKeys,
    pub store: Store,
}

impl Minter {
    /// Needs `MISEOS_JWT_SECRET` and `DATABASE_URL`; `None` without them.
    pub async fn connect(args: &Args) -> Option<Minter> {
        let (secret, database_url) = (args.jwt_secret.as_ref()?, args.database_url.as_ref()?);
        let keys = TokenKeys::new(secret.as_bytes(), Duration::from_secs(24 * 3600));
        let store = Store::connect(database_url, 4, KitchenClock::new(chrono_tz::UTC)).await.expect("the database");
        Some(Minter { keys, store })
    }

    /// A token of a new session of the user with this id.
    pub async fn token(&self, user_id: UserId) -> String {
        let credentials = self.store.credentials_of(user_id).await.expect("the database").expect("the user exists");
        let session = new_session_id();
        assert!(self.store.start_session(session, &credentials, now_millis()).await.expect("a session"));
        self.keys.issue(&credentials.user, session)
    }
}

pub const MINTER_NEEDS: &str = "set MISEOS_JWT_SECRET and DATABASE_URL to the server's secret and database";

pub fn user(id: UserId, role: Role) -> User {
    User {
        id,
        first_name: format!("Bench{id}"),
        last_name: "User".into(),
        email: format!("bench{id}@miseos.dk"),
        role,
        active: true,
        // The benchmarks run against the demo kitchen.
        kitchen_id: server::store::DEMO_KITCHEN_ID,
    }
}

/// The account of a bench `user` in `kitchen`, with `password_hash`.
pub fn account_of(user: User, kitchen: KitchenId, password_hash: &str) -> NewAccount {
    NewAccount {
        kitchen_id: kitchen,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        role: user.role,
        password_hash: password_hash.to_string(),
        must_change_password: false,
    }
}

/// One pending ingredient request by each of `tokens`' users, named `<prefix>-<n>`, in their
/// order; their ids.
pub async fn one_item_each(args: &Args, tokens: &[String], prefix: &str) -> Vec<usize> {
    let mut http = HttpConnection::open(args.server).await.expect("HTTP");
    let mut ids = Vec::with_capacity(tokens.len());
    for (offset, token) in tokens.iter().enumerate() {
        let body = serde_json::to_string(&app::wire::NewIngredientRequest {
            item_name: format!("{prefix}-{offset}"),
            quantity: app::wire::Quantity(1.0),
            unit: "kg".into(),
            note: None,
        })
        .expect("serializable");
        let (status, answer) = http.call("POST", "/api/v1/ingredient-requests", token, &body).await.expect("POST");
        assert_eq!(status, 201, "{answer}");
        ids.push(number_after(&answer, "\"id\":").expect("an id"));
    }
    ids
}

/// Approves the first `events` of `item_ids` as `chef`, paced at `args.rate` a second over
/// `args.posters` connections; `about_to_send(position, item id)` runs just before each call
/// (where the caller stamps its send time). Returns when every call was answered, with when it started.
pub async fn approve_at_rate(
    args: &Args,
    chef: &str,
    item_ids: Vec<usize>,
    events: usize,
    about_to_send: impl Fn(usize, usize) + Clone,
) -> Instant {
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let item_ids = Arc::new(item_ids);
    let reviewers = (0..args.posters.max(1)).map(|_| {
        let (next, item_ids, about_to_send) = (next.clone(), item_ids.clone(), about_to_send.clone());
        async move {
            let mut http = HttpConnection::open(args.server).await.expect("HTTP");
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= events {
                    return;
                }
                tokio::time::sleep_until((started + interval * index as u32).into()).await;
                let id = item_ids[index];
                about_to_send(index, id);
                let (status, answer) = http
                    .call("POST", &format!("/api/v1/ingredient-requests/{id}/approve"), chef, "")
                    .await
                    .expect("POST");
                if status != 200 {
                    eprintln!("review answered {status}: {answer}");
                }
            }
        }
    });
    futures::future::join_all(reviewers).await;
    started
}

/// Opens the sessions with these indexes (at most `--connect-concurrency` at a time, each
/// from its source address and to its server); returns the open ones and a one-line report of
/// the connect rate and failures.
pub async fn connect_sessions(
    args: &Args,
    indexes: Vec<usize>,
    token_for: impl Fn(usize) -> Option<String>,
) -> (Vec<tokio_tungstenite::WebSocketStream<TcpStream>>, String) {
    let started = Instant::now();
    let requested = indexes.len();
    let tokens: Vec<(usize, Option<String>)> = indexes.into_iter().map(|index| (index, token_for(index))).collect();
    let sessions: Vec<_> = futures::stream::iter(tokens.iter())
        .map(|(index, token)| async move { open_session(args, *index, token.as_deref()).await })
        .buffer_unordered(args.connect_concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let (open, failed): (Vec<_>, Vec<_>) = sessions.into_iter().partition(Result::is_ok);
    if let Some(Err(error)) = failed.first() {
        eprintln!("first connect failure: {error}");
    }
    let report = format!(
        "{} of {requested} sessions in {elapsed:.2} s ({:.0}/s), {} failed",
        open.len(),
        open.len() as f64 / elapsed,
        failed.len()
    );
    (open.into_iter().filter_map(Result::ok).collect(), report)
}
