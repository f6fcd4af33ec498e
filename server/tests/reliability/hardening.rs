//! The review's eight places where a mature stack holds (API.md section 8's last rules): each
//! case drives the real server as a client would and prints its figures for
//! docs/RELIABILITY.md.

use crate::helpers::*;
use app::wire::{LoginResponse, NewIngredientRequest, Notification, Role, UserId};
use futures::{SinkExt, StreamExt};
use server::{
    accounts::hash_password,
    clock::KitchenClock,
    store::{NewAccount, Store},
};
use sqlx::Connection;
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    time::Instant,
};
use tokio_tungstenite::tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame},
    Message,
};

/// Waits until `check` holds, at most `within`; how long it took.
async fn until(within: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// Ends `session` as a process whose clock is 20 s behind would, and whose NOTIFY never
/// arrives: the ending takes its place in the database's order of endings (the next number of
/// the counter row, as the store writes every ending), stamped with that process's clock.
async fn end_session_from_a_late_clock(database_url: &str, session: &str) {
    let mut connection = sqlx::PgConnection::connect(database_url).await.expect("PostgreSQL");
    let mut tx = connection.begin().await.expect("a transaction");
    let seq: i64 = sqlx::query_scalar("UPDATE session_ending_counter SET seq = seq + 1 RETURNING seq")
        .fetch_one(&mut *tx)
        .await
        .expect("the order of endings");
    let twenty_seconds_ago = chrono::Utc::now().timestamp_millis() - 20_000;
    let ended =
        sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = 'session revoked', ended_seq = $2 WHERE id = $3")
            .bind(twenty_seconds_ago)
            .bind(seq)
            .bind(session)
            .execute(&mut *tx)
            .await
            .expect("the ending");
    assert_eq!(ended.rows_affected(), 1);
    tx.commit().await.expect("committed");
}

/// Point 1: revocation is ordered by the database. Two PostgreSQL processes have the session
/// cached and a socket open; it ends with a stamp 20 s in the past and no notification. Both
/// refuse the token within 1 s, the socket closes within 5 s, and a refresh is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ending_stamped_by_a_late_clock_and_never_notified_is_honoured_everywhere() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let first = ServerProcess::start(&database.url).await;
    let second = ServerProcess::start(&database.url).await;
    let token = first.token(ALI).await;
    for process in [&first, &second] {
        assert_eq!(process.get("/api/v1/auth/me", &token).await.status(), 200, "cached as live");
    }
    let mut socket = open_socket(second.port, &token).await;
    socket.skip_greeting().await;
    let session = server::accounts::TokenKeys::new(TEST_SECRET.as_bytes(), Duration::from_secs(60))
        .verify(&token)
        .expect("our token")
        .session
        .to_string();
    end_session_from_a_late_clock(&database.url, &session).await;
    let ended_at = Instant::now();
    let mut refused_in = Vec::new();
    for process in [&first, &second] {
        refused_in.push(
            until(Duration::from_secs(1), async || process.get("/api/v1/auth/me", &token).await.status() == 401).await,
        );
    }
    assert_eq!(socket.expect_close().await, (1008, "session revoked".into()));
    let closed_in = ended_at.elapsed();
    assert!(closed_in < Duration::from_secs(5), "{closed_in:?}");
    let refresh = first.http.post(first.url("/api/v1/auth/refresh")).bearer_auth(&token).send().await.expect("POST");
    assert_eq!(refresh.status(), 401);
    println!(
        "an ending stamped 20 s in the past, never notified: 401 on the two processes after {:?} and {:?}, the socket closed 1008 after {closed_in:?}",
        refused_in[0], refused_in[1]
    );
}

/// Point 1: a refresh asks the database. A disabled user's live token cannot be renewed,
/// whatever a process has cached.
#[tokio::test]
async fn a_refresh_is_refused_for_an_ended_session_or_a_disabled_user() {
    let app = spawn_app(Db::Sqlite).await;
    let cook = app.token(ALI).await;
    let refresh = |token: String| {
        let request = app.http.post(format!("{}/api/v1/auth/refresh", app.address)).bearer_auth(token);
        async move { request.send().await.expect("POST").status() }
    };
    assert_eq!(refresh(cook.clone()).await, 200);
    let chef = app.token(GORDON).await;
    let disable = app::wire::UserChanges { active: Some(false), ..Default::default() };
    assert_eq!(app.patch("/api/v1/users/3", &chef, &disable).await.status(), 200);
    assert_eq!(refresh(cook).await, 401);
}

/// Point 2: socket opens cost nothing before they are allowed. The 61st open of a minute
/// answers 429 with `Retry-After` instead of upgrading, and no refused open writes a claim.
#[tokio::test]
async fn socket_opens_beyond_the_minutes_limit_get_429_before_anything_is_written() {
    let app = spawn_app_with(Db::Postgres, |config| config.max_socket_opens_per_minute = 60).await;
    let cook = app.token(ALI).await;
    let claims = || async {
        let mut connection = sqlx::PgConnection::connect(app.database_url()).await.expect("PostgreSQL");
        let claimed: i64 = sqlx::query_scalar("SELECT last_value FROM staff_session_claims")
            .fetch_one(&mut connection)
            .await
            .expect("the claims");
        claimed
    };
    for _ in 0..60 {
        let mut socket = open_socket(app.port, &cook).await;
        socket.skip_greeting().await;
    }
    let claimed = claims().await;
    for _ in 0..5 {
        let Err(tokio_tungstenite::tungstenite::Error::Http(refused)) =
            tokio_tungstenite::connect_async(socket_request(app.port, &cook)).await
        else {
            panic!("the 61st open is refused before the upgrade");
        };
        assert_eq!(refused.status(), 429);
        let retry_after: u64 = refused.headers()["retry-after"].to_str().expect("ASCII").parse().expect("seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    assert_eq!(claims().await, claimed, "a refused open claims nothing");
}

/// Makes a second kitchen with a head chef and a cook (demo password); their emails.
async fn second_kitchen(database_url: &str) -> (&'static str, &'static str) {
    let store = Store::connect(database_url, 2, KitchenClock::new(chrono_tz::UTC)).await.expect("the database");
    let kitchen = store.create_kitchen("Noma", None).await.expect("a kitchen");
    let password_hash = hash_password(PASSWORD);
    for (email, role) in [("rene@noma.dk", Role::HeadChef), ("mette@noma.dk", Role::LineCook)] {
        let account = NewAccount {
            kitchen_id: kitchen.id,
            email: email.into(),
            first_name: "Noma".into(),
            last_name: "Redzepi".into(),
            role,
            password_hash: password_hash.clone(),
            must_change_password: false,
        };
        store.create_user(&account).await.expect("a user");
    }
    store.close().await;
    ("rene@noma.dk", "mette@noma.dk")
}

/// Point 2, measured: one cook reconnecting in a loop (50 loops at once) on one PostgreSQL
/// process, while another kitchen's head chef, on a second process, times the announcements
/// of 40 new items.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cook_reconnecting_in_a_loop_does_not_delay_another_kitchens_announcements() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let limits = [("MISEOS_MAX_SOCKET_OPENS_PER_MINUTE", "60")];
    let first = ServerProcess::start_with(&database.url, &limits, false).await;
    let second = ServerProcess::start_with(&database.url, &limits, false).await;
    let (rene, mette) = second_kitchen(&database.url).await;
    let chef = second.token(rene).await;
    let other_cook = first.token(mette).await;
    let looping_cook = first.token(ALI).await;
    let mut watching = open_socket(second.port, &chef).await;
    watching.skip_greeting().await;
    let claims_before = staff_claims_written(&database.url).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loops: Vec<_> = (0..50u8)
        .map(|index| {
            let (stop, token, port) = (stop.clone(), looping_cook.clone(), first.port);
            tokio::spawn(async move {
                let mut opens = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Each loop from a loopback address of its own: as fast as it goes, a loop
                    // would use up one address's ephemeral ports in seconds.
                    let Ok(stream) = connect_from([127, 0, 1, index + 1], port).await else { continue };
                    if let Ok((mut socket, _)) =
                        tokio_tungstenite::client_async(socket_request(port, &token), stream).await
                    {
                        let _ = socket.next().await;
                        let _ = socket.close(None).await;
                    }
                    opens += 1;
                }
                opens
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = Vec::new();
    for index in 0..40 {
        let body = NewIngredientRequest {
            item_name: format!("Dild {index}"),
            quantity: app::wire::Quantity(1.0),
            unit: "bundt".into(),
            note: None,
        };
        let sent = Instant::now();
        let created = first.http.post(first.url("/api/v1/ingredient-requests")).bearer_auth(&other_cook).json(&body);
        assert_eq!(created.send().await.expect("POST").status(), 201);
        loop {
            match watching.next().await {
                Notification::NewIngredientRequest(notice) if notice.item_name == body.item_name => break,
                _ => continue,
            }
        }
        latencies.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut opened = 0;
    for one in loops {
        opened += one.await.expect("a loop");
    }
    let claims = staff_claims_written(&database.url).await - claims_before;
    latencies.sort();
    let (p50, p99) = (latencies[latencies.len() / 2], latencies[latencies.len() * 99 / 100]);
    println!(
        "50 reconnect loops of one cook ({opened} opens tried, {claims} claims written): another kitchen's NEW_INGREDIENT_REQUEST on a second process p50 {p50:?}, p99 {p99:?}, max {:?}",
        latencies.last().expect("some")
    );
    // The loops ran for about 15 s: within one minute's allowance, however many were tried.
    assert!(claims <= 60, "{claims} claims written for {opened} opens");
    // Only a bound against starvation: a debug build shares two cores with 50 loops and the
    // rest of the suite, so the figure depends on the machine's load (release figures, one
    // test at a time, are in docs/RELIABILITY.md). What the loops cost is bounded above.
    assert!(p99 < Duration::from_secs(5), "p99 {p99:?}");
}

/// How many STAFF claims the database has handed out (its sequence's last value).
async fn staff_claims_written(database_url: &str) -> i64 {
    let mut connection = sqlx::PgConnection::connect(database_url).await.expect("PostgreSQL");
    sqlx::query_scalar("SELECT last_value FROM staff_session_claims")
        .fetch_one(&mut connection)
        .await
        .expect("the claims")
}

/// Opens a TCP connection to `port` from the loopback address `from`.
async fn connect_from(from: [u8; 4], port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// Whether the server closed `stream` within `within` (a read finds its end).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(within, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

/// A `GET /healthz` over `stream`; whether it was answered 200. (On loopback the small answer
/// arrives in one piece, so one read takes all of it and the next request starts clean.)
async fn healthz_over(stream: &mut TcpStream) -> bool {
    if stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.is_err() {
        return false;
    }
    let mut answer = [0u8; 4096];
    match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer)).await {
        Ok(Ok(read)) => answer[..read].starts_with(b"HTTP/1.1 200") && answer[..read].ends_with(b"}"),
        _ => false,
    }
}

/// Point 3: one client holds at most its share of the connections; 127.0.0.2 (all of
/// 127.0.0.0/8 is loopback) is served meanwhile, and a trusted proxy is not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_holds_its_share_of_connections_and_another_is_served() {
    let app = spawn_app_with(Db::Sqlite, |config| {
        config.max_connections_per_address = 50;
        config.trusted_proxies = vec![server::config::parse_network("127.0.0.3").expect("an address")];
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..50 {
        let mut stream = connect_from([127, 0, 0, 1], app.port).await.expect("connect");
        assert!(healthz_over(&mut stream).await, "within the share");
        held.push(stream);
    }
    let mut one_more = connect_from([127, 0, 0, 1], app.port).await.expect("the kernel accepts");
    let started = Instant::now();
    assert!(closed_within(&mut one_more, Duration::from_secs(1)).await, "the 51st is refused at once");
    let refused_in = started.elapsed();
    let mut other = connect_from([127, 0, 0, 2], app.port).await.expect("connect");
    assert!(healthz_over(&mut other).await, "another client is served");
    for stream in &mut held[..3] {
        assert!(healthz_over(stream).await, "those in are unharmed");
    }
    let mut through_proxy = Vec::new();
    for _ in 0..60 {
        let mut stream = connect_from([127, 0, 0, 3], app.port).await.expect("connect");
        assert!(healthz_over(&mut stream).await, "a trusted proxy carries many clients");
        through_proxy.push(stream);
    }
    drop(held.pop());
    let served = until(Duration::from_secs(2), async || match connect_from([127, 0, 0, 1], app.port).await {
        Ok(mut freed) => healthz_over(&mut freed).await,
        Err(_) => false,
    })
    .await;
    println!("per-address share 50: the 51st refused in {refused_in:?}; 127.0.0.2 and 60 through a trusted proxy served; a place given back is taken again in {served:?}");
}

/// Point 3: every request's headers must arrive within the header timeout of their first
/// byte, on a kept-alive connection as on a new one, while an idle kept-alive connection keeps
/// the longer idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connections_next_headers_must_arrive_in_time() {
    let app = spawn_app_with(Db::Sqlite, |config| {
        config.header_timeout_seconds = 2.0;
        config.idle_timeout_seconds = 60.0;
    })
    .await;
    let mut slow = connect_from([127, 0, 0, 1], app.port).await.expect("connect");
    assert!(healthz_over(&mut slow).await);
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.").await.expect("half the headers");
    let started = Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(5)).await, "dropped");
    let dropped_in = started.elapsed();
    assert!(dropped_in >= Duration::from_millis(1_900) && dropped_in < Duration::from_secs(4), "{dropped_in:?}");
    // Idle longer than the header timeout, then a whole request: served on the same connection.
    let mut idle = connect_from([127, 0, 0, 1], app.port).await.expect("connect");
    assert!(healthz_over(&mut idle).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(healthz_over(&mut idle).await, "an idle kept-alive connection keeps the idle timeout");
    println!("a kept-alive connection's half-sent second request dropped after {dropped_in:?} (header timeout 2 s); one idle for 3 s served");
}

/// The database's data version as another connection sees it: it moves with every commit
/// anyone else makes.
async fn data_version(connection: &mut sqlx::SqliteConnection) -> i64 {
    sqlx::query_scalar("PRAGMA data_version").fetch_one(connection).await.expect("data_version")
}

/// Point 3 (and section 8): a refused or throttled sign-in writes nothing. Once one client's
/// failures reach the window, its further sign-ins answer 429 with no commit to the database;
/// so does a sign-in from a foreign page, or not as JSON. And the in-memory limit stops a
/// flood of right passwords from one client before the database is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_throttled_sign_in_writes_nothing() {
    let app = spawn_app(Db::Sqlite).await;
    let path = app.database_url().trim_start_matches("sqlite://").split('?').next().expect("a path").to_string();
    let mut watcher = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await.expect("SQLite");
    for _ in 0..30 {
        let answer = app.login_attempt(&format!("nobody{}@miseos.dk", rand_suffix()), "wrong").await;
        assert_eq!(answer.status(), 401);
    }
    let before = data_version(&mut watcher).await;
    for _ in 0..10 {
        expect_error(app.login_attempt(GORDON, PASSWORD).await, 429, "too_many_attempts").await;
    }
    let foreign = app
        .http
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("origin", "https://evil.example")
        .json(&app::wire::LoginRequest { email: GORDON.into(), password: PASSWORD.into() })
        .send()
        .await
        .expect("POST");
    expect_error(foreign, 403, "forbidden_origin").await;
    let form = app
        .http
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("content-type", "text/plain")
        .body(format!(r#"{{"email":"{GORDON}","password":"{PASSWORD}"}}"#))
        .send()
        .await
        .expect("POST");
    expect_error(form, 415, "unsupported_media_type").await;
    assert_eq!(data_version(&mut watcher).await, before, "no commit for throttled or refused sign-ins");

    // Right passwords from one client: the in-memory limit (120 a minute) refuses the rest
    // before the database is asked.
    let other = spawn_app(Db::Sqlite).await;
    let mut answered = std::collections::BTreeMap::<u16, u32>::new();
    for _ in 0..125 {
        *answered.entry(other.login_attempt(NOAH, PASSWORD).await.status().as_u16()).or_default() += 1;
    }
    assert_eq!(answered.get(&200), Some(&120), "{answered:?}");
    assert_eq!(answered.get(&429), Some(&5), "{answered:?}");
    println!("30 failures, then 10 throttled sign-ins, a foreign page's and a form's: no commit; 125 right passwords from one client: {answered:?}");
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Point 6: a sign-in from a foreign page is refused, and two session cookies are told apart
/// (one of them not ours) or refused (both ours: a sibling domain planted its own).
#[tokio::test]
async fn sign_in_follows_the_cookie_rule_and_a_planted_cookie_is_not_taken() {
    let app = spawn_app(Db::Sqlite).await;
    let allowed = app
        .http
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("origin", format!("http://127.0.0.1:{}", app.port))
        .json(&app::wire::LoginRequest { email: ALI.into(), password: PASSWORD.into() })
        .send()
        .await
        .expect("POST");
    let ali: LoginResponse = expect_json(allowed, 200).await;
    let sara = app.token(SARA).await;
    let me_with_cookies = |cookies: String| {
        let request = app.http.get(format!("{}/api/v1/auth/me", app.address)).header("cookie", cookies);
        async move { request.send().await.expect("GET") }
    };
    let planted_junk = me_with_cookies(format!("miseos_token=planted.by.sibling; miseos_token={}", ali.token)).await;
    let me: app::wire::User = expect_json(planted_junk, 200).await;
    assert_eq!(me.id, UserId(3), "the one cookie this server signed is taken");
    let two_of_ours = me_with_cookies(format!("miseos_token={sara}; miseos_token={}", ali.token)).await;
    let message = expect_error(two_of_ours, 401, "unauthorized").await;
    assert!(message.contains("two session cookies"), "{message}");
}

/// Point 7: `server restore` ends every session that was live in the restored copy: their
/// tokens get 401 and their sockets 1008 `session revoked` as soon as a server starts on it.
/// Point 8: the backup and the database it replaces are readable by their owner only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_database_ends_the_sessions_it_held_and_its_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let database = FreshDatabase::create(Db::Sqlite).await;
    let mut server = ServerProcess::start(&database.url).await;
    let token = server.token(ALI).await;
    let mode = |path: &std::path::Path| std::fs::metadata(path).expect("the file").permissions().mode() & 0o777;
    let file =
        std::path::PathBuf::from(database.url.trim_start_matches("sqlite://").split('?').next().expect("a path"));
    assert_eq!(mode(&file), 0o600, "the database");
    let copy = std::env::temp_dir().join(format!("miseos-private-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&copy);
    run_cli(&database.url, &["backup", copy.to_str().expect("a UTF-8 path")]).await;
    assert_eq!(mode(&copy), 0o600, "the backup");
    server.stop().await;
    run_cli(&database.url, &["restore", copy.to_str().expect("a UTF-8 path")]).await;
    assert_eq!(mode(&file), 0o600, "the restored database");
    let server = ServerProcess::start(&database.url).await;
    let refused = server.get("/api/v1/auth/me", &token).await;
    let message = expect_error(refused, 401, "unauthorized").await;
    assert_eq!(message, "session revoked");
    let mut socket = open_socket(server.port, &token).await;
    assert_eq!(socket.expect_close().await, (1008, "session revoked".into()));
    let _ = std::fs::remove_file(&copy);
}

/// Point 8: a locked-out account is counted for alerts, and failed sign-ins are logged by
/// the account's id, never by what was typed as the email (people type passwords there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_is_counted_and_failed_sign_ins_never_log_what_was_typed() {
    let database = FreshDatabase::create(Db::Sqlite).await;
    let mut server = ServerProcess::start_with(&database.url, &[("RUST_LOG", "warn")], true).await;
    let lines = server.collect_log();
    let typed_secret = "correct-horse-battery@staple";
    assert_eq!(server.login_attempt(typed_secret, "whatever").await.status(), 401);
    for _ in 0..5 {
        assert_eq!(server.login_attempt(SARA, "wrong password").await.status(), 401);
    }
    let metrics = reqwest::get(server.url("/metrics")).await.expect("GET").text().await.expect("text");
    let lockouts = metrics.lines().find(|line| line.starts_with("miseos_sign_in_lockouts_total ")).expect("the family");
    assert_eq!(lockouts.split_whitespace().nth(1), Some("1"), "{lockouts}");
    server.stop().await;
    let lines = lines.await.expect("the log");
    assert!(lines.iter().any(|line| line.contains("failed sign-in")), "{lines:#?}");
    assert!(lines.iter().any(|line| line.contains("locked out")), "{lines:#?}");
    for line in &lines {
        assert!(!line.contains(typed_secret) && !line.contains(SARA), "the typed email in the log: {line}");
    }
}

/// Point 5: a client's close frame is answered with its code; over a real connection.
#[tokio::test]
async fn a_clients_close_frame_is_answered_with_its_code() {
    let app = spawn_app(Db::Sqlite).await;
    let mut socket = app.socket(&app.token(GORDON).await).await;
    socket.skip_greeting().await;
    let close = CloseFrame { code: CloseCode::from(4000), reason: "bye".into() };
    socket.stream.send(Message::Close(Some(close))).await.expect("close");
    match socket.stream.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4000),
        other => panic!("expected the close frame answered, got {other:?}"),
    }
}

/// Point 4 over TCP: a client that reads 200 bytes a second (a 2 KiB receive buffer) while
/// items arrive at 5 a second: the server's buffers fill within seconds and its writes to this
/// client wait, yet the socket is closed when its token expires (1008 `token expired`, after
/// the frame under way if the reader takes it in time), not served on until its queue
/// overflows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_is_closed_when_its_token_expires() {
    const TOKEN_SECONDS: u64 = 15;
    let app = spawn_app(Db::Sqlite).await;
    let chef = app.token(GORDON).await;
    let session = app.session_of(&chef);
    let short_lived = app.tokens.sign(&claims(&session, Role::HeadChef, TOKEN_SECONDS as i64, "miseos"));
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("SO_RCVBUF");
    let stream = socket.connect(([127, 0, 0, 1], app.port).into()).await.expect("connect");
    let (socket, _) =
        tokio_tungstenite::client_async(socket_request(app.port, &short_lived), stream).await.expect("the upgrade");
    let issued = Instant::now();
    let mut raw = socket.into_inner();
    let cook = app.token(ALI).await;
    let writer = {
        let (http, url, cook) = (app.http.clone(), format!("{}/api/v1/ingredient-requests", app.address), cook.clone());
        tokio::spawn(async move {
            for index in 0..500 {
                let body = NewIngredientRequest {
                    item_name: format!("{index:>4} {}", "x".repeat(95)),
                    quantity: app::wire::Quantity(1.0),
                    unit: "kg".into(),
                    note: None,
                };
                let _ = http.post(&url).bearer_auth(&cook).json(&body).send().await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    // The reader: 200 bytes a second, whatever is waiting.
    let reader = tokio::spawn(async move {
        let mut chunk = [0u8; 200];
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if matches!(raw.read(&mut chunk).await, Ok(0) | Err(_)) {
                return;
            }
        }
    });
    // What the reader sees trails by what the buffers hold (tens of KiB at 200 B/s): the server
    // side is what is timed.
    until(Duration::from_secs(90), async || app.hub.socket_counts().0 == 0).await;
    let closed_after = issued.elapsed();
    writer.abort();
    reader.abort();
    let metrics = reqwest::get(format!("{}/metrics", app.address)).await.expect("GET").text().await.expect("text");
    let expired = metrics
        .lines()
        .find(|line| line.starts_with(r#"miseos_ws_sessions_closed_total{session_type="admin",code="1008"}"#))
        .unwrap_or_else(|| panic!("no admin socket closed with 1008:\n{metrics}"));
    assert!(expired.ends_with(" 1"), "{expired}");
    let token_lifetime = Duration::from_secs(TOKEN_SECONDS);
    assert!(
        closed_after >= token_lifetime - Duration::from_secs(1)
            && closed_after < token_lifetime + Duration::from_secs(5),
        "closed {closed_after:?} after the token was issued, which expires after {token_lifetime:?}"
    );
    println!("a 200 B/s reader with items at 5/s: closed 1008 {closed_after:?} after its {TOKEN_SECONDS}-second token was issued");
}
