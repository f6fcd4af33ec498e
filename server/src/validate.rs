//! Field rules for everything a user can write. Text is stored exactly as sent (Danish
//! letters, emoji, markup and all); these rules only bound its size and keep control
//! characters out of names, which are shown on one line.
//!
//! The bounds also keep every event well under PostgreSQL's 8000-byte NOTIFY limit.

use app::wire::{KitchenSettings, NewDishSuggestion, NewIngredientRequest, NewUser, UserChanges};

/// Longest item or dish name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest unit ("bunch", "kg", "crates"), in characters.
pub const MAX_UNIT_CHARS: usize = 20;
/// Longest request note or review note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Longest dish description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Largest quantity: more than any kitchen orders at once, small enough to catch typos.
pub const MAX_QUANTITY: f64 = 100_000.0;

/// Checks an ingredient request.
pub fn ingredient_request(new: &NewIngredientRequest) -> Result<(), String> {
    single_line("itemName", &new.item_name, MAX_NAME_CHARS)?;
    let quantity = new.quantity.0;
    if !quantity.is_finite() || quantity <= 0.0 {
        return Err("quantity must be a number greater than 0".into());
    }
    if quantity > MAX_QUANTITY {
        return Err(format!("quantity must be at most {MAX_QUANTITY}"));
    }
    single_line("unit", &new.unit, MAX_UNIT_CHARS)?;
    if let Some(note) = &new.note {
        free_text("note", note, MAX_NOTE_CHARS)?;
    }
    Ok(())
}

/// Checks a dish suggestion.
pub fn dish_suggestion(new: &NewDishSuggestion) -> Result<(), String> {
    single_line("name", &new.name, MAX_NAME_CHARS)?;
    free_text("description", &new.description, MAX_DESCRIPTION_CHARS)
}

/// Longest a setting of minutes may be: a day.
pub const MAX_SETTING_MINUTES: i64 = 24 * 60;

/// Checks a kitchen's settings as they would be after a change (so red is checked against
/// the amber it would have).
pub fn kitchen_settings(settings: &KitchenSettings) -> Result<(), String> {
    single_line("name", &settings.name, MAX_NAME_CHARS)?;
    if settings.time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(format!(
            "timeZone must be an IANA time zone such as Europe/Copenhagen, not {:?}",
            settings.time_zone
        ));
    }
    if !(1..=MAX_SETTING_MINUTES).contains(&settings.amber_minutes) {
        return Err(format!("amberMinutes must be a whole number from 1 to {MAX_SETTING_MINUTES}"));
    }
    if !(settings.amber_minutes..=MAX_SETTING_MINUTES).contains(&settings.red_minutes) {
        return Err(format!(
            "redMinutes must be a whole number from amberMinutes ({}) to {MAX_SETTING_MINUTES}",
            settings.amber_minutes
        ));
    }
    if !(0..=MAX_SETTING_MINUTES).contains(&settings.escalate_after_minutes) {
        return Err(format!("escalateAfterMinutes must be a whole number from 0 (never) to {MAX_SETTING_MINUTES}"));
    }
    Ok(())
}

/// Longest first or last name, in characters.
pub const MAX_PERSON_NAME_CHARS: usize = 60;
/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Checks a new user.
pub fn new_user(new: &NewUser) -> Result<(), String> {
    single_line("firstName", &new.first_name, MAX_PERSON_NAME_CHARS)?;
    single_line("lastName", &new.last_name, MAX_PERSON_NAME_CHARS)?;
    email(&new.email)
}

/// Checks the names a user edit sets (the role and flag are checked by their types).
pub fn user_changes(changes: &UserChanges) -> Result<(), String> {
    if let Some(first_name) = &changes.first_name {
        single_line("firstName", first_name, MAX_PERSON_NAME_CHARS)?;
    }
    if let Some(last_name) = &changes.last_name {
        single_line("lastName", last_name, MAX_PERSON_NAME_CHARS)?;
    }
    Ok(())
}

/// An email address as far as a kitchen needs: one `@` with text on both sides and a dot in
/// the domain, no spaces. Whether it is deliverable is the head chef's business.
pub fn email(address: &str) -> Result<(), String> {
    let address = address.trim();
    within("email", address, MAX_EMAIL_CHARS)?;
    let valid = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err("email must be an address such as cook@kitchen.dk".into())
    }
}

/// Checks a reviewer's note; a blank note counts as none.
pub fn review_note(note: Option<String>) -> Result<Option<String>, String> {
    match note {
        Some(note) if note.trim().is_empty() => Ok(None),
        Some(note) => free_text("note", &note, MAX_NOTE_CHARS).map(|()| Some(note)),
        None => Ok(None),
    }
}

/// A required one-line text: not blank, no control characters, at most `max` characters.
fn single_line(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} must be one line without control characters"));
    }
    within(field, value, max)
}

/// Optional multi-line text: line breaks and tabs allowed, other control characters not.
fn free_text(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(format!("{field} must not contain control characters"));
    }
    within(field, value, max)
}

fn within(field: &str, value: &str, max: usize) -> Result<(), String> {
    let length = value.chars().count();
    if length > max {
        return Err(format!("{field} must be at most {max} characters (it has {length})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(item_name: &str, quantity: f64, unit: &str) -> NewIngredientRequest {
        NewIngredientRequest {
            item_name: item_name.into(),
            quantity: app::wire::Quantity(quantity),
            unit: unit.into(),
            note: None,
        }
    }

    #[test]
    fn accepts_unicode_and_markup_as_plain_text() {
        assert!(ingredient_request(&request("Frisk Dild æøå 🌿 <script>", 2.0, "bunch")).is_ok());
        assert!(ingredient_request(&request(&"ø".repeat(MAX_NAME_CHARS), 0.5, "kg")).is_ok());
    }

    #[test]
    fn refuses_blank_oversized_and_nonpositive_fields() {
        assert!(ingredient_request(&request("  ", 1.0, "kg")).unwrap_err().contains("itemName"));
        assert!(ingredient_request(&request(&"ø".repeat(MAX_NAME_CHARS + 1), 1.0, "kg")).is_err());
        assert!(ingredient_request(&request("Dild", 0.0, "kg")).unwrap_err().contains("quantity"));
        assert!(ingredient_request(&request("Dild", -1.0, "kg")).is_err());
        assert!(ingredient_request(&request("Dild", f64::NAN, "kg")).is_err());
        assert!(ingredient_request(&request("Dild", 1.0, "")).unwrap_err().contains("unit"));
        assert!(ingredient_request(&request("Dild\nMore", 1.0, "kg")).is_err());
        let empty_dish = NewDishSuggestion { name: String::new(), description: "x".into() };
        assert!(dish_suggestion(&empty_dish).unwrap_err().contains("name"));
    }

    #[test]
    fn a_blank_review_note_is_no_note() {
        assert_eq!(review_note(Some("   ".into())), Ok(None));
        assert_eq!(review_note(Some("Tak!\nGodt".into())), Ok(Some("Tak!\nGodt".into())));
        assert!(review_note(Some("x".repeat(MAX_NOTE_CHARS + 1))).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        assert!(email("cook@kitchen.dk").is_ok());
        assert!(email(" Cook.Name+tag@Kitchen.example ").is_ok());
        for bad in ["", "cook", "@kitchen.dk", "cook@kitchen", "cook@.dk", "co ok@kitchen.dk", "a@b@c.dk"] {
            assert!(email(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn user_names_are_single_lines() {
        let user = |first: &str| NewUser {
            first_name: first.into(),
            last_name: "Jensen".into(),
            email: "sara@kitchen.dk".into(),
            role: app::wire::Role::LineCook,
        };
        assert!(new_user(&user("Sara")).is_ok());
        assert!(new_user(&user(" ")).unwrap_err().contains("firstName"));
        assert!(new_user(&user("Sa\nra")).is_err());
        assert!(user_changes(&UserChanges { last_name: Some(String::new()), ..UserChanges::default() }).is_err());
    }
}
