//! The `Idempotency-Key` header of creates and reviews (API.md section 11): a cook's phone on
//! bad Wi-Fi sends a submission again when its answer never came, and the kitchen gets one
//! item. [`begin`] claims the key before the handler runs, or answers at once: the first
//! request's answer again (with `Idempotent-Replayed: true`), 409 while the first is still
//! being handled, 422 when the key came with another request. The handler passes the claim's
//! key to the store, which records the answer in the change's own transaction; a handler that
//! fails (or is dropped) gives the claim back, so a repeat runs again.

use super::ApiError;
use crate::{
    http::AppState,
    store::{Claimed, IdempotencyKey, Store},
};
use app::wire::UserId;
use axum::{
    extract::FromRequestParts,
    http::{request::Parts, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The header's name.
pub const HEADER: &str = "idempotency-key";

/// Longest key taken, in characters.
const MAX_KEY_CHARS: usize = 64;

/// The key a request came with, if any: 1 to 64 printable ASCII characters, else 400.
pub struct IdempotencyHeader(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(HEADER) else { return Ok(IdempotencyHeader(None)) };
        let bytes = value.as_bytes();
        let printable = bytes.iter().all(|byte| (0x20..=0x7e).contains(byte));
        if bytes.is_empty() || bytes.len() > MAX_KEY_CHARS || !printable {
            return Err(ApiError::InvalidField(format!(
                "Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable ASCII characters"
            )));
        }
        // Printable ASCII is valid UTF-8.
        Ok(IdempotencyHeader(Some(String::from_utf8_lossy(bytes).into_owned())))
    }
}

/// A claimed key, held while its request is handled; given back when dropped unsettled.
pub struct Claim {
    store: Store,
    key: IdempotencyKey,
    settled: bool,
}

impl Claim {
    /// The key, for the store to record the answer under.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    /// Settles the claim by the outcome of its request: kept when the change committed (its
    /// answer is recorded), given back when it failed, before the failure is answered (so a
    /// repeat sent on receiving it runs again).
    pub async fn settle<T, E: std::fmt::Display>(claim: Option<Claim>, outcome: Result<T, E>) -> Result<T, E> {
        let Some(mut claim) = claim else { return outcome };
        claim.settled = true;
        if outcome.is_err() {
            if let Err(error) = claim.store.release_idempotency_key(&claim.key).await {
                tracing::warn!(%error, "cannot give back an idempotency key");
            }
        }
        outcome
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (store, key) = (self.store.clone(), self.key.clone());
        // Dropped inside a request's task, so within the runtime.
        tokio::spawn(async move {
            if let Err(error) = store.release_idempotency_key(&key).await {
                // It is taken over once abandoned (a minute); until then a repeat gets 409.
                tracing::warn!(%error, "cannot give back an idempotency key");
            }
        });
    }
}

/// What [`begin`] decided.
pub enum Begun {
    /// Handle the request, recording its answer under the claim if there is one.
    Run(Option<Claim>),
    /// Answer this, without handling the request again.
    Answer(Response),
}

/// Claims `header`'s key (if any) for `user`'s request (`method`, `path`, the parsed `body`).
pub async fn begin(
    state: &AppState,
    user: UserId,
    header: IdempotencyHeader,
    method: &Method,
    path: &str,
    body: &impl Serialize,
) -> Result<Begun, ApiError> {
    let Some(key) = header.0 else { return Ok(Begun::Run(None)) };
    let key = IdempotencyKey { user, key, fingerprint: fingerprint(method, path, body) };
    match state.store.claim_idempotency_key(&key).await? {
        Claimed::Fresh => Ok(Begun::Run(Some(Claim { store: state.store.clone(), key, settled: false }))),
        Claimed::Answered { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut answer = (status, [("content-type", "application/json")], body).into_response();
            answer.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Begun::Answer(answer))
        }
        Claimed::InProgress => Err(ApiError::IdempotencyInProgress),
        Claimed::Reused => Err(ApiError::IdempotencyKeyReused),
    }
}

/// What makes two requests the same: method, path and the body as parsed (so spacing and the
/// order of fields do not count), hashed.
fn fingerprint(method: &Method, path: &str, body: &impl Serialize) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_str());
    hash.update(b"\n");
    hash.update(path);
    hash.update(b"\n");
    // The wire types serialize to JSON whatever they hold.
    hash.update(serde_json::to_vec(body).expect("request bodies serialize"));
    hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_has_the_same_fingerprint_and_another_does_not() {
        let body = serde_json::json!({ "itemName": "Dild", "quantity": 2 });
        let same = serde_json::from_str::<serde_json::Value>(r#"{ "quantity": 2,   "itemName": "Dild" }"#).unwrap();
        let path = "/api/v1/ingredient-requests";
        assert_eq!(fingerprint(&Method::POST, path, &body), fingerprint(&Method::POST, path, &same));
        let other = serde_json::json!({ "itemName": "Dild", "quantity": 3 });
        assert_ne!(fingerprint(&Method::POST, path, &body), fingerprint(&Method::POST, path, &other));
        assert_ne!(
            fingerprint(&Method::POST, path, &body),
            fingerprint(&Method::POST, "/api/v1/dish-suggestions", &body)
        );
    }
}
