//! MiseOS Live server: the REST API, the notification WebSocket and the Leptos pages, on one
//! port, in one process.
//!
//! A tour, in the order one notification travels:
//!
//! - [`config`]: flags and environment.
//! - [`api`]: one module per resource; parses and validates input, authenticates the caller
//!   ([`auth`]: Argon2id passwords, HS256 tokens, where a request carries its token) and
//!   calls the store, giving it the bus. Its `socket` module upgrades the notification
//!   socket and hands it to the hub.
//! - [`store`]: SQL on SQLite or PostgreSQL. Each write is one transaction that also bumps
//!   its kitchen's pending counters and `seq`, and hands its [`event::Event`] to the sink it
//!   is given: staged inside the transaction, then again once committed.
//! - [`bus`]: that sink. It carries committed events to the hub in `seq` order, in-process
//!   (SQLite) or through PostgreSQL LISTEN/NOTIFY (several processes).
//! - [`hub`]: the sessions of each kitchen, who receives what, fan-out of shared bytes
//!   through bounded queues, and the socket task with its close codes.
//!
//! Beside that path: [`sessions`] knows which sign-ins are live (checked on every request,
//! ended sessions pushed to the hub's sockets), [`throttle`] slows password guessing, and
//! [`cli`] manages kitchens and users from the command line against the same database. At the door,
//! [`serve`] holds the connection limits and timeouts, and [`edge`] the headers, the cookie
//! rule, the request timeout and the panic guard. For the operator: [`metrics`] (the
//! Prometheus registry every part counts into) and [`telemetry`] (request spans, HTTP
//! metrics, `/metrics`).
//!
//! [`Application::build`] wires them together and binds the port;
//! [`Application::run_until_stopped`] serves until a shutdown signal, then closes every
//! session with 1001 and lets in-flight requests finish.

pub mod api;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod edge;
pub mod event;
pub mod hub;
pub mod metrics;
pub mod pages;
pub mod serve;
pub mod sessions;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod validate;

use crate::{
    auth::TokenKeys,
    bus::Bus,
    clock::KitchenClock,
    config::Config,
    hub::Hub,
    metrics::{BusMetrics, HubMetrics, Metrics, PoolMetrics},
    sessions::Sessions,
    store::Store,
    throttle::PasswordChecks,
};
use app::data::PageData;
use axum::{
    extract::{DefaultBodyLimit, FromRef, State},
    handler::Handler,
    http::StatusCode,
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{future::Future, net::SocketAddr, ops::Deref, path::Path, sync::Arc};
use tokio::{net::TcpListener, sync::watch};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<AppContext>);

/// The shared parts of the running application.
pub struct AppContext {
    pub config: Config,
    pub store: Store,
    pub bus: Bus,
    pub hub: Hub,
    pub sessions: Sessions,
    pub password_checks: PasswordChecks,
    pub sign_ins_in_flight: throttle::InFlight,
    pub tokens: TokenKeys,
    /// A real Argon2id hash checked when an email is unknown, so sign-in takes as long
    /// for unknown emails as for wrong passwords.
    pub decoy_password_hash: String,
    pub leptos_options: LeptosOptions,
    pub metrics: Arc<Metrics>,
}

impl Deref for AppState {
    type Target = AppContext;
    fn deref(&self) -> &AppContext {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Secret(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Busy(String),
}

/// A built application with its port bound, ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// `MISEOS_METRICS_PORT`'s listener, when set.
    metrics_listener: Option<TcpListener>,
    /// SQLite: the shared lock on `<database>.lock`, released when the application is dropped.
    _database_lock: Option<std::fs::File>,
    state: AppState,
    stop_bus: watch::Sender<bool>,
}

impl Application {
    /// Opens the database (migrating and seeding it), starts the bus and binds the port.
    pub async fn build(config: Config, leptos_options: LeptosOptions) -> Result<Application, StartError> {
        let secret = resolve_secret(&config)?;
        let clock = KitchenClock::new(config.timezone);
        let database_url = config.effective_database_url();
        let limits = store::WriteLimits {
            new_items_per_minute: config.max_new_items_per_minute,
            pending_per_user: config.max_pending_per_user,
        };
        // Held for the life of the process: `server restore` refuses to swap the file under it.
        let database_lock = match store::sqlite_path(&database_url) {
            Some(database) => {
                let lock = store::database_lock_file(&database)?;
                lock.try_lock_shared().map_err(|_| {
                    StartError::Busy(format!("{} is being restored; start again when that is done", database.display()))
                })?;
                Some(lock)
            }
            None => None,
        };
        let (hub_metrics, bus_metrics, pool_metrics) =
            (HubMetrics::default(), BusMetrics::default(), PoolMetrics::default());
        let metrics = Metrics::new(hub_metrics.clone(), bus_metrics.clone(), pool_metrics.clone());
        let store = Store::connect(&database_url, config.db_max_connections, clock)
            .await?
            .with_write_limits(limits)
            .with_pool_metrics(pool_metrics);
        if store.has_no_users().await? {
            if config.demo {
                let users = tokio::task::spawn_blocking(demo::demo_users)
                    .await
                    .map_err(|error| StartError::Secret(error.to_string()))?;
                if store.ensure_demo_kitchen().await? {
                    store.seed_users(&users).await?;
                    tracing::info!("seeded the demo users (password in the README; development only)");
                } else {
                    tracing::warn!(
                        "kitchen 1 is not the demo kitchen ({}): the demo users are not seeded",
                        store::DEMO_KITCHEN_NAME
                    );
                }
            } else {
                tracing::warn!("{}", cli::FIRST_HEAD_CHEF_HINT);
            }
        }
        let decoy_password_hash = tokio::task::spawn_blocking(|| auth::hash_password("decoy for unknown emails"))
            .await
            .map_err(|error| StartError::Secret(error.to_string()))?;
        let hub = Hub::new(
            store.epoch(),
            config.ws_queue_capacity,
            usize::try_from(config.max_sockets_per_user).unwrap_or(usize::MAX),
            hub_metrics,
        );
        // Every kitchen's counts as they are now; from here on the hub follows the events (and,
        // on PostgreSQL, reads them all again whenever its listener connects).
        for (kitchen_id, counts) in store.all_pending_counts().await? {
            hub.resync(kitchen_id, counts);
        }
        let (stop_bus, bus_stopped) = watch::channel(false);
        let sessions_ended_elsewhere = Arc::new(tokio::sync::Notify::new());
        let bus = Bus::start(
            &store,
            &database_url,
            hub.clone(),
            sessions_ended_elsewhere.clone(),
            bus_stopped.clone(),
            bus_metrics,
        )
        .await?;
        let sessions =
            Sessions::new(store.clone(), hub.clone(), bus.clone(), config.session_idle(), sessions_ended_elsewhere);
        sessions.spawn_watcher(bus_stopped);
        let listener = listen(SocketAddr::new(config.host, config.port))?;
        let metrics_host = config.metrics_host.unwrap_or(config.host);
        let metrics_listener =
            config.metrics_port.map(|port| listen(SocketAddr::new(metrics_host, port))).transpose()?;
        if let Some(path) = &config.port_file {
            write_port_file(path, listener.local_addr()?.port())?;
        }
        let state = AppState(Arc::new(AppContext {
            tokens: TokenKeys::new(&secret, config.token_ttl()),
            config,
            store,
            bus,
            hub,
            sessions,
            password_checks: PasswordChecks::per_core(),
            sign_ins_in_flight: throttle::InFlight::default(),
            decoy_password_hash,
            leptos_options,
            metrics,
        }));
        let router = router(state.clone());
        Ok(Application { listener, router, metrics_listener, state, stop_bus, _database_lock: database_lock })
    }

    /// The bound address (with the real port when the configured one was 0).
    pub fn address(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::new(self.state.config.host, self.state.config.port))
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// The port `/metrics` is served on, when it has its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener.as_ref().and_then(|listener| listener.local_addr().ok()).map(|address| address.port())
    }

    /// The shared state, for tests and tools that look inside (token keys, hub).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` completes; then closes every WebSocket session with 1001, waits
    /// for in-flight requests, stops the bus and closes the database.
    pub async fn run_until_stopped(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let hub = self.state.hub.clone();
        let limits = self.state.config.connection_limits();
        let (stop_metrics, metrics_stopped) = watch::channel(false);
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = Router::new().route("/metrics", get(telemetry::metrics)).with_state(self.state.clone());
            let mut stopped = metrics_stopped;
            tokio::spawn(serve::serve(listener, router, limits, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }))
        });
        let served = serve::serve(self.listener, self.router, limits, async move {
            stop.await;
            let _ = stop_metrics.send(true);
            tracing::info!("shutting down: closing every session");
            hub.shut_down().await;
            tracing::info!("every session closed; finishing in-flight requests");
        })
        .await;
        if let Some(metrics_server) = metrics_server {
            // Its stop was signalled with the main server's; it only finishes its scrapes.
            let _ = metrics_server.await;
        }
        // The bus may already have stopped if no listener task was started.
        let _ = self.stop_bus.send(true);
        self.state.store.close().await;
        if let Some(path) = &self.state.config.port_file {
            // The port is no longer ours; a script must not find it and connect elsewhere.
            let _ = std::fs::remove_file(path);
        }
        tracing::info!("stopped");
        served
    }
}

/// Pending connections the kernel may hold for us. After a restart every client reconnects
/// at once; with the usual 1,024 the overflow waits for SYN retransmission (1 s, then 3 s).
const LISTEN_BACKLOG: u32 = 8192;

/// Binds the listening socket with a backlog sized for reconnect storms.
fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The whole HTTP surface: `/api/v1`, the health checks, the pages and their assets.
fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let leptos_options = state.leptos_options.clone();
    let page_data: Arc<dyn PageData> = Arc::new(pages::StorePageData { state: state.clone() });
    let api = api::router().layer(edge::api_headers());
    let api = match state.config.request_timeout() {
        Some(timeout) => api.layer(edge::request_timeout(timeout)),
        None => api,
    };
    let router = Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
        .route("/readyz", get(readiness))
        .route("/api/openapi.json", get(api::openapi_json))
        .route("/api/docs", get(api::docs_page));
    let router =
        if state.config.metrics_port.is_none() { router.route("/metrics", get(telemetry::metrics)) } else { router };
    let router = router
        .leptos_routes_with_context(
            &state,
            routes,
            move || leptos::prelude::provide_context(page_data.clone()),
            move || app::shell(leptos_options.clone()),
        )
        // Only the files (and 404s) go through the fallback, so only they pay for the cache rule.
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell).layer(
            axum::middleware::from_fn_with_state(Arc::new(asset_caching(&state.leptos_options)), edge::asset_caching),
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(edge::catch_panic())
        .layer(telemetry::CountRequests { metrics: state.metrics.clone() })
        .layer(edge::common_headers())
        .layer(telemetry::request_spans())
        .layer(edge::request_id());
    let router = if state.config.cookie_is_secure() { router.layer(edge::hsts()) } else { router };
    router.with_state(state)
}

/// The cache rule of the build output, from where the build put it and whether it hashed
/// its names.
fn asset_caching(options: &LeptosOptions) -> edge::AssetCaching {
    edge::AssetCaching {
        pkg_prefix: format!("/{}/", options.site_pkg_dir.trim_matches('/')),
        content_hashed: options.hash_files,
    }
}

/// 200 when the database answers and events flow; 503 otherwise.
async fn readiness(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ping().await && state.bus.is_connected() {
        (StatusCode::OK, Json(serde_json::json!({ "status": "ready" }))).into_response()
    } else {
        api::ApiError::Unavailable.into_response()
    }
}

/// The JWT secret: configured (at least 32 bytes), or generated once and kept in the data
/// directory for development.
fn resolve_secret(config: &Config) -> Result<Vec<u8>, StartError> {
    if let Some(secret) = &config.jwt_secret {
        return check_secret_length(secret.as_bytes().to_vec(), "MISEOS_JWT_SECRET");
    }
    if let Some(path) = &config.jwt_secret_file {
        let secret = std::fs::read_to_string(path).map_err(|error| {
            StartError::Secret(format!("cannot read MISEOS_JWT_SECRET_FILE {}: {error}", path.display()))
        })?;
        return check_secret_length(secret.trim().as_bytes().to_vec(), &path.display().to_string());
    }
    let path = config.data_dir.join("jwt-secret");
    if path.exists() {
        let secret = std::fs::read_to_string(&path)?;
        return check_secret_length(secret.trim().as_bytes().to_vec(), &path.display().to_string());
    }
    let secret = auth::generate_secret();
    write_private(&config.data_dir, &path, &secret)?;
    tracing::warn!(
        "MISEOS_JWT_SECRET is not set: generated a development secret in {}; set it in production",
        path.display()
    );
    Ok(secret.into_bytes())
}

fn check_secret_length(secret: Vec<u8>, source: &str) -> Result<Vec<u8>, StartError> {
    if secret.len() < config::MIN_SECRET_BYTES {
        return Err(StartError::Secret(format!(
            "the JWT secret from {source} has {} bytes; at least {} are required",
            secret.len(),
            config::MIN_SECRET_BYTES
        )));
    }
    Ok(secret)
}

/// Writes `port` to `path` whole: into `<path>.partial` first, then renamed, so a reader
/// never sees half of it.
fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    let partial = with_suffix(path, ".partial");
    std::fs::write(&partial, format!("{port}\n"))?;
    std::fs::rename(&partial, path)
}

/// `path` with `suffix` appended to its file name (`miseos.db` → `miseos.db-wal`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// Writes a file only its owner can read.
fn write_private(directory: &Path, path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    std::fs::create_dir_all(directory)?;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}
