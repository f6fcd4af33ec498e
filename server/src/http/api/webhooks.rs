//! `/webhooks`: a kitchen's webhooks (API.md section 14), the head chef's alone. Add one (its
//! signing secret is shown in that answer only), list, delete, send a `ping`, and read its
//! recent deliveries. Another kitchen's webhook is not found.

use super::{
    docs::{answer, endpoint, list_of, Access, Endpoint},
    ApiError, ApiJson, ApiRoute,
};
use crate::{
    http::{caller::HeadChef, AppState},
    store::{WebhookToStore, MAX_WEBHOOKS_PER_KITCHEN},
};
use app::wire::{CreatedWebhook, NewWebhook, WebhookDelivery, WebhookEvent, WebhookInfo, WebhookPing};
use axum::{
    extract::{rejection::PathRejection, Path, State},
    http::{Method, StatusCode},
    Json,
};

pub fn routes() -> Vec<ApiRoute> {
    let tag = "webhooks";
    vec![
        ApiRoute::new(
            Endpoint {
                answer: answer(201, "Added; the secret is shown in this answer only", Some("CreatedWebhook")),
                errors: vec![
                    (400, "invalid_field: the URL (https:// to a public address) or the events"),
                    (409, "webhook_limit: the kitchen has 10 webhooks already"),
                ],
                ..endpoint(
                    Method::POST,
                    "/webhooks",
                    tag,
                    "Add a webhook to the kitchen",
                    Access::HeadChefs,
                    Some("NewWebhook"),
                )
            },
            add,
        ),
        ApiRoute::new(
            Endpoint {
                answer: list_of("WebhookInfo"),
                ..endpoint(Method::GET, "/webhooks", tag, "The kitchen's webhooks", Access::HeadChefs, None)
            },
            list,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(204, "Deleted, with its log and whatever it had still to send", None),
                errors: vec![(404, "not_found: no such webhook of the kitchen")],
                ..endpoint(Method::DELETE, "/webhooks/{id}", tag, "Delete a webhook", Access::HeadChefs, None)
            },
            delete,
        ),
        ApiRoute::new(
            Endpoint {
                answer: answer(202, "A ping is on its way (see the deliveries)", Some("WebhookPing")),
                errors: vec![(404, "not_found: no such webhook of the kitchen")],
                ..endpoint(Method::POST, "/webhooks/{id}/test", tag, "Send the webhook a ping", Access::HeadChefs, None)
            },
            ping,
        ),
        ApiRoute::new(
            Endpoint {
                answer: list_of("WebhookDelivery"),
                errors: vec![(404, "not_found: no such webhook of the kitchen")],
                ..endpoint(
                    Method::GET,
                    "/webhooks/{id}/deliveries",
                    tag,
                    "The webhook's recent deliveries, newest first",
                    Access::HeadChefs,
                    None,
                )
            },
            deliveries,
        ),
    ]
}

/// The events a webhook may take, as an error message lists them.
const EVENTS: &str = "item.created, item.approved, item.rejected, item.escalated";

/// The events asked for: one or more of the four, each once.
fn events_of(names: &[String]) -> Result<Vec<WebhookEvent>, ApiError> {
    let mut events = Vec::new();
    for name in names {
        let event = WebhookEvent::parse(name).filter(|event| *event != WebhookEvent::Ping).ok_or_else(|| {
            ApiError::InvalidField(format!(
                "events: {name:?} is not one of item.created, item.approved, item.rejected, item.escalated"
            ))
        })?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(ApiError::InvalidField(format!("events must name at least one of {EVENTS}")));
    }
    Ok(events)
}

async fn add(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    ApiJson(webhook): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    state
        .webhook_rules
        .check(&webhook.url)
        .map_err(|why| ApiError::InvalidField(format!("url must be https:// to a public address ({why})")))?;
    let events = events_of(&webhook.events)?;
    let (secret, sealed_secret) = state.webhook_sealer.fresh();
    let stored =
        WebhookToStore { kitchen_id: chef.kitchen, url: &webhook.url, events: &events, sealed_secret: &sealed_secret };
    let added = state.store.add_webhook(&stored).await?.ok_or(ApiError::WebhookLimit(MAX_WEBHOOKS_PER_KITCHEN))?;
    Ok((StatusCode::CREATED, Json(CreatedWebhook { id: added.id, url: added.url, events: added.events, secret })))
}

async fn list(State(state): State<AppState>, HeadChef(chef): HeadChef) -> Result<Json<Vec<WebhookInfo>>, ApiError> {
    Ok(Json(state.store.webhooks(chef.kitchen).await?))
}

async fn delete(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    if state.store.delete_webhook(chef.kitchen, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

async fn ping(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    id: Result<Path<i64>, PathRejection>,
) -> Result<(StatusCode, Json<WebhookPing>), ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    let event_id = state.store.ping_webhook(chef.kitchen, id).await?.ok_or(ApiError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(WebhookPing { event_id })))
}

async fn deliveries(
    State(state): State<AppState>,
    HeadChef(chef): HeadChef,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::NotFound)?;
    Ok(Json(state.store.webhook_deliveries(chef.kitchen, id).await?.ok_or(ApiError::NotFound)?))
}
