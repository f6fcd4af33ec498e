//! `--scenario push`: Web Push under load (issue 24). `--staff` cooks of a kitchen of their own
//! (so the reviews broadcast nothing to the demo kitchen's dashboards), each with one pending
//! item and, with `--push-service ADDR`, one push subscription to a push service this tool runs
//! there (the server must allow its origin: `MISEOS_PUSH_EXTRA_ORIGINS`). A head chef of that
//! kitchen reviews `--events` of the items at `--rate`.
//!
//! Reported: pushes received and per second, the time from each review call to its push
//! reaching the push service (p50, p99), the server's CPU per decision (run once without
//! `--push-service` for the same figure without pushes), and the server's own histogram of
//! commit to acceptance (`miseos_push_delivery_seconds`).

use crate::{
    client::{account_of, approve_at_rate, one_item_each, HttpConnection, Minter, MINTER_NEEDS},
    measure::{latency_line, report_server_histogram, sample_process, Tally},
    Args,
};
use app::wire::{Role, User, UserId};
use axum::{extract::Path, extract::State, http::StatusCode, routing::post, Router};
use server::store::NewAccount;
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// The ids of the scenario's users: the head chef, then the cooks.
const FIRST_ID: i64 = 2_000_000;

pub async fn run(args: &Args) {
    let Some(minter) = Minter::connect(args).await else {
        eprintln!("{MINTER_NEEDS}");
        return;
    };
    let kitchen = minter.store.create_kitchen("Push bench", None).await.expect("a kitchen");
    let hash = server::accounts::hash_password("bench-only");
    let account = |id: i64, role: Role| {
        let user = User {
            id: UserId(id),
            first_name: format!("Push{id}"),
            last_name: "Bench".into(),
            email: format!("push{id}@miseos.dk"),
            role,
            active: true,
            kitchen_id: kitchen.id,
        };
        (user.id, account_of(user, kitchen.id, &hash))
    };
    let users: Vec<(UserId, NewAccount)> = std::iter::once(account(FIRST_ID, Role::HeadChef))
        .chain((1..=args.staff as i64).map(|offset| account(FIRST_ID + offset, Role::LineCook)))
        .collect();
    for chunk in users.chunks(1000) {
        minter.store.seed_users(chunk).await.expect("insert the users");
    }
    let mut tokens = Vec::with_capacity(args.staff);
    for offset in 1..=args.staff as i64 {
        tokens.push(minter.token(UserId(FIRST_ID + offset)).await);
    }
    let chef = minter.token(UserId(FIRST_ID)).await;
    let tally = Arc::new(Tally::new(args.staff));
    let subscribed = match args.push_service {
        Some(address) => {
            start_push_service(address, tally.clone()).await;
            subscribe_all(args, &tokens, address).await;
            true
        }
        None => false,
    };
    let item_ids = one_item_each(args, &tokens, "push").await;
    let events = args.events.min(item_ids.len());
    println!(
        "reviewing: {events} decisions at {}/s{}",
        args.rate,
        if subscribed { ", each pushed" } else { ", no subscriptions" }
    );
    let server_before = sample_process(args.server_pid);
    // Each cook's one item: its push arrives at the cook's endpoint, by position.
    let started = approve_at_rate(args, &chef, item_ids, events, |position, _| {
        tally.sent_at[position].store(tally.now_micros().max(1), Ordering::Release);
    })
    .await;
    let reviewed_in = started.elapsed().as_secs_f64();
    if subscribed {
        // Until every push arrived, or nothing arrived for 5 s.
        let mut seen = 0;
        let mut quiet_since = Instant::now();
        while tally.frames.load(Ordering::Acquire) < events && quiet_since.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = tally.frames.load(Ordering::Acquire);
            if now != seen {
                seen = now;
                quiet_since = Instant::now();
            }
        }
    } else {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let server_after = sample_process(args.server_pid);
    let elapsed = started.elapsed().as_secs_f64();
    println!("reviews: {events} in {reviewed_in:.2} s ({:.0}/s)", events as f64 / reviewed_in);
    if let (Some(before), Some(after)) = (server_before, server_after) {
        let cpu = after.cpu_seconds - before.cpu_seconds;
        println!("server: cpu {cpu:.2} s = {:.0} µs per decision", cpu / events as f64 * 1e6);
    }
    if subscribed {
        let received = tally.frames.load(Ordering::Acquire);
        println!(
            "pushes: expected {events}, received {received}, lost {}; {:.0}/s over {elapsed:.2} s",
            events.saturating_sub(received),
            received as f64 / elapsed
        );
        let latencies: Vec<u64> = tally
            .sent_at
            .iter()
            .zip(&tally.last_arrival)
            .filter_map(|(sent, arrived)| {
                let (sent, arrived) = (sent.load(Ordering::Acquire), arrived.load(Ordering::Acquire));
                (sent > 0 && arrived > 0).then(|| arrived.saturating_sub(sent))
            })
            .collect();
        latency_line("review call to push received", latencies);
        report_server_histogram(args, "miseos_push_delivery_seconds", "commit to push accepted", "pushes").await;
    }
}

/// Answers 201 to `POST /push/{offset}` and records when each cook's push arrived.
async fn start_push_service(address: SocketAddr, tally: Arc<Tally>) {
    async fn receive(State(tally): State<Arc<Tally>>, Path(offset): Path<usize>) -> StatusCode {
        if let Some(arrived) = tally.last_arrival.get(offset) {
            arrived.store(tally.now_micros(), Ordering::Release);
            tally.frames.fetch_add(1, Ordering::AcqRel);
        }
        StatusCode::CREATED
    }
    let listener = tokio::net::TcpListener::bind(address).await.expect("the push service's port");
    let router = Router::new().route("/push/{offset}", post(receive)).with_state(tally);
    tokio::spawn(async move { axum::serve(listener, router).await.expect("the push service") });
}

/// One subscription per cook, all with one key pair (only the endpoint matters to the
/// server's work; the push service does not decrypt).
async fn subscribe_all(args: &Args, tokens: &[String], address: SocketAddr) {
    let p256dh = server::outbound::push::VapidKey::generate().public_key;
    let auth = "AAECAwQFBgcICQoLDA0ODw";
    let next = Arc::new(AtomicUsize::new(0));
    let workers = (0..args.posters.max(1)).map(|_| {
        let (next, p256dh) = (next.clone(), p256dh.clone());
        async move {
            let mut http = HttpConnection::open(args.server).await.expect("HTTP");
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(index) else { return };
                let body = serde_json::json!({
                    "endpoint": format!("http://{address}/push/{index}"),
                    "keys": { "p256dh": p256dh, "auth": auth },
                })
                .to_string();
                let (status, answer) =
                    http.call("POST", "/api/v1/push/subscriptions", token, &body).await.expect("POST");
                assert_eq!(status, 201, "{answer}");
            }
        }
    });
    futures::future::join_all(workers).await;
}
