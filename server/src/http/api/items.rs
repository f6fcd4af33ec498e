//! `/ingredient-requests` and `/dish-suggestions`: create, list, read, approve, reject.
//!
//! Every kind of item has the same five operations, routed and described once here, generic
//! over the store's [`ItemKind`]; what differs between kinds (the create body, its rules, the
//! table) is the kind's `impl ItemKind`.

use super::{
    docs::{answer, capitalized, endpoint, list_of, Access, Endpoint},
    idempotency::{self, Begun, Claim, IdempotencyHeader},
    ApiError, ApiJson, ApiRoute, OptionalJson,
};
use crate::{
    accounts::Caller,
    http::{caller::Admin, AppState},
    store::{ItemFilter, ItemKind},
    validate,
};
use app::wire::{Decision, DishDetails, IngredientDetails, Item, ReviewBody, ReviewStatus, UserId};
use axum::{
    extract::{rejection::PathRejection, OriginalUri, Path, Query, State},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

pub fn routes() -> Vec<ApiRoute> {
    [kind_routes::<IngredientDetails>(), kind_routes::<DishDetails>()].into_iter().flatten().collect()
}

/// The five operations of one kind of item.
fn kind_routes<K: ItemKind + utoipa::ToSchema>() -> Vec<ApiRoute> {
    let category = K::CATEGORY;
    let base = format!("/{}", category.resource());
    let one = format!("{base}/{{id}}");
    let (noun, item) = (category.noun(), category.item_schema());
    let tag = "items";
    let reviewed = |decision: Decision| Endpoint {
        answer: answer(200, "Reviewed; the requester is told over the socket", Some(item)),
        errors: vec![(404, "not_found"), (409, "already_reviewed")],
        idempotent: true,
        ..endpoint(
            Method::POST,
            format!("{one}/{}", decision.action()),
            tag,
            format!("{} a pending {noun}", capitalized(decision.action())),
            Access::Admins,
            Some("ReviewBody"),
        )
    };
    vec![
        ApiRoute::new(
            Endpoint {
                answer: answer(201, "Created, PENDING; every admin is told over the socket", Some(item)),
                errors: vec![(429, "too_many_requests: over the per-user limits (with Retry-After)")],
                idempotent: true,
                // The create body is the kind's details.
                body: Some(<K as utoipa::ToSchema>::name()),
                ..endpoint(Method::POST, base.clone(), tag, format!("Create a {noun}"), Access::SignedIn, None)
            },
            create::<K>,
        ),
        ApiRoute::new(
            Endpoint {
                query: &[
                    ("status", "PENDING, APPROVED or REJECTED"),
                    ("limit", "at most this many, 1 to 1000 (default 500); cooks always see only their own"),
                    ("before", "only items with a smaller id: the next page starts before the last id of this one"),
                    ("reviewedSince", "only items reviewed at or after this instant (Unix milliseconds)"),
                    ("person", "only items this user (id) asked for or reviewed"),
                ],
                answer: list_of(item),
                ..endpoint(
                    Method::GET,
                    base,
                    tag,
                    format!("List {noun}s (admins: all; cooks: their own)"),
                    Access::SignedIn,
                    None,
                )
            },
            list::<K>,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(200, "The item", Some(item)),
                errors: vec![(404, "not_found")],
                ..endpoint(
                    Method::GET,
                    one.clone(),
                    tag,
                    format!("Read one {noun} (cooks: their own only)"),
                    Access::SignedIn,
                    None,
                )
            },
            read::<K>,
        ),
        ApiRoute::new(reviewed(Decision::Approve), review::<K, true>),
        ApiRoute::new(reviewed(Decision::Reject), review::<K, false>),
    ]
}

/// Longest list returned when the caller names no limit, and the most one may ask for.
pub const DEFAULT_LIST_LIMIT: i64 = 500;
const MAX_LIST_LIMIT: i64 = 1000;

/// The query string of a list call.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    before: Option<String>,
    reviewed_since: Option<String>,
    person: Option<String>,
}

/// A whole-number query parameter, if given: `name` names it in the error.
fn whole_number(name: &str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    match text {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::InvalidField(format!("{name} must be a whole number, not {text:?}"))),
    }
}

async fn create<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    key: IdempotencyHeader,
    OriginalUri(uri): OriginalUri,
    ApiJson(details): ApiJson<K>,
) -> Result<Response, ApiError> {
    details.validate().map_err(ApiError::InvalidField)?;
    let claim = match idempotency::begin(&state, caller.user, key, &Method::POST, uri.path(), &details).await? {
        Begun::Answer(answer) => return Ok(answer),
        Begun::Run(claim) => claim,
    };
    let _admission = state.hub.admit_write().await;
    let answering = claim.as_ref().map(Claim::key);
    let created = state.store.create::<K>(caller.kitchen, &caller.person(), &details, answering).await;
    let item = Claim::settle(claim, created).await?;
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

async fn list<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Item<K>>>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::InvalidField(rejection.body_text()))?;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(name) => Some(ReviewStatus::parse(name).ok_or_else(|| {
            ApiError::InvalidField(format!("status must be PENDING, APPROVED or REJECTED, not {name:?}"))
        })?),
    };
    let out_of_range = || ApiError::InvalidField(format!("limit must be a whole number from 1 to {MAX_LIST_LIMIT}"));
    let limit = match whole_number("limit", query.limit.as_deref()).map_err(|_| out_of_range())? {
        None => DEFAULT_LIST_LIMIT,
        Some(limit) if (1..=MAX_LIST_LIMIT).contains(&limit) => limit,
        Some(_) => return Err(out_of_range()),
    };
    let filter = ItemFilter {
        status,
        // Admins see every item of their kitchen; staff see their own, whatever else they ask for.
        requested_by: (!caller.is_admin()).then_some(caller.user),
        reviewed_since: whole_number("reviewedSince", query.reviewed_since.as_deref())?,
        person: whole_number("person", query.person.as_deref())?.map(UserId),
        before: whole_number("before", query.before.as_deref())?,
        limit,
    };
    Ok(Json(state.store.list::<K>(caller.kitchen, filter).await?))
}

async fn read<K: ItemKind>(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Item<K>>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    // Another kitchen's item is not found, and neither is another cook's.
    let item = state.store.get::<K>(caller.kitchen, id).await?.ok_or(ApiError::NotFound)?;
    if !caller.is_admin() && item.requested_by.id != caller.user {
        return Err(ApiError::NotFound);
    }
    Ok(Json(item))
}

/// Approves (`APPROVE`) or rejects a pending item.
async fn review<K: ItemKind, const APPROVE: bool>(
    State(state): State<AppState>,
    Admin(reviewer): Admin,
    id: Result<Path<i64>, PathRejection>,
    key: IdempotencyHeader,
    OriginalUri(uri): OriginalUri,
    OptionalJson(body): OptionalJson<ReviewBody>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    let decision = if APPROVE { Decision::Approve } else { Decision::Reject };
    let note = validate::review_note(body.note.clone()).map_err(ApiError::InvalidField)?;
    let claim = match idempotency::begin(&state, reviewer.user, key, &Method::POST, uri.path(), &body).await? {
        Begun::Answer(answer) => return Ok(answer),
        Begun::Run(claim) => claim,
    };
    let _admission = state.hub.admit_write().await;
    let answering = claim.as_ref().map(Claim::key);
    let reviewed =
        state.store.review::<K>(reviewer.kitchen, id, &reviewer.person(), decision, note.as_deref(), answering).await;
    let item = Claim::settle(claim, reviewed).await?;
    Ok(Json(item).into_response())
}
