//! `GET /api/v1/notifications`: authenticates the upgrade request, registers the session with
//! the hub and runs it. A refused caller still gets the upgrade, then an immediate close with
//! 1008 and a short reason, as the contract says.

use super::upgrade::{Connection, UpgradeRequest};
use crate::{
    auth::{bearer_token, cookie_token, AuthUser},
    edge::origin_allowed,
    hub::{run_session, websocket_config, CloseReason, Registration, SessionSettings},
    sessions::Refusal,
    AppState,
};
use axum::{extract::State, http::HeaderMap, response::Response};
use futures::SinkExt;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

/// The upgrade handler.
pub async fn notifications(State(state): State<AppState>, headers: HeaderMap, upgrade: UpgradeRequest) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(user) => admit(&state, user).await,
        Err(reason) => Err(reason),
    };
    let ping_interval = state.config.ws_ping_interval();
    // The session's own span, not a child of the request's (that one ends with the upgrade).
    // It covers the setup; the end of the session is logged in a span of its own (see
    // `SessionGuard::finish`). One held open for the socket's whole life would cost every
    // idle session about 2 KiB in the log subscriber's registry (docs/PERFORMANCE.md).
    let span = match &caller {
        Ok(user) => tracing::info_span!(parent: None, "socket", user_id = user.id, role = user.role.as_str()),
        Err(_) => tracing::Span::none(),
    };
    upgrade.on_upgrade(websocket_config(), move |socket| async move {
        match register(state, caller).instrument(span).await {
            Ok((registration, expires_at)) => {
                let settings = SessionSettings { ping_interval, expires_at };
                // A task of its own, and this one ends: the upgrade's task also holds hyper's
                // upgrade state and this closure's captures, which would otherwise stay with
                // every idle session for its whole life (its task was 2,048 bytes;
                // docs/PERFORMANCE.md).
                tokio::spawn(run_session(socket, registration, settings));
            }
            Err(reason) => close_at_once(socket, reason).await,
        }
    })
}

/// Registers an admitted caller's session with the hub in their kitchen (claiming a STAFF
/// session first); returns the registration and when its token expires, or how to close the
/// socket.
async fn register(
    state: AppState,
    caller: Result<AuthUser, CloseReason>,
) -> Result<(Registration, Instant), CloseReason> {
    let user = caller?;
    let claim = if user.role.is_admin() {
        None
    } else {
        match state.store.claim_staff_session(user.id, &state.bus).await {
            Ok(claim) => claim.map(|claim| claim.claim),
            Err(error) => {
                tracing::warn!(%error, "cannot claim a staff session");
                return Err(CloseReason::TRY_LATER);
            }
        }
    };
    // Read once per kitchen and process; after that, from memory.
    let clock = state.store.kitchen_clock(user.kitchen_id).await.map_err(|error| {
        tracing::warn!(%error, "cannot read a socket's kitchen");
        CloseReason::TRY_LATER
    })?;
    let registration = state.hub.register(&user, claim, clock).map_err(|_| CloseReason::SHUTDOWN)?;
    // An ending that raced the registration missed the hub; close it here.
    if let Some(reason) = state.sessions.ended_reason(user.session) {
        registration.outbox.close(CloseReason::policy(reason.message()));
    }
    Ok((registration, instant_of_unix(user.expires_at)))
}

/// Who opened the socket: a Bearer header (no Origin needed), or the cookie from an allowed
/// Origin. The error is how the socket is closed.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<AuthUser, CloseReason> {
    let token = match bearer_token(headers) {
        Some(token) => token,
        None => {
            let token = cookie_token(headers).ok_or(CloseReason::policy("missing token"))?;
            if !origin_allowed(headers, &state.config.allowed_origins) {
                return Err(CloseReason::policy("origin not allowed"));
            }
            token
        }
    };
    state.tokens.verify(token).map_err(|error| CloseReason::policy(error.reason()))
}

/// Whether the token's session admits a socket: live, and not waiting for a temporary
/// password to be changed.
async fn admit(state: &AppState, user: AuthUser) -> Result<AuthUser, CloseReason> {
    match state.sessions.check(&user).await {
        Ok(standing) if standing.must_change_password => Err(CloseReason::PASSWORD_CHANGE_REQUIRED),
        Ok(_) => Ok(user),
        Err(Refusal::Ended(reason)) => Err(CloseReason::policy(reason.message())),
        Err(Refusal::Unknown) => Err(CloseReason::policy("invalid token")),
        Err(Refusal::Store(error)) => {
            tracing::warn!(%error, "cannot check a socket's session");
            Err(CloseReason::TRY_LATER)
        }
    }
}

async fn close_at_once(mut socket: WebSocketStream<Connection>, reason: CloseReason) {
    if let Some(frame) = reason.frame() {
        // The peer may already be gone; there is nothing else to do for it then.
        let _ = socket.send(frame).await;
    }
}

/// The tokio instant of a Unix time in seconds (now, if it already passed).
fn instant_of_unix(unix_seconds: i64) -> Instant {
    let remaining = unix_seconds.saturating_sub(chrono::Utc::now().timestamp()).max(0);
    Instant::now() + Duration::from_secs(u64::try_from(remaining).unwrap_or(0))
}
