//! The demo brigade: seeded by the server into a new development database, listed on the
//! sign-in page while the server seeds it, and signed in as by the tests. Defined once here.

use crate::wire::{Role, UserId};

/// The password of every demo account; development only (see the README).
pub const DEMO_PASSWORD: &str = "mise-en-place";

/// One demo account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoAccount {
    pub id: UserId,
    pub email: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub role: Role,
}

/// The demo accounts, as the contract lists them.
pub const DEMO_ACCOUNTS: [DemoAccount; 5] = [
    DemoAccount {
        id: UserId(1),
        email: "gordon@miseos.dk",
        first_name: "Gordon",
        last_name: "Ramsay",
        role: Role::HeadChef,
    },
    DemoAccount {
        id: UserId(2),
        email: "monica@miseos.dk",
        first_name: "Monica",
        last_name: "Galetti",
        role: Role::SousChef,
    },
    DemoAccount { id: UserId(3), email: "ali@miseos.dk", first_name: "Ali", last_name: "Hassan", role: Role::LineCook },
    DemoAccount {
        id: UserId(4),
        email: "sara@miseos.dk",
        first_name: "Sara",
        last_name: "Jensen",
        role: Role::LineCook,
    },
    DemoAccount { id: UserId(5), email: "noah@miseos.dk", first_name: "Noah", last_name: "Berg", role: Role::PrepCook },
];
