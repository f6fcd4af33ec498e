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
    NewIngredientRequest { item_name: "Dild".into(), quantity: 1.0, unit: "bundt".into(), note: None }
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
