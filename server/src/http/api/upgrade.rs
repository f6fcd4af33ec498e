//! The WebSocket opening handshake (RFC 6455 §4.2) over HTTP/1.1, done here rather than by
//! axum's `WebSocketUpgrade`, because the session needs the socket itself: it writes the
//! hub's frames straight to the connection (see `hub::frame`), which axum's `WebSocket`
//! does not give access to. The checks are the same as axum's.

use super::ApiError;
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::future::Future;
use tokio_tungstenite::{
    tungstenite::{handshake::derive_accept_key, protocol::Role},
    WebSocketStream,
};
use tokio_util::task::TaskTracker;

/// The upgraded connection, as the session's socket is built on.
pub type Connection = TokioIo<hyper::upgrade::Upgraded>;

/// A valid upgrade request: what the answer needs, and hyper's hold on the connection.
pub struct UpgradeRequest {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for UpgradeRequest {
    /// 426 (with the version this server speaks) for whatever is not a WebSocket upgrade
    /// request; 400 for one whose key is not the base64 of 16 bytes.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let headers = &parts.headers;
        let is_upgrade = parts.method == Method::GET
            && header_lists(headers, header::CONNECTION, "upgrade")
            && header_is(headers, header::UPGRADE, "websocket")
            && header_is(headers, header::SEC_WEBSOCKET_VERSION, "13");
        let key = headers.get(header::SEC_WEBSOCKET_KEY).filter(|_| is_upgrade).ok_or_else(upgrade_required)?;
        if !is_websocket_key(key.as_bytes()) {
            let refused = ApiError::InvalidField("Sec-WebSocket-Key must be the base64 of 16 bytes".into());
            return Err(refused.into_response());
        }
        let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes())).map_err(|_| upgrade_required())?;
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(upgrade_required)?;
        Ok(UpgradeRequest { accept, on_upgrade })
    }
}

/// 426, naming the one version of the protocol this server speaks (RFC 6455 §4.4).
fn upgrade_required() -> Response {
    let mut response = ApiError::UpgradeRequired.into_response();
    response.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    response
}

/// Whether a `Sec-WebSocket-Key` is the base64 of 16 bytes (RFC 6455 §4.1): 22 characters of
/// the alphabet and `==`, the last of the 22 carrying no bits beyond the 128.
fn is_websocket_key(key: &[u8]) -> bool {
    let base64 = |byte: &u8| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/';
    matches!(key, [data @ .., b'=', b'='] if data.len() == 22
        && data.iter().all(base64)
        && matches!(data[21], b'A' | b'Q' | b'g' | b'w'))
}

impl UpgradeRequest {
    /// Answers 101 Switching Protocols and, once the connection is handed over, runs
    /// `session` with the WebSocket on it (tungstenite set up by `config`) in a task of its
    /// own on `tasks`, so that stopping can wait for it.
    pub fn on_upgrade<Session, Running>(
        self,
        config: tokio_tungstenite::tungstenite::protocol::WebSocketConfig,
        tasks: &TaskTracker,
        session: Session,
    ) -> Response
    where
        Session: FnOnce(WebSocketStream<Connection>) -> Running + Send + 'static,
        Running: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        tasks.spawn(async move {
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

    async fn extract(request: Request<()>) -> Result<UpgradeRequest, Response> {
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
        let response = upgrade.on_upgrade(Default::default(), &TaskTracker::new(), |_| async {});
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
            let Err(refused) = extract(request).await else { panic!("refused") };
            assert_eq!(refused.status(), StatusCode::UPGRADE_REQUIRED);
            assert_eq!(refused.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        }
    }

    #[tokio::test]
    async fn a_key_that_is_not_the_base64_of_16_bytes_is_refused_with_400() {
        for key in
            ["", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR==", "dGhlIHNhbXBsZSBub25j!Q==", "c2hvcnQ=", "x"]
        {
            let request = upgrade_request(|headers| {
                headers.insert(header::SEC_WEBSOCKET_KEY, HeaderValue::from_str(key).unwrap());
            });
            let Err(refused) = extract(request).await else { panic!("{key:?} is refused") };
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{key:?}");
        }
        assert!(is_websocket_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_websocket_key(b"AAAAAAAAAAAAAAAAAAAAAA=="));
    }
}
