//! `/auth/login`, `/auth/refresh`, `/auth/logout`, `/auth/me`, `/auth/password`: signing in
//! (throttled), keeping a session going, ending it, and changing one's own password.

use super::{
    docs::{answer, endpoint, Access, Endpoint},
    ApiError, ApiJson, ApiRoute,
};
use crate::{
    accounts::{
        check_new_password, hash_password,
        throttle::{self, SignInKeys},
        tokens::new_session_id,
        verify_password, Caller,
    },
    event::{EndReason, SessionId},
    http::{
        api::body::parse_json,
        caller::{token_at, Door, Refused},
        edge, forwarded, AppState,
    },
    store::{now_millis, Credentials, SessionsToEnd},
};
use app::wire::{LoginRequest, LoginResponse, PasswordChange, RefreshResponse, User, TOKEN_COOKIE};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use std::net::SocketAddr;

pub fn routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute::new(
            Endpoint {
                answer: answer(
                    200,
                    "Signed in; the token is also set as the `miseos_token` cookie",
                    Some("LoginResponse"),
                ),
                errors: vec![
                    (401, "bad_credentials"),
                    (403, "account_disabled"),
                    (429, "too_many_attempts (with Retry-After)"),
                    (503, "unavailable: too many password checks at once (with Retry-After: 1)"),
                ],
                ..endpoint(Method::POST, "/auth/login", "auth", "Sign in", Access::Anyone, Some("LoginRequest"))
            },
            login,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(
                    200,
                    "A new token for the same session (the cookie is set again)",
                    Some("RefreshResponse"),
                ),
                ..endpoint(Method::POST, "/auth/refresh", "auth", "Renew the token", Access::SignedIn, None)
            },
            refresh,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(204, "The session has ended (an expired token still names it)", None),
                ..endpoint(Method::POST, "/auth/logout", "auth", "Sign out", Access::Anyone, None)
            },
            logout,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(200, "The caller", Some("User")),
                ..endpoint(Method::GET, "/auth/me", "auth", "Who am I", Access::SignedIn, None)
            },
            me,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(204, "Changed; the caller's other sessions have ended", None),
                errors: vec![
                    (400, "invalid_field (currentPassword wrong, or newPassword too weak)"),
                    (429, "too_many_attempts"),
                ],
                ..endpoint(
                    Method::POST,
                    "/auth/password",
                    "auth",
                    "Change one's own password",
                    Access::SignedIn,
                    Some("PasswordChange"),
                )
            },
            change_password,
        ),
    ]
}

/// Longest accepted email or password; anything longer cannot be a real one.
const MAX_CREDENTIAL_CHARS: usize = 256;

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Sign-in follows the cookie rule (section 8): a page of another origin cannot sign a
    // kitchen's browser in as someone else, and only JSON is taken.
    edge::check_sign_in_request(&headers, &state.config.allowed_origins)?;
    let credentials: LoginRequest = parse_json(&body)?;
    let address = forwarded::request_client(peer, &headers, &state.config.trusted_proxies);
    let client = forwarded::client_key(address);
    // A flood from one client is refused here, before the database is asked anything.
    if let Err(throttled) = state.sign_in_attempts.admit(client) {
        state.metrics.sign_in_refused("throttled");
        if throttled.first_in_window {
            tracing::warn!(%address, retry_after = throttled.retry_after, "sign-ins throttled: too many attempts from one client (logged once per window)");
        }
        return Err(ApiError::TooManyAttempts { retry_after: throttled.retry_after });
    }
    let email = credentials.email.trim();
    if email.chars().count() > MAX_CREDENTIAL_CHARS || credentials.password.chars().count() > MAX_CREDENTIAL_CHARS {
        return Err(ApiError::BadCredentials);
    }
    let keys = SignInKeys::new(email, client);
    // Sign-ins of the same account or client being checked meanwhile count as failures until
    // they are known not to be: guesses sent at once are throttled like guesses sent in turn.
    let (_account_in_flight, account_others) = state.sign_ins_in_flight.enter(&keys.account);
    let (_client_in_flight, client_others) = state.sign_ins_in_flight.enter(&keys.address);
    if let Some(retry_after) = throttle::retry_after(&state.store, &keys, account_others, client_others).await? {
        state.metrics.sign_in_refused("throttled");
        tracing::warn!(%address, retry_after, "sign-in throttled");
        return Err(ApiError::TooManyAttempts { retry_after });
    }
    let stored = state.store.credentials(email).await?;
    // Logged by the account's id when there is one, never by what was typed as the email
    // (people type their password there).
    let account = stored.as_ref().map(|found| found.user.id);
    // An unknown email still costs one hash verification, so timing does not tell which
    // emails exist.
    let hash = stored.as_ref().map_or_else(|| state.decoy_password_hash.clone(), |found| found.password_hash.clone());
    let password = credentials.password;
    let Ok(matches) = state.password_checks.run(move || verify_password(&password, &hash)).await else {
        state.metrics.sign_in_refused("busy");
        tracing::warn!(?account, %address, "sign-in refused: too many password checks at once");
        return Err(ApiError::Busy);
    };
    let Some(signed_in) = stored.filter(|_| matches) else {
        state.store.record_failure(&[&keys.account, &keys.address], now_millis()).await?;
        state.metrics.sign_in_refused("bad_credentials");
        tracing::warn!(?account, %address, "failed sign-in");
        if throttle::locked_out_now(&state.store, &keys).await? {
            state.metrics.account_locked_out();
            tracing::warn!(?account, %address, "an account is locked out: too many failed sign-ins");
        }
        return Err(ApiError::BadCredentials);
    };
    if !signed_in.user.active {
        state.metrics.sign_in_refused("account_disabled");
        tracing::warn!(?account, %address, "sign-in to a disabled account");
        return Err(ApiError::AccountDisabled);
    }
    state.store.clear_failures(&keys.account).await?;
    let session = start_session(&state, &signed_in).await?;
    let token = state.tokens.issue(&signed_in.user, session);
    let cookie = session_cookie(&state, &token, state.tokens.ttl().as_secs());
    let answer = LoginResponse { token, user: signed_in.user, must_change_password: signed_in.must_change_password };
    Ok(with_cookie(cookie, Json(answer)))
}

/// Starts the session of a sign-in that checked out. `Unauthorized` when the account changed
/// meanwhile (disabled, new role or password): the user signs in again and gets the new
/// answer.
async fn start_session(state: &AppState, signed_in: &Credentials) -> Result<SessionId, ApiError> {
    let session = new_session_id();
    if !state.store.start_session(session, signed_in, now_millis()).await? {
        return Err(ApiError::Unauthorized("the account changed while signing in; sign in again"));
    }
    state.sessions.started(session, &signed_in.user, signed_in.must_change_password);
    Ok(session)
}

/// A new token for the caller's live session (same `sid`, new `exp`), with its user as the
/// store has it now. The session and the user are read from the database whatever this
/// process has cached: a refresh extends a session's life, so it must never outlive an ending
/// this process has not heard of yet.
async fn refresh(State(state): State<AppState>, method: Method, headers: HeaderMap) -> Result<Response, ApiError> {
    let door = Door::Rest { method: &method, path: "/auth/refresh" };
    let holder = state.tokens.verify(token_at(&state, &headers, door)?).map_err(Refused::Token)?;
    let caller = state.sessions.admit_checked(holder).await?;
    if caller.must_change_password {
        return Err(ApiError::PasswordChangeRequired);
    }
    let user = state.store.user(caller.user).await?.ok_or(ApiError::Unauthorized("unknown user"))?;
    if !user.active {
        return Err(ApiError::Unauthorized(EndReason::AccountDisabled.reason()));
    }
    let token = state.tokens.issue(&user, caller.session);
    let cookie = session_cookie(&state, &token, state.tokens.ttl().as_secs());
    Ok(with_cookie(cookie, Json(RefreshResponse { token, user })))
}

/// Ends the caller's session, if the request names a live one, and clears the cookie either
/// way: signing out always succeeds. The ending reaches this process's cache and sockets, and
/// every other process, through the live road.
async fn logout(State(state): State<AppState>, method: Method, headers: HeaderMap) -> Result<Response, ApiError> {
    let door = Door::Rest { method: &method, path: "/auth/logout" };
    // An expired token still names its session, which signing out must end.
    let holder = match token_at(&state, &headers, door) {
        Ok(token) => state.tokens.verify_ignoring_expiry(token).ok(),
        Err(Refused::MissingToken) => None,
        Err(refused) => return Err(refused.into()),
    };
    if let Some(holder) = holder {
        state.store.end_session(holder.session, EndReason::SignedOut).await?;
    }
    Ok(with_cookie(session_cookie(&state, "", 0), StatusCode::NO_CONTENT))
}

async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<User>, ApiError> {
    let user = state.store.user(caller.user).await?.ok_or(ApiError::Unauthorized("unknown user"))?;
    Ok(Json(user))
}

/// Changes the caller's own password: the current one must be right (failures count toward
/// throttling like failed sign-ins), the new one must follow the rules. The caller's other
/// sessions end; this one goes on, free of any temporary-password restriction.
async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    caller: Caller,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let Credentials { user, password_hash: hash, .. } =
        state.store.credentials_of(caller.user).await?.ok_or(ApiError::Unauthorized("unknown user"))?;
    let address = forwarded::request_client(peer, &headers, &state.config.trusted_proxies);
    let keys = SignInKeys::new(&user.email, forwarded::client_key(address));
    if let Some(retry_after) = throttle::retry_after(&state.store, &keys, 0, 0).await? {
        return Err(ApiError::TooManyAttempts { retry_after });
    }
    if change.current_password.chars().count() > MAX_CREDENTIAL_CHARS {
        return Err(ApiError::InvalidField("currentPassword is not your current password".into()));
    }
    check_new_password(&change.new_password, &user.email).map_err(ApiError::InvalidField)?;
    let (current, new, stored_hash) = (change.current_password, change.new_password, hash.clone());
    let new_hash =
        state.password_checks.run(move || verify_password(&current, &stored_hash).then(|| hash_password(&new))).await?;
    let Some(new_hash) = new_hash else {
        state.store.record_failure(&[&keys.account, &keys.address], now_millis()).await?;
        tracing::warn!(account = %user.id, %address, "wrong current password in a password change");
        return Err(ApiError::InvalidField("currentPassword is not your current password".into()));
    };
    let others = SessionsToEnd::AllBut(caller.session, EndReason::Revoked);
    // Only over the hash just checked: a reset meanwhile wins (and has ended this session).
    state.store.set_password(caller.user, &new_hash, false, Some(&hash), others).await?;
    state.sessions.password_changed(caller.session);
    Ok(StatusCode::NO_CONTENT)
}

/// The `miseos_token` cookie holding `token` for `max_age` seconds (0 clears it).
fn session_cookie(state: &AppState, token: &str, max_age: u64) -> String {
    let secure = if state.config.cookie_is_secure() { "; Secure" } else { "" };
    format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

fn with_cookie(cookie: String, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    // The cookie holds a JWT (base64url and dots) and fixed attributes: always a valid header.
    let value = HeaderValue::from_str(&cookie).expect("cookie text is a valid header value");
    response.headers_mut().insert(header::SET_COOKIE, value);
    response
}
