//! The browser's notification socket: opens `/api/v1/notifications` with gloo-net (the session
//! cookie authenticates it), hands every message to the page, and reconnects with
//! exponential backoff and full jitter when the connection drops.
//!
//! Close codes decide what happens next: 1008 `token expired` renews the token and
//! reconnects; any other 1008 (the session ended: signed out, disabled, revoked, expired)
//! goes to the sign-in page, which says why; 4001 (opened in another tab or device) and 4008
//! (too many screens open for the account) stop for good; anything else, including 1001 (server restarting) and 1013 (too slow),
//! reconnects, after a backoff cut short when the browser comes back online or the page
//! becomes visible again.
//!
//! [`keep_session_fresh`] renews the token well before it expires and keeps the session in
//! use, so a dashboard left open on a wall screen stays signed in as long as its session
//! lives.

use crate::wire::{close_code, close_reason, Category, EndReason, Notification};
use futures::StreamExt;
use gloo_net::websocket::{futures::WebSocket, Message, WebSocketError};
use leptos::prelude::*;
use std::collections::HashMap;

/// What the connection indicator shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkState {
    /// Opening the first connection.
    Connecting,
    /// Connected and welcomed.
    Live,
    /// Lost; trying again.
    Reconnecting,
    /// Several attempts failed in a row; still trying.
    Offline,
    /// Another tab or device took over; not reconnecting.
    Replaced,
    /// The account has too many screens open and this one was the oldest; not reconnecting.
    TooManySessions,
}

impl LinkState {
    /// The indicator's text.
    pub fn label(self) -> &'static str {
        match self {
            LinkState::Connecting => "Connecting…",
            LinkState::Live => "Live",
            LinkState::Reconnecting => "Reconnecting…",
            LinkState::Offline => "Offline",
            LinkState::Replaced | LinkState::TooManySessions => "Disconnected",
        }
    }

    /// A CSS modifier for the indicator.
    pub fn css_class(self) -> &'static str {
        match self {
            LinkState::Connecting | LinkState::Reconnecting => "link reconnecting",
            LinkState::Live => "link live",
            LinkState::Offline | LinkState::Replaced | LinkState::TooManySessions => "link offline",
        }
    }
}

/// First retry delay ceiling and the largest one, in milliseconds.
const BACKOFF_BASE_MS: f64 = 500.0;
const BACKOFF_CAP_MS: f64 = 15_000.0;
/// Failed attempts in a row after which the indicator says offline.
const OFFLINE_AFTER_ATTEMPTS: u32 = 3;

/// "Full jitter": a uniformly random wait between 0 and the capped exponential ceiling.
pub fn backoff_delay_ms(attempt: u32, random_unit: f64) -> u32 {
    let ceiling = (BACKOFF_BASE_MS * 2f64.powi(attempt.min(16) as i32)).min(BACKOFF_CAP_MS);
    (ceiling * random_unit.clamp(0.0, 1.0)) as u32
}

/// Keeps, per category, the highest `seq` applied; anything not newer is ignored.
#[derive(Default, Clone, Debug)]
pub struct SeqGate {
    newest: HashMap<Category, i64>,
}

impl SeqGate {
    /// Whether a count at `seq` is newer than what was applied; if so, records it.
    pub fn admit(&mut self, category: Category, seq: i64) -> bool {
        let newest = self.newest.entry(category).or_insert(i64::MIN);
        if seq > *newest {
            *newest = seq;
            true
        } else {
            false
        }
    }
}

/// Opens the socket and keeps it open until the page goes away or a 1008/4001 ends it.
/// `on_message` gets every notification. `on_reconnect` runs when a connection after the
/// first is welcomed: what the page shows may have changed while it was away.
pub fn connect(
    state: RwSignal<LinkState>,
    on_reconnect: impl Fn() + 'static,
    on_message: impl Fn(Notification) + 'static,
) {
    leptos::task::spawn_local(async move {
        let mut failures: u32 = 0;
        let mut welcomed_before = false;
        let mut chances = chances_to_reconnect();
        loop {
            let mut welcomed = false;
            let mut ended_with = None;
            if let Some(url) = socket_url() {
                if let Ok(socket) = WebSocket::open(&url) {
                    let (_, mut incoming) = socket.split();
                    while let Some(frame) = incoming.next().await {
                        match frame {
                            Ok(Message::Text(text)) => {
                                let Ok(message) = serde_json::from_str::<Notification>(&text) else { continue };
                                if matches!(message, Notification::Connected { .. }) {
                                    if welcomed_before {
                                        on_reconnect();
                                    }
                                    welcomed = true;
                                    welcomed_before = true;
                                    failures = 0;
                                    state.set(LinkState::Live);
                                }
                                on_message(message);
                            }
                            Ok(Message::Bytes(_)) => {}
                            Err(WebSocketError::ConnectionClose(event)) => {
                                ended_with = Some((event.code, event.reason));
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                }
            }
            match ended_with {
                Some((close_code::POLICY_VIOLATION, reason)) => {
                    // An expired token in a live session: renew it and come straight back.
                    let renewed = reason == close_reason::TOKEN_EXPIRED && crate::client::refresh().await.is_ok();
                    if !renewed {
                        crate::client::go_to(&sign_in_path(&reason));
                        return;
                    }
                    continue;
                }
                Some((close_code::REPLACED, _)) => {
                    state.set(LinkState::Replaced);
                    return;
                }
                Some((close_code::TOO_MANY_SESSIONS, _)) => {
                    state.set(LinkState::TooManySessions);
                    return;
                }
                _ => {}
            }
            if !welcomed {
                failures += 1;
            }
            state.set(if failures >= OFFLINE_AFTER_ATTEMPTS { LinkState::Offline } else { LinkState::Reconnecting });
            let delay = backoff_delay_ms(failures, js_sys::Math::random());
            // A chance that came while connected is old news.
            while chances.try_recv().is_ok() {}
            let backoff = gloo_timers::future::TimeoutFuture::new(delay);
            futures::future::select(backoff, chances.next()).await;
        }
    });
}

/// Wakes when reconnecting now is likely to work: the browser is back online, or the page is
/// visible again (a phone taken out of a pocket), so the socket need not wait out its backoff.
fn chances_to_reconnect() -> futures::channel::mpsc::UnboundedReceiver<()> {
    let (chance, chances) = futures::channel::mpsc::unbounded();
    let Some(window) = web_sys::window() else { return chances };
    let online = chance.clone();
    let back_online = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        let _ = online.unbounded_send(());
    });
    use wasm_bindgen::JsCast;
    let _ = window.add_event_listener_with_callback("online", back_online.as_ref().unchecked_ref());
    // It lives as long as the page.
    back_online.forget();
    when_visible_again(move || {
        let _ = chance.unbounded_send(());
    });
    chances
}

/// Calls `react` every time the page becomes visible again (a tab brought back, a phone taken
/// out of a pocket), for as long as the page lives.
pub fn when_visible_again(react: impl Fn() + 'static) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
    let listener = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        let visible = web_sys::window()
            .and_then(|window| window.document())
            .is_some_and(|document| document.visibility_state() == web_sys::VisibilityState::Visible);
        if visible {
            react();
        }
    });
    use wasm_bindgen::JsCast;
    let _ = document.add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
    listener.forget();
}

/// How often an open page renews its token. Each renewal also counts as a use of the session,
/// so this must be shorter than the shortest idle time an operator would set.
const REFRESH_EVERY_MS: u32 = 4 * 60 * 1000;
/// How soon to try again when a renewal did not reach the server.
const REFRESH_RETRY_MS: u32 = 30 * 1000;

/// Renews the token every few minutes while the page is open; when the session has ended,
/// goes to the sign-in page (which says why).
pub fn keep_session_fresh() {
    leptos::task::spawn_local(async {
        let mut wait = REFRESH_EVERY_MS;
        loop {
            gloo_timers::future::TimeoutFuture::new(wait).await;
            match crate::client::refresh().await {
                Ok(_) => wait = REFRESH_EVERY_MS,
                Err(failure) if failure.status == 401 => {
                    crate::client::go_to(&sign_in_path(&failure.message));
                    return;
                }
                Err(_) => wait = REFRESH_RETRY_MS,
            }
        }
    });
}

/// The sign-in page, telling why the session ended (`reason` as the server gave it).
pub fn sign_in_path(reason: &str) -> String {
    match SignInNotice::from_reason(reason) {
        Some(notice) => format!("/login?ended={}", notice.key()),
        None => "/login".to_string(),
    }
}

/// Why the sign-in page was opened, as it tells the user: the session's ending.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SignInNotice(pub EndReason);

impl SignInNotice {
    pub const ALL: [SignInNotice; 4] = [
        SignInNotice(EndReason::SignedOut),
        SignInNotice(EndReason::AccountDisabled),
        SignInNotice(EndReason::Revoked),
        SignInNotice(EndReason::Expired),
    ];

    /// The notice for a close reason or 401 message from the server (an expired token is an
    /// expired session to the user).
    pub fn from_reason(reason: &str) -> Option<SignInNotice> {
        if reason == close_reason::TOKEN_EXPIRED {
            return Some(SignInNotice(EndReason::Expired));
        }
        EndReason::from_reason(reason).map(SignInNotice)
    }

    /// Its key in the sign-in page's address: the reason with dashes (`signed-out`).
    pub fn key(self) -> String {
        self.0.reason().replace(' ', "-")
    }

    /// The notice for a key; `None` for anything else.
    pub fn from_key(key: &str) -> Option<SignInNotice> {
        SignInNotice::ALL.into_iter().find(|notice| notice.key() == key)
    }

    /// What the sign-in page says.
    pub fn message(self) -> &'static str {
        match self.0 {
            EndReason::SignedOut => "You were signed out.",
            EndReason::AccountDisabled => "Your account has been disabled. Ask your head chef.",
            EndReason::Revoked => {
                "You were signed out because your account changed (new role or password). Sign in again."
            }
            EndReason::Expired => "Your session expired. Sign in again.",
        }
    }
}

/// `ws(s)://<this host>/api/v1/notifications`.
fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/api/v1/notifications", location.host().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_and_is_jittered() {
        assert_eq!(backoff_delay_ms(0, 1.0), 500);
        assert_eq!(backoff_delay_ms(3, 1.0), 4000);
        assert_eq!(backoff_delay_ms(30, 1.0), 15_000);
        assert_eq!(backoff_delay_ms(3, 0.0), 0);
        assert_eq!(backoff_delay_ms(3, 0.5), 2000);
    }

    #[test]
    fn every_session_ending_has_a_sign_in_notice_that_survives_the_address() {
        for reason in EndReason::ALL {
            let notice = SignInNotice::from_reason(reason.reason()).expect("a notice");
            assert_eq!(SignInNotice::from_key(&notice.key()), Some(notice));
        }
        assert_eq!(sign_in_path("account disabled"), "/login?ended=account-disabled");
        assert_eq!(sign_in_path("token expired"), "/login?ended=session-expired");
        assert_eq!(sign_in_path("origin not allowed"), "/login");
    }

    #[test]
    fn the_gate_admits_only_newer_counts_per_category() {
        let mut gate = SeqGate::default();
        assert!(gate.admit(Category::IngredientRequest, 5));
        assert!(!gate.admit(Category::IngredientRequest, 5));
        assert!(!gate.admit(Category::IngredientRequest, 4));
        assert!(gate.admit(Category::DishSuggestion, 3));
        assert!(gate.admit(Category::IngredientRequest, 6));
    }
}
