//! `/users`: the head chef's brigade, of their own kitchen only. List, add (with a temporary
//! password shown once), edit names, role and active flag, and reset a password. Another
//! kitchen's user is not found. A change that ends a user's sessions is announced by the
//! store, and reaches every process's cache and sockets through the live road.

use super::{
    docs::{answer, endpoint, list_of, Access, Endpoint},
    ApiError, ApiJson, ApiRoute,
};
use crate::{
    accounts::{hash_password, temporary_password},
    event::EndReason,
    http::{caller::HeadChef, AppState},
    store::{NewAccount, SessionsToEnd},
    validate,
};
use app::wire::{CreatedUser, KitchenId, NewUser, TemporaryPassword, User, UserChanges, UserId};
use axum::{
    extract::{rejection::PathRejection, Path, State},
    http::{Method, StatusCode},
    Json,
};

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::new(
            Endpoint {
                answer: list_of("User"),
                ..endpoint(Method::GET, "/users", "users", "The brigade", Access::HeadChefs, None)
            },
            list,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(201, "Added; the temporary password is shown this once", Some("CreatedUser")),
                errors: vec![(409, "email_taken")],
                ..endpoint(Method::POST, "/users", "users", "Add a person", Access::HeadChefs, Some("NewUser"))
            },
            create,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(200, "Changed; a new role or disabling ends the person's sessions", Some("User")),
                errors: vec![(404, "not_found"), (409, "email_taken, last_head_chef")],
                ..endpoint(
                    Method::PATCH,
                    "/users/{id}",
                    "users",
                    "Change a person",
                    Access::HeadChefs,
                    Some("UserChanges"),
                )
            },
            update,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(
                    200,
                    "A new temporary password, shown this once; the person's sessions ended",
                    Some("TemporaryPassword"),
                ),
                errors: vec![(404, "not_found")],
                ..endpoint(
                    Method::POST,
                    "/users/{id}/reset-password",
                    "users",
                    "Reset a password",
                    Access::HeadChefs,
                    None,
                )
            },
            reset_password,
        ),
    ]
}

async fn list(State(state): State<AppState>, HeadChef(chef): HeadChef) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(state.store.users(chef.kitchen).await?))
}

async fn create(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    ApiJson(new): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    validate::new_user(&new).map_err(ApiError::InvalidField)?;
    let (temporary_password, password_hash) = new_temporary_password(&state).await?;
    let account = NewAccount {
        kitchen_id: chef.kitchen,
        email: new.email,
        first_name: new.first_name,
        last_name: new.last_name,
        role: new.role,
        password_hash,
        must_change_password: true,
    };
    let user = state.store.create_user(&account).await?;
    tracing::info!(by = %chef.user, user = %user.id, role = user.role.as_str(), "user added");
    Ok((StatusCode::CREATED, Json(CreatedUser { user, temporary_password })))
}

async fn update(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    id: Result<Path<UserId>, PathRejection>,
    ApiJson(changes): ApiJson<UserChanges>,
) -> Result<Json<User>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    validate::user_changes(&changes).map_err(ApiError::InvalidField)?;
    user_of_kitchen(&state, id, chef.kitchen).await?;
    let changed = state.store.update_user(id, &changes).await?;
    tracing::info!(by = %chef.user, user = %id, ?changes, sessions_ended = changed.sessions_ended, "user changed");
    Ok(Json(changed.user))
}

async fn reset_password(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    id: Result<Path<UserId>, PathRejection>,
) -> Result<Json<TemporaryPassword>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    user_of_kitchen(&state, id, chef.kitchen).await?;
    let (temporary_password, password_hash) = new_temporary_password(&state).await?;
    let everywhere = SessionsToEnd::All(EndReason::Revoked);
    let sessions_ended = state.store.set_password(id, &password_hash, true, None, everywhere).await?;
    tracing::info!(by = %chef.user, user = %id, sessions_ended, "password reset");
    Ok(Json(TemporaryPassword { temporary_password }))
}

/// The user with this id, if they belong to this kitchen (users never change kitchens, so
/// the answer holds for the change that follows); else not found.
async fn user_of_kitchen(state: &AppState, id: UserId, kitchen_id: KitchenId) -> Result<User, ApiError> {
    state.store.user(id).await?.filter(|user| user.kitchen_id == kitchen_id).ok_or(ApiError::NotFound)
}

/// A fresh temporary password and its hash (hashed under the password-check cap).
async fn new_temporary_password(state: &AppState) -> Result<(String, String), ApiError> {
    let password = temporary_password();
    let to_hash = password.clone();
    let hash = state.password_checks.run(move || hash_password(&to_hash)).await?;
    Ok((password, hash))
}
