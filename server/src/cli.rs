//! `server kitchen add | list` and `server user add | list | disable | reset-password`:
//! managing kitchens and users from the command line, against the same `DATABASE_URL` as the
//! running servers. This is how a kitchen and its first head chef are made; afterwards the
//! team page does the rest.
//!
//! `server push rotate-key` replaces the deployment's VAPID key (every subscription, made
//! with the old one, is dropped; the pages subscribe again with the new one).
//!
//! `server health` asks the server on this machine's HOST and PORT whether it is ready (a
//! container's `HEALTHCHECK` without curl).
//!
//! `server backup PATH` writes a consistent copy of the SQLite database while the server
//! runs; `server restore PATH` puts one back (server stopped) under a new epoch, and
//! `server renew-epoch` gives a database restored by other means (`pg_restore`) its new one.
//!
//! Changes reach running servers like any other: on PostgreSQL through the bus (NOTIFY), and
//! on either database because every server follows the session endings by their place in the
//! database's order, every half second.

use crate::{
    accounts::{hash_password, temporary_password},
    clock::KitchenClock,
    config::Config,
    event::EndReason,
    live::bus::Bus,
    store::{with_suffix, Kitchen, NewAccount, SessionsToEnd, Store, StoreError},
    validate,
};
use app::wire::{KitchenId, Role, User, UserChanges};
use chrono_tz::Tz;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Logged at start when the database has no user and demo users are off.
pub const FIRST_HEAD_CHEF_HINT: &str = "there are no users yet: create the first head chef with \
     `server user add --email EMAIL --first-name NAME --last-name NAME --role HEAD_CHEF` \
     (same DATABASE_URL; it prints a temporary password to change at the first sign-in, and \
     makes the first kitchen unless `server kitchen add --name NAME --timezone ZONE` did)";

/// The name of the kitchen `server user add` makes when there is none yet.
pub const FIRST_KITCHEN_NAME: &str = "Kitchen";

/// What the command line can do besides serving.
#[derive(Subcommand, Clone, Debug)]
pub enum Command {
    /// Manage kitchens.
    #[command(subcommand)]
    Kitchen(KitchenCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Write a consistent copy of the SQLite database to PATH (a new file) while the server
    /// runs. For PostgreSQL use `pg_dump`.
    Backup {
        /// Where the copy goes; it must not exist yet.
        path: PathBuf,
    },
    /// Replace the SQLite database with the backup at PATH, under a new epoch (open
    /// dashboards then start over). Stop the server first.
    Restore {
        /// A file written by `server backup`.
        path: PathBuf,
    },
    /// Give the database a new epoch, after restoring it by other means (`pg_restore`), before
    /// the servers start again.
    RenewEpoch,
    /// Web Push.
    #[command(subcommand)]
    Push(PushCommand),
    /// Ask the server listening on HOST and PORT (loopback when HOST is unspecified) whether
    /// it is ready: exits 0 when `/readyz` answers 200 within 5 s, 1 otherwise.
    Health,
}

/// `server push …`.
#[derive(Subcommand, Clone, Debug)]
pub enum PushCommand {
    /// Make a new VAPID key and drop every push subscription (each was made with the old
    /// key); open pages subscribe again with the new one. Running servers use it at once.
    RotateKey,
}

/// `server kitchen …`.
#[derive(Subcommand, Clone, Debug)]
pub enum KitchenCommand {
    /// Add a kitchen and print its id.
    Add {
        /// The kitchen's name, as its people know it.
        #[arg(long)]
        name: String,
        /// Its IANA time zone (such as Europe/Copenhagen); MISEOS_TIMEZONE when left out.
        #[arg(long, value_parser = parse_time_zone)]
        timezone: Option<Tz>,
    },
    /// List every kitchen: id, time zone, name.
    List,
}

fn parse_time_zone(name: &str) -> Result<Tz, String> {
    name.trim().parse().map_err(|_| format!("{name:?} is not an IANA time zone name (such as Europe/Copenhagen)"))
}

/// Longest kitchen name, in characters.
const MAX_KITCHEN_NAME_CHARS: usize = 100;

/// `server user …`.
#[derive(Subcommand, Clone, Debug)]
pub enum UserCommand {
    /// Add a user and print their temporary password (shown once).
    Add(AddUser),
    /// List every user: id, email, role, active, name.
    List,
    /// Disable a user and end their sessions.
    Disable {
        /// The user's email.
        email: String,
    },
    /// Give a user a new temporary password (printed once) and end their sessions.
    ResetPassword {
        /// The user's email.
        email: String,
    },
}

/// `server user add`.
#[derive(Args, Clone, Debug)]
pub struct AddUser {
    /// The user's kitchen (`server kitchen list`). May be left out while there is at most
    /// one kitchen; with none, one is made.
    #[arg(long, value_parser = parse_kitchen)]
    pub kitchen: Option<KitchenId>,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub first_name: String,
    #[arg(long)]
    pub last_name: String,
    /// HEAD_CHEF, SOUS_CHEF, LINE_COOK or PREP_COOK.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
}

fn parse_kitchen(id: &str) -> Result<KitchenId, String> {
    id.trim().parse().map(KitchenId).map_err(|_| format!("{id:?} is not a kitchen id (see `server kitchen list`)"))
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(&name.trim().to_uppercase()).ok_or_else(|| {
        let names: Vec<_> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("unknown role {name:?}; use one of {}", names.join(", "))
    })
}

/// Why a command failed; printed to the operator.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Invalid(String),
    #[error("no user has the email {0}")]
    NoSuchUser(String),
    #[error("there is no kitchen {0} (see `server kitchen list`)")]
    NoSuchKitchen(KitchenId),
    #[error("another user already has the email {0}")]
    EmailTaken(String),
    #[error("{0} is the last active head chef; make someone else head chef first")]
    LastHeadChef(String),
    #[error("database: {0}")]
    Store(StoreError),
}

impl From<StoreError> for CliError {
    fn from(error: StoreError) -> Self {
        CliError::Store(error)
    }
}

/// Runs `command` against the configured database; what it prints goes to `out`.
pub async fn run(config: &Config, command: Command, out: &mut impl std::io::Write) -> Result<(), CliError> {
    match &command {
        Command::Restore { path } => return restore(config, path, out).await,
        Command::Health => return health(config, out).await,
        _ => {}
    }
    let store = Store::connect(&config.effective_database_url(), 2, KitchenClock::new(config.timezone))
        .await?
        .with_kitchen_defaults(crate::store::KitchenDefaults::of(config).map_err(CliError::Invalid)?);
    // What the command line changes is announced to the running servers.
    let store = store.clone().with_sink(Arc::new(Bus::outside(store.backend())));
    let result = match command {
        Command::Kitchen(command) => run_kitchen_command(&store, config, command, out).await,
        Command::User(command) => run_user_command(&store, command, out).await,
        Command::Backup { path } if path.exists() => {
            Err(CliError::Invalid(format!("{} already exists; back up to a new file", path.display())))
        }
        Command::Backup { path } => match store.backup_to(&path).await {
            Ok(()) => {
                print(out, &format!("backed up the database to {}", path.display()));
                Ok(())
            }
            Err(StoreError::Unsupported(reason)) => Err(CliError::Invalid(reason.into())),
            Err(error) => Err(error.into()),
        },
        Command::RenewEpoch => match store.renew_epoch().await {
            Ok(epoch) => {
                print(out, &format!("the database's epoch is now {epoch}"));
                Ok(())
            }
            Err(error) => Err(error.into()),
        },
        Command::Push(PushCommand::RotateKey) => {
            let key = crate::outbound::push::VapidKey::generate();
            let dropped = store.replace_push_key(&key).await?;
            print(out, &format!("new VAPID public key {}; {dropped} subscriptions dropped", key.public_key));
            Ok(())
        }
        Command::Restore { .. } | Command::Health => unreachable!("handled before the database is opened"),
    };
    store.close().await;
    result
}

/// `server health`: `/readyz` of the server this configuration describes.
async fn health(config: &Config, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let host = match config.host {
        std::net::IpAddr::V4(address) if address.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(address) if address.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        address => address,
    };
    let url = format!("http://{}/readyz", std::net::SocketAddr::new(host, config.port));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|error| CliError::Invalid(format!("cannot make an HTTP client: {error}")))?;
    let answer = client.get(&url).send().await.map_err(|error| CliError::Invalid(format!("{url}: {error}")))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if status.is_success() {
        print(out, &format!("{url}: {status} {body}"));
        Ok(())
    } else {
        Err(CliError::Invalid(format!("{url}: {status} {body}")))
    }
}

/// `server restore PATH`. Refused while a server runs on the database (every server holds a
/// shared lock on `<database>.lock`; this takes it exclusively). The backup is copied next to
/// the database, migrated, given a new epoch and checkpointed there; then the current database
/// (with its write-ahead log, which may hold commits after an unclean stop) is renamed aside to
/// `<database>.before-restore-<unix seconds>`, and the copy renamed into its place with the
/// owner and mode the database had. A failure before the last step leaves the database as it
/// was; nothing is deleted.
async fn restore(config: &Config, backup: &Path, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let url = config.effective_database_url();
    let database = crate::store::sqlite_path(&url).ok_or_else(|| {
        CliError::Invalid("restore works on SQLite; for PostgreSQL use pg_restore, then `server renew-epoch`".into())
    })?;
    if !backup.is_file() {
        return Err(CliError::Invalid(format!("{} is not a backup file", backup.display())));
    }
    let io = |error: std::io::Error| CliError::Invalid(format!("cannot restore: {error}"));
    let lock = crate::store::database_lock_file(&database).map_err(io)?;
    if lock.try_lock().is_err() {
        return Err(CliError::Invalid(format!(
            "a server is running on {}; stop it before restoring",
            database.display()
        )));
    }
    let staged = with_suffix(&database, ".restoring");
    std::fs::copy(backup, &staged).map_err(io)?;
    let staged_url = format!("sqlite://{}", staged.display());
    let epoch = async {
        let store = Store::connect(&staged_url, 1, KitchenClock::new(config.timezone)).await?;
        // The sessions live when the backup was made are not to be trusted again: their tokens
        // get 401 and their sockets 1008 `session revoked` as soon as a server starts on it.
        store.end_every_session(EndReason::Revoked).await?;
        let epoch = store.renew_epoch().await;
        // Everything into the file itself: only the file is renamed into place.
        let checkpointed = store.checkpoint().await;
        store.close().await;
        checkpointed.and(epoch)
    }
    .await
    .map_err(|error| {
        let _ = std::fs::remove_file(&staged);
        CliError::from(error)
    })?;
    std::fs::File::open(&staged).and_then(|file| file.sync_all()).map_err(io)?;
    let aside = with_suffix(&database, &format!(".before-restore-{}", chrono::Utc::now().timestamp()));
    if let Ok(current) = std::fs::metadata(&database) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::os::unix::fs::chown(&staged, Some(current.uid()), Some(current.gid())).map_err(io)?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(current.mode())).map_err(io)?;
        for suffix in ["-wal", "-shm", ""] {
            match std::fs::rename(with_suffix(&database, suffix), with_suffix(&aside, suffix)) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(io(error)),
                _ => {}
            }
        }
    }
    std::fs::rename(&staged, &database).map_err(io)?;
    if let Some(directory) = database.parent().filter(|directory| !directory.as_os_str().is_empty()) {
        std::fs::File::open(directory).and_then(|directory| directory.sync_all()).map_err(io)?;
    }
    print(
        out,
        &format!(
            "restored {} from {}; its epoch is now {epoch}\nthe database it replaced is kept as {}",
            database.display(),
            backup.display(),
            aside.display()
        ),
    );
    Ok(())
}

async fn run_kitchen_command(
    store: &Store,
    config: &Config,
    command: KitchenCommand,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    match command {
        KitchenCommand::Add { name, timezone } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > MAX_KITCHEN_NAME_CHARS {
                return Err(CliError::Invalid(format!(
                    "a kitchen's name must be 1 to {MAX_KITCHEN_NAME_CHARS} characters long"
                )));
            }
            let kitchen = store.create_kitchen(name, timezone).await?;
            print(out, &kitchen.id.to_string());
        }
        KitchenCommand::List => {
            for kitchen in store.kitchens().await? {
                print(out, &describe_kitchen(&kitchen, config));
            }
        }
    }
    Ok(())
}

/// One line per kitchen: `2  Europe/Copenhagen  Noma` (the deployment's zone marked as such).
fn describe_kitchen(kitchen: &Kitchen, config: &Config) -> String {
    let zone = match kitchen.time_zone {
        Some(zone) => zone.name().to_string(),
        None => format!("{} (MISEOS_TIMEZONE)", config.timezone.name()),
    };
    format!("{}  {zone}  {}", kitchen.id, kitchen.name)
}

/// The kitchen a new user goes to: the one named, else the only one, else a new one.
async fn kitchen_for_new_user(
    store: &Store,
    named: Option<KitchenId>,
    out: &mut impl std::io::Write,
) -> Result<KitchenId, CliError> {
    let kitchens = store.kitchens().await?;
    match (named, &kitchens[..]) {
        (Some(id), _) if kitchens.iter().any(|kitchen| kitchen.id == id) => Ok(id),
        (Some(id), _) => Err(CliError::NoSuchKitchen(id)),
        (None, [only]) => Ok(only.id),
        (None, []) => {
            let kitchen = store.create_kitchen(FIRST_KITCHEN_NAME, None).await?;
            print(out, &format!("made kitchen {} ({FIRST_KITCHEN_NAME}), the first", kitchen.id));
            Ok(kitchen.id)
        }
        (None, _) => Err(CliError::Invalid(
            "there are several kitchens: name the user's with --kitchen ID (see `server kitchen list`)".into(),
        )),
    }
}

async fn run_user_command(store: &Store, command: UserCommand, out: &mut impl std::io::Write) -> Result<(), CliError> {
    match command {
        UserCommand::Add(add) => {
            let new = app::wire::NewUser {
                first_name: add.first_name,
                last_name: add.last_name,
                email: add.email,
                role: add.role,
            };
            validate::new_user(&new).map_err(CliError::Invalid)?;
            // Checked before a first kitchen is made for them (the insert checks again).
            if store.credentials(&new.email).await?.is_some() {
                return Err(CliError::EmailTaken(new.email));
            }
            let kitchen_id = kitchen_for_new_user(store, add.kitchen, out).await?;
            let password = temporary_password();
            let account = NewAccount {
                kitchen_id,
                password_hash: hash(&password).await?,
                email: new.email.clone(),
                first_name: new.first_name,
                last_name: new.last_name,
                role: new.role,
                must_change_password: true,
            };
            let user = store.create_user(&account).await.map_err(|error| match error {
                StoreError::EmailTaken => CliError::EmailTaken(new.email.clone()),
                other => other.into(),
            })?;
            print(out, &format!("added {}\ntemporary password (shown once): {password}", describe(&user)));
        }
        UserCommand::List => {
            for kitchen in store.kitchens().await? {
                for user in store.users(kitchen.id).await? {
                    print(out, &describe(&user));
                }
            }
        }
        UserCommand::Disable { email } => {
            let user = find(store, &email).await?;
            let changes = UserChanges { active: Some(false), ..UserChanges::default() };
            let changed = store.update_user(user.id, &changes).await.map_err(|error| match error {
                StoreError::LastHeadChef => CliError::LastHeadChef(email.clone()),
                other => other.into(),
            })?;
            print(out, &format!("disabled {}; {} session(s) ended", describe(&changed.user), changed.sessions_ended));
        }
        UserCommand::ResetPassword { email } => {
            let user = find(store, &email).await?;
            let password = temporary_password();
            let ended = store
                .set_password(user.id, &hash(&password).await?, true, None, SessionsToEnd::All(EndReason::Revoked))
                .await?;
            print(
                out,
                &format!(
                    "reset the password of {}; {} session(s) ended\ntemporary password (shown once): {password}",
                    describe(&user),
                    ended
                ),
            );
        }
    }
    Ok(())
}

async fn find(store: &Store, email: &str) -> Result<User, CliError> {
    let credentials = store.credentials(email).await?;
    credentials.map(|found| found.user).ok_or_else(|| CliError::NoSuchUser(email.to_string()))
}

async fn hash(password: &str) -> Result<String, CliError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| CliError::Invalid(error.to_string()))
}

/// One line per user: `3  kitchen 1  ali@miseos.dk  LINE_COOK  active  Ali Hassan`.
fn describe(user: &User) -> String {
    let active = if user.active { "active" } else { "disabled" };
    format!(
        "{}  kitchen {}  {}  {}  {active}  {} {}",
        user.id,
        user.kitchen_id,
        user.email,
        user.role.as_str(),
        user.first_name,
        user.last_name
    )
}

fn print(out: &mut impl std::io::Write, text: &str) {
    // Nowhere better to report a closed stdout than the exit code, which the caller sets.
    let _ = writeln!(out, "{text}");
}
