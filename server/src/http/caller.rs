//! The one way a request becomes a [`Caller`], for REST, the socket upgrade and the pages
//! alike: the token (the Bearer header or the session cookie, as the door allows), checked
//! by the token keys, then its session checked live ([`crate::accounts::Sessions::admit`]).
//! What differs between the doors is only where the token may come from, which Origin rule
//! the cookie follows, and what a temporary password may still do; each door turns a
//! [`Refused`] into its own answer (a JSON error, a 1008 close, no signed-in user).

use super::{edge, error::ApiError, AppState};
use crate::{
    accounts::{Caller, Refusal, TokenError},
    live::hub::CloseReason,
};
use app::wire::{Role, TOKEN_COOKIE};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, Method},
};

/// Which door a caller comes through.
#[derive(Clone, Copy, Debug)]
pub enum Door<'a> {
    /// A REST request: the Bearer header, or the cookie, whose state changes must come from
    /// an allowed page as JSON (section 8). `path` decides what a temporary password allows.
    Rest { method: &'a Method, path: &'a str },
    /// The socket upgrade: the Bearer header, or the cookie from an allowed Origin.
    Socket,
    /// A page: the cookie, with a temporary password too (the page sends its user to change it).
    Page,
}

/// Why a caller was not admitted.
#[derive(Debug)]
pub enum Refused {
    /// No token where the door looks for one.
    MissingToken,
    /// The cookie came with a request the cookie rule refuses (a foreign Origin, or a state
    /// change not declared JSON): the answer it gets.
    CookieRule(ApiError),
    /// The token did not verify.
    Token(TokenError),
    /// The request carries two session cookies that both verify (a sibling domain planted
    /// one): which is the caller's cannot be told, so neither is used.
    AmbiguousCookie,
    /// The token's session does not admit it.
    Session(Refusal),
    /// Signed in with a temporary password, which must be changed before this.
    PasswordChangeRequired,
}

/// Admits the caller of a request at `door`.
pub async fn admit(state: &AppState, headers: &HeaderMap, door: Door<'_>) -> Result<Caller, Refused> {
    let holder = state.tokens.verify(token_at(state, headers, door)?).map_err(Refused::Token)?;
    let caller = state.sessions.admit(holder).await.map_err(Refused::Session)?;
    let may_act = match door {
        Door::Rest { path, .. } => allowed_before_password_change(path),
        Door::Socket => false,
        Door::Page => true,
    };
    if caller.must_change_password && !may_act {
        return Err(Refused::PasswordChangeRequired);
    }
    Ok(caller)
}

/// The token a request carries where `door` looks for one, if its cookie rule lets it.
pub fn token_at<'h>(state: &AppState, headers: &'h HeaderMap, door: Door<'_>) -> Result<&'h str, Refused> {
    if let (Some(token), Door::Rest { .. } | Door::Socket) = (bearer_token(headers), door) {
        return Ok(token);
    }
    let token = session_cookie(state, headers)?;
    match door {
        Door::Rest { method, .. } => {
            edge::check_cookie_request(method, headers, &state.config.allowed_origins).map_err(Refused::CookieRule)?;
        }
        Door::Socket if !edge::origin_allowed(headers, &state.config.allowed_origins) => {
            return Err(Refused::CookieRule(ApiError::ForbiddenOrigin));
        }
        Door::Socket | Door::Page => {}
    }
    Ok(token)
}

/// The session cookie of a request. A second cookie of the same name can be planted by a
/// sibling domain (a cookie set for the parent domain is sent here too): of several, only
/// the ones this server signed count, and two different ones of those are refused.
fn session_cookie<'h>(state: &AppState, headers: &'h HeaderMap) -> Result<&'h str, Refused> {
    let cookies = cookie_tokens(headers);
    let [first, ..] = cookies[..] else { return Err(Refused::MissingToken) };
    if cookies.len() == 1 {
        return Ok(first);
    }
    let mut ours: Vec<&str> = Vec::new();
    for token in cookies.iter().copied() {
        if !ours.contains(&token) && state.tokens.verify_ignoring_expiry(token).is_ok() {
            ours.push(token);
        }
    }
    match ours[..] {
        // None of them is ours: the first one fails the token check, with its reason.
        [] => Ok(first),
        [only] => Ok(only),
        _ => Err(Refused::AmbiguousCookie),
    }
}

/// The routes a user with a temporary password may use before changing it. (Paths as the
/// nested `/api/v1` router sees them.)
fn allowed_before_password_change(path: &str) -> bool {
    matches!(path.strip_prefix("/api/v1").unwrap_or(path), "/auth/password" | "/auth/me" | "/auth/logout")
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> ApiError {
        match refused {
            Refused::MissingToken => ApiError::Unauthorized("missing token"),
            Refused::CookieRule(error) => error,
            Refused::Token(error) => ApiError::Unauthorized(error.reason()),
            Refused::AmbiguousCookie => ApiError::Unauthorized(AMBIGUOUS_COOKIE),
            Refused::Session(refusal) => refusal.into(),
            Refused::PasswordChangeRequired => ApiError::PasswordChangeRequired,
        }
    }
}

impl Refused {
    /// How a refused socket is closed: 1008 with a short reason, or 1013 when the database
    /// could not be asked.
    pub fn close_reason(self) -> CloseReason {
        match self {
            Refused::MissingToken => CloseReason::policy("missing token"),
            Refused::CookieRule(_) => CloseReason::policy("origin not allowed"),
            Refused::Token(error) => CloseReason::policy(error.reason()),
            Refused::AmbiguousCookie => CloseReason::policy(AMBIGUOUS_COOKIE),
            Refused::Session(Refusal::Ended(reason)) => CloseReason::policy(reason.reason()),
            Refused::Session(Refusal::Unknown) => CloseReason::policy("invalid token"),
            Refused::Session(Refusal::Store(error)) => {
                tracing::warn!(%error, "cannot check a socket's session");
                CloseReason::TRY_LATER
            }
            Refused::PasswordChangeRequired => CloseReason::PASSWORD_CHANGE_REQUIRED,
        }
    }
}

/// A REST caller: any signed-in user whose session is live.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let door = Door::Rest { method: &parts.method, path: parts.uri.path() };
        let caller = admit(state, &parts.headers, door).await?;
        super::telemetry::record_user(caller.user);
        Ok(caller)
    }
}

/// A caller who is a head chef; anyone else gets 403 before the body is read.
pub struct HeadChef(pub Caller);

impl FromRequestParts<AppState> for HeadChef {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.role == Role::HeadChef {
            Ok(HeadChef(caller))
        } else {
            Err(ApiError::HeadChefOnly)
        }
    }
}

/// A caller who is a head chef or sous chef; anyone else gets 403 before the body is read.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.is_admin() {
            Ok(Admin(caller))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What a caller with two session cookies is told.
const AMBIGUOUS_COOKIE: &str = "two session cookies: sign in again";

/// Every non-empty `miseos_token` cookie the request carries, in order.
pub fn cookie_tokens(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, token)| *name == TOKEN_COOKIE && !token.is_empty())
        .map(|(_, token)| token)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_cookies_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "theme=dark; miseos_token=abc.def.ghi; lang=da".parse().unwrap());
        assert_eq!(cookie_tokens(&headers), ["abc.def.ghi"]);
        headers.insert(header::COOKIE, "miseos_token=; miseos_token=x.y.z".parse().unwrap());
        assert_eq!(cookie_tokens(&headers), ["x.y.z"]);
        headers.insert(header::COOKIE, "miseos_token=".parse().unwrap());
        assert!(cookie_tokens(&headers).is_empty());
    }

    #[test]
    fn reads_bearer_tokens_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
