//! The HTTP surface under `/api/v1`: one module per resource (items, users, auth, snapshot), one error type, the extractors
//! that authenticate callers and parse bodies into clear 400/401/403/413 answers, and
//! (`socket`) the upgrade of the notification socket, which hands it to the hub.

mod auth;
mod docs;
mod error;
mod extract;
mod items;
mod snapshot;
mod socket;
mod upgrade;
mod users;

pub use docs::{docs_page, documented_operations, openapi, openapi_json};
pub use error::ApiError;
pub use extract::{AdminUser, ApiJson, HeadChef, OptionalJson};
pub use items::DEFAULT_LIST_LIMIT;

use crate::AppState;
use axum::{routing::get, Router};

/// Every `/api/v1` route; the caller nests it.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(items::router())
        .merge(snapshot::router())
        .merge(users::router())
        .route("/notifications", get(socket::notifications))
        .fallback(|| async { ApiError::NoSuchRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
