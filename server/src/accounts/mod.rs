//! Who may do what: passwords ([`passwords`]), session tokens ([`tokens`]), the live
//! server-side sessions a token must belong to ([`sessions`]), sign-in throttling
//! ([`throttle`]) and the demo brigade ([`demo`]). Its one product is the [`Caller`]: a token
//! that verified, of a session that is live, with the user's kitchen and role. Every door
//! (REST, the socket upgrade, the pages) admits callers through [`Sessions::admit`].

pub mod demo;
pub mod passwords;
pub mod sessions;
pub mod throttle;
pub mod tokens;

pub use passwords::{check_new_password, hash_password, temporary_password, verify_password};
pub use sessions::{Refusal, SessionCache, Sessions};
pub use tokens::{Claims, TokenError, TokenHolder, TokenKeys};

use crate::event::SessionId;
use app::wire::{KitchenId, Person, Role, UserId};

/// A caller whose token verified and whose session is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    /// Everything the caller sees and changes is of this kitchen.
    pub kitchen: KitchenId,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    /// The session the token belongs to.
    pub session: SessionId,
    /// When the token stops being valid, in Unix seconds.
    pub expires_at: i64,
    /// Signed in with a temporary password that has not been changed yet: until it is, the
    /// caller may only change it, read who they are, or sign out.
    pub must_change_password: bool,
}

impl Caller {
    fn new(holder: TokenHolder, must_change_password: bool) -> Caller {
        Caller {
            user: holder.user,
            kitchen: holder.kitchen,
            role: holder.role,
            first_name: holder.first_name,
            last_name: holder.last_name,
            session: holder.session,
            expires_at: holder.expires_at,
            must_change_password,
        }
    }

    /// The `{"id", "firstName", "lastName"}` form used in items and notifications.
    pub fn person(&self) -> Person {
        Person { id: self.user, first_name: self.first_name.clone(), last_name: self.last_name.clone() }
    }

    /// Head and sous chefs review, and get ADMIN sockets.
    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }
}
