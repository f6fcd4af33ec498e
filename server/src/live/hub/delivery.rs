//! The fan-out of one committed event's messages ([`crate::event::deliveries`]), each
//! serialized and framed once, into the sockets' queues ([`broadcast`], [`direct`]).

use super::{CloseReason, Frame, Shared, SocketHandle, SocketId};
use crate::{event::PendingCounts, metrics::HubMetrics};
use app::wire::{Category, KitchenId, Notification, UserId};
use std::collections::HashMap;

/// The PENDING_COUNT_UPDATED of one category of `counts`.
pub(super) fn count_update(counts: &PendingCounts, category: Category, timestamp: &str) -> Notification {
    Notification::PendingCountUpdated {
        category,
        count: counts.of(category),
        seq: counts.seq,
        timestamp: timestamp.to_string(),
    }
}

/// Both categories' PENDING_COUNT_UPDATED of `counts`, framed: what a greeting, a resync and a
/// read that ran ahead of the events send.
pub(super) fn count_frames(counts: &PendingCounts, timestamp: &str) -> [Frame; 2] {
    Category::ALL.map(|category| encode(&count_update(counts, category, timestamp)))
}

/// Serializes and frames a message once; the result is shared by every recipient.
pub(super) fn encode(message: &Notification) -> Frame {
    // The message types hold only strings and integers; serializing them cannot fail.
    Frame::text(&serde_json::to_string(message).expect("notifications always serialize"))
}

/// Queues `frames` (in order) on every one of a kitchen's `admins` and has the pacer wake
/// them; closes with 1013 the sockets whose queue is full. Counts the frames and bytes sent.
pub(super) fn broadcast(admins: &mut HashMap<SocketId, SocketHandle>, frames: &[Frame], shared: &Shared) {
    if frames.is_empty() {
        return;
    }
    let metrics = &shared.metrics;
    let mut overflowed = Vec::new();
    let mut to_wake = Vec::new();
    for (id, socket) in admins.iter() {
        match socket.outbox.push_quietly(frames, shared.queue_capacity) {
            Some(true) => to_wake.push(socket.outbox.clone()),
            Some(false) => {}
            None => overflowed.push(*id),
        }
    }
    shared.pacer.wake(to_wake);
    let recipients = (admins.len() - overflowed.len()) as u64;
    let bytes: usize = frames.iter().map(Frame::payload_len).sum();
    metrics.frames.inc_by(recipients * frames.len() as u64);
    metrics.bytes.inc_by(recipients * bytes as u64);
    close_too_slow(admins, overflowed, metrics);
}

/// Closes with 1013 the sockets (by their keys in `sockets`) whose queue was full, and counts
/// them.
fn close_too_slow<K: Eq + std::hash::Hash>(
    sockets: &mut HashMap<K, SocketHandle>,
    overflowed: Vec<K>,
    metrics: &HubMetrics,
) {
    metrics.queue_overflows.inc_by(overflowed.len() as u64);
    for key in overflowed {
        if let Some(socket) = sockets.remove(&key) {
            socket.close(CloseReason::TOO_SLOW);
        }
    }
}

/// Queues `frame` on every one of `user`'s ADMIN sockets among a kitchen's `admins` (a chef's
/// own item's decision), closing with 1013 those whose queue is full.
pub(super) fn to_own_dashboards(
    admins: &mut HashMap<SocketId, SocketHandle>,
    user: UserId,
    frame: &Frame,
    shared: &Shared,
) {
    let metrics = &shared.metrics;
    let bytes = frame.payload_len() as u64;
    let mut overflowed = Vec::new();
    for (id, socket) in admins.iter().filter(|(_, socket)| socket.user == user) {
        if socket.outbox.push(std::slice::from_ref(frame), shared.queue_capacity) {
            metrics.frames.inc();
            metrics.bytes.inc_by(bytes);
            metrics.direct_messages.inc();
        } else {
            overflowed.push(*id);
        }
    }
    close_too_slow(admins, overflowed, metrics);
}

/// Queues `frame` on one user's STAFF socket, if it is connected; whether it was queued.
pub(super) fn direct(
    staff: &mut HashMap<UserId, SocketHandle>,
    user: UserId,
    frame: Frame,
    capacity: usize,
    metrics: &HubMetrics,
) -> bool {
    let Some(socket) = staff.get(&user) else { return false };
    let bytes = frame.payload_len() as u64;
    if socket.outbox.push(&[frame], capacity) {
        metrics.frames.inc();
        metrics.bytes.inc_by(bytes);
        return true;
    }
    close_too_slow(staff, vec![user], metrics);
    false
}

/// Queues `frame` on every STAFF socket of `kitchen`.
pub(super) fn to_kitchen_staff(
    staff: &mut HashMap<UserId, SocketHandle>,
    kitchen: KitchenId,
    frame: &Frame,
    capacity: usize,
    metrics: &HubMetrics,
) {
    let cooks: Vec<UserId> =
        staff.iter().filter(|(_, socket)| socket.kitchen == kitchen).map(|(user, _)| *user).collect();
    for cook in cooks {
        direct(staff, cook, frame.clone(), capacity, metrics);
    }
}
