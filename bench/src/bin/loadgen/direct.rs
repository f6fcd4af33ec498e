//! `--scenario direct`: staff sockets, one pending item each, reviewed at a set rate; latency
//! from the review call to the decision's frame.

use crate::{
    client::{approve_at_rate, connect_sessions, one_item_each, read_session, user, Minter, MINTER_NEEDS},
    measure::{report_latencies, sample_process, Tally},
    Args,
};
use app::wire::{Role, UserId};
use server::store::NewAccount;
use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
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
    let item_ids = one_item_each(args, &tokens, "bench").await;
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
    let started = approve_at_rate(args, &chef, item_ids, events, |_, id| {
        tally.sent_at[id].store(tally.now_micros().max(1), Ordering::Release);
    })
    .await;
    let took = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server_after = sample_process(args.server_pid);
    println!("reviews: {events} in {took:.2} s ({:.0}/s)", events as f64 / took);
    if let (Some(before), Some(after)) = (server_before, server_after) {
        println!("server: cpu {:.2} s", after.cpu_seconds - before.cpu_seconds);
    }
    report_latencies(tally, readers).await;
}
