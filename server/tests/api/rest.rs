//! Sections 1–4 of the contract over HTTP: health, sign-in, items, review, snapshot, errors.

use crate::helpers::*;
use app::wire::{
    DishSuggestion, IngredientRequest, KitchenId, NewIngredientRequest, ReviewBody, ReviewStatus, Role, Snapshot, User,
    UserId,
};
use std::collections::HashSet;

crate::on_both_databases!(
    health_and_readiness_answer,
    login_returns_token_user_and_an_http_only_cookie,
    wrong_email_and_wrong_password_get_the_same_401,
    me_accepts_bearer_or_cookie_and_logout_clears_the_cookie,
    forged_expired_and_missing_tokens_get_401,
    an_ingredient_request_round_trips_every_field,
    a_dish_suggestion_round_trips_and_is_reviewed,
    staff_see_only_their_own_items_and_admins_see_all_newest_first,
    status_filter_and_limit_apply,
    lists_page_with_before_and_filter_by_review_time_and_person,
    an_invalid_field_names_the_field,
    only_admins_review_and_the_snapshot_is_theirs,
    reviewing_twice_is_409_and_unknown_ids_are_404,
    bad_bodies_get_400_or_413_and_change_nothing,
    unicode_and_markup_are_stored_unchanged,
    concurrent_reviews_of_one_item_give_one_200_and_one_409,
    fifty_concurrent_creates_all_count,
);

async fn health_and_readiness_answer(db: Db) {
    let app = spawn_app(db).await;
    let health = app.http.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.http.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

async fn login_returns_token_user_and_an_http_only_cookie(db: Db) {
    let app = spawn_app(db).await;
    let response = app.login_attempt("Gordon@MiseOS.dk", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers().get("set-cookie").expect("a cookie").to_str().unwrap().to_string();
    let body: app::wire::LoginResponse = response.json().await.unwrap();
    assert_eq!(
        body.user,
        User {
            id: UserId(1),
            first_name: "Gordon".into(),
            last_name: "Ramsay".into(),
            email: GORDON.into(),
            role: Role::HeadChef,
            active: true,
            kitchen_id: KitchenId(1),
        }
    );
    assert!(cookie.starts_with(&format!("miseos_token={};", body.token)));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "cookie lacks {attribute}: {cookie}");
    }
    // The token carries the contract's claims.
    let payload = body.token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&base64_url_decode(payload)).unwrap();
    assert_eq!(claims["sub"], "1");
    assert_eq!(claims["role"], "HEAD_CHEF");
    assert_eq!(claims["firstName"], "Gordon");
    assert_eq!(claims["lastName"], "Ramsay");
    assert_eq!(claims["iss"], "miseos");
    assert_eq!(claims["kitchen"], 1, "the user's kitchen (API.md section 9)");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
}

async fn wrong_email_and_wrong_password_get_the_same_401(db: Db) {
    let app = spawn_app(db).await;
    let wrong_password = expect_error(app.login_attempt(GORDON, "wrong").await, 401, "bad_credentials").await;
    let unknown_email =
        expect_error(app.login_attempt("nobody@miseos.dk", PASSWORD).await, 401, "bad_credentials").await;
    assert_eq!(wrong_password, unknown_email);
}

async fn me_accepts_bearer_or_cookie_and_logout_clears_the_cookie(db: Db) {
    let app = spawn_app(db).await;
    let token = app.token(ALI).await;
    let me: User = expect_json(app.get("/api/v1/auth/me", &token).await, 200).await;
    assert_eq!((me.id, me.role), (UserId(3), Role::LineCook));
    let by_cookie = app
        .http
        .get(format!("{}/api/v1/auth/me", app.address))
        .header("cookie", format!("miseos_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json::<User>(by_cookie, 200).await.id, UserId(3));
    let logout = app.http.post(format!("{}/api/v1/auth/logout", app.address)).send().await.unwrap();
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.starts_with("miseos_token=;") && cleared.contains("Max-Age=0"), "{cleared}");
}

async fn forged_expired_and_missing_tokens_get_401(db: Db) {
    let app = spawn_app(db).await;
    let token = app.token(GORDON).await;
    let no_token = app.http.get(format!("{}/api/v1/notifications/snapshot", app.address)).send().await.unwrap();
    expect_error(no_token, 401, "unauthorized").await;
    expect_error(app.get("/api/v1/notifications/snapshot", &tampered(&token)).await, 401, "unauthorized").await;
    let expired = app.tokens.sign(&claims(&app.session_of(&token), Role::HeadChef, -10, "miseos"));
    let message = expect_error(app.get("/api/v1/ingredient-requests", &expired).await, 401, "unauthorized").await;
    assert!(message.contains("expired"));
}

async fn an_ingredient_request_round_trips_every_field(db: Db) {
    let app = spawn_app(db).await;
    let cook = app.token(ALI).await;
    let chef = app.token(GORDON).await;
    let body = NewIngredientRequest {
        item_name: "Frisk Dild".into(),
        quantity: app::wire::Quantity(2.0),
        unit: "bunch".into(),
        note: Some("for the gravlax".into()),
    };
    let response = app.post("/api/v1/ingredient-requests", &cook, &body).await;
    assert_eq!(response.status(), 201);
    let raw: serde_json::Value = response.json().await.unwrap();
    // The exact contract shape, including integer quantity and null review fields.
    for field in [
        "id",
        "itemName",
        "quantity",
        "unit",
        "note",
        "status",
        "requestedBy",
        "createdAt",
        "reviewedBy",
        "reviewedAt",
        "reviewNote",
    ] {
        assert!(raw.get(field).is_some(), "missing {field} in {raw}");
    }
    assert_eq!(raw["quantity"], serde_json::json!(2));
    assert_eq!(raw["status"], "PENDING");
    assert_eq!(raw["requestedBy"], serde_json::json!({"id": 3, "firstName": "Ali", "lastName": "Hassan"}));
    assert!(raw["reviewedBy"].is_null() && raw["reviewedAt"].is_null() && raw["reviewNote"].is_null());
    let created_at = raw["createdAt"].as_str().unwrap();
    assert_eq!(created_at.len(), "2026-03-27 10:15".len(), "createdAt {created_at}");
    let id = raw["id"].as_i64().unwrap();

    let fetched: IngredientRequest =
        expect_json(app.get(&format!("/api/v1/ingredient-requests/{id}"), &cook).await, 200).await;
    assert_eq!(fetched.details.item_name, "Frisk Dild");
    // The create answers from its INSERT's RETURNING: the same item a read finds.
    assert_eq!(serde_json::to_value(&fetched).unwrap(), raw);
    let approved: IngredientRequest = expect_json(
        app.post(
            &format!("/api/v1/ingredient-requests/{id}/approve"),
            &chef,
            &ReviewBody { note: Some("Ja tak".into()) },
        )
        .await,
        200,
    )
    .await;
    assert_eq!(approved.status, ReviewStatus::Approved);
    assert_eq!(approved.reviewed_by.as_ref().map(|person| person.id), Some(UserId(1)));
    assert_eq!(approved.review_note.as_deref(), Some("Ja tak"));
    assert!(approved.reviewed_at.is_some());
}

async fn a_dish_suggestion_round_trips_and_is_reviewed(db: Db) {
    let app = spawn_app(db).await;
    let cook = app.token(SARA).await;
    let chef = app.token(MONICA).await;
    let response = app
        .post(
            "/api/v1/dish-suggestions",
            &cook,
            &serde_json::json!({"name": "Stjerneskud", "description": "Rødspætte, rejer, asparges"}),
        )
        .await;
    let raw: serde_json::Value = expect_json(response, 201).await;
    assert_eq!(raw["name"], "Stjerneskud");
    assert_eq!(raw["description"], "Rødspætte, rejer, asparges");
    assert!(raw.get("itemName").is_none() && raw.get("quantity").is_none());
    assert_eq!(raw["requestedBy"]["id"], 4);
    let id = raw["id"].as_i64().unwrap();
    let fetched: DishSuggestion =
        expect_json(app.get(&format!("/api/v1/dish-suggestions/{id}"), &chef).await, 200).await;
    assert_eq!(fetched.status, ReviewStatus::Pending);
    assert_eq!(serde_json::to_value(&fetched).unwrap(), raw);
    // approve/reject take no body at all as well.
    let rejected = app
        .http
        .post(format!("{}/api/v1/dish-suggestions/{id}/reject", app.address))
        .bearer_auth(&chef)
        .send()
        .await
        .unwrap();
    let rejected: DishSuggestion = expect_json(rejected, 200).await;
    assert_eq!(rejected.status, ReviewStatus::Rejected);
    assert_eq!(rejected.review_note, None);
}

async fn staff_see_only_their_own_items_and_admins_see_all_newest_first(db: Db) {
    let app = spawn_app(db).await;
    let (ali, sara, chef) = (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await);
    let first = app.create_request(&ali, "Smør").await;
    let second = app.create_request(&sara, "Rugbrød").await;
    let third = app.create_request(&ali, "Sild").await;
    let all: Vec<IngredientRequest> = expect_json(app.get("/api/v1/ingredient-requests", &chef).await, 200).await;
    assert_eq!(all.iter().map(|item| item.id).collect::<Vec<_>>(), vec![third, second, first]);
    let own: Vec<IngredientRequest> = expect_json(app.get("/api/v1/ingredient-requests", &ali).await, 200).await;
    assert_eq!(own.iter().map(|item| item.id).collect::<Vec<_>>(), vec![third, first]);
    // Someone else's item is exactly like a missing one.
    expect_error(app.get(&format!("/api/v1/ingredient-requests/{second}"), &ali).await, 404, "not_found").await;
    expect_json::<IngredientRequest>(app.get(&format!("/api/v1/ingredient-requests/{second}"), &sara).await, 200).await;
    let suggestion = app.create_suggestion(&sara, "Æbleskiver").await;
    expect_error(app.get(&format!("/api/v1/dish-suggestions/{suggestion}"), &ali).await, 404, "not_found").await;
    let sara_suggestions: Vec<DishSuggestion> =
        expect_json(app.get("/api/v1/dish-suggestions?status=PENDING", &sara).await, 200).await;
    assert_eq!(sara_suggestions.len(), 1);
    let ali_suggestions: Vec<DishSuggestion> = expect_json(app.get("/api/v1/dish-suggestions", &ali).await, 200).await;
    assert!(ali_suggestions.is_empty());
}

async fn status_filter_and_limit_apply(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let ids = [
        app.create_request(&cook, "A").await,
        app.create_request(&cook, "B").await,
        app.create_request(&cook, "C").await,
    ];
    app.post(&format!("/api/v1/ingredient-requests/{}/approve", ids[0]), &chef, &ReviewBody::default()).await;
    let pending: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests?status=PENDING", &chef).await, 200).await;
    assert_eq!(pending.iter().map(|item| item.id).collect::<Vec<_>>(), vec![ids[2], ids[1]]);
    let approved: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests?status=APPROVED", &cook).await, 200).await;
    assert_eq!(approved.iter().map(|item| item.id).collect::<Vec<_>>(), vec![ids[0]]);
    let limited: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests?limit=1", &chef).await, 200).await;
    assert_eq!(limited.len(), 1);
    expect_error(app.get("/api/v1/ingredient-requests?status=DONE", &chef).await, 400, "invalid_field").await;
    expect_error(app.get("/api/v1/ingredient-requests?limit=0", &chef).await, 400, "invalid_field").await;
}

async fn lists_page_with_before_and_filter_by_review_time_and_person(db: Db) {
    let app = spawn_app(db).await;
    let (ali, sara, gordon, monica) =
        (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await, app.token(MONICA).await);
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D", "E"] {
        ids.push(app.create_request(&ali, name).await);
    }
    let saras = app.create_request(&sara, "F").await;
    let ids_of = |items: &[IngredientRequest]| items.iter().map(|item| item.id).collect::<Vec<_>>();

    // Pages of two, each starting before the last id of the one before, until a short page.
    let mut walked = Vec::new();
    let mut before = None::<i64>;
    loop {
        let cursor = before.map(|id| format!("&before={id}")).unwrap_or_default();
        let page: Vec<IngredientRequest> =
            expect_json(app.get(&format!("/api/v1/ingredient-requests?limit=2{cursor}"), &ali).await, 200).await;
        walked.extend(ids_of(&page));
        if page.len() < 2 {
            break;
        }
        before = page.last().map(|item| item.id);
    }
    assert_eq!(walked, ids.iter().rev().copied().collect::<Vec<_>>(), "every one of Ali's, once, newest first");

    // Decisions: Gordon approves A and B, Monica rejects C; then only later ones count.
    let approve = |id: i64| format!("/api/v1/ingredient-requests/{id}/approve");
    let approved: IngredientRequest =
        expect_json(app.post(&approve(ids[0]), &gordon, &ReviewBody::default()).await, 200).await;
    let first_decision = approved.reviewed_at_millis.expect("a review instant");
    assert!(approved.reviewed_at.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second: IngredientRequest =
        expect_json(app.post(&approve(ids[1]), &gordon, &ReviewBody::default()).await, 200).await;
    let since = second.reviewed_at_millis.expect("a review instant");
    assert!(since > first_decision);
    app.post(&format!("/api/v1/ingredient-requests/{}/reject", ids[2]), &monica, &ReviewBody::default()).await;

    let decided_since: Vec<IngredientRequest> =
        expect_json(app.get(&format!("/api/v1/ingredient-requests?reviewedSince={since}"), &gordon).await, 200).await;
    assert_eq!(ids_of(&decided_since), vec![ids[2], ids[1]], "reviewed at or after the instant, pending left out");
    let monicas: Vec<IngredientRequest> = expect_json(
        app.get(&format!("/api/v1/ingredient-requests?person={}", app::demo::DEMO_ACCOUNTS[1].id), &gordon).await,
        200,
    )
    .await;
    assert_eq!(ids_of(&monicas), vec![ids[2]], "Monica (id 2) reviewed only C");
    let saras_by_person: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests?person=4", &gordon).await, 200).await;
    assert_eq!(ids_of(&saras_by_person), vec![saras], "Sara (id 4) asked for F");
    // A cook asking for someone else's items still gets only their own.
    let ali_asks_for_sara: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests?person=4", &ali).await, 200).await;
    assert!(ali_asks_for_sara.is_empty());
    for bad in ["before=x", "reviewedSince=yesterday", "person=1.5"] {
        let field = bad.split('=').next().unwrap();
        let response = app.get(&format!("/api/v1/ingredient-requests?{bad}"), &gordon).await;
        let body: app::wire::ErrorBody = expect_json(response, 400).await;
        assert_eq!((body.error.as_str(), body.field.as_deref()), ("invalid_field", Some(field)));
    }
}

async fn an_invalid_field_names_the_field(db: Db) {
    let app = spawn_app(db).await;
    let cook = app.token(ALI).await;
    let cases = [
        (serde_json::json!({"itemName": " ", "quantity": 1, "unit": "kg"}), "itemName"),
        (serde_json::json!({"itemName": "Dild", "quantity": 0, "unit": "kg"}), "quantity"),
        (serde_json::json!({"itemName": "Dild", "quantity": 1, "unit": ""}), "unit"),
        (serde_json::json!({"itemName": "Dild", "quantity": 1, "unit": "kg", "note": "x".repeat(501)}), "note"),
    ];
    for (body, field) in cases {
        let response = app.post("/api/v1/ingredient-requests", &cook, &body).await;
        let error: app::wire::ErrorBody = expect_json(response, 400).await;
        assert_eq!((error.error.as_str(), error.field.as_deref()), ("invalid_field", Some(field)), "{body}");
    }
    // Other errors name no field.
    let error: app::wire::ErrorBody = expect_json(app.get("/api/v1/ingredient-requests/999", &cook).await, 404).await;
    assert_eq!(error.field, None);
}

async fn only_admins_review_and_the_snapshot_is_theirs(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(MONICA).await);
    let request = app.create_request(&cook, "Kapers").await;
    let suggestion = app.create_suggestion(&cook, "Tarteletter").await;
    for path in [
        format!("/api/v1/ingredient-requests/{request}/approve"),
        format!("/api/v1/ingredient-requests/{request}/reject"),
        format!("/api/v1/dish-suggestions/{suggestion}/approve"),
        format!("/api/v1/dish-suggestions/{suggestion}/reject"),
    ] {
        expect_error(app.post(&path, &cook, &ReviewBody::default()).await, 403, "forbidden").await;
    }
    expect_error(app.get("/api/v1/notifications/snapshot", &cook).await, 403, "forbidden").await;
    let snapshot = app.snapshot(&chef).await;
    assert_eq!(
        snapshot,
        Snapshot {
            pending_dish_suggestions: 1,
            pending_ingredient_requests: 1,
            total_pending: 2,
            seq: 2,
            epoch: app.store.epoch().into()
        }
    );
    let raw: serde_json::Value = expect_json(app.get("/api/v1/notifications/snapshot", &chef).await, 200).await;
    assert_eq!(
        raw,
        serde_json::json!({
            "pendingDishSuggestions": 1, "pendingIngredientRequests": 1, "totalPending": 2, "seq": 2,
            "epoch": app.store.epoch()
        })
    );
}

async fn reviewing_twice_is_409_and_unknown_ids_are_404(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let id = app.create_request(&cook, "Peberrod").await;
    let path = format!("/api/v1/ingredient-requests/{id}/reject");
    expect_json::<IngredientRequest>(app.post(&path, &chef, &ReviewBody::default()).await, 200).await;
    expect_error(app.post(&path, &chef, &ReviewBody::default()).await, 409, "already_reviewed").await;
    expect_error(
        app.post(&format!("/api/v1/ingredient-requests/{id}/approve"), &chef, &ReviewBody::default()).await,
        409,
        "already_reviewed",
    )
    .await;
    expect_error(
        app.post("/api/v1/ingredient-requests/99999/approve", &chef, &ReviewBody::default()).await,
        404,
        "not_found",
    )
    .await;
    expect_error(app.get("/api/v1/ingredient-requests/99999", &chef).await, 404, "not_found").await;
    expect_error(app.get("/api/v1/dish-suggestions/not-a-number", &chef).await, 404, "not_found").await;
    expect_error(app.get("/api/v1/no-such-resource", &chef).await, 404, "not_found").await;
    let wrong_method = app
        .http
        .delete(format!("{}/api/v1/ingredient-requests/{id}", app.address))
        .bearer_auth(&chef)
        .send()
        .await
        .unwrap();
    expect_error(wrong_method, 405, "method_not_allowed").await;
    // The counts moved once.
    assert_eq!(app.snapshot(&chef).await.pending_ingredient_requests, 0);
    assert_eq!(app.snapshot(&chef).await.seq, 2);
}

async fn bad_bodies_get_400_or_413_and_change_nothing(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let raw = |body: &'static str| {
        app.http
            .post(format!("{}/api/v1/ingredient-requests", app.address))
            .bearer_auth(&cook)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    expect_error(raw("{\"itemName\": ").await.unwrap(), 400, "malformed_json").await;
    expect_error(raw("not json").await.unwrap(), 400, "malformed_json").await;
    // Valid JSON that is not an object: serde alone would take an array for the fields in
    // order (found by schemathesis).
    for body in [r#"["Dild", 1, "kg"]"#, "42", "null", r#""Dild""#] {
        let message = expect_error(raw(body).await.unwrap(), 400, "invalid_field").await;
        assert!(message.contains("JSON object"), "{body}: {message}");
    }
    expect_error(raw("[\"Dild\", 1,").await.unwrap(), 400, "malformed_json").await;
    let message =
        expect_error(raw(r#"{"itemName": "Dild", "unit": "bunch"}"#).await.unwrap(), 400, "invalid_field").await;
    assert!(message.contains("quantity"), "{message}");
    expect_error(
        raw(r#"{"itemName": "Dild", "quantity": "two", "unit": "bunch"}"#).await.unwrap(),
        400,
        "invalid_field",
    )
    .await;
    for (body, field) in [
        (r#"{"itemName": "", "quantity": 1, "unit": "kg"}"#, "itemName"),
        (r#"{"itemName": "Dild", "quantity": 0, "unit": "kg"}"#, "quantity"),
        (r#"{"itemName": "Dild", "quantity": -3, "unit": "kg"}"#, "quantity"),
        (r#"{"itemName": "Dild", "quantity": 1, "unit": ""}"#, "unit"),
    ] {
        let message = expect_error(raw(body).await.unwrap(), 400, "invalid_field").await;
        assert!(message.contains(field), "{message}");
    }
    let oversized_name = NewIngredientRequest {
        item_name: "x".repeat(101),
        quantity: app::wire::Quantity(1.0),
        unit: "kg".into(),
        note: None,
    };
    expect_error(app.post("/api/v1/ingredient-requests", &cook, &oversized_name).await, 400, "invalid_field").await;
    let huge = "x".repeat(64 * 1024);
    // The server answers before reading the whole body and then drops that connection, so
    // this request goes on a connection of its own rather than the shared pool's.
    let too_large = reqwest::Client::new()
        .post(format!("{}/api/v1/ingredient-requests", app.address))
        .bearer_auth(&cook)
        .header("content-type", "application/json")
        .body(format!(r#"{{"itemName": "{huge}", "quantity": 1, "unit": "kg"}}"#))
        .send()
        .await
        .unwrap();
    expect_error(too_large, 413, "payload_too_large").await;
    expect_error(
        app.post("/api/v1/dish-suggestions", &cook, &serde_json::json!({"name": "  ", "description": ""})).await,
        400,
        "invalid_field",
    )
    .await;
    let review_note = ReviewBody { note: Some("n".repeat(501)) };
    let id = app.create_request(&cook, "Dild").await;
    expect_error(
        app.post(&format!("/api/v1/ingredient-requests/{id}/approve"), &chef, &review_note).await,
        400,
        "invalid_field",
    )
    .await;
    // Nothing but the one valid create changed state.
    let snapshot = app.snapshot(&chef).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.pending_dish_suggestions, snapshot.seq), (1, 0, 1));
    let items: Vec<IngredientRequest> = expect_json(app.get("/api/v1/ingredient-requests", &chef).await, 200).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, ReviewStatus::Pending);
}

async fn unicode_and_markup_are_stored_unchanged(db: Db) {
    let app = spawn_app(db).await;
    let (cook, chef) = (app.token(ALI).await, app.token(GORDON).await);
    let name = "Rødgrød med fløde æøå ÆØÅ 🍓🔥 <script>alert('x')</script> ' OR 1=1; --";
    let body = NewIngredientRequest {
        item_name: name.into(),
        quantity: app::wire::Quantity(0.5),
        unit: "kg".into(),
        note: Some("  Ærter & \"bønner\"\n<b>nu</b>  ".into()),
    };
    let created: IngredientRequest =
        expect_json(app.post("/api/v1/ingredient-requests", &cook, &body).await, 201).await;
    let fetched: IngredientRequest =
        expect_json(app.get(&format!("/api/v1/ingredient-requests/{}", created.id), &chef).await, 200).await;
    assert_eq!(fetched.details.item_name, name);
    assert_eq!(fetched.details.note, body.note);
    assert_eq!(fetched.details.quantity.0, 0.5);
    let suggestion: DishSuggestion = expect_json(
        app.post(
            "/api/v1/dish-suggestions",
            &cook,
            &serde_json::json!({"name": name, "description": "🦞 <img src=x onerror=alert(1)>"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(suggestion.details.name, name);
    assert_eq!(suggestion.details.description, "🦞 <img src=x onerror=alert(1)>");
}

async fn concurrent_reviews_of_one_item_give_one_200_and_one_409(db: Db) {
    let app = spawn_app(db).await;
    let (cook, gordon, monica) = (app.token(ALI).await, app.token(GORDON).await, app.token(MONICA).await);
    for round in 0..5 {
        let id = app.create_request(&cook, &format!("Citron {round}")).await;
        let approve = format!("/api/v1/ingredient-requests/{id}/approve");
        let reject = format!("/api/v1/ingredient-requests/{id}/reject");
        let no_note = ReviewBody::default();
        let (first, second) = tokio::join!(app.post(&approve, &gordon, &no_note), app.post(&reject, &monica, &no_note));
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}");
    }
    let snapshot = app.snapshot(&gordon).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.seq), (0, 10));
}

async fn fifty_concurrent_creates_all_count(db: Db) {
    let app = spawn_app(db).await;
    let (ali, sara, chef) = (app.token(ALI).await, app.token(SARA).await, app.token(GORDON).await);
    let creates = (0..50).map(|index| {
        let token = if index % 2 == 0 { ali.clone() } else { sara.clone() };
        let app = &app;
        async move {
            if index % 5 == 0 {
                app.create_suggestion(&token, &format!("Ret {index}")).await
            } else {
                app.create_request(&token, &format!("Vare {index}")).await
            }
        }
    });
    let ids: HashSet<i64> = futures::future::join_all(creates).await.into_iter().collect();
    assert!(ids.len() >= 40, "ids are unique per kind");
    let snapshot = app.snapshot(&chef).await;
    assert_eq!(
        snapshot,
        Snapshot {
            pending_dish_suggestions: 10,
            pending_ingredient_requests: 40,
            total_pending: 50,
            seq: 50,
            epoch: app.store.epoch().into()
        }
    );
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes() {
        let Some(value) = ALPHABET.iter().position(|&c| c == byte) else { continue };
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[tokio::test]
async fn a_short_secret_is_refused_and_a_generated_one_survives_restarts() {
    let database = FreshDatabase::create(Db::Sqlite).await;
    let data_dir = std::env::temp_dir().join(format!("miseos-secret-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);

    let mut short = test_config(&database.url);
    short.jwt_secret = Some("too short".into());
    let refused = server::Application::build(short, leptos_options()).await;
    assert!(matches!(refused, Err(server::StartError::Secret(message)) if message.contains("at least 32")));

    let mut generated = test_config(&database.url);
    generated.jwt_secret = None;
    generated.data_dir = data_dir.clone();
    let first =
        server::Application::build(generated.clone(), leptos_options()).await.expect("starts with a generated secret");
    let user = app::wire::User {
        id: UserId(1),
        first_name: "Gordon".into(),
        last_name: "Ramsay".into(),
        email: GORDON.into(),
        role: Role::HeadChef,
        active: true,
        kitchen_id: KitchenId(1),
    };
    let token = first.state().tokens.issue(&user, server::accounts::tokens::new_session_id());
    drop(first);
    let secret = std::fs::read_to_string(data_dir.join("jwt-secret")).expect("the secret is kept");
    assert!(secret.trim().len() >= 32);
    let second = server::Application::build(generated, leptos_options()).await.expect("restarts");
    assert_eq!(
        second.state().tokens.verify(&token).map(|holder| holder.user),
        Ok(UserId(1)),
        "tokens survive a restart"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured() {
    let app = spawn_app_with(Db::Sqlite, |config| config.secure_cookie = Some(true)).await;
    let response = app.login_attempt(GORDON, PASSWORD).await;
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.ends_with("; Secure") && cookie.contains("HttpOnly"), "{cookie}");
    let logout = app.http.post(format!("{}/api/v1/auth/logout", app.address)).send().await.unwrap();
    assert!(logout.headers().get("set-cookie").unwrap().to_str().unwrap().ends_with("Max-Age=0; Secure"));
}

/// `MISEOS_PORT_FILE`: the bound port is written once the server listens, and the file is
/// removed when it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_file_names_the_bound_port_until_shutdown() {
    let port_file = std::env::temp_dir().join(format!("miseos-port-{}", std::process::id()));
    let mut app = spawn_app_with(Db::Sqlite, |config| config.port_file = Some(port_file.clone())).await;
    let written = std::fs::read_to_string(&port_file).expect("the port file exists while serving");
    assert_eq!(written, format!("{}\n", app.port));
    assert_ne!(app.port, 0);
    app.shut_down().await;
    assert!(!port_file.exists(), "the port file is removed on shutdown");
}
