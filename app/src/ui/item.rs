//! What every page shows of an item, whatever its kind: its name, an ingredient's amount, the
//! cook's note (a dish's description), and its status as a badge. A new kind of item shows
//! on every page with one `impl Shown`.

use crate::wire::{DishDetails, IngredientDetails, ItemDetails, Quantity, ReviewStatus};

/// What a card shows of a kind's own fields, beside its name.
pub trait Shown: ItemDetails {
    /// An ingredient's quantity and unit.
    fn amount(&self) -> Option<(Quantity, String)>;
    /// The cook's note (a dish's description), when it says anything.
    fn note(&self) -> Option<String>;
}

impl Shown for IngredientDetails {
    fn amount(&self) -> Option<(Quantity, String)> {
        Some((self.quantity, self.unit.clone()))
    }

    fn note(&self) -> Option<String> {
        self.note.clone().filter(|note| !note.trim().is_empty())
    }
}

impl Shown for DishDetails {
    fn amount(&self) -> Option<(Quantity, String)> {
        None
    }

    fn note(&self) -> Option<String> {
        Some(self.description.clone()).filter(|text| !text.trim().is_empty())
    }
}

/// A status's badge: its (translatable) text and its CSS class.
pub fn status_badge(status: ReviewStatus) -> (&'static str, &'static str) {
    match status {
        ReviewStatus::Pending => ("Pending", "status pending"),
        ReviewStatus::Approved => ("Approved", "status approved"),
        ReviewStatus::Rejected => ("Rejected", "status rejected"),
    }
}
