//! Web Push (API.md section 10), against the push service of [`crate::push_service`], which
//! decrypts and checks every push with implementations the server does not use.

use crate::{helpers::*, push_service::*};
use app::wire::{
    NewPushSubscription, Notification, PushKey, PushSubscriptionId, PushSubscriptionInfo, PushSubscriptionKeys,
    ReviewBody,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use std::time::Duration;
use tokio::time::Instant;

/// The contact the tests configure.
const SUBJECT: &str = "mailto:push-test@miseos.dk";

/// A server whose push subscriptions may point at `service`.
async fn app_for(db: Db, service: &PushService) -> TestApp {
    let origin = service.origin();
    spawn_app_with(db, move |config| {
        config.push_extra_origins = vec![origin];
        config.push_subject = Some(SUBJECT.into());
    })
    .await
}

async fn push_key(app: &TestApp, token: &str) -> String {
    expect_json::<PushKey>(app.get("/api/v1/push/key", token).await, 200).await.public_key
}

async fn approve(app: &TestApp, chef: &str, id: i64) {
    let path = format!("/api/v1/ingredient-requests/{id}/approve");
    assert_eq!(app.post(&path, chef, &ReviewBody { note: Some("Tak, Ali".into()) }).await.status(), 200);
}

crate::on_both_databases!(
    one_push_per_decision_reaches_the_requester_alone_decrypted_and_signed,
    a_gone_subscription_is_deleted_and_a_busy_service_is_retried_once_it_answers,
);

/// The requester's two browsers get one push each per decision, nothing else arrives (the
/// other cook's browser, the chef's), and each is the socket frame's JSON, decrypted by `ece`
/// and signed as RFC 8292 says.
async fn one_push_per_decision_reaches_the_requester_alone_decrypted_and_signed(db: Db) {
    let service = PushService::start().await;
    let app = app_for(db, &service).await;
    let (chef, ali, sara) = (app.token(GORDON).await, app.token(ALI).await, app.token(SARA).await);
    let (ali_phone, ali_tablet, sara_phone) = (
        Browser::new(&service, "ali-phone"),
        Browser::new(&service, "ali-tablet"),
        Browser::new(&service, "sara-phone"),
    );
    for (browser, token) in [(&ali_phone, &ali), (&ali_tablet, &ali), (&sara_phone, &sara)] {
        let created: PushSubscriptionId = expect_json(browser.subscribe(&app, token).await, 201).await;
        assert!(created.id > 0);
    }
    let mut ali_socket = app.socket(&ali).await;
    ali_socket.skip_greeting().await;
    let id = app.create_request(&ali, "Dild").await;
    let committed = Instant::now();
    approve(&app, &chef, id).await;
    let pushes = service.wait_for(2, Duration::from_secs(5)).await;
    let arrived = committed.elapsed();
    let on_socket = serde_json::to_value(ali_socket.next().await).expect("JSON");
    let key = push_key(&app, &ali).await;
    let mut browsers: Vec<&str> = pushes.iter().map(|push| push.browser.as_str()).collect();
    browsers.sort_unstable();
    assert_eq!(browsers, ["ali-phone", "ali-tablet"]);
    for push in &pushes {
        let browser = if push.browser == "ali-phone" { &ali_phone } else { &ali_tablet };
        let payload: serde_json::Value = serde_json::from_str(&browser.decrypt(push)).expect("JSON");
        assert_eq!(payload, on_socket, "the push is the socket frame");
        assert_eq!(payload["notificationType"], "REQUEST_APPROVED");
        check_vapid(push, &key, &service.origin(), SUBJECT);
    }
    // Nothing more: not a second push, not one to Sara's browser, not one for the creation.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(service.received().len(), 2);
    println!("a decision's pushes accepted {arrived:?} after the review's answer");
}

/// 410 deletes the subscription at once (and nothing is tried again); a 503 with Retry-After
/// and then a 201 deliver the push once, the second attempt after the time the service asked.
async fn a_gone_subscription_is_deleted_and_a_busy_service_is_retried_once_it_answers(db: Db) {
    let service = PushService::start().await;
    let app = app_for(db, &service).await;
    let (chef, ali, sara) = (app.token(GORDON).await, app.token(ALI).await, app.token(SARA).await);
    let gone = Browser::new(&service, "gone");
    expect_json::<PushSubscriptionId>(gone.subscribe(&app, &ali).await, 201).await;
    service.answer_next([Answer::status(410)]);
    approve(&app, &chef, app.create_request(&ali, "Dild").await).await;
    service.wait_for(1, Duration::from_secs(5)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed: Vec<PushSubscriptionInfo> =
            expect_json(app.get("/api/v1/push/subscriptions", &ali).await, 200).await;
        if listed.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the subscription was not deleted after 410");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    approve(&app, &chef, app.create_request(&ali, "Persille").await).await;
    let busy = Browser::new(&service, "busy");
    expect_json::<PushSubscriptionId>(busy.subscribe(&app, &sara).await, 201).await;
    service.answer_next([Answer { status: 503, headers: vec![("retry-after", "1".into())] }]);
    approve(&app, &chef, app.create_request(&sara, "Løvstikke").await).await;
    let pushes = service.wait_for(3, Duration::from_secs(10)).await;
    let (first, second) = (&pushes[1], &pushes[2]);
    assert_eq!((first.browser.as_str(), first.answered), ("busy", 503));
    assert_eq!((second.browser.as_str(), second.answered), ("busy", 201));
    assert_eq!(busy.decrypt(first), busy.decrypt(second), "the same push, encrypted anew");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(service.received().len(), 3, "nothing after the 201; nothing for the deleted subscription");
}

/// The subscription API: `validation` for endpoints and keys the rules refuse, the same
/// endpoint again is the same id (now the caller's), a list and a delete of one's own only,
/// and sign-out takes the device's subscription with it.
#[tokio::test]
async fn subscriptions_are_checked_owned_and_end_with_their_sign_in() {
    let service = PushService::start().await;
    let app = app_for(Db::Sqlite, &service).await;
    let (ali, sara) = (app.token(ALI).await, app.token(SARA).await);
    let browser = Browser::new(&service, "shared-phone");
    let good = browser.subscription();
    for (endpoint, why) in [
        ("http://push.example/x", "https://"),
        ("https://127.0.0.1/x", "public address"),
        ("https://10.1.2.3/x", "public address"),
        ("https://[::1]/x", "public address"),
        ("ftp://push.example/x", "https://"),
        ("not a url", "valid"),
    ] {
        let bad = NewPushSubscription { endpoint: endpoint.into(), ..good.clone() };
        let message = expect_error(app.post("/api/v1/push/subscriptions", &ali, &bad).await, 400, "validation").await;
        assert!(message.contains(why), "{endpoint}: {message}");
    }
    let short_auth = NewPushSubscription {
        keys: PushSubscriptionKeys { auth: URL_SAFE_NO_PAD.encode([1u8; 8]), ..good.keys.clone() },
        ..good.clone()
    };
    expect_error(app.post("/api/v1/push/subscriptions", &ali, &short_auth).await, 400, "validation").await;
    let not_a_point = NewPushSubscription {
        keys: PushSubscriptionKeys { p256dh: URL_SAFE_NO_PAD.encode([4u8; 65]), ..good.keys.clone() },
        ..good.clone()
    };
    expect_error(app.post("/api/v1/push/subscriptions", &ali, &not_a_point).await, 400, "validation").await;

    let first: PushSubscriptionId = expect_json(app.post("/api/v1/push/subscriptions", &ali, &good).await, 201).await;
    let again: PushSubscriptionId = expect_json(app.post("/api/v1/push/subscriptions", &ali, &good).await, 200).await;
    assert_eq!(again, first);
    // Sara signs in on the same phone: the same subscription, now hers.
    let taken: PushSubscriptionId = expect_json(app.post("/api/v1/push/subscriptions", &sara, &good).await, 200).await;
    assert_eq!(taken, first);
    let alis: Vec<PushSubscriptionInfo> = expect_json(app.get("/api/v1/push/subscriptions", &ali).await, 200).await;
    assert!(alis.is_empty());
    let saras: Vec<PushSubscriptionInfo> = expect_json(app.get("/api/v1/push/subscriptions", &sara).await, 200).await;
    assert_eq!(saras.len(), 1);
    assert_eq!((saras[0].id, saras[0].endpoint.as_str()), (first.id, browser.endpoint.as_str()));
    let path = format!("/api/v1/push/subscriptions/{}", first.id);
    let alis_delete = app.http.delete(format!("{}{path}", app.address)).bearer_auth(&ali).send().await.expect("DELETE");
    expect_error(alis_delete, 404, "not_found").await;
    let deleted = app.http.delete(format!("{}{path}", app.address)).bearer_auth(&sara).send().await.expect("DELETE");
    assert_eq!(deleted.status(), 204);

    // A subscription lives as long as the sign-in that made it.
    let resubscribed: PushSubscriptionId =
        expect_json(app.post("/api/v1/push/subscriptions", &sara, &good).await, 201).await;
    let other = Browser::new(&service, "saras-tablet");
    let other_sara = app.token(SARA).await;
    expect_json::<PushSubscriptionId>(other.subscribe(&app, &other_sara).await, 201).await;
    assert_eq!(app.post("/api/v1/auth/logout", &sara, &serde_json::json!({})).await.status(), 204);
    let left: Vec<PushSubscriptionInfo> =
        expect_json(app.get("/api/v1/push/subscriptions", &other_sara).await, 200).await;
    assert_eq!(left.len(), 1, "the signed-out device's subscription went, the other stayed");
    assert_ne!(left[0].id, resubscribed.id);
    assert_eq!(left[0].endpoint, other.endpoint);
}

/// A disabled user's subscriptions are deleted; `server push rotate-key` makes a new key and
/// drops every subscription; the old key's pushes are never signed with the new one.
#[tokio::test]
async fn disabling_a_user_and_rotating_the_key_drop_subscriptions() {
    let service = PushService::start().await;
    let app = app_for(Db::Sqlite, &service).await;
    let (chef, ali, sara) = (app.token(GORDON).await, app.token(ALI).await, app.token(SARA).await);
    expect_json::<PushSubscriptionId>(Browser::new(&service, "ali").subscribe(&app, &ali).await, 201).await;
    let saras = Browser::new(&service, "sara");
    expect_json::<PushSubscriptionId>(saras.subscribe(&app, &sara).await, 201).await;
    let users: Vec<app::wire::User> = expect_json(app.get("/api/v1/users", &chef).await, 200).await;
    let ali_id = users.iter().find(|user| user.email == ALI).expect("Ali").id;
    let disabled =
        app.patch(&format!("/api/v1/users/{}", ali_id.0), &chef, &serde_json::json!({ "active": false })).await;
    assert_eq!(disabled.status(), 200);
    let count = |url: String| async move {
        let store =
            server::store::Store::connect(&url, 1, server::clock::KitchenClock::new(chrono_tz::UTC)).await.unwrap();
        let rows: i64 = store.push_subscription_count().await.unwrap();
        store.close().await;
        rows
    };
    assert_eq!(count(app.database_url().to_string()).await, 1, "only Sara's is left");
    let before = push_key(&app, &sara).await;
    let printed = run_cli(app.database_url(), &["push", "rotate-key"]).await;
    assert!(printed.contains("1 subscriptions dropped"), "{printed}");
    let after = push_key(&app, &sara).await;
    assert_ne!(before, after);
    assert!(printed.contains(&after), "{printed}");
    assert_eq!(count(app.database_url().to_string()).await, 0);
    // Subscribed again with the new key: pushes are signed with it.
    expect_json::<PushSubscriptionId>(saras.subscribe(&app, &sara).await, 201).await;
    approve(&app, &chef, app.create_request(&sara, "Dild").await).await;
    let pushes = service.wait_for(1, Duration::from_secs(5)).await;
    check_vapid(&pushes[0], &after, &service.origin(), SUBJECT);
}

/// The server follows no redirect: a push service answering 307 gets one request, and the
/// push is dropped as refused.
#[tokio::test]
async fn a_redirect_is_not_followed() {
    let service = PushService::start().await;
    let app = app_for(Db::Sqlite, &service).await;
    let (chef, ali) = (app.token(GORDON).await, app.token(ALI).await);
    expect_json::<PushSubscriptionId>(Browser::new(&service, "ali").subscribe(&app, &ali).await, 201).await;
    let elsewhere = format!("{}/push/elsewhere", service.origin());
    service.answer_next([Answer { status: 307, headers: vec![("location", elsewhere)] }]);
    approve(&app, &chef, app.create_request(&ali, "Dild").await).await;
    service.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = service.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].browser, "ali");
}

/// The widest decision the field rules allow (every character four bytes of UTF-8, or two of
/// JSON escape) is pushed whole within 3,800 bytes (`push_payload`'s unit test covers the
/// shortening of wider notes).
#[tokio::test]
async fn the_largest_decision_still_fits_a_push() {
    let service = PushService::start().await;
    let app = app_for(Db::Sqlite, &service).await;
    let (chef, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let browser = Browser::new(&service, "ali");
    expect_json::<PushSubscriptionId>(browser.subscribe(&app, &ali).await, 201).await;
    let id = app.create_request(&ali, &"🦞".repeat(100)).await;
    let note = "🦞".repeat(400) + &"\n".repeat(100);
    let path = format!("/api/v1/ingredient-requests/{id}/reject");
    assert_eq!(app.post(&path, &chef, &ReviewBody { note: Some(note) }).await.status(), 200);
    let pushes = service.wait_for(1, Duration::from_secs(5)).await;
    let payload = browser.decrypt(&pushes[0]);
    assert!(payload.len() <= 3_800, "{} bytes", payload.len());
    let message: Notification = serde_json::from_str(&payload).expect("a notification");
    let Notification::RequestRejected(notice) = message else { panic!("a rejection") };
    assert_eq!(notice.note.as_deref().map(|note| note.chars().count()), Some(500), "the whole note");
}

/// Several processes on one PostgreSQL database send each push exactly once, though every
/// process looks at the outbox every second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_send_each_push_exactly_once() {
    let service = PushService::start().await;
    let database = FreshDatabase::create(Db::Postgres).await;
    let env = [("MISEOS_PUSH_EXTRA_ORIGINS", service.origin()), ("MISEOS_PUSH_SUBJECT", SUBJECT.to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let first = ServerProcess::start_with(&database.url, &env, false).await;
    let second = ServerProcess::start_with(&database.url, &env, false).await;
    let cooks = [ALI, SARA, NOAH];
    let mut browsers = Vec::new();
    for (index, cook) in cooks.iter().enumerate() {
        let token = first.token(cook).await;
        let browser = Browser::new(&service, &format!("cook-{index}"));
        let answer =
            first.http.post(first.url("/api/v1/push/subscriptions")).bearer_auth(&token).json(&browser.subscription());
        assert_eq!(answer.send().await.expect("POST").status(), 201);
        browsers.push((token, browser));
    }
    let (chef_one, chef_two) = (first.token(GORDON).await, second.token(MONICA).await);
    let mut expected = 0;
    for round in 0..20 {
        for (index, (token, _)) in browsers.iter().enumerate() {
            let body = app::wire::NewIngredientRequest {
                item_name: format!("Dild {round}-{index}"),
                quantity: app::wire::Quantity(1.0),
                unit: "bundt".into(),
                note: None,
            };
            let created = first.http.post(first.url("/api/v1/ingredient-requests")).bearer_auth(token).json(&body);
            let item: app::wire::IngredientRequest = expect_json(created.send().await.expect("POST"), 201).await;
            // The decisions are split between the two processes.
            let (process, chef) = if (round + index) % 2 == 0 { (&first, &chef_one) } else { (&second, &chef_two) };
            let review = process
                .http
                .post(process.url(&format!("/api/v1/ingredient-requests/{}/approve", item.id)))
                .bearer_auth(chef)
                .json(&ReviewBody::default());
            assert_eq!(review.send().await.expect("POST").status(), 200);
            expected += 1;
        }
    }
    let pushes = service.wait_for(expected, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pushes = if service.received().len() > pushes.len() { service.received() } else { pushes };
    let mut items: Vec<i64> = pushes
        .iter()
        .map(|push| {
            let browser = &browsers.iter().find(|(_, browser)| browser.name == push.browser).expect("a browser").1;
            let message: serde_json::Value = serde_json::from_str(&browser.decrypt(push)).expect("JSON");
            message["requestId"].as_i64().expect("requestId")
        })
        .collect();
    items.sort_unstable();
    let before = items.len();
    items.dedup();
    assert_eq!((before, items.len()), (expected, expected), "each decision pushed exactly once");
}

/// The resolved address is checked, not only the URL's text: an `https://` endpoint whose name
/// resolves to loopback (here `localhost`, as DNS rebinding would make a public-looking name)
/// is accepted as text, but no connection is ever made to it; its subscription is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_resolves_to_a_private_address_is_never_connected_to() {
    let inside = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a listener");
    let port = inside.local_addr().expect("an address").port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let watcher = tokio::spawn(async move {
        while inside.accept().await.is_ok() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let service = PushService::start().await;
    let app = app_for(Db::Sqlite, &service).await;
    let (chef, ali) = (app.token(GORDON).await, app.token(ALI).await);
    let rebound = NewPushSubscription {
        endpoint: format!("https://localhost:{port}/push/inside"),
        ..Browser::new(&service, "unused").subscription()
    };
    expect_json::<PushSubscriptionId>(app.post("/api/v1/push/subscriptions", &ali, &rebound).await, 201).await;
    approve(&app, &chef, app.create_request(&ali, "Dild").await).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<PushSubscriptionInfo> = expect_json(app.get("/api/v1/push/subscriptions", &ali).await, 200).await;
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the subscription was not dropped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing connected to the loopback listener");
    let metrics = reqwest::get(format!("{}/metrics", app.address)).await.expect("GET").text().await.expect("text");
    assert!(metrics.contains("miseos_push_attempts_total{outcome=\"unsendable\"} 1"), "{metrics}");
    watcher.abort();
}
