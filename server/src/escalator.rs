//! The pass's timekeeper (API.md section 12): every few seconds it escalates whatever has
//! waited past its kitchen's `escalateAfterMinutes`. Every process runs one; the store decides
//! which item is due and claims it in one write (`Store::escalate_next`), so an item is
//! announced once however many processes look and however often they restart, and the bus
//! takes the announcement to every process's dashboards.

use crate::store::Store;
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How often a process looks for items to escalate: an item is escalated at most this long
/// after it became due (the contract allows 30 s).
pub const LOOK_EVERY: Duration = Duration::from_secs(5);

/// The most escalated in one look: a backlog (pending items of a database restored from a
/// backup) is worked off over a few looks rather than holding the writers' turn at once.
const MOST_PER_LOOK: usize = 50;

/// Looks every [`LOOK_EVERY`], on `tasks`, until `stop` is cancelled.
pub fn start(store: Store, tasks: &TaskTracker, stop: CancellationToken) {
    tasks.spawn(async move {
        let mut looks = tokio::time::interval(LOOK_EVERY);
        looks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = looks.tick() => escalate_due(&store).await,
            }
        }
    });
}

/// Escalates the items due now, oldest first; a failure waits for the next look.
async fn escalate_due(store: &Store) {
    for _ in 0..MOST_PER_LOOK {
        match store.escalate_next().await {
            Ok(Some(escalation)) => tracing::info!(
                kitchen = %escalation.kitchen_id,
                item = escalation.notice.request_id,
                category = escalation.notice.category.resource(),
                waited_minutes = escalation.notice.waited_minutes,
                "escalated an item nobody reviewed in time"
            ),
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot escalate the items waiting too long; looking again shortly");
                return;
            }
        }
    }
}
