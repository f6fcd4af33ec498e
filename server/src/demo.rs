//! The demo users seeded into an empty database so a new user can sign in at once.
//! Their shared password is for development only (see the README).

use crate::{auth, store::NewUser};
use app::wire::Role;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "mise-en-place";

/// `(id, email, first name, last name, role)` of each demo user, as the contract lists them.
const DEMO_USERS: [(i64, &str, &str, &str, Role); 5] = [
    (1, "gordon@miseos.dk", "Gordon", "Ramsay", Role::HeadChef),
    (2, "monica@miseos.dk", "Monica", "Galetti", Role::SousChef),
    (3, "ali@miseos.dk", "Ali", "Hassan", Role::LineCook),
    (4, "sara@miseos.dk", "Sara", "Jensen", Role::LineCook),
    (5, "noah@miseos.dk", "Noah", "Berg", Role::PrepCook),
];

/// The demo users with fresh Argon2id hashes. CPU-heavy: call from a blocking thread.
pub fn demo_users() -> Vec<NewUser> {
    DEMO_USERS
        .iter()
        .map(|&(id, email, first_name, last_name, role)| NewUser {
            id,
            email: email.to_string(),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            role,
            password_hash: auth::hash_password(DEMO_PASSWORD),
        })
        .collect()
}
