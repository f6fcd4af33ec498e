//! A committed change, as the store reports it and the bus carries it to every hub.
//!
//! Every change moves exactly one pending count by one, so every event carries the new
//! count of its category and the global `seq` at which that count became true.

use app::wire::{Category, Person};
use serde::{Deserialize, Serialize};

/// One committed change to the kitchen's items.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Event {
    /// The global sequence number this change took.
    pub seq: i64,
    /// Which kind of item changed.
    pub category: Category,
    /// The category's pending count after the change.
    pub pending: i64,
    /// When the change was committed, in Unix milliseconds.
    pub at_millis: i64,
    /// What happened.
    pub change: Change,
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
        approved: bool,
        note: Option<String>,
    },
}

/// The pending counts and the `seq` of the newest change they include.
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

    /// The snapshot body of the REST API.
    pub fn snapshot(&self) -> app::wire::Snapshot {
        app::wire::Snapshot {
            pending_dish_suggestions: self.dish_suggestions,
            pending_ingredient_requests: self.ingredient_requests,
            total_pending: self.dish_suggestions + self.ingredient_requests,
            seq: self.seq,
        }
    }
}
