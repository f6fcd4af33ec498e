//! Escalation (API.md section 12): an item still PENDING `escalateAfterMinutes` after it was
//! made is announced once to its kitchen's chefs, on their sockets and by Web Push, and to its
//! webhooks that take `item.escalated` (section 14).
//!
//! "Once" is kept by the database, not by a process's memory: one conditional `UPDATE` sets
//! the item's `escalated_at`, and only the write that set it announces it and records its
//! pushes and webhook deliveries, in the same transaction. However many processes look, and
//! however often one restarts, the second look finds the item claimed (on PostgreSQL a row
//! another process is claiming is skipped, `SKIP LOCKED`; SQLite's writers take turns). A
//! review commits `status` first or waits for the claim: an item reviewed in time is never
//! escalated, and one escalated and then reviewed is simply reviewed. Ages are measured on the database's
//! clock, the same for every process.

use super::{
    items::{fetch_item, item_json, ItemKind},
    push::{self, database_now, PushRecipients},
    webhooks, Backend, Store, StoreError,
};
use crate::{clock::KitchenClock, event::Announcement, event::Escalation};
use app::wire::{
    Category, DishDetails, IngredientDetails, Item, ItemEscalatedNotice, KitchenId, Notification, WebhookEvent,
};
use sqlx::{AssertSqlSafe, Row};

const MINUTE_MS: i64 = 60_000;

/// What the chefs of `kitchen_id` are told of `item`, if it was escalated.
fn escalation_of<K: ItemKind>(kitchen_id: KitchenId, item: &Item<K>, clock: &KitchenClock) -> Option<Escalation> {
    let at = item.escalated_at_millis?;
    Some(Escalation {
        kitchen_id,
        notice: ItemEscalatedNotice {
            category: K::CATEGORY,
            request_id: item.id,
            item_name: item.name().to_string(),
            requested_by: item.requested_by.clone(),
            // The creation is stamped by a process's clock and the escalation by the
            // database's: a process running ahead must not make the wait negative.
            waited_minutes: (at - item.created_at_millis).max(0) / MINUTE_MS,
            timestamp: clock.format(at),
            escalated_at_millis: at,
        },
    })
}

impl Store {
    /// Escalates the item (of any kitchen, either kind) that has waited longest past its
    /// kitchen's `escalateAfterMinutes` and is not escalated yet, announcing it and recording
    /// its pushes and webhook deliveries in the same transaction; `None` when no item is due.
    pub async fn escalate_next(&self) -> Result<Option<Escalation>, StoreError> {
        match self.escalate_next_of::<IngredientDetails>().await? {
            Some(escalation) => Ok(Some(escalation)),
            None => self.escalate_next_of::<DishDetails>().await,
        }
    }

    async fn escalate_next_of<K: ItemKind>(&self) -> Result<Option<Escalation>, StoreError> {
        let mut write = self.begin_write().await?;
        let now = database_now(self.backend);
        // Only the item row is locked: a kitchen's row stays free for its other writes.
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE OF t SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let after = "COALESCE(k.escalate_after_minutes, $1)";
        let sql = format!(
            "UPDATE {table} SET escalated_at = {now} \
             WHERE id = (SELECT t.id FROM {table} t JOIN kitchens k ON k.id = t.kitchen_id \
                 WHERE t.status = 'PENDING' AND t.escalated_at IS NULL AND {after} > 0 \
                 AND t.created_at <= {now} - {after} * {MINUTE_MS} \
                 ORDER BY t.created_at LIMIT 1{skip_locked}) \
             AND status = 'PENDING' AND escalated_at IS NULL \
             RETURNING id, kitchen_id",
            table = K::TABLE,
        );
        let claimed = sqlx::query(AssertSqlSafe(sql))
            .bind(self.kitchen_defaults.escalate_after_minutes)
            .fetch_optional(&mut *write.tx)
            .await?;
        let Some(claimed) = claimed else {
            write.tx.rollback().await?;
            return Ok(None);
        };
        let (id, kitchen_id): (i64, KitchenId) = (claimed.try_get(0)?, KitchenId(claimed.try_get(1)?));
        let clock = self.kitchen_clock(kitchen_id).await?;
        let item = fetch_item::<K, _>(&mut *write.tx, &clock, kitchen_id, id).await?.ok_or(StoreError::NotFound)?;
        let escalation = escalation_of(kitchen_id, &item, &clock).ok_or(StoreError::NotFound)?;
        let payload = push::push_payload(&Notification::ItemEscalated(escalation.notice.clone()));
        write.wakes_outbox =
            push::enqueue_pushes(&mut write.tx, self.backend, PushRecipients::ChefsOf(kitchen_id), &payload).await? > 0;
        write.wakes_webhooks = webhooks::enqueue_item_deliveries(
            &mut write.tx,
            self.backend,
            kitchen_id,
            WebhookEvent::ItemEscalated,
            &item_json(&item),
        )
        .await?;
        self.commit(write, Announcement::ItemEscalated(escalation.clone())).await?;
        Ok(Some(escalation))
    }

    /// What the chefs were told of an escalated item, read back (another process escalated
    /// it); `None` for an item that does not exist or was not escalated.
    pub async fn escalation(
        &self,
        kitchen_id: KitchenId,
        category: Category,
        id: i64,
    ) -> Result<Option<Escalation>, StoreError> {
        match category {
            Category::IngredientRequest => self.escalation_of_kind::<IngredientDetails>(kitchen_id, id).await,
            Category::DishSuggestion => self.escalation_of_kind::<DishDetails>(kitchen_id, id).await,
        }
    }

    async fn escalation_of_kind<K: ItemKind>(
        &self,
        kitchen_id: KitchenId,
        id: i64,
    ) -> Result<Option<Escalation>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let item = fetch_item::<K, _>(&mut *self.connection().await?, &clock, kitchen_id, id).await?;
        Ok(item.and_then(|item| escalation_of(kitchen_id, &item, &clock)))
    }
}
