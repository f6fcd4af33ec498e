//! The MiseOS Live load generator: real sessions with real tokens against a running server
//! (or the bare `floor`), events driven through the REST API at a set rate, and the figures
//! docs/PERFORMANCE.md reports.
//!
//! Scenarios (`--scenario`):
//! - `broadcast`: N admin sessions; `--events` creates at `--rate` per second (0: as fast as
//!   `--posters` keep-alive connections can post). Latency is measured from just before the
//!   REST call to each frame's arrival, and to its arrival at the last session. With
//!   `--kitchens K`, the sessions and the events are spread over K kitchens (the demo kitchen
//!   and K-1 made for the run, each with a head chef and a cook): session i is of kitchen
//!   i mod K, event e is created in kitchen e mod K and reaches that kitchen's sessions only,
//!   so "the last session" is the last of its kitchen's.
//! - `direct`: M staff sessions, each with a pending item; an admin reviews them at `--rate`;
//!   latency from the review call to the REQUEST_APPROVED frame.
//! - `idle`: N sessions held idle; the server's RSS per session.
//! - `reconnect`: N sessions that reconnect like the browser app (full-jitter backoff); restart
//!   the server meanwhile; reports how long until every session was welcomed again.
//! - `snapshot`: `--posters` keep-alive connections read the snapshot for `--seconds`.
//! - `push`: `--staff` cooks of a kitchen of their own, each with a pending item and (with
//!   `--push-service`) a push subscription to a push service this tool runs; their head chef
//!   reviews `--events` items at `--rate`; latency from each review call to its push arriving.
//! - `webhooks`: `--kitchens` kitchens with one webhook each to a receiver this tool runs
//!   (`--webhook-receiver`); `--events` creates at `--rate` spread over them; latency from each
//!   create's call, and from its commit, to its delivery arriving.
//!
//! Sessions are spread over `--source-ips` loopback addresses (127.0.0.1, 127.0.0.2, …) so the
//! ephemeral port range is never the limit. Tokens are minted with the server's secret
//! (`MISEOS_JWT_SECRET`); staff users for `direct` are inserted through the server's store.
//! Server CPU and RSS come from /proc/<--server-pid>.

mod broadcast;
mod client;
mod direct;
mod idle;
mod measure;
mod push;
mod reconnect;
mod snapshot;
mod webhooks;

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
pub enum Scenario {
    Broadcast,
    Direct,
    Idle,
    Reconnect,
    Snapshot,
    Push,
    Webhooks,
}

#[derive(Parser)]
#[command(about = "Load generator for MiseOS Live (see docs/PERFORMANCE.md)")]
pub struct Args {
    #[arg(long, value_enum, default_value = "broadcast")]
    pub scenario: Scenario,
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:5001")]
    pub server: SocketAddr,
    /// Drive the bare floor instead: its trigger address (`--server` is its WebSocket address).
    #[arg(long)]
    pub floor_trigger: Option<SocketAddr>,
    /// Admin sessions (broadcast, idle, reconnect).
    #[arg(long, default_value_t = 1000)]
    pub admins: usize,
    /// Kitchens the broadcast's sessions and events are spread over.
    #[arg(long, default_value_t = 1)]
    pub kitchens: usize,
    /// Staff sessions (direct), one user each.
    #[arg(long, default_value_t = 0)]
    pub staff: usize,
    /// Loopback source addresses to spread sessions over.
    #[arg(long, default_value_t = 8)]
    pub source_ips: u8,
    /// Events per second; 0 means as fast as the posters go.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Events to send.
    #[arg(long, default_value_t = 20)]
    pub events: usize,
    /// Concurrent keep-alive HTTP connections posting events (or reading snapshots).
    #[arg(long, default_value_t = 4)]
    pub posters: usize,
    /// How long the snapshot scenario runs, or how long idle sessions are held.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Sessions opened at once while connecting.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// More server processes sharing the sessions round-robin (several processes on one
    /// PostgreSQL), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub also_servers: Vec<SocketAddr>,
    /// Client processes to spread the sessions over (broadcast); each holds at most ~19,900.
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Set by the driver for the client processes it starts: read as shard N of --clients.
    #[arg(long, hide = true)]
    pub reader_shard: Option<usize>,
    /// Where the push scenario's push service listens (its origin must be in the server's
    /// MISEOS_PUSH_EXTRA_ORIGINS); without it, the scenario subscribes nobody.
    #[arg(long)]
    pub push_service: Option<SocketAddr>,
    /// Where the webhooks scenario's receiver listens (its origin must be in the server's
    /// MISEOS_WEBHOOK_EXTRA_ORIGINS).
    #[arg(long)]
    pub webhook_receiver: Option<SocketAddr>,
    /// The server process, for its CPU time and RSS.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// More server processes whose CPU time counts, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub also_server_pids: Vec<u32>,
    /// The server's JWT secret, to mint session tokens.
    #[arg(long, env = "MISEOS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// The server's database: sessions are started there for the tokens this tool signs,
    /// and `direct` inserts its staff users there.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    println!(
        "scenario {:?}: server {} admins {} staff {} events {} rate {}/s posters {} source-ips {}{}",
        args.scenario,
        args.server,
        args.admins,
        args.staff,
        args.events,
        args.rate,
        args.posters,
        args.source_ips,
        if args.floor_trigger.is_some() { " (bare floor)" } else { "" }
    );
    match args.scenario {
        Scenario::Broadcast => broadcast::run(&args).await,
        Scenario::Direct => direct::run(&args).await,
        Scenario::Idle => idle::run(&args).await,
        Scenario::Reconnect => reconnect::run(&args).await,
        Scenario::Snapshot => snapshot::run(&args).await,
        Scenario::Push => push::run(&args).await,
        Scenario::Webhooks => webhooks::run(&args).await,
    }
}
