//! Who gets what of one committed event: the messages it turns into for a kitchen's ADMIN
//! sockets and for the requester's STAFF socket ([`deliveries`]), each serialized and framed
//! once, and the fan-out of those frames into the sockets' queues ([`broadcast`], [`direct`]).

use super::{CloseReason, Frame, Shared, SocketHandle, SocketId};
use crate::{
    event::{Change, Event, PendingCounts},
    metrics::HubMetrics,
};
use app::wire::{Category, NewItemNotice, Notification, ReviewNotice, UserId};
use std::collections::HashMap;

/// What one event means for the sockets: the messages for every ADMIN socket of its kitchen,
/// in order, and the one for the requester's STAFF socket.
#[derive(Debug, PartialEq)]
pub struct Delivery {
    pub to_admins: Vec<Notification>,
    pub to_staff: Option<(UserId, Notification)>,
}

/// The messages `event` turns into, stamped with its timestamp: a new item is announced to
/// the admins and followed by its count; a review sends the admins only the count and tells
/// the requester. The count is left out when it is no news (`count_is_news` false: an event
/// the counts already include, heard again after a resync).
pub fn deliveries(event: &Event, count_is_news: bool) -> Delivery {
    let timestamp = &event.timestamp;
    let count = count_is_news.then(|| Notification::PendingCountUpdated {
        category: event.category,
        count: event.pending(),
        seq: event.seq(),
        timestamp: timestamp.to_string(),
    });
    match &event.change {
        Change::Created { item_id, item_name, requested_by } => {
            let announcement = Notification::new_item(NewItemNotice {
                category: event.category,
                request_id: *item_id,
                item_name: item_name.clone(),
                requested_by: requested_by.clone(),
                timestamp: timestamp.to_string(),
                // A creation's event is stamped with the item's creation instant.
                created_at_millis: event.at_millis,
            });
            Delivery { to_admins: std::iter::once(announcement).chain(count).collect(), to_staff: None }
        }
        Change::Reviewed { item_id, item_name, requester_id, reviewed_by, decision, note } => {
            let notice = ReviewNotice {
                category: event.category,
                request_id: *item_id,
                item_name: item_name.clone(),
                reviewed_by: reviewed_by.clone(),
                timestamp: timestamp.to_string(),
                note: note.clone(),
                // A review's event is stamped with the review's instant.
                reviewed_at_millis: event.at_millis,
            };
            Delivery {
                to_admins: count.into_iter().collect(),
                to_staff: Some((*requester_id, Notification::review(*decision, notice))),
            }
        }
    }
}

/// The PENDING_COUNT_UPDATED of one category of `counts`.
pub(super) fn count_update(counts: &PendingCounts, category: Category, timestamp: &str) -> Notification {
    Notification::PendingCountUpdated {
        category,
        count: counts.of(category),
        seq: counts.seq,
        timestamp: timestamp.to_string(),
    }
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
    metrics.queue_overflows.inc_by(overflowed.len() as u64);
    for id in overflowed {
        if let Some(socket) = admins.remove(&id) {
            socket.close(CloseReason::TOO_SLOW);
        }
    }
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
    metrics.queue_overflows.inc();
    if let Some(socket) = staff.remove(&user) {
        socket.close(CloseReason::TOO_SLOW);
    }
    false
}
