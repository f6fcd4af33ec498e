//! The live road: what the store committed reaches every socket it concerns, in this process
//! and in every other. The [`bus`] carries announcements (events, STAFF claims, session
//! endings, chefs' presence) between processes and hands them to one [`LiveHandler`], which
//! gives them to the [`hub`] (the sockets of each kitchen, fan-out, close codes) and to the
//! session cache. [`presence`] records in the database which chefs the hub has here.
//!
//! The bus never names the hub and the hub never names the store or the bus: each sees only
//! the vocabulary of `crate::event`.

pub mod bus;
mod handler;
pub mod hub;
pub mod presence;

pub use handler::{close_sockets, LiveHandler};
