//! A committed change, as the store reports it and the bus carries it to every hub.
//!
//! Every change moves exactly one pending count of one kitchen by one. An event carries its
//! kitchen, both of that kitchen's counts after the change and the kitchen's `seq` at which
//! they became true, so a hub can take a kitchen's counts from any one event.

use app::wire::{Category, Decision, Person};
use serde::{Deserialize, Serialize};

/// One committed change to a kitchen's items.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Event {
    /// The kitchen whose items changed.
    pub kitchen_id: i64,
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
        requester_id: i64,
        reviewed_by: Person,
        decision: Decision,
        note: Option<String>,
    },
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

/// A new STAFF session of `user_id` with its `claim`, announced to every process so that
/// only the newest session of each user stays open.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
pub struct StaffClaim {
    pub user_id: i64,
    pub claim: i64,
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
        let person = Person { id: i64::MAX, first_name: widest_name.clone(), last_name: widest_name.clone() };
        let event = Event {
            kitchen_id: i64::MAX,
            counts: PendingCounts { ingredient_requests: i64::MAX, dish_suggestions: i64::MAX, seq: i64::MAX },
            category: Category::DishSuggestion,
            at_millis: i64::MAX,
            timestamp: "+262143-12-31 23:59".into(),
            change: Change::Reviewed {
                item_id: i64::MAX,
                item_name: widest_name.clone(),
                requester_id: i64::MAX,
                reviewed_by: person,
                // The longer of the two names.
                decision: Decision::Approve,
                note: Some("\"".repeat(MAX_NOTE_CHARS / 2) + &"🦞".repeat(MAX_NOTE_CHARS / 2)),
            },
        };
        let payload = serde_json::to_string(&event).unwrap();
        assert!(payload.len() < 4000, "{} bytes", payload.len());
    }
}
