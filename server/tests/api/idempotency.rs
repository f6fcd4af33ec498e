//! Idempotent submissions (API.md section 11): the `Idempotency-Key` of creates and reviews.

use crate::helpers::*;
use app::wire::{IngredientRequest, NewIngredientRequest, Notification, Quantity, ReviewBody};
use std::time::Duration;

fn dill(name: &str) -> NewIngredientRequest {
    NewIngredientRequest { item_name: name.into(), quantity: Quantity(2.0), unit: "bundt".into(), note: None }
}

/// A POST with a JSON body, a Bearer token and an `Idempotency-Key`.
async fn post_with_key<B: serde::Serialize>(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &B,
) -> reqwest::Response {
    app.http
        .post(format!("{}{path}", app.address))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("POST")
}

fn replayed(answer: &reqwest::Response) -> bool {
    answer.headers().get("idempotent-replayed").is_some_and(|value| value == "true")
}

crate::on_both_databases!(
    a_repeat_is_answered_what_the_first_was_and_nothing_happens_twice,
    the_same_key_with_another_body_is_refused_and_a_failed_request_can_be_repeated,
    repeats_sent_at_once_make_one_item,
);

/// A create and a review sent twice with their keys: the repeats answer the first answers
/// (status and body, marked replayed), one item exists, the admins heard of it once and the
/// requester of its decision once.
async fn a_repeat_is_answered_what_the_first_was_and_nothing_happens_twice(db: Db) {
    let app = spawn_app(db).await;
    let (chef, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let mut dashboard = app.socket(&chef).await;
    dashboard.skip_greeting().await;
    let mut phone = app.socket(&ali).await;
    phone.skip_greeting().await;
    let first = post_with_key(&app, "/api/v1/ingredient-requests", &ali, "offline-1", &dill("Dild")).await;
    assert!(!replayed(&first));
    let created: IngredientRequest = expect_json(first, 201).await;
    for _ in 0..2 {
        let again = post_with_key(&app, "/api/v1/ingredient-requests", &ali, "offline-1", &dill("Dild")).await;
        assert!(replayed(&again));
        let repeated: IngredientRequest = expect_json(again, 201).await;
        assert_eq!(repeated, created);
    }
    assert_eq!(app.snapshot(&chef).await.pending_ingredient_requests, 1);
    let approve = format!("/api/v1/ingredient-requests/{}/approve", created.id);
    let note = ReviewBody { note: Some("Tak".into()) };
    let approved: IngredientRequest =
        expect_json(post_with_key(&app, &approve, &chef, "pass-7", &note).await, 200).await;
    let again = post_with_key(&app, &approve, &chef, "pass-7", &note).await;
    assert!(replayed(&again));
    assert_eq!(expect_json::<IngredientRequest>(again, 200).await, approved);
    // The dashboard: one NEW_INGREDIENT_REQUEST, one ITEM_REVIEWED and the counts, nothing more.
    assert!(matches!(dashboard.next().await, Notification::NewIngredientRequest(_)));
    let (mut counts, mut reviews) = (0, 0);
    while let Received::Message(message) = dashboard.next_within(Duration::from_millis(500)).await {
        match message {
            Notification::PendingCountUpdated { .. } => counts += 1,
            Notification::ItemReviewed(_) => reviews += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((counts, reviews), (2, 1), "one count for the create, one review and its count");
    // The phone: one decision.
    assert!(matches!(phone.next().await, Notification::RequestApproved(_)));
    phone.expect_silence().await;
    // Another user's key of the same text is theirs alone.
    let saras =
        post_with_key(&app, "/api/v1/ingredient-requests", &app.token(SARA).await, "offline-1", &dill("Dild")).await;
    assert!(!replayed(&saras));
    assert_ne!(expect_json::<IngredientRequest>(saras, 201).await.id, created.id);
}

/// The same key with another body (or on another item) is 422; a request that changed nothing
/// (here 409: already reviewed) gives its key back, so its repeat runs again; keys that are
/// not 1 to 64 printable ASCII characters are 400.
async fn the_same_key_with_another_body_is_refused_and_a_failed_request_can_be_repeated(db: Db) {
    let app = spawn_app(db).await;
    let (chef, monica, ali) = (app.token(GORDON).await, app.token(MONICA).await, app.token(ALI).await);
    expect_json::<IngredientRequest>(
        post_with_key(&app, "/api/v1/ingredient-requests", &ali, "k", &dill("Dild")).await,
        201,
    )
    .await;
    let other = post_with_key(&app, "/api/v1/ingredient-requests", &ali, "k", &dill("Persille")).await;
    expect_error(other, 422, "idempotency_key_reused").await;
    let elsewhere = post_with_key(
        &app,
        "/api/v1/dish-suggestions",
        &ali,
        "k",
        &app::wire::NewDishSuggestion { name: "Dild".into(), description: "Dild".into() },
    )
    .await;
    expect_error(elsewhere, 422, "idempotency_key_reused").await;

    let id = app.create_request(&ali, "Kørvel").await;
    let approve = format!("/api/v1/ingredient-requests/{id}/approve");
    assert_eq!(app.post(&approve, &chef, &ReviewBody::default()).await.status(), 200);
    for _ in 0..2 {
        let late = post_with_key(&app, &approve, &monica, "review-1", &ReviewBody::default()).await;
        expect_error(late, 409, "already_reviewed").await;
    }
    let reused = post_with_key(
        &app,
        &format!("/api/v1/ingredient-requests/{id}/reject"),
        &monica,
        "review-1",
        &ReviewBody::default(),
    )
    .await;
    expect_error(reused, 409, "already_reviewed").await;

    for bad in ["", &"x".repeat(65), "tab\there", "ø"] {
        let request = app
            .http
            .post(format!("{}/api/v1/ingredient-requests", app.address))
            .bearer_auth(&ali)
            .header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(bad.as_bytes()).expect("a header value"),
            )
            .json(&dill("Dild"));
        let message = expect_error(request.send().await.expect("POST"), 400, "invalid_field").await;
        assert!(message.contains("Idempotency-Key"), "{bad:?}: {message}");
    }
    let longest = post_with_key(&app, "/api/v1/ingredient-requests", &ali, &"~".repeat(64), &dill("Dild")).await;
    assert_eq!(longest.status(), 201);
}

/// Ten copies of one submission sent at once (a phone retrying on bad Wi-Fi): one item; each
/// answer is that item (201, the first or a replay) or 409 while the first was being handled.
async fn repeats_sent_at_once_make_one_item(db: Db) {
    let app = spawn_app(db).await;
    let (chef, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let body = dill("Dild");
    let sends = (0..10).map(|_| post_with_key(&app, "/api/v1/ingredient-requests", &ali, "burst", &body));
    let answers = futures::future::join_all(sends).await;
    let mut ids = Vec::new();
    let mut in_progress = 0;
    for answer in answers {
        match answer.status().as_u16() {
            201 => ids.push(answer.json::<IngredientRequest>().await.expect("an item").id),
            409 => {
                let body: serde_json::Value = answer.json().await.expect("JSON");
                assert_eq!(body["error"], "idempotency_in_progress");
                in_progress += 1;
            }
            other => panic!("answered {other}"),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one item: {ids:?}");
    assert_eq!(app.snapshot(&chef).await.pending_ingredient_requests, 1);
    println!("10 at once: one item, {in_progress} answered 409");
}

/// PostgreSQL: a repeat that arrives while the first is held up (its kitchen's counter row
/// locked by someone else) is answered 409 at once; once the first is through, a repeat is
/// answered its 201.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_while_the_first_is_being_handled_is_409() {
    use sqlx::Connection;
    let app = spawn_app(Db::Postgres).await;
    let ali = app.token(ALI).await;
    let mut blocker = sqlx::PgConnection::connect(app.database_url()).await.expect("PostgreSQL");
    let mut held = blocker.begin().await.expect("a transaction");
    sqlx::query("SELECT seq FROM kitchen_counters WHERE kitchen_id = 1 FOR UPDATE")
        .execute(&mut *held)
        .await
        .expect("the lock");
    let first = {
        let (http, url, ali) = (app.http.clone(), format!("{}/api/v1/ingredient-requests", app.address), ali.clone());
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(ali)
                .header("idempotency-key", "held")
                .json(&dill("Dild"))
                .send()
                .await
                .expect("POST")
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = post_with_key(&app, "/api/v1/ingredient-requests", &ali, "held", &dill("Dild")).await;
    expect_error(during, 409, "idempotency_in_progress").await;
    held.rollback().await.expect("released");
    let created: IngredientRequest = expect_json(first.await.expect("the first"), 201).await;
    let after = post_with_key(&app, "/api/v1/ingredient-requests", &ali, "held", &dill("Dild")).await;
    assert!(replayed(&after));
    assert_eq!(expect_json::<IngredientRequest>(after, 201).await, created);
}

/// A key is remembered for 24 hours: one a day old is a new request.
#[tokio::test]
async fn a_key_is_forgotten_after_a_day() {
    let app = spawn_app(Db::Sqlite).await;
    let ali = app.token(ALI).await;
    let first: IngredientRequest =
        expect_json(post_with_key(&app, "/api/v1/ingredient-requests", &ali, "yesterday", &dill("Dild")).await, 201)
            .await;
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - 86400001")
        .execute(&mut database_connection(app.database_url()).await)
        .await
        .expect("aged");
    let again = post_with_key(&app, "/api/v1/ingredient-requests", &ali, "yesterday", &dill("Dild")).await;
    assert!(!replayed(&again));
    assert_ne!(expect_json::<IngredientRequest>(again, 201).await.id, first.id);
}
