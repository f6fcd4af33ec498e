//! The demo users (`app::demo`) seeded into an empty database in development mode
//! (`MISEOS_DEMO=true`) so a developer can sign in at once. Their shared password is for
//! development only (see the README).

use super::passwords::hash_password;
use crate::store::{NewAccount, DEMO_KITCHEN_ID};
use app::{
    demo::{DEMO_ACCOUNTS, DEMO_PASSWORD},
    wire::UserId,
};

/// The demo users, by id, in the demo kitchen, with fresh Argon2id hashes. CPU-heavy: call
/// from a blocking thread.
pub fn demo_users() -> Vec<(UserId, NewAccount)> {
    DEMO_ACCOUNTS
        .iter()
        .map(|account| {
            let user = NewAccount {
                kitchen_id: DEMO_KITCHEN_ID,
                email: account.email.to_string(),
                first_name: account.first_name.to_string(),
                last_name: account.last_name.to_string(),
                role: account.role,
                password_hash: hash_password(DEMO_PASSWORD),
                must_change_password: false,
            };
            (account.id, user)
        })
        .collect()
}
