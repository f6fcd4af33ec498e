//! What the operator sees: `/metrics` (what it counts, who may read it, its own port) and the
//! logs (a line per ended socket session, request spans, no credentials).

use crate::helpers::*;
use app::wire::{Notification, ReviewBody};
use futures::SinkExt;
use std::{collections::HashMap, time::Duration};

/// The samples of a Prometheus text exposition: `name{labels}` to value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(address: &str) -> HashMap<String, f64> {
    let response = reqwest::get(format!("{address}/metrics")).await.expect("GET /metrics");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    samples(&response.text().await.expect("the metrics"))
}

/// A sample's value, 0 when the series does not exist yet.
fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_sessions_fan_out_requests_and_sign_ins() {
    let app = spawn_app(Db::Sqlite).await;
    expect_error(app.login_attempt(NOAH, "wrong password").await, 401, "bad_credentials").await;
    let (chef, ali) = (app.token(GORDON).await, app.token(ALI).await);
    app.settled().await;
    let (mut admin, mut cook) = (app.socket(&chef).await, app.socket(&ali).await.hearing_presence());
    admin.skip_greeting().await;
    // The chef's dashboard is news to the cook (CHEFS_ONLINE, unless the welcome already
    // counted it): settled before the frames are counted.
    let Notification::Connected { chefs_online, .. } = cook.next().await else { panic!("the welcome") };
    if chefs_online != Some(1) {
        assert!(matches!(cook.next().await, Notification::ChefsOnline { count: 1, .. }));
    }
    let before = scrape(&app.address).await;
    assert_eq!(value(&before, r#"miseos_ws_sessions_open{session_type="admin"}"#), 1.0);
    assert_eq!(value(&before, r#"miseos_ws_sessions_open{session_type="staff"}"#), 1.0);
    assert_eq!(value(&before, r#"miseos_sign_in_refusals_total{outcome="bad_credentials"}"#), 1.0);

    let item = app.create_request(&ali, "Frisk Dild").await;
    assert!(matches!(admin.next().await, Notification::NewIngredientRequest(_)));
    assert!(matches!(admin.next().await, Notification::PendingCountUpdated { .. }));
    app.post(&format!("/api/v1/ingredient-requests/{item}/approve"), &chef, &ReviewBody::default()).await;
    assert!(matches!(cook.next().await, Notification::RequestApproved(_)));
    assert!(matches!(admin.next().await, Notification::ItemReviewed(_)));
    assert!(matches!(admin.next().await, Notification::PendingCountUpdated { .. }));
    let after = scrape(&app.address).await;
    let delta = |series: &str| value(&after, series) - value(&before, series);
    // The creation: two frames to the one admin; the decision: ITEM_REVIEWED and the count
    // to the admin, and the notice to the cook.
    assert_eq!(delta("miseos_ws_broadcasts_total"), 2.0);
    assert_eq!(delta("miseos_ws_direct_messages_total"), 1.0);
    assert_eq!(delta("miseos_ws_frames_sent_total"), 5.0);
    assert!(delta("miseos_ws_bytes_sent_total") > 200.0);
    assert_eq!(delta("miseos_ws_queue_overflows_total"), 0.0);
    let created = r#"{method="POST",route="/api/v1/ingredient-requests",status="201"}"#;
    assert_eq!(value(&after, &format!("miseos_http_request_duration_seconds_count{created}")), 1.0);
    let approved = r#"{method="POST",route="/api/v1/ingredient-requests/{id}/approve",status="200"}"#;
    assert_eq!(value(&after, &format!("miseos_http_request_duration_seconds_count{approved}")), 1.0);
    let labels = approved.trim_start_matches('{').trim_end_matches('}');
    let bucket = format!(r#"miseos_http_request_duration_seconds_bucket{{{labels},le="+Inf"}}"#);
    assert_eq!(value(&after, &bucket), 1.0, "{bucket}");
    assert!(value(&after, "miseos_db_pool_idle") + value(&after, "miseos_db_pool_in_use") >= 1.0);
    assert_eq!(value(&after, "miseos_db_pool_waiting"), 0.0);

    admin.stream.close(None).await.expect("close");
    drop(cook);
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let now = scrape(&app.address).await;
            if value(&now, r#"miseos_ws_sessions_open{session_type="staff"}"#) == 0.0
                && value(&now, r#"miseos_ws_sessions_open{session_type="admin"}"#) == 0.0
            {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("both sessions end within 5 s");
    assert_eq!(value(&closed, r#"miseos_ws_sessions_closed_total{session_type="admin",code="1000"}"#), 1.0);
    assert_eq!(value(&closed, r#"miseos_ws_sessions_closed_total{session_type="staff",code="1006"}"#), 1.0);
}

#[tokio::test]
async fn the_metrics_are_not_served_through_an_untrusted_proxy() {
    let app = spawn_app(Db::Sqlite).await;
    let through_proxy =
        app.http.get(format!("{}/metrics", app.address)).header("x-forwarded-for", "198.51.100.7").send().await;
    expect_error(through_proxy.expect("GET"), 404, "not_found").await;
    let forwarded = app.http.get(format!("{}/metrics", app.address)).header("forwarded", "for=127.0.0.1").send().await;
    expect_error(forwarded.expect("GET"), 404, "not_found").await;
}

/// With a reverse proxy on the same host (loopback listed in `MISEOS_TRUSTED_PROXIES`), a
/// scrape from loopback on the main port is taken for the proxy's and refused; the metrics
/// port, which no proxy serves, answers a local Prometheus, and still not a forwarded request.
#[tokio::test]
async fn the_metrics_port_serves_the_metrics_instead_of_the_main_port() {
    let app = spawn_app_with(Db::Sqlite, |config| {
        config.metrics_port = Some(0);
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let metrics_port = app.metrics_port.expect("a metrics port");
    assert_ne!(metrics_port, app.port);
    let main = reqwest::get(format!("{}/metrics", app.address)).await.expect("GET");
    assert_eq!(main.status(), 404);
    let own = scrape(&format!("http://127.0.0.1:{metrics_port}")).await;
    assert!(own.contains_key("miseos_ws_frames_sent_total"), "{own:?}");
    let forwarded = app
        .http
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .expect("GET");
    assert_eq!(forwarded.status(), 404, "a request that names a client is not a local scrape");
}

/// One JSON log line, parsed.
type LogLine = serde_json::Value;

#[tokio::test]
async fn logs_have_request_spans_and_a_line_per_closed_socket_and_no_credentials() {
    let database = FreshDatabase::create(Db::Sqlite).await;
    let mut server = ServerProcess::start_with(
        &database.url,
        &[("MISEOS_LOG_FORMAT", "json"), ("RUST_LOG", "info,tower_http=debug,sqlx=warn")],
        true,
    )
    .await;
    let lines = server.collect_log();
    let login = server.login_attempt(GORDON, PASSWORD).await;
    let cookie = login.headers()["set-cookie"].to_str().expect("cookie").to_string();
    let token = expect_json::<app::wire::LoginResponse>(login, 200).await.token;
    let me = server.http.get(server.url("/api/v1/auth/me")).bearer_auth(&token).header("x-request-id", "trace-me-42");
    assert_eq!(me.send().await.expect("GET").status(), 200);
    let mut socket = open_socket(server.port, &token).await;
    socket.skip_greeting().await;
    socket.stream.send(tokio_tungstenite::tungstenite::Message::Close(None)).await.expect("close");
    // Stopped only once the socket has been closed by the client (a stop before would close
    // it with 1001).
    tokio::time::timeout(Duration::from_secs(10), async {
        let ended = r#"miseos_ws_sessions_closed_total{session_type="admin",code="1000"}"#;
        while value(&scrape(&server.url("")).await, ended) < 1.0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the socket closes within 10 s");
    server.stop().await;
    let lines = lines.await.expect("the log");
    let parsed: Vec<LogLine> =
        lines.iter().map(|line| serde_json::from_str(line).expect("one JSON object per line")).collect();

    let ended = parsed
        .iter()
        .find(|line| line["fields"]["message"] == "socket closed")
        .unwrap_or_else(|| panic!("no socket-closed line in {lines:#?}"));
    let fields = &ended["fields"];
    assert_eq!((fields["user_id"].as_i64(), fields["session_type"].as_str()), (Some(1), Some("admin")));
    assert_eq!((fields["close_code"].as_u64(), fields["frames_sent"].as_u64()), (Some(1000), Some(3)));
    assert!(fields["duration_ms"].as_u64().is_some());
    assert_eq!(ended["span"]["name"], "socket");
    assert_eq!(ended["span"]["user_id"], 1);

    let answered = parsed
        .iter()
        .find(|line| line["span"]["request_id"] == "trace-me-42")
        .unwrap_or_else(|| panic!("no line of the request in {lines:#?}"));
    assert_eq!(answered["span"]["route"], "/api/v1/auth/me");
    assert_eq!(answered["span"]["user_id"], 1);

    let session_cookie = cookie.split(';').next().expect("name=value");
    for line in &lines {
        assert!(!line.contains(&token), "a token was logged: {line}");
        assert!(!line.contains(session_cookie), "the cookie was logged: {line}");
        assert!(!line.contains(PASSWORD), "a password was logged: {line}");
        assert!(!line.to_lowercase().contains("authorization"), "a header was logged: {line}");
    }
}

#[tokio::test]
async fn the_api_is_described_at_api_openapi_json_and_api_docs() {
    let app = spawn_app(Db::Sqlite).await;
    let response = reqwest::get(format!("{}/api/openapi.json", app.address)).await.expect("GET");
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    let login = &document["paths"]["/api/v1/auth/login"]["post"];
    assert_eq!(
        login["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/LoginRequest"
    );
    assert!(login["responses"]["429"]["description"].as_str().expect("429").contains("too_many_attempts"));
    // Every documented operation is answered by the live server (not its "no such route" 404
    // or a 405): the document and the router agree over HTTP too.
    let paths = document["paths"].as_object().expect("paths");
    for (path, item) in paths.iter().filter(|(path, _)| path.starts_with("/api/v1")) {
        for method in item.as_object().expect("operations").keys() {
            let url = format!("{}{}", app.address, path.replace("{id}", "1"));
            let request = app.http.request(method.to_uppercase().parse().expect("a method"), url);
            let response = request.send().await.expect("a request");
            assert_ne!(response.status(), 405, "{method} {path}");
            if response.status() == 404 {
                let body: app::wire::ErrorBody = response.json().await.expect("an error body");
                assert_ne!(body.message, "no such route", "{method} {path}");
            }
        }
    }
    let page = reqwest::get(format!("{}/api/docs", app.address)).await.expect("GET");
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().expect("CSP").to_string();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let html = page.text().await.expect("HTML");
    assert!(html.contains("<code>/api/v1/ingredient-requests/{id}/approve</code>") && !html.contains("<script"));
}

/// `MISEOS_JWT_SECRET_FILE`: the secret is read from the file (whitespace around it ignored),
/// and a file holding too short a secret stops the server from starting, naming the file.
#[tokio::test]
async fn the_signing_secret_can_come_from_a_file() {
    let path = std::env::temp_dir().join(format!("miseos-secret-{}", std::process::id()));
    std::fs::write(&path, format!("  {TEST_SECRET}\n")).expect("the secret file");
    let from_file = path.clone();
    let app = spawn_app_with(Db::Sqlite, move |config| {
        config.jwt_secret = None;
        config.jwt_secret_file = Some(from_file);
    })
    .await;
    let token = app.token(GORDON).await;
    let keys = server::accounts::TokenKeys::new(TEST_SECRET.as_bytes(), Duration::from_secs(60));
    keys.verify(&token).expect("signed with the secret from the file");

    std::fs::write(&path, "too short").expect("the secret file");
    let database = FreshDatabase::create(Db::Sqlite).await;
    let mut config = test_config(&database.url);
    config.jwt_secret = None;
    config.jwt_secret_file = Some(path.clone());
    let refused = server::Application::build(config, leptos_options()).await.err().expect("refused");
    assert!(refused.to_string().contains(&path.display().to_string()), "{refused}");
    let _ = std::fs::remove_file(&path);
}

/// Issue 27: every labelled family a dashboard or an alert reads is there from the start, at
/// 0, not missing until its first event.
#[tokio::test]
async fn known_series_are_exported_at_zero_from_the_start() {
    let app = spawn_app(Db::Sqlite).await;
    let fresh = scrape(&app.address).await;
    let mut series = vec![
        r#"miseos_ws_sessions_open{session_type="admin"}"#.to_string(),
        r#"miseos_ws_sessions_open{session_type="staff"}"#.to_string(),
    ];
    series.extend(
        server::metrics::SIGN_IN_REFUSALS
            .map(|outcome| format!(r#"miseos_sign_in_refusals_total{{outcome="{outcome}"}}"#)),
    );
    for name in series {
        assert_eq!(fresh.get(&name), Some(&0.0), "{name} is exported at 0 from the start");
    }
}

/// Issue 27: with neither HOST nor PORT set, the server listens where Leptos' own
/// LEPTOS_SITE_ADDR says; HOST or PORT, when set, still win.
#[tokio::test]
async fn leptos_site_addr_is_honoured_when_host_and_port_are_unset() {
    let database = FreshDatabase::create(Db::Sqlite).await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("its address");
    let data_dir = std::env::temp_dir().join(format!("miseos-site-addr-{}", std::process::id()));
    std::fs::create_dir_all(&data_dir).expect("data directory");
    let port_file = data_dir.join("port");
    let _ = std::fs::remove_file(&port_file);
    let mut child = tokio::process::Command::new(server_binary())
        .env_remove("HOST")
        .env_remove("PORT")
        .env("LEPTOS_SITE_ADDR", free.to_string())
        .env("DATABASE_URL", &database.url)
        .env("MISEOS_JWT_SECRET", TEST_SECRET)
        .env("MISEOS_DATA_DIR", &data_dir)
        .env("MISEOS_PORT_FILE", &port_file)
        .env("LEPTOS_OUTPUT_NAME", "miseos")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    assert_eq!(port_from_file(&port_file).await, free.port());
    let health = reqwest::get(format!("http://{free}/healthz")).await.expect("GET /healthz");
    assert_eq!(health.status(), 200);
    child.kill().await.expect("stopped");
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Issue 27, point 5: told to stop (SIGTERM), the process answers `/readyz` with 503
/// `draining` at once, while the API is still served for the grace, and only then closes its
/// listener and exits: a load balancer's readiness check sends new clients elsewhere first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_for_the_grace_before_the_listener_closes() {
    let database = FreshDatabase::create(Db::Sqlite).await;
    let mut process = ServerProcess::start_with(&database.url, &[("MISEOS_SHUTDOWN_GRACE_SECONDS", "2")], false).await;
    let readiness = |process: &ServerProcess| process.http.get(process.url("/readyz")).send();
    assert_eq!(readiness(&process).await.expect("/readyz").status(), 200);
    let chef = process.token(GORDON).await;
    let pid = process.child.id().expect("running").to_string();
    let told = tokio::time::Instant::now();
    let sent = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill runs");
    assert!(sent.success());
    loop {
        let answer = readiness(&process).await.expect("still listening");
        if answer.status() == 503 {
            let body: serde_json::Value = answer.json().await.expect("JSON");
            assert_eq!(body["status"], "draining");
            break;
        }
        assert!(told.elapsed() < Duration::from_secs(1), "/readyz still ready {:?} after SIGTERM", told.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(process.get("/api/v1/notifications/snapshot", &chef).await.status(), 200, "served during the grace");
    let exited = tokio::time::timeout(Duration::from_secs(10), process.child.wait()).await;
    assert!(exited.expect("stops within 10 s").expect("exit status").success());
    let took = told.elapsed();
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(8), "stopped {took:?} after SIGTERM");
}

/// Starts `binary` as someone would by hand in `directory`: no environment at all, only flags
/// for a free port (written to `directory/port`); the process and its port.
async fn start_by_hand(binary: &std::path::Path, directory: &std::path::Path) -> (tokio::process::Child, u16) {
    let port_file = directory.join("port");
    let _ = std::fs::remove_file(&port_file);
    let child = tokio::process::Command::new(binary)
        .env_clear()
        .args(["--port", "0", "--port-file"])
        .arg(&port_file)
        .current_dir(directory)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    (child, port_from_file(&port_file).await)
}

/// Issue 27, point 5: the release directory's binary, started by hand with no variable set
/// (only flags for a free port), serves the site beside it under the names in the `hash.txt`
/// beside it; `server health` then says it is ready, and says so no more once it has stopped.
#[tokio::test]
async fn a_release_directory_serves_its_hashed_site_with_no_variable_set() {
    let release = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("release-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&release);
    let pkg = release.join("site").join("pkg");
    std::fs::create_dir_all(&pkg).expect("the release directory");
    let binary = release.join("server");
    if std::fs::hard_link(server_binary(), &binary).is_err() {
        std::fs::copy(server_binary(), &binary).expect("the binary copied");
    }
    std::fs::write(release.join("hash.txt"), "js: Js1\nwasm: Wasm2\ncss: Css3\n").expect("hash.txt");
    std::fs::write(pkg.join("miseos.Js1.js"), "export default function init() {}\n").expect("the script");
    std::fs::write(pkg.join("miseos.Css3.css"), "body { margin: 0 }\n").expect("the style");
    let (mut child, port) = start_by_hand(&binary, &release).await;
    let page = reqwest::get(format!("http://127.0.0.1:{port}/login")).await.expect("GET /login");
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().expect("text").to_string();
    assert!(policy.contains("connect-src 'self';"), "production: no development reload socket: {policy}");
    let html = page.text().await.expect("the page");
    for name in ["/pkg/miseos.Js1.js", "/pkg/miseos.Wasm2.wasm", "/pkg/miseos.Css3.css"] {
        assert!(html.contains(name), "the page names {name}: {html}");
    }
    let script = reqwest::get(format!("http://127.0.0.1:{port}/pkg/miseos.Js1.js")).await.expect("GET the script");
    assert_eq!(script.status(), 200);
    let caching = script.headers().get("cache-control").expect("cache-control").to_str().expect("text");
    assert!(caching.contains("immutable"), "a hashed file is kept for good: {caching}");

    let health = |port: u16| {
        let binary = binary.clone();
        async move {
            tokio::process::Command::new(binary)
                .env_clear()
                .args(["--port", &port.to_string(), "health"])
                .output()
                .await
                .expect("`server health` runs")
        }
    };
    let ready = health(port).await;
    assert!(ready.status.success(), "ready: {}", String::from_utf8_lossy(&ready.stderr));
    assert!(String::from_utf8_lossy(&ready.stdout).contains("200"));
    child.kill().await.expect("stopped");
    let gone = health(port).await;
    assert!(!gone.status.success(), "a stopped server is not healthy");

    // A hash.txt with no site beside it (an older cargo-leptos build in target/release) is
    // not a release directory: the names stay unhashed.
    std::fs::remove_dir_all(release.join("site")).expect("the site removed");
    let (mut child, port) = start_by_hand(&binary, &release).await;
    let html = reqwest::get(format!("http://127.0.0.1:{port}/login")).await.expect("GET").text().await.expect("page");
    assert!(html.contains("/pkg/miseos.js") && !html.contains("Js1"), "{html}");
    child.kill().await.expect("stopped");
    let _ = std::fs::remove_dir_all(&release);
}
