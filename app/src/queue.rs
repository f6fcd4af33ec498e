//! A cook's submissions on bad Wi-Fi (API.md section 11). A request or suggestion made while
//! the device is offline, or whose answer never came, is kept on the device (`localStorage`,
//! per user) with the `Idempotency-Key` it was first sent with, and sent again with that key
//! when the network is back: however many times it is sent, the kitchen gets one item.

use crate::wire::{NewDishSuggestion, NewIngredientRequest, UserId};
use serde::{Deserialize, Serialize};

/// What the cook submitted.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Submission {
    Ingredient(NewIngredientRequest),
    Dish(NewDishSuggestion),
}

impl Submission {
    /// What the cook calls it: the ingredient or the dish.
    pub fn name(&self) -> &str {
        match self {
            Submission::Ingredient(request) => &request.item_name,
            Submission::Dish(suggestion) => &suggestion.name,
        }
    }
}

/// A submission waiting to be sent, with its key.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub struct Queued {
    pub key: String,
    pub submission: Submission,
}

impl Queued {
    /// A new submission with a fresh key.
    pub fn new(submission: Submission) -> Queued {
        Queued { key: new_key(), submission }
    }
}

/// A fresh `Idempotency-Key`: a random UUID from the browser.
fn new_key() -> String {
    web_sys::window().and_then(|window| window.crypto().ok()).map(|crypto| crypto.random_uuid()).unwrap_or_else(|| {
        // Browsers without crypto.randomUUID (before 2021): 122 bits from Math.random.
        (0..4).map(|_| format!("{:08x}", (js_sys::Math::random() * f64::from(u32::MAX)) as u32)).collect()
    })
}

/// Whether the browser believes it is online (it may be wrong the other way: a sent request
/// that fails is queued too).
pub fn online() -> bool {
    web_sys::window().is_none_or(|window| window.navigator().on_line())
}

fn storage_key(user: UserId) -> String {
    format!("miseos-queue-{user}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The user's queued submissions on this device, oldest first.
pub fn load(user: UserId) -> Vec<Queued> {
    storage()
        .and_then(|storage| storage.get_item(&storage_key(user)).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Keeps `queued` as the user's queue on this device.
pub fn save(user: UserId, queued: &[Queued]) {
    let Some(storage) = storage() else { return };
    let _ = if queued.is_empty() {
        storage.remove_item(&storage_key(user))
    } else {
        // Plain data; serializing it cannot fail.
        storage.set_item(&storage_key(user), &serde_json::to_string(queued).unwrap_or_default())
    };
}
