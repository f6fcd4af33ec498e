//! The one error type of the REST API. Each variant documents its status; the body is always
//! `{"error": "<code>", "message": "<human text>"}`, and internal details are logged, never sent.

use crate::{
    accounts::{throttle::Busy, Refusal},
    event::EndReason,
    store::{StoreError, WriteLimit},
};
use app::wire::ErrorBody;
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

/// A REST failure, as the caller sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON at all.
    #[error("{0}")]
    MalformedJson(String),
    /// 400: a field is missing, of the wrong type, or out of bounds.
    #[error("{0}")]
    InvalidField(String),
    /// 409: a request with this Idempotency-Key is still being handled.
    #[error("a request with this Idempotency-Key is still being handled; try again in a moment")]
    IdempotencyInProgress,
    /// 422: this Idempotency-Key came before with another request.
    #[error("this Idempotency-Key was used for another request; use a new key for a new request")]
    IdempotencyKeyReused,
    /// 400: a push subscription's endpoint or keys are unusable (the contract's `validation`,
    /// API.md section 10).
    #[error("{0}")]
    Validation(String),
    /// 401: no token, or one that does not verify.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 401: wrong email or password (one answer for both).
    #[error("wrong email or password")]
    BadCredentials,
    /// 403: the caller's role may not do this.
    #[error("only head chefs and sous chefs may do this")]
    Forbidden,
    /// 403: only a head chef manages users.
    #[error("only head chefs may manage users")]
    HeadChefOnly,
    /// 403: signed in with a temporary password that must be changed first.
    #[error("change your temporary password first (POST /api/v1/auth/password)")]
    PasswordChangeRequired,
    /// 403: a cookie-authenticated change from a page of another origin.
    #[error("this request must come from the kitchen's own pages")]
    ForbiddenOrigin,
    /// 403: the right password, but the account is disabled.
    #[error("this account has been disabled; ask your head chef")]
    AccountDisabled,
    /// 404: no such item, or not one the caller may see.
    #[error("not found")]
    NotFound,
    /// 404: no route has this path (the API's fallback).
    #[error("no such route")]
    NoSuchRoute,
    /// 405: the path exists, but not with this method.
    #[error("this path does not take that method")]
    MethodNotAllowed,
    /// 409: the item was already approved or rejected.
    #[error("this item has already been reviewed")]
    AlreadyReviewed,
    /// 409: another user has this email (compared without case).
    #[error("another user already has this email")]
    EmailTaken,
    /// 409: the kitchen has as many webhooks as it may.
    #[error("the kitchen has {0} webhooks already; delete one first")]
    WebhookLimit(i64),
    /// 409: the change would leave the kitchen without an active head chef.
    #[error("the last active head chef cannot be disabled or given another role")]
    LastHeadChef,
    /// 429: a write limit (new items per minute, pending items per user).
    #[error("{limit}")]
    TooManyRequests { limit: WriteLimit, retry_after: u64 },
    /// 429: too many sockets opened by one user within a minute.
    #[error("too many notification sockets opened in a minute; try again in {retry_after} s")]
    TooManySocketOpens { retry_after: u64 },
    /// 429: too many failed sign-ins for this account or from this address.
    #[error("too many attempts, try again in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    /// 413: the body is larger than the configured limit.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// 415: a cookie-authenticated change whose body is not declared JSON.
    #[error("send the body as JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 426: a plain request to the WebSocket endpoint.
    #[error("this endpoint speaks WebSocket; send an upgrade request")]
    UpgradeRequired,
    /// 503: the database does not answer or the server is stopping.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// 503: the request took longer than the request timeout.
    #[error("the request took too long; try again")]
    TimedOut,
    /// 503: more sign-ins at once than the password checks can queue.
    #[error("too many sign-ins at once; try again in a second")]
    Busy,
    /// 500: anything else; the cause is logged.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::InvalidField(_) => (StatusCode::BAD_REQUEST, "invalid_field"),
            ApiError::Validation(_) => (StatusCode::BAD_REQUEST, "validation"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::Forbidden | ApiError::HeadChefOnly => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::PasswordChangeRequired => (StatusCode::FORBIDDEN, "password_change_required"),
            ApiError::AccountDisabled => (StatusCode::FORBIDDEN, "account_disabled"),
            ApiError::ForbiddenOrigin => (StatusCode::FORBIDDEN, "forbidden_origin"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::NotFound | ApiError::NoSuchRoute => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::AlreadyReviewed => (StatusCode::CONFLICT, "already_reviewed"),
            ApiError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
            ApiError::LastHeadChef => (StatusCode::CONFLICT, "last_head_chef"),
            ApiError::WebhookLimit(_) => (StatusCode::CONFLICT, "webhook_limit"),
            ApiError::IdempotencyInProgress => (StatusCode::CONFLICT, "idempotency_in_progress"),
            ApiError::IdempotencyKeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            ApiError::TooManyAttempts { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            ApiError::TooManyRequests { .. } | ApiError::TooManySocketOpens { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UpgradeRequired => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            ApiError::Unavailable | ApiError::Busy | ApiError::TimedOut => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let retry_after = match &self {
            ApiError::TooManyAttempts { retry_after }
            | ApiError::TooManyRequests { retry_after, .. }
            | ApiError::TooManySocketOpens { retry_after } => Some(*retry_after),
            ApiError::Busy => Some(1),
            _ => None,
        };
        let field = match &self {
            ApiError::InvalidField(message) | ApiError::Validation(message) => field_at_fault(message),
            _ => None,
        };
        let body = ErrorBody { error: code.to_string(), message: self.to_string(), field };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The field an `invalid_field` message is about: the field rules word theirs as the field's
/// wire name and then "must" or "is" ("itemName must not be empty", "currentPassword is not
/// …"). Other messages (a body that does not parse as the type) name none.
fn field_at_fault(message: &str) -> Option<String> {
    let mut words = message.split_whitespace();
    let (first, verb) = (words.next()?, words.next()?);
    let is_field = first.chars().all(|c| c.is_ascii_alphanumeric()) && matches!(verb, "must" | "is");
    is_field.then(|| first.to_string())
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::AlreadyReviewed => ApiError::AlreadyReviewed,
            StoreError::EmailTaken => ApiError::EmailTaken,
            StoreError::LastHeadChef => ApiError::LastHeadChef,
            StoreError::Invalid(message) => ApiError::InvalidField(message),
            StoreError::TooManyRequests { limit, retry_after } => ApiError::TooManyRequests { limit, retry_after },
            // Only a reset (which ends every session) changes a password under a user.
            StoreError::PasswordChanged => ApiError::Unauthorized(EndReason::Revoked.reason()),
            StoreError::Interrupted => ApiError::Unavailable,
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)) => {
                ApiError::Unavailable
            }
            StoreError::Database(sqlx::Error::Database(error)) if database_unavailable(error.as_ref()) => {
                tracing::warn!(%error, "the database is unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Whether a database error says the database, not the request, is the problem: on
/// PostgreSQL a connection problem (SQLSTATE class 08), an administrator stopping or
/// terminating it (57), a database not accepting connections or a lock not available (55),
/// or a lack of resources such as a full disk (53); on SQLite a busy or locked database, a
/// full disk or an I/O error.
fn database_unavailable(error: &dyn sqlx::error::DatabaseError) -> bool {
    let code = error.code();
    let code = code.as_deref().unwrap_or_default();
    if code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return ["08", "53", "55", "57"].iter().any(|class| code.starts_with(class));
    }
    // SQLite's primary result codes: BUSY 5, LOCKED 6, IOERR 10, FULL 13, CANTOPEN 14.
    let primary = code.parse::<u32>().map(|extended| extended & 0xff);
    matches!(primary, Ok(5 | 6 | 10 | 13 | 14))
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Ended(reason) => ApiError::Unauthorized(reason.reason()),
            Refusal::Unknown => ApiError::Unauthorized("invalid token"),
            Refusal::Store(error) => error.into(),
        }
    }
}

impl From<Busy> for ApiError {
    fn from(_: Busy) -> Self {
        ApiError::Busy
    }
}

#[cfg(test)]
mod tests {
    use super::field_at_fault;

    #[test]
    fn only_a_field_rule_names_a_field() {
        assert_eq!(field_at_fault("itemName must not be empty").as_deref(), Some("itemName"));
        assert_eq!(field_at_fault("currentPassword is not your current password").as_deref(), Some("currentPassword"));
        assert_eq!(field_at_fault("Failed to deserialize query string: invalid digit"), None);
        assert_eq!(field_at_fault("missing field `quantity` at line 1 column 20"), None);
        assert_eq!(field_at_fault("invalid type: string, expected f64"), None);
    }
}
