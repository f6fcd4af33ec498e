//! Section 14 of the contract, webhooks: the head chef's API, signed deliveries checked by a
//! receiver with OpenSSL, in commit order per webhook, retried on failure and on a receiver
//! that hangs, once per event across two PostgreSQL processes, after a kill -9, and never to
//! another kitchen.

use crate::{
    helpers::*,
    kitchens::{second_kitchen, METTE, RENE},
    webhook_receiver::{Receiver, Reply},
};
use app::wire::{CreatedWebhook, NewWebhook, ReviewBody, WebhookDelivery, WebhookInfo, WebhookPing};
use std::time::Duration;

crate::on_both_databases!(
    deliveries_are_signed_and_arrive_in_commit_order,
    a_failing_receiver_is_retried_with_one_event_id_and_holds_up_only_its_own_webhook,
    the_api_is_the_head_chefs_and_each_kitchen_sees_only_its_own,
);

const ALL_EVENTS: [&str; 4] = ["item.created", "item.approved", "item.rejected", "item.escalated"];

/// A server whose webhooks may point at `receivers`.
async fn app_for(db: Db, receivers: &[&Receiver]) -> TestApp {
    let origins: Vec<String> = receivers.iter().map(|receiver| receiver.origin()).collect();
    spawn_app_with(db, move |config| config.webhook_extra_origins = origins).await
}

fn new_webhook(url: &str, events: &[&str]) -> NewWebhook {
    NewWebhook { url: url.to_string(), events: events.iter().map(|event| event.to_string()).collect() }
}

/// Adds a webhook to `receiver` for `events` as `chef`, and tells the receiver its secret.
async fn add_webhook(app: &TestApp, chef: &str, receiver: &Receiver, events: &[&str]) -> CreatedWebhook {
    let created: CreatedWebhook =
        expect_json(app.post("/api/v1/webhooks", chef, &new_webhook(&receiver.url(), events)).await, 201).await;
    receiver.expect_secret(&created.secret);
    created
}

async fn deliveries(app: &TestApp, chef: &str, webhook: i64) -> Vec<WebhookDelivery> {
    expect_json(app.get(&format!("/api/v1/webhooks/{webhook}/deliveries"), chef).await, 200).await
}

fn approve(id: i64) -> String {
    format!("/api/v1/ingredient-requests/{id}/approve")
}

/// Every change's delivery is signed (checked with OpenSSL by the receiver), names its event
/// in the header and the body, carries the item as committed, and arrives in commit order;
/// the log says each was delivered on its first attempt. The secret is shown once, never
/// listed, and not in the database as written.
async fn deliveries_are_signed_and_arrive_in_commit_order(db: Db) {
    let receiver = Receiver::start().await;
    let app = app_for(db, &[&receiver]).await;
    let (gordon, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let webhook = add_webhook(&app, &gordon, &receiver, &ALL_EVENTS).await;
    assert!(webhook.secret.starts_with("whsec_"));
    let listed: Vec<WebhookInfo> = expect_json(app.get("/api/v1/webhooks", &gordon).await, 200).await;
    assert_eq!(listed.len(), 1);
    let listed_json = serde_json::to_string(&listed).expect("JSON");
    assert!(!listed_json.contains(&webhook.secret) && !listed_json.contains("secret"));

    let dill = app.create_request(&ali, "Dild").await;
    let chives = app.create_request(&ali, "Purløg").await;
    assert_eq!(app.post(&approve(dill), &gordon, &ReviewBody { note: Some("Tak".into()) }).await.status(), 200);
    let reject = format!("/api/v1/ingredient-requests/{chives}/reject");
    assert_eq!(app.post(&reject, &gordon, &ReviewBody::default()).await.status(), 200);
    let dish = app.create_suggestion(&ali, "Rødgrød").await;

    let received = receiver.wait_for(5, Duration::from_secs(10)).await;
    let seen: Vec<(&str, i64)> = received
        .iter()
        .map(|delivery| (delivery.event_type(), delivery.body["data"]["item"]["id"].as_i64().expect("an item id")))
        .collect();
    assert_eq!(
        seen,
        [
            ("item.created", dill),
            ("item.created", chives),
            ("item.approved", dill),
            ("item.rejected", chives),
            ("item.created", dish)
        ]
    );
    let approved = &received[2].body;
    assert_eq!(approved["kitchenId"], 1);
    assert_eq!(approved["data"]["item"]["status"], "APPROVED");
    assert_eq!(approved["data"]["item"]["reviewNote"], "Tak");
    assert_eq!(approved["data"]["item"]["itemName"], "Dild");
    assert_eq!(received[4].body["data"]["item"]["name"], "Rødgrød");
    let mut ids: Vec<&str> = received.iter().map(|delivery| delivery.event_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "one event id per change");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = deliveries(&app, &gordon, webhook.id).await;
    assert_eq!(log.len(), 5);
    assert!(log.iter().all(|entry| entry.status == "DELIVERED" && entry.attempts == 1), "{log:?}");
    assert_eq!(log[0].last_status_code, Some(200));
    assert_eq!(log[0].event_id, received[4].event_id, "newest first");

    // The secret as stored is sealed: the database holds nothing a dump could sign with.
    let sealed =
        database_text(app.database_url(), "SELECT sealed_secret FROM webhooks WHERE id = $1", webhook.id).await;
    assert!(!sealed.contains(&webhook.secret) && !sealed.contains(&webhook.secret["whsec_".len()..]));
}

/// The one text value `sql` selects for `id`, read straight from the database at
/// `database_url` (what the API never shows).
async fn database_text(database_url: &str, sql: &str, id: i64) -> String {
    use sqlx::Row;
    let query = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).bind(id);
    query.fetch_one(&mut database_connection(database_url).await).await.expect("a row").get(0)
}

/// 500, 500, 200: one success after three attempts, one event id throughout (the first retry
/// within 5 s of the failure, the next after it); the webhook's later event waits for it (in
/// order), while another webhook of the kitchen gets its deliveries meanwhile.
async fn a_failing_receiver_is_retried_with_one_event_id_and_holds_up_only_its_own_webhook(db: Db) {
    let (failing, healthy) = (Receiver::start().await, Receiver::start().await);
    let app = app_for(db, &[&failing, &healthy]).await;
    let (gordon, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let webhook = add_webhook(&app, &gordon, &failing, &["item.created"]).await;
    add_webhook(&app, &gordon, &healthy, &["item.created"]).await;
    failing.reply_next([Reply::Status(500), Reply::Status(500)]);
    let first = app.create_request(&ali, "Dild").await;
    let second = app.create_request(&ali, "Purløg").await;

    let meanwhile = healthy.wait_for(2, Duration::from_secs(3)).await;
    assert_eq!(failing.accepted().len(), 0, "the healthy webhook is not held up by the failing one");
    assert_eq!(meanwhile.len(), 2);

    let received = failing.wait_for(4, Duration::from_secs(30)).await;
    let answered: Vec<(Option<u16>, i64)> = received
        .iter()
        .map(|delivery| (delivery.answered, delivery.body["data"]["item"]["id"].as_i64().expect("an id")))
        .collect();
    assert_eq!(answered, [(Some(500), first), (Some(500), first), (Some(200), first), (Some(200), second)]);
    assert!(received[..3].iter().all(|delivery| delivery.event_id == received[0].event_id));
    let first_retry = received[1].at - received[0].at;
    assert!(first_retry <= Duration::from_millis(5_500), "the first retry came {first_retry:?} after the failure");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = deliveries(&app, &gordon, webhook.id).await;
    let of_first = log.iter().find(|entry| entry.event_id == received[0].event_id).expect("the first's entry");
    assert_eq!((of_first.status.as_str(), of_first.attempts, of_first.last_status_code), ("DELIVERED", 3, Some(200)));
}

/// Only a kitchen's head chef manages its webhooks (403 for a sous chef and a cook), URLs
/// follow the rule of section 10 and events are the four (400), a ping goes to the one
/// webhook, another kitchen's webhook is 404 and sees none of this kitchen's changes, and a
/// kitchen has at most 10.
async fn the_api_is_the_head_chefs_and_each_kitchen_sees_only_its_own(db: Db) {
    let (ours, theirs) = (Receiver::start().await, Receiver::start().await);
    let app = app_for(db, &[&ours, &theirs]).await;
    second_kitchen(&app.store).await;
    let (gordon, monica, ali) = (app.token(GORDON).await, app.token(MONICA).await, app.token(ALI).await);
    let (rene, mette) = (app.token(RENE).await, app.token(METTE).await);
    for token in [&monica, &ali] {
        let body = new_webhook(&ours.url(), &["item.approved"]);
        expect_error(app.post("/api/v1/webhooks", token, &body).await, 403, "forbidden").await;
        assert_eq!(app.get("/api/v1/webhooks", token).await.status(), 403);
    }
    for (url, events) in [
        ("http://purchasing.example.com/hook", vec!["item.approved"]),
        ("https://127.0.0.1/hook", vec!["item.approved"]),
        ("https://10.0.0.7/hook", vec!["item.approved"]),
        ("not a url", vec!["item.approved"]),
        (ours.url().as_str(), vec![]),
        (ours.url().as_str(), vec!["item.deleted"]),
        (ours.url().as_str(), vec!["ping"]),
    ] {
        let refused = app.post("/api/v1/webhooks", &gordon, &new_webhook(url, &events)).await;
        expect_error(refused, 400, "invalid_field").await;
    }
    let our_hook = add_webhook(&app, &gordon, &ours, &ALL_EVENTS).await;
    let their_hook = add_webhook(&app, &rene, &theirs, &ALL_EVENTS).await;

    let ping: WebhookPing =
        expect_json(app.post(&format!("/api/v1/webhooks/{}/test", our_hook.id), &gordon, &()).await, 202).await;
    let pinged = ours.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!((pinged[0].event_type(), pinged[0].event_id.as_str()), ("ping", ping.event_id.as_str()));
    assert_eq!(pinged[0].body["data"]["webhookId"], our_hook.id);

    // Each kitchen's changes reach its own webhook alone.
    app.create_request(&ali, "Dild").await;
    app.create_request(&mette, "Havtorn").await;
    let ours_got = ours.wait_for(2, Duration::from_secs(5)).await;
    let theirs_got = theirs.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ours.received().len(), 2);
    assert_eq!(theirs.received().len(), 1);
    assert_eq!(ours_got[1].body["data"]["item"]["itemName"], "Dild");
    assert_eq!(theirs_got[0].body["data"]["item"]["itemName"], "Havtorn");
    assert_ne!(ours_got[1].body["kitchenId"], theirs_got[0].body["kitchenId"]);

    for (method, path) in [
        ("POST", format!("/api/v1/webhooks/{}/test", their_hook.id)),
        ("GET", format!("/api/v1/webhooks/{}/deliveries", their_hook.id)),
        ("DELETE", format!("/api/v1/webhooks/{}", their_hook.id)),
    ] {
        let request = match method {
            "POST" => app.http.post(format!("{}{path}", app.address)).json(&()),
            "GET" => app.http.get(format!("{}{path}", app.address)),
            _ => app.http.delete(format!("{}{path}", app.address)),
        };
        let answer = request.bearer_auth(&gordon).send().await.expect("a request");
        expect_error(answer, 404, "not_found").await;
    }
    let mine: Vec<WebhookInfo> = expect_json(app.get("/api/v1/webhooks", &gordon).await, 200).await;
    assert_eq!(mine.iter().map(|webhook| webhook.id).collect::<Vec<_>>(), [our_hook.id]);

    for _ in 1..10 {
        add_webhook(&app, &gordon, &ours, &["item.escalated"]).await;
    }
    let eleventh = app.post("/api/v1/webhooks", &gordon, &new_webhook(&ours.url(), &["item.escalated"])).await;
    expect_error(eleventh, 409, "webhook_limit").await;
    // Deleted with a delivery still to be tried again: its log and its outbox row go with it.
    // (The receiver checks our first webhook's signature again: the others were added since.)
    ours.expect_secret(&our_hook.secret);
    ours.reply_next([Reply::Status(500)]);
    app.create_request(&ali, "Kørvel").await;
    ours.wait_for(3, Duration::from_secs(5)).await;
    let deleted =
        app.http.delete(format!("{}/api/v1/webhooks/{}", app.address, our_hook.id)).bearer_auth(&gordon).send().await;
    assert_eq!(deleted.expect("DELETE").status(), 204);
    assert_eq!(app.get(&format!("/api/v1/webhooks/{}/deliveries", our_hook.id), &gordon).await.status(), 404);
    for table in ["outbox", "webhook_deliveries"] {
        let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE webhook_id = $1");
        assert_eq!(database_text(app.database_url(), &sql, our_hook.id).await, "0", "{table} rows left");
    }
}

/// A receiver that never answers is cut off at 10 s and tried again; the log shows no status
/// for that attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_hangs_is_cut_off_and_tried_again() {
    let receiver = Receiver::start().await;
    let app = app_for(Db::Sqlite, &[&receiver]).await;
    let (gordon, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let webhook = add_webhook(&app, &gordon, &receiver, &["item.created"]).await;
    receiver.reply_next([Reply::Hang]);
    app.create_request(&ali, "Dild").await;
    let received = receiver.wait_for(2, Duration::from_secs(25)).await;
    let waited = received[1].at - received[0].at;
    assert!(waited >= Duration::from_secs(10) && waited <= Duration::from_secs(16), "tried again after {waited:?}");
    assert_eq!(received[0].event_id, received[1].event_id);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = deliveries(&app, &gordon, webhook.id).await;
    assert_eq!((log[0].status.as_str(), log[0].attempts, log[0].last_status_code), ("DELIVERED", 2, Some(200)));
}

/// Recorded with the change, delivered after a crash: a process killed with SIGKILL while the
/// receiver is down (its deliveries recorded, not sent) delivers them once started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_recorded_before_a_kill_is_sent_after_the_restart() {
    let receiver = Receiver::start().await;
    let port = receiver.port;
    drop(receiver);
    let database = FreshDatabase::create(Db::Postgres).await;
    let origin = format!("http://127.0.0.1:{port}");
    let env = [("MISEOS_WEBHOOK_EXTRA_ORIGINS", origin.as_str())];
    let mut process = ServerProcess::start_with(&database.url, &env, false).await;
    let (gordon, ali) = (process.token(GORDON).await, process.token(ALI).await);
    let add = process.http.post(process.url("/api/v1/webhooks")).bearer_auth(&gordon);
    let body = new_webhook(&format!("{origin}/hook"), &["item.created"]);
    let created: CreatedWebhook = expect_json(add.json(&body).send().await.expect("POST"), 201).await;
    let post = process.http.post(process.url("/api/v1/ingredient-requests")).bearer_auth(&ali);
    let item = app::wire::NewIngredientRequest {
        item_name: "Dild".into(),
        quantity: app::wire::Quantity(1.0),
        unit: "kg".into(),
        note: None,
    };
    let committed: app::wire::IngredientRequest = expect_json(post.json(&item).send().await.expect("POST"), 201).await;
    process.child.start_kill().expect("SIGKILL");
    let _ = process.child.wait().await;

    let receiver = Receiver::start_on(port).await;
    receiver.expect_secret(&created.secret);
    let _restarted = ServerProcess::start_with(&database.url, &env, false).await;
    let received = receiver.wait_for(1, Duration::from_secs(45)).await;
    assert_eq!(received[0].body["data"]["item"]["id"], committed.id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.accepted().len(), 1);
}

/// Two processes on one PostgreSQL database deliver each event exactly once, in commit order,
/// though both look at the outbox and the changes are split between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_deliver_each_event_once_in_order() {
    let receiver = Receiver::start().await;
    let database = FreshDatabase::create(Db::Postgres).await;
    let origin = receiver.origin();
    let env = [("MISEOS_WEBHOOK_EXTRA_ORIGINS", origin.as_str())];
    let first = ServerProcess::start_with(&database.url, &env, false).await;
    let second = ServerProcess::start_with(&database.url, &env, false).await;
    let (gordon, ali) = (first.token(GORDON).await, first.token(ALI).await);
    let add = first.http.post(first.url("/api/v1/webhooks")).bearer_auth(&gordon);
    let created: CreatedWebhook =
        expect_json(add.json(&new_webhook(&receiver.url(), &["item.created"])).send().await.expect("POST"), 201).await;
    receiver.expect_secret(&created.secret);
    let mut made = Vec::new();
    for round in 0..40 {
        let process = if round % 2 == 0 { &first } else { &second };
        let item = app::wire::NewIngredientRequest {
            item_name: format!("Dild {round}"),
            quantity: app::wire::Quantity(1.0),
            unit: "kg".into(),
            note: None,
        };
        let post = process.http.post(process.url("/api/v1/ingredient-requests")).bearer_auth(&ali).json(&item);
        let committed: app::wire::IngredientRequest = expect_json(post.send().await.expect("POST"), 201).await;
        made.push(committed.id);
    }
    receiver.wait_for(made.len(), Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered: Vec<i64> = receiver
        .received()
        .iter()
        .map(|delivery| delivery.body["data"]["item"]["id"].as_i64().expect("an id"))
        .collect();
    assert_eq!(delivered, made, "each once, in commit order");
}

/// The resolved address is checked, not only the URL's text: a webhook to `https://localhost`
/// (a name, as DNS rebinding would make a public-looking one resolve to loopback) is taken,
/// but nothing ever connects to it; its delivery fails at once and the log says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_resolves_to_a_private_address_is_never_connected_to() {
    let receiver = Receiver::start().await;
    let app = spawn_app(Db::Sqlite).await;
    let (gordon, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let url = format!("https://localhost:{}/hook", receiver.port);
    let created: CreatedWebhook =
        expect_json(app.post("/api/v1/webhooks", &gordon, &new_webhook(&url, &["item.created"])).await, 201).await;
    app.create_request(&ali, "Dild").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let failed = loop {
        let log = deliveries(&app, &gordon, created.id).await;
        if log.first().is_some_and(|entry| entry.status == "FAILED") {
            break log[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "not failed: {log:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((failed.attempts, failed.last_status_code), (1, None));
    assert!(failed.last_error.as_deref().is_some_and(|why| why.contains("public")), "{failed:?}");
    assert!(receiver.received().is_empty());
}
