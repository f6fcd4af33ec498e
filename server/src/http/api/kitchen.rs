//! `/kitchen`: the caller's kitchen and its settings (API.md section 12). Anyone of the kitchen
//! reads them; its head chefs change them, and every open page of the kitchen hears the new
//! settings at once (`KITCHEN_UPDATED`).

use super::{
    docs::{answer, endpoint, Access, Endpoint},
    ApiError, ApiJson, ApiRoute,
};
use crate::{
    accounts::Caller,
    http::{caller::HeadChef, AppState},
};
use app::wire::{KitchenChanges, KitchenSettings};
use axum::{extract::State, http::Method, Json};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::new(
            Endpoint {
                answer: answer(200, "The kitchen: its name, time zone and settings", Some("KitchenSettings")),
                ..endpoint(Method::GET, "/kitchen", "kitchen", "The caller's kitchen", Access::SignedIn, None)
            },
            read,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(
                    200,
                    "Changed; every open page of the kitchen is told over the socket",
                    Some("KitchenSettings"),
                ),
                errors: vec![(400, "invalid_field: the field and its rule (red at least amber)")],
                ..endpoint(
                    Method::PATCH,
                    "/kitchen",
                    "kitchen",
                    "Change the kitchen's name, time zone or settings",
                    Access::HeadChefs,
                    Some("KitchenChanges"),
                )
            },
            change,
        ),
    ]
}

async fn read(State(state): State<AppState>, caller: Caller) -> Result<Json<KitchenSettings>, ApiError> {
    Ok(Json(state.store.kitchen_settings(caller.kitchen).await?))
}

async fn change(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    ApiJson(changes): ApiJson<KitchenChanges>,
) -> Result<Json<KitchenSettings>, ApiError> {
    Ok(Json(state.store.change_kitchen(chef.kitchen, &changes).await?))
}
