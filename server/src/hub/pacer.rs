//! Wakes the sessions a broadcast queued frames for, a few at a time.
//!
//! Why not all at once: a broadcast to 10,000 sessions that woke every one of them would put
//! 10,000 tasks in tokio's run queues, most of them in the shared injection queue (a worker's
//! own queue holds 256). Whatever is woken next from outside the runtime, such as a request's
//! next database round trip (sqlx's SQLite worker is its own thread), lands in that queue
//! behind all of them: a create then waits a whole fan-out per round trip, so few events are
//! ever in flight and each session writes them one `write()` at a time.
//!
//! Woken a chunk at a time, with a yield between chunks, the sessions share the cores with
//! everything else. Under load the events batch by themselves: a session woken late finds
//! several waiting and writes them with one flush (up to the session's batch size), and no
//! timer holds anything back, so at low rates nothing waits longer than before.
//!
//! Writes could then outrun the fan-out, and sessions that read fine would overflow their
//! queues waiting for their turn. So writes are admitted against the pacer's load
//! ([`Pacer::admit`]): the broadcasts it has not finished waking, plus the writes admitted
//! and not yet finished (each may add one broadcast). A write waits while that load is at
//! the limit; a session waiting for its turn then gathers at most that many events.

use super::Outbox;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use tokio::sync::{mpsc, Notify};

/// Sessions woken between two yields: small enough that a worker's own queue (256 tasks)
/// holds them, so they never spill into the injection queue.
const WAKE_CHUNK: usize = 128;

/// The sending side: where a broadcast leaves the outboxes to wake.
pub struct Pacer {
    waiting: mpsc::UnboundedSender<Vec<Arc<Outbox>>>,
    load: Arc<Load>,
}

/// Broadcasts not yet all woken, plus writes admitted and not yet finished.
#[derive(Default)]
struct Load {
    count: AtomicUsize,
    lightened: Notify,
}

impl Load {
    fn add(&self) {
        self.count.fetch_add(1, Ordering::AcqRel);
    }

    fn remove(&self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
        self.lightened.notify_waiters();
    }
}

/// An admitted write's place in the pacer's load, given back when dropped (after the write,
/// whose broadcast, if any, has then been counted on its own).
pub struct Admission {
    load: Arc<Load>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.load.remove();
    }
}

impl Pacer {
    /// Starts the task that wakes what it is given; it ends when the pacer is dropped.
    /// Must be called within a tokio runtime.
    pub fn start() -> Pacer {
        let (waiting, to_wake) = mpsc::unbounded_channel();
        let load = Arc::new(Load::default());
        tokio::spawn(wake_in_chunks(to_wake, load.clone()));
        Pacer { waiting, load }
    }

    /// Wakes the sessions of these outboxes, soon, in order.
    pub fn wake(&self, outboxes: Vec<Arc<Outbox>>) {
        if outboxes.is_empty() {
            return;
        }
        self.load.add();
        if let Err(refused) = self.waiting.send(outboxes) {
            // The task is gone (its runtime is shutting down): wake them here rather than
            // leave them, and the load, waiting for ever.
            self.load.remove();
            refused.0.iter().for_each(|outbox| outbox.wake());
        }
    }

    /// Waits until the load is under `limit`, and takes a place in it until the returned
    /// admission is dropped.
    pub async fn admit(&self, limit: usize) -> Admission {
        loop {
            let lightened = self.load.lightened.notified();
            let count = self.load.count.load(Ordering::Acquire);
            if count >= limit {
                lightened.await;
                continue;
            }
            if self.load.count.compare_exchange(count, count + 1, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                return Admission { load: self.load.clone() };
            }
            // Another writer or broadcast changed the load meanwhile: look again.
        }
    }
}

async fn wake_in_chunks(mut to_wake: mpsc::UnboundedReceiver<Vec<Arc<Outbox>>>, load: Arc<Load>) {
    while let Some(outboxes) = to_wake.recv().await {
        for chunk in outboxes.chunks(WAKE_CHUNK) {
            for outbox in chunk {
                outbox.wake();
            }
            tokio::task::yield_now().await;
        }
        load.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Next;
    use axum::extract::ws::Utf8Bytes;

    #[tokio::test]
    async fn every_session_given_is_woken() {
        let pacer = Pacer::start();
        let outboxes: Vec<Arc<Outbox>> = (0..WAKE_CHUNK * 3 + 1).map(|_| Arc::new(Outbox::default())).collect();
        let waiters: Vec<_> = outboxes
            .iter()
            .map(|outbox| {
                let outbox = outbox.clone();
                tokio::spawn(async move { outbox.next().await })
            })
            .collect();
        tokio::task::yield_now().await;
        for outbox in &outboxes {
            assert_eq!(outbox.push_quietly(&[Utf8Bytes::from_static("x")], 8), Some(true));
        }
        pacer.wake(outboxes);
        for waiter in waiters {
            let woken = tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await;
            assert_eq!(woken.expect("woken in time").expect("ran"), Next::Frame(Utf8Bytes::from_static("x")));
        }
    }
}
