//! The WebSocket opening handshake (RFC 6455 §4.2) over HTTP/1.1, done here rather than by
//! axum's `WebSocketUpgrade`, because the session needs the socket itself: it writes the
//! hub's frames straight to the connection (see `hub::frame`), which axum's `WebSocket`
//! does not give access to. The checks are the same as axum's.

use super::ApiError;
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::Response,
};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio_tungstenite::{
    tungstenite::{handshake::derive_accept_key, protocol::Role},
    WebSocketStream,
};

/// The upgraded connection, as the session's socket is built on.
pub type Connection = TokioIo<hyper::upgrade::Upgraded>;

/// A valid upgrade request: what the answer needs, and hyper's hold on the connection.
pub struct UpgradeRequest {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for UpgradeRequest {
    /// 426 for whatever is not a WebSocket upgrade request.
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        let is_upgrade = parts.method == Method::GET
            && header_lists(headers, header::CONNECTION, "upgrade")
            && header_is(headers, header::UPGRADE, "websocket")
            && header_is(headers, header::SEC_WEBSOCKET_VERSION, "13");
        let key = headers.get(header::SEC_WEBSOCKET_KEY).filter(|_| is_upgrade).ok_or(ApiError::UpgradeRequired)?;
        let accept =
            HeaderValue::from_str(&derive_accept_key(key.as_bytes())).map_err(|_| ApiError::UpgradeRequired)?;
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or(ApiError::UpgradeRequired)?;
        Ok(UpgradeRequest { accept, on_upgrade })
    }
}

impl UpgradeRequest {
    /// Answers 101 Switching Protocols and, once the connection is handed over, runs
    /// `session` with the WebSocket on it (tungstenite set up by `config`) in a task of its own.
    pub fn on_upgrade<Session, Running>(
        self,
        config: tokio_tungstenite::tungstenite::protocol::WebSocketConfig,
        session: Session,
    ) -> Response
    where
        Session: FnOnce(WebSocketStream<Connection>) -> Running + Send + 'static,
        Running: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket =
                        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
                    session(socket).await;
                }
                // The client went away before the switch: nothing to answer.
                Err(error) => tracing::debug!(%error, "a WebSocket upgrade failed"),
            }
        });
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, self.accept);
        response
    }
}

/// Whether the header equals `value`, ignoring ASCII case.
fn header_is(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers.get(name).is_some_and(|header| header.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

/// Whether the comma-separated header lists the token `value`, ignoring ASCII case.
fn header_lists(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .any(|list| list.split(',').any(|token| token.trim().eq_ignore_ascii_case(value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    async fn extract(request: Request<()>) -> Result<UpgradeRequest, ApiError> {
        let (mut parts, ()) = request.into_parts();
        parts.extensions.insert(hyper::upgrade::on(Request::new(())));
        UpgradeRequest::from_request_parts(&mut parts, &()).await
    }

    /// A valid upgrade request, with `change` made to its headers.
    fn upgrade_request(change: impl FnOnce(&mut HeaderMap)) -> Request<()> {
        let mut request = Request::get("/api/v1/notifications").body(()).unwrap();
        let headers = request.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
        headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        headers.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
        change(headers);
        request
    }

    /// The accept key of RFC 6455's own example, and 101 with the handshake's headers.
    #[tokio::test]
    async fn a_valid_request_is_answered_with_101_and_the_rfcs_accept_key() {
        let upgrade = extract(upgrade_request(|_| {})).await.expect("a valid upgrade");
        let response = upgrade.on_upgrade(Default::default(), |_| async {});
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()[header::SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(response.headers()[header::UPGRADE], "websocket");
    }

    #[tokio::test]
    async fn anything_else_is_refused_with_426() {
        let mut post = upgrade_request(|_| {});
        *post.method_mut() = Method::POST;
        let refused = [
            Request::get("/api/v1/notifications").body(()).unwrap(),
            post,
            upgrade_request(|headers| {
                headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
            }),
            upgrade_request(|headers| {
                headers.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
            }),
            upgrade_request(|headers| {
                headers.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
            }),
            upgrade_request(|headers| {
                headers.remove(header::SEC_WEBSOCKET_KEY);
            }),
        ];
        for request in refused {
            assert!(matches!(extract(request).await, Err(ApiError::UpgradeRequired)));
        }
    }
}
