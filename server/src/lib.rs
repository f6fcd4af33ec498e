//! MiseOS Live server: the REST API, the notification WebSocket and the Leptos pages, on one
//! port, in one process.
//!
//! The parts, in the order one notification travels (docs/ARCHITECTURE.md draws them):
//!
//! - [`http`]: the door. Connections under the limits of section 8, the edge's headers and
//!   rules, the one way a request becomes an admitted caller, the REST API (one module per
//!   resource) and the socket's upgrade, the pages' data, request logs and metrics.
//! - [`accounts`]: who may do what. Passwords, session tokens, the live server-side sessions
//!   a token must belong to, sign-in throttling.
//! - [`store`]: SQL on SQLite or PostgreSQL, and the outbox of everything live. Each write is
//!   one transaction that also stages its [`event::Announcement`] (an event, a STAFF claim, a
//!   session ending) with the sink it was given, and hands it over once committed.
//! - [`live`]: the live road. The bus is that sink: it carries announcements between
//!   processes (PostgreSQL LISTEN/NOTIFY) and hands them to one handler, which gives them to
//!   the hub (the sockets of each kitchen, fan-out, close codes) and to the session cache.
//! - [`outbound`]: what leaves for other servers (Web Push), from the outbox the store writes
//!   in each change's transaction, through a client that reaches public addresses only.
//! - [`event`]: the vocabulary the store and the live road share, so neither names the other.
//! - [`escalator`]: the pass's timekeeper, which has the store escalate what waited too long.
//!
//! At the top: [`startup`] wires the parts and runs them, [`config`] reads flags and the
//! environment, [`cli`] manages kitchens and users from the command line, [`metrics`] is the
//! Prometheus registry every part counts into, and [`clock`] and [`validate`] are the
//! kitchen's time and the rules for what users write.

pub mod accounts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod escalator;
pub mod event;
pub mod http;
pub mod jwt_crypto;
pub mod live;
pub mod metrics;
pub mod outbound;
pub mod startup;
pub mod store;
pub mod validate;

pub use startup::{shutdown_signal, Application, StartError};
