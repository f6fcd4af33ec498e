//! `--scenario webhooks`: webhooks under load (issue 26). `--kitchens` kitchens made for the run
//! (as `broadcast` makes them; never the demo kitchen, whose dashboards a concurrent
//! `broadcast` measures), each with one webhook for
//! `item.created` to a receiver this tool runs at `--webhook-receiver ADDR` (the server must
//! allow its origin: `MISEOS_WEBHOOK_EXTRA_ORIGINS`); `--events` creates at `--rate`, spread
//! over the kitchens.
//!
//! Reported: deliveries received and per second; the time from each create's REST call to its
//! delivery reaching the receiver, and from its commit (the body's `createdAt`, the database's
//! clock on this machine) to the receiver (p50, p99); the server's CPU per change; and the
//! server's own histogram of commit to 2xx (`miseos_webhook_delivery_seconds`).

use crate::{
    broadcast::{bench_kitchens, drive_events},
    client::{HttpConnection, Minter, MINTER_NEEDS},
    measure::{latency_line, report_server_histogram, sample_process, unix_micros},
    Args,
};
use axum::{body::Bytes, extract::State, http::StatusCode, routing::post, Router};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// What the receiver saw of each delivery: µs from the REST call to arrival, and from the
/// commit to arrival.
#[derive(Default)]
struct Arrivals {
    from_call: Mutex<Vec<u64>>,
    from_commit: Mutex<Vec<u64>>,
}

pub async fn run(args: &Args) {
    let (Some(minter), Some(address)) = (Minter::connect(args).await, args.webhook_receiver) else {
        eprintln!("{MINTER_NEEDS}, and --webhook-receiver to the address the server may send to");
        return;
    };
    // The first of `bench_kitchens` is the demo kitchen: left out.
    let made = bench_kitchens(&minter, args.kitchens + 1).await;
    let people = &made[1..];
    let mut cooks = Vec::with_capacity(people.len());
    let mut http = HttpConnection::open(args.server).await.expect("HTTP");
    let hook = serde_json::json!({ "url": format!("http://{address}/hook"), "events": ["item.created"] }).to_string();
    for (chef, cook) in people {
        let chef = minter.token(*chef).await;
        let (status, answer) = http.call("POST", "/api/v1/webhooks", &chef, &hook).await.expect("POST");
        assert_eq!(status, 201, "adding a webhook: {answer}");
        cooks.push(minter.token(*cook).await);
    }
    let arrivals = Arc::new(Arrivals::default());
    start_receiver(address, arrivals.clone()).await;
    println!("creating: {} changes at {}/s over {} kitchens, one webhook each", args.events, args.rate, people.len());
    let server_before = sample_process(args.server_pid);
    let started = Instant::now();
    drive_events(args, &cooks).await;
    let created_in = started.elapsed().as_secs_f64();
    // Until every delivery arrived, or nothing arrived for 5 s.
    let received = || arrivals.from_call.lock().expect("not poisoned").len();
    let (mut seen, mut quiet_since) = (0, Instant::now());
    while received() < args.events && quiet_since.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if received() != seen {
            seen = received();
            quiet_since = Instant::now();
        }
    }
    let server_after = sample_process(args.server_pid);
    let elapsed = started.elapsed().as_secs_f64();
    println!("creates: {} in {created_in:.2} s ({:.0}/s)", args.events, args.events as f64 / created_in);
    if let (Some(before), Some(after)) = (server_before, server_after) {
        let cpu = after.cpu_seconds - before.cpu_seconds;
        println!("server: cpu {cpu:.2} s = {:.0} µs per change", cpu / args.events as f64 * 1e6);
    }
    let received = received();
    println!(
        "deliveries: expected {}, received {received}, lost {}; {:.0}/s over {elapsed:.2} s",
        args.events,
        args.events.saturating_sub(received),
        received as f64 / elapsed
    );
    latency_line("REST call to delivery received", arrivals.from_call.lock().expect("not poisoned").clone());
    latency_line("commit to delivery received", arrivals.from_commit.lock().expect("not poisoned").clone());
    report_server_histogram(args, "miseos_webhook_delivery_seconds", "commit to 2xx", "deliveries").await;
}

/// Answers 204 to `POST /hook` and records how long each delivery took to come.
async fn start_receiver(address: SocketAddr, arrivals: Arc<Arrivals>) {
    async fn receive(State(arrivals): State<Arc<Arrivals>>, body: Bytes) -> StatusCode {
        let now = unix_micros();
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&body) else { return StatusCode::BAD_REQUEST };
        // The item's name is `bench-<event>-<µs when its REST call started>`.
        let sent = body["data"]["item"]["itemName"]
            .as_str()
            .and_then(|name| name.rsplit('-').next())
            .and_then(|micros| micros.parse::<u64>().ok());
        let committed = body["createdAt"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.timestamp_micros() as u64);
        if let (Some(sent), Some(committed)) = (sent, committed) {
            arrivals.from_call.lock().expect("not poisoned").push(now.saturating_sub(sent));
            arrivals.from_commit.lock().expect("not poisoned").push(now.saturating_sub(committed));
        }
        StatusCode::NO_CONTENT
    }
    let listener = tokio::net::TcpListener::bind(address).await.expect("the receiver's port");
    let router = Router::new().route("/hook", post(receive)).with_state(arrivals);
    tokio::spawn(async move { axum::serve(listener, router).await.expect("the receiver") });
}
