//! Webhooks in the database (API.md section 14): a kitchen's receivers, the log of their
//! deliveries, and each pending delivery's row in the outbox (beside the pushes).
//!
//! - **Recorded with the change.** A change's deliveries ([`enqueue_deliveries`]) are written
//!   in its own transaction, one per webhook of the kitchen that takes the event, with one
//!   event id for all of them: a change that commits is delivered, one that rolls back is not.
//!   The kitchen's counter row counts its webhooks, so an item write of a kitchen without
//!   any (read from the row it updates anyway) records nothing and costs no statement more.
//! - **In commit order per webhook.** Every transaction that records deliveries holds its
//!   kitchen's counter row from before it writes their outbox rows until it commits (creates
//!   and reviews take that row anyway), so a kitchen's outbox ids are handed out in commit
//!   order; and only a webhook's first row in the outbox is ever taken
//!   ([`Store::take_due_deliveries`]): the next waits until it has been delivered or given up.
//!   A slow or dead receiver holds up its own webhook, and no other.
//! - **Exactly one process sends a row at a time**: taken with `FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL for a lease, as pushes are. Instants are the database's clock.

use super::{push::database_now, Backend, Store, StoreError};
use app::wire::{KitchenId, WebhookDelivery, WebhookEvent, WebhookInfo};
use sqlx::{AssertSqlSafe, Row};

/// The most webhooks a kitchen may have.
pub const MAX_WEBHOOKS_PER_KITCHEN: i64 = 10;

/// How many deliveries the log lists.
const DELIVERIES_LISTED: i64 = 50;

/// A webhook to store: its URL (checked), events, and sealed secret.
#[derive(Clone, Copy, Debug)]
pub struct WebhookToStore<'a> {
    pub kitchen_id: KitchenId,
    pub url: &'a str,
    pub events: &'a [WebhookEvent],
    pub sealed_secret: &'a str,
}

/// A delivery taken from the outbox to be sent now.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub outbox_id: i64,
    pub webhook_id: i64,
    pub delivery_id: i64,
    pub url: String,
    pub sealed_secret: String,
    /// The event id (`X-MiseOS-Event-Id`), the same on every attempt.
    pub event_id: String,
    /// The body, exactly as signed and sent.
    pub body: String,
    /// When it was recorded (Unix ms, the database's clock): it is given up 24 hours on.
    pub created_at: i64,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Now, on the database's clock, when it was taken.
    pub taken_at: i64,
}

/// What came of one attempt, as the deliveries log records it.
#[derive(Clone, Debug)]
pub struct AttemptRecord<'a> {
    /// The receiver's status code; `None` when no answer came.
    pub status_code: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<&'a str>,
}

/// What comes of a delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryNext {
    Delivered,
    /// Given up: 24 hours without success, or it can never succeed.
    Failed,
    /// Tried again this many milliseconds from now.
    RetryAfter(i64),
}

/// The stored form of a list of events: each between spaces.
fn events_column(events: &[WebhookEvent]) -> String {
    let names: Vec<&str> = events.iter().map(|event| event.as_str()).collect();
    format!(" {} ", names.join(" "))
}

fn events_of(column: &str) -> Vec<WebhookEvent> {
    column.split_whitespace().filter_map(WebhookEvent::parse).collect()
}

/// The JSON body of a delivery (API.md section 14): `data` is JSON already.
fn delivery_body(event_id: &str, event: WebhookEvent, kitchen_id: KitchenId, created_at: &str, data: &str) -> String {
    // The id, type and instant are ASCII without quotes or backslashes; `data` is JSON.
    format!(
        r#"{{"id":"{event_id}","type":"{}","kitchenId":{kitchen_id},"createdAt":"{created_at}","data":{data}}}"#,
        event.as_str()
    )
}

/// A fresh event id: `evt_` and 128 random bits in hex.
fn new_event_id() -> String {
    format!("evt_{}{}", super::random_id(), super::random_id())
}

/// Records, in the caller's transaction, one delivery of `event` to each webhook of
/// `kitchen_id` that takes it, with `data` (JSON) as the body's `data`; the event's id, or
/// `None` when no webhook takes it. With `only_webhook`, to that webhook alone (a test send,
/// which every webhook takes).
async fn enqueue_deliveries(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    kitchen_id: KitchenId,
    event: WebhookEvent,
    data: &str,
    only_webhook: Option<i64>,
) -> Result<Option<String>, sqlx::Error> {
    let now = database_now(backend);
    let event_id = new_event_id();
    // The event's name is written into the pattern (one of five fixed names, never a user's
    // text): a bound LIKE pattern makes SQLite plan the statement again for every value.
    let which = match only_webhook {
        Some(_) => "id = $4".to_string(),
        None => format!("events LIKE '% {} %'", event.as_str()),
    };
    let recorded = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, created_at) \
         SELECT id, $1, $2, {now} FROM webhooks WHERE kitchen_id = $3 AND {which} RETURNING created_at"
    )))
    .bind(&event_id)
    .bind(event.as_str())
    .bind(kitchen_id.0);
    let recorded = match only_webhook {
        Some(webhook) => recorded.bind(webhook),
        None => recorded,
    };
    let recorded = recorded.fetch_all(&mut **tx).await?;
    let Some(first) = recorded.first() else { return Ok(None) };
    let created_at: i64 = first.try_get(0)?;
    // Held until commit (a no-op when the change already holds it): this kitchen's outbox
    // ids are handed out in commit order.
    sqlx::query("UPDATE kitchen_counters SET seq = seq WHERE kitchen_id = $1")
        .bind(kitchen_id.0)
        .execute(&mut **tx)
        .await?;
    let body = delivery_body(&event_id, event, kitchen_id, &rfc3339(created_at), data);
    sqlx::query(
        "INSERT INTO outbox (webhook_id, webhook_delivery_id, payload, created_at, due_at) \
         SELECT webhook_id, id, $1, $2, $2 FROM webhook_deliveries WHERE event_id = $3 ORDER BY id",
    )
    .bind(body)
    .bind(created_at)
    .bind(&event_id)
    .execute(&mut **tx)
    .await?;
    Ok(Some(event_id))
}

/// Records, in the caller's transaction, `event` of an item (`item`, its JSON) for every
/// webhook of the kitchen that takes it; whether any does.
pub(super) async fn enqueue_item_deliveries(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    kitchen_id: KitchenId,
    event: WebhookEvent,
    item: &str,
) -> Result<bool, sqlx::Error> {
    let data = format!(r#"{{"item":{item}}}"#);
    Ok(enqueue_deliveries(tx, backend, kitchen_id, event, &data, None).await?.is_some())
}

/// Unix milliseconds as RFC 3339 in UTC, to the millisecond.
fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Stores a new webhook; `None` when the kitchen has [`MAX_WEBHOOKS_PER_KITCHEN`] already.
    pub async fn add_webhook(&self, webhook: &WebhookToStore<'_>) -> Result<Option<WebhookInfo>, StoreError> {
        let mut write = self.begin_write().await?;
        // Counted on the kitchen's counter row (locked until commit: two adds at once count
        // each other), where every item write reads it.
        let count: i64 =
            sqlx::query("UPDATE kitchen_counters SET webhooks = webhooks + 1 WHERE kitchen_id = $1 RETURNING webhooks")
                .bind(webhook.kitchen_id.0)
                .fetch_optional(&mut *write.tx)
                .await?
                .ok_or(StoreError::NotFound)?
                .try_get(0)?;
        if count > MAX_WEBHOOKS_PER_KITCHEN {
            write.tx.rollback().await?;
            return Ok(None);
        }
        let now = database_now(self.backend);
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO webhooks (kitchen_id, url, events, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, {now}) RETURNING id, created_at"
        )))
        .bind(webhook.kitchen_id.0)
        .bind(webhook.url)
        .bind(events_column(webhook.events))
        .bind(webhook.sealed_secret)
        .fetch_one(&mut *write.tx)
        .await?;
        write.tx.commit().await?;
        let clock = self.kitchen_clock(webhook.kitchen_id).await?;
        Ok(Some(WebhookInfo {
            id: row.try_get(0)?,
            url: webhook.url.to_string(),
            events: webhook.events.to_vec(),
            created_at: clock.format(row.try_get(1)?),
        }))
    }

    /// A kitchen's webhooks, oldest first.
    pub async fn webhooks(&self, kitchen_id: KitchenId) -> Result<Vec<WebhookInfo>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let rows = sqlx::query("SELECT id, url, events, created_at FROM webhooks WHERE kitchen_id = $1 ORDER BY id")
            .bind(kitchen_id.0)
            .fetch_all(&mut *self.connection().await?)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(WebhookInfo {
                    id: row.try_get(0)?,
                    url: row.try_get(1)?,
                    events: events_of(&row.try_get::<String, _>(2)?),
                    created_at: clock.format(row.try_get(3)?),
                })
            })
            .collect()
    }

    /// Deletes a webhook of a kitchen (another kitchen's is not found), with its log and
    /// whatever it had still to send; whether it was there.
    pub async fn delete_webhook(&self, kitchen_id: KitchenId, id: i64) -> Result<bool, StoreError> {
        let mut write = self.begin_write().await?;
        // Its log and its outbox rows go with it (their foreign keys cascade).
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND kitchen_id = $2")
            .bind(id)
            .bind(kitchen_id.0)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        if deleted == 1 {
            sqlx::query("UPDATE kitchen_counters SET webhooks = webhooks - 1 WHERE kitchen_id = $1")
                .bind(kitchen_id.0)
                .execute(&mut *write.tx)
                .await?;
        }
        write.tx.commit().await?;
        Ok(deleted == 1)
    }

    /// Records a `ping` to one webhook of a kitchen; its event id, or `None` when the kitchen
    /// has no such webhook.
    pub async fn ping_webhook(&self, kitchen_id: KitchenId, id: i64) -> Result<Option<String>, StoreError> {
        let mut write = self.begin_write().await?;
        let data = format!(r#"{{"webhookId":{id}}}"#);
        let pinged =
            enqueue_deliveries(&mut write.tx, self.backend, kitchen_id, WebhookEvent::Ping, &data, Some(id)).await?;
        let Some(event_id) = pinged else {
            write.tx.rollback().await?;
            return Ok(None);
        };
        write.tx.commit().await?;
        self.webhook_wake.notify_one();
        Ok(Some(event_id))
    }

    /// The newest deliveries of a kitchen's webhook, newest first; `None` for a webhook the
    /// kitchen does not have.
    pub async fn webhook_deliveries(
        &self,
        kitchen_id: KitchenId,
        id: i64,
    ) -> Result<Option<Vec<WebhookDelivery>>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let mut connection = self.connection().await?;
        let known = sqlx::query("SELECT 1 FROM webhooks WHERE id = $1 AND kitchen_id = $2")
            .bind(id)
            .bind(kitchen_id.0)
            .fetch_optional(&mut *connection)
            .await?;
        if known.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT id, event_id, event_type, status, attempts, last_status_code, last_error, created_at, finished_at \
             FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(id)
        .bind(DELIVERIES_LISTED)
        .fetch_all(&mut *connection)
        .await?;
        let deliveries = rows
            .iter()
            .map(|row| {
                Ok(WebhookDelivery {
                    id: row.try_get(0)?,
                    event_id: row.try_get(1)?,
                    event_type: row.try_get(2)?,
                    status: row.try_get(3)?,
                    attempts: row.try_get(4)?,
                    last_status_code: row.try_get(5)?,
                    last_error: row.try_get(6)?,
                    created_at: clock.format(row.try_get(7)?),
                    finished_at: row.try_get::<Option<i64>, _>(8)?.map(|at| clock.format(at)),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Some(deliveries))
    }

    /// Takes at most `limit` deliveries that are due, each the first of its webhook in the
    /// outbox, for `lease_ms`. One statement takes them with their webhooks' URL and secret.
    pub async fn take_due_deliveries(&self, limit: i64, lease_ms: i64) -> Result<Vec<DueDelivery>, StoreError> {
        let mut write = self.begin_write().await?;
        let now = database_now(self.backend);
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let of_webhook = |column: &str| format!("(SELECT w.{column} FROM webhooks w WHERE w.id = outbox.webhook_id)");
        let sql = format!(
            "UPDATE outbox SET due_at = {now} + $1, attempts = attempts + 1 \
             WHERE id IN (SELECT o.id FROM outbox o WHERE o.webhook_id IS NOT NULL AND o.due_at <= {now} \
                 AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.webhook_id = o.webhook_id AND e.id < o.id) \
                 ORDER BY o.id LIMIT $2{skip_locked}) \
             RETURNING id, webhook_id, webhook_delivery_id, payload, created_at, attempts, due_at - $1, {}, {}, \
                 (SELECT d.event_id FROM webhook_deliveries d WHERE d.id = outbox.webhook_delivery_id)",
            of_webhook("url"),
            of_webhook("sealed_secret"),
        );
        let taken = sqlx::query(AssertSqlSafe(sql)).bind(lease_ms).bind(limit).fetch_all(&mut *write.tx).await?;
        write.tx.commit().await?;
        taken
            .iter()
            .map(|row| {
                Ok(DueDelivery {
                    outbox_id: row.try_get(0)?,
                    webhook_id: row.try_get(1)?,
                    delivery_id: row.try_get(2)?,
                    body: row.try_get(3)?,
                    created_at: row.try_get(4)?,
                    attempts: row.try_get(5)?,
                    taken_at: row.try_get(6)?,
                    url: row.try_get(7)?,
                    sealed_secret: row.try_get(8)?,
                    event_id: row.try_get(9)?,
                })
            })
            .collect()
    }

    /// Records an attempt of a delivery in the log and what comes next: delivered or failed
    /// (its outbox row goes, and the webhook's next row becomes its first), or another attempt
    /// `after_ms` from now (the database's now).
    pub async fn record_delivery_attempt(
        &self,
        delivery: &DueDelivery,
        attempt: &AttemptRecord<'_>,
        next: DeliveryNext,
    ) -> Result<(), StoreError> {
        let mut write = self.begin_write().await?;
        let now = database_now(self.backend);
        let (status, ended) = match next {
            DeliveryNext::Delivered => ("DELIVERED", true),
            DeliveryNext::Failed => ("FAILED", true),
            DeliveryNext::RetryAfter(_) => ("PENDING", false),
        };
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status_code = $3, last_error = $4, \
             finished_at = CASE WHEN $5 THEN {now} END WHERE id = $6"
        )))
        .bind(status)
        .bind(delivery.attempts)
        .bind(attempt.status_code.map(i64::from))
        .bind(attempt.error)
        .bind(ended)
        .bind(delivery.delivery_id)
        .execute(&mut *write.tx)
        .await?;
        let outbox = match next {
            DeliveryNext::RetryAfter(after_ms) => {
                sqlx::query(AssertSqlSafe(format!("UPDATE outbox SET due_at = {now} + $1 WHERE id = $2")))
                    .bind(after_ms)
            }
            DeliveryNext::Delivered | DeliveryNext::Failed => sqlx::query("DELETE FROM outbox WHERE id = $1"),
        };
        outbox.bind(delivery.outbox_id).execute(&mut *write.tx).await?;
        write.tx.commit().await?;
        Ok(())
    }

    /// Deletes the log of deliveries that ended more than `kept_ms` ago; how many.
    pub async fn prune_webhook_deliveries(&self, kept_ms: i64) -> Result<u64, StoreError> {
        let now = database_now(self.backend);
        let pruned = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM webhook_deliveries WHERE finished_at IS NOT NULL AND finished_at < {now} - $1"
        )))
        .bind(kept_ms)
        .execute(&mut *self.connection().await?)
        .await?;
        Ok(pruned.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_the_contracts_json() {
        let body = delivery_body(
            "evt_1",
            WebhookEvent::ItemApproved,
            KitchenId(3),
            "2026-12-06T21:40:00.000Z",
            r#"{"item":{"id":5}}"#,
        );
        let read: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            read,
            serde_json::json!({"id": "evt_1", "type": "item.approved", "kitchenId": 3,
                "createdAt": "2026-12-06T21:40:00.000Z", "data": {"item": {"id": 5}}})
        );
        assert_eq!(events_of(&events_column(&[WebhookEvent::ItemCreated, WebhookEvent::ItemEscalated])).len(), 2);
        assert_eq!(rfc3339(1_796_582_400_123), "2026-12-06T18:40:00.123Z");
    }
}
