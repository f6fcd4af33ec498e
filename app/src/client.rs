//! The browser's calls to the REST API (gloo-net). They run only in the browser after
//! hydration; the session cookie authenticates them.

use crate::wire::{
    BulkReview, BulkReviewResults, Category, CreatedUser, CreatedWebhook, Decision, DishSuggestion, ErrorBody,
    IngredientRequest, KitchenChanges, KitchenSettings, LoginRequest, LoginResponse, NewDishSuggestion,
    NewIngredientRequest, NewPushSubscription, NewUser, NewWebhook, PasswordChange, PushKey, PushSubscriptionId,
    RefreshResponse, ReviewBody, Snapshot, TemporaryPassword, User, UserChanges, UserId, WebhookDelivery, WebhookInfo,
    WebhookPing,
};
use gloo_net::http::{Request, Response};
use serde::{de::DeserializeOwned, Serialize};

/// A failed call: the HTTP status (0 when the server could not be reached), the contract's
/// error code and field (what the interface tells the user, in their language: see
/// `Locale::error`), and the server's own message (English, for logs and developers).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CallError {
    pub status: u16,
    pub code: String,
    pub field: Option<String>,
    pub message: String,
    /// Seconds to wait before trying again (a 429's or 503's `Retry-After`).
    pub retry_after: Option<u64>,
}

impl CallError {
    fn local(message: String) -> CallError {
        CallError { message, ..CallError::default() }
    }

    /// Whether the request may not have reached the server, or its answer did not come back
    /// (no answer at all, a 5xx, a first request still being handled): worth sending again
    /// later with the same `Idempotency-Key`. A 429 is an answer: the user is told it.
    pub fn worth_retrying(&self) -> bool {
        self.status == 0 || self.status >= 500 || self.code == "idempotency_in_progress"
    }

    /// A field the page itself found wrong before sending, told like the server's own.
    pub fn invalid(field: &str) -> CallError {
        CallError {
            status: 400,
            code: "invalid_field".into(),
            field: Some(field.into()),
            message: format!("{field} is not valid"),
            retry_after: None,
        }
    }
}

impl From<CallError> for String {
    fn from(error: CallError) -> String {
        error.message
    }
}

/// Signs in; on success the server has set the session cookie.
pub async fn login(credentials: &LoginRequest) -> Result<LoginResponse, CallError> {
    post("/api/v1/auth/login", credentials).await
}

/// Renews the session's token (and cookie); fails with 401 once the session has ended.
pub async fn refresh() -> Result<RefreshResponse, CallError> {
    post("/api/v1/auth/refresh", &serde_json::json!({})).await
}

/// Changes the signed-in user's own password.
pub async fn change_password(change: &PasswordChange) -> Result<(), CallError> {
    post_expecting_nothing("/api/v1/auth/password", change).await
}

/// The brigade (head chefs only).
#[cfg_attr(feature = "ssr", allow(dead_code, reason = "the server renders from its store instead"))]
pub async fn users() -> Result<Vec<User>, CallError> {
    get("/api/v1/users").await
}

/// Adds a person; the answer holds their temporary password, shown once.
pub async fn create_user(new: &NewUser) -> Result<CreatedUser, CallError> {
    post("/api/v1/users", new).await
}

/// Changes a person's names, role or active flag.
pub async fn update_user(id: UserId, changes: &UserChanges) -> Result<User, CallError> {
    let request = Request::patch(&format!("/api/v1/users/{id}"))
        .json(changes)
        .map_err(|error| CallError::local(error.to_string()))?;
    read_json(request.send().await.map_err(unreachable)?).await
}

/// Gives a person a new temporary password.
pub async fn reset_password(id: UserId) -> Result<TemporaryPassword, CallError> {
    post(&format!("/api/v1/users/{id}/reset-password"), &serde_json::json!({})).await
}

/// Signs out: the server ends the session and clears the cookie.
pub async fn logout() {
    // Even if the call fails, the page goes to sign-in; the session then ends when it idles
    // out. There is nothing more useful to do with the error.
    let _ = post_expecting_nothing("/api/v1/auth/logout", &serde_json::json!({})).await;
}

/// The signed-in user.
#[cfg_attr(feature = "ssr", allow(dead_code, reason = "the server renders from its store instead"))]
pub async fn me() -> Result<User, CallError> {
    get("/api/v1/auth/me").await
}

/// The caller's kitchen and its settings.
pub async fn kitchen() -> Result<KitchenSettings, CallError> {
    get("/api/v1/kitchen").await
}

/// Changes the kitchen's settings (head chefs); the settings as they now are.
pub async fn change_kitchen(changes: &KitchenChanges) -> Result<KitchenSettings, CallError> {
    let request =
        Request::patch("/api/v1/kitchen").json(changes).map_err(|error| CallError::local(error.to_string()))?;
    read_json(request.send().await.map_err(unreachable)?).await
}

/// The kitchen's counts, as the dashboard's badges start from them.
#[cfg_attr(feature = "ssr", allow(dead_code, reason = "the server renders from its store instead"))]
pub async fn snapshot() -> Result<Snapshot, CallError> {
    get("/api/v1/notifications/snapshot").await
}

/// The pending items of `category`, newest first (`T` is that category's item type).
pub async fn pending<T: DeserializeOwned>(category: Category) -> Result<Vec<T>, CallError> {
    get(&format!("/api/v1/{}?status=PENDING", category.resource())).await
}

/// The caller's own newest `limit` items of `category` (a cook sees only their own).
pub async fn own_items<T: DeserializeOwned>(category: Category, limit: i64) -> Result<Vec<T>, CallError> {
    get(&format!("/api/v1/{}?limit={limit}", category.resource())).await
}

/// One item of `category` (`T` is that category's item type).
pub async fn item<T: DeserializeOwned>(category: Category, id: i64) -> Result<T, CallError> {
    get(&format!("/api/v1/{}/{id}", category.resource())).await
}

/// Asks for an ingredient; sent again with the same `key`, it is answered the same item.
pub async fn create_ingredient_request(new: &NewIngredientRequest, key: &str) -> Result<IngredientRequest, CallError> {
    post_once("/api/v1/ingredient-requests", new, key).await
}

/// Suggests a dish; sent again with the same `key`, it is answered the same suggestion.
pub async fn create_dish_suggestion(new: &NewDishSuggestion, key: &str) -> Result<DishSuggestion, CallError> {
    post_once("/api/v1/dish-suggestions", new, key).await
}

/// The VAPID key pages subscribe with.
pub async fn push_key() -> Result<PushKey, CallError> {
    get("/api/v1/push/key").await
}

/// Subscribes this browser to the signed-in user's pushes.
pub async fn subscribe_push(subscription: &NewPushSubscription) -> Result<PushSubscriptionId, CallError> {
    post("/api/v1/push/subscriptions", subscription).await
}

/// Unsubscribes one of the signed-in user's browsers.
pub async fn unsubscribe_push(id: i64) -> Result<(), CallError> {
    delete(&format!("/api/v1/push/subscriptions/{id}")).await
}

/// One page of `category`'s items for the history, newest first: `query` holds the filters
/// (`status`, `reviewedSince`, `person`), `before` the last id of the page before.
pub async fn history_page<T: DeserializeOwned>(
    category: Category,
    query: &str,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<T>, CallError> {
    let cursor = before.map(|id| format!("&before={id}")).unwrap_or_default();
    get(&format!("/api/v1/{}?limit={limit}{query}{cursor}", category.resource())).await
}

/// Approves or rejects an item.
pub async fn review(category: Category, id: i64, decision: Decision, note: Option<String>) -> Result<(), CallError> {
    let path = format!("/api/v1/{}/{id}/{}", category.resource(), decision.action());
    post::<_, serde_json::Value>(&path, &ReviewBody { note }).await.map(|_| ())
}

/// Approves or rejects several items with one note; what came of each, in order.
pub async fn review_many(body: &BulkReview) -> Result<BulkReviewResults, CallError> {
    post("/api/v1/reviews", body).await
}

/// The kitchen's webhooks (head chefs).
#[cfg_attr(feature = "ssr", allow(dead_code, reason = "the server renders from its store instead"))]
pub async fn webhooks() -> Result<Vec<WebhookInfo>, CallError> {
    get("/api/v1/webhooks").await
}

/// Adds a webhook; the answer holds its secret, shown this once.
pub async fn add_webhook(webhook: &NewWebhook) -> Result<CreatedWebhook, CallError> {
    post("/api/v1/webhooks", webhook).await
}

/// Sends a webhook a `ping`.
pub async fn test_webhook(id: i64) -> Result<WebhookPing, CallError> {
    post(&format!("/api/v1/webhooks/{id}/test"), &()).await
}

/// A webhook's recent deliveries, newest first.
pub async fn webhook_deliveries(id: i64) -> Result<Vec<WebhookDelivery>, CallError> {
    get(&format!("/api/v1/webhooks/{id}/deliveries")).await
}

/// Deletes a webhook.
pub async fn delete_webhook(id: i64) -> Result<(), CallError> {
    delete(&format!("/api/v1/webhooks/{id}")).await
}

/// A DELETE, declared JSON though it has no body: the edge asks that of every change a cookie
/// authenticates (a form of another site cannot send it).
async fn delete(path: &str) -> Result<(), CallError> {
    let request = Request::delete(path).header("Content-Type", "application/json");
    let response = request.send().await.map_err(unreachable)?;
    if response.ok() {
        return Ok(());
    }
    read_json::<serde_json::Value>(response).await.map(|_| ())
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    read_json(Request::get(path).send().await.map_err(unreachable)?).await
}

async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, CallError> {
    let request = Request::post(path).json(body).map_err(|error| CallError::local(error.to_string()))?;
    read_json(request.send().await.map_err(unreachable)?).await
}

/// A POST with an `Idempotency-Key` (API.md section 11).
async fn post_once<B: Serialize, T: DeserializeOwned>(path: &str, body: &B, key: &str) -> Result<T, CallError> {
    let request = Request::post(path)
        .header("Idempotency-Key", key)
        .json(body)
        .map_err(|error| CallError::local(error.to_string()))?;
    read_json(request.send().await.map_err(unreachable)?).await
}

async fn post_expecting_nothing<B: Serialize>(path: &str, body: &B) -> Result<(), CallError> {
    let request = Request::post(path).json(body).map_err(|error| CallError::local(error.to_string()))?;
    let response = request.send().await.map_err(unreachable)?;
    if response.ok() {
        return Ok(());
    }
    read_json::<serde_json::Value>(response).await.map(|_| ())
}

fn unreachable(error: gloo_net::Error) -> CallError {
    CallError::local(error.to_string())
}

/// Parses a success body, or turns an error body into its human message.
async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T, CallError> {
    let status = response.status();
    if response.ok() {
        return response.json::<T>().await.map_err(|error| CallError { status, ..CallError::local(error.to_string()) });
    }
    let retry_after = response.headers().get("retry-after").and_then(|seconds| seconds.trim().parse().ok());
    Err(match response.json::<ErrorBody>().await {
        Ok(body) => CallError { status, code: body.error, field: body.field, message: body.message, retry_after },
        Err(_) => CallError { status, ..CallError::local(format!("The server answered {status}.")) },
    })
}

/// Full page navigation, so the next page is rendered by the server with the new cookie.
pub fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        // A failed navigation leaves the user on the current page, the best fallback there is.
        let _ = window.location().set_href(path);
    }
}
