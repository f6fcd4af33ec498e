//! Start-up and shutdown: [`Application::build`] opens the database (migrating and seeding
//! it), wires the parts together (the store announcing through the bus, the bus handing to the
//! hub and the session cache) and binds the port; [`Application::run_until_stopped`] serves
//! until a shutdown signal, closes every socket with 1001, lets requests in flight finish,
//! and stops the background tasks, waiting for each.

use crate::{
    accounts::{self, demo, tokens, SessionCache, Sessions, TokenKeys},
    cli,
    clock::KitchenClock,
    config::Config,
    escalator,
    http::{self, serve, AppContext, AppState},
    live::{self, bus::Bus, hub::Hub, LiveHandler},
    metrics::{BusMetrics, HubMetrics, Metrics, OutboundMetrics, PoolMetrics},
    outbound::{self, push::VapidKey, OutboundRules, SecretSealer},
    store::{self, Store},
};
use axum::Router;
use leptos::config::LeptosOptions;
use std::{future::Future, net::SocketAddr, path::Path, sync::Arc};
use tokio::net::TcpListener;
use tokio_util::{
    sync::{CancellationToken, DropGuard},
    task::TaskTracker,
};

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
    #[error("{0}")]
    Config(String),
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
    /// The background tasks (the bus, the session upkeep): stopping waits for each.
    tasks: TaskTracker,
    /// Stops the background tasks when the application is dropped unserved (a test that
    /// builds one and lets it go) as when it stops.
    stop_tasks: DropGuard,
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
        let outbound = OutboundRules::new(&config.push_extra_origins)
            .map_err(|why| StartError::Config(format!("MISEOS_PUSH_EXTRA_ORIGINS: {why}")))?;
        let webhook_rules = OutboundRules::new(&config.webhook_extra_origins)
            .map_err(|why| StartError::Config(format!("MISEOS_WEBHOOK_EXTRA_ORIGINS: {why}")))?;
        let webhook_sealer = SecretSealer::new(&secret);
        let (push_subject, subject_unset) = config.push_subject();
        if subject_unset && !config.demo {
            tracing::warn!("MISEOS_PUSH_SUBJECT is not set: push services are given {push_subject} as the contact; set it to yours");
        }
        let (hub_metrics, bus_metrics, pool_metrics, push_metrics, webhook_metrics) = (
            HubMetrics::default(),
            BusMetrics::default(),
            PoolMetrics::default(),
            OutboundMetrics::pushes(),
            OutboundMetrics::webhooks(),
        );
        let metrics = Metrics::new(
            hub_metrics.clone(),
            bus_metrics.clone(),
            pool_metrics.clone(),
            push_metrics.clone(),
            webhook_metrics.clone(),
        );
        let store = Store::connect(&database_url, config.db_max_connections, clock)
            .await?
            .with_kitchen_defaults(store::KitchenDefaults::of(&config).map_err(StartError::Config)?)
            .with_write_limits(limits)
            .with_pool_metrics(pool_metrics);
        if store.has_no_users().await? {
            seed(&store, &config).await?;
        }
        // The deployment's VAPID key: the first process to start makes it, every other reads it.
        let push_key = store.push_key_or_insert(VapidKey::generate()).await?;
        VapidKey::from_stored(&push_key).map_err(StartError::Config)?;
        let decoy_password_hash = tokio::task::spawn_blocking(|| accounts::hash_password("decoy for unknown emails"))
            .await
            .map_err(|error| StartError::Secret(error.to_string()))?;
        let hub = Hub::new(
            store.epoch(),
            config.ws_queue_capacity,
            usize::try_from(config.max_sockets_per_user).unwrap_or(usize::MAX),
            hub_metrics,
        );
        // Every kitchen's chefs online as they are now; from here on the hub follows the
        // announcements (and, on PostgreSQL, reads them all again whenever its listener
        // connects). A kitchen's counts are read when its first socket comes.
        for online in store.all_chefs_online().await? {
            hub.set_chefs_online(online);
        }
        let tasks = TaskTracker::new();
        let stop = CancellationToken::new();
        // Held from here: a start-up that fails below stops what it has started.
        let stop_tasks = stop.clone().drop_guard();
        let session_cache = SessionCache::new(live::close_sockets(hub.clone()));
        let handler = Arc::new(LiveHandler { hub: hub.clone(), sessions: session_cache.clone() });
        let bus = Bus::start(&store, &database_url, handler, bus_metrics, &tasks, stop.child_token()).await?;
        // From here on, what the store commits is announced through the bus.
        let store = store.with_sink(Arc::new(bus.clone()));
        let sessions = Sessions::new(store.clone(), session_cache, config.session_idle());
        tasks.spawn(sessions.clone().keep_up(stop.child_token()));
        let (presence_changes, presence_heard) = tokio::sync::mpsc::unbounded_channel();
        hub.report_presence(presence_changes);
        live::presence::start(store.clone(), store::random_id(), presence_heard, &tasks, stop.child_token()).await?;
        escalator::start(store.clone(), &tasks, stop.child_token());
        outbound::start_push_sender(
            store.clone(),
            outbound.clone(),
            push_subject,
            push_metrics,
            &tasks,
            stop.child_token(),
        );
        outbound::start_webhook_sender(
            store.clone(),
            webhook_rules.clone(),
            webhook_sealer.clone(),
            webhook_metrics,
            &tasks,
            stop.child_token(),
        );
        let listener = listen(SocketAddr::new(config.host, config.port))?;
        let metrics_host = config.metrics_host.unwrap_or(config.host);
        let metrics_listener =
            config.metrics_port.map(|port| listen(SocketAddr::new(metrics_host, port))).transpose()?;
        if let Some(path) = &config.port_file {
            write_port_file(path, listener.local_addr()?.port())?;
        }
        let socket_opens = accounts::throttle::AttemptLimiter::new(
            config.max_socket_opens_per_minute,
            std::time::Duration::from_secs(60),
        );
        let state = AppState(Arc::new(AppContext {
            tokens: TokenKeys::new(&secret, config.token_ttl()),
            outbound,
            webhook_rules,
            webhook_sealer,
            draining: std::sync::atomic::AtomicBool::new(false),
            config,
            store,
            bus,
            hub,
            sockets: TaskTracker::new(),
            sessions,
            password_checks: accounts::throttle::PasswordChecks::per_core(),
            sign_ins_in_flight: accounts::throttle::InFlight::default(),
            sign_in_attempts: accounts::throttle::AttemptLimiter::new(
                accounts::throttle::ATTEMPTS_PER_CLIENT,
                std::time::Duration::from_secs(60),
            ),
            socket_opens,
            decoy_password_hash,
            leptos_options,
            metrics,
        }));
        let router = http::router(state.clone());
        Ok(Application { listener, router, metrics_listener, state, tasks, stop_tasks, _database_lock: database_lock })
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

    /// Serves until `stop` completes; then closes every socket with 1001, waits for requests
    /// in flight, stops the background tasks (waiting for each) and closes the database.
    pub async fn run_until_stopped(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (hub, sockets, state) = (self.state.hub.clone(), self.state.sockets.clone(), self.state.clone());
        let limits = serve::ConnectionLimits::of(&self.state.config);
        let stop_metrics = CancellationToken::new();
        let metrics_server = self.metrics_listener.map(|listener| {
            let stopped = stop_metrics.clone();
            tokio::spawn(serve::serve(listener, http::metrics_router(self.state.clone()), limits.clone(), async move {
                stopped.cancelled().await;
            }))
        });
        let served = serve::serve(self.listener, self.router, limits, async move {
            stop.await;
            let grace = std::time::Duration::from_secs(state.config.shutdown_grace_seconds);
            state.draining.store(true, std::sync::atomic::Ordering::Release);
            if !grace.is_zero() {
                tracing::info!(?grace, "stopping: /readyz answers 503 while everything else is still served");
                tokio::time::sleep(grace).await;
            }
            stop_metrics.cancel();
            tracing::info!("shutting down: closing every socket");
            hub.shut_down().await;
            // Sockets still being set up find the hub closed and are closed with 1001 too.
            sockets.close();
            sockets.wait().await;
            tracing::info!("every socket closed; finishing in-flight requests");
        })
        .await;
        if let Some(metrics_server) = metrics_server {
            // Its stop was signalled with the main server's; it only finishes its scrapes.
            let _ = metrics_server.await;
        }
        self.stop_tasks.disarm().cancel();
        self.tasks.close();
        self.tasks.wait().await;
        self.state.store.close().await;
        if let Some(path) = &self.state.config.port_file {
            // The port is no longer ours; a script must not find it and connect elsewhere.
            let _ = std::fs::remove_file(path);
        }
        tracing::info!("stopped");
        served
    }
}

/// Seeds an empty database: the demo users in development, else a hint on how to make the
/// first head chef.
async fn seed(store: &Store, config: &Config) -> Result<(), StartError> {
    if !config.demo {
        tracing::warn!("{}", cli::FIRST_HEAD_CHEF_HINT);
        return Ok(());
    }
    let users =
        tokio::task::spawn_blocking(demo::demo_users).await.map_err(|error| StartError::Secret(error.to_string()))?;
    if store.ensure_demo_kitchen().await? {
        store.seed_users(&users).await?;
        tracing::info!("seeded the demo users (password in the README; development only)");
    } else {
        tracing::warn!(
            "kitchen 1 is not the demo kitchen ({}): the demo users are not seeded",
            store::DEMO_KITCHEN_NAME
        );
    }
    Ok(())
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
    let secret = tokens::generate_secret();
    write_private(&config.data_dir, &path, &secret)?;
    tracing::warn!(
        "MISEOS_JWT_SECRET is not set: generated a development secret in {}; set it in production",
        path.display()
    );
    Ok(secret.into_bytes())
}

fn check_secret_length(secret: Vec<u8>, source: &str) -> Result<Vec<u8>, StartError> {
    if secret.len() < tokens::MIN_SECRET_BYTES {
        return Err(StartError::Secret(format!(
            "the JWT secret from {source} has {} bytes; at least {} are required",
            secret.len(),
            tokens::MIN_SECRET_BYTES
        )));
    }
    Ok(secret)
}

/// Writes `port` to `path` whole: into `<path>.partial` first, then renamed, so a reader
/// never sees half of it.
fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    let partial = store::with_suffix(path, ".partial");
    std::fs::write(&partial, format!("{port}\n"))?;
    std::fs::rename(&partial, path)
}

/// Writes a file only its owner can read.
fn write_private(directory: &Path, path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    std::fs::create_dir_all(directory)?;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}
