//! The source of truth: kitchens, users and their sessions, the items of every kind and the
//! pending counters, on SQLite (the default) or PostgreSQL behind one API.
//!
//! Every item write is ONE transaction that changes the item and bumps the category's pending
//! count and the kitchen's `seq` in that kitchen's `kitchen_counters` row. The counter row is
//! the kitchen's serialization point: within a kitchen, `seq` order is commit order on both
//! databases, and writers in different kitchens do not wait for each other's row. Every write
//! that ends sessions takes the next number of the one `session_ending_counter` row the same
//! way, so endings too are ordered by the database, never by a process's clock.
//!
//! The store is the outbox of everything live. It knows nothing of sockets or channels: it is
//! given an [`AnnouncementSink`] (the bus) and hands it every write's [`Announcement`] twice:
//! inside the transaction, just before COMMIT ([`AnnouncementSink::stage`]: PostgreSQL queues
//! its NOTIFY there, so it is delivered if and only if the write commits), and once committed
//! ([`AnnouncementSink::committed`]: this process delivers there). On SQLite the store lets one
//! write run at a time, from its first statement until the sink has the committed
//! announcement, so they leave in commit order (each kitchen's events in `seq` order). The
//! COMMIT and the hand-over run in a task of their own ([`Write::commit`]), so a caller that
//! is dropped half-way (a client hanging up) cannot leave a change committed but unannounced.

mod accounts;
mod escalation;
mod idempotency;
mod items;
mod kitchens;
mod live_log;
mod presence;
mod push;
mod webhooks;

pub use accounts::{
    normalize_email, now_millis, Credentials, NewAccount, SessionState, SessionsToEnd, StoredSession, UserChanged,
};
pub use idempotency::{Claimed, IdempotencyKey};
pub use items::{ItemFilter, ItemKind};
pub use kitchens::{Kitchen, KitchenDefaults, DEMO_KITCHEN_ID, DEMO_KITCHEN_NAME};
pub use push::{
    push_payload, DuePush, PushSubscriptionRow, PushSubscriptionToStore, StoredPushKey, MAX_PUSH_PAYLOAD_BYTES,
};
pub use webhooks::{AttemptRecord, DeliveryNext, DueDelivery, WebhookToStore, MAX_WEBHOOKS_PER_KITCHEN};

use crate::{
    clock::KitchenClock,
    event::{Announcement, StaffClaim},
    metrics::PoolMetrics,
};
use app::wire::UserId;
use futures::future::BoxFuture;
use sqlx::{any::AnyPoolOptions, pool::PoolConnection, Any, AnyConnection, AnyPool, Executor, Row};
use std::{
    path::Path,
    str::FromStr,
    sync::{Arc, RwLock},
    time::Duration,
};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database is behind the store.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if it is one we support.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No item with that id (or not one the caller may see).
    #[error("not found")]
    NotFound,
    /// The item is no longer PENDING.
    #[error("already reviewed")]
    AlreadyReviewed,
    /// Another user has this email.
    #[error("email taken")]
    EmailTaken,
    /// The change would leave no active head chef.
    #[error("last head chef")]
    LastHeadChef,
    /// A write limit was reached: retry after this many seconds.
    #[error("{limit}")]
    TooManyRequests { limit: WriteLimit, retry_after: u64 },
    /// Not possible on this database; the text says what to do instead.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The change breaks a field rule; the text names the field and the rule.
    #[error("{0}")]
    Invalid(String),
    /// The password changed meanwhile (a reset won a race with the user's own change).
    #[error("password changed meanwhile")]
    PasswordChanged,
    /// The database URL names no supported database.
    #[error("unsupported database URL (use sqlite://… or postgres://…)")]
    UnsupportedUrl,
    /// The write was cut off by the runtime shutting down.
    #[error("interrupted by shutdown")]
    Interrupted,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the database's directory or file: {0}")]
    Directory(#[from] std::io::Error),
}

/// How many items one user may write (0: no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteLimits {
    pub new_items_per_minute: u32,
    pub pending_per_user: u32,
}

/// Which write limit was reached; its text is the message the user reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteLimit {
    #[error("you can send at most {0} new requests and suggestions a minute")]
    PerMinute(u32),
    #[error("you have {0} requests and suggestions waiting for review; wait until some are reviewed")]
    Pending(u32),
}

/// Where a write hands what it commits: the bus implements it. The store holds one (see
/// [`Store::with_sink`]); a store without one (a tool that serves nothing) announces nothing.
pub trait AnnouncementSink: Send + Sync + 'static {
    /// Called inside the write's transaction, after its changes and just before COMMIT.
    /// An error rolls the write back.
    fn stage<'a>(
        &'a self,
        connection: &'a mut AnyConnection,
        announcement: &'a Announcement,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>>;

    /// Called once the write's transaction has committed, in commit order on SQLite.
    fn committed(&self, announcement: &Announcement);
}

/// The sink of a store that announces nothing.
struct Silent;

impl AnnouncementSink for Silent {
    fn stage<'a>(&'a self, _: &'a mut AnyConnection, _: &'a Announcement) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn committed(&self, _: &Announcement) {}
}

/// The one store API over SQLite and PostgreSQL. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The clock of kitchens made without a zone of their own.
    default_clock: KitchenClock,
    /// The clocks of the kitchens this process has read; forgotten when a kitchen's settings
    /// change (on any process: the bus tells).
    clocks: Arc<RwLock<kitchens::ClockCache>>,
    /// What a kitchen without settings of its own follows: the deployment's variables.
    kitchen_defaults: KitchenDefaults,
    /// SQLite only: whose turn it is to write. SQLite admits one writer anyway; waiting here
    /// instead of on its busy timeout also keeps a write and its delivery together.
    write_turn: Option<Arc<Mutex<()>>>,
    write_limits: WriteLimits,
    pool_metrics: PoolMetrics,
    /// The database's epoch as read at start (a restore happens with the servers stopped).
    epoch: Arc<str>,
    /// Where committed announcements go.
    sink: Arc<dyn AnnouncementSink>,
    /// Told when a write that recorded a push has committed: the outbox's push sender in
    /// this process sends it at once rather than at its next look.
    outbox_wake: Arc<Notify>,
    /// The same for a webhook delivery, and the webhooks' sender (each sender waits on its
    /// own: one wake-up is taken by one waiter).
    webhook_wake: Arc<Notify>,
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`. Kitchens
    /// without a zone of their own read the time on `default_clock`.
    pub async fn connect(url: &str, max_connections: u32, default_clock: KitchenClock) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or(StoreError::UnsupportedUrl)?;
        if backend == Backend::Sqlite {
            create_sqlite_directory(url)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            // A SQLite connection lives in this process and cannot go away: checking it with
            // a ping before each use only adds a round trip to its worker thread (one of the
            // five or six a create otherwise waits for under load). A PostgreSQL connection
            // is still checked: the database may have restarted since it was last used.
            .test_before_acquire(backend != Backend::Sqlite)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; NORMAL sync is durable
                        // in WAL mode except for the last commits on power loss.
                        connection.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        let write_turn = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let epoch: String = sqlx::query_scalar("SELECT epoch FROM database_epoch").fetch_one(&pool).await?;
        Ok(Store {
            pool,
            backend,
            default_clock,
            clocks: Arc::default(),
            kitchen_defaults: KitchenDefaults::default(),
            write_turn,
            write_limits: WriteLimits::default(),
            pool_metrics: PoolMetrics::default(),
            epoch: epoch.into(),
            sink: Arc::new(Silent),
            outbox_wake: Arc::default(),
            webhook_wake: Arc::default(),
        })
    }

    /// The database's epoch: changes when it is restored from a backup, and with it the
    /// meaning of `seq`.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Moves everything in SQLite's write-ahead log into the database file (a no-op on
    /// PostgreSQL).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *self.connection().await?).await?;
        }
        Ok(())
    }

    /// Gives the database a new epoch (after a restore); returns it. Servers read it when
    /// they start.
    pub async fn renew_epoch(&self) -> Result<String, StoreError> {
        let epoch = generate_epoch();
        sqlx::query("UPDATE database_epoch SET epoch = $1")
            .bind(&epoch)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(epoch)
    }

    /// The same store, enforcing `limits` on new items.
    /// The settings kitchens without their own follow, and new kitchens start with.
    pub fn with_kitchen_defaults(self, defaults: KitchenDefaults) -> Store {
        Store { kitchen_defaults: defaults, ..self }
    }

    pub fn with_write_limits(self, limits: WriteLimits) -> Store {
        Store { write_limits: limits, ..self }
    }

    /// The same store, announcing what it commits to `sink`.
    pub fn with_sink(self, sink: Arc<dyn AnnouncementSink>) -> Store {
        Store { sink, ..self }
    }

    /// The same store, counting its callers waiting for a connection into `metrics`.
    pub fn with_pool_metrics(self, metrics: PoolMetrics) -> Store {
        Store { pool_metrics: metrics, ..self }
    }

    /// The pool's connections: `(open, idle)`.
    pub fn pool_status(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// A pooled connection; the caller counts as waiting until it has one.
    async fn connection(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        let _waiting = self.pool_metrics.wait();
        self.pool.acquire().await
    }

    /// A transaction on a pooled connection; the caller counts as waiting until it has begun.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        let _waiting = self.pool_metrics.wait();
        self.pool.begin().await
    }

    /// Starts a write: waits until this process may write (SQLite; at once on PostgreSQL,
    /// where the counter row's lock orders writers across processes), then begins its
    /// transaction.
    async fn begin_write(&self) -> Result<Write, StoreError> {
        let turn = match &self.write_turn {
            Some(turn) => Some(turn.clone().lock_owned().await),
            None => None,
        };
        Ok(Write { tx: self.begin().await?, turn, wakes_outbox: false, wakes_webhooks: false })
    }

    /// What a committed write that recorded a push notifies.
    pub fn outbox_wake(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// What a committed write that recorded a webhook delivery notifies.
    pub fn webhook_wake(&self) -> Arc<Notify> {
        self.webhook_wake.clone()
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Writes a consistent copy of the SQLite database to `path` (which must not exist), while
    /// other connections go on reading and writing: `VACUUM INTO` reads one snapshot.
    pub async fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported("backups of PostgreSQL are made with pg_dump (see the README)"));
        }
        // Made first, readable by its owner only, like the database (VACUUM INTO fills an
        // empty file): a backup holds every password hash.
        create_private_file(path)?;
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().into_owned())
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        let Ok(mut connection) = self.connection().await else { return false };
        sqlx::query("SELECT 1").execute(&mut *connection).await.is_ok()
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Takes the next STAFF socket claim from the shared sequence, records it as the user's
    /// newest and announces it, so every process hears of it. `None` on SQLite, where one
    /// process numbers its own sockets.
    pub async fn claim_staff_socket(&self, user_id: UserId) -> Result<Option<StaffClaim>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let mut write = Write { tx: self.begin().await?, turn: None, wakes_outbox: false, wakes_webhooks: false };
        let row = sqlx::query("SELECT nextval('staff_session_claims')").fetch_one(&mut *write.tx).await?;
        let claim = StaffClaim { user_id, claim: row.try_get(0)? };
        sqlx::query(
            "INSERT INTO staff_session_latest (user_id, claim) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET claim = GREATEST(staff_session_latest.claim, EXCLUDED.claim)",
        )
        .bind(claim.user_id.0)
        .bind(claim.claim)
        .execute(&mut *write.tx)
        .await?;
        self.commit(write, Announcement::Claim(claim)).await?;
        Ok(Some(claim))
    }

    /// Stages `announcement` with the sink, then commits and hands it to the sink in a task of
    /// its own that also holds the turn until then: dropping the caller mid-COMMIT can neither
    /// lose the announcement nor let the next write announce first.
    /// Sessions that end take their push subscriptions with them, in the same transaction.
    async fn commit(&self, mut write: Write, announcement: Announcement) -> Result<(), StoreError> {
        if let Announcement::SessionsEnded(ended) = &announcement {
            push::forget_subscriptions_of_ending(&mut write.tx, ended.seq).await?;
        }
        self.sink.stage(&mut write.tx, &announcement).await?;
        let sink = self.sink.clone();
        let outbox_wake = write.wakes_outbox.then(|| self.outbox_wake.clone());
        let webhook_wake = write.wakes_webhooks.then(|| self.webhook_wake.clone());
        let committing = tokio::spawn(async move {
            write.tx.commit().await?;
            sink.committed(&announcement);
            drop(write.turn);
            for wake in [outbox_wake, webhook_wake].into_iter().flatten() {
                wake.notify_one();
            }
            Ok(())
        });
        match committing.await {
            Ok(result) => result,
            // A panic while committing is a bug: let it surface as one.
            Err(join_error) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
            Err(_) => Err(StoreError::Interrupted),
        }
    }
}

/// A new database epoch: a [`random_id`].
fn generate_epoch() -> String {
    random_id()
}

/// 16 random hex digits: a database's epoch, a running process's presence id.
pub fn random_id() -> String {
    use rand_core::{OsRng, RngCore};
    format!("{:016x}", OsRng.next_u64())
}

/// A write under way: its transaction and, on SQLite, the turn that lets it run alone.
struct Write {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    turn: Option<OwnedMutexGuard<()>>,
    /// Whether it recorded a push for the outbox's sender.
    wakes_outbox: bool,
    /// Whether it recorded a webhook delivery for the webhooks' sender.
    wakes_webhooks: bool,
}

/// The lock file beside a SQLite database, `<database>.lock`: every server holds it shared
/// for as long as it runs, and `server restore` needs it exclusively. Its directory is made
/// if need be, as the database's is: it is taken before the database is opened.
pub fn database_lock_file(database: &Path) -> std::io::Result<std::fs::File> {
    create_parent_directory(database)?;
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(with_suffix(database, ".lock"))
}

/// The file of a SQLite database URL; `None` for any other database.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    if Backend::of_url(url)? != Backend::Sqlite {
        return None;
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// Makes sure the directory of a `sqlite://path` URL exists, so a first start just works, and
/// makes a new database's file readable by its owner only (SQLite gives its write-ahead log
/// the same mode): it holds every password hash.
fn create_sqlite_directory(url: &str) -> Result<(), StoreError> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let file = Path::new(options.get_filename());
    create_parent_directory(file)?;
    if !options.get_filename().as_os_str().is_empty() && file != Path::new(":memory:") {
        create_private_file(file)?;
    }
    Ok(())
}

/// Creates `path` empty, readable and writable by its owner only, unless it exists.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

fn create_parent_directory(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(directory) if !directory.as_os_str().is_empty() => std::fs::create_dir_all(directory),
        _ => Ok(()),
    }
}

/// `path` with `suffix` appended to its file name (`miseos.db` → `miseos.db-wal`).
pub fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}
