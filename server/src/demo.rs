//! The demo users (`app::demo`) seeded into an empty database so a new user can sign in at
//! once. Their shared password is for development only (see the README).

use crate::{auth, store::NewUser};
use app::demo::{DEMO_ACCOUNTS, DEMO_PASSWORD};

/// The demo users with fresh Argon2id hashes. CPU-heavy: call from a blocking thread.
pub fn demo_users() -> Vec<NewUser> {
    DEMO_ACCOUNTS
        .iter()
        .map(|account| NewUser {
            id: account.id,
            email: account.email.to_string(),
            first_name: account.first_name.to_string(),
            last_name: account.last_name.to_string(),
            role: account.role,
            password_hash: auth::hash_password(DEMO_PASSWORD),
        })
        .collect()
}
