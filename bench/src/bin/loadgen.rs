//! The MiseOS Live load generator: real sessions with real tokens against a running server
//! (or the bare `floor`), events driven through the REST API at a set rate, and the figures
//! docs/PERFORMANCE.md reports.
//!
//! Scenarios (`--scenario`):
//! - `broadcast`: N admin sessions; `--events` creates at `--rate` per second (0: as fast as
//!   `--posters` keep-alive connections can post). Latency is measured from just before the
//!   REST call to each frame's arrival, and to its arrival at the last session. With
//!   `--kitchens K`, the sessions and the events are spread over K kitchens (the demo kitchen
//!   and K-1 made for the run, each with a head chef and a cook): session i is of kitchen
//!   i mod K, event e is created in kitchen e mod K and reaches that kitchen's sessions only,
//!   so "the last session" is the last of its kitchen's.
//! - `direct`: M staff sessions, each with a pending item; an admin reviews them at `--rate`;
//!   latency from the review call to the REQUEST_APPROVED frame.
//! - `idle`: N sessions held idle; the server's RSS per session.
//! - `reconnect`: N sessions that reconnect like the browser app (full-jitter backoff); restart
//!   the server meanwhile; reports how long until every session was welcomed again.
//! - `snapshot`: `--posters` keep-alive connections read the snapshot for `--seconds`.
//!
//! Sessions are spread over `--source-ips` loopback addresses (127.0.0.1, 127.0.0.2, …) so the
//! ephemeral port range is never the limit. Tokens are minted with the server's secret
//! (`MISEOS_JWT_SECRET`); staff users for `direct` are inserted through the server's store.
//! Server CPU and RSS come from /proc/<--server-pid>.

use app::wire::{NewIngredientRequest, Role, User};
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use server::{
    auth::{SessionId, TokenKeys},
    clock::KitchenClock,
    store::{now_millis, NewAccount, Store},
};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig, Message,
};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Scenario {
    Broadcast,
    Direct,
    Idle,
    Reconnect,
    Snapshot,
}

#[derive(Parser)]
#[command(about = "Load generator for MiseOS Live (see docs/PERFORMANCE.md)")]
struct Args {
    #[arg(long, value_enum, default_value = "broadcast")]
    scenario: Scenario,
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:5001")]
    server: SocketAddr,
    /// Drive the bare floor instead: its trigger address (`--server` is its WebSocket address).
    #[arg(long)]
    floor_trigger: Option<SocketAddr>,
    /// Admin sessions (broadcast, idle, reconnect).
    #[arg(long, default_value_t = 1000)]
    admins: usize,
    /// Kitchens the broadcast's sessions and events are spread over.
    #[arg(long, default_value_t = 1)]
    kitchens: usize,
    /// Staff sessions (direct), one user each.
    #[arg(long, default_value_t = 0)]
    staff: usize,
    /// Loopback source addresses to spread sessions over.
    #[arg(long, default_value_t = 8)]
    source_ips: u8,
    /// Events per second; 0 means as fast as the posters go.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Events to send.
    #[arg(long, default_value_t = 20)]
    events: usize,
    /// Concurrent keep-alive HTTP connections posting events (or reading snapshots).
    #[arg(long, default_value_t = 4)]
    posters: usize,
    /// How long the snapshot scenario runs, or how long idle sessions are held.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Sessions opened at once while connecting.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// More server processes sharing the sessions round-robin (several processes on one
    /// PostgreSQL), comma-separated.
    #[arg(long, value_delimiter = ',')]
    also_servers: Vec<SocketAddr>,
    /// Client processes to spread the sessions over (broadcast); each holds at most ~19,900.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Set by the driver for the client processes it starts: read as shard N of --clients.
    #[arg(long, hide = true)]
    reader_shard: Option<usize>,
    /// The server process, for its CPU time and RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// More server processes whose CPU time counts, comma-separated.
    #[arg(long, value_delimiter = ',')]
    also_server_pids: Vec<u32>,
    /// The server's JWT secret, to mint session tokens.
    #[arg(long, env = "MISEOS_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// The server's database: sessions are started there for the tokens this tool signs,
    /// and `direct` inserts its staff users there.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

/// Arrival bookkeeping shared by all session tasks.
struct Tally {
    started: Instant,
    /// When each event's REST call started, in µs since `started` (0: not yet).
    sent_at: Vec<AtomicU64>,
    /// The latest arrival of each event at any session, in µs since `started`.
    last_arrival: Vec<AtomicU64>,
    frames: AtomicUsize,
    welcomed: AtomicUsize,
    /// Turned true when the measurement is over: the readers stop and hand in their samples.
    stop: tokio::sync::watch::Sender<bool>,
}

impl Tally {
    fn new(events: usize) -> Tally {
        Tally {
            started: Instant::now(),
            sent_at: (0..events).map(|_| AtomicU64::new(0)).collect(),
            last_arrival: (0..events).map(|_| AtomicU64::new(0)).collect(),
            frames: AtomicUsize::new(0),
            welcomed: AtomicUsize::new(0),
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    fn now_micros(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }
}

/// CPU time and RSS of a process, from /proc.
#[derive(Clone, Copy, Debug, Default)]
struct ProcessSample {
    cpu_seconds: f64,
    rss_kib: u64,
}

fn sample_process(pid: Option<u32>) -> Option<ProcessSample> {
    let path = pid.map_or_else(|| "/proc/self".to_string(), |pid| format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(format!("{path}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("{path}/status")).ok()?;
    let rss_kib = status.lines().find(|line| line.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    // Linux reports CPU time in USER_HZ ticks, 100 per second on every supported platform.
    Some(ProcessSample { cpu_seconds: ticks / 100.0, rss_kib })
}

fn percentile(sorted: &[u64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index] as f64 / 1000.0
}

fn latency_line(label: &str, mut micros: Vec<u64>) {
    micros.sort_unstable();
    println!(
        "{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        micros.len(),
        percentile(&micros, 0.5),
        percentile(&micros, 0.99),
        percentile(&micros, 1.0)
    );
}

fn source_ip(index: usize, count: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (index % usize::from(count.max(1))) as u8))
}

/// The server session `index` connects to: round-robin over `--server` and `--also-servers`.
fn server_for(args: &Args, index: usize) -> SocketAddr {
    match index % (1 + args.also_servers.len()) {
        0 => args.server,
        other => args.also_servers[other - 1],
    }
}

/// Summed CPU time of every server process named.
fn servers_cpu(args: &Args) -> Option<f64> {
    let mut total = sample_process(args.server_pid)?.cpu_seconds;
    for pid in &args.also_server_pids {
        total += sample_process(Some(*pid))?.cpu_seconds;
    }
    Some(total)
}

/// Opens one session from a given source address.
async fn open_session(
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
fn number_after(text: &str, marker: &str) -> Option<usize> {
    let start = text.find(marker)? + marker.len();
    let digits: &str = &text[start..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The session's next text frame; `None` once it closed or the measurement is over.
async fn next_text(
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
async fn read_session(
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
struct HttpConnection {
    reader: BufReader<TcpStream>,
    host: String,
}

impl HttpConnection {
    async fn open(server: SocketAddr) -> std::io::Result<HttpConnection> {
        let stream = TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        Ok(HttpConnection { reader: BufReader::new(stream), host: server.to_string() })
    }

    /// Sends a request and returns the status and body.
    async fn call(&mut self, method: &str, path: &str, token: &str, body: &str) -> std::io::Result<(u16, String)> {
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
struct Minter {
    keys: TokenKeys,
    store: Store,
}

impl Minter {
    /// Needs `MISEOS_JWT_SECRET` and `DATABASE_URL`; `None` without them.
    async fn connect(args: &Args) -> Option<Minter> {
        let (secret, database_url) = (args.jwt_secret.as_ref()?, args.database_url.as_ref()?);
        let keys = TokenKeys::new(secret.as_bytes(), Duration::from_secs(24 * 3600));
        let store = Store::connect(database_url, 4, KitchenClock::new(chrono_tz::UTC)).await.expect("the database");
        Some(Minter { keys, store })
    }

    /// A token of a new session of the user with this id.
    async fn token(&self, user_id: i64) -> String {
        let credentials = self.store.credentials_of(user_id).await.expect("the database").expect("the user exists");
        let session = SessionId::generate();
        assert!(self.store.start_session(session, &credentials, now_millis()).await.expect("a session"));
        self.keys.issue(&credentials.user, session)
    }
}

const MINTER_NEEDS: &str = "set MISEOS_JWT_SECRET and DATABASE_URL to the server's secret and database";

fn user(id: i64, role: Role) -> User {
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

/// Opens the sessions with these indexes (at most `--connect-concurrency` at a time, each
/// from its source address and to its server); returns the open ones and a one-line report of
/// the connect rate and failures.
async fn connect_sessions(
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

#[tokio::main]
async fn main() {
    let args = Args::parse();
    println!(
        "scenario {:?}: server {} admins {} staff {} events {} rate {}/s posters {} source-ips {}{}",
        args.scenario,
        args.server,
        args.admins,
        args.staff,
        args.events,
        args.rate,
        args.posters,
        args.source_ips,
        if args.floor_trigger.is_some() { " (bare floor)" } else { "" }
    );
    match args.scenario {
        Scenario::Broadcast => broadcast(&args).await,
        Scenario::Direct => direct(&args).await,
        Scenario::Idle => idle(&args).await,
        Scenario::Reconnect => reconnect(&args).await,
        Scenario::Snapshot => snapshot(&args).await,
    }
}

/// Microseconds since the Unix epoch: comparable across the client processes of one machine.
fn unix_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_micros() as u64)
}

/// What one client process measured in a broadcast run.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct ShardResult {
    sessions: usize,
    /// Frames received after the greetings.
    frames: usize,
    /// Latency histogram of announcements: (bucket of 100 µs, count).
    histogram: Vec<(u64, u64)>,
    /// Per event, its latest arrival at any session of this process (Unix µs), and when it
    /// was sent.
    last_arrival: Vec<u64>,
    sent_at: Vec<u64>,
    client_cpu_seconds: f64,
}

const BUCKET_MICROS: u64 = 100;

/// This process's share of the broadcast sessions: connects, reads, and measures them.
async fn read_shard(
    args: &Args,
    shard: usize,
    tokens: Vec<Option<String>>,
) -> (Arc<AtomicUsize>, impl std::future::Future<Output = ShardResult> + '_) {
    let indexes: Vec<usize> = (0..args.admins).filter(|index| index % args.clients.max(1) == shard).collect();
    let (sessions, report) = connect_sessions(args, indexes, |index| tokens[index % tokens.len()].clone()).await;
    // Stderr: a client process's stdout carries only READY and RESULT to the driver.
    eprintln!("shard {shard}: {report}");
    let frames = Arc::new(AtomicUsize::new(0));
    let greeted = Arc::new(AtomicUsize::new(0));
    let last_arrival: Arc<Vec<AtomicU64>> = Arc::new((0..args.events).map(|_| AtomicU64::new(0)).collect());
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..args.events).map(|_| AtomicU64::new(0)).collect());
    let count = sessions.len();
    let greeting_frames = if args.floor_trigger.is_some() { 1 } else { 3 };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|mut socket| {
            let (frames, greeted, last_arrival, sent_at) =
                (frames.clone(), greeted.clone(), last_arrival.clone(), sent_at.clone());
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut histogram = std::collections::BTreeMap::<u64, u64>::new();
                let mut greeting_left = greeting_frames;
                while let Some(text) = next_text(&mut socket, &mut stopped).await {
                    if greeting_left > 0 {
                        greeting_left -= 1;
                        if greeting_left == 0 {
                            greeted.fetch_add(1, Ordering::Relaxed);
                        }
                        continue;
                    }
                    frames.fetch_add(1, Ordering::Relaxed);
                    // Announcements carry "bench-<event>-<sent at, Unix µs>" as their name.
                    let Some(event) = number_after(&text, "\"itemName\":\"bench-") else { continue };
                    let Some(sent) = text
                        .find(&format!("bench-{event}-"))
                        .and_then(|at| number_after(&text[at..], &format!("bench-{event}-")))
                    else {
                        continue;
                    };
                    let now = unix_micros();
                    *histogram.entry(now.saturating_sub(sent as u64) / BUCKET_MICROS).or_default() += 1;
                    if let (Some(last), Some(first)) = (last_arrival.get(event), sent_at.get(event)) {
                        last.fetch_max(now, Ordering::AcqRel);
                        first.store(sent as u64, Ordering::Release);
                    }
                }
                histogram
            })
        })
        .collect();
    while greeted.load(Ordering::Relaxed) < count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expected = expected_deliveries(args, |index| index % args.clients.max(1) == shard);
    let finished = {
        let frames = frames.clone();
        async move {
            // Done when every frame arrived, or nothing moved for three seconds after the
            // first one (what is missing then is lost).
            let mut last = (0, Instant::now());
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let now = frames.load(Ordering::Relaxed);
                if now >= expected {
                    break;
                }
                if now != last.0 {
                    last = (now, Instant::now());
                } else if now > 0 && last.1.elapsed() > Duration::from_secs(3) {
                    break;
                }
            }
            let mut histogram = std::collections::BTreeMap::<u64, u64>::new();
            stop.send_replace(true);
            for reader in readers {
                if let Ok(part) = reader.await {
                    for (bucket, hits) in part {
                        *histogram.entry(bucket).or_default() += hits;
                    }
                }
            }
            ShardResult {
                sessions: count,
                frames: frames.load(Ordering::Relaxed),
                histogram: histogram.into_iter().collect(),
                last_arrival: last_arrival.iter().map(|at| at.load(Ordering::Acquire)).collect(),
                sent_at: sent_at.iter().map(|at| at.load(Ordering::Acquire)).collect(),
                client_cpu_seconds: sample_process(None).map_or(0.0, |sample| sample.cpu_seconds),
            }
        }
    };
    (frames, finished)
}

async fn broadcast(args: &Args) {
    let minter = if args.floor_trigger.is_none() { Minter::connect(args).await } else { None };
    if args.floor_trigger.is_none() && minter.is_none() {
        eprintln!("{MINTER_NEEDS}");
        return;
    }
    // Per kitchen, the tokens of its head chef (every admin session of the kitchen shares it)
    // and of its cook (who creates the kitchen's events).
    let (admin_tokens, cook_tokens) = match &minter {
        Some(minter) => {
            let mut tokens = (Vec::new(), Vec::new());
            for (chef, cook) in bench_kitchens(minter, args.kitchens.max(1)).await {
                tokens.0.push(Some(minter.token(chef).await));
                tokens.1.push(minter.token(cook).await);
            }
            tokens
        }
        None => (vec![None], vec![String::new()]),
    };
    if let Some(shard) = args.reader_shard {
        // A client process started by the driver: read, then report on stdout.
        let (_, finished) = read_shard(args, shard, admin_tokens).await;
        println!("READY");
        let result = finished.await;
        println!("RESULT {}", serde_json::to_string(&result).expect("serializable"));
        return;
    }
    let mut children = Vec::new();
    for shard in 1..args.clients.max(1) {
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args().skip(1))
            .arg("--reader-shard")
            .arg(shard.to_string())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("a client process");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        while let Some(line) = lines.next_line().await.expect("client output") {
            if line == "READY" {
                break;
            }
        }
        children.push((child, lines));
    }
    let connected_at = Instant::now();
    let (_, own) = read_shard(args, 0, admin_tokens).await;
    println!(
        "connected: {} sessions over {} client process(es), the last share in {:.2} s",
        args.admins,
        args.clients.max(1),
        connected_at.elapsed().as_secs_f64()
    );
    let server_before = servers_cpu(args);
    let started = Instant::now();
    drive_events(args, &cook_tokens).await;
    let sending_took = started.elapsed();
    let mut results = vec![own.await];
    for (mut child, mut lines) in children {
        while let Some(line) = lines.next_line().await.expect("client output") {
            if let Some(json) = line.strip_prefix("RESULT ") {
                results.push(serde_json::from_str(json).expect("a client's result"));
            }
        }
        let _ = child.wait().await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server_after = servers_cpu(args);
    report_broadcast(args, &results, sending_took, elapsed, server_before.zip(server_after));
}

fn report_broadcast(
    args: &Args,
    results: &[ShardResult],
    sending_took: Duration,
    elapsed: f64,
    server_cpu: Option<(f64, f64)>,
) {
    let sessions: usize = results.iter().map(|result| result.sessions).sum();
    let delivered: usize = results.iter().map(|result| result.frames).sum();
    let expected = expected_deliveries(args, |_| true);
    println!("sessions: {sessions} over {} kitchen(s)", args.kitchens.max(1));
    println!(
        "events: {} in {:.2} s ({:.1}/s); deliveries: expected {expected}, received {delivered}, lost {}",
        args.events,
        sending_took.as_secs_f64(),
        args.events as f64 / sending_took.as_secs_f64(),
        expected.saturating_sub(delivered)
    );
    println!("deliveries/s: {:.0} (until the last frame or 3 s of silence)", delivered as f64 / elapsed);
    if let Some((before, after)) = server_cpu {
        println!(
            "server: cpu {:.2} s = {:.2} µs/delivery",
            after - before,
            (after - before) * 1e6 / delivered.max(1) as f64
        );
    }
    let client_cpu: Vec<String> = results.iter().map(|result| format!("{:.2} s", result.client_cpu_seconds)).collect();
    println!("client processes: cpu {} in total each (over {elapsed:.2} s)", client_cpu.join(", "));
    let mut histogram = std::collections::BTreeMap::<u64, u64>::new();
    for result in results {
        for (bucket, hits) in &result.histogram {
            *histogram.entry(*bucket).or_default() += hits;
        }
    }
    let total: u64 = histogram.values().sum();
    let quantile = |fraction: f64| {
        let wanted = (total as f64 * fraction).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, hits) in &histogram {
            seen += hits;
            if seen >= wanted {
                return (bucket + 1) as f64 * BUCKET_MICROS as f64 / 1000.0;
            }
        }
        f64::NAN
    };
    println!(
        "latency to each session: n={total} p50={:.1} ms p99={:.1} ms max={:.1} ms (0.1 ms buckets)",
        quantile(0.5),
        quantile(0.99),
        quantile(1.0)
    );
    let last: Vec<u64> = (0..args.events)
        .filter_map(|event| {
            let sent = results.iter().map(|result| result.sent_at.get(event).copied().unwrap_or(0)).max()?;
            let last = results.iter().map(|result| result.last_arrival.get(event).copied().unwrap_or(0)).max()?;
            (sent > 0 && last > 0).then(|| last.saturating_sub(sent))
        })
        .collect();
    latency_line("latency to the last session", last);
}

/// The frames the sessions `counted` (by index) should receive: each event's two frames, on
/// every session of the event's kitchen.
fn expected_deliveries(args: &Args, counted: impl Fn(usize) -> bool) -> usize {
    let kitchens = args.kitchens.max(1);
    let mut sessions_per_kitchen = vec![0usize; kitchens];
    for index in (0..args.admins).filter(|index| counted(*index)) {
        sessions_per_kitchen[index % kitchens] += 1;
    }
    (0..args.events).map(|event| 2 * sessions_per_kitchen[event % kitchens]).sum()
}

/// The `(head chef, cook)` user ids of `count` kitchens: the demo kitchen's Gordon and Ali,
/// then kitchens made for the run (each once per database; a second run finds them made).
async fn bench_kitchens(minter: &Minter, count: usize) -> Vec<(i64, i64)> {
    const FIRST_CHEF_ID: i64 = 2_000_000;
    const FIRST_COOK_ID: i64 = 3_000_000;
    let mut people = vec![(1, 3)];
    let made = minter.store.kitchens().await.expect("the kitchens");
    let hash = server::auth::hash_password("bench-only");
    let mut accounts = Vec::new();
    for offset in 1..count as i64 {
        let (chef, cook) = (FIRST_CHEF_ID + offset, FIRST_COOK_ID + offset);
        people.push((chef, cook));
        if made.iter().any(|kitchen| kitchen.name == format!("Bench {offset}")) {
            continue;
        }
        let kitchen = minter.store.create_kitchen(&format!("Bench {offset}"), None).await.expect("a kitchen");
        for (id, role) in [(chef, Role::HeadChef), (cook, Role::LineCook)] {
            let user = user(id, role);
            let account = NewAccount {
                kitchen_id: kitchen.id,
                email: user.email,
                first_name: user.first_name,
                last_name: user.last_name,
                role,
                password_hash: hash.clone(),
                must_change_password: false,
            };
            accounts.push((id, account));
        }
    }
    for chunk in accounts.chunks(1000) {
        minter.store.seed_users(chunk).await.expect("insert the kitchens' users");
    }
    people
}

/// Sends `--events` events at `--rate` (or flat out) through `--posters` connections, event e
/// as the cook of kitchen e mod K (`tokens`, one per kitchen). Each event's name carries its
/// index and the moment it was sent.
async fn drive_events(args: &Args, tokens: &[String]) {
    let next = Arc::new(AtomicUsize::new(0));
    let interval = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    let started = Instant::now();
    let posters = (0..args.posters.max(1)).map(|_| {
        let next = next.clone();
        let floor = args.floor_trigger;
        let server = args.server;
        let events = args.events;
        async move {
            let mut floor_stream = match floor {
                Some(address) => Some(TcpStream::connect(address).await.expect("the floor's trigger port")),
                None => None,
            };
            let mut http = match floor {
                Some(_) => None,
                None => Some(HttpConnection::open(server).await.expect("the server's HTTP port")),
            };
            loop {
                let event = next.fetch_add(1, Ordering::Relaxed);
                if event >= events {
                    return;
                }
                if let Some(interval) = interval {
                    tokio::time::sleep_until((started + interval * event as u32).into()).await;
                }
                let name = format!("bench-{event}-{}", unix_micros());
                if let Some(stream) = floor_stream.as_mut() {
                    stream.write_all(format!("{name}\n").as_bytes()).await.expect("trigger");
                } else if let Some(http) = http.as_mut() {
                    let body = serde_json::to_string(&NewIngredientRequest {
                        item_name: name,
                        quantity: 1.0,
                        unit: "kg".into(),
                        note: None,
                    })
                    .expect("serializable");
                    let token = &tokens[event % tokens.len()];
                    let (status, answer) =
                        http.call("POST", "/api/v1/ingredient-requests", token, &body).await.expect("POST");
                    if status != 201 {
                        eprintln!("create answered {status}: {answer}");
                    }
                }
            }
        }
    });
    futures::future::join_all(posters).await;
}

async fn report_latencies(tally: Arc<Tally>, readers: Vec<tokio::task::JoinHandle<Vec<u64>>>) {
    tally.stop.send_replace(true);
    let mut all = Vec::new();
    for reader in readers {
        if let Ok(samples) = reader.await {
            all.extend(samples);
        }
    }
    let last: Vec<u64> = tally
        .sent_at
        .iter()
        .zip(&tally.last_arrival)
        .filter_map(|(sent, last)| {
            let (sent, last) = (sent.load(Ordering::Acquire), last.load(Ordering::Acquire));
            (sent > 0 && last > 0).then(|| last - sent)
        })
        .collect();
    latency_line("latency to each session", all);
    latency_line("latency to the last session", last);
}

async fn direct(args: &Args) {
    let Some(minter) = Minter::connect(args).await else {
        eprintln!("{MINTER_NEEDS}");
        return;
    };
    let first_id = 1_000_000i64;
    let hash = server::auth::hash_password("bench-only");
    let users: Vec<(i64, NewAccount)> = (0..args.staff as i64)
        .map(|offset| {
            let user = user(first_id + offset, Role::LineCook);
            let account = NewAccount {
                kitchen_id: user.kitchen_id,
                email: user.email,
                first_name: user.first_name,
                last_name: user.last_name,
                role: user.role,
                password_hash: hash.clone(),
                must_change_password: false,
            };
            (user.id, account)
        })
        .collect();
    for chunk in users.chunks(1000) {
        minter.store.seed_users(chunk).await.expect("insert staff users");
    }
    let mut tokens = Vec::with_capacity(args.staff);
    for offset in 0..args.staff as i64 {
        tokens.push(minter.token(first_id + offset).await);
    }
    // Each staff user asks for one item, so each review has its one recipient.
    let mut http = HttpConnection::open(args.server).await.expect("HTTP");
    let mut item_ids = Vec::with_capacity(args.staff);
    for (offset, token) in tokens.iter().enumerate() {
        let body = serde_json::to_string(&NewIngredientRequest {
            item_name: format!("bench-{offset}"),
            quantity: 1.0,
            unit: "kg".into(),
            note: None,
        })
        .expect("serializable");
        let (status, answer) = http.call("POST", "/api/v1/ingredient-requests", token, &body).await.expect("POST");
        assert_eq!(status, 201, "{answer}");
        item_ids.push(number_after(&answer, "\"id\":").expect("an id"));
    }
    let (sessions, report) =
        connect_sessions(args, (0..args.staff).collect(), |index| Some(tokens[index].clone())).await;
    println!("connected: {report}");
    let events = args.events.min(item_ids.len());
    let max_id = item_ids.iter().copied().max().unwrap_or(0);
    let tally = Arc::new(Tally::new(max_id + 1));
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|session| tokio::spawn(read_session(session, tally.clone(), "\"requestId\":")))
        .collect();
    while tally.welcomed.load(Ordering::Relaxed) < readers.len() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server_before = sample_process(args.server_pid);
    let chef = minter.token(1).await;
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let item_ids = Arc::new(item_ids);
    let reviewers = (0..args.posters.max(1)).map(|_| {
        let (next, item_ids, tally, chef) = (next.clone(), item_ids.clone(), tally.clone(), chef.clone());
        async move {
            let mut http = HttpConnection::open(args.server).await.expect("HTTP");
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= events {
                    return;
                }
                tokio::time::sleep_until((started + interval * index as u32).into()).await;
                let id = item_ids[index];
                tally.sent_at[id].store(tally.now_micros().max(1), Ordering::Release);
                let (status, answer) = http
                    .call("POST", &format!("/api/v1/ingredient-requests/{id}/approve"), &chef, "")
                    .await
                    .expect("POST");
                if status != 200 {
                    eprintln!("review answered {status}: {answer}");
                }
            }
        }
    });
    futures::future::join_all(reviewers).await;
    let took = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server_after = sample_process(args.server_pid);
    println!("reviews: {events} in {took:.2} s ({:.0}/s)", events as f64 / took);
    if let (Some(before), Some(after)) = (server_before, server_after) {
        println!("server: cpu {:.2} s", after.cpu_seconds - before.cpu_seconds);
    }
    report_latencies(tally, readers).await;
}

async fn idle(args: &Args) {
    // The floor checks no token.
    let token = if args.floor_trigger.is_none() {
        let Some(minter) = Minter::connect(args).await else {
            eprintln!("{MINTER_NEEDS}");
            return;
        };
        Some(minter.token(1).await)
    } else {
        None
    };
    // Two halves: the second half's growth is what a session costs, apart from what the
    // process kept from its start. The allocator keeps freed start-up memory (the demo users'
    // Argon2 hashing alone is 19 MiB) for reuse, and whether it was returned before the first
    // sample or was reused by the first sessions decides the whole-run figure by ~0.5 KiB.
    let tally = Arc::new(Tally::new(0));
    let half = args.admins / 2;
    let before = sample_process(args.server_pid);
    let mut readers = hold_idle(args, 0..half, &token, &tally).await;
    let middle = sample_process(args.server_pid);
    readers.extend(hold_idle(args, half..args.admins, &token, &tally).await);
    let after = sample_process(args.server_pid);
    if let (Some(before), Some(middle), Some(after)) = (before, middle, after) {
        let count = readers.len().max(1);
        let second_half = count.saturating_sub(half).max(1);
        println!(
            "server rss: {} KiB before, {} KiB with {half}, {} KiB with {count} idle sessions = {:.2} KiB/session \
             over the whole run, {:.2} KiB/session over the second half",
            before.rss_kib,
            middle.rss_kib,
            after.rss_kib,
            (after.rss_kib as f64 - before.rss_kib as f64) / count as f64,
            (after.rss_kib as f64 - middle.rss_kib as f64) / second_half as f64
        );
    }
    tally.stop.send_replace(true);
    for reader in readers {
        let _ = reader.await;
    }
}

/// Opens the sessions of `indexes`, reads them until all are welcomed, then holds them idle
/// for `--seconds`; returns their reader tasks.
async fn hold_idle(
    args: &Args,
    indexes: std::ops::Range<usize>,
    token: &Option<String>,
    tally: &Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<Vec<u64>>> {
    let (sessions, report) = connect_sessions(args, indexes.collect(), |_| token.clone()).await;
    println!("connected: {report}");
    let welcomed_before = tally.welcomed.load(Ordering::Relaxed);
    let count = sessions.len();
    let readers: Vec<_> =
        sessions.into_iter().map(|session| tokio::spawn(read_session(session, tally.clone(), "\u{0}"))).collect();
    while tally.welcomed.load(Ordering::Relaxed) < welcomed_before + count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    readers
}

async fn reconnect(args: &Args) {
    let Some(minter) = Minter::connect(args).await else {
        eprintln!("{MINTER_NEEDS}");
        return;
    };
    let token = minter.token(1).await;
    let welcomed = Arc::new(AtomicUsize::new(0));
    let disconnected_at = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let sessions = (0..args.admins).map(|index| {
        let (token, welcomed, disconnected_at) = (token.clone(), welcomed.clone(), disconnected_at.clone());
        async move {
            let mut failures = 0u32;
            let mut rounds = 0;
            while rounds < 2 {
                // Back only once welcomed: a server that is stopping accepts and closes at once.
                let mut session = open_session(args, index, Some(&token)).await.ok();
                let welcome = match session.as_mut() {
                    Some(socket) => socket.next().await,
                    None => None,
                };
                match (session, welcome) {
                    (Some(mut socket), Some(Ok(Message::Text(text)))) if text.contains("\"CONNECTED\"") => {
                        failures = 0;
                        welcomed.fetch_add(1, Ordering::Relaxed);
                        rounds += 1;
                        if rounds == 2 {
                            return;
                        }
                        while let Some(Ok(_)) = socket.next().await {}
                        let _ = disconnected_at.compare_exchange(
                            0,
                            started.elapsed().as_millis() as u64,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        );
                    }
                    _ => failures += 1,
                }
                // The browser app's backoff: full jitter under a capped exponential ceiling.
                let ceiling = (500.0 * 2f64.powi(failures.min(16) as i32)).min(15_000.0);
                let jitter: f64 = rand_unit();
                tokio::time::sleep(Duration::from_millis((ceiling * jitter) as u64)).await;
            }
        }
    });
    let all = futures::future::join_all(sessions);
    let progress = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let since = disconnected_at.load(Ordering::Acquire);
            if since > 0 {
                println!(
                    "t+{:.1} s after the first disconnect: {} of {} sessions welcomed again",
                    (started.elapsed().as_millis() as u64 - since) as f64 / 1000.0,
                    welcomed.load(Ordering::Relaxed).saturating_sub(args.admins),
                    args.admins
                );
            }
        }
    };
    tokio::select! {
        _ = all => {}
        () = progress => {}
    }
    let since = disconnected_at.load(Ordering::Acquire);
    println!(
        "all {} sessions back {:.2} s after the first disconnect",
        args.admins,
        (started.elapsed().as_millis() as u64 - since) as f64 / 1000.0
    );
}

/// A uniform number in [0, 1).
fn rand_unit() -> f64 {
    rand::random::<f64>()
}

async fn snapshot(args: &Args) {
    let Some(minter) = Minter::connect(args).await else {
        eprintln!("{MINTER_NEEDS}");
        return;
    };
    let token = minter.token(1).await;
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let server_before = sample_process(args.server_pid);
    let started = Instant::now();
    let readers = (0..args.posters.max(1)).map(|_| {
        let token = token.clone();
        async move {
            let mut http = HttpConnection::open(args.server).await.expect("HTTP");
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let (status, _) = http.call("GET", "/api/v1/notifications/snapshot", &token, "").await.expect("GET");
                assert_eq!(status, 200);
                samples.push(sent.elapsed().as_micros() as u64);
            }
            samples
        }
    });
    let samples: Vec<u64> = futures::future::join_all(readers).await.into_iter().flatten().collect();
    let took = started.elapsed().as_secs_f64();
    let server_after = sample_process(args.server_pid);
    println!("snapshot: {} requests in {took:.2} s = {:.0}/s", samples.len(), samples.len() as f64 / took);
    if let (Some(before), Some(after)) = (server_before, server_after) {
        println!(
            "server: cpu {:.2} s = {:.1} µs/request",
            after.cpu_seconds - before.cpu_seconds,
            (after.cpu_seconds - before.cpu_seconds) * 1e6 / samples.len().max(1) as f64
        );
    }
    latency_line("snapshot latency", samples);
}
