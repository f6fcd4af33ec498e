//! `--scenario idle`: sockets held idle; the server's RSS per socket, over the whole run and
//! over its second half.

use crate::{
    client::{connect_sessions, read_session, Minter, MINTER_NEEDS},
    measure::{sample_process, Tally},
    Args,
};
use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

pub async fn run(args: &Args) {
    // The floor checks no token.
    let token = if args.floor_trigger.is_none() {
        let Some(minter) = Minter::connect(args).await else {
            eprintln!("{MINTER_NEEDS}");
            return;
        };
        Some(minter.token(app::wire::UserId(1)).await)
    } else {
        None
    };
    // Two halves: the second half's growth is what a session costs, apart from what the
    // process kept from its start. The allocator keeps freed start-up memory (the demo users'
    // Argon2 hashing alone is 19 MiB) for reuse, and whether it was returned before the first
    // sample or was reused by the first sessions decides the whole-run figure by ~0.5 KiB.
    let tally = Arc::new(Tally::new(0));
    let half = args.admins / 2;
    let before = sample_process(args.server_pid);
    let mut readers = hold_idle(args, 0..half, &token, &tally).await;
    let middle = sample_process(args.server_pid);
    readers.extend(hold_idle(args, half..args.admins, &token, &tally).await);
    let after = sample_process(args.server_pid);
    if let (Some(before), Some(middle), Some(after)) = (before, middle, after) {
        let count = readers.len().max(1);
        let second_half = count.saturating_sub(half).max(1);
        println!(
            "server rss: {} KiB before, {} KiB with {half}, {} KiB with {count} idle sessions = {:.2} KiB/session \
             over the whole run, {:.2} KiB/session over the second half",
            before.rss_kib,
            middle.rss_kib,
            after.rss_kib,
            (after.rss_kib as f64 - before.rss_kib as f64) / count as f64,
            (after.rss_kib as f64 - middle.rss_kib as f64) / second_half as f64
        );
    }
    tally.stop.send_replace(true);
    for reader in readers {
        let _ = reader.await;
    }
}

/// Opens the sessions of `indexes`, reads them until all are welcomed, then holds them idle
/// for `--seconds`; returns their reader tasks.
async fn hold_idle(
    args: &Args,
    indexes: std::ops::Range<usize>,
    token: &Option<String>,
    tally: &Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<Vec<u64>>> {
    let (sessions, report) = connect_sessions(args, indexes.collect(), |_| token.clone()).await;
    println!("connected: {report}");
    let welcomed_before = tally.welcomed.load(Ordering::Relaxed);
    let count = sessions.len();
    let readers: Vec<_> =
        sessions.into_iter().map(|session| tokio::spawn(read_session(session, tally.clone(), "\u{0}"))).collect();
    while tally.welcomed.load(Ordering::Relaxed) < welcomed_before + count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    readers
}
