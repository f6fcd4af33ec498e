//! `/ingredient-requests` and `/dish-suggestions`: create, list, read, approve, reject.
//!
//! Both resources share one set of handlers, generic over the store's [`ItemKind`]; what
//! differs (the create body and its validation) is in [`Creatable`].

use super::{AdminUser, ApiError, ApiJson, OptionalJson};
use crate::{
    auth::AuthUser,
    bus::Bus,
    store::{DishSuggestions, IngredientRequests, ItemFilter, ItemKind, Store, StoreError},
    validate, AppState,
};
use app::wire::{Decision, NewDishSuggestion, NewIngredientRequest, Person, ReviewBody, ReviewStatus};
use axum::{
    extract::{rejection::PathRejection, Path, Query, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::future::Future;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(routes::<IngredientRequests>("/ingredient-requests"))
        .merge(routes::<DishSuggestions>("/dish-suggestions"))
}

fn routes<K: Creatable>(base: &str) -> Router<AppState>
where
    K::Item: Serialize,
{
    Router::new()
        .route(base, post(create::<K>).get(list::<K>))
        .route(&format!("{base}/{{id}}"), get(read::<K>))
        .route(&format!("{base}/{{id}}/approve"), post(approve::<K>))
        .route(&format!("{base}/{{id}}/reject"), post(reject::<K>))
}

/// An item kind that can be created through the API.
pub trait Creatable: ItemKind {
    /// The create body.
    type New: DeserializeOwned + Send + 'static;
    /// Checks every field; the message says which one is wrong and why.
    fn validate(new: &Self::New) -> Result<(), String>;
    /// Stores the item in the requester's kitchen in one transaction and hands its event to
    /// the bus.
    fn insert(
        store: &Store,
        kitchen_id: i64,
        requester: &Person,
        new: &Self::New,
        bus: &Bus,
    ) -> impl Future<Output = Result<Self::Item, StoreError>> + Send;
}

impl Creatable for IngredientRequests {
    type New = NewIngredientRequest;

    fn validate(new: &NewIngredientRequest) -> Result<(), String> {
        validate::ingredient_request(new)
    }

    async fn insert(
        store: &Store,
        kitchen_id: i64,
        requester: &Person,
        new: &NewIngredientRequest,
        bus: &Bus,
    ) -> Result<Self::Item, StoreError> {
        store.create_ingredient_request(kitchen_id, requester, new, bus).await
    }
}

impl Creatable for DishSuggestions {
    type New = NewDishSuggestion;

    fn validate(new: &NewDishSuggestion) -> Result<(), String> {
        validate::dish_suggestion(new)
    }

    async fn insert(
        store: &Store,
        kitchen_id: i64,
        requester: &Person,
        new: &NewDishSuggestion,
        bus: &Bus,
    ) -> Result<Self::Item, StoreError> {
        store.create_dish_suggestion(kitchen_id, requester, new, bus).await
    }
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

async fn create<K: Creatable>(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(new): ApiJson<K::New>,
) -> Result<(StatusCode, Json<K::Item>), ApiError>
where
    K::Item: Serialize,
{
    K::validate(&new).map_err(ApiError::InvalidField)?;
    let _admission = state.hub.admit_write().await;
    let item = K::insert(&state.store, caller.kitchen_id, &caller.person(), &new, &state.bus).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

async fn list<K: Creatable>(
    State(state): State<AppState>,
    caller: AuthUser,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<K::Item>>, ApiError>
where
    K::Item: Serialize,
{
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
        requested_by: (!caller.role.is_admin()).then_some(caller.id),
        reviewed_since: whole_number("reviewedSince", query.reviewed_since.as_deref())?,
        person: whole_number("person", query.person.as_deref())?,
        before: whole_number("before", query.before.as_deref())?,
        limit,
    };
    let items = state.store.list::<K>(caller.kitchen_id, filter).await?;
    Ok(Json(items))
}

async fn read<K: Creatable>(
    State(state): State<AppState>,
    caller: AuthUser,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<K::Item>, ApiError>
where
    K::Item: Serialize,
{
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    // Another kitchen's item is not found, and neither is another cook's.
    let item = state.store.get::<K>(caller.kitchen_id, id).await?.ok_or(ApiError::NotFound)?;
    if !caller.role.is_admin() && K::requester(&item).id != caller.id {
        return Err(ApiError::NotFound);
    }
    Ok(Json(item))
}

async fn approve<K: Creatable>(
    state: State<AppState>,
    admin: AdminUser,
    id: Result<Path<i64>, PathRejection>,
    decision: OptionalJson<ReviewBody>,
) -> Result<Json<K::Item>, ApiError>
where
    K::Item: Serialize,
{
    review::<K>(state, admin, id, decision, Decision::Approve).await
}

async fn reject<K: Creatable>(
    state: State<AppState>,
    admin: AdminUser,
    id: Result<Path<i64>, PathRejection>,
    decision: OptionalJson<ReviewBody>,
) -> Result<Json<K::Item>, ApiError>
where
    K::Item: Serialize,
{
    review::<K>(state, admin, id, decision, Decision::Reject).await
}

async fn review<K: Creatable>(
    State(state): State<AppState>,
    AdminUser(reviewer): AdminUser,
    id: Result<Path<i64>, PathRejection>,
    OptionalJson(body): OptionalJson<ReviewBody>,
    decision: Decision,
) -> Result<Json<K::Item>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    let note = validate::review_note(body.note).map_err(ApiError::InvalidField)?;
    let kitchen_id = reviewer.kitchen_id;
    let reviewer = reviewer.person();
    let _admission = state.hub.admit_write().await;
    let item = state.store.review::<K>(kitchen_id, id, &reviewer, decision, note.as_deref(), &state.bus).await?;
    Ok(Json(item))
}
