//! The edge (section 8 of the contract): the headers every response carries, and the rule
//! that a state change authenticated by the session cookie comes from an allowed page as
//! JSON (a cross-site form or `fetch` cannot pass it).

use crate::api::ApiError;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use tower_http::set_header::SetResponseHeaderLayer;

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

/// HSTS, sent when the session cookie is `Secure` (the server is reached over HTTPS).
pub fn hsts() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    )
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
