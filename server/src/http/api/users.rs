//! `/users`: the head chef's brigade, of their own kitchen only. List, add (with a temporary
//! password shown once), edit names, role and active flag, and reset a password. Another
//! kitchen's user is not found. Every change that must end a
//! user's sessions ends them here at once, and everywhere else through the bus.

use super::{ApiError, ApiJson, HeadChef};
use crate::{
    auth,
    store::{EndReason, NewAccount, SessionsToEnd},
    validate, AppState,
};
use app::wire::{CreatedUser, NewUser, TemporaryPassword, User, UserChanges};
use axum::{
    extract::{rejection::PathRejection, Path, State},
    http::StatusCode,
    routing::{get, patch, post},
    Json, Router,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", patch(update))
        .route("/users/{id}/reset-password", post(reset_password))
}

async fn list(State(state): State<AppState>, HeadChef(chef): HeadChef) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(state.store.users(chef.kitchen_id).await?))
}

async fn create(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    validate::new_user(&new).map_err(ApiError::InvalidField)?;
    let (temporary_password, password_hash) = temporary_password(&state).await?;
    let account = NewAccount {
        kitchen_id: chef.kitchen_id,
        email: new.email,
        first_name: new.first_name,
        last_name: new.last_name,
        role: new.role,
        password_hash,
        must_change_password: true,
    };
    let user = state.store.create_user(&account).await?;
    tracing::info!(by = chef.id, user = user.id, role = user.role.as_str(), "user added");
    Ok((StatusCode::CREATED, Json(CreatedUser { user, temporary_password })))
}

async fn update(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    id: Result<Path<i64>, PathRejection>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> Result<Json<User>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    validate::user_changes(&changes).map_err(ApiError::InvalidField)?;
    user_of_kitchen(&state, id, chef.kitchen_id).await?;
    let changed = state.store.update_user(id, &changes, &state.bus).await?;
    state.sessions.ended_here(&changed.ended);
    tracing::info!(by = chef.id, user = id, ?changes, sessions_ended = changed.ended.len(), "user changed");
    Ok(Json(changed.user))
}

async fn reset_password(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<TemporaryPassword>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    user_of_kitchen(&state, id, chef.kitchen_id).await?;
    let (temporary_password, password_hash) = temporary_password(&state).await?;
    let everywhere = SessionsToEnd::All(EndReason::Revoked);
    let ended = state.store.set_password(id, &password_hash, true, None, everywhere, &state.bus).await?;
    state.sessions.ended_here(&ended);
    tracing::info!(by = chef.id, user = id, sessions_ended = ended.len(), "password reset");
    Ok(Json(TemporaryPassword { temporary_password }))
}

/// The user with this id, if they belong to this kitchen (users never change kitchens, so
/// the answer holds for the change that follows); else not found.
async fn user_of_kitchen(state: &AppState, id: i64, kitchen_id: i64) -> Result<User, ApiError> {
    state.store.user(id).await?.filter(|user| user.kitchen_id == kitchen_id).ok_or(ApiError::NotFound)
}

/// A fresh temporary password and its hash (hashed under the password-check cap).
async fn temporary_password(state: &AppState) -> Result<(String, String), ApiError> {
    let password = auth::temporary_password();
    let to_hash = password.clone();
    let hash = state.password_checks.run(move || auth::hash_password(&to_hash)).await?;
    Ok((password, hash))
}
