//! Carries committed events to the hub, in `seq` order.
//!
//! - [`Bus::InProcess`] (SQLite, one process): a write runs under one async lock together
//!   with its publication, so events reach the hub in commit order. SQLite admits one writer
//!   at a time anyway, so the lock costs no throughput.
//! - [`Bus::Postgres`]: the store queues every event with `pg_notify` inside its transaction;
//!   a listener task in each process receives them (PostgreSQL delivers notifications in
//!   commit order) and hands them to its hub. A process hears its own writes the same way.

mod postgres;

use crate::{
    hub::Hub,
    store::{Committed, Store, StoreError},
};
use std::{future::Future, sync::Arc};

pub use postgres::ListenerHealth;

/// How committed events travel to the hubs.
#[derive(Clone)]
pub enum Bus {
    InProcess { hub: Hub, write_order: Arc<tokio::sync::Mutex<()>> },
    Postgres { health: ListenerHealth },
}

impl Bus {
    /// The bus for `store`: in-process for SQLite, LISTEN/NOTIFY for PostgreSQL (the listener
    /// task is started here and runs until `shutdown` fires).
    pub async fn start(
        store: &Store,
        database_url: &str,
        hub: Hub,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Bus, StoreError> {
        match store.backend() {
            crate::store::Backend::Sqlite => {
                Ok(Bus::InProcess { hub, write_order: Arc::new(tokio::sync::Mutex::new(())) })
            }
            crate::store::Backend::Postgres => {
                let health = postgres::start_listener(store.clone(), database_url, hub, shutdown).await?;
                Ok(Bus::Postgres { health })
            }
        }
    }

    /// Runs a store write and delivers its event. The write runs in its own task, so a
    /// client that disconnects mid-request cannot cancel it between commit and delivery.
    pub async fn write<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<Committed<T>, StoreError>> + Send + 'static,
    {
        let bus = self.clone();
        let task = tokio::spawn(async move {
            match &bus {
                Bus::InProcess { hub, write_order } => {
                    let _turn = write_order.lock().await;
                    let committed = write.await?;
                    hub.publish(&committed.event);
                    Ok(committed.value)
                }
                Bus::Postgres { .. } => write.await.map(|committed| committed.value),
            }
        });
        match task.await {
            Ok(result) => result,
            // A panic in the write is a bug: let it surface as one.
            Err(join_error) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
            Err(_) => Err(StoreError::Interrupted),
        }
    }

    /// The claim that orders a new STAFF session among the user's sessions in every process:
    /// `None` in-process (the hub numbers its own), else from PostgreSQL, announced to all.
    pub async fn claim_staff_session(&self, store: &Store, user_id: i64) -> Result<Option<i64>, StoreError> {
        match self {
            Bus::InProcess { .. } => Ok(None),
            Bus::Postgres { .. } => Ok(Some(store.claim_staff_session(user_id).await?.claim)),
        }
    }

    /// Whether events are flowing: always for in-process, for PostgreSQL while the LISTEN
    /// connection is up.
    pub fn is_connected(&self) -> bool {
        match self {
            Bus::InProcess { .. } => true,
            Bus::Postgres { health } => health.is_listening(),
        }
    }
}
