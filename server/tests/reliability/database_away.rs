//! PostgreSQL goes away (every connection terminated, new ones refused) and comes back.

use crate::helpers::*;
use app::wire::{Category, Notification};
use sqlx::{Connection, Executor};
use std::time::Duration;
use tokio::time::Instant;

async fn admin_connection() -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("PostgreSQL")
}

async fn set_allow_connections(database: &str, allowed: bool) {
    let mut admin = admin_connection().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS {allowed}")))
        .await
        .expect("ALTER DATABASE");
    if !allowed {
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
            )))
            .await
            .expect("terminate the server's connections");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_answer_503_while_the_database_is_away_and_everything_recovers_without_a_restart() {
    let app = spawn_app(Db::Postgres).await;
    let database = app.database_url().rsplit('/').next().expect("a database name").to_string();
    let (chef, cook) = (app.token(GORDON).await, app.token(ALI).await);
    app.create_request(&cook, "Before").await;
    let mut admin = app.socket(&chef).await;
    admin.skip_greeting().await;

    set_allow_connections(&database, false).await;
    let went_away = Instant::now();
    let body = app::wire::NewIngredientRequest {
        item_name: "Away".into(),
        quantity: app::wire::Quantity(1.0),
        unit: "kg".into(),
        note: None,
    };
    let refused = app.post("/api/v1/ingredient-requests", &cook, &body).await;
    let answered_in = went_away.elapsed();
    let message = expect_error(refused, 503, "unavailable").await;
    assert!(!message.contains("postgres") && !message.contains("sqlx"), "nothing internal: {message}");
    assert!(answered_in < Duration::from_secs(12), "a write answered 503 after {answered_in:?}");
    let ready = app.http.get(format!("{}/readyz", app.address)).send().await.expect("readyz");
    assert_eq!(ready.status(), 503);
    let health = app.http.get(format!("{}/healthz", app.address)).send().await.expect("healthz");
    assert_eq!(health.status(), 200);

    set_allow_connections(&database, true).await;
    let back = Instant::now();
    // Writes succeed again, and the bus is listening again (readiness), without a restart.
    loop {
        let response = app.post("/api/v1/ingredient-requests", &cook, &body).await;
        let ready = app.http.get(format!("{}/readyz", app.address)).send().await.expect("readyz");
        if response.status() == 201 && ready.status() == 200 {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(20), "not recovered after {:?}", back.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered_in = back.elapsed();
    // The admin ends at the right counts (a resync, the new item, or both).
    let expected = app.snapshot(&chef).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = None;
    while last != Some(expected.pending_ingredient_requests) {
        match admin.next_within(deadline.saturating_duration_since(Instant::now())).await {
            Received::Message(Notification::PendingCountUpdated {
                category: Category::IngredientRequest,
                count,
                ..
            }) => last = Some(count),
            Received::Message(_) => {}
            other => panic!("the admin did not reach {} pending: {other:?}", expected.pending_ingredient_requests),
        }
    }
    println!(
        "database away: a write answered 503 after {answered_in:?}; after it came back, writes and /readyz recovered in {recovered_in:?}; admin at {} pending",
        expected.pending_ingredient_requests
    );
}
