//! `--scenario reconnect`: sockets that reconnect as the browser app does (full-jitter
//! backoff) while the server restarts; how long until every one is welcomed again.

use crate::{
    client::{open_session, Minter, MINTER_NEEDS},
    Args,
};
use futures::StreamExt;
use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio_tungstenite::tungstenite::Message;

pub async fn run(args: &Args) {
    let Some(minter) = Minter::connect(args).await else {
        eprintln!("{MINTER_NEEDS}");
        return;
    };
    let token = minter.token(app::wire::UserId(1)).await;
    let welcomed = Arc::new(AtomicUsize::new(0));
    let disconnected_at = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let sessions = (0..args.admins).map(|index| {
        let (token, welcomed, disconnected_at) = (token.clone(), welcomed.clone(), disconnected_at.clone());
        async move {
            let mut failures = 0u32;
            let mut rounds = 0;
            while rounds < 2 {
                // Back only once welcomed: a server that is stopping accepts and closes at once.
                let mut session = open_session(args, index, Some(&token)).await.ok();
                let welcome = match session.as_mut() {
                    Some(socket) => socket.next().await,
                    None => None,
                };
                match (session, welcome) {
                    (Some(mut socket), Some(Ok(Message::Text(text)))) if text.contains("\"CONNECTED\"") => {
                        failures = 0;
                        welcomed.fetch_add(1, Ordering::Relaxed);
                        rounds += 1;
                        if rounds == 2 {
                            return;
                        }
                        while let Some(Ok(_)) = socket.next().await {}
                        let _ = disconnected_at.compare_exchange(
                            0,
                            started.elapsed().as_millis() as u64,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        );
                    }
                    _ => failures += 1,
                }
                // The browser app's backoff: full jitter under a capped exponential ceiling.
                let ceiling = (500.0 * 2f64.powi(failures.min(16) as i32)).min(15_000.0);
                let jitter: f64 = rand_unit();
                tokio::time::sleep(Duration::from_millis((ceiling * jitter) as u64)).await;
            }
        }
    });
    let all = futures::future::join_all(sessions);
    let progress = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let since = disconnected_at.load(Ordering::Acquire);
            if since > 0 {
                println!(
                    "t+{:.1} s after the first disconnect: {} of {} sessions welcomed again",
                    (started.elapsed().as_millis() as u64 - since) as f64 / 1000.0,
                    welcomed.load(Ordering::Relaxed).saturating_sub(args.admins),
                    args.admins
                );
            }
        }
    };
    tokio::select! {
        _ = all => {}
        () = progress => {}
    }
    let since = disconnected_at.load(Ordering::Acquire);
    println!(
        "all {} sessions back {:.2} s after the first disconnect",
        args.admins,
        (started.elapsed().as_millis() as u64 - since) as f64 / 1000.0
    );
}

/// A uniform number in [0, 1).
fn rand_unit() -> f64 {
    rand::random::<f64>()
}
