//! Starts the real server on port 0 against a fresh database and talks to it over HTTP and
//! WebSocket, like any client would.

use app::{
    demo::{DEMO_ACCOUNTS, DEMO_PASSWORD},
    wire::{LoginResponse, Notification},
};
use futures::{SinkExt, StreamExt};
use serde::{de::DeserializeOwned, Serialize};
use server::{accounts::TokenKeys, config::Config, Application};
use std::process::Stdio;
use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};
use tokio::{
    net::TcpStream,
    process::{Child, Command},
    sync::oneshot,
    task::JoinHandle,
};
use tokio_tungstenite::{
    tungstenite::{self, client::IntoClientRequest, http::HeaderValue, protocol::CloseFrame, Message},
    MaybeTlsStream, WebSocketStream,
};

/// The secret every test server signs with, so tests can mint odd tokens.
pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
/// The demo users' password.
pub const PASSWORD: &str = DEMO_PASSWORD;
pub const GORDON: &str = DEMO_ACCOUNTS[0].email;
pub const MONICA: &str = DEMO_ACCOUNTS[1].email;
pub const ALI: &str = DEMO_ACCOUNTS[2].email;
pub const SARA: &str = DEMO_ACCOUNTS[3].email;
pub const NOAH: &str = DEMO_ACCOUNTS[4].email;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// What a test server on loopback (a push service, a webhook receiver) received, in the order
/// it came: written by its handler, read by the test.
pub struct Recorded<T>(std::sync::Mutex<Vec<T>>);

impl<T> Default for Recorded<T> {
    fn default() -> Self {
        Recorded(std::sync::Mutex::default())
    }
}

impl<T: Clone> Recorded<T> {
    pub fn push(&self, received: T) {
        self.0.lock().unwrap().push(received);
    }

    /// Everything received so far.
    pub fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until `count` have arrived (at most `within`); them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<T> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.all();
            if received.len() >= count {
                return received;
            }
            assert!(tokio::time::Instant::now() < deadline, "{} of {count} arrived within {within:?}", received.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A connection of its own to the database at `database_url` (either kind), for what a test
/// reads or changes behind the server's back.
pub async fn database_connection(database_url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(database_url).await.expect("the test's database")
}

/// Moves the creation of item `id` of `category` `minutes` into the past, in the database at
/// `database_url`: how the tests let time pass for escalation (API.md section 12).
pub async fn backdate(database_url: &str, category: app::wire::Category, id: i64, minutes: i64) {
    let table = match category {
        app::wire::Category::IngredientRequest => "ingredient_requests",
        app::wire::Category::DishSuggestion => "dish_suggestions",
    };
    let sql = format!("UPDATE {table} SET created_at = created_at - $1 WHERE id = $2");
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(minutes * 60_000).bind(id);
    let updated = query.execute(&mut database_connection(database_url).await).await.expect("backdated").rows_affected();
    assert_eq!(updated, 1, "item {id} backdated");
}

/// Where the tests find PostgreSQL: `MISEOS_TEST_POSTGRES_URL`, else the local server.
pub fn postgres_admin_url() -> String {
    std::env::var("MISEOS_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database of the given kind, dropped with the value.
pub struct FreshDatabase {
    pub url: String,
    directory: PathBuf,
    postgres_name: Option<String>,
}

impl FreshDatabase {
    pub async fn create(db: Db) -> FreshDatabase {
        let unique = format!("{}_{}", std::process::id(), NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
        let directory = std::env::temp_dir().join(format!("miseos-test-{unique}"));
        std::fs::create_dir_all(&directory).expect("temporary directory");
        match db {
            Db::Sqlite => FreshDatabase {
                url: format!("sqlite://{}?mode=rwc", directory.join("miseos.db").display()),
                directory,
                postgres_name: None,
            },
            Db::Postgres => {
                let name = format!("miseos_test_{unique}");
                let admin = postgres_admin_url();
                let mut connection = connect_postgres(&admin).await;
                sqlx::Executor::execute(&mut connection, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create the test database");
                let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin);
                FreshDatabase { url: format!("{base}/{name}"), directory, postgres_name: Some(name) }
            }
        }
    }
}

async fn connect_postgres(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|error| {
        panic!("PostgreSQL is required for these tests and is not reachable at {url}: {error}. Start it (see the README) or set MISEOS_TEST_POSTGRES_URL.")
    })
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
        if let Some(name) = self.postgres_name.take() {
            // Drop runs outside any runtime guarantee: use a short-lived one on a thread.
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    let mut connection = connect_postgres(&admin).await;
                    let _ = sqlx::Executor::execute(
                        &mut connection,
                        sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")),
                    )
                    .await;
                });
            })
            .join();
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The port of `/metrics`, when configured apart.
    pub metrics_port: Option<u16>,
    pub http: reqwest::Client,
    pub tokens: TokenKeys,
    pub hub: server::live::hub::Hub,
    pub store: server::store::Store,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    _database: FreshDatabase,
}

/// The configuration tests start from.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config::defaults();
    config.host = "127.0.0.1".parse().expect("loopback");
    config.port = 0;
    config.database_url = Some(database_url.to_string());
    config.jwt_secret = Some(TEST_SECRET.to_string());
    config.demo = true;
    config.allowed_origins = Vec::new();
    config.db_max_connections = 8;
    // Most tests write faster than a kitchen does; the limits have tests of their own.
    config.max_new_items_per_minute = 0;
    config.max_pending_per_user = 0;
    config.max_sockets_per_user = 0;
    config.max_socket_opens_per_minute = 0;
    config.max_connections_per_address = 0;
    // Stopping at once: the grace has a test of its own.
    config.shutdown_grace_seconds = 0;
    config
}

/// Leptos options for a server started outside cargo-leptos.
pub fn leptos_options() -> leptos::config::LeptosOptions {
    leptos::config::LeptosOptions::builder().output_name("miseos").site_root("target/site").site_pkg_dir("pkg").build()
}

/// Starts the server on a fresh database of kind `db`.
pub async fn spawn_app(db: Db) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// Starts the server on a fresh database after `adjust` has changed the configuration.
pub async fn spawn_app_with(db: Db, adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(FreshDatabase::create(db).await, adjust).await
}

/// Starts the server on `database` (which it drops with itself) after `adjust` has changed the
/// configuration.
pub async fn spawn_app_on(database: FreshDatabase, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config(&database.url);
    config.data_dir = std::env::temp_dir().join(format!("miseos-test-data-{}", std::process::id()));
    adjust(&mut config);
    let application = Application::build(config, leptos_options()).await.expect("the server starts");
    let port = application.port();
    let metrics_port = application.metrics_port();
    let tokens = application.state().tokens.clone();
    let hub = application.state().hub.clone();
    let store = application.state().store.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_port,
        http: reqwest::Client::new(),
        tokens,
        hub,
        store,
        stop: Some(stop),
        server: Some(server),
        _database: database,
    }
}

impl TestApp {
    /// The URL of this server's database (for the command line).
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// A PATCH with a JSON body and a Bearer token.
    pub async fn patch<B: Serialize>(&self, path: &str, token: &str, body: &B) -> reqwest::Response {
        self.http.patch(format!("{}{path}", self.address)).bearer_auth(token).json(body).send().await.expect("PATCH")
    }

    /// The session id (`sid`) of a token this server issued.
    pub fn session_of(&self, token: &str) -> String {
        self.tokens.verify(token).expect("a token of this server").session.to_string()
    }

    /// Signs in a demo user and returns the token.
    pub async fn token(&self, email: &str) -> String {
        self.login(email).await.token
    }

    /// Signs in a demo user.
    pub async fn login(&self, email: &str) -> LoginResponse {
        let response = self.login_attempt(email, PASSWORD).await;
        assert_eq!(response.status(), 200, "demo login for {email}");
        response.json().await.expect("login body")
    }

    /// `POST /api/v1/auth/login` with these credentials, whatever the answer.
    pub async fn login_attempt(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/auth/login", self.address))
            .json(&app::wire::LoginRequest { email: email.into(), password: password.into() })
            .send()
            .await
            .expect("login request")
    }

    /// A POST with a JSON body and a Bearer token.
    pub async fn post<B: Serialize>(&self, path: &str, token: &str, body: &B) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.address)).bearer_auth(token).json(body).send().await.expect("POST")
    }

    /// A GET with a Bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.address)).bearer_auth(token).send().await.expect("GET")
    }

    /// Creates an ingredient request and returns its id.
    pub async fn create_request(&self, token: &str, item_name: &str) -> i64 {
        let body = app::wire::NewIngredientRequest {
            item_name: item_name.into(),
            quantity: app::wire::Quantity(2.0),
            unit: "bunch".into(),
            note: Some("for the gravlax".into()),
        };
        let response = self.post("/api/v1/ingredient-requests", token, &body).await;
        assert_eq!(response.status(), 201);
        response.json::<app::wire::IngredientRequest>().await.expect("request body").id
    }

    /// Creates a dish suggestion and returns its id.
    pub async fn create_suggestion(&self, token: &str, name: &str) -> i64 {
        let body = app::wire::NewDishSuggestion { name: name.into(), description: "Rødgrød med fløde".into() };
        let response = self.post("/api/v1/dish-suggestions", token, &body).await;
        assert_eq!(response.status(), 201);
        response.json::<app::wire::DishSuggestion>().await.expect("suggestion body").id
    }

    /// The current snapshot, read as an admin.
    pub async fn snapshot(&self, admin_token: &str) -> app::wire::Snapshot {
        let response = self.get("/api/v1/notifications/snapshot", admin_token).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("snapshot body")
    }

    /// Waits until the hub has published every committed change of the kitchens whose counts
    /// it follows (those with an admin socket here; another kitchen's next admin socket reads
    /// them). A 201
    /// answers once the write commits; on PostgreSQL its event reaches the hub a moment later,
    /// through LISTEN. A socket opened in between would be greeted with the older counts and
    /// then get the event live, which is right but not what a test that opens it afterwards
    /// expects.
    pub async fn settled(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for (kitchen, counts) in self.store.all_pending_counts().await.expect("the counts") {
            while self.hub.current_counts(kitchen).is_some_and(|current| current.seq < counts.seq) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the hub never caught up with seq {} of kitchen {kitchen}",
                    counts.seq
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// Opens the notification socket with a Bearer token, once the hub has every committed
    /// change.
    pub async fn socket(&self, token: &str) -> Socket {
        self.settled().await;
        open_socket(self.port, token).await
    }

    /// Opens the notification socket after `shape` has set the upgrade request's headers.
    pub async fn socket_with(&self, shape: impl FnOnce(&mut tungstenite::handshake::client::Request)) -> Socket {
        self.settled().await;
        let mut request =
            format!("ws://127.0.0.1:{}/api/v1/notifications", self.port).into_client_request().expect("request");
        shape(&mut request);
        let (stream, response) = tokio_tungstenite::connect_async(request).await.expect("the upgrade succeeds");
        assert_eq!(response.status(), 101);
        Socket { stream, hears_presence: false }
    }

    /// Opens the notification socket over a TCP connection with a tiny receive buffer, as a
    /// client on a slow link would have: a few unread frames fill it.
    pub async fn slow_socket(&self, token: &str) -> Socket {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let stream = socket.connect(([127, 0, 0, 1], self.port).into()).await.expect("connect");
        let (stream, _) =
            tokio_tungstenite::client_async(socket_request(self.port, token), MaybeTlsStream::Plain(stream))
                .await
                .expect("the upgrade succeeds");
        Socket { stream, hears_presence: false }
    }

    /// Stops the server the way SIGTERM does and waits for it to finish.
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The upgrade request for the notification socket of the server on `port`, with a Bearer
/// token.
pub fn socket_request(port: u16, token: &str) -> tungstenite::handshake::client::Request {
    let mut request = format!("ws://127.0.0.1:{port}/api/v1/notifications").into_client_request().expect("request");
    request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {token}")).expect("header"));
    request
}

/// Opens the notification socket of the server on `port` with a Bearer token.
pub async fn open_socket(port: u16, token: &str) -> Socket {
    let (stream, response) =
        tokio_tungstenite::connect_async(socket_request(port, token)).await.expect("the upgrade succeeds");
    assert_eq!(response.status(), 101);
    Socket { stream, hears_presence: false }
}

/// A client's notification socket.
pub struct Socket {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Whether `CHEFS_ONLINE` frames are handed to the test; most tests are about something
    /// else and skip them, as a client that does not show presence would.
    pub hears_presence: bool,
}

/// What the next frame turned out to be.
#[derive(Debug, PartialEq)]
pub enum Received {
    Message(Notification),
    Closed(Option<(u16, String)>),
    Timeout,
}

impl Socket {
    /// The same socket, handing `CHEFS_ONLINE` frames to the test.
    pub fn hearing_presence(self) -> Socket {
        Socket { hears_presence: true, ..self }
    }

    /// The next notification or close, waiting at most `within`.
    pub async fn next_within(&mut self, within: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Received::Timeout,
                Ok(None) => return Received::Closed(None),
                Ok(Some(Err(_))) => return Received::Closed(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    let message: Notification =
                        serde_json::from_str(&text).unwrap_or_else(|error| panic!("unparseable {text}: {error}"));
                    if matches!(message, Notification::ChefsOnline { .. }) && !self.hears_presence {
                        continue;
                    }
                    return Received::Message(message);
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Received::Closed(
                        frame.map(|CloseFrame { code, reason }| (u16::from(code), reason.to_string())),
                    )
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next notification; panics on anything else within five seconds.
    pub async fn next(&mut self) -> Notification {
        match self.next_within(Duration::from_secs(5)).await {
            Received::Message(message) => message,
            other => panic!("expected a notification, got {other:?}"),
        }
    }

    /// The close code and reason; panics if a notification or nothing comes first.
    pub async fn expect_close(&mut self) -> (u16, String) {
        match self.next_within(Duration::from_secs(5)).await {
            Received::Closed(Some(frame)) => frame,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    /// Skips the welcome (and, for admins, the two initial counts).
    pub async fn skip_greeting(&mut self) {
        if let Notification::Connected { session_type, .. } = self.next().await {
            if session_type == app::wire::SessionType::Admin {
                self.next().await;
                self.next().await;
            }
        } else {
            panic!("the first message must be CONNECTED");
        }
    }

    /// Every ITEM_ESCALATED that arrives within `within` (other messages are passed over).
    pub async fn escalations_within(&mut self, within: Duration) -> Vec<app::wire::ItemEscalatedNotice> {
        let deadline = tokio::time::Instant::now() + within;
        let mut escalations = Vec::new();
        loop {
            match self.next_within(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
                Received::Message(Notification::ItemEscalated(notice)) => escalations.push(notice),
                Received::Message(_) => {}
                Received::Timeout => return escalations,
                Received::Closed(frame) => panic!("the socket closed: {frame:?}"),
            }
        }
    }

    /// The next ITEM_ESCALATED, passing over other messages; panics if none comes `within`.
    pub async fn next_escalation(&mut self, within: Duration) -> app::wire::ItemEscalatedNotice {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match self.next_within(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
                Received::Message(Notification::ItemEscalated(notice)) => return notice,
                Received::Message(_) => {}
                other => panic!("expected ITEM_ESCALATED within {within:?}, got {other:?}"),
            }
        }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::Text(text.into())).await.expect("send");
    }

    /// Asserts that nothing arrives for a short while.
    pub async fn expect_silence(&mut self) {
        let received = self.next_within(Duration::from_millis(300)).await;
        assert_eq!(received, Received::Timeout, "expected no message");
    }
}

/// Claims of Gordon (user 1, a head chef) in `session` (a live one, so only what the test
/// changes is wrong), expiring `exp_in_seconds` from now, issued by `iss`.
pub fn claims(session: &str, role: app::wire::Role, exp_in_seconds: i64, iss: &str) -> server::accounts::Claims {
    let now = chrono::Utc::now().timestamp();
    server::accounts::Claims {
        sid: session.into(),
        sub: "1".into(),
        role,
        first_name: "Gordon".into(),
        last_name: "Ramsay".into(),
        iat: now,
        exp: now + exp_in_seconds,
        iss: iss.into(),
        kitchen: server::store::DEMO_KITCHEN_ID.0,
    }
}

/// `token` with one character of its signature changed. (Not the last one: its low bits are
/// base64 padding that decoders may ignore, which would leave the signature intact.)
pub fn tampered(token: &str) -> String {
    let position = token.rfind('.').expect("a JWT has a signature") + 5;
    let mut bytes = token.as_bytes().to_vec();
    bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ASCII")
}

/// Parses a JSON response body into `T`, asserting the status first.
pub async fn expect_json<T: DeserializeOwned>(response: reqwest::Response, status: u16) -> T {
    assert_eq!(response.status(), status, "unexpected status");
    response.json().await.expect("JSON body")
}

/// Asserts a contract error: the status and the `error` code of the JSON body.
pub async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> String {
    let body: app::wire::ErrorBody = expect_json(response, status).await;
    assert_eq!(body.error, code, "error code (message: {})", body.message);
    assert!(!body.message.is_empty());
    body.message
}

/// Generates, for each named `async fn(Db)`, one test on SQLite and one on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test($crate::helpers::Db::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() { super::$test($crate::helpers::Db::Postgres).await })*
        }
    };
}

/// The server binary the process tests run: this build's, or `MISEOS_TEST_SERVER_BINARY` (an
/// older build, to measure a change's before with the same test).
pub fn server_binary() -> String {
    std::env::var("MISEOS_TEST_SERVER_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_server").to_string())
}

/// One server process (the real binary) on a database, as an operator would run it.
pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
    pub http: reqwest::Client,
}

/// The port a server process writes to its `MISEOS_PORT_FILE` once it listens.
pub async fn port_from_file(port_file: &std::path::Path) -> u16 {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(text) = std::fs::read_to_string(port_file) {
                return text.trim().parse::<u16>().expect("the port file holds a port");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server listens within 30 s")
}

impl ServerProcess {
    /// Starts the server binary on a free port and waits until it has written that port to
    /// its port file (`--port-file`), which it does once listening.
    pub async fn start(database_url: &str) -> ServerProcess {
        ServerProcess::start_with(database_url, &[], false).await
    }

    /// [`ServerProcess::start`] with more environment (it wins over the defaults), and its
    /// log piped to `child.stderr` when `capture_log`.
    pub async fn start_with(database_url: &str, env: &[(&str, &str)], capture_log: bool) -> ServerProcess {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let data_dir = std::env::temp_dir().join(format!("miseos-scale-{}", std::process::id()));
        std::fs::create_dir_all(&data_dir).expect("data directory");
        let port_file = data_dir.join(format!("port-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        let _ = std::fs::remove_file(&port_file);
        let child = Command::new(server_binary())
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("DATABASE_URL", database_url)
            .env("MISEOS_JWT_SECRET", TEST_SECRET)
            .env("MISEOS_DEMO", "true")
            .env("MISEOS_MAX_NEW_ITEMS_PER_MINUTE", "0")
            .env("MISEOS_MAX_PENDING_PER_USER", "0")
            .env("MISEOS_MAX_SOCKETS_PER_USER", "0")
            .env("MISEOS_MAX_SOCKET_OPENS_PER_MINUTE", "0")
            .env("MISEOS_MAX_CONNECTIONS_PER_ADDRESS", "0")
            .env("MISEOS_SHUTDOWN_GRACE_SECONDS", "0")
            .env("MISEOS_DATA_DIR", &data_dir)
            .env("MISEOS_PORT_FILE", &port_file)
            .env("LEPTOS_OUTPUT_NAME", "miseos")
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("LEPTOS_SITE_PKG_DIR", "pkg")
            // Warnings show in the test output, but not one per failed sign-in of a flood.
            .env("RUST_LOG", "warn,server::http::api::auth=error")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(if capture_log { Stdio::piped() } else { Stdio::inherit() })
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let port = port_from_file(&port_file).await;
        ServerProcess { child, port, http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Collects the log of a process started with `capture_log`: its lines once it has
    /// stopped.
    pub fn collect_log(&mut self) -> JoinHandle<Vec<String>> {
        use tokio::io::AsyncBufReadExt;
        let log = self.child.stderr.take().expect("started with capture_log");
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(log).lines();
            let mut all = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                all.push(line);
            }
            all
        })
    }

    /// Stops the process with SIGTERM, as an operator's service manager does, and waits.
    pub async fn stop(&mut self) {
        let pid = self.child.id().expect("the server still runs").to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill runs");
        assert!(sent.success());
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        assert!(status.expect("stops within 10 s").expect("exit status").success());
    }

    /// `POST /api/v1/auth/login` with these credentials, whatever the answer.
    pub async fn login_attempt(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/auth/login"))
            .json(&app::wire::LoginRequest { email: email.into(), password: password.into() })
            .send()
            .await
            .expect("login request")
    }

    /// Signs a demo user in through this process and returns the token.
    pub async fn token(&self, email: &str) -> String {
        expect_json::<LoginResponse>(self.login_attempt(email, PASSWORD).await, 200).await.token
    }

    /// A GET with a Bearer token.
    pub async fn get(&self, path: &str, token: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(token).send().await.expect("GET")
    }

    /// The current snapshot, read as an admin.
    pub async fn snapshot(&self, token: &str) -> app::wire::Snapshot {
        expect_json(self.get("/api/v1/notifications/snapshot", token).await, 200).await
    }
}

/// Runs `server <args>` against `database_url`; asserts success and returns its output.
pub async fn run_cli(database_url: &str, args: &[&str]) -> String {
    let (succeeded, output) = run_cli_status(database_url, args).await;
    assert!(succeeded, "server {args:?} failed: {output}");
    output
}

/// Runs `server <args>`: whether it succeeded, and its stdout and stderr.
pub async fn run_cli_status(database_url: &str, args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("the server binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}
