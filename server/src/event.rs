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
use app::wire::{
    AnyItem, Category, Decision, ItemEscalatedNotice, ItemReviewedNotice, KitchenId, KitchenSettings, NewItemNotice,
    Notification, Person, ReviewNotice, UserId,
};
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
    /// A kitchen's settings changed.
    KitchenUpdated(KitchenUpdate),
    /// An item waited too long and was escalated (once, by the write that claimed it).
    ItemEscalated(Escalation),
}

/// An item of a kitchen escalated for waiting too long (API.md section 12): what its admins
/// are told.
#[derive(Clone, PartialEq, Debug)]
pub struct Escalation {
    pub kitchen_id: KitchenId,
    pub notice: ItemEscalatedNotice,
}

/// A kitchen's settings as of their `version` (each change takes the next, in commit order).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KitchenUpdate {
    pub settings: KitchenSettings,
    pub version: i64,
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
    /// A new item is waiting for review; `item` is the whole of it as committed (`None` only
    /// in an event logged by an older process).
    Created {
        item_id: i64,
        item_name: String,
        requested_by: Person,
        #[serde(default)]
        item: Option<Box<AnyItem>>,
    },
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
/// the admins (the whole item) and followed by its count; a review is told to the admins
/// (ITEM_REVIEWED, so every dashboard takes the card away) before its count, and to the
/// requester. The count is left out when it is no news (`count_is_news` false: an event
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
        Change::Created { item_id, item_name, requested_by, item } => {
            let announcement = Notification::new_item(NewItemNotice {
                category: event.category,
                request_id: *item_id,
                item_name: item_name.clone(),
                requested_by: requested_by.clone(),
                timestamp: timestamp.to_string(),
                // A creation's event is stamped with the item's creation instant.
                created_at_millis: event.at_millis,
                item: item.clone(),
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
            let reviewed = Notification::ItemReviewed(ItemReviewedNotice {
                category: event.category,
                request_id: *item_id,
                status: decision.status(),
                reviewed_by: reviewed_by.clone(),
                timestamp: timestamp.to_string(),
            });
            Delivery {
                to_admins: std::iter::once(reviewed).chain(count).collect(),
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
    use app::wire::{DishDetails, Item, ItemDetails, ReviewStatus};

    /// On PostgreSQL an event travels as JSON in the event log (the NOTIFY names only its
    /// kitchen and `seq`): a new item's event carries the whole item and reads back equal, and
    /// one logged by an older process, without the item, still reads.
    #[test]
    fn events_round_trip_through_the_event_log() {
        let ali = Person { id: UserId(3), first_name: "Ali".into(), last_name: "Hassan".into() };
        let item = Item {
            id: 7,
            details: DishDetails { name: "🦞".repeat(MAX_NAME_CHARS), description: "\"".repeat(MAX_NOTE_CHARS) },
            status: ReviewStatus::Pending,
            requested_by: ali.clone(),
            created_at: "2026-12-06 18:40".into(),
            created_at_millis: 1_796_582_400_000,
            reviewed_by: None,
            reviewed_at: None,
            reviewed_at_millis: None,
            review_note: None,
            escalated_at_millis: None,
        };
        let event = Event {
            kitchen_id: KitchenId(1),
            counts: PendingCounts { ingredient_requests: 0, dish_suggestions: 1, seq: 12 },
            category: Category::DishSuggestion,
            at_millis: item.created_at_millis,
            timestamp: item.created_at.clone(),
            change: Change::Created {
                item_id: 7,
                item_name: item.details.name.clone(),
                requested_by: ali,
                item: Some(Box::new(DishDetails::into_any(item))),
            },
        };
        let logged = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&logged).unwrap(), event);

        let mut older: serde_json::Value = serde_json::from_str(&logged).unwrap();
        older["change"]["Created"].as_object_mut().unwrap().remove("item");
        let read: Event = serde_json::from_value(older).unwrap();
        assert!(matches!(read.change, Change::Created { item: None, item_id: 7, .. }));
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
