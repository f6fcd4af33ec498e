//! `--scenario direct`: staff sockets, one pending item each, reviewed at a set rate; latency
//! from the review call to the decision's frame.

use crate::{
    client::{connect_sessions, number_after, read_session, user, HttpConnection, Minter, MINTER_NEEDS},
    measure::{report_latencies, sample_process, Tally},
    Args,
};
use app::wire::{NewIngredientRequest, Role, UserId};
use server::store::NewAccount;
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

pub async fn run(args: &Args) {
    let Some(minter) = Minter::connect(args).await else {
        eprintln!("{MINTER_NEEDS}");
        return;
    };
    let first_id = 1_000_000i64;
    let hash = server::accounts::hash_password("bench-only");
    let users: Vec<(UserId, NewAccount)> = (0..args.staff as i64)
        .map(|offset| {
            let user = user(UserId(first_id + offset), Role::LineCook);
            let account = NewAccount {
                kitchen_id: user.kitchen_id,
                email: user.email,
                first_name: user.first_name,
                last_name: user.last_name,
                role: user.role,
                password_hash: hash.clone(),
                must_change_password: false,
            };
            (user.id, account)
        })
        .collect();
    for chunk in users.chunks(1000) {
        minter.store.seed_users(chunk).await.expect("insert staff users");
    }
    let mut tokens = Vec::with_capacity(args.staff);
    for offset in 0..args.staff as i64 {
        tokens.push(minter.token(UserId(first_id + offset)).await);
    }
    // Each staff user asks for one item, so each review has its one recipient.
    let mut http = HttpConnection::open(args.server).await.expect("HTTP");
    let mut item_ids = Vec::with_capacity(args.staff);
    for (offset, token) in tokens.iter().enumerate() {
        let body = serde_json::to_string(&NewIngredientRequest {
            item_name: format!("bench-{offset}"),
            quantity: app::wire::Quantity(1.0),
            unit: "kg".into(),
            note: None,
        })
        .expect("serializable");
        let (status, answer) = http.call("POST", "/api/v1/ingredient-requests", token, &body).await.expect("POST");
        assert_eq!(status, 201, "{answer}");
        item_ids.push(number_after(&answer, "\"id\":").expect("an id"));
    }
    let (sessions, report) =
        connect_sessions(args, (0..args.staff).collect(), |index| Some(tokens[index].clone())).await;
    println!("connected: {report}");
    let events = args.events.min(item_ids.len());
    let max_id = item_ids.iter().copied().max().unwrap_or(0);
    let tally = Arc::new(Tally::new(max_id + 1));
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|session| tokio::spawn(read_session(session, tally.clone(), "\"requestId\":")))
        .collect();
    while tally.welcomed.load(Ordering::Relaxed) < readers.len() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server_before = sample_process(args.server_pid);
    let chef = minter.token(UserId(1)).await;
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let item_ids = Arc::new(item_ids);
    let reviewers = (0..args.posters.max(1)).map(|_| {
        let (next, item_ids, tally, chef) = (next.clone(), item_ids.clone(), tally.clone(), chef.clone());
        async move {
            let mut http = HttpConnection::open(args.server).await.expect("HTTP");
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= events {
                    return;
                }
                tokio::time::sleep_until((started + interval * index as u32).into()).await;
                let id = item_ids[index];
                tally.sent_at[id].store(tally.now_micros().max(1), Ordering::Release);
                let (status, answer) = http
                    .call("POST", &format!("/api/v1/ingredient-requests/{id}/approve"), &chef, "")
                    .await
                    .expect("POST");
                if status != 200 {
                    eprintln!("review answered {status}: {answer}");
                }
            }
        }
    });
    futures::future::join_all(reviewers).await;
    let took = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server_after = sample_process(args.server_pid);
    println!("reviews: {events} in {took:.2} s ({:.0}/s)", events as f64 / took);
    if let (Some(before), Some(after)) = (server_before, server_after) {
        println!("server: cpu {:.2} s", after.cpu_seconds - before.cpu_seconds);
    }
    report_latencies(tally, readers).await;
}
