//! What leaves the server for other servers: Web Push to the cooks' phones (API.md section
//! 10). It leaves from the durable outbox the store writes in each change's transaction
//! ([`sender`]), through one HTTP client that reaches public addresses only and follows no
//! redirect ([`guard`]), speaking the push protocol ([`push`]).

pub mod guard;
pub mod push;
mod sender;

pub use guard::OutboundRules;
pub use sender::{start_push_sender, MAX_IN_FLIGHT};
