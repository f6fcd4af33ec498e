//! What a committed write announces: the vocabulary the store speaks when it stages an
//! announcement in a transaction, and the live road (bus, hub) when it carries and delivers it.
//! It depends on nothing of the server but the wire types, so both sides can use it without
//! knowing each other.
//!
//! Every change to a kitchen's items moves exactly one pending count of that kitchen by one.
//! An [`Event`] carries its kitchen, both of that kitchen's counts after the change and the
//! kitchen's `seq` at which they became true, so a hub can take a kitchen's counts from any
//! one event.

pub use app::wire::EndReason;
use app::wire::{Category, Decision, KitchenId, NewItemNotice, Notification, Person, ReviewNotice, UserId};
use serde::{Deserialize, Serialize};

/// Everything a committed write can announce to the running processes.
#[derive(Clone, PartialEq, Debug)]
pub enum Announcement {
    /// A change to a kitchen's items, with its new pending counts and `seq`.
    Event(Event),
    /// A new STAFF socket claim (PostgreSQL only: several processes decide which is newest).
    Claim(StaffClaim),
    /// Sessions ended (sign-out, disable, new role or password, idle expiry).
    SessionsEnded(SessionsEnded),
    /// How many chefs of a kitchen have a dashboard open changed.
    ChefsOnline(ChefsOnline),
}

/// How many of a kitchen's head and sous chefs have an ADMIN socket open on any process, as of
/// the kitchen's presence `version` (each change takes the next, in commit order).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ChefsOnline {
    pub kitchen_id: KitchenId,
    pub count: i64,
    pub version: i64,
}

/// One committed change to a kitchen's items.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Event {
    /// The kitchen whose items changed.
    pub kitchen_id: KitchenId,
    /// The kitchen's pending counts after the change, with the `seq` this change took.
    pub counts: PendingCounts,
    /// Which kind of item changed.
    pub category: Category,
    /// When the change was committed, in Unix milliseconds.
    pub at_millis: i64,
    /// `at_millis` in the contract's format, in the kitchen's time zone.
    pub timestamp: String,
    /// What happened.
    pub change: Change,
}

impl Event {
    /// The kitchen's sequence number this change took.
    pub fn seq(&self) -> i64 {
        self.counts.seq
    }

    /// The changed category's pending count after the change.
    pub fn pending(&self) -> i64 {
        self.counts.of(self.category)
    }
}

/// What an [`Event`] announces.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub enum Change {
    /// A new item is waiting for review.
    Created { item_id: i64, item_name: String, requested_by: Person },
    /// An item was approved or rejected.
    Reviewed {
        item_id: i64,
        item_name: String,
        requester_id: UserId,
        reviewed_by: Person,
        decision: Decision,
        note: Option<String>,
    },
}

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

/// One kitchen's pending counts and the `seq` of the newest change they include.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct PendingCounts {
    pub ingredient_requests: i64,
    pub dish_suggestions: i64,
    pub seq: i64,
}

impl PendingCounts {
    /// The count of one category.
    pub fn of(&self, category: Category) -> i64 {
        match category {
            Category::IngredientRequest => self.ingredient_requests,
            Category::DishSuggestion => self.dish_suggestions,
        }
    }

    /// Takes `newer` if it is newer than these counts; whether it was.
    pub fn advance_to(&mut self, newer: PendingCounts) -> bool {
        if newer.seq <= self.seq {
            return false;
        }
        *self = newer;
        true
    }

    /// The snapshot body of the REST API.
    pub fn snapshot(&self, epoch: &str) -> app::wire::Snapshot {
        app::wire::Snapshot {
            pending_dish_suggestions: self.dish_suggestions,
            pending_ingredient_requests: self.ingredient_requests,
            total_pending: self.dish_suggestions + self.ingredient_requests,
            seq: self.seq,
            epoch: epoch.to_string(),
        }
    }
}

/// A new STAFF socket of `user_id` with its `claim`, announced to every process so that only
/// the newest socket of each user stays open.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct StaffClaim {
    pub user_id: UserId,
    pub claim: i64,
}

/// Sessions that ended in one transaction, and the place of that ending in the database's
/// order of endings (`seq`, from one counter row taken in the ending's transaction, so a
/// process that has read the endings up to some `seq` has read every ending committed before
/// it, whatever any process's clock says).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SessionsEnded {
    pub seq: i64,
    pub endings: Vec<(SessionId, EndReason)>,
}

/// A server-side session's id (a sign-in; API.md section 7): 128 random bits, written as 32
/// hex digits in tokens and in the database. Kept as two `u64`s rather than a `u128`: 8-byte
/// alignment keeps the hub's per-socket entry (which holds one) small.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SessionId([u64; 2]);

impl SessionId {
    /// The id with this numeric value (fresh ids come from `accounts::tokens`; tests name
    /// sessions by small numbers).
    pub fn from_u128(value: u128) -> SessionId {
        // Splitting a u128 into its halves: the truncation is the point.
        #[allow(clippy::cast_possible_truncation)]
        SessionId([(value >> 64) as u64, value as u64])
    }

    /// Parses the 32-hex-digit form.
    pub fn parse(text: &str) -> Option<SessionId> {
        (text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| u128::from_str_radix(text, 16).ok().map(SessionId::from_u128))
            .flatten()
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:016x}{:016x}", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{MAX_NAME_CHARS, MAX_NOTE_CHARS};

    /// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. The field limits keep the
    /// largest event far below that: every character of a name or note at its widest in JSON
    /// (four UTF-8 bytes), and the reviewer's name as long as a name can be.
    #[test]
    fn the_largest_event_fits_a_notify_payload() {
        let widest_name = "🦞".repeat(MAX_NAME_CHARS);
        let person = Person { id: UserId(i64::MAX), first_name: widest_name.clone(), last_name: widest_name.clone() };
        let event = Event {
            kitchen_id: KitchenId(i64::MAX),
            counts: PendingCounts { ingredient_requests: i64::MAX, dish_suggestions: i64::MAX, seq: i64::MAX },
            category: Category::DishSuggestion,
            at_millis: i64::MAX,
            timestamp: "+262143-12-31 23:59".into(),
            change: Change::Reviewed {
                item_id: i64::MAX,
                item_name: widest_name.clone(),
                requester_id: UserId(i64::MAX),
                reviewed_by: person,
                // The longer of the two names.
                decision: Decision::Approve,
                note: Some("\"".repeat(MAX_NOTE_CHARS / 2) + &"🦞".repeat(MAX_NOTE_CHARS / 2)),
            },
        };
        let payload = serde_json::to_string(&event).unwrap();
        assert!(payload.len() < 4000, "{} bytes", payload.len());
    }

    #[test]
    fn session_ids_round_trip_through_their_text() {
        let session = SessionId::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        assert_eq!(session.to_string(), "0123456789abcdeffedcba9876543210");
        assert_eq!(SessionId::parse(&session.to_string()), Some(session));
        assert_eq!(SessionId::parse("not-hex"), None);
        assert_eq!(SessionId::parse(&"f".repeat(33)), None);
        assert_eq!(SessionId::parse("+fffffffffffffffffffffffffffffff"), None);
    }
}
