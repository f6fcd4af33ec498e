//! The door: everything that speaks HTTP. [`serve`] accepts connections under the limits of
//! section 8; [`edge`] sets the headers, the cookie rule, the request timeout and the panic
//! guard; [`caller`] admits callers (the one way for REST, the socket upgrade and the pages);
//! [`api`] is the REST API and the socket's upgrade; [`pages`] feeds the Leptos pages;
//! [`telemetry`] logs and counts requests and serves `/metrics`. [`router`] puts them together.

pub mod api;
pub mod caller;
pub mod edge;
pub mod error;
pub mod forwarded;
pub mod pages;
pub mod serve;
pub mod telemetry;

pub use error::ApiError;

use crate::{
    accounts::{throttle, Sessions, TokenKeys},
    config::Config,
    live::{bus::Bus, hub::Hub},
    metrics::Metrics,
    outbound::OutboundRules,
    store::Store,
};
use app::data::PageData;
use axum::{
    extract::{DefaultBodyLimit, FromRef, State},
    handler::Handler,
    http::StatusCode,
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{ops::Deref, sync::Arc};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<AppContext>);

/// The shared parts of the running application.
pub struct AppContext {
    pub config: Config,
    pub store: Store,
    pub bus: Bus,
    pub hub: Hub,
    /// Every socket's tasks, from its upgrade on: stopping waits for the last one.
    pub sockets: tokio_util::task::TaskTracker,
    pub sessions: Sessions,
    pub password_checks: throttle::PasswordChecks,
    pub sign_ins_in_flight: throttle::InFlight,
    /// Sign-in attempts per client, before the database is asked.
    pub sign_in_attempts: throttle::AttemptLimiter<std::net::IpAddr>,
    /// Socket opens per user (`MISEOS_MAX_SOCKET_OPENS_PER_MINUTE`), before anything is written.
    pub socket_opens: throttle::AttemptLimiter<app::wire::UserId>,
    pub tokens: TokenKeys,
    /// Which URLs push subscriptions may name (`MISEOS_PUSH_EXTRA_ORIGINS`).
    pub outbound: OutboundRules,
    /// Which URLs webhooks may name (`MISEOS_WEBHOOK_EXTRA_ORIGINS`).
    pub webhook_rules: OutboundRules,
    /// Seals the webhooks' secrets for the database.
    pub webhook_sealer: crate::outbound::SecretSealer,
    /// Set when stopping begins: `/readyz` answers 503 from then on.
    pub draining: std::sync::atomic::AtomicBool,
    /// A real Argon2id hash checked when an email is unknown, so sign-in takes as long
    /// for unknown emails as for wrong passwords.
    pub decoy_password_hash: String,
    pub leptos_options: LeptosOptions,
    pub metrics: Arc<Metrics>,
}

impl Deref for AppState {
    type Target = AppContext;
    fn deref(&self) -> &AppContext {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

/// The whole HTTP surface: `/api/v1`, the health checks, the pages and their assets.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let leptos_options = state.leptos_options.clone();
    let page_data: Arc<dyn PageData> = Arc::new(pages::StorePageData { state: state.clone() });
    let api = api::router().layer(edge::api_headers());
    let api = match state.config.request_timeout() {
        Some(timeout) => api.layer(edge::request_timeout(timeout)),
        None => api,
    };
    let router = Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
        .route("/readyz", get(readiness))
        .route("/api/openapi.json", get(api::openapi_json))
        .route("/api/docs", get(api::docs_page));
    let router =
        if state.config.metrics_port.is_none() { router.route("/metrics", get(telemetry::metrics)) } else { router };
    let router = router
        .leptos_routes_with_context(
            &state,
            routes,
            move || leptos::prelude::provide_context(page_data.clone()),
            move || app::shell(leptos_options.clone()),
        )
        // Only the files (and 404s) go through the fallback, so only they pay for the cache rule.
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell).layer(
            axum::middleware::from_fn_with_state(Arc::new(asset_caching(&state.leptos_options)), edge::asset_caching),
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(edge::catch_panic())
        .layer(edge::compression())
        .layer(telemetry::CountRequests { metrics: state.metrics.clone() })
        .layer(edge::common_headers())
        .layer(telemetry::request_spans())
        .layer(edge::request_id());
    let router = if state.config.cookie_is_secure() { router.layer(edge::hsts()) } else { router };
    router.with_state(state)
}

/// The router of `MISEOS_METRICS_PORT`: `/metrics` alone.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(telemetry::metrics_on_own_port)).with_state(state)
}

/// The cache rule of the build output, from where the build put it and whether it hashed
/// its names.
fn asset_caching(options: &LeptosOptions) -> edge::AssetCaching {
    edge::AssetCaching {
        pkg_prefix: format!("/{}/", options.site_pkg_dir.trim_matches('/')),
        content_hashed: options.hash_files,
    }
}

/// 200 when the database answers and events flow; 503 otherwise.
async fn readiness(State(state): State<AppState>) -> impl IntoResponse {
    if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        let draining = Json(serde_json::json!({ "status": "draining" }));
        return (StatusCode::SERVICE_UNAVAILABLE, draining).into_response();
    }
    if state.store.ping().await && state.bus.is_connected() {
        (StatusCode::OK, Json(serde_json::json!({ "status": "ready" }))).into_response()
    } else {
        ApiError::Unavailable.into_response()
    }
}
