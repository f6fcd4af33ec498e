//! Kitchens: each has a name, a time zone, and one row of pending counters with its own
//! `seq` (`kitchen_counters`), bumped in every item write of that kitchen.
//!
//! A kitchen's zone never changes once it is made, so each process keeps the clocks it has
//! read; a kitchen made without a zone reads the time in the deployment's `MISEOS_TIMEZONE`.

use super::{Store, StoreError};
use crate::{clock::KitchenClock, event::PendingCounts};
use app::wire::{Category, KitchenId};
use chrono_tz::Tz;
use sqlx::{AssertSqlSafe, Row};

/// The id of the demo kitchen, which the demo users belong to.
pub const DEMO_KITCHEN_ID: KitchenId = KitchenId(1);
/// The demo kitchen's name, as the contract gives it.
pub const DEMO_KITCHEN_NAME: &str = "MiseOS Test Kitchen";

/// A kitchen as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kitchen {
    pub id: KitchenId,
    pub name: String,
    /// Its IANA zone; `None` for the deployment's.
    pub time_zone: Option<Tz>,
}

impl Store {
    /// Makes a kitchen with no items and its counters at zero; returns it.
    pub async fn create_kitchen(&self, name: &str, time_zone: Option<Tz>) -> Result<Kitchen, StoreError> {
        let mut write = self.begin_write().await?;
        let row = sqlx::query("INSERT INTO kitchens (name, time_zone, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(name)
            .bind(time_zone.map(|zone| zone.name().to_string()))
            .bind(super::now_millis())
            .fetch_one(&mut *write.tx)
            .await?;
        let id = KitchenId(row.try_get(0)?);
        start_counters(&mut write.tx, id).await?;
        write.tx.commit().await?;
        Ok(Kitchen { id, name: name.to_string(), time_zone })
    }

    /// Makes the demo kitchen unless it exists (two processes may seed at once). Whether
    /// kitchen 1 is the demo kitchen: an operator may have made another kitchen 1 first.
    pub async fn ensure_demo_kitchen(&self) -> Result<bool, StoreError> {
        let mut write = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO kitchens (id, name, time_zone, created_at) VALUES ($1, $2, NULL, $3) ON CONFLICT DO NOTHING",
        )
        .bind(DEMO_KITCHEN_ID.0)
        .bind(DEMO_KITCHEN_NAME)
        .bind(super::now_millis())
        .execute(&mut *write.tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            start_counters(&mut write.tx, DEMO_KITCHEN_ID).await?;
            if self.backend == super::Backend::Postgres {
                // An explicit id does not move the identity; the next kitchen must not collide.
                sqlx::query(
                    "SELECT setval(pg_get_serial_sequence('kitchens', 'id'), GREATEST((SELECT MAX(id) FROM kitchens), 1))",
                )
                .execute(&mut *write.tx)
                .await?;
            }
        }
        let name: String = sqlx::query_scalar("SELECT name FROM kitchens WHERE id = $1")
            .bind(DEMO_KITCHEN_ID.0)
            .fetch_one(&mut *write.tx)
            .await?;
        write.tx.commit().await?;
        Ok(name == DEMO_KITCHEN_NAME)
    }

    /// Every kitchen, by id.
    pub async fn kitchens(&self) -> Result<Vec<Kitchen>, StoreError> {
        let rows = sqlx::query("SELECT id, name, time_zone FROM kitchens ORDER BY id")
            .fetch_all(&mut *self.connection().await?)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Kitchen { id: KitchenId(row.try_get(0)?), name: row.try_get(1)?, time_zone: zone(row.try_get(2)?) })
            })
            .collect()
    }

    /// The clock of a kitchen: its own zone, or the deployment's. Read once per process.
    pub async fn kitchen_clock(&self, kitchen_id: KitchenId) -> Result<KitchenClock, StoreError> {
        if let Some(clock) = self.clocks().get(&kitchen_id) {
            return Ok(*clock);
        }
        let row = sqlx::query("SELECT time_zone FROM kitchens WHERE id = $1")
            .bind(kitchen_id.0)
            .fetch_optional(&mut *self.connection().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        let clock = zone(row.try_get(0)?).map_or(self.default_clock, KitchenClock::new);
        self.clocks_mut().insert(kitchen_id, clock);
        Ok(clock)
    }

    fn clocks(&self) -> std::sync::RwLockReadGuard<'_, std::collections::HashMap<KitchenId, KitchenClock>> {
        // Inserting a copyable value cannot panic half-way: a poisoned map is still whole.
        self.clocks.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn clocks_mut(&self) -> std::sync::RwLockWriteGuard<'_, std::collections::HashMap<KitchenId, KitchenClock>> {
        self.clocks.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One kitchen's pending counts and their `seq`: one row, whatever the history.
    pub async fn pending_counts(&self, kitchen_id: KitchenId) -> Result<PendingCounts, StoreError> {
        let row = sqlx::query(
            "SELECT seq, ingredient_requests, dish_suggestions FROM kitchen_counters WHERE kitchen_id = $1",
        )
        .bind(kitchen_id.0)
        .fetch_optional(&mut *self.connection().await?)
        .await?
        .ok_or(StoreError::NotFound)?;
        counts_from_row(&row)
    }

    /// Every kitchen's pending counts (a listener that reconnected resends them all).
    pub async fn all_pending_counts(&self) -> Result<Vec<(KitchenId, PendingCounts)>, StoreError> {
        let rows = sqlx::query("SELECT seq, ingredient_requests, dish_suggestions, kitchen_id FROM kitchen_counters")
            .fetch_all(&mut *self.connection().await?)
            .await?;
        rows.iter().map(|row| Ok((KitchenId(row.try_get(3)?), counts_from_row(row)?))).collect()
    }
}

/// The zone a stored name names; a name this build does not know counts as none.
fn zone(name: Option<String>) -> Option<Tz> {
    name.and_then(|name| name.parse().ok())
}

fn counts_from_row(row: &sqlx::any::AnyRow) -> Result<PendingCounts, StoreError> {
    Ok(PendingCounts { seq: row.try_get(0)?, ingredient_requests: row.try_get(1)?, dish_suggestions: row.try_get(2)? })
}

/// The counter row of a new kitchen.
async fn start_counters(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    kitchen_id: KitchenId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO kitchen_counters (kitchen_id, seq, ingredient_requests, dish_suggestions) VALUES ($1, 0, 0, 0)",
    )
    .bind(kitchen_id.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves one category's pending count of a kitchen by `delta` and takes the kitchen's next
/// `seq`; returns the kitchen's counts after it. This UPDATE is the first write of every
/// transaction that calls it first, so on SQLite it takes the write lock before anything is
/// read, and on PostgreSQL it locks only this kitchen's row.
pub(super) async fn bump_pending(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    kitchen_id: KitchenId,
    category: Category,
    delta: i64,
) -> Result<PendingCounts, StoreError> {
    let column = match category {
        Category::IngredientRequest => "ingredient_requests",
        Category::DishSuggestion => "dish_suggestions",
    };
    // Only a fixed column name is interpolated; the values are bound.
    let sql = format!(
        "UPDATE kitchen_counters SET seq = seq + 1, {column} = {column} + $1 WHERE kitchen_id = $2 \
         RETURNING seq, ingredient_requests, dish_suggestions"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(delta)
        .bind(kitchen_id.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    counts_from_row(&row)
}
