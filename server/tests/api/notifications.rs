//! Section 5 of the contract with a real WebSocket client: authentication, registration,
//! every message type, ordering by `seq`, slow readers, dead peers and shutdown.

use crate::helpers::*;
use app::wire::{
    close_code, AnyItem, Category, ItemReviewedNotice, KitchenId, NewItemNotice, Notification, Person, ReviewBody,
    ReviewNotice, ReviewStatus, Role, SessionType, UserId,
};
use futures::StreamExt;
use server::event::{Change, Event, PendingCounts};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::http::HeaderValue;

crate::on_both_databases!(
    an_admin_is_welcomed_with_the_current_counts,
    a_cook_is_welcomed_as_staff_and_hears_no_broadcasts,
    creating_announces_the_whole_item_then_the_count_to_every_admin_tab,
    reviewing_tells_every_admin_before_the_count_and_only_the_requester,
    a_chef_who_asked_for_something_hears_the_decision_on_their_dashboards,
    a_newer_staff_session_replaces_the_older_with_4001,
    concurrent_writes_arrive_in_strict_seq_order_and_end_at_the_snapshot,
);

fn gordon() -> Person {
    Person { id: UserId(1), first_name: "Gordon".into(), last_name: "Ramsay".into() }
}

fn ali() -> Person {
    Person { id: UserId(3), first_name: "Ali".into(), last_name: "Hassan".into() }
}

async fn an_admin_is_welcomed_with_the_current_counts(db: Db) {
    let app = spawn_app(db).await;
    let cook = app.token(ALI).await;
    app.create_request(&cook, "Dild").await;
    app.create_suggestion(&cook, "Smørrebrød").await;
    app.create_request(&cook, "Persille").await;
    let mut socket = app.socket(&app.token(GORDON).await).await;
    let Notification::Connected { message, session_type, user_id, kitchen_id, timestamp, epoch, chefs_online } =
        socket.next().await
    else {
        panic!("the welcome comes first");
    };
    assert_eq!(
        (message.as_str(), session_type, user_id, kitchen_id),
        ("Connected to MiseOS notifications", SessionType::Admin, UserId(1), KitchenId(1))
    );
    assert_eq!((epoch.len(), epoch.as_str()), (16, app.store.epoch()));
    assert_eq!(chefs_online, None, "presence is for cooks");
    assert_eq!(timestamp.len(), "2026-03-27 10:15".len());
    let Notification::PendingCountUpdated { category, count, seq, .. } = socket.next().await else {
        panic!("counts follow")
    };
    assert_eq!((category, count, seq), (Category::IngredientRequest, 2, 3));
    let Notification::PendingCountUpdated { category, count, seq, .. } = socket.next().await else {
        panic!("counts follow")
    };
    assert_eq!((category, count, seq), (Category::DishSuggestion, 1, 3));
    socket.expect_silence().await;
}

async fn a_cook_is_welcomed_as_staff_and_hears_no_broadcasts(db: Db) {
    let app = spawn_app(db).await;
    let cook = app.token(SARA).await;
    let mut socket = app.socket(&cook).await;
    let Notification::Connected { session_type, user_id, .. } = socket.next().await else { panic!("welcome") };
    assert_eq!((session_type, user_id), (SessionType::Staff, UserId(4)));
    app.create_request(&app.token(ALI).await, "Løg").await;
    socket.expect_silence().await;
}

async fn creating_announces_the_whole_item_then_the_count_to_every_admin_tab(db: Db) {
    let app = spawn_app(db).await;
    let chef = app.token(GORDON).await;
    let (mut first_tab, mut second_tab) = (app.socket(&chef).await, app.socket(&chef).await);
    let mut sous = app.socket(&app.token(MONICA).await).await;
    for socket in [&mut first_tab, &mut second_tab, &mut sous] {
        socket.skip_greeting().await;
    }
    let cook = app.token(ALI).await;
    let id = app.create_request(&cook, "Frisk Dild").await;
    let suggestion = app.create_suggestion(&cook, "Gravad laks").await;
    for socket in [&mut first_tab, &mut second_tab, &mut sous] {
        let Notification::NewIngredientRequest(NewItemNotice {
            category,
            request_id,
            item_name,
            requested_by,
            timestamp,
            created_at_millis,
            item: announced,
        }) = socket.next().await
        else {
            panic!("NEW_INGREDIENT_REQUEST first");
        };
        assert_eq!(
            (category, request_id, item_name.as_str(), requested_by),
            (Category::IngredientRequest, id, "Frisk Dild", ali())
        );
        let item: app::wire::IngredientRequest =
            expect_json(app.get(&format!("/api/v1/ingredient-requests/{id}"), &cook).await, 200).await;
        assert_eq!(created_at_millis, item.created_at_millis, "the notice and the item name the same instant");
        assert_eq!(
            announced.as_deref(),
            Some(&AnyItem::IngredientRequest(item)),
            "the frame carries the item as committed"
        );
        let now = chrono::Utc::now().timestamp_millis();
        assert!((now - 60_000..=now).contains(&created_at_millis), "{created_at_millis} is not a recent Unix ms");
        assert_eq!(timestamp.len(), 16);
        let Notification::PendingCountUpdated { category, count, seq, .. } = socket.next().await else {
            panic!("then the count")
        };
        assert_eq!((category, count, seq), (Category::IngredientRequest, 1, 1));
        let Notification::NewDishSuggestion(notice) = socket.next().await else { panic!("NEW_DISH_SUGGESTION") };
        assert_eq!(
            (notice.category, notice.request_id, notice.item_name.as_str()),
            (Category::DishSuggestion, suggestion, "Gravad laks")
        );
        let dish: app::wire::DishSuggestion =
            expect_json(app.get(&format!("/api/v1/dish-suggestions/{suggestion}"), &cook).await, 200).await;
        assert_eq!(notice.item.as_deref(), Some(&AnyItem::DishSuggestion(dish)));
        let Notification::PendingCountUpdated { category, count, seq, .. } = socket.next().await else {
            panic!("then the count")
        };
        assert_eq!((category, count, seq), (Category::DishSuggestion, 1, 2));
    }
}

async fn reviewing_tells_every_admin_before_the_count_and_only_the_requester(db: Db) {
    let app = spawn_app(db).await;
    let (ali_token, sara_token, chef) = (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await);
    let request = app.create_request(&ali_token, "Frisk Dild").await;
    let suggestion = app.create_suggestion(&ali_token, "Stegt flæsk").await;
    let (mut ali_socket, mut sara_socket, mut admin) =
        (app.socket(&ali_token).await, app.socket(&sara_token).await, app.socket(&chef).await);
    let mut sous = app.socket(&app.token(MONICA).await).await;
    for socket in [&mut ali_socket, &mut sara_socket, &mut admin, &mut sous] {
        socket.skip_greeting().await;
    }
    app.post(
        &format!("/api/v1/ingredient-requests/{request}/approve"),
        &chef,
        &ReviewBody { note: Some("Tak, Ali 🌿".into()) },
    )
    .await;
    let Notification::RequestApproved(ReviewNotice {
        category,
        request_id,
        item_name,
        reviewed_by,
        note,
        timestamp,
        reviewed_at_millis,
    }) = ali_socket.next().await
    else {
        panic!("REQUEST_APPROVED");
    };
    assert_eq!(
        (category, request_id, item_name.as_str(), reviewed_by),
        (Category::IngredientRequest, request, "Frisk Dild", gordon())
    );
    assert_eq!(note.as_deref(), Some("Tak, Ali 🌿"));
    assert_eq!(timestamp.len(), 16);
    let item: app::wire::IngredientRequest =
        expect_json(app.get(&format!("/api/v1/ingredient-requests/{request}"), &ali_token).await, 200).await;
    assert_eq!(Some(reviewed_at_millis), item.reviewed_at_millis, "the notice and the item name the same instant");
    // Every chef, the reviewer's own tab too, hears of the review before the count it moved.
    for chef_socket in [&mut admin, &mut sous] {
        let Notification::ItemReviewed(ItemReviewedNotice { category, request_id, status, reviewed_by, timestamp }) =
            chef_socket.next().await
        else {
            panic!("ITEM_REVIEWED first");
        };
        assert_eq!(
            (category, request_id, status, reviewed_by, timestamp.len()),
            (Category::IngredientRequest, request, ReviewStatus::Approved, gordon(), 16)
        );
        let Notification::PendingCountUpdated { category, count, seq, .. } = chef_socket.next().await else {
            panic!("count")
        };
        assert_eq!((category, count, seq), (Category::IngredientRequest, 0, 3));
    }

    app.post(&format!("/api/v1/dish-suggestions/{suggestion}/reject"), &chef, &ReviewBody::default()).await;
    let Notification::SuggestionRejected(notice) = ali_socket.next().await else { panic!("SUGGESTION_REJECTED") };
    assert_eq!((notice.request_id, notice.note), (suggestion, None));
    for chef_socket in [&mut admin, &mut sous] {
        assert!(matches!(
            chef_socket.next().await,
            Notification::ItemReviewed(ItemReviewedNotice {
                category: Category::DishSuggestion,
                status: ReviewStatus::Rejected,
                request_id,
                ..
            }) if request_id == suggestion
        ));
        let Notification::PendingCountUpdated { category, count, seq, .. } = chef_socket.next().await else {
            panic!("count")
        };
        assert_eq!((category, count, seq), (Category::DishSuggestion, 0, 4));
    }

    // The other two staff types.
    let rejected = app.create_request(&ali_token, "Trøfler").await;
    let approved = app.create_suggestion(&ali_token, "Frikadeller").await;
    app.post(
        &format!("/api/v1/ingredient-requests/{rejected}/reject"),
        &chef,
        &ReviewBody { note: Some("For dyrt".into()) },
    )
    .await;
    app.post(&format!("/api/v1/dish-suggestions/{approved}/approve"), &chef, &ReviewBody::default()).await;
    assert!(matches!(ali_socket.next().await, Notification::RequestRejected(ReviewNotice { note: Some(_), .. })));
    assert!(matches!(ali_socket.next().await, Notification::SuggestionApproved(ReviewNotice { note: None, .. })));
    // Sara asked for nothing and hears nothing; chefs who asked for nothing get no decisions.
    sara_socket.expect_silence().await;
    for chef_socket in [&mut admin, &mut sous] {
        // Two creates and two reviews, each with its count.
        for _ in 0..8 {
            let message = chef_socket.next().await;
            assert!(message.as_review().is_none(), "{message:?}");
        }
        chef_socket.expect_silence().await;
    }
}

/// API.md section 12 (issue 25, point 5): a sous chef's own request is decided like a cook's,
/// and the decision reaches their open dashboards, every tab, as well as their ITEM_REVIEWED.
async fn a_chef_who_asked_for_something_hears_the_decision_on_their_dashboards(db: Db) {
    let app = spawn_app(db).await;
    let (head, sous) = (app.token(GORDON).await, app.token(MONICA).await);
    let (mut first_tab, mut second_tab, mut head_tab) =
        (app.socket(&sous).await, app.socket(&sous).await, app.socket(&head).await);
    for socket in [&mut first_tab, &mut second_tab, &mut head_tab] {
        socket.skip_greeting().await;
    }
    let request = app.create_request(&sous, "Kaviar").await;
    app.post(&format!("/api/v1/ingredient-requests/{request}/reject"), &head, &ReviewBody { note: Some("Nej".into()) })
        .await;
    for tab in [&mut first_tab, &mut second_tab] {
        assert!(matches!(tab.next().await, Notification::NewIngredientRequest(_)));
        assert!(matches!(tab.next().await, Notification::PendingCountUpdated { .. }));
        assert!(matches!(tab.next().await, Notification::ItemReviewed(_)));
        assert!(matches!(tab.next().await, Notification::PendingCountUpdated { .. }));
        let Notification::RequestRejected(notice) = tab.next().await else {
            panic!("REQUEST_REJECTED on the dashboard")
        };
        assert_eq!((notice.request_id, notice.note.as_deref(), notice.reviewed_by), (request, Some("Nej"), gordon()));
        tab.expect_silence().await;
    }
    // The head chef asked for nothing: the count and ITEM_REVIEWED only.
    for _ in 0..4 {
        let message = head_tab.next().await;
        assert!(!matches!(message, Notification::RequestRejected(_)), "{message:?}");
    }
    head_tab.expect_silence().await;
}

async fn a_newer_staff_session_replaces_the_older_with_4001(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let mut older = app.socket(&cook).await;
    older.skip_greeting().await;
    let mut newer = app.socket(&cook).await;
    newer.skip_greeting().await;
    assert_eq!(older.expect_close().await, (close_code::REPLACED, "replaced by a newer session".to_string()));
    let id = app.create_request(&cook, "Ramsløg").await;
    app.post(&format!("/api/v1/ingredient-requests/{id}/approve"), &chef, &ReviewBody::default()).await;
    assert!(
        matches!(newer.next().await, Notification::RequestApproved(ReviewNotice { request_id, .. }) if request_id == id)
    );
    // Admin tabs are never replaced.
    let mut first_tab = app.socket(&chef).await;
    first_tab.skip_greeting().await;
    let mut second_tab = app.socket(&chef).await;
    second_tab.skip_greeting().await;
    first_tab.expect_silence().await;
}

async fn concurrent_writes_arrive_in_strict_seq_order_and_end_at_the_snapshot(db: Db) {
    let app = spawn_app(db).await;
    let (ali_token, sara_token, chef) = (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await);
    let mut admin = app.socket(&chef).await;
    admin.skip_greeting().await;
    let creates = (0..50).map(|index| {
        let token = if index % 2 == 0 { ali_token.clone() } else { sara_token.clone() };
        let app = &app;
        async move {
            if index % 3 == 0 {
                app.create_suggestion(&token, &format!("Ret {index}")).await;
            } else {
                app.create_request(&token, &format!("Vare {index}")).await;
            }
        }
    });
    futures::future::join_all(creates).await;
    let mut last_seq = 0;
    let mut last_count = std::collections::HashMap::new();
    let mut announcements = 0;
    while announcements < 50 || last_seq < 50 {
        match admin.next().await {
            Notification::PendingCountUpdated { category, count, seq, .. } => {
                assert!(seq > last_seq, "seq {seq} after {last_seq}");
                last_seq = seq;
                last_count.insert(category, count);
            }
            Notification::NewIngredientRequest(_) | Notification::NewDishSuggestion(_) => announcements += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let snapshot = app.snapshot(&chef).await;
    assert_eq!(snapshot.seq, last_seq);
    assert_eq!(last_count[&Category::IngredientRequest], snapshot.pending_ingredient_requests);
    assert_eq!(last_count[&Category::DishSuggestion], snapshot.pending_dish_suggestions);
    assert_eq!(snapshot.total_pending, 50);
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let value = chunk.iter().fold(0u32, |acc, &byte| (acc << 8) | u32::from(byte)) << (8 * (3 - chunk.len()));
        for index in 0..=chunk.len() {
            out.push(ALPHABET[((value >> (18 - 6 * index)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test]
async fn every_bad_credential_is_closed_with_1008() {
    let app = spawn_app(Db::Sqlite).await;
    let good = app.token(GORDON).await;
    let session = app.session_of(&good);
    let other_secret = server::accounts::TokenKeys::new(&[9; 32], Duration::from_secs(60));
    let header_and_payload = |header: &str| {
        format!(
            "{}.{}",
            base64_url(header.as_bytes()),
            base64_url(&serde_json::to_vec(&claims(&session, Role::HeadChef, 60, "miseos")).unwrap())
        )
    };
    let alg_none = format!("{}.", header_and_payload(r#"{"alg":"none","typ":"JWT"}"#));
    // Signed with the right secret under another algorithm, by OpenSSL (the server's own
    // jsonwebtoken provider signs HS256 only).
    let hs384 = {
        let signing_input = header_and_payload(r#"{"alg":"HS384","typ":"JWT"}"#);
        let key = openssl::pkey::PKey::hmac(TEST_SECRET.as_bytes()).unwrap();
        let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha384(), &key).unwrap();
        format!("{signing_input}.{}", base64_url(&signer.sign_oneshot_to_vec(signing_input.as_bytes()).unwrap()))
    };
    let cases = [
        ("tampered signature", tampered(&good)),
        ("expired", app.tokens.sign(&claims(&session, Role::HeadChef, -5, "miseos"))),
        ("alg none", alg_none),
        ("another algorithm", hs384),
        ("another secret", other_secret.sign(&claims(&session, Role::HeadChef, 60, "miseos"))),
        ("another issuer", app.tokens.sign(&claims(&session, Role::HeadChef, 60, "someone-else"))),
        ("not a token", "garbage".to_string()),
    ];
    for (case, token) in cases {
        let mut socket = app.socket(&token).await;
        let (code, reason) = socket.expect_close().await;
        assert_eq!(code, close_code::POLICY_VIOLATION, "{case}");
        assert!(!reason.is_empty(), "{case}");
    }
    let mut no_token = app.socket_with(|_| {}).await;
    assert_eq!(no_token.expect_close().await.0, close_code::POLICY_VIOLATION);
}

#[tokio::test]
async fn the_cookie_works_only_from_an_allowed_origin() {
    let app = spawn_app(Db::Sqlite).await;
    let token = app.token(GORDON).await;
    let port = app.port;
    let with_cookie = |origin: Option<String>| {
        let token = token.clone();
        move |request: &mut tokio_tungstenite::tungstenite::handshake::client::Request| {
            request.headers_mut().insert("cookie", HeaderValue::from_str(&format!("miseos_token={token}")).unwrap());
            if let Some(origin) = origin {
                request.headers_mut().insert("origin", HeaderValue::from_str(&origin).unwrap());
            }
        }
    };
    let mut same_origin = app.socket_with(with_cookie(Some(format!("http://127.0.0.1:{port}")))).await;
    assert!(matches!(same_origin.next().await, Notification::Connected { session_type: SessionType::Admin, .. }));
    for origin in [Some("http://evil.example".to_string()), Some(format!("http://127.0.0.1:{}", port + 1)), None] {
        let mut refused = app.socket_with(with_cookie(origin.clone())).await;
        assert_eq!(
            refused.expect_close().await,
            (close_code::POLICY_VIOLATION, "origin not allowed".to_string()),
            "{origin:?}"
        );
    }

    let listed =
        spawn_app_with(Db::Sqlite, |config| config.allowed_origins = vec!["https://kitchen.example".into()]).await;
    let token = listed.token(GORDON).await;
    let cookie = |origin: &'static str| {
        let token = token.clone();
        move |request: &mut tokio_tungstenite::tungstenite::handshake::client::Request| {
            request.headers_mut().insert("cookie", HeaderValue::from_str(&format!("miseos_token={token}")).unwrap());
            request.headers_mut().insert("origin", HeaderValue::from_static(origin));
        }
    };
    let mut allowed = listed.socket_with(cookie("https://kitchen.example")).await;
    assert!(matches!(allowed.next().await, Notification::Connected { .. }));
    let mut unlisted = listed.socket_with(cookie("https://other.example")).await;
    assert_eq!(unlisted.expect_close().await.0, close_code::POLICY_VIOLATION);
}

#[tokio::test]
async fn a_session_is_closed_with_1008_when_its_token_expires() {
    let app = spawn_app(Db::Sqlite).await;
    let session = app.session_of(&app.token(GORDON).await);
    let short_lived = app.tokens.sign(&claims(&session, Role::HeadChef, 2, "miseos"));
    let mut socket = app.socket(&short_lived).await;
    socket.skip_greeting().await;
    let started = Instant::now();
    match socket.next_within(Duration::from_secs(5)).await {
        Received::Closed(Some((code, reason))) => {
            assert_eq!((code, reason.as_str()), (close_code::POLICY_VIOLATION, "token expired"))
        }
        other => panic!("expected 1008 at expiry, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn unknown_client_frames_are_ignored_and_oversized_ones_close_with_1009() {
    let app = spawn_app(Db::Sqlite).await;
    let chef = app.token(GORDON).await;
    let mut socket = app.socket(&chef).await;
    socket.skip_greeting().await;
    socket.send_text(r#"{"hello": "server"}"#.into()).await;
    socket.send_text("not even json".into()).await;
    socket.send_text("x".repeat(4096)).await;
    app.create_request(&app.token(ALI).await, "Still live").await;
    assert!(matches!(socket.next().await, Notification::NewIngredientRequest(_)));
    assert!(matches!(socket.next().await, Notification::PendingCountUpdated { .. }));
    socket.send_text("x".repeat(4097)).await;
    assert_eq!(socket.expect_close().await.0, close_code::MESSAGE_TOO_BIG);
    let mut large = app.socket(&chef).await;
    large.skip_greeting().await;
    large.send_text("y".repeat(64 * 1024)).await;
    assert_eq!(large.expect_close().await.0, close_code::MESSAGE_TOO_BIG);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_is_closed_with_1013_and_never_delays_the_others() {
    let app = spawn_app_with(Db::Sqlite, |config| config.ws_queue_capacity = 64).await;
    let chef = app.token(GORDON).await;
    let mut stalled = app.slow_socket(&chef).await;
    stalled.skip_greeting().await;
    let mut readers = Vec::new();
    for _ in 0..2 {
        let mut reader = app.socket(&chef).await;
        reader.skip_greeting().await;
        readers.push(reader);
    }
    assert_eq!(app.hub.socket_counts().0, 3);
    // Large frames fill the stalled client's socket buffers (a few MiB) quickly; the hub is
    // fed directly so the test controls volume and pace exactly.
    let events = 700;
    let big_name = "ø".repeat(4 * 1024);
    let start_seq = app.hub.current_counts(KitchenId(1)).expect("followed: it has admins here").seq;
    // Each healthy reader reads on its own task, as independent clients would.
    let readers_done: Vec<_> = readers
        .into_iter()
        .map(|mut reader| {
            tokio::spawn(async move {
                let mut slowest = Duration::ZERO;
                for expected in 0..events {
                    let started = Instant::now();
                    match reader.next().await {
                        Notification::NewIngredientRequest(notice) => assert_eq!(notice.request_id, expected),
                        other => panic!("unexpected {other:?}"),
                    }
                    assert!(matches!(reader.next().await, Notification::PendingCountUpdated { .. }));
                    slowest = slowest.max(started.elapsed());
                }
                // Still connected: the reader is handed back, so its session stays registered.
                (slowest, reader)
            })
        })
        .collect();
    for index in 0..events {
        app.hub.publish(&Event {
            kitchen_id: KitchenId(1),
            counts: PendingCounts { ingredient_requests: index + 1, dish_suggestions: 0, seq: start_seq + 1 + index },
            category: Category::IngredientRequest,
            at_millis: chrono::Utc::now().timestamp_millis(),
            timestamp: "2026-03-27 10:15".into(),
            change: Change::Created { item_id: index, item_name: big_name.clone(), requested_by: ali(), item: None },
        });
        // About 1,000 events/s of 8 KiB: a pace any reading client keeps up with.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The stalled session was dropped from the hub, so its queue no longer grows.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.hub.socket_counts().0 != 2 {
        assert!(Instant::now() < deadline, "the stalled session was never dropped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Reading now, it finds what was already in flight, then the 1013 close.
    let mut closing = None;
    while let Some(frame) =
        tokio::time::timeout(Duration::from_secs(5), stalled.stream.next()).await.expect("the socket ends")
    {
        if let Ok(tokio_tungstenite::tungstenite::Message::Close(frame)) = frame {
            closing = frame.map(|frame| u16::from(frame.code));
            break;
        }
    }
    for reader in readers_done {
        let (slowest_wait, _still_open) = reader.await.expect("a healthy reader got every message");
        assert!(slowest_wait < Duration::from_secs(2), "a healthy reader waited {slowest_wait:?}");
    }
    assert_eq!(closing, Some(close_code::TRY_AGAIN_LATER));
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped() {
    let app = spawn_app_with(Db::Sqlite, |config| config.ws_ping_seconds = 0.2).await;
    let chef = app.token(GORDON).await;
    let mut responsive = app.socket(&chef).await;
    let mut silent = app.socket(&chef).await;
    // The responsive client keeps reading (which answers pings) and stays connected.
    responsive.skip_greeting().await;
    assert_eq!(responsive.next_within(Duration::from_millis(1200)).await, Received::Timeout);
    // The silent one never read, so never answered: by now it has been dropped.
    silent.skip_greeting().await;
    assert_eq!(silent.expect_close().await, (close_code::PING_TIMEOUT, "ping timeout".to_string()));
    assert_eq!(app.hub.socket_counts().0, 1);
}

#[tokio::test]
async fn shutdown_closes_every_session_with_1001() {
    let mut app = spawn_app(Db::Sqlite).await;
    let mut admin = app.socket(&app.token(GORDON).await).await;
    let mut cook = app.socket(&app.token(ALI).await).await;
    admin.skip_greeting().await;
    cook.skip_greeting().await;
    app.shut_down().await;
    assert_eq!(admin.expect_close().await.0, close_code::GOING_AWAY);
    assert_eq!(cook.expect_close().await.0, close_code::GOING_AWAY);
}

#[tokio::test]
async fn timestamps_use_the_kitchen_time_zone() {
    let zone: chrono_tz::Tz = "Pacific/Kiritimati".parse().unwrap();
    let app = spawn_app_with(Db::Sqlite, |config| config.timezone = zone).await;
    let mut socket = app.socket(&app.token(GORDON).await).await;
    let Notification::Connected { timestamp, .. } = socket.next().await else { panic!("welcome") };
    let now = chrono::Utc::now().with_timezone(&zone);
    let a_minute_ago = now - chrono::Duration::minutes(1);
    let candidates = [now.format("%Y-%m-%d %H:%M").to_string(), a_minute_ago.format("%Y-%m-%d %H:%M").to_string()];
    assert!(candidates.contains(&timestamp), "{timestamp} is not UTC+14 now ({candidates:?})");
}

#[tokio::test]
async fn a_plain_get_of_the_socket_path_is_told_to_upgrade() {
    let app = spawn_app(Db::Sqlite).await;
    let response = app.http.get(format!("{}/api/v1/notifications", app.address)).send().await.unwrap();
    expect_error(response, 426, "upgrade_required").await;
}

/// Any database role may NOTIFY on the server's channels. What it sends is only a name to
/// look up, so nothing forged reaches a session, freezes the counts or closes a session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_notifications_from_another_database_role_change_nothing() {
    use sqlx::{Connection, Executor};
    let app = spawn_app(Db::Postgres).await;
    let chef = app.token(GORDON).await;
    let cook = app.token(ALI).await;
    let mut admin = app.socket(&chef).await;
    admin.skip_greeting().await;
    let mut staff = app.socket(&cook).await;
    staff.skip_greeting().await;

    let mut owner = sqlx::PgConnection::connect(app.database_url()).await.expect("the test database");
    owner
        .execute("DO $$ BEGIN CREATE ROLE miseos_forger LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        .await
        .expect("a second role");
    let database = app.database_url().rsplit('/').next().expect("a database name").to_string();
    let forger_url = format!("postgres://miseos_forger@127.0.0.1:5432/{database}");
    let mut forger = sqlx::PgConnection::connect(&forger_url).await.expect("the second role connects");
    let forged_event = serde_json::json!({
        "seq": 999_999_999, "category": "IngredientRequest", "pending": 7, "at_millis": 0,
        "change": {"Created": {"item_id": 1, "item_name": "Forged", "requested_by": {"id": 3, "firstName": "A", "lastName": "B"}}}
    })
    .to_string();
    for (channel, payload) in [
        ("miseos_events", "999999999".to_string()),
        ("miseos_events", forged_event),
        ("miseos_sessions", "3".to_string()),
        ("miseos_sessions", r#"{"user_id":3,"claim":999999999}"#.to_string()),
        ("miseos_sessions_ended", "3".to_string()),
    ] {
        sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&mut forger).await.expect("NOTIFY");
    }
    admin.expect_silence().await;
    staff.expect_silence().await;

    // The counts are not frozen: the next real change arrives with seq 1; the cook is still
    // connected and still signed in.
    let id = app.create_request(&cook, "Dild").await;
    assert!(matches!(admin.next().await, Notification::NewIngredientRequest(notice) if notice.request_id == id));
    assert!(matches!(admin.next().await, Notification::PendingCountUpdated { seq: 1, count: 1, .. }));
    assert_eq!(app.get("/api/v1/auth/me", &cook).await.status(), 200);
    let approved = app.post(&format!("/api/v1/ingredient-requests/{id}/approve"), &chef, &serde_json::json!({})).await;
    assert_eq!(approved.status(), 200);
    assert!(matches!(staff.next().await, Notification::RequestApproved(_)));
}

/// A message over 4 KiB sent in fragments, each under the limit, is closed with 1009 like a
/// whole one; other sessions go on.
#[tokio::test]
async fn a_fragmented_message_over_the_limit_closes_with_1009() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::{
        protocol::frame::{
            coding::{Data, OpCode},
            Frame,
        },
        Message,
    };
    let app = spawn_app(Db::Sqlite).await;
    let chef = app.token(GORDON).await;
    let mut bystander = app.socket(&chef).await;
    bystander.skip_greeting().await;
    // Many small fragments sent at once, and two larger ones: 5 KiB and 6 KB in all.
    for (size, count) in [(1024, 5), (3000, 2)] {
        let mut socket = app.socket(&chef).await;
        socket.skip_greeting().await;
        let chunk = vec![b'x'; size];
        for index in 0..count {
            let opcode = if index == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
            socket.stream.feed(Message::Frame(Frame::message(chunk.clone(), opcode, false))).await.unwrap();
        }
        let last = Message::Frame(Frame::message(chunk, OpCode::Data(Data::Continue), true));
        // The server may have closed before the last fragment.
        let _ = socket.stream.send(last).await;
        assert_eq!(socket.expect_close().await, (close_code::MESSAGE_TOO_BIG, "message too big".into()), "{size}");
    }
    app.create_request(&app.token(ALI).await, "Still live").await;
    assert!(matches!(bystander.next().await, Notification::NewIngredientRequest(_)));
}
