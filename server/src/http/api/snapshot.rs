//! `GET /notifications/snapshot`: the dashboard badges, read from the kitchen's counter row.

use super::{AdminUser, ApiError};
use crate::AppState;
use app::wire::Snapshot;
use axum::{extract::State, routing::get, Json, Router};

pub fn router() -> Router<AppState> {
    Router::new().route("/notifications/snapshot", get(snapshot))
}

async fn snapshot(State(state): State<AppState>, AdminUser(admin): AdminUser) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(state.store.pending_counts(admin.kitchen_id).await?.snapshot(state.store.epoch())))
}
