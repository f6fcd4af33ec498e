//! What every sender of the outbox shares: the loop that takes what is due and sends each on
//! its own task, at most [`MAX_IN_FLIGHT`] at once ([`drain`]); the backoff between attempts;
//! and reading at most 4 KiB of an answer.
//!
//! A sender is woken by every commit of this process that recorded something for it, and
//! looks every second besides (a retry coming due, another process's row left when it died).

use rand_core::{OsRng, RngCore};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::{
    sync::{Notify, Semaphore},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Sends under way at once, at most, per sender: a slow receiver holds up only the places its
/// own sends take.
pub const MAX_IN_FLIGHT: usize = 64;

/// How often a sender looks for rows that came due without a wake-up.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// The first retry waits at most this long; each next one twice as long, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(3_600);

/// Most bytes of an answer read (it is only logged).
const MAX_ANSWER_BYTES: usize = 4_096;

/// One kind of outbox row and how it is sent.
pub(super) trait Sender: Send + Sync + 'static {
    /// A row taken to be sent, with what sending it needs.
    type Due: Send + 'static;
    /// What kind of row, for the log ("pushes", "webhook deliveries").
    const WHAT: &'static str;
    /// What a commit that recorded a row of this kind notifies.
    fn wake(&self) -> Arc<Notify>;
    /// Takes at most `room` rows that are due, each for a lease.
    fn take(&self, room: usize) -> impl Future<Output = Result<Vec<Self::Due>, String>> + Send;
    /// Sends one row and records what came of it.
    fn send(&self, due: Self::Due) -> impl Future<Output = ()> + Send;
    /// Called when nothing was due: room for housekeeping.
    fn idle(&self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Runs `sender` on `tasks` until `stop` is cancelled (sends under way finish first: each is
/// limited to 10 s).
pub(super) fn start<S: Sender>(sender: S, tasks: &TaskTracker, stop: CancellationToken) {
    let sends = tasks.clone();
    tasks.spawn(async move { drain(Arc::new(sender), &sends, stop).await });
}

async fn drain<S: Sender>(sender: Arc<S>, sends: &TaskTracker, stop: CancellationToken) {
    let places = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let wake = sender.wake();
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return,
            place = places.clone().acquire_owned() => place.expect("the semaphore is never closed"),
        };
        let room = 1 + places.available_permits();
        let due = match sender.take(room).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "cannot take the {} that are due; trying again", S::WHAT);
                Vec::new()
            }
        };
        if due.is_empty() {
            drop(first);
            sender.idle().await;
            tokio::select! {
                () = stop.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(LOOK_EVERY) => {}
            }
            continue;
        }
        let mut place = Some(first);
        for row in due {
            let place = match place.take() {
                Some(place) => place,
                // Counted as free before taking; only this loop takes places.
                None => places.clone().acquire_owned().await.expect("the semaphore is never closed"),
            };
            let sender = sender.clone();
            sends.spawn(async move {
                sender.send(row).await;
                drop(place);
            });
        }
    }
}

/// How long to wait before attempt `attempts + 1` when the receiver named no time: 5 s, 10 s,
/// 20 s, … up to an hour, each a random time between half that and that, so rows that failed
/// together (a receiver down) do not all come back together.
pub(super) fn backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let full = FIRST_BACKOFF.saturating_mul(1u32 << doublings).min(MAX_BACKOFF);
    let half = full / 2;
    let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_millis(OsRng.next_u64() % spread)
}

/// How long ago a row was recorded (`created_at`, the database's clock) as of now: the time
/// from its taking (`taken_at`, the same clock) plus the time since this process took it
/// (`taken`), so the answer never mixes two machines' clocks.
pub(super) fn since_recorded(created_at: i64, taken_at: i64, taken: Instant) -> Duration {
    Duration::from_millis(u64::try_from(taken_at - created_at).unwrap_or(0)) + taken.elapsed()
}

/// The beginning of an answer's body, at most 4 KiB of it (the rest is never read).
pub(super) async fn answer_text(answer: &mut reqwest::Response) -> String {
    let mut text = Vec::new();
    while let Ok(Some(chunk)) = answer.chunk().await {
        text.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - text.len())]);
        if text.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_within_five_seconds_and_double_up_to_an_hour() {
        for _ in 0..100 {
            let first = backoff(1);
            assert!(first >= Duration::from_millis(2_500) && first <= FIRST_BACKOFF, "{first:?}");
            let third = backoff(3);
            assert!(third >= Duration::from_secs(10) && third <= Duration::from_secs(20), "{third:?}");
            assert!(backoff(40) <= MAX_BACKOFF && backoff(40) >= MAX_BACKOFF / 2);
        }
    }
}
