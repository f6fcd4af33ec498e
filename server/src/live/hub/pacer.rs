//! Wakes the sockets a broadcast queued frames for, a few at a time.
//!
//! Why not all at once: a broadcast to 10,000 sockets that woke every one of them would put
//! 10,000 tasks in tokio's run queues, most of them in the shared injection queue (a worker's
//! own queue holds 256). Whatever is woken next from outside the runtime, such as a request's
//! next database round trip (sqlx's SQLite worker is its own thread), lands in that queue
//! behind all of them: a create then waits a whole fan-out per round trip, so few events are
//! ever in flight and each socket writes them one `write()` at a time.
//!
//! Woken a chunk at a time, with a yield between chunks, the sockets share the cores with
//! everything else.
//!
//! Under load the events batch: the pacer wakes in rounds (every socket handed over since
//! the last round), and when broadcasts arrived while a round was being woken, the next
//! round waits twice the last one's length (see [`ROUND_SPACING`]). A socket then writes
//! the events that gathered meanwhile with one vectored write (up to the socket's batch
//! size), where woken as fast as possible it wrote a few frames per `writev`: on loopback
//! that call's cost is nearly all per call, not per byte, and the readers pay per call too.
//! At low rates a round ends before the next broadcast, nothing is held, and nothing waits
//! longer than before; a kitchen of ten sockets is woken in microseconds, so its pause is
//! as short.
//!
//! Writes could then outrun the fan-out, and sockets that read fine would overflow their
//! queues waiting for their turn. So writes are admitted against the pacer's load
//! ([`Pacer::admit`]): the broadcasts it has not finished waking (every broadcast counts,
//! also one whose sockets all had frames waiting already and need no new wake-up), plus the
//! writes admitted and not yet finished (each may add one broadcast). A write waits while
//! that load is at the limit; a socket waiting for its turn then gathers at most that many
//! events.

use super::Outbox;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use std::time::Duration;
use tokio::{
    sync::{mpsc, Notify},
    time::Instant,
};

/// Sessions woken between two yields: small enough that a worker's own queue (256 tasks)
/// holds them, so they never spill into the injection queue.
const WAKE_CHUNK: usize = 128;

/// Under load, how many times a round's own length the next round waits from its start: the
/// sockets then write what gathered meanwhile with one write each, instead of a few frames
/// per write as fast as the kernel takes them; the writers and readers get the core time
/// that saves (docs/PERFORMANCE.md).
const ROUND_SPACING: u32 = 2;

/// The longest pause between two rounds, however long the last round took.
const MAX_PAUSE: Duration = Duration::from_millis(250);

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
        tokio::spawn(wake_in_rounds(to_wake, load.clone()));
        Pacer { waiting, load }
    }

    /// Wakes the sockets of these outboxes, soon, in order. Called once per broadcast, also
    /// with none: the broadcast counts in the load until its round is woken.
    pub fn wake(&self, outboxes: Vec<Arc<Outbox>>) {
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

/// Wakes what it is given in rounds: a round is every socket handed over since the last
/// one, woken a chunk at a time. When broadcasts arrived while a round was being woken, the
/// fan-out is behind, and the next round waits until `ROUND_SPACING` times the last round's
/// length has passed since it began (at most `MAX_PAUSE`).
async fn wake_in_rounds(mut to_wake: mpsc::UnboundedReceiver<Vec<Arc<Outbox>>>, load: Arc<Load>) {
    let mut round = Vec::new();
    while let Some(first) = to_wake.recv().await {
        round.push(first);
        loop {
            let started = Instant::now();
            for outboxes in round.drain(..) {
                for chunk in outboxes.chunks(WAKE_CHUNK) {
                    for outbox in chunk {
                        outbox.wake();
                    }
                    tokio::task::yield_now().await;
                }
                load.remove();
            }
            gather_handed_over(&mut to_wake, &mut round);
            if round.is_empty() {
                break;
            }
            let pause = (started.elapsed() * ROUND_SPACING).min(MAX_PAUSE);
            tokio::time::sleep_until(started + pause).await;
            gather_handed_over(&mut to_wake, &mut round);
        }
    }
}

/// Moves every list already handed over into `round`.
fn gather_handed_over(to_wake: &mut mpsc::UnboundedReceiver<Vec<Arc<Outbox>>>, round: &mut Vec<Vec<Arc<Outbox>>>) {
    while let Ok(outboxes) = to_wake.try_recv() {
        round.push(outboxes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::hub::{Frame, Next};

    #[tokio::test]
    async fn every_socket_given_is_woken() {
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
            assert_eq!(outbox.push_quietly(&[Frame::text("x")], 8), Some(true));
        }
        pacer.wake(outboxes);
        for waiter in waiters {
            let woken = tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await;
            assert_eq!(woken.expect("woken in time").expect("ran"), Next::Frame(Frame::text("x")));
        }
    }

    #[tokio::test]
    async fn a_broadcast_with_no_socket_to_wake_counts_in_the_load_until_its_round() {
        let pacer = Pacer::start();
        pacer.wake(Vec::new());
        assert_eq!(pacer.load.count.load(Ordering::Acquire), 1);
        let admitted = tokio::time::timeout(Duration::from_secs(5), pacer.admit(1)).await;
        assert!(admitted.is_ok(), "admitted once the round is woken");
    }
}
