//! The outbox survives a crash: a push recorded in a decision's transaction is sent after a
//! kill -9 and a restart, once.

use crate::{helpers::*, push_service::*};
use app::wire::ReviewBody;
use std::time::Duration;
use tokio::time::Instant;

/// The push service is not there yet when the chef decides (the first attempt finds nothing
/// listening and is put off for at most 5 s), and the server is killed with SIGKILL right
/// after the decision's answer. Started again, the server sends the push it recorded, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_recorded_before_a_kill_is_sent_once_after_the_restart() {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("an address").port();
    let origin = format!("http://127.0.0.1:{port}");
    let database = FreshDatabase::create(Db::Sqlite).await;
    let env = [("MISEOS_PUSH_EXTRA_ORIGINS", origin.as_str()), ("MISEOS_PUSH_SUBJECT", "mailto:crash@miseos.dk")];
    let mut server = ServerProcess::start_with(&database.url, &env, false).await;
    let (chef, ali) = (server.token(GORDON).await, server.token(ALI).await);
    let phone = Browser::at(&origin, "ali");
    let subscribed =
        server.http.post(server.url("/api/v1/push/subscriptions")).bearer_auth(&ali).json(&phone.subscription());
    assert_eq!(subscribed.send().await.expect("POST").status(), 201);
    let body = app::wire::NewIngredientRequest {
        item_name: "Dild".into(),
        quantity: app::wire::Quantity(1.0),
        unit: "bundt".into(),
        note: None,
    };
    let created = server.http.post(server.url("/api/v1/ingredient-requests")).bearer_auth(&ali).json(&body);
    let item: app::wire::IngredientRequest = expect_json(created.send().await.expect("POST"), 201).await;
    let approve = server
        .http
        .post(server.url(&format!("/api/v1/ingredient-requests/{}/approve", item.id)))
        .bearer_auth(&chef)
        .json(&ReviewBody::default());
    assert_eq!(approve.send().await.expect("POST").status(), 200);
    server.child.start_kill().expect("SIGKILL");
    server.child.wait().await.expect("killed");

    let service = PushService::start_on(port).await;
    let restarted = Instant::now();
    let _server = ServerProcess::start_with(&database.url, &env, false).await;
    let pushes = service.wait_for(1, Duration::from_secs(45)).await;
    let delivered_in = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(service.received().len(), 1, "sent once");
    let message: serde_json::Value = serde_json::from_str(&phone.decrypt(&pushes[0])).expect("JSON");
    assert_eq!(message["notificationType"], "REQUEST_APPROVED");
    assert_eq!(message["requestId"], item.id);
    println!(
        "kill -9 right after the decision, push service away: the push sent once, {delivered_in:?} after the restart"
    );
}
