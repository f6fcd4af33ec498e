//! The REST API under `/api/v1`: one module per resource (auth, users, items, snapshot, push,
//! the notification socket's upgrade), each listing its routes as [`ApiRoute`]s: the handler and
//! the operation's description side by side, from which both the router and the OpenAPI
//! document ([`docs`]) are built.

mod auth;
pub mod body;
mod docs;
mod idempotency;
mod items;
mod kitchen;
mod push;
mod reviews;
mod snapshot;
mod socket;
mod upgrade;
mod users;
mod webhooks;

pub use body::{ApiJson, OptionalJson};
pub use docs::{docs_page, openapi, openapi_json};
pub use items::DEFAULT_LIST_LIMIT;

use super::{error::ApiError, AppState};
use axum::{
    handler::Handler,
    routing::{on, MethodFilter, MethodRouter},
    Router,
};
use docs::Endpoint;

/// One operation: its description and the handler that serves it, on the method it names.
pub struct ApiRoute {
    endpoint: Endpoint,
    handler: MethodRouter<AppState>,
}

impl ApiRoute {
    /// Serves `endpoint`'s method and path with `handler`.
    pub fn new<H, T>(endpoint: Endpoint, handler: H) -> ApiRoute
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        // Every method the API uses is a standard one.
        let filter = MethodFilter::try_from(endpoint.method.clone()).expect("a standard HTTP method");
        ApiRoute { handler: on(filter, handler), endpoint }
    }
}

/// Every operation under `/api/v1`.
fn routes() -> Vec<ApiRoute> {
    [
        auth::routes(),
        snapshot::routes(),
        socket::routes(),
        users::routes(),
        items::routes(),
        reviews::routes(),
        kitchen::routes(),
        push::routes(),
        webhooks::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every operation's description, in the order the document lists them.
fn endpoints() -> Vec<Endpoint> {
    routes().into_iter().map(|route| route.endpoint).collect()
}

/// Every `/api/v1` route; the caller nests it.
pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| router.route(&route.endpoint.path, route.handler))
        .fallback(|| async { ApiError::NoSuchRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
