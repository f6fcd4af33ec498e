//! `--scenario snapshot`: keep-alive connections reading the snapshot for a while; requests
//! per second, CPU per request, latency.

use crate::{
    client::{HttpConnection, Minter, MINTER_NEEDS},
    measure::{latency_line, sample_process},
    Args,
};
use std::time::{Duration, Instant};

pub async fn run(args: &Args) {
    let Some(minter) = Minter::connect(args).await else {
        eprintln!("{MINTER_NEEDS}");
        return;
    };
    let token = minter.token(app::wire::UserId(1)).await;
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let server_before = sample_process(args.server_pid);
    let started = Instant::now();
    let readers = (0..args.posters.max(1)).map(|_| {
        let token = token.clone();
        async move {
            let mut http = HttpConnection::open(args.server).await.expect("HTTP");
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let (status, _) = http.call("GET", "/api/v1/notifications/snapshot", &token, "").await.expect("GET");
                assert_eq!(status, 200);
                samples.push(sent.elapsed().as_micros() as u64);
            }
            samples
        }
    });
    let samples: Vec<u64> = futures::future::join_all(readers).await.into_iter().flatten().collect();
    let took = started.elapsed().as_secs_f64();
    let server_after = sample_process(args.server_pid);
    println!("snapshot: {} requests in {took:.2} s = {:.0}/s", samples.len(), samples.len() as f64 / took);
    if let (Some(before), Some(after)) = (server_before, server_after) {
        println!(
            "server: cpu {:.2} s = {:.1} µs/request",
            after.cpu_seconds - before.cpu_seconds,
            (after.cpu_seconds - before.cpu_seconds) * 1e6 / samples.len().max(1) as f64
        );
    }
    latency_line("snapshot latency", samples);
}
