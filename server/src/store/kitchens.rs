//! Kitchens: each has a name, a time zone, its settings (API.md section 12), and one row of
//! pending counters with its own `seq` (`kitchen_counters`), bumped in every item write of
//! that kitchen.
//!
//! Each process keeps the clocks it has read, and forgets one when its kitchen's settings
//! change; a kitchen without a zone of its own reads the time in the deployment's
//! `MISEOS_TIMEZONE`, and one without settings of its own follows the deployment's
//! ([`KitchenDefaults`]).

use super::{Store, StoreError};
use crate::{
    clock::KitchenClock,
    event::{Announcement, KitchenUpdate, PendingCounts},
    validate,
};
use app::wire::{Category, KitchenChanges, KitchenId, KitchenSettings};
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

/// The settings a kitchen without its own follows (the deployment's variables), which a new
/// kitchen starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KitchenDefaults {
    pub amber_minutes: i64,
    pub red_minutes: i64,
    pub escalate_after_minutes: i64,
}

impl KitchenDefaults {
    /// The deployment's variables (`MISEOS_WAITING_AMBER_MINUTES`, `…_RED_MINUTES`,
    /// `MISEOS_ESCALATE_AFTER_MINUTES`), held to the rules a head chef's own settings are.
    pub fn of(config: &crate::config::Config) -> Result<KitchenDefaults, String> {
        let waiting = config.waiting_thresholds();
        let defaults = KitchenDefaults {
            amber_minutes: waiting.amber_minutes,
            red_minutes: waiting.red_minutes,
            escalate_after_minutes: i64::from(config.escalate_after_minutes),
        };
        let as_settings = KitchenSettings {
            id: KitchenId(0),
            name: "the deployment".into(),
            time_zone: config.timezone.name().into(),
            amber_minutes: defaults.amber_minutes,
            red_minutes: defaults.red_minutes,
            escalate_after_minutes: defaults.escalate_after_minutes,
        };
        validate::kitchen_settings(&as_settings).map_err(|rule| {
            format!("MISEOS_WAITING_AMBER_MINUTES, …_RED_MINUTES, MISEOS_ESCALATE_AFTER_MINUTES: {rule}")
        })?;
        Ok(defaults)
    }
}

impl Default for KitchenDefaults {
    /// The contract's: amber after 10 minutes, red after 20, escalated after 15.
    fn default() -> Self {
        KitchenDefaults { amber_minutes: 10, red_minutes: 20, escalate_after_minutes: 15 }
    }
}

/// The kitchens' clocks this process has read, and how many times one was forgotten (a read
/// that began before a forgetting does not put its clock in).
#[derive(Default)]
pub(super) struct ClockCache {
    clocks: std::collections::HashMap<KitchenId, KitchenClock>,
    forgotten: u64,
}

/// The columns a kitchen's settings are read from, in [`Store::settings_from_row`]'s order.
const SETTINGS_COLUMNS: &str =
    "id, name, time_zone, amber_minutes, red_minutes, escalate_after_minutes, settings_version";

impl Store {
    /// Makes a kitchen with no items and its counters at zero, with the deployment's settings
    /// written in as its own; returns it.
    pub async fn create_kitchen(&self, name: &str, time_zone: Option<Tz>) -> Result<Kitchen, StoreError> {
        let mut write = self.begin_write().await?;
        let defaults = self.kitchen_defaults;
        let row = sqlx::query(
            "INSERT INTO kitchens (name, time_zone, created_at, amber_minutes, red_minutes, escalate_after_minutes) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(time_zone.map(|zone| zone.name().to_string()))
        .bind(super::now_millis())
        .bind(defaults.amber_minutes)
        .bind(defaults.red_minutes)
        .bind(defaults.escalate_after_minutes)
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

    /// The clock of a kitchen: its own zone, or the deployment's. Read once per process, and
    /// again after its settings change.
    pub async fn kitchen_clock(&self, kitchen_id: KitchenId) -> Result<KitchenClock, StoreError> {
        let forgotten_before = {
            let cache = self.clocks();
            if let Some(clock) = cache.clocks.get(&kitchen_id) {
                return Ok(*clock);
            }
            cache.forgotten
        };
        let row = sqlx::query("SELECT time_zone FROM kitchens WHERE id = $1")
            .bind(kitchen_id.0)
            .fetch_optional(&mut *self.connection().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        let clock = zone(row.try_get(0)?).map_or(self.default_clock, KitchenClock::new);
        let mut cache = self.clocks_mut();
        // A clock forgotten while this one was being read may be older than the change that
        // made it forgotten: use it this once, keep it only if nothing was forgotten meanwhile.
        if cache.forgotten == forgotten_before {
            cache.clocks.insert(kitchen_id, clock);
        }
        Ok(clock)
    }

    /// A kitchen's settings, its own or the deployment's where it has none.
    pub async fn kitchen_settings(&self, kitchen_id: KitchenId) -> Result<KitchenSettings, StoreError> {
        Ok(self.kitchen_settings_versioned(kitchen_id).await?.0)
    }

    /// A kitchen's settings with the version they are as of (each change takes the next).
    pub async fn kitchen_settings_versioned(
        &self,
        kitchen_id: KitchenId,
    ) -> Result<(KitchenSettings, i64), StoreError> {
        let sql = format!("SELECT {SETTINGS_COLUMNS} FROM kitchens WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(kitchen_id.0)
            .fetch_optional(&mut *self.connection().await?)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.settings_from_row(&row)
    }

    /// Every kitchen's settings and their versions (a listener that reconnected hands them
    /// all over again).
    pub async fn all_kitchen_settings(&self) -> Result<Vec<(KitchenSettings, i64)>, StoreError> {
        let sql = format!("SELECT {SETTINGS_COLUMNS} FROM kitchens ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&mut *self.connection().await?).await?;
        rows.iter().map(|row| self.settings_from_row(row)).collect()
    }

    /// Changes the settings `changes` names (the others stay as they are, own or the
    /// deployment's), checked together (red after amber), and announces the new settings to
    /// every process. Returns them.
    pub async fn change_kitchen(
        &self,
        kitchen_id: KitchenId,
        changes: &KitchenChanges,
    ) -> Result<KitchenSettings, StoreError> {
        let mut write = self.begin_write().await?;
        // The version first: it locks the row, so concurrent changes apply one after another.
        let sql = format!(
            "UPDATE kitchens SET settings_version = settings_version + 1 WHERE id = $1 RETURNING {SETTINGS_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(kitchen_id.0)
            .fetch_optional(&mut *write.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let (current, version) = self.settings_from_row(&row)?;
        let changed = KitchenSettings {
            id: kitchen_id,
            name: changes.name.clone().unwrap_or(current.name),
            time_zone: changes.time_zone.clone().unwrap_or(current.time_zone),
            amber_minutes: changes.amber_minutes.unwrap_or(current.amber_minutes),
            red_minutes: changes.red_minutes.unwrap_or(current.red_minutes),
            escalate_after_minutes: changes.escalate_after_minutes.unwrap_or(current.escalate_after_minutes),
        };
        validate::kitchen_settings(&changed).map_err(StoreError::Invalid)?;
        // Only what was named is written: a setting left alone keeps following the deployment.
        sqlx::query(
            "UPDATE kitchens SET name = COALESCE($1, name), time_zone = COALESCE($2, time_zone), \
             amber_minutes = COALESCE($3, amber_minutes), red_minutes = COALESCE($4, red_minutes), \
             escalate_after_minutes = COALESCE($5, escalate_after_minutes) WHERE id = $6",
        )
        .bind(changes.name.as_deref())
        .bind(changes.time_zone.as_deref())
        .bind(changes.amber_minutes)
        .bind(changes.red_minutes)
        .bind(changes.escalate_after_minutes)
        .bind(kitchen_id.0)
        .execute(&mut *write.tx)
        .await?;
        let update = KitchenUpdate { settings: changed.clone(), version };
        self.commit(write, Announcement::KitchenUpdated(update)).await?;
        self.forget_clock(kitchen_id);
        Ok(changed)
    }

    /// Forgets the clock read for a kitchen (its zone may have changed); the next use reads it.
    pub fn forget_clock(&self, kitchen_id: KitchenId) {
        let mut cache = self.clocks_mut();
        cache.clocks.remove(&kitchen_id);
        cache.forgotten += 1;
    }

    /// Settings and version from a row of [`SETTINGS_COLUMNS`], the deployment's where the
    /// kitchen has none of its own.
    fn settings_from_row(&self, row: &sqlx::any::AnyRow) -> Result<(KitchenSettings, i64), StoreError> {
        let defaults = self.kitchen_defaults;
        let zone = zone(row.try_get(2)?).unwrap_or(self.default_clock.zone());
        let settings = KitchenSettings {
            id: KitchenId(row.try_get(0)?),
            name: row.try_get(1)?,
            time_zone: zone.name().to_string(),
            amber_minutes: row.try_get::<Option<i64>, _>(3)?.unwrap_or(defaults.amber_minutes),
            red_minutes: row.try_get::<Option<i64>, _>(4)?.unwrap_or(defaults.red_minutes),
            escalate_after_minutes: row.try_get::<Option<i64>, _>(5)?.unwrap_or(defaults.escalate_after_minutes),
        };
        Ok((settings, row.try_get(6)?))
    }

    fn clocks(&self) -> std::sync::RwLockReadGuard<'_, ClockCache> {
        // Inserting a copyable value cannot panic half-way: a poisoned map is still whole.
        self.clocks.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn clocks_mut(&self) -> std::sync::RwLockWriteGuard<'_, ClockCache> {
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

/// A kitchen's counter row after an item write: its pending counts with the `seq` the write
/// took, and how many webhooks the kitchen has (kept on the same row, so a write learns whether
/// it has deliveries to record without one statement more).
pub(super) struct Bumped {
    pub kitchen_id: KitchenId,
    pub counts: PendingCounts,
    pub webhooks: i64,
}

/// Moves one category's pending count of a kitchen by `delta` and takes the kitchen's next
/// `seq`; returns the kitchen's counter row after it. This UPDATE is the first write of every
/// transaction that calls it first, so on SQLite it takes the write lock before anything is
/// read, and on PostgreSQL it locks only this kitchen's row.
pub(super) async fn bump_pending(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    kitchen_id: KitchenId,
    category: Category,
    delta: i64,
) -> Result<Bumped, StoreError> {
    let column = match category {
        Category::IngredientRequest => "ingredient_requests",
        Category::DishSuggestion => "dish_suggestions",
    };
    // Only a fixed column name is interpolated; the values are bound.
    let sql = format!(
        "UPDATE kitchen_counters SET seq = seq + 1, {column} = {column} + $1 WHERE kitchen_id = $2 \
         RETURNING seq, ingredient_requests, dish_suggestions, webhooks"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(delta)
        .bind(kitchen_id.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Bumped { kitchen_id, counts: counts_from_row(&row)?, webhooks: row.try_get(3)? })
}
