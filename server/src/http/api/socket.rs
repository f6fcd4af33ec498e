//! `GET /api/v1/notifications`: admits the caller of the upgrade request, registers their
//! socket with the hub and runs it. A refused caller still gets the upgrade, then an
//! immediate close with 1008 and a short reason, as the contract says.

use super::{
    docs::{answer, endpoint, Access, Endpoint},
    upgrade::{Connection, UpgradeRequest},
    ApiError, ApiRoute,
};
use crate::{
    accounts::Caller,
    http::{
        caller::{admit, Door},
        AppState,
    },
    live::hub::{run_socket, websocket_config, CloseReason, Registration, SocketOwner, SocketSettings},
};
use app::wire::SessionType;
use axum::{
    extract::State,
    http::{HeaderMap, Method},
    response::{IntoResponse, Response},
};
use futures::SinkExt;
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::new(
        Endpoint {
            answer: answer(
                101,
                "Switching to the notification WebSocket: see docs/asyncapi.yaml (a refused caller is \
                 closed at once with 1008)",
                None,
            ),
            errors: vec![
                (400, "invalid_field: Sec-WebSocket-Key is not the base64 of 16 bytes"),
                (426, "upgrade_required: not a WebSocket upgrade request (with Sec-WebSocket-Version: 13)"),
                (429, "too_many_requests: more socket opens in a minute than allowed (with Retry-After)"),
            ],
            ..endpoint(
                Method::GET,
                "/notifications",
                "notifications",
                "Open the notification socket",
                Access::Anyone,
                None,
            )
        },
        notifications,
    )]
}

/// The upgrade handler. A user who opens sockets faster than allowed gets 429 instead of the
/// upgrade, before anything is written (a STAFF socket's claim is a write on PostgreSQL).
async fn notifications(State(state): State<AppState>, headers: HeaderMap, upgrade: UpgradeRequest) -> Response {
    let caller = admit(&state, &headers, Door::Socket).await.map_err(|refused| refused.close_reason());
    if let Ok(caller) = &caller {
        if let Err(throttled) = state.socket_opens.admit(caller.user) {
            if throttled.first_in_window {
                tracing::warn!(user = %caller.user, retry_after = throttled.retry_after, "socket opens throttled (logged once per window)");
            }
            return ApiError::TooManySocketOpens { retry_after: throttled.retry_after }.into_response();
        }
    }
    let ping_interval = state.config.ws_ping_interval();
    // The socket's own span, not a child of the request's (that one ends with the upgrade).
    // It covers the setup; the socket's end is logged in a span of its own (see
    // `SocketGuard::finish`). One held open for the socket's whole life would cost every
    // idle socket a registry entry in the log subscriber (docs/PERFORMANCE.md).
    let span = match &caller {
        Ok(caller) => tracing::info_span!(parent: None, "socket", user_id = caller.user.0, role = caller.role.as_str()),
        Err(_) => tracing::Span::none(),
    };
    let tasks = state.sockets.clone();
    upgrade.on_upgrade(websocket_config(), &tasks.clone(), move |socket| async move {
        match register(state, caller).instrument(span).await {
            Ok((registration, expires_at)) => {
                let settings = SocketSettings { ping_interval, expires_at };
                // A task of its own, and this one ends: the upgrade's task also holds hyper's
                // upgrade state and this closure's captures, which would otherwise stay with
                // every idle socket for its whole life (docs/PERFORMANCE.md).
                tasks.spawn(run_socket(socket, registration, settings));
            }
            Err(reason) => close_at_once(socket, reason).await,
        }
    })
}

/// Registers an admitted caller's socket with the hub in their kitchen (claiming a STAFF
/// socket first); returns the registration and when its token expires, or how to close the
/// socket.
async fn register(
    state: AppState,
    caller: Result<Caller, CloseReason>,
) -> Result<(Registration, Instant), CloseReason> {
    let caller = caller?;
    let session_type = if caller.is_admin() { SessionType::Admin } else { SessionType::Staff };
    let claim = match session_type {
        SessionType::Admin => None,
        SessionType::Staff => match state.store.claim_staff_socket(caller.user).await {
            Ok(claim) => claim.map(|claim| claim.claim),
            Err(error) => {
                tracing::warn!(%error, "cannot claim a staff socket");
                return Err(CloseReason::TRY_LATER);
            }
        },
    };
    // Read once per kitchen and process; after that, from memory.
    let clock = state.store.kitchen_clock(caller.kitchen).await.map_err(|error| {
        tracing::warn!(%error, "cannot read a socket's kitchen");
        CloseReason::TRY_LATER
    })?;
    let owner = SocketOwner { user: caller.user, kitchen: caller.kitchen, session: caller.session, session_type };
    // Interest first, then the counts: an event committed after the read reaches this
    // process, and one committed before it is in the read (see the hub).
    let mut interest = state.hub.take_interest(caller.kitchen);
    if session_type == SessionType::Admin && interest.counts_needed() {
        let counts = state.store.pending_counts(caller.kitchen).await.map_err(|error| {
            tracing::warn!(%error, "cannot read a socket's kitchen's counts");
            CloseReason::TRY_LATER
        })?;
        interest.read(counts);
    }
    let registration = state.hub.register(owner, claim, clock, interest).map_err(|_| CloseReason::SHUTDOWN)?;
    // An ending that raced the registration missed the hub; close it here.
    if let Some(reason) = state.sessions.ended_reason(caller.session) {
        registration.outbox.close(CloseReason::policy(reason.reason()));
    }
    Ok((registration, instant_of_unix(caller.expires_at)))
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
