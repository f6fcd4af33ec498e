//! `/push`: Web Push (API.md section 10). The deployment's VAPID key, and the caller's own
//! push subscriptions: add (the same endpoint again is the same subscription, now the
//! caller's), list, delete. A subscription lives as long as the sign-in that made it.

use super::{
    docs::{answer, endpoint, list_of, Access, Endpoint},
    ApiError, ApiJson, ApiRoute,
};
use crate::{accounts::Caller, http::AppState, outbound::push::SubscriptionKeys, store::PushSubscriptionToStore};
use app::wire::{NewPushSubscription, PushKey, PushSubscriptionId, PushSubscriptionInfo};
use axum::{
    extract::{rejection::PathRejection, Path, State},
    http::{Method, StatusCode},
    Json,
};

pub fn routes() -> Vec<ApiRoute> {
    let tag = "push";
    vec![
        ApiRoute::new(
            Endpoint {
                answer: answer(200, "The VAPID application server key", Some("PushKey")),
                ..endpoint(Method::GET, "/push/key", tag, "The key pages subscribe with", Access::SignedIn, None)
            },
            key,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(
                    201,
                    "Subscribed (200 with the same id: that endpoint was subscribed, and is now the caller's)",
                    Some("PushSubscriptionId"),
                ),
                errors: vec![(
                    400,
                    "validation: the endpoint is not https:// to a public address, or the keys are unusable",
                )],
                ..endpoint(
                    Method::POST,
                    "/push/subscriptions",
                    tag,
                    "Subscribe this browser to the caller's pushes",
                    Access::SignedIn,
                    Some("NewPushSubscription"),
                )
            },
            subscribe,
        ),
        ApiRoute::new(
            Endpoint {
                answer: list_of("PushSubscriptionInfo"),
                ..endpoint(
                    Method::GET,
                    "/push/subscriptions",
                    tag,
                    "The caller's subscriptions",
                    Access::SignedIn,
                    None,
                )
            },
            list,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(204, "Deleted", None),
                errors: vec![(404, "not_found: no such subscription of the caller's")],
                ..endpoint(
                    Method::DELETE,
                    "/push/subscriptions/{id}",
                    tag,
                    "Unsubscribe one of the caller's browsers",
                    Access::SignedIn,
                    None,
                )
            },
            unsubscribe,
        ),
    ]
}

async fn key(State(state): State<AppState>, _caller: Caller) -> Result<Json<PushKey>, ApiError> {
    // Read each time: `server push rotate-key` may have replaced it in any process.
    let stored = state.store.push_key().await?.ok_or(ApiError::Unavailable)?;
    Ok(Json(PushKey { public_key: stored.public_key }))
}

async fn subscribe(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(subscription): ApiJson<NewPushSubscription>,
) -> Result<(StatusCode, Json<PushSubscriptionId>), ApiError> {
    state.outbound.check(&subscription.endpoint).map_err(|why| ApiError::Validation(format!("endpoint: {why}")))?;
    SubscriptionKeys::parse(&subscription.keys.p256dh, &subscription.keys.auth).map_err(ApiError::Validation)?;
    let stored = PushSubscriptionToStore {
        // As the browser wrote it: the same endpoint again is recognised by its text.
        endpoint: &subscription.endpoint,
        p256dh: subscription.keys.p256dh.trim_end_matches('='),
        auth: subscription.keys.auth.trim_end_matches('='),
    };
    let (id, created) = state.store.subscribe_push(caller.user, caller.session, &stored).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(PushSubscriptionId { id })))
}

async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<PushSubscriptionInfo>>, ApiError> {
    let clock = state.store.kitchen_clock(caller.kitchen).await?;
    let rows = state.store.push_subscriptions(caller.user).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| PushSubscriptionInfo {
                id: row.id,
                endpoint: row.endpoint,
                created_at: clock.format(row.created_at),
            })
            .collect(),
    ))
}

async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    if state.store.delete_push_subscription(caller.user, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
