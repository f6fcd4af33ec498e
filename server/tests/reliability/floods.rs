//! One client (or one token) flooding the server: half-sent requests, wrong passwords, new
//! items, sockets. Each must be contained, and everyone else served meanwhile.

use crate::helpers::*;
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

/// A memory figure of a process from `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in KiB.
fn memory_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a memory figure")
}

/// How long a plain request takes to be answered.
async fn healthz_time(app: &TestApp) -> Duration {
    let started = Instant::now();
    let response = app.http.get(format!("{}/healthz", app.address)).send().await.expect("healthz");
    assert_eq!(response.status(), 200);
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_half_sent_requests_are_dropped_and_harm_no_one() {
    let app = spawn_app_with(Db::Sqlite, |config| config.header_timeout_seconds = 2.0).await;
    let address = format!("127.0.0.1:{}", app.port);
    let mut half_sent = Vec::with_capacity(3000);
    for _ in 0..3000 {
        let mut stream = TcpStream::connect(&address).await.expect("connect");
        stream.write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le").await.expect("write");
        half_sent.push(stream);
    }
    let opened = Instant::now();
    let served_in = healthz_time(&app).await;
    assert!(served_in < Duration::from_secs(1), "a normal request took {served_in:?}");
    // Every half-sent request is dropped once the header timeout has passed.
    let mut buffer = [0u8; 64];
    for stream in &mut half_sent {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await;
        assert!(matches!(read, Ok(Ok(0) | Err(_))), "still open: {read:?}");
    }
    let all_dropped_in = opened.elapsed();
    assert!(all_dropped_in < Duration::from_secs(4), "{all_dropped_in:?}");
    println!("3,000 half-sent requests: a normal request served in {served_in:?}; all dropped {all_dropped_in:?} after the last was opened (header timeout 2 s)");
}

/// Measured on a server process of its own, so its memory is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_throttled_in_bounded_memory_and_others_are_served() {
    let database = FreshDatabase::create(Db::Sqlite).await;
    let server = ServerProcess::start(&database.url).await;
    let pid = server.child.id().expect("a running server");
    let chef = server.token(GORDON).await;
    let before_kib = memory_kib(pid, "VmRSS");
    let server = &server;
    let flood = futures::future::join_all((0..300).map(|index| async move {
        server.login_attempt(&format!("guess{index}@miseos.dk"), "wrong password").await.status().as_u16()
    }));
    let bystander = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        assert_eq!(server.get("/api/v1/notifications/snapshot", &chef).await.status(), 200);
        started.elapsed()
    };
    let (statuses, bystander_took) = tokio::join!(flood, bystander);
    let peak_growth_mib = memory_kib(pid, "VmHWM").saturating_sub(before_kib) / 1024;
    let count = |status: u16| statuses.iter().filter(|answer| **answer == status).count();
    let (checked, throttled, busy) = (count(401), count(429), count(503));
    assert_eq!(checked + throttled + busy, 300, "only 401, 429 and 503: {statuses:?}");
    assert!(checked <= 30, "at most 30 failures from one address are checked ({checked})");
    assert!(throttled > 0, "{statuses:?}");
    assert!(peak_growth_mib < 200, "memory grew {peak_growth_mib} MiB at its peak");
    assert!(bystander_took < Duration::from_secs(1), "another user waited {bystander_took:?}");
    println!("login flood, 300 at once from one address: {checked} checked (401), {throttled} throttled (429), {busy} refused as busy (503); server memory peak +{peak_growth_mib} MiB; a head chef's read took {bystander_took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_flood_and_a_socket_loop_are_capped_per_user() {
    let app = spawn_app_with(Db::Sqlite, |config| {
        let defaults = server::config::Config::defaults();
        config.max_new_items_per_minute = defaults.max_new_items_per_minute;
        config.max_pending_per_user = defaults.max_pending_per_user;
        config.max_sockets_per_user = defaults.max_sockets_per_user;
    })
    .await;
    let (flooder, other, chef) = (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await);
    let body = app::wire::NewIngredientRequest {
        item_name: "Flood".into(),
        quantity: app::wire::Quantity(1.0),
        unit: "kg".into(),
        note: None,
    };
    let started = Instant::now();
    let mut created = 0;
    let mut limited = 0;
    for _ in 0..200 {
        match app.post("/api/v1/ingredient-requests", &flooder, &body).await.status().as_u16() {
            201 => created += 1,
            429 => limited += 1,
            status => panic!("unexpected {status}"),
        }
    }
    let flood_took = started.elapsed();
    assert_eq!((created, limited), (30, 170));
    let other_started = Instant::now();
    app.create_request(&other, "Persille").await;
    let other_took = other_started.elapsed();
    assert!(other_took < Duration::from_secs(1));

    // One token opening sockets in a loop: never more than 20 open, the oldest closed 4008.
    let mut sockets = Vec::new();
    for _ in 0..100 {
        let mut socket = app.socket(&chef).await;
        socket.skip_greeting().await;
        sockets.push(socket);
    }
    assert_eq!(app.hub.socket_counts().0, 20, "at most 20 of one user's sockets are open");
    for socket in sockets.iter_mut().take(80) {
        assert_eq!(socket.expect_close().await.0, app::wire::close_code::TOO_MANY_SESSIONS);
    }
    println!("item flood: 200 posts in {flood_took:?}, {created} created, {limited} answered 429; another cook's post took {other_took:?}. Socket loop: 100 opened, 20 open at the end, 80 closed with 4008");
}
