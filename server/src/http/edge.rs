//! The edge (section 8 of the contract): the headers every response carries, the rule that a
//! state change authenticated by the session cookie comes from an allowed page as JSON (a
//! cross-site form or `fetch` cannot pass it), a time limit on REST requests, and a JSON 500
//! instead of a dropped connection when a handler panics. (Connection limits: `serve`.)

use super::error::ApiError;
use axum::{
    error_handling::HandleErrorLayer,
    http::{header, HeaderMap, HeaderValue, Method},
    response::{IntoResponse, Response},
    BoxError,
};
use std::time::Duration;
use tower::{
    layer::util::{Identity, Stack},
    timeout::TimeoutLayer,
    ServiceBuilder,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{
        predicate::{Predicate, SizeAbove},
        CompressionLayer,
    },
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
};

/// `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`, on every response.
pub fn common_headers() -> (SetResponseHeaderLayer<HeaderValue>, SetResponseHeaderLayer<HeaderValue>) {
    (
        SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    )
}

/// `Cache-Control: no-store` for the API: answers hold private, changing data.
pub fn api_headers() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// An `x-request-id` on every request (the client's, or a new UUID), echoed on its response,
/// so a user's report and the server's log name the same request.
pub fn request_id() -> (SetRequestIdLayer<MakeRequestUuid>, PropagateRequestIdLayer) {
    (SetRequestIdLayer::x_request_id(MakeRequestUuid), PropagateRequestIdLayer::x_request_id())
}

/// How long browsers keep the site's build output (`/pkg/…`) without asking again.
#[derive(Clone, Debug)]
pub struct AssetCaching {
    /// `/pkg/`, or wherever the build puts its files.
    pub pkg_prefix: String,
    /// Whether the build named its files by their content (a release with hashed names).
    pub content_hashed: bool,
}

/// A content-hashed file never changes under its name: browsers keep it a year without
/// asking (`immutable`). Unhashed build output (development) is revalidated on every use.
pub async fn asset_caching(
    axum::extract::State(caching): axum::extract::State<std::sync::Arc<AssetCaching>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let is_build_output = request.uri().path().starts_with(&caching.pkg_prefix);
    let mut response = next.run(request).await;
    if is_build_output && response.status().is_success() {
        let policy = if caching.content_hashed { "public, max-age=31536000, immutable" } else { "no-cache" };
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Pages and JSON answers of more than 1 KiB are sent gzip-compressed to clients that accept
/// it (the API's small answers would gain less than the work costs). The build output is not
/// compressed per request: it is served precompressed (brotli and gzip) and already carries
/// its `Content-Encoding`, which this layer leaves alone; nor are sockets, `/metrics` or
/// anything else. gzip alone: every browser accepts it, and brotli's encoder would be the
/// build's largest crate for a few hundred bytes per page.
pub fn compression() -> CompressionLayer<impl Predicate> {
    let html_or_json =
        |_: axum::http::StatusCode, _: axum::http::Version, headers: &HeaderMap, _: &axum::http::Extensions| {
            headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|content_type| {
                let media_type = content_type.split(';').next().unwrap_or_default().trim();
                media_type.eq_ignore_ascii_case("text/html") || media_type.eq_ignore_ascii_case("application/json")
            })
        };
    CompressionLayer::new().compress_when(SizeAbove::new(1024).and(html_or_json))
}

/// HSTS, sent when the session cookie is `Secure` (the server is reached over HTTPS).
pub fn hsts() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    )
}

/// What turns a timed-out request into the contract's error.
type TimeoutHandler = fn(BoxError) -> std::future::Ready<Response>;
/// The request-timeout layers: the timeout, and its error as a response.
type RequestTimeout = ServiceBuilder<Stack<TimeoutLayer, Stack<HandleErrorLayer<TimeoutHandler, ()>, Identity>>>;

/// Answers 503 JSON when a request takes longer than `timeout` (a database that hangs).
pub fn request_timeout(timeout: Duration) -> RequestTimeout {
    ServiceBuilder::new().layer(HandleErrorLayer::new(timed_out as TimeoutHandler)).layer(TimeoutLayer::new(timeout))
}

fn timed_out(_: BoxError) -> std::future::Ready<Response> {
    std::future::ready(ApiError::TimedOut.into_response())
}

/// Turns a panicking handler into a JSON 500 (the panic is logged), so the client gets the
/// contract's error instead of a dropped connection, and the server goes on.
pub fn catch_panic() -> CatchPanicLayer<fn(Box<dyn std::any::Any + Send + 'static>) -> Response> {
    CatchPanicLayer::custom(panicked as fn(Box<dyn std::any::Any + Send + 'static>) -> Response)
}

fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a handler panicked".into());
    ApiError::Internal(format!("handler panicked: {what}")).into_response()
}

/// Refuses a cookie-authenticated POST, PATCH, PUT or DELETE from a foreign Origin (403
/// `forbidden_origin`) or without a JSON body type (415 `unsupported_media_type`). Called
/// where a request's token is read, so only requests the cookie authenticates are checked
/// (and the check costs no extra layer on every request).
pub fn check_cookie_request(method: &Method, headers: &HeaderMap, allowed_origins: &[String]) -> Result<(), ApiError> {
    if !matches!(*method, Method::POST | Method::PATCH | Method::PUT | Method::DELETE) {
        return Ok(());
    }
    if !origin_allowed(headers, allowed_origins) {
        return Err(ApiError::ForbiddenOrigin);
    }
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(())
}

/// The rule of `POST /auth/login` (section 8): a request that carries an `Origin` must carry
/// an allowed one (a sign-in from a foreign page, login CSRF, is refused), and the body must
/// be declared JSON. Checked before anything else, so a refused sign-in costs nothing.
pub fn check_sign_in_request(headers: &HeaderMap, allowed_origins: &[String]) -> Result<(), ApiError> {
    if headers.contains_key(header::ORIGIN) && !origin_allowed(headers, allowed_origins) {
        return Err(ApiError::ForbiddenOrigin);
    }
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(())
}

/// Whether the body is declared `application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether the request's Origin may use the cookie: listed in `allowed` (scheme, host and
/// port compared), or, with no list, the same host and port as the request's Host header.
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let Ok(origin) = url::Url::parse(origin.trim_end_matches('/')) else { return false };
    if !allowed.is_empty() {
        return allowed
            .iter()
            .filter_map(|entry| url::Url::parse(entry.trim().trim_end_matches('/')).ok())
            .any(|entry| same_origin(&entry, &origin));
    }
    let Some(host) = headers.get(header::HOST).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    // The Host header names the port only when it is not the scheme's default.
    let Ok(request) = url::Url::parse(&format!("{}://{host}", origin.scheme())) else { return false };
    same_origin(&request, &origin)
}

/// Same scheme, host and port (the scheme's default when none is written).
fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme().eq_ignore_ascii_case(b.scheme())
        && a.host_str().zip(b.host_str()).is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
        }
        headers
    }

    #[test]
    fn without_a_list_only_the_own_host_and_port_may_use_the_cookie() {
        assert!(origin_allowed(&headers(Some("http://localhost:5001"), "localhost:5001"), &[]));
        assert!(origin_allowed(&headers(Some("https://kitchen.example"), "kitchen.example"), &[]));
        assert!(!origin_allowed(&headers(Some("http://localhost:5002"), "localhost:5001"), &[]));
        assert!(!origin_allowed(&headers(Some("http://evil.example"), "localhost:5001"), &[]));
        assert!(!origin_allowed(&headers(None, "localhost:5001"), &[]));
        assert!(!origin_allowed(&headers(Some("null"), "localhost:5001"), &[]));
    }

    #[test]
    fn a_list_replaces_the_same_host_rule_and_compares_scheme_host_and_port() {
        let allowed = vec!["https://kitchen.example".to_string()];
        assert!(origin_allowed(&headers(Some("https://kitchen.example"), "internal:5001"), &allowed));
        assert!(origin_allowed(&headers(Some("https://KITCHEN.example:443"), "internal:5001"), &allowed));
        assert!(!origin_allowed(&headers(Some("http://kitchen.example"), "internal:5001"), &allowed));
        assert!(!origin_allowed(&headers(Some("https://kitchen.example:8443"), "internal:5001"), &allowed));
        assert!(!origin_allowed(&headers(Some("http://internal:5001"), "internal:5001"), &allowed));
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500_and_a_slow_one_a_json_503() {
        use axum::{body::Body, routing::get, Router};
        use tower::ServiceExt;
        async fn panics() -> &'static str {
            panic!("a bug")
        }
        let router = Router::new()
            .route("/panics", get(panics))
            .route(
                "/hangs",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            )
            .layer(request_timeout(Duration::from_millis(50)))
            .layer(catch_panic());
        for (path, status, code) in [("/panics", 500, "internal"), ("/hangs", 503, "unavailable")] {
            let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), status);
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            let error: app::wire::ErrorBody = serde_json::from_slice(&body).unwrap();
            assert_eq!(error.error, code);
        }
    }

    #[test]
    fn json_is_recognised_with_parameters_and_in_any_case() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(header::CONTENT_TYPE, "Application/JSON; charset=utf-8".parse().unwrap());
        assert!(is_json(&headers));
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_json(&headers));
        headers.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
        assert!(!is_json(&headers));
    }
}
