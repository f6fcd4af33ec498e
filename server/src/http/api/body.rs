//! What a caller sent: JSON bodies (`ApiJson`, `OptionalJson`), each failing with the
//! contract's JSON error. (Who is calling: `crate::http::caller`.)

use super::ApiError;
use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

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

/// Parses a JSON body with the contract's 400 answers. Every body is a JSON object: serde
/// would otherwise take an array for the fields in order (`["Dild", 1, "kg"]` for an
/// ingredient request), which no client means and the document does not allow.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Ok(_) => ApiError::InvalidField("the body must be a JSON object".into()),
            Err(error) => ApiError::MalformedJson(format!("the body is not valid JSON: {error}")),
        });
    }
    serde_json::from_slice(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ApiError::InvalidField(error.to_string()),
        _ => ApiError::MalformedJson(format!("the body is not valid JSON: {error}")),
    })
}
