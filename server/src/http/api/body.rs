//! Extractors: who is calling (`AuthUser`, `AdminUser`, `HeadChef`) and what they sent
//! (`ApiJson`, `OptionalJson`), each failing with the contract's JSON error.

use super::ApiError;
use crate::{
    auth::{bearer_token, cookie_token, AuthUser},
    AppState,
};
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{request::Parts, HeaderMap, Method, StatusCode},
};
use serde::de::DeserializeOwned;

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token =
            request_token(&parts.method, &parts.headers, state)?.ok_or(ApiError::Unauthorized("missing token"))?;
        let user = state.tokens.verify(token).map_err(|error| ApiError::Unauthorized(error.reason()))?;
        let standing = state.sessions.check(&user).await?;
        crate::telemetry::record_user(user.id);
        if standing.must_change_password && !allowed_before_password_change(parts.uri.path()) {
            return Err(ApiError::PasswordChangeRequired);
        }
        Ok(user)
    }
}

/// The token a REST request carries, if any: the Bearer header, which wins, or the session
/// cookie, whose state changes must come from an allowed page as JSON (section 8).
pub(super) fn request_token<'a>(
    method: &Method,
    headers: &'a HeaderMap,
    state: &AppState,
) -> Result<Option<&'a str>, ApiError> {
    if let Some(token) = bearer_token(headers) {
        return Ok(Some(token));
    }
    let token = cookie_token(headers);
    if token.is_some() {
        crate::edge::check_cookie_request(method, headers, &state.config.allowed_origins)?;
    }
    Ok(token)
}

/// The routes a user with a temporary password may use before changing it. (Paths as the
/// nested `/api/v1` router sees them.)
fn allowed_before_password_change(path: &str) -> bool {
    matches!(path.strip_prefix("/api/v1").unwrap_or(path), "/auth/password" | "/auth/me" | "/auth/logout")
}

/// A caller who is a head chef; anyone else gets 403 before the body is read.
pub struct HeadChef(pub AuthUser);

impl FromRequestParts<AppState> for HeadChef {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.role == app::wire::Role::HeadChef {
            Ok(HeadChef(user))
        } else {
            Err(ApiError::HeadChefOnly)
        }
    }
}

/// A caller who is a head chef or sous chef; anyone else gets 403 before the body is read.
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.role.is_admin() {
            Ok(AdminUser(user))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// A JSON body. Accepted whatever the Content-Type says (curl's `-d` sends a form type),
/// limited in size by the router's body limit (413), and parsed with clear 400 messages.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let body = read_body(request, state).await?;
        parse_json(&body).map(ApiJson)
    }
}

/// Like [`ApiJson`], but an empty body means `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let body = read_body(request, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&body).map(OptionalJson)
    }
}

async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::MalformedJson(format!("cannot read the request body: {}", rejection.body_text()))
        }
    })
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ApiError::InvalidField(error.to_string()),
        _ => ApiError::MalformedJson(format!("the body is not valid JSON: {error}")),
    })
}
