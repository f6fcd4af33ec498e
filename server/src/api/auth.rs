//! `/auth/login`, `/auth/logout`, `/auth/me`.

use super::{ApiError, ApiJson};
use crate::{auth, auth::AuthUser, AppState};
use app::wire::{LoginRequest, LoginResponse, User, TOKEN_COOKIE};
use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/auth/login", post(login)).route("/auth/logout", post(logout)).route("/auth/me", get(me))
}

/// Longest accepted email or password; anything longer cannot be a real one.
const MAX_CREDENTIAL_CHARS: usize = 256;

async fn login(
    State(state): State<AppState>,
    ApiJson(credentials): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if credentials.email.chars().count() > MAX_CREDENTIAL_CHARS
        || credentials.password.chars().count() > MAX_CREDENTIAL_CHARS
    {
        return Err(ApiError::BadCredentials);
    }
    let stored = state.store.credentials(&credentials.email).await?;
    // An unknown email still costs one hash verification, so timing does not tell which
    // emails exist.
    let (user, hash) = match stored {
        Some(stored) => (Some(stored.user), stored.password_hash),
        None => (None, state.decoy_password_hash.to_string()),
    };
    let password = credentials.password;
    let matches = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let user = user.filter(|_| matches).ok_or(ApiError::BadCredentials)?;
    let token = state.tokens.issue(&user);
    let cookie = session_cookie(&state, &token, state.config.token_ttl().as_secs());
    Ok(with_cookie(cookie, Json(LoginResponse { token, user })))
}

async fn logout(State(state): State<AppState>) -> Response {
    with_cookie(session_cookie(&state, "", 0), StatusCode::NO_CONTENT)
}

/// The `miseos_token` cookie holding `token` for `max_age` seconds (0 clears it).
fn session_cookie(state: &AppState, token: &str, max_age: u64) -> String {
    let secure = if state.config.secure_cookie { "; Secure" } else { "" };
    format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

async fn me(State(state): State<AppState>, caller: AuthUser) -> Result<Json<User>, ApiError> {
    // A token can outlive its user; then it no longer identifies anyone.
    let user = state.store.user(caller.id).await?.ok_or(ApiError::Unauthorized("unknown user"))?;
    Ok(Json(user))
}

fn with_cookie(cookie: String, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    // The cookie holds a JWT (base64url and dots) and fixed attributes: always a valid header.
    let value = HeaderValue::from_str(&cookie).expect("cookie text is a valid header value");
    response.headers_mut().insert(header::SET_COOKIE, value);
    response
}
