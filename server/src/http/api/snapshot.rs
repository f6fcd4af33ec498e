//! `GET /notifications/snapshot`: the dashboard badges, read from the kitchen's counter row.

use super::{
    docs::{answer, endpoint, Access, Endpoint},
    ApiError, ApiRoute,
};
use crate::http::{caller::Admin, AppState};
use app::wire::Snapshot;
use axum::{extract::State, http::Method, Json};

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::new(
        Endpoint {
            answer: answer(200, "The pending counts and the current seq and epoch", Some("Snapshot")),
            ..endpoint(
                Method::GET,
                "/notifications/snapshot",
                "notifications",
                "The dashboard badges",
                Access::Admins,
                None,
            )
        },
        snapshot,
    )]
}

async fn snapshot(State(state): State<AppState>, Admin(admin): Admin) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(state.store.pending_counts(admin.kitchen).await?.snapshot(state.store.epoch())))
}
