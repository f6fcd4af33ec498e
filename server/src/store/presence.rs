//! Presence (API.md section 13) in the database: which chefs have a dashboard open on which
//! running process, so every process can tell its cooks how many are online in their kitchen.
//!
//! Each change of a kitchen's presence takes the next `version` of the kitchen's row (locked
//! until commit) and announces the kitchen's count as of that version: the announcements are
//! ordered like the commits, and a process keeps the newest version it has heard. A process
//! renews its row every few seconds ([`Store::renew_presence`]); one whose row lapsed died
//! without closing its sockets, and whichever process notices first takes its chefs away
//! ([`Store::sweep_lapsed_presence`]). Every instant is the database's.

use super::{push::database_now, Store, StoreError, Write};
use crate::event::{Announcement, ChefsOnline};
use app::wire::{KitchenId, UserId};
use sqlx::{AssertSqlSafe, Row};

/// Takes the kitchen's next presence version (creating its row if need be), counts its chefs
/// online as this transaction sees them, and announces that with the commit.
async fn announce_count(store: &Store, mut write: Write, kitchen_id: KitchenId) -> Result<ChefsOnline, StoreError> {
    sqlx::query(
        "INSERT INTO kitchen_presence (kitchen_id, version) VALUES ($1, 0) ON CONFLICT (kitchen_id) DO NOTHING",
    )
    .bind(kitchen_id.0)
    .execute(&mut *write.tx)
    .await?;
    let version: i64 =
        sqlx::query("UPDATE kitchen_presence SET version = version + 1 WHERE kitchen_id = $1 RETURNING version")
            .bind(kitchen_id.0)
            .fetch_one(&mut *write.tx)
            .await?
            .try_get(0)?;
    let count = count_in(&mut write.tx, kitchen_id).await?;
    let online = ChefsOnline { kitchen_id, count, version };
    store.commit(write, Announcement::ChefsOnline(online)).await?;
    Ok(online)
}

async fn count_in(tx: &mut sqlx::Transaction<'static, sqlx::Any>, kitchen_id: KitchenId) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(DISTINCT user_id) FROM chefs_online WHERE kitchen_id = $1")
        .bind(kitchen_id.0)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)
}

impl Store {
    /// Records this process (`process`) as running for another `alive_ms`; false when its
    /// row had to be made anew (at start, or after another process swept it away while this
    /// one could not renew it: its chefs were taken away with it, and must be recorded again).
    pub async fn renew_presence(&self, process: &str, alive_ms: i64) -> Result<bool, StoreError> {
        let now = database_now(self.backend);
        let mut connection = self.connection().await?;
        let renewed =
            sqlx::query(AssertSqlSafe(format!("UPDATE presence_processes SET alive_until = {now} + $2 WHERE id = $1")))
                .bind(process)
                .bind(alive_ms)
                .execute(&mut *connection)
                .await?
                .rows_affected()
                == 1;
        if !renewed {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO presence_processes (id, alive_until) VALUES ($1, {now} + $2) ON CONFLICT (id) DO NOTHING"
            )))
            .bind(process)
            .bind(alive_ms)
            .execute(&mut *connection)
            .await?;
        }
        Ok(renewed)
    }

    /// Records that `user` has (or no longer has) a dashboard of `kitchen_id` open on
    /// `process`, and announces the kitchen's count; `None` when nothing changed.
    pub async fn set_chef_online(
        &self,
        process: &str,
        kitchen_id: KitchenId,
        user: UserId,
        online: bool,
    ) -> Result<Option<ChefsOnline>, StoreError> {
        let mut write = self.begin_write().await?;
        let sql = if online {
            "INSERT INTO chefs_online (process_id, kitchen_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM chefs_online WHERE process_id = $1 AND kitchen_id = $2 AND user_id = $3"
        };
        let changed = sqlx::query(sql)
            .bind(process)
            .bind(kitchen_id.0)
            .bind(user.0)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        if changed == 0 {
            write.tx.rollback().await?;
            return Ok(None);
        }
        announce_count(self, write, kitchen_id).await.map(Some)
    }

    /// Takes away the chefs of the processes whose row lapsed (and, with `also`, of that
    /// process: one stopping), announcing each kitchen's new count; the kitchens it changed.
    pub async fn sweep_lapsed_presence(&self, also: Option<&str>) -> Result<Vec<ChefsOnline>, StoreError> {
        let now = database_now(self.backend);
        let lapsed: Vec<String> = sqlx::query(AssertSqlSafe(format!(
            "SELECT id FROM presence_processes WHERE alive_until < {now} OR id = $1"
        )))
        .bind(also.unwrap_or_default())
        .fetch_all(&mut *self.connection().await?)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        let mut announced = Vec::new();
        for process in &lapsed {
            let kitchens: Vec<i64> = sqlx::query("SELECT DISTINCT kitchen_id FROM chefs_online WHERE process_id = $1")
                .bind(process)
                .fetch_all(&mut *self.connection().await?)
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            for kitchen in kitchens {
                let mut write = self.begin_write().await?;
                let removed = sqlx::query("DELETE FROM chefs_online WHERE process_id = $1 AND kitchen_id = $2")
                    .bind(process)
                    .bind(kitchen)
                    .execute(&mut *write.tx)
                    .await?
                    .rows_affected();
                if removed == 0 {
                    // Another process swept it first.
                    write.tx.rollback().await?;
                    continue;
                }
                announced.push(announce_count(self, write, KitchenId(kitchen)).await?);
            }
            sqlx::query("DELETE FROM presence_processes WHERE id = $1")
                .bind(process)
                .execute(&mut *self.connection().await?)
                .await?;
        }
        Ok(announced)
    }

    /// Every kitchen's count of chefs online and its presence version, as now committed.
    pub async fn all_chefs_online(&self) -> Result<Vec<ChefsOnline>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.kitchen_id, p.version, \
             (SELECT COUNT(DISTINCT user_id) FROM chefs_online c WHERE c.kitchen_id = p.kitchen_id) \
             FROM kitchen_presence p",
        )
        .fetch_all(&mut *self.connection().await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ChefsOnline {
                    kitchen_id: KitchenId(row.try_get(0)?),
                    version: row.try_get(1)?,
                    count: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// One kitchen's count of chefs online and presence version, as now committed (what a
    /// presence notification names is read here, never taken from the notification).
    pub async fn chefs_online_in(&self, kitchen_id: KitchenId) -> Result<Option<ChefsOnline>, StoreError> {
        let row = sqlx::query(
            "SELECT p.version, (SELECT COUNT(DISTINCT user_id) FROM chefs_online c WHERE c.kitchen_id = p.kitchen_id) \
             FROM kitchen_presence p WHERE p.kitchen_id = $1",
        )
        .bind(kitchen_id.0)
        .fetch_optional(&mut *self.connection().await?)
        .await?;
        row.map(|row| Ok(ChefsOnline { kitchen_id, version: row.try_get(0)?, count: row.try_get(1)? })).transpose()
    }
}
