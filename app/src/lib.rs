//! MiseOS Live, the part the browser and the server share: the wire types of the API
//! ([`wire`]), the demo brigade ([`demo`]) and the Leptos user interface, rendered on the server (`ssr`) and hydrated in
//! the browser (`hydrate`), with its REST client, notification socket, Web Push subscription and
//! the queue of submissions made on bad Wi-Fi.

mod client;
pub mod demo;
mod live;
mod push;
mod queue;
mod ui;
pub mod wire;

pub use ui::{data, shell, App};
