//! Web Push in the browser (API.md section 10): the service worker every signed-in page
//! registers (`/sw.js`, in `public/`: it shows a pushed decision when no page is visible, and
//! keeps the last good copy of the pages for bad Wi-Fi), and this device's subscription.
//!
//! Notifications are turned on only from the user's tap ([`turn_on`]: the browser asks for
//! permission then). The choice is remembered on the device, and every signed-in page keeps
//! the subscription bound to the current sign-in ([`keep_on`]: the server deletes a
//! subscription with the sign-in that made it). Signing out turns them off ([`forget`]).
//! iPhones and iPads allow Web Push only to a web app added to the Home Screen.

use crate::{client, wire::NewPushSubscription};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{PushManager, PushSubscription, PushSubscriptionOptionsInit, ServiceWorkerRegistration};

/// Where the device remembers that notifications are on, and the server's id of its
/// subscription.
const REMEMBERED: &str = "miseos-push";
const SUBSCRIPTION_ID: &str = "miseos-push-id";

/// Whether this device can get notifications, and whether it does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PushState {
    /// No service worker or Push API here.
    Unsupported,
    /// An iPhone or iPad in a browser tab: only a Home Screen app may get pushes.
    NeedsHomeScreen,
    /// The user blocked notifications for the site in the browser's settings.
    Blocked,
    Off,
    On,
}

/// Registers the service worker, in the page's language (its notifications' texts).
pub fn register_service_worker(language: &str) {
    let Some(window) = web_sys::window() else { return };
    let navigator = window.navigator();
    if !has(&navigator, "serviceWorker") {
        return;
    }
    // Registering again with another language replaces the worker; the same is a no-op.
    let _ = navigator.service_worker().register(&format!("/sw.js?lang={language}"));
}

/// This device's state, as far as it can be known without asking the user anything.
pub fn state() -> PushState {
    let Some(window) = web_sys::window() else { return PushState::Unsupported };
    if on_apple_mobile(&window) && !standalone(&window) {
        return PushState::NeedsHomeScreen;
    }
    if !has(&window.navigator(), "serviceWorker") || !has(&window, "PushManager") || !has(&window, "Notification") {
        return PushState::Unsupported;
    }
    match web_sys::Notification::permission() {
        web_sys::NotificationPermission::Denied => PushState::Blocked,
        web_sys::NotificationPermission::Granted if remembered() => PushState::On,
        _ => PushState::Off,
    }
}

/// Asks for permission (call it straight from a tap) and subscribes this device.
pub async fn turn_on() -> Result<(), String> {
    let asked = web_sys::Notification::request_permission().map_err(describe)?;
    let answer = JsFuture::from(asked).await.map_err(describe)?;
    if answer.as_string().as_deref() != Some("granted") {
        return Err("permission not granted".into());
    }
    subscribe().await?;
    set_local(REMEMBERED, Some("on"));
    Ok(())
}

/// On every signed-in page: when notifications are on here, makes sure this device is
/// subscribed with the server's current key, for the current sign-in.
pub async fn keep_on() {
    if state() != PushState::On {
        return;
    }
    if let Err(failure) = subscribe().await {
        web_sys::console::warn_1(&format!("MiseOS: cannot renew this device's notifications: {failure}").into());
    }
}

/// Turns notifications off on this device: the server forgets its subscription, the browser
/// drops it.
pub async fn turn_off() {
    if let Some(id) = local(SUBSCRIPTION_ID).and_then(|id| id.parse::<i64>().ok()) {
        let _ = client::unsubscribe_push(id).await;
    }
    if let Ok(manager) = push_manager().await {
        if let Ok(Some(subscription)) = current_subscription(&manager).await {
            if let Ok(dropped) = subscription.unsubscribe() {
                let _ = JsFuture::from(dropped).await;
            }
        }
    }
    set_local(REMEMBERED, None);
    set_local(SUBSCRIPTION_ID, None);
}

/// Signing out: notifications off, and the service worker's copy of the pages emptied.
pub async fn forget() {
    turn_off().await;
    if let Some(worker) = web_sys::window().and_then(|window| {
        has(&window.navigator(), "serviceWorker").then(|| window.navigator().service_worker().controller()).flatten()
    }) {
        let _ = worker.post_message(&JsValue::from_str("signed-out"));
    }
}

/// Subscribes with the server's current key (replacing a subscription made with another)
/// and tells the server, which binds it to this sign-in.
async fn subscribe() -> Result<(), String> {
    let manager = push_manager().await?;
    let key = client::push_key().await.map_err(|failure| failure.message)?;
    let key = base64url(&key.public_key).ok_or("the server's key is not base64url")?;
    let subscription = match current_subscription(&manager).await? {
        Some(existing) if made_with(&existing, &key) => existing,
        stale => {
            if let Some(stale) = stale {
                if let Ok(dropped) = stale.unsubscribe() {
                    let _ = JsFuture::from(dropped).await;
                }
            }
            let options = PushSubscriptionOptionsInit::new();
            options.set_user_visible_only(true);
            options.set_application_server_key(&js_sys::Uint8Array::from(key.as_slice()));
            let subscribed = manager.subscribe_with_options(&options).map_err(describe)?;
            // A stub in the end-to-end tests is a plain object: no instanceof check.
            JsFuture::from(subscribed).await.map_err(describe)?.unchecked_into()
        }
    };
    let json = subscription.to_json().map_err(describe)?;
    let text = js_sys::JSON::stringify(&json).map_err(describe)?.as_string().unwrap_or_default();
    let body: NewPushSubscription = serde_json::from_str(&text).map_err(|error| error.to_string())?;
    let created = client::subscribe_push(&body).await.map_err(|failure| failure.message)?;
    set_local(SUBSCRIPTION_ID, Some(&created.id.to_string()));
    Ok(())
}

/// Whether `subscription` was made with the application server key `key`.
fn made_with(subscription: &PushSubscription, key: &[u8]) -> bool {
    let made = js_sys::Reflect::get(&subscription.options(), &"applicationServerKey".into()).ok();
    made.filter(|made| !made.is_null() && !made.is_undefined())
        .map(|made| js_sys::Uint8Array::new(&made).to_vec())
        .is_some_and(|made| made == key)
}

async fn push_manager() -> Result<PushManager, String> {
    let window = web_sys::window().ok_or("no window")?;
    let ready = window.navigator().service_worker().ready().map_err(describe)?;
    let registration: ServiceWorkerRegistration = JsFuture::from(ready).await.map_err(describe)?.unchecked_into();
    registration.push_manager().map_err(describe)
}

async fn current_subscription(manager: &PushManager) -> Result<Option<PushSubscription>, String> {
    let found = JsFuture::from(manager.get_subscription().map_err(describe)?).await.map_err(describe)?;
    Ok((!found.is_null() && !found.is_undefined()).then(|| found.unchecked_into()))
}

/// An iPhone, iPad or iPod (an iPad's Safari says it is a Mac, but has a touch screen).
fn on_apple_mobile(window: &web_sys::Window) -> bool {
    let navigator = window.navigator();
    let agent = navigator.user_agent().unwrap_or_default();
    let ipad_as_mac =
        navigator.platform().is_ok_and(|platform| platform == "MacIntel") && navigator.max_touch_points() > 1;
    ["iPhone", "iPad", "iPod"].iter().any(|device| agent.contains(device)) || ipad_as_mac
}

/// Opened from the Home Screen (a web app), not in a browser tab.
fn standalone(window: &web_sys::Window) -> bool {
    let by_media = window.match_media("(display-mode: standalone)").ok().flatten().is_some_and(|query| query.matches());
    let by_safari =
        js_sys::Reflect::get(&window.navigator(), &"standalone".into()).ok().and_then(|value| value.as_bool());
    by_media || by_safari == Some(true)
}

/// Whether `object` has a property `name` (a feature test).
fn has(object: &JsValue, name: &str) -> bool {
    js_sys::Reflect::has(object, &name.into()).unwrap_or(false)
}

/// Decodes base64url (with or without padding) with the browser's `atob`.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut standard: String = text.trim_end_matches('=').replace('-', "+").replace('_', "/");
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    let binary = web_sys::window()?.atob(&standard).ok()?;
    binary.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// A rejected promise's reason as text (a DOMException's message, most often).
fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| js_sys::Reflect::get(&error, &"message".into()).ok().and_then(|message| message.as_string()))
        .unwrap_or_else(|| "the browser refused".into())
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn local(name: &str) -> Option<String> {
    storage()?.get_item(name).ok().flatten()
}

fn set_local(name: &str, value: Option<&str>) {
    let Some(storage) = storage() else { return };
    let _ = match value {
        Some(value) => storage.set_item(name, value),
        None => storage.remove_item(name),
    };
}

fn remembered() -> bool {
    local(REMEMBERED).as_deref() == Some("on")
}
