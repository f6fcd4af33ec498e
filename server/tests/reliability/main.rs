//! The reliability suite: the real server (on port 0, loopback only) under what production
//! throws at it. Each case asserts what users see, and prints its figures (recovery times,
//! rates, memory) for docs/RELIABILITY.md; `cargo test -p server --test reliability --
//! --nocapture` shows them.

// Shared with the API suite; not every helper is used here.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "../api/push_service.rs"]
mod push_service;

mod crash;
mod database_away;
mod disk_full;
mod floods;
mod fuzz;
mod hardening;
mod outbox;
mod presence;
