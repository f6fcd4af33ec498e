//! Presence (API.md section 13): records in the database which chefs have a dashboard open in
//! this process, as the hub reports them, so every process can tell its cooks how many are
//! online in their kitchen (the store announces each change; the bus carries it to every
//! hub).
//!
//! - A chef's last dashboard closing is recorded only after [`LEAVE_GRACE`]: a tablet that
//!   reconnects at once (a restart, a Wi-Fi blip) is not announced as gone and back.
//! - The process renews its row every [`RENEW_EVERY`] for [`ALIVE_FOR`]; a process whose row
//!   lapsed died without closing its sockets, and the first process to notice (each looks as
//!   often as it renews) takes its chefs away: cooks hear of it within
//!   `ALIVE_FOR + RENEW_EVERY` (40 s; the contract allows 60). If this process's own row lapsed
//!   meanwhile (the database was away), its chefs are recorded again.
//! - Stopping takes this process's chefs away at once.

use super::hub::ChefPresence;
use crate::store::Store;
use app::wire::{KitchenId, UserId};
use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};
use tokio::{sync::mpsc::UnboundedReceiver, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How long a chef's last dashboard must stay closed before they count as gone.
pub const LEAVE_GRACE: Duration = Duration::from_secs(1);
/// How often the process renews its row and looks for lapsed ones.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How long a renewed row holds.
pub const ALIVE_FOR: Duration = Duration::from_secs(30);

/// Records this process (`process`, a random id of this run) as running, then keeps recording
/// the chefs' presence the hub reports on `changes`, on `tasks`, until `stop` is cancelled.
pub async fn start(
    store: Store,
    process: String,
    changes: UnboundedReceiver<ChefPresence>,
    tasks: &TaskTracker,
    stop: CancellationToken,
) -> Result<(), crate::store::StoreError> {
    store.renew_presence(&process, millis(ALIVE_FOR)).await?;
    let recorder = Recorder { store, process, here: HashSet::new(), leaving: HashMap::new(), unrecorded: false };
    tasks.spawn(recorder.run(changes, stop));
    Ok(())
}

struct Recorder {
    store: Store,
    process: String,
    /// The chefs recorded as online here.
    here: HashSet<(KitchenId, UserId)>,
    /// Chefs whose last dashboard closed, and when they count as gone.
    leaving: HashMap<(KitchenId, UserId), Instant>,
    /// Whether recording an arrival failed: the next renewal records every chef here again.
    unrecorded: bool,
}

impl Recorder {
    async fn run(mut self, mut changes: UnboundedReceiver<ChefPresence>, stop: CancellationToken) {
        let mut renew = tokio::time::interval(RENEW_EVERY);
        renew.tick().await;
        loop {
            let next_leave = self.leaving.values().min().copied();
            tokio::select! {
                () = stop.cancelled() => break,
                change = changes.recv() => match change {
                    Some(change) => self.heard(change).await,
                    None => break,
                },
                () = sleep_until(next_leave) => self.record_leavers().await,
                _ = renew.tick() => self.renew().await,
            }
        }
        // Stopping: this process's chefs are gone with it.
        if let Err(error) = self.store.sweep_lapsed_presence(Some(&self.process)).await {
            tracing::warn!(%error, "cannot take this process's chefs away; they go when its row lapses");
        }
    }

    async fn heard(&mut self, change: ChefPresence) {
        let chef = (change.kitchen, change.user);
        if !change.online {
            self.leaving.insert(chef, Instant::now() + LEAVE_GRACE);
            return;
        }
        // Back within the grace: nothing happened, as far as anyone else can tell.
        if self.leaving.remove(&chef).is_none() || !self.here.contains(&chef) {
            self.record(chef, true).await;
        }
    }

    async fn record_leavers(&mut self) {
        let now = Instant::now();
        let gone: Vec<_> = self.leaving.iter().filter(|(_, at)| **at <= now).map(|(chef, _)| *chef).collect();
        for chef in gone {
            self.leaving.remove(&chef);
            self.record(chef, false).await;
        }
    }

    /// Records one chef's arrival or departure; what fails is tried again (an arrival at the
    /// next renewal, a departure one renewal period later). Recording is idempotent.
    async fn record(&mut self, chef: (KitchenId, UserId), online: bool) {
        if online {
            self.here.insert(chef);
        } else {
            self.here.remove(&chef);
        }
        if let Err(error) = self.store.set_chef_online(&self.process, chef.0, chef.1, online).await {
            tracing::warn!(%error, "cannot record a chef's presence; trying again shortly");
            if online {
                self.unrecorded = true;
            } else {
                self.leaving.insert(chef, Instant::now() + RENEW_EVERY);
            }
        }
    }

    /// Renews this process's row (recording its chefs again if it had lapsed), retries what
    /// failed, and takes away the chefs of processes whose row lapsed.
    async fn renew(&mut self) {
        match self.store.renew_presence(&self.process, millis(ALIVE_FOR)).await {
            Ok(renewed) => {
                if !renewed {
                    tracing::warn!(
                        "this process's presence lapsed (the database was away?); recording its chefs again"
                    );
                }
                if !renewed || std::mem::take(&mut self.unrecorded) {
                    let chefs: Vec<_> = self.here.iter().copied().collect();
                    for chef in chefs {
                        self.record(chef, true).await;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot renew this process's presence");
                return;
            }
        }
        if let Err(error) = self.store.sweep_lapsed_presence(None).await {
            tracing::warn!(%error, "cannot take away the chefs of stopped processes");
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
