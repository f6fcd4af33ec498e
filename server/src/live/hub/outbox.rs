//! A socket's outbound queue: bounded, never blocking the hub, and free for idle sockets.
//!
//! One small allocation per socket holds the frames waiting to be written and the reason
//! the hub closed the socket, if it did. The queue is a `VecDeque` that allocates only
//! when the first frame arrives (a channel would reserve its slots up front, about a KiB per
//! idle socket). The hub pushes under a short std mutex, never across an `.await`; the
//! socket task is the only consumer and is woken through a `Notify` permit.

use super::{CloseReason, Frame};
use std::{
    collections::VecDeque,
    sync::{Mutex, MutexGuard},
};
use tokio::sync::Notify;

/// What the socket should do next.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// Write this frame.
    Frame(Frame),
    /// Send this close frame and stop.
    Close(CloseReason),
}

#[derive(Default)]
struct State {
    frames: VecDeque<Frame>,
    close: Option<CloseReason>,
}

/// The queue between the hub (many producers, via the registry) and one socket task.
#[derive(Default)]
pub struct Outbox {
    state: Mutex<State>,
    wake: Notify,
}

impl Outbox {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every critical section is a push or pop that cannot panic half-way.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues all of `frames` and wakes the socket (one lock, one wake-up) unless that would
    /// exceed `capacity` waiting frames; false when full (or already closed), and then nothing
    /// is queued.
    pub fn push(&self, frames: &[Frame], capacity: usize) -> bool {
        let queued = self.push_quietly(frames, capacity).is_some();
        if queued {
            self.wake();
        }
        queued
    }

    /// Queues all of `frames` like [`Outbox::push`] but leaves the wake-up to the caller:
    /// `None` when refused, else whether the socket needs one. It does only when the queue
    /// was empty: frames already waiting have a wake-up on its way (or the socket is awake),
    /// and the socket looks at the queue before it waits again.
    pub fn push_quietly(&self, frames: &[Frame], capacity: usize) -> Option<bool> {
        let mut state = self.state();
        if state.close.is_some() || state.frames.len() + frames.len() > capacity {
            return None;
        }
        let was_empty = state.frames.is_empty();
        state.frames.extend(frames.iter().cloned());
        Some(was_empty)
    }

    /// Wakes the socket to look at its queue.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the socket to close with `reason`; queued frames are dropped. The first reason
    /// wins.
    pub fn close(&self, reason: CloseReason) {
        let mut state = self.state();
        if state.close.is_none() {
            state.close = Some(reason);
            state.frames = VecDeque::new();
        }
        drop(state);
        self.wake.notify_one();
    }

    /// The next frame, or the close request (which comes first). Cancel-safe: nothing is
    /// taken from the queue unless it is returned.
    pub async fn next(&self) -> Next {
        self.wait_for(|state| match state.close {
            Some(reason) => Some(Next::Close(reason)),
            None => state.frames.pop_front().map(Next::Frame),
        })
        .await
    }

    /// Resolves once the hub has asked the socket to close.
    pub async fn closed(&self) -> CloseReason {
        self.wait_for(|state| state.close).await
    }

    /// Waits until `ready` finds something in the state. A push or close between the check
    /// and the wait is not missed: it leaves a `Notify` permit, which ends the wait at once.
    async fn wait_for<T>(&self, mut ready: impl FnMut(&mut State) -> Option<T>) -> T {
        loop {
            if let Some(found) = ready(&mut self.state()) {
                return found;
            }
            self.wake.notified().await;
        }
    }

    /// Moves up to `max` waiting frames into `batch`, unless a close was requested.
    pub fn take_waiting(&self, batch: &mut Vec<Frame>, max: usize) {
        let mut state = self.state();
        if state.close.is_some() {
            return;
        }
        let count = state.frames.len().min(max);
        batch.extend(state.frames.drain(..count));
        if state.frames.is_empty() && state.frames.capacity() > 64 {
            // A burst is over: give its memory back rather than keep it per socket.
            state.frames = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_come_out_in_order_and_a_full_queue_refuses() {
        let outbox = Outbox::default();
        assert!(outbox.push(&[Frame::text("a"), Frame::text("b")], 3));
        assert!(!outbox.push(&[Frame::text("c"), Frame::text("d")], 3));
        assert_eq!(outbox.next().await, Next::Frame(Frame::text("a")));
        let mut batch = Vec::new();
        outbox.take_waiting(&mut batch, 10);
        assert_eq!(batch, vec![Frame::text("b")]);
        assert!(outbox.push(&[Frame::text("c")], 3));
    }

    #[test]
    fn only_the_push_into_an_empty_queue_asks_for_a_wake() {
        let outbox = Outbox::default();
        assert_eq!(outbox.push_quietly(&[Frame::text("a")], 8), Some(true));
        assert_eq!(outbox.push_quietly(&[Frame::text("b")], 8), Some(false));
        let mut batch = Vec::new();
        outbox.take_waiting(&mut batch, 8);
        assert_eq!(outbox.push_quietly(&[Frame::text("c")], 8), Some(true));
        outbox.close(CloseReason::TOO_SLOW);
        assert_eq!(outbox.push_quietly(&[Frame::text("d")], 8), None);
    }

    #[tokio::test]
    async fn a_close_overtakes_waiting_frames_and_refuses_new_ones() {
        let outbox = Outbox::default();
        assert!(outbox.push(&[Frame::text("a")], 8));
        outbox.close(CloseReason::TOO_SLOW);
        outbox.close(CloseReason::SHUTDOWN);
        assert!(!outbox.push(&[Frame::text("b")], 8));
        assert_eq!(outbox.next().await, Next::Close(CloseReason::TOO_SLOW));
        assert_eq!(outbox.closed().await, CloseReason::TOO_SLOW);
    }

    #[tokio::test]
    async fn a_waiting_socket_wakes_for_a_frame() {
        let outbox = std::sync::Arc::new(Outbox::default());
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.next().await }
        });
        tokio::task::yield_now().await;
        assert!(outbox.push(&[Frame::text("x")], 8));
        assert_eq!(waiter.await.unwrap(), Next::Frame(Frame::text("x")));
    }
}
