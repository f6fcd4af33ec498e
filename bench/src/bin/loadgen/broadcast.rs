//! `--scenario broadcast`: admin sockets of one or several kitchens, creates at a set rate
//! (or flat out), latency to each socket and to the last, deliveries per second; spread over
//! several client processes when one cannot hold them all.

use crate::{
    client::{account_of, connect_sessions, next_text, number_after, user, HttpConnection, Minter, MINTER_NEEDS},
    measure::{latency_line, sample_process, servers_cpu, unix_micros},
    Args,
};
use app::wire::{NewIngredientRequest, Role, UserId};
use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// What one client process measured in a broadcast run.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct ShardResult {
    sessions: usize,
    /// Frames received after the greetings.
    frames: usize,
    /// Latency histogram of announcements: (bucket of 100 µs, count).
    histogram: Vec<(u64, u64)>,
    /// Per event, its latest arrival at any session of this process (Unix µs), and when it
    /// was sent.
    last_arrival: Vec<u64>,
    sent_at: Vec<u64>,
    client_cpu_seconds: f64,
}

const BUCKET_MICROS: u64 = 100;

/// This process's share of the broadcast sessions: connects, reads, and measures them.
async fn read_shard(
    args: &Args,
    shard: usize,
    tokens: Vec<Option<String>>,
) -> (Arc<AtomicUsize>, impl std::future::Future<Output = ShardResult> + '_) {
    let indexes: Vec<usize> = (0..args.admins).filter(|index| index % args.clients.max(1) == shard).collect();
    let (sessions, report) = connect_sessions(args, indexes, |index| tokens[index % tokens.len()].clone()).await;
    // Stderr: a client process's stdout carries only READY and RESULT to the driver.
    eprintln!("shard {shard}: {report}");
    let frames = Arc::new(AtomicUsize::new(0));
    let greeted = Arc::new(AtomicUsize::new(0));
    let last_arrival: Arc<Vec<AtomicU64>> = Arc::new((0..args.events).map(|_| AtomicU64::new(0)).collect());
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..args.events).map(|_| AtomicU64::new(0)).collect());
    let count = sessions.len();
    let greeting_frames = if args.floor_trigger.is_some() { 1 } else { 3 };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|mut socket| {
            let (frames, greeted, last_arrival, sent_at) =
                (frames.clone(), greeted.clone(), last_arrival.clone(), sent_at.clone());
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let mut histogram = std::collections::BTreeMap::<u64, u64>::new();
                let mut greeting_left = greeting_frames;
                while let Some(text) = next_text(&mut socket, &mut stopped).await {
                    if greeting_left > 0 {
                        greeting_left -= 1;
                        if greeting_left == 0 {
                            greeted.fetch_add(1, Ordering::Relaxed);
                        }
                        continue;
                    }
                    frames.fetch_add(1, Ordering::Relaxed);
                    // Announcements carry "bench-<event>-<sent at, Unix µs>" as their name.
                    let Some(event) = number_after(&text, "\"itemName\":\"bench-") else { continue };
                    let Some(sent) = text
                        .find(&format!("bench-{event}-"))
                        .and_then(|at| number_after(&text[at..], &format!("bench-{event}-")))
                    else {
                        continue;
                    };
                    let now = unix_micros();
                    *histogram.entry(now.saturating_sub(sent as u64) / BUCKET_MICROS).or_default() += 1;
                    if let (Some(last), Some(first)) = (last_arrival.get(event), sent_at.get(event)) {
                        last.fetch_max(now, Ordering::AcqRel);
                        first.store(sent as u64, Ordering::Release);
                    }
                }
                histogram
            })
        })
        .collect();
    while greeted.load(Ordering::Relaxed) < count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expected = expected_deliveries(args, |index| index % args.clients.max(1) == shard);
    let finished = {
        let frames = frames.clone();
        async move {
            // Done when every frame arrived, or nothing moved for three seconds after the
            // first one (what is missing then is lost).
            let mut last = (0, Instant::now());
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let now = frames.load(Ordering::Relaxed);
                if now >= expected {
                    break;
                }
                if now != last.0 {
                    last = (now, Instant::now());
                } else if now > 0 && last.1.elapsed() > Duration::from_secs(3) {
                    break;
                }
            }
            let mut histogram = std::collections::BTreeMap::<u64, u64>::new();
            stop.send_replace(true);
            for reader in readers {
                if let Ok(part) = reader.await {
                    for (bucket, hits) in part {
                        *histogram.entry(bucket).or_default() += hits;
                    }
                }
            }
            ShardResult {
                sessions: count,
                frames: frames.load(Ordering::Relaxed),
                histogram: histogram.into_iter().collect(),
                last_arrival: last_arrival.iter().map(|at| at.load(Ordering::Acquire)).collect(),
                sent_at: sent_at.iter().map(|at| at.load(Ordering::Acquire)).collect(),
                client_cpu_seconds: sample_process(None).map_or(0.0, |sample| sample.cpu_seconds),
            }
        }
    };
    (frames, finished)
}

pub async fn run(args: &Args) {
    let minter = if args.floor_trigger.is_none() { Minter::connect(args).await } else { None };
    if args.floor_trigger.is_none() && minter.is_none() {
        eprintln!("{MINTER_NEEDS}");
        return;
    }
    // Per kitchen, the tokens of its head chef (every admin session of the kitchen shares it)
    // and of its cook (who creates the kitchen's events).
    let (admin_tokens, cook_tokens) = match &minter {
        Some(minter) => {
            let mut tokens = (Vec::new(), Vec::new());
            for (chef, cook) in bench_kitchens(minter, args.kitchens.max(1)).await {
                tokens.0.push(Some(minter.token(chef).await));
                tokens.1.push(minter.token(cook).await);
            }
            tokens
        }
        None => (vec![None], vec![String::new()]),
    };
    if let Some(shard) = args.reader_shard {
        // A client process started by the driver: read, then report on stdout.
        let (_, finished) = read_shard(args, shard, admin_tokens).await;
        println!("READY");
        let result = finished.await;
        println!("RESULT {}", serde_json::to_string(&result).expect("serializable"));
        return;
    }
    let mut children = Vec::new();
    for shard in 1..args.clients.max(1) {
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args().skip(1))
            .arg("--reader-shard")
            .arg(shard.to_string())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("a client process");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        while let Some(line) = lines.next_line().await.expect("client output") {
            if line == "READY" {
                break;
            }
        }
        children.push((child, lines));
    }
    let connected_at = Instant::now();
    let (_, own) = read_shard(args, 0, admin_tokens).await;
    println!(
        "connected: {} sessions over {} client process(es), the last share in {:.2} s",
        args.admins,
        args.clients.max(1),
        connected_at.elapsed().as_secs_f64()
    );
    let server_before = servers_cpu(args);
    let started = Instant::now();
    drive_events(args, &cook_tokens).await;
    let sending_took = started.elapsed();
    let mut results = vec![own.await];
    for (mut child, mut lines) in children {
        while let Some(line) = lines.next_line().await.expect("client output") {
            if let Some(json) = line.strip_prefix("RESULT ") {
                results.push(serde_json::from_str(json).expect("a client's result"));
            }
        }
        let _ = child.wait().await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server_after = servers_cpu(args);
    report_broadcast(args, &results, sending_took, elapsed, server_before.zip(server_after));
}

fn report_broadcast(
    args: &Args,
    results: &[ShardResult],
    sending_took: Duration,
    elapsed: f64,
    server_cpu: Option<(f64, f64)>,
) {
    let sessions: usize = results.iter().map(|result| result.sessions).sum();
    let delivered: usize = results.iter().map(|result| result.frames).sum();
    let expected = expected_deliveries(args, |_| true);
    println!("sessions: {sessions} over {} kitchen(s)", args.kitchens.max(1));
    println!(
        "events: {} in {:.2} s ({:.1}/s); deliveries: expected {expected}, received {delivered}, lost {}",
        args.events,
        sending_took.as_secs_f64(),
        args.events as f64 / sending_took.as_secs_f64(),
        expected.saturating_sub(delivered)
    );
    println!("deliveries/s: {:.0} (until the last frame or 3 s of silence)", delivered as f64 / elapsed);
    if let Some((before, after)) = server_cpu {
        println!(
            "server: cpu {:.2} s = {:.2} µs/delivery",
            after - before,
            (after - before) * 1e6 / delivered.max(1) as f64
        );
    }
    let client_cpu: Vec<String> = results.iter().map(|result| format!("{:.2} s", result.client_cpu_seconds)).collect();
    println!("client processes: cpu {} in total each (over {elapsed:.2} s)", client_cpu.join(", "));
    let mut histogram = std::collections::BTreeMap::<u64, u64>::new();
    for result in results {
        for (bucket, hits) in &result.histogram {
            *histogram.entry(*bucket).or_default() += hits;
        }
    }
    let total: u64 = histogram.values().sum();
    let quantile = |fraction: f64| {
        let wanted = (total as f64 * fraction).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (bucket, hits) in &histogram {
            seen += hits;
            if seen >= wanted {
                return (bucket + 1) as f64 * BUCKET_MICROS as f64 / 1000.0;
            }
        }
        f64::NAN
    };
    println!(
        "latency to each session: n={total} p50={:.1} ms p99={:.1} ms max={:.1} ms (0.1 ms buckets)",
        quantile(0.5),
        quantile(0.99),
        quantile(1.0)
    );
    let last: Vec<u64> = (0..args.events)
        .filter_map(|event| {
            let sent = results.iter().map(|result| result.sent_at.get(event).copied().unwrap_or(0)).max()?;
            let last = results.iter().map(|result| result.last_arrival.get(event).copied().unwrap_or(0)).max()?;
            (sent > 0 && last > 0).then(|| last.saturating_sub(sent))
        })
        .collect();
    latency_line("latency to the last session", last);
}

/// The frames the sessions `counted` (by index) should receive: each event's two frames, on
/// every session of the event's kitchen.
fn expected_deliveries(args: &Args, counted: impl Fn(usize) -> bool) -> usize {
    let kitchens = args.kitchens.max(1);
    let mut sessions_per_kitchen = vec![0usize; kitchens];
    for index in (0..args.admins).filter(|index| counted(*index)) {
        sessions_per_kitchen[index % kitchens] += 1;
    }
    (0..args.events).map(|event| 2 * sessions_per_kitchen[event % kitchens]).sum()
}

/// The `(head chef, cook)` user ids of `count` kitchens: the demo kitchen's Gordon and Ali,
/// then kitchens made for the run (each once per database; a second run finds them made).
pub async fn bench_kitchens(minter: &Minter, count: usize) -> Vec<(UserId, UserId)> {
    const FIRST_CHEF_ID: i64 = 2_000_000;
    const FIRST_COOK_ID: i64 = 3_000_000;
    let mut people = vec![(UserId(1), UserId(3))];
    let made = minter.store.kitchens().await.expect("the kitchens");
    let hash = server::accounts::hash_password("bench-only");
    let mut accounts = Vec::new();
    for offset in 1..count as i64 {
        let (chef, cook) = (UserId(FIRST_CHEF_ID + offset), UserId(FIRST_COOK_ID + offset));
        people.push((chef, cook));
        if made.iter().any(|kitchen| kitchen.name == format!("Bench {offset}")) {
            continue;
        }
        let kitchen = minter.store.create_kitchen(&format!("Bench {offset}"), None).await.expect("a kitchen");
        for (id, role) in [(chef, Role::HeadChef), (cook, Role::LineCook)] {
            accounts.push((id, account_of(user(id, role), kitchen.id, &hash)));
        }
    }
    for chunk in accounts.chunks(1000) {
        minter.store.seed_users(chunk).await.expect("insert the kitchens' users");
    }
    people
}

/// Sends `--events` events at `--rate` (or flat out) through `--posters` connections, event e
/// as the cook of kitchen e mod K (`tokens`, one per kitchen). Each event's name carries its
/// index and the moment it was sent.
pub async fn drive_events(args: &Args, tokens: &[String]) {
    let next = Arc::new(AtomicUsize::new(0));
    let interval = (args.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / args.rate));
    let started = Instant::now();
    let posters = (0..args.posters.max(1)).map(|_| {
        let next = next.clone();
        let floor = args.floor_trigger;
        let server = args.server;
        let events = args.events;
        async move {
            let mut floor_stream = match floor {
                Some(address) => Some(TcpStream::connect(address).await.expect("the floor's trigger port")),
                None => None,
            };
            let mut http = match floor {
                Some(_) => None,
                None => Some(HttpConnection::open(server).await.expect("the server's HTTP port")),
            };
            loop {
                let event = next.fetch_add(1, Ordering::Relaxed);
                if event >= events {
                    return;
                }
                if let Some(interval) = interval {
                    tokio::time::sleep_until((started + interval * event as u32).into()).await;
                }
                let name = format!("bench-{event}-{}", unix_micros());
                if let Some(stream) = floor_stream.as_mut() {
                    stream.write_all(format!("{name}\n").as_bytes()).await.expect("trigger");
                } else if let Some(http) = http.as_mut() {
                    let body = serde_json::to_string(&NewIngredientRequest {
                        item_name: name,
                        quantity: app::wire::Quantity(1.0),
                        unit: "kg".into(),
                        note: None,
                    })
                    .expect("serializable");
                    let token = &tokens[event % tokens.len()];
                    let (status, answer) =
                        http.call("POST", "/api/v1/ingredient-requests", token, &body).await.expect("POST");
                    if status != 201 {
                        eprintln!("create answered {status}: {answer}");
                    }
                }
            }
        }
    });
    futures::future::join_all(posters).await;
}
