//! Property-based fuzzing: proptest-generated JSON and raw bytes for every route that reads a
//! body, and hostile frames on the notification socket. No 5xx, every error the contract's
//! `{error, message}`, no state change from a refused body, and other users unaffected.

use crate::helpers::*;
use app::wire::{ErrorBody, Notification};
use futures::SinkExt;
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};
use serde_json::Value;
use tokio_tungstenite::tungstenite::{
    protocol::frame::{
        coding::{Data, OpCode},
        Frame,
    },
    Message,
};

/// Field names the routes read, mixed with arbitrary ones, so bodies reach the validation.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "email",
            "password",
            "itemName",
            "quantity",
            "unit",
            "note",
            "name",
            "description",
            "firstName",
            "lastName",
            "role",
            "active",
            "currentPassword",
            "newPassword",
        ])
        .prop_map(String::from),
        text(12),
    ]
}

/// Any text up to `max` characters, all of Unicode.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..max).prop_map(String::from_iter)
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |number| number.is_finite()).prop_map(Value::from),
        text(40).prop_map(Value::from),
        prop::sample::select(vec!["HEAD_CHEF", "LINE_COOK", "kg", "Dild", "a@b.dk", "mise-en-place"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// What a refused body must not have changed: the counts and `seq`, and the brigade.
async fn fingerprint(app: &TestApp, chef: &str) -> (app::wire::Snapshot, String) {
    let users = app.get("/api/v1/users", chef).await.text().await.expect("users");
    (app.snapshot(chef).await, users)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_on_every_route_get_contract_errors_and_change_nothing() {
    let app = spawn_app(Db::Sqlite).await;
    let (chef, cook) = (app.token(GORDON).await, app.token(ALI).await);
    let item = app.create_request(&cook, "Dild").await;
    let routes: Vec<(reqwest::Method, String, Option<&str>)> = vec![
        (reqwest::Method::POST, "/api/v1/auth/login".into(), None),
        (reqwest::Method::POST, "/api/v1/ingredient-requests".into(), Some(&cook)),
        (reqwest::Method::POST, "/api/v1/dish-suggestions".into(), Some(&cook)),
        (reqwest::Method::POST, format!("/api/v1/ingredient-requests/{item}/reject"), Some(&chef)),
        (reqwest::Method::POST, "/api/v1/users".into(), Some(&chef)),
        (reqwest::Method::PATCH, "/api/v1/users/4".into(), Some(&chef)),
        (reqwest::Method::POST, "/api/v1/auth/password".into(), Some(&cook)),
    ];
    let mut runner = TestRunner::new(Config { cases: 48, ..Config::default() });
    let (json, bytes) = (json(), prop::collection::vec(any::<u8>(), 0..300));
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for (method, path, token) in &routes {
        for case in 0..96 {
            let body = if case % 2 == 0 {
                serde_json::to_vec(&json.new_tree(&mut runner).expect("a value").current()).expect("JSON")
            } else {
                bytes.new_tree(&mut runner).expect("bytes").current()
            };
            let before = fingerprint(&app, &chef).await;
            let mut request = app
                .http
                .request(method.clone(), format!("{}{path}", app.address))
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("an answer");
            let status = response.status().as_u16();
            *answers.entry(status).or_default() += 1;
            let text = response.text().await.expect("a body");
            let shown = String::from_utf8_lossy(&body);
            assert!(status < 500, "{method} {path} answered {status} to {shown}: {text}");
            if status >= 400 {
                let error: ErrorBody = serde_json::from_str(&text)
                    .unwrap_or_else(|_| panic!("{method} {path} {status}: not an error body: {text}"));
                assert!(!error.error.is_empty() && !error.message.is_empty());
                assert_eq!(fingerprint(&app, &chef).await, before, "{method} {path} {status} changed state: {shown}");
            }
        }
    }
    println!("REST fuzzing: {} bodies on {} routes, answers by status: {answers:?}", routes.len() * 96, routes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_end_only_their_own_session() {
    let app = spawn_app(Db::Sqlite).await;
    let (chef, cook) = (app.token(GORDON).await, app.token(ALI).await);
    let mut bystander = app.socket(&chef).await;
    bystander.skip_greeting().await;
    let mut runner = TestRunner::deterministic();
    let payload = prop::collection::vec(any::<u8>(), 0..6000);
    let mut hostile = app.socket(&chef).await;
    hostile.skip_greeting().await;
    let mut reopened = 0;
    for case in 0..120 {
        let bytes = payload.new_tree(&mut runner).expect("bytes").current();
        let frame = match case % 5 {
            0 => Message::Binary(bytes.into()),
            1 => Message::Text(String::from_utf8_lossy(&bytes).into_owned().into()),
            // Invalid UTF-8 in a text frame, which a well-behaved client never sends.
            2 => Message::Frame(Frame::message([&[0xff, 0xfe][..], &bytes].concat(), OpCode::Data(Data::Text), true)),
            3 => Message::Ping(bytes.into_iter().take(125).collect::<Vec<u8>>().into()),
            _ => Message::Frame(Frame::message(bytes, OpCode::Data(Data::Continue), false)),
        };
        if hostile.stream.send(frame).await.is_err() {
            // The server ended that session: open another and go on.
            reopened += 1;
            hostile = app.socket(&chef).await;
            hostile.skip_greeting().await;
        }
    }
    // A flood of small frames too.
    for _ in 0..2000 {
        if hostile.stream.feed(Message::Text("{}".into())).await.is_err() {
            break;
        }
    }
    let _ = hostile.stream.flush().await;
    let id = app.create_request(&cook, "Efter stormen").await;
    assert!(matches!(bystander.next().await, Notification::NewIngredientRequest(notice) if notice.request_id == id));
    assert!(matches!(bystander.next().await, Notification::PendingCountUpdated { .. }));
    let health = app.http.get(format!("{}/healthz", app.address)).send().await.expect("healthz");
    assert_eq!(health.status(), 200);
    println!("socket fuzzing: 120 hostile frames and 2,000 small ones; the hostile session was ended and reopened {reopened} times; the bystander got every message");
}
