//! What leaves the server for other servers: Web Push to the cooks' phones (API.md section
//! 10) and webhooks to purchasing systems (section 14). Both leave from the one durable outbox
//! the store writes in each change's transaction, each through its own sender ([`sender`] for
//! pushes, [`webhook`] for deliveries, on the loop of [`drain`]), through HTTP clients that reach public addresses only
//! and follow no redirect ([`guard`]).

mod drain;
pub mod guard;
pub mod push;
mod sender;
pub mod webhook;

pub use drain::MAX_IN_FLIGHT;
pub use guard::OutboundRules;
pub use sender::start_push_sender;
pub use webhook::{start_webhook_sender, SecretSealer};
