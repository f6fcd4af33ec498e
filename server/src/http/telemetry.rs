//! What the server tells its operator about requests: a span per request (method, matched
//! route, request id, and the user once authenticated), the HTTP metrics, and `GET /metrics`
//! with the rule of who may read it.
//!
//! Only the matched route is recorded, never the raw URI or any header: `Authorization` and
//! `Cookie` carry tokens, and item ids would make every path its own metric series.

use super::{
    error::ApiError,
    forwarded::{read_forwarded_chain, ForwardedChain},
    AppState,
};
use crate::metrics::{Metrics, RouteLabel};
use app::wire::UserId;
use axum::{
    body::Body,
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{header, HeaderMap, HeaderValue, Method},
    response::{IntoResponse, Response},
};
use ipnet::IpNet;
use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};
use tower::{Layer, Service};
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    trace::{DefaultOnBodyChunk, DefaultOnEos, DefaultOnFailure, DefaultOnResponse, MakeSpan, TraceLayer},
    LatencyUnit,
};
use tracing::Level;

/// The route label of requests no route matched (static files, 404s).
const UNMATCHED_ROUTE: &str = "(unmatched)";

/// The route the router matched, for spans and metric labels.
fn matched_route(request: &Request) -> &str {
    request.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
}

/// The request's span, named `request`; see [`record_user`].
#[derive(Clone, Copy, Debug)]
pub struct RequestSpan;

impl MakeSpan<Body> for RequestSpan {
    fn make_span(&mut self, request: &Request) -> tracing::Span {
        let route = matched_route(request);
        let request_id = request.headers().get("x-request-id").and_then(|value| value.to_str().ok()).unwrap_or("");
        tracing::info_span!(
            "request",
            method = %request.method(),
            route,
            request_id,
            user_id = tracing::field::Empty,
        )
    }
}

/// A span per request. Each answer is logged at DEBUG (`RUST_LOG=tower_http=debug`) with its
/// status and latency; server errors at ERROR.
pub fn request_spans() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    RequestSpan,
    (),
    DefaultOnResponse,
    DefaultOnBodyChunk,
    DefaultOnEos,
    DefaultOnFailure,
> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::DEBUG).latency_unit(LatencyUnit::Micros))
        .on_failure(DefaultOnFailure::new().level(Level::ERROR).latency_unit(LatencyUnit::Micros))
}

/// Names the authenticated user in the current request's span.
pub fn record_user(user: UserId) {
    tracing::Span::current().record("user_id", user.0);
}

/// Counts every answer by method, matched route and status, with its latency (until the
/// response's head is ready). A tower layer rather than `middleware::from_fn`: it sits on every
/// request, and this way nothing is boxed for it.
#[derive(Clone)]
pub struct CountRequests {
    pub metrics: Arc<Metrics>,
}

impl<S> Layer<S> for CountRequests {
    type Service = CountRequestsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CountRequestsService { inner, metrics: self.metrics.clone() }
    }
}

/// See [`CountRequests`].
#[derive(Clone)]
pub struct CountRequestsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Service<Request> for CountRequestsService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let method = method_label(request.method());
        let route = matched_route(&request).to_owned();
        Counted {
            answer: self.inner.call(request),
            started: Instant::now(),
            label: Some((method, route)),
            metrics: self.metrics.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request being answered; counted when its response is ready.
    pub struct Counted<F> {
        #[pin]
        answer: F,
        started: Instant,
        label: Option<(&'static str, String)>,
        metrics: Arc<Metrics>,
    }
}

impl<F, E> Future for Counted<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.answer.poll(context));
        if let (Ok(response), Some((method, route))) = (&answer, this.label.take()) {
            let label = RouteLabel { method, route, status: response.status().as_u16() };
            this.metrics.http_requests.get_or_create(&label).observe(this.started.elapsed().as_secs_f64());
        }
        Poll::Ready(answer)
    }
}

/// The method as a label without an allocation; anything unusual is `other`.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"];
    KNOWN.into_iter().find(|known| *known == method.as_str()).unwrap_or("other")
}

/// `GET /metrics`: the Prometheus text, for loopback and `MISEOS_METRICS_ALLOW`; a 404 for
/// anyone else, as if there were no such route.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let allowed = may_scrape(peer, &headers, &state.config.trusted_proxies, &state.config.metrics_allow);
    metrics_text(&state, allowed)
}

/// `GET /metrics` on `MISEOS_METRICS_PORT`, which no proxy serves: there a trusted proxy's
/// address (loopback, for a proxy on the same host) is a local scraper like any other, while a
/// request that names a client still gets nothing.
pub async fn metrics_on_own_port(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    metrics_text(&state, may_scrape(peer, &headers, &[], &state.config.metrics_allow))
}

/// The metrics, or a 404 as if there were no such route.
fn metrics_text(state: &AppState, allowed: bool) -> Response {
    if !allowed {
        return ApiError::NotFound.into_response();
    }
    let (open, idle) = state.store.pool_status();
    let text = state.metrics.render(open, idle);
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(crate::metrics::CONTENT_TYPE)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response()
}

/// Headers that say a request passed a proxy. A proxy on the same host connects from
/// loopback, so its requests must never be taken for a local scrape.
const PROXY_HEADERS: [&str; 6] =
    ["forwarded", "x-forwarded-for", "x-real-ip", "via", "x-forwarded-proto", "x-forwarded-host"];

/// Whether a request may read the metrics: it comes from loopback or an allowed network.
///
/// A request that passed a proxy (it comes from a trusted proxy, or carries any proxy header)
/// is judged by the client the proxy names in `X-Forwarded-For`, strictly: only a trusted
/// proxy may name one, every entry must be a plain address, and a chain that names nothing but
/// proxies names no client. Anything else is refused, so a reverse proxy on the same host does
/// not make the metrics public whatever headers it sends. (Production should still use
/// `MISEOS_METRICS_PORT` or block `/metrics` at the proxy; see the README.)
pub fn may_scrape(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpNet], allowed: &[IpNet]) -> bool {
    let is_trusted = |address: &IpAddr| trusted_proxies.iter().any(|net| net.contains(address));
    let peer = peer.ip().to_canonical();
    let through_proxy = is_trusted(&peer) || PROXY_HEADERS.iter().any(|name| headers.contains_key(*name));
    let client = if through_proxy {
        if !is_trusted(&peer) || headers.contains_key(header::FORWARDED) {
            return false;
        }
        match strict_forwarded_for(headers).map(|chain| read_forwarded_chain(peer, &chain, is_trusted)) {
            Some(ForwardedChain::Client(client)) => client,
            _ => return false,
        }
    } else {
        peer
    };
    client.is_loopback() || allowed.iter().any(|net| net.contains(&client))
}

/// Every `X-Forwarded-For` line, in order, as one chain; `None` when there is none, a line is
/// not ASCII, or an entry anywhere in it is not a plain address.
fn strict_forwarded_for(headers: &HeaderMap) -> Option<String> {
    let lines = headers.get_all("x-forwarded-for").iter().map(|line| line.to_str().ok()).collect::<Option<Vec<_>>>()?;
    let chain = lines.join(",");
    let readable = !lines.is_empty() && chain.split(',').all(|entry| entry.trim().parse::<IpAddr>().is_ok());
    readable.then_some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (header::HeaderName::from_static(name), value.parse().unwrap())).collect()
    }

    fn net(text: &str) -> IpNet {
        crate::config::parse_network(text).unwrap()
    }

    #[test]
    fn loopback_and_allowed_networks_may_scrape_others_may_not() {
        let loopback: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let outside: SocketAddr = "203.0.113.5:40000".parse().unwrap();
        assert!(may_scrape(loopback, &HeaderMap::new(), &[], &[]));
        assert!(may_scrape("[::1]:40000".parse().unwrap(), &HeaderMap::new(), &[], &[]));
        assert!(!may_scrape(outside, &HeaderMap::new(), &[], &[]));
        assert!(may_scrape(outside, &HeaderMap::new(), &[], &[net("203.0.113.0/24")]));
    }

    #[test]
    fn a_proxy_on_loopback_does_not_make_the_metrics_public() {
        let proxy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let forwarded = headers(&[("x-forwarded-for", "198.51.100.7")]);
        // An untrusted proxy cannot name the client, so nobody behind it may scrape.
        assert!(!may_scrape(proxy, &forwarded, &[], &[]));
        // A trusted one names it; the client is judged.
        assert!(!may_scrape(proxy, &forwarded, &[net("127.0.0.1")], &[]));
        assert!(may_scrape(proxy, &forwarded, &[net("127.0.0.1")], &[net("198.51.100.0/24")]));
        assert!(!may_scrape(proxy, &headers(&[("forwarded", "for=127.0.0.1")]), &[net("127.0.0.1")], &[]));
    }

    #[test]
    fn a_proxy_that_names_no_client_or_an_unreadable_one_is_refused() {
        let proxy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let trusted = [net("127.0.0.1")];
        // A trusted proxy that sends no X-Forwarded-For at all.
        assert!(!may_scrape(proxy, &HeaderMap::new(), &trusted, &[]));
        // An untrusted one on loopback that says only that it is a proxy.
        assert!(!may_scrape(proxy, &headers(&[("x-real-ip", "198.51.100.7")]), &[], &[]));
        assert!(!may_scrape(proxy, &headers(&[("via", "1.1 nginx")]), &[], &[]));
        // A line that is not an address, or not ASCII, hides the client: refused.
        assert!(!may_scrape(proxy, &headers(&[("x-forwarded-for", "garbage, 198.51.100.7")]), &trusted, &[]));
        let mut not_ascii = HeaderMap::new();
        not_ascii.append("x-forwarded-for", HeaderValue::from_bytes(b"\x80").unwrap());
        not_ascii.append("x-forwarded-for", HeaderValue::from_static("127.0.0.1"));
        assert!(!may_scrape(proxy, &not_ascii, &trusted, &[]));
        // A chain of trusted proxies only names no client.
        assert!(!may_scrape(proxy, &headers(&[("x-forwarded-for", "127.0.0.1")]), &trusted, &[]));
        // A well-formed chain naming an allowed client is served.
        let named = headers(&[("x-forwarded-for", "10.0.0.5")]);
        assert!(may_scrape(proxy, &named, &trusted, &[net("10.0.0.0/24")]));
    }
}
