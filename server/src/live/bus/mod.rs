//! Carries what the store commits to the hubs, in `seq` order. The bus is the store's
//! [`EventSink`]:
//!
//! - [`Bus::InProcess`] (SQLite, one process): nothing to stage; a committed event goes
//!   straight to the hub. The store runs one SQLite write at a time, up to and including
//!   this hand-over, so events reach the hub in commit order.
//! - [`Bus::Postgres`]: each announcement is staged as a `pg_notify` inside its transaction;
//!   a listener task in each process receives them (PostgreSQL delivers notifications in
//!   commit order, and only for committed transactions) and hands them to its hub. A process
//!   hears its own writes the same way, so `committed` has nothing left to do.
//! - [`Bus::Outside`] (the command line): no hub to feed. On PostgreSQL it still stages the
//!   NOTIFY of what it changes; running SQLite servers find its changes by themselves.
//!
//! Ended sessions travel the same way as a bare announcement: a process that hears one
//! re-reads the ended sessions from the database (see `sessions`), so what a notification
//! says is never trusted beyond "look now".

mod postgres;

use crate::{
    event::Event,
    hub::Hub,
    metrics::BusMetrics,
    store::{Announcement, Backend, EventSink, Store, StoreError},
};
use sqlx::AnyConnection;
use std::sync::Arc;
use tokio::sync::Notify;

pub use postgres::ListenerHealth;

/// How committed events travel to the hubs.
#[derive(Clone)]
pub enum Bus {
    InProcess { hub: Hub },
    Postgres { health: ListenerHealth },
    Outside { backend: Backend },
}

impl Bus {
    /// The bus for `store`: in-process for SQLite, LISTEN/NOTIFY for PostgreSQL (the listener
    /// task is started here and runs until `shutdown` fires). `sessions_ended` is notified
    /// when another process says it ended sessions.
    pub async fn start(
        store: &Store,
        database_url: &str,
        hub: Hub,
        sessions_ended: Arc<Notify>,
        shutdown: tokio::sync::watch::Receiver<bool>,
        metrics: BusMetrics,
    ) -> Result<Bus, StoreError> {
        match store.backend() {
            Backend::Sqlite => Ok(Bus::InProcess { hub }),
            Backend::Postgres => {
                let health =
                    postgres::start_listener(store.clone(), database_url, hub, sessions_ended, shutdown, metrics)
                        .await?;
                Ok(Bus::Postgres { health })
            }
        }
    }

    /// The bus of a process that serves nothing (the command line).
    pub fn outside(store: &Store) -> Bus {
        Bus::Outside { backend: store.backend() }
    }

    /// Whether events are flowing: always for in-process, for PostgreSQL while the LISTEN
    /// connection is up.
    pub fn is_connected(&self) -> bool {
        match self {
            Bus::InProcess { .. } | Bus::Outside { .. } => true,
            Bus::Postgres { health } => health.is_listening(),
        }
    }
}

impl EventSink for Bus {
    async fn stage<'a>(
        &'a self,
        connection: &'a mut AnyConnection,
        announcement: Announcement<'a>,
    ) -> Result<(), sqlx::Error> {
        match self {
            Bus::InProcess { .. } | Bus::Outside { backend: Backend::Sqlite } => Ok(()),
            Bus::Postgres { .. } | Bus::Outside { backend: Backend::Postgres } => {
                postgres::notify(connection, announcement).await
            }
        }
    }

    fn committed(&self, event: &Event) {
        if let Bus::InProcess { hub } = self {
            hub.publish(event);
        }
    }
}
