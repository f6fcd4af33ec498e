//! Section 12 of the contract, the pass: bulk reviews with mixed outcomes and racing single
//! reviews, each item keeping its own notifications and `seq` step; the kitchen's settings,
//! changed by its head chef alone and heard live by every page of the kitchen only.

use crate::{
    helpers::*,
    kitchens::{second_kitchen, METTE, RENE},
};
use app::wire::{
    BulkReview, BulkReviewResults, Category, IngredientRequest, ItemRef, ItemReviewedNotice, KitchenChanges,
    KitchenSettings, Notification, ReviewBody, ReviewStatus,
};
use std::collections::HashMap;

crate::on_both_databases!(
    a_bulk_review_answers_each_item_as_its_own_route_would,
    each_item_of_a_bulk_review_is_told_and_counted_on_its_own,
    a_bulk_review_racing_single_reviews_reviews_each_item_once,
    a_bulk_review_is_refused_whole_when_malformed_or_not_a_chefs,
    a_kitchen_starts_with_the_deployments_settings_and_new_kitchens_get_them_written_in,
    the_head_chef_changes_the_settings_and_every_page_of_the_kitchen_hears_at_once,
    settings_are_the_head_chefs_alone_and_checked_together,
);

fn bulk(decision: ReviewStatus, note: Option<&str>, items: &[(Category, i64)]) -> BulkReview {
    BulkReview {
        decision,
        note: note.map(str::to_string),
        items: items.iter().map(|&(category, id)| ItemRef { category, id }).collect(),
    }
}

async fn a_bulk_review_answers_each_item_as_its_own_route_would(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let first = app.create_request(&cook, "Persille").await;
    let already = app.create_request(&cook, "Dild").await;
    let dish = app.create_suggestion(&cook, "Stjerneskud").await;
    second_kitchen(&app.store).await;
    let theirs = app.create_request(&app.token(METTE).await, "Ramsløg").await;
    app.post(&format!("/api/v1/ingredient-requests/{already}/approve"), &chef, &ReviewBody::default()).await;

    let items = [
        (Category::IngredientRequest, first),
        (Category::IngredientRequest, already),
        (Category::IngredientRequest, 999_999),
        (Category::IngredientRequest, theirs),
        (Category::DishSuggestion, dish),
        (Category::IngredientRequest, first),
    ];
    let answer: BulkReviewResults = expect_json(
        app.post("/api/v1/reviews", &chef, &bulk(ReviewStatus::Approved, Some("Bestilt"), &items)).await,
        200,
    )
    .await;
    let statuses: Vec<(Category, i64, u16)> =
        answer.results.iter().map(|result| (result.category, result.id, result.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (Category::IngredientRequest, first, 200),
            (Category::IngredientRequest, already, 409),
            (Category::IngredientRequest, 999_999, 404),
            // Another kitchen's item is not found, as on its own route.
            (Category::IngredientRequest, theirs, 404),
            (Category::DishSuggestion, dish, 200),
            // Named twice: the second time it is already reviewed.
            (Category::IngredientRequest, first, 409),
        ]
    );
    for result in &answer.results {
        assert_eq!(result.item.is_some(), result.status == 200, "{result:?}");
    }
    let request: app::wire::IngredientRequest =
        expect_json(app.get(&format!("/api/v1/ingredient-requests/{first}"), &chef).await, 200).await;
    assert_eq!((request.status, request.review_note.as_deref()), (ReviewStatus::Approved, Some("Bestilt")));
    assert_eq!(answer.results[0].item, Some(app::wire::AnyItem::IngredientRequest(request)));
    let snapshot = app.snapshot(&chef).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.pending_dish_suggestions), (0, 0));
}

async fn each_item_of_a_bulk_review_is_told_and_counted_on_its_own(db: Db) {
    let app = spawn_app(db).await;
    let (ali, sara, chef) = (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await);
    let mut items = Vec::new();
    for index in 0..15 {
        let token = if index % 3 == 0 { &sara } else { &ali };
        items.push((Category::IngredientRequest, app.create_request(token, &format!("Prep {index}")).await));
    }
    let (mut admin, mut ali_socket, mut sara_socket) =
        (app.socket(&chef).await, app.socket(&ali).await, app.socket(&sara).await);
    for socket in [&mut admin, &mut ali_socket, &mut sara_socket] {
        socket.skip_greeting().await;
    }
    let seq_before = app.snapshot(&chef).await.seq;
    let answer: BulkReviewResults =
        expect_json(app.post("/api/v1/reviews", &chef, &bulk(ReviewStatus::Rejected, None, &items)).await, 200).await;
    assert!(answer.results.iter().all(|result| result.status == 200), "{answer:?}");

    // The admins: ITEM_REVIEWED then the count, per item, in the order given, one seq step each.
    for (step, (_, id)) in items.iter().enumerate() {
        let Notification::ItemReviewed(ItemReviewedNotice { request_id, status, .. }) = admin.next().await else {
            panic!("ITEM_REVIEWED of item {step}");
        };
        assert_eq!((request_id, status), (*id, ReviewStatus::Rejected));
        let Notification::PendingCountUpdated { count, seq, .. } = admin.next().await else { panic!("its count") };
        let step = i64::try_from(step).unwrap();
        assert_eq!((count, seq), (14 - step, seq_before + step + 1));
    }
    admin.expect_silence().await;
    // Each requester hears of their own items, every one.
    let mut heard: HashMap<&str, usize> = HashMap::new();
    for (name, socket, expected) in [("ali", &mut ali_socket, 10), ("sara", &mut sara_socket, 5)] {
        for _ in 0..expected {
            assert!(matches!(socket.next().await, Notification::RequestRejected(_)));
            *heard.entry(name).or_default() += 1;
        }
        socket.expect_silence().await;
    }
    assert_eq!((heard["ali"], heard["sara"]), (10, 5));
}

async fn a_bulk_review_racing_single_reviews_reviews_each_item_once(db: Db) {
    let app = spawn_app(db).await;
    let (cook, head, sous) = (app.token(ALI).await, app.token(GORDON).await, app.token(MONICA).await);
    let mut items = Vec::new();
    for index in 0..20 {
        items.push((Category::IngredientRequest, app.create_request(&cook, &format!("Vare {index}")).await));
    }
    let mut admin = app.socket(&head).await;
    admin.skip_greeting().await;
    let body = bulk(ReviewStatus::Approved, None, &items);
    let bulk_review =
        async { expect_json::<BulkReviewResults>(app.post("/api/v1/reviews", &head, &body).await, 200).await };
    // The sous chef rejects every other item, one by one, at the same time (from the last).
    let singles = async {
        let mut statuses = HashMap::new();
        for (_, id) in items.iter().rev().step_by(2) {
            let response =
                app.post(&format!("/api/v1/ingredient-requests/{id}/reject"), &sous, &ReviewBody::default()).await;
            statuses.insert(*id, response.status().as_u16());
        }
        statuses
    };
    let (answer, singles) = tokio::join!(bulk_review, singles);
    for (category, id) in &items {
        let by_bulk = answer.results.iter().find(|result| result.id == *id).map(|result| result.status);
        let by_single = singles.get(id).copied();
        let successes = [by_bulk, by_single].iter().filter(|status| **status == Some(200)).count();
        assert_eq!(successes, 1, "{category:?} {id}: bulk {by_bulk:?}, single {by_single:?}");
        for status in [by_bulk, by_single].into_iter().flatten() {
            assert!(status == 200 || status == 409, "{status}");
        }
    }
    // Twenty reviews: twenty ITEM_REVIEWED, each followed by its count, seq strictly rising.
    let mut last_seq = 0;
    for _ in 0..20 {
        assert!(matches!(admin.next().await, Notification::ItemReviewed(_)));
        let Notification::PendingCountUpdated { seq, .. } = admin.next().await else { panic!("its count") };
        assert!(seq > last_seq);
        last_seq = seq;
    }
    admin.expect_silence().await;
    assert_eq!(app.snapshot(&head).await.pending_ingredient_requests, 0);
}

async fn a_bulk_review_is_refused_whole_when_malformed_or_not_a_chefs(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let id = app.create_request(&cook, "Løg").await;
    let one = [(Category::IngredientRequest, id)];
    expect_error(app.post("/api/v1/reviews", &cook, &bulk(ReviewStatus::Approved, None, &one)).await, 403, "forbidden")
        .await;
    expect_error(
        app.post("/api/v1/reviews", &chef, &bulk(ReviewStatus::Pending, None, &one)).await,
        400,
        "invalid_field",
    )
    .await;
    expect_error(
        app.post("/api/v1/reviews", &chef, &bulk(ReviewStatus::Approved, None, &[])).await,
        400,
        "invalid_field",
    )
    .await;
    let too_many: Vec<_> = (0..101).map(|_| (Category::IngredientRequest, id)).collect();
    expect_error(
        app.post("/api/v1/reviews", &chef, &bulk(ReviewStatus::Approved, None, &too_many)).await,
        400,
        "invalid_field",
    )
    .await;
    let long_note = "x".repeat(501);
    expect_error(
        app.post("/api/v1/reviews", &chef, &bulk(ReviewStatus::Approved, Some(&long_note), &one)).await,
        400,
        "invalid_field",
    )
    .await;
    // Nothing was reviewed by any of them.
    assert_eq!(app.snapshot(&chef).await.pending_ingredient_requests, 1);
}

async fn a_kitchen_starts_with_the_deployments_settings_and_new_kitchens_get_them_written_in(db: Db) {
    let app = spawn_app_with(db, |config| {
        config.timezone = chrono_tz::Europe::Copenhagen;
        config.waiting_amber_minutes = 7;
        config.waiting_red_minutes = 12;
        config.escalate_after_minutes = 25;
    })
    .await;
    let demo: KitchenSettings = expect_json(app.get("/api/v1/kitchen", &app.token(ALI).await).await, 200).await;
    assert_eq!(
        (demo.name.as_str(), demo.amber_minutes, demo.red_minutes, demo.escalate_after_minutes),
        ("MiseOS Test Kitchen", 7, 12, 25)
    );
    assert_eq!(demo.time_zone, "Europe/Copenhagen", "the deployment's, the demo kitchen having none of its own");
    second_kitchen(&app.store).await;
    let noma: KitchenSettings = expect_json(app.get("/api/v1/kitchen", &app.token(RENE).await).await, 200).await;
    assert_eq!((noma.name.as_str(), noma.time_zone.as_str()), ("Noma", "Pacific/Auckland"));
    assert_eq!((noma.amber_minutes, noma.red_minutes, noma.escalate_after_minutes), (7, 12, 25));
}

async fn the_head_chef_changes_the_settings_and_every_page_of_the_kitchen_hears_at_once(db: Db) {
    let app = spawn_app(db).await;
    second_kitchen(&app.store).await;
    let (chef, sous, cook, rene) =
        (app.token(GORDON).await, app.token(MONICA).await, app.token(ALI).await, app.token(RENE).await);
    let mut sockets = Vec::new();
    for token in [&chef, &sous, &cook, &rene] {
        let mut socket = app.socket(token).await;
        socket.skip_greeting().await;
        sockets.push(socket);
    }
    let changes = KitchenChanges {
        name: Some("Noma Tokyo".into()),
        time_zone: Some("Asia/Tokyo".into()),
        red_minutes: Some(30),
        ..KitchenChanges::default()
    };
    let changed: KitchenSettings = expect_json(app.patch("/api/v1/kitchen", &chef, &changes).await, 200).await;
    assert_eq!(
        (changed.name.as_str(), changed.time_zone.as_str(), changed.amber_minutes, changed.red_minutes),
        ("Noma Tokyo", "Asia/Tokyo", 10, 30),
        "what was not named stays"
    );
    let [chef_socket, sous_socket, cook_socket, rene_socket] = &mut sockets[..] else { unreachable!() };
    for socket in [chef_socket, sous_socket, cook_socket] {
        let Notification::KitchenUpdated { kitchen } = socket.next().await else { panic!("KITCHEN_UPDATED") };
        assert_eq!(kitchen, changed);
    }
    // Another kitchen hears nothing, and its settings are its own.
    rene_socket.expect_silence().await;
    let noma: KitchenSettings = expect_json(app.get("/api/v1/kitchen", &rene).await, 200).await;
    assert_eq!((noma.name.as_str(), noma.time_zone.as_str()), ("Noma", "Pacific/Auckland"));
    // Read back by anyone of the kitchen; and its times are read in the new zone from now on.
    assert_eq!(expect_json::<KitchenSettings>(app.get("/api/v1/kitchen", &cook).await, 200).await, changed);
    let id = app.create_request(&cook, "Wasabi").await;
    let item: IngredientRequest =
        expect_json(app.get(&format!("/api/v1/ingredient-requests/{id}"), &cook).await, 200).await;
    let tokyo = server::clock::KitchenClock::new(chrono_tz::Asia::Tokyo);
    assert_eq!(item.created_at, tokyo.format(item.created_at_millis));
}

async fn settings_are_the_head_chefs_alone_and_checked_together(db: Db) {
    let app = spawn_app(db).await;
    let (chef, sous, cook) = (app.token(GORDON).await, app.token(MONICA).await, app.token(ALI).await);
    let rename = KitchenChanges { name: Some("Geranium".into()), ..KitchenChanges::default() };
    expect_error(app.patch("/api/v1/kitchen", &sous, &rename).await, 403, "forbidden").await;
    expect_error(app.patch("/api/v1/kitchen", &cook, &rename).await, 403, "forbidden").await;
    for (changes, field) in [
        (KitchenChanges { time_zone: Some("Mars/Olympus".into()), ..KitchenChanges::default() }, "timeZone"),
        // Red before the amber the kitchen has (10).
        (KitchenChanges { red_minutes: Some(5), ..KitchenChanges::default() }, "redMinutes"),
        (KitchenChanges { amber_minutes: Some(0), ..KitchenChanges::default() }, "amberMinutes"),
        (KitchenChanges { escalate_after_minutes: Some(-1), ..KitchenChanges::default() }, "escalateAfterMinutes"),
        (KitchenChanges { escalate_after_minutes: Some(1441), ..KitchenChanges::default() }, "escalateAfterMinutes"),
        (KitchenChanges { name: Some("  ".into()), ..KitchenChanges::default() }, "name"),
        (KitchenChanges { name: Some("Two\nlines".into()), ..KitchenChanges::default() }, "name"),
    ] {
        let message = expect_error(app.patch("/api/v1/kitchen", &chef, &changes).await, 400, "invalid_field").await;
        assert!(message.starts_with(field), "{field}: {message}");
    }
    // Amber and red moved together are checked together.
    let both = KitchenChanges { amber_minutes: Some(30), red_minutes: Some(45), ..KitchenChanges::default() };
    let changed: KitchenSettings = expect_json(app.patch("/api/v1/kitchen", &chef, &both).await, 200).await;
    assert_eq!((changed.amber_minutes, changed.red_minutes, changed.name.as_str()), (30, 45, "MiseOS Test Kitchen"));
}
