//! MiseOS Live, the part the browser and the server share: the wire types of the API
//! ([`wire`]), the demo brigade ([`demo`]) and the Leptos user interface, rendered on the server (`ssr`) and hydrated in
//! the browser (`hydrate`), with its REST client and notification socket.

mod client;
pub mod demo;
mod live;
mod ui;
pub mod wire;

pub use ui::{data, shell, App};
