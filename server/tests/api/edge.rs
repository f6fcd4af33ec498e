//! Section 8, at the edge: the headers every answer carries, the session cookie's `Secure`
//! flag and HSTS, and the rule that a cookie-authenticated change comes from an allowed page
//! as JSON.

use crate::helpers::*;
use app::wire::NewIngredientRequest;

crate::on_both_databases!(
    thirty_new_items_a_minute_per_user_then_429,
    a_hundred_pending_items_per_user_then_429_until_one_is_reviewed
);

fn dill() -> NewIngredientRequest {
    NewIngredientRequest {
        item_name: "Dild".into(),
        quantity: app::wire::Quantity(1.0),
        unit: "bundt".into(),
        note: None,
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_the_api_is_not_cached() {
    let app = spawn_app(Db::Sqlite).await;
    let token = app.token(GORDON).await;
    let api = app.get("/api/v1/notifications/snapshot", &token).await;
    let page = app.http.get(format!("{}/login", app.address)).send().await.unwrap();
    let error = app.http.get(format!("{}/api/v1/nowhere", app.address)).send().await.unwrap();
    for response in [&api, &page, &error] {
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        // The server listens on loopback and the cookie is not Secure: no HSTS.
        assert!(response.headers().get("strict-transport-security").is_none());
    }
    assert_eq!(api.headers()["cache-control"], "no-store");
    assert_eq!(error.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_whose_nonce_is_on_their_scripts() {
    let app = spawn_app(Db::Sqlite).await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = app.http.get(format!("{}/login", app.address)).send().await.unwrap();
        let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("object-src 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let nonce = policy
            .split(['\'', ' '])
            .find_map(|part| part.strip_prefix("nonce-"))
            .expect("a nonce in the policy")
            .to_string();
        let html = page.text().await.unwrap();
        // Every inline script carries it (the hydration script is one).
        let scripts = html.matches("<script").count();
        assert!(scripts >= 1);
        assert_eq!(html.matches(&format!("nonce=\"{nonce}\"")).count(), scripts, "{html}");
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
}

#[tokio::test]
async fn a_secure_cookie_comes_with_hsts() {
    let app = spawn_app_with(Db::Sqlite, |config| config.secure_cookie = Some(true)).await;
    let response = app.login_attempt(GORDON, PASSWORD).await;
    assert!(response.headers()["set-cookie"].to_str().unwrap().ends_with("; Secure"));
    assert_eq!(response.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let plain = spawn_app(Db::Sqlite).await;
    let response = plain.login_attempt(GORDON, PASSWORD).await;
    assert!(!response.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
}

#[tokio::test]
async fn cookie_changes_need_an_allowed_origin_and_json() {
    let app = spawn_app(Db::Sqlite).await;
    let token = app.token(ALI).await;
    let own_origin = format!("http://127.0.0.1:{}", app.port);
    let body = serde_json::to_string(&dill()).unwrap();
    let send = |origin: Option<&str>, content_type: &str| {
        let mut request = app
            .http
            .post(format!("{}/api/v1/ingredient-requests", app.address))
            .header("cookie", format!("miseos_token={token}"))
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    expect_error(send(None, "application/json").await.unwrap(), 403, "forbidden_origin").await;
    expect_error(send(Some("http://evil.example"), "application/json").await.unwrap(), 403, "forbidden_origin").await;
    let other_port = format!("http://127.0.0.1:{}", app.port + 1);
    expect_error(send(Some(&other_port), "application/json").await.unwrap(), 403, "forbidden_origin").await;
    expect_error(send(Some(&own_origin), "text/plain").await.unwrap(), 415, "unsupported_media_type").await;
    expect_error(
        send(Some(&own_origin), "application/x-www-form-urlencoded").await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(send(Some(&own_origin), "application/json; charset=utf-8").await.unwrap().status(), 201);
    // Nothing refused was stored.
    let chef = app.token(GORDON).await;
    assert_eq!(app.snapshot(&chef).await.pending_ingredient_requests, 1);

    // A Bearer token needs neither (curl's -d sends a form type).
    let bearer = app
        .http
        .post(format!("{}/api/v1/ingredient-requests", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 201);
    // Signing out with the cookie is a change too.
    let logout = app
        .http
        .post(format!("{}/api/v1/auth/logout", app.address))
        .header("cookie", format!("miseos_token={token}"))
        .send()
        .await
        .unwrap();
    expect_error(logout, 403, "forbidden_origin").await;
}

/// The contract's default limits, whatever the test harness lifts.
fn default_limits(config: &mut server::config::Config) {
    let defaults = server::config::Config::defaults();
    config.max_new_items_per_minute = defaults.max_new_items_per_minute;
    config.max_pending_per_user = defaults.max_pending_per_user;
    config.max_sockets_per_user = defaults.max_sockets_per_user;
}

async fn thirty_new_items_a_minute_per_user_then_429(db: Db) {
    let app = spawn_app_with(db, default_limits).await;
    let (ali, sara, chef) = (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await);
    for index in 0..15 {
        app.create_request(&ali, &format!("Dild {index}")).await;
        app.create_suggestion(&ali, &format!("Ret {index}")).await;
    }
    let refused = app.post("/api/v1/ingredient-requests", &ali, &dill()).await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let message = expect_error(refused, 429, "too_many_requests").await;
    assert!(message.contains("30 new requests and suggestions a minute"), "{message}");
    // Nothing refused was stored, and other cooks are not affected.
    assert_eq!(app.snapshot(&chef).await.total_pending, 30);
    app.create_request(&sara, "Persille").await;
}

async fn a_hundred_pending_items_per_user_then_429_until_one_is_reviewed(db: Db) {
    let app = spawn_app_with(db, |config| {
        default_limits(config);
        config.max_new_items_per_minute = 0;
    })
    .await;
    let (ali, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let mut first = 0;
    for index in 0..100 {
        let id = app.create_request(&ali, &format!("Dild {index}")).await;
        if index == 0 {
            first = id;
        }
    }
    let refused = app.post("/api/v1/ingredient-requests", &ali, &dill()).await;
    assert!(refused.headers().get("retry-after").is_some());
    let message = expect_error(refused, 429, "too_many_requests").await;
    assert!(message.contains("100 requests and suggestions waiting"), "{message}");
    let approve =
        app.post(&format!("/api/v1/ingredient-requests/{first}/approve"), &chef, &serde_json::json!({})).await;
    assert_eq!(approve.status(), 200);
    app.create_request(&ali, "Dild igen").await;
}

#[tokio::test]
async fn beyond_twenty_sockets_a_users_oldest_is_closed_with_4008() {
    let app = spawn_app_with(Db::Sqlite, default_limits).await;
    let chef = app.token(GORDON).await;
    let mut sockets = Vec::new();
    for _ in 0..20 {
        let mut socket = app.socket(&chef).await;
        socket.skip_greeting().await;
        sockets.push(socket);
    }
    let mut newest = app.socket(&chef).await;
    newest.skip_greeting().await;
    assert_eq!(sockets[0].expect_close().await, (app::wire::close_code::TOO_MANY_SESSIONS, "too many sessions".into()));
    // The others stay and still get news.
    let cook = app.token(ALI).await;
    app.create_request(&cook, "Dild").await;
    for socket in sockets.iter_mut().skip(1).chain(std::iter::once(&mut newest)) {
        assert!(matches!(socket.next().await, app::wire::Notification::NewIngredientRequest(_)));
    }
}

mod connections {
    use crate::helpers::*;
    use std::time::Duration;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpStream,
        time::{timeout, Instant},
    };

    const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

    /// Whether the server closed `stream` (a read gives EOF or a reset) within `within`.
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buffer = [0u8; 512];
        loop {
            match timeout(within, stream.read(&mut buffer)).await {
                Err(_) => return false,
                Ok(Ok(0) | Err(_)) => return true,
                // A response before the close: keep reading.
                Ok(Ok(_)) => continue,
            }
        }
    }

    async fn healthz_over(stream: &mut TcpStream) -> String {
        stream.write_all(HEALTHZ).await.expect("write");
        let mut buffer = [0u8; 512];
        let read = timeout(Duration::from_secs(2), stream.read(&mut buffer)).await.expect("an answer").expect("read");
        String::from_utf8_lossy(&buffer[..read]).into_owned()
    }

    #[tokio::test]
    async fn beyond_the_connection_limit_new_connections_are_refused_at_once() {
        let app = spawn_app_with(Db::Sqlite, |config| config.max_connections = 20).await;
        let address = format!("127.0.0.1:{}", app.port);
        let mut held = Vec::new();
        for _ in 0..20 {
            held.push(TcpStream::connect(&address).await.expect("connect"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut refused = TcpStream::connect(&address).await.expect("the kernel still accepts");
        assert!(closed_within(&mut refused, Duration::from_secs(1)).await, "the 21st is closed at once");
        // Those already in are served.
        assert!(healthz_over(&mut held[0]).await.starts_with("HTTP/1.1 200"));
        // A place given back is a place for the next.
        drop(held.pop());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut next = TcpStream::connect(&address).await.expect("connect");
        assert!(healthz_over(&mut next).await.starts_with("HTTP/1.1 200"));
    }

    #[tokio::test]
    async fn a_request_whose_headers_never_end_is_dropped_after_the_header_timeout() {
        let app = spawn_app_with(Db::Sqlite, |config| config.header_timeout_seconds = 1.0).await;
        let mut slow = TcpStream::connect(format!("127.0.0.1:{}", app.port)).await.expect("connect");
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.expect("half a request");
        let started = Instant::now();
        // Everyone else is served meanwhile.
        let response = app.http.get(format!("{}/healthz", app.address)).send().await.expect("healthz");
        assert_eq!(response.status(), 200);
        assert!(started.elapsed() < Duration::from_millis(500));
        assert!(closed_within(&mut slow, Duration::from_secs(3)).await, "dropped");
        let after = started.elapsed();
        assert!(after >= Duration::from_millis(800) && after < Duration::from_millis(2500), "{after:?}");
    }

    #[tokio::test]
    async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
        let app = spawn_app_with(Db::Sqlite, |config| config.idle_timeout_seconds = 1.0).await;
        let mut connection = TcpStream::connect(format!("127.0.0.1:{}", app.port)).await.expect("connect");
        assert!(healthz_over(&mut connection).await.starts_with("HTTP/1.1 200"));
        let started = Instant::now();
        assert!(closed_within(&mut connection, Duration::from_secs(3)).await, "closed when idle");
        assert!(started.elapsed() >= Duration::from_millis(800), "{:?}", started.elapsed());
    }

    /// A database that hangs (a row locked by someone else): the request gets a JSON 503
    /// when the request timeout passes, and nothing of it is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_stuck_on_the_database_answers_503_at_the_request_timeout() {
        use sqlx::{Connection, Executor};
        let app = spawn_app_with(Db::Postgres, |config| config.request_timeout_seconds = 1.0).await;
        let cook = app.token(ALI).await;
        let chef = app.token(GORDON).await;
        let mut locker = sqlx::PgConnection::connect(app.database_url()).await.expect("the database");
        locker.execute("BEGIN; SELECT * FROM kitchen_counters FOR UPDATE").await.expect("lock the counters");
        let started = Instant::now();
        let body = app::wire::NewIngredientRequest {
            item_name: "Dild".into(),
            quantity: app::wire::Quantity(1.0),
            unit: "kg".into(),
            note: None,
        };
        let response = app.post("/api/v1/ingredient-requests", &cook, &body).await;
        let took = started.elapsed();
        expect_error(response, 503, "unavailable").await;
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");
        locker.execute("ROLLBACK").await.expect("unlock");
        assert_eq!(app.snapshot(&chef).await.total_pending, 0);
        app.create_request(&cook, "Dild").await;
    }
}

#[tokio::test]
async fn every_request_gets_a_request_id_echoed_on_its_answer() {
    let app = spawn_app(Db::Sqlite).await;
    let given = app.http.get(format!("{}/healthz", app.address)).header("x-request-id", "pass-7").send().await.unwrap();
    assert_eq!(given.headers()["x-request-id"], "pass-7");
    let mut made = std::collections::HashSet::new();
    for path in ["/healthz", "/api/v1/nowhere", "/login"] {
        let response = app.http.get(format!("{}{path}", app.address)).send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        made.insert(id);
    }
    assert_eq!(made.len(), 3, "a new one for each request");
}

/// Issue 27, point 5: pages and large JSON answers go gzip-compressed to a client that
/// accepts it (decoded here by GNU gzip, not by the server's library); small answers, and
/// clients that do not ask, get the plain bytes.
#[tokio::test]
async fn pages_and_large_json_are_gzip_compressed_for_clients_that_accept_it() {
    let app = spawn_app(Db::Sqlite).await;
    let fetch = |path: &'static str, encodings: &'static str| {
        let request = app.http.get(format!("{}{path}", app.address)).header("accept-encoding", encodings);
        async move {
            let response = request.send().await.unwrap();
            let encoding = response.headers().get("content-encoding").map(|value| value.to_str().unwrap().to_string());
            let vary = response.headers().get("vary").map(|value| value.to_str().unwrap().to_string());
            (encoding, vary, response.bytes().await.unwrap().to_vec())
        }
    };
    for path in ["/login", "/api/openapi.json"] {
        let (encoding, vary, compressed) = fetch(path, "br;q=1.0, gzip;q=0.8").await;
        assert_eq!(encoding.as_deref(), Some("gzip"), "{path} is compressed");
        assert!(
            vary.is_some_and(|vary| vary.to_ascii_lowercase().contains("accept-encoding")),
            "{path} varies by encoding"
        );
        let (plain_encoding, _, plain) = fetch(path, "identity").await;
        assert_eq!(plain_encoding, None, "{path} plain when gzip is not accepted");
        let decoded = gunzip(&compressed);
        assert!(compressed.len() * 2 < decoded.len(), "{path}: {} bytes for {}", compressed.len(), decoded.len());
        if path == "/api/openapi.json" {
            assert_eq!(decoded, plain, "the same document either way");
        } else {
            // A page carries a fresh nonce per answer: compare all but that.
            let page = String::from_utf8(decoded).unwrap();
            assert!(page.starts_with("<!DOCTYPE html>") && page.contains("</html>"), "{page}");
        }
    }
    let (encoding, _, body) = fetch("/healthz", "gzip").await;
    assert_eq!(encoding, None, "a small answer is not worth compressing");
    assert_eq!(body, br#"{"status":"ok"}"#);
}

/// GNU gzip's decoding of `bytes`.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gzip = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    gzip.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = gzip.wait_with_output().unwrap();
    assert!(output.status.success(), "gzip decodes the answer");
    output.stdout
}
