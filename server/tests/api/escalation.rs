//! Section 12 of the contract, escalation: an item still PENDING `escalateAfterMinutes` after
//! it was made is told once to its kitchen's ADMIN sockets and pushed to its chefs (section
//! 10); nothing for an item reviewed in time, nothing in a kitchen that never escalates,
//! nothing in another kitchen. Time is let pass by moving items' creation into the past in the
//! database; every process looks every `server::escalator::LOOK_EVERY` (5 s).

use crate::{
    helpers::*,
    kitchens::{second_kitchen, METTE, RENE},
    push_service::{Browser, PushService},
};
use app::wire::{
    Category, DishSuggestion, IngredientRequest, ItemEscalatedNotice, KitchenChanges, KitchenSettings, ReviewBody,
};
use std::time::Duration;

crate::on_both_databases!(
    an_item_nobody_reviews_in_time_is_escalated_once_on_sockets_and_by_push,
    each_kitchen_escalates_after_its_own_minutes_and_only_to_its_own_chefs,
);

/// Long enough for a look to have come and gone: the escalator's period and a margin.
const A_LOOK: Duration = Duration::from_secs(7);

fn is_of(notice: &ItemEscalatedNotice, category: Category, id: i64) -> bool {
    notice.category == category && notice.request_id == id
}

/// Two late items (one of each kind) are escalated once each, with the contract's fields, on
/// the chef's socket and by push to the head and sous chefs' browsers (never the cook's); an
/// item younger than the setting and one reviewed in time are not; an escalated item can still
/// be reviewed, and its `escalatedAtMillis` says when it was escalated.
async fn an_item_nobody_reviews_in_time_is_escalated_once_on_sockets_and_by_push(db: Db) {
    let service = PushService::start().await;
    let origin = service.origin();
    let app = spawn_app_with(db, move |config| {
        config.push_extra_origins = vec![origin];
        config.push_subject = Some("mailto:push-test@miseos.dk".into());
    })
    .await;
    let (gordon, monica, ali) = (app.token(GORDON).await, app.token(MONICA).await, app.token(ALI).await);
    let browsers = [
        (Browser::new(&service, "gordon-tablet"), &gordon),
        (Browser::new(&service, "monica-phone"), &monica),
        (Browser::new(&service, "ali-phone"), &ali),
    ];
    for (browser, token) in &browsers {
        assert_eq!(browser.subscribe(&app, token).await.status(), 201);
    }
    let late = app.create_request(&ali, "Dild").await;
    let late_dish = app.create_suggestion(&ali, "Rødgrød").await;
    let young = app.create_request(&ali, "Persille").await;
    let reviewed_in_time = app.create_request(&ali, "Kørvel").await;
    let approve = |id: i64| format!("/api/v1/ingredient-requests/{id}/approve");
    assert_eq!(app.post(&approve(reviewed_in_time), &gordon, &ReviewBody::default()).await.status(), 200);
    let mut socket = app.socket(&gordon).await;
    socket.skip_greeting().await;

    backdate(app.database_url(), Category::IngredientRequest, late, 16).await;
    backdate(app.database_url(), Category::DishSuggestion, late_dish, 17).await;
    backdate(app.database_url(), Category::IngredientRequest, young, 14).await;
    backdate(app.database_url(), Category::IngredientRequest, reviewed_in_time, 60).await;

    let mut told = socket.escalations_within(A_LOOK * 2).await;
    told.sort_by_key(|notice| notice.category != Category::IngredientRequest);
    assert_eq!(told.len(), 2, "once each, and only the late ones: {told:?}");
    let (request, dish) = (&told[0], &told[1]);
    assert!(is_of(request, Category::IngredientRequest, late) && is_of(dish, Category::DishSuggestion, late_dish));
    assert_eq!((request.item_name.as_str(), request.waited_minutes), ("Dild", 16));
    assert_eq!((dish.item_name.as_str(), dish.waited_minutes), ("Rødgrød", 17));
    assert_eq!(request.requested_by.first_name, "Ali");
    assert_eq!(request.timestamp.len(), "2026-03-27 10:15".len());

    // Pushed to both chefs' browsers, as the socket frame; the cook's browser heard only the
    // decision on its own item.
    let pushes = service.wait_for(5, Duration::from_secs(10)).await;
    let mut escalations_pushed = Vec::new();
    for push in &pushes {
        let browser = &browsers.iter().find(|(browser, _)| browser.name == push.browser).expect("a browser").0;
        let message: serde_json::Value = serde_json::from_str(&browser.decrypt(push)).expect("JSON");
        if push.browser == "ali-phone" {
            assert_eq!(message["notificationType"], "REQUEST_APPROVED");
            continue;
        }
        assert_eq!(message["notificationType"], "ITEM_ESCALATED");
        escalations_pushed.push((push.browser.clone(), message["requestId"].as_i64().expect("requestId")));
    }
    escalations_pushed.sort();
    let mut expected: Vec<(String, i64)> = ["gordon-tablet", "monica-phone"]
        .iter()
        .flat_map(|browser| [(browser.to_string(), late), (browser.to_string(), late_dish)])
        .collect();
    expected.sort();
    assert_eq!(escalations_pushed, expected);

    // Later looks find both claimed: nothing again, on the socket or by push.
    assert_eq!(socket.escalations_within(A_LOOK).await, Vec::new());
    assert_eq!(service.received().len(), 5);

    let read: IngredientRequest =
        expect_json(app.get(&format!("/api/v1/ingredient-requests/{late}"), &gordon).await, 200).await;
    assert_eq!(read.escalated_at_millis, Some(request.escalated_at_millis));
    assert_eq!(read.escalated_at_millis.map(|at| (at - read.created_at_millis) / 60_000), Some(16));
    let read_dish: DishSuggestion =
        expect_json(app.get(&format!("/api/v1/dish-suggestions/{late_dish}"), &gordon).await, 200).await;
    assert_eq!(read_dish.escalated_at_millis, Some(dish.escalated_at_millis));
    for id in [young, reviewed_in_time] {
        let read: IngredientRequest =
            expect_json(app.get(&format!("/api/v1/ingredient-requests/{id}"), &gordon).await, 200).await;
        assert_eq!(read.escalated_at_millis, None);
    }
    let reviewed: IngredientRequest =
        expect_json(app.post(&approve(late), &monica, &ReviewBody::default()).await, 200).await;
    assert_eq!(reviewed.escalated_at_millis, read.escalated_at_millis);
}

/// `escalateAfterMinutes` is the kitchen's: 0 never escalates, a shorter time escalates an
/// item the default would not yet, and a second kitchen on the default escalates its own
/// item to its own chef alone.
async fn each_kitchen_escalates_after_its_own_minutes_and_only_to_its_own_chefs(db: Db) {
    let app = spawn_app(db).await;
    second_kitchen(&app.store).await;
    let (gordon, ali, rene) = (app.token(GORDON).await, app.token(ALI).await, app.token(RENE).await);
    let never = KitchenChanges { escalate_after_minutes: Some(0), ..KitchenChanges::default() };
    let settings: KitchenSettings = expect_json(app.patch("/api/v1/kitchen", &gordon, &never).await, 200).await;
    assert_eq!(settings.escalate_after_minutes, 0);
    let waiting_an_hour = app.create_request(&ali, "Estragon").await;
    backdate(app.database_url(), Category::IngredientRequest, waiting_an_hour, 60).await;
    let mut demo_chef = app.socket(&gordon).await;
    demo_chef.skip_greeting().await;
    let mut noma_chef = app.socket(&rene).await;
    noma_chef.skip_greeting().await;
    assert_eq!(demo_chef.escalations_within(A_LOOK).await, Vec::new(), "0 never escalates");

    let mette = app.token(METTE).await;
    let noma_item = app.create_request(&mette, "Havtorn").await;
    backdate(app.database_url(), Category::IngredientRequest, noma_item, 15).await;
    let sooner = KitchenChanges { escalate_after_minutes: Some(5), ..KitchenChanges::default() };
    assert_eq!(app.patch("/api/v1/kitchen", &gordon, &sooner).await.status(), 200);
    let demo_told = demo_chef.next_escalation(A_LOOK).await;
    assert!(is_of(&demo_told, Category::IngredientRequest, waiting_an_hour));
    assert_eq!(demo_told.waited_minutes, 60);
    let noma_told = noma_chef.next_escalation(A_LOOK).await;
    assert!(is_of(&noma_told, Category::IngredientRequest, noma_item), "Noma's own item, at its default 15 min");
    // Neither kitchen hears the other's.
    assert_eq!(demo_chef.escalations_within(A_LOOK).await, Vec::new());
    assert_eq!(noma_chef.escalations_within(Duration::from_millis(300)).await, Vec::new());
}
