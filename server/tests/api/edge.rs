//! Section 8, at the edge: the headers every answer carries, the session cookie's `Secure`
//! flag and HSTS, and the rule that a cookie-authenticated change comes from an allowed page
//! as JSON.

use crate::helpers::*;
use app::wire::NewIngredientRequest;

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
