//! MiseOS Live, the part the browser and the server share: the wire types of the API
//! ([`wire`]), the demo brigade ([`demo`]) and the Leptos user interface, rendered on the server (`ssr`) and hydrated in
//! the browser (`hydrate`), with its REST client and notification socket.

pub mod demo;
pub mod wire;
mod client;
mod live;
mod ui;

pub use ui::{data, shell, App};
