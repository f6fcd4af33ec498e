//! What the live road reads back from the database: the log of committed events (PostgreSQL:
//! a NOTIFY carries only an event's kitchen and `seq`), the newest STAFF socket claim of each
//! user, and the session endings after a point in their order.
//!
//! A notification is never trusted beyond "look now": any database role may NOTIFY on any
//! channel, but only the server's role writes these tables, so a forged notification can at
//! most make a process read again. It cannot invent an event, freeze the counts with a huge
//! `seq`, or close sockets with a huge claim.

use super::{accounts::ended_from_row, Store, StoreError};
use crate::event::{Event, SessionsEnded, StaffClaim};
use app::wire::{KitchenId, UserId};
use sqlx::{AnyConnection, Row};

impl Store {
    /// Records an event's payload under its kitchen and `seq` inside the write's transaction.
    pub async fn log_event(connection: &mut AnyConnection, event: &Event, payload: &str) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO event_log (kitchen_id, seq, payload, committed_at) VALUES ($1, $2, $3, $4)")
            .bind(event.kitchen_id.0)
            .bind(event.seq())
            .bind(payload)
            .bind(event.at_millis)
            .execute(connection)
            .await?;
        Ok(())
    }

    /// The logged payload of a kitchen's event with this `seq`, if there is one.
    pub async fn logged_event(&self, kitchen_id: KitchenId, seq: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT payload FROM event_log WHERE kitchen_id = $1 AND seq = $2")
            .bind(kitchen_id.0)
            .bind(seq)
            .fetch_optional(&mut *self.connection().await?)
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// Forgets logged events committed before `before` (Unix ms): every listener has read
    /// them or has resynchronised from the counts since.
    pub async fn prune_event_log(&self, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM event_log WHERE committed_at < $1")
            .bind(before)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }

    /// The newest STAFF socket claim of every user who ever had one (PostgreSQL only).
    pub async fn latest_staff_claims(&self) -> Result<Vec<StaffClaim>, StoreError> {
        let rows = sqlx::query("SELECT user_id, claim FROM staff_session_latest")
            .fetch_all(&mut *self.connection().await?)
            .await?;
        rows.iter().map(|row| Ok(StaffClaim { user_id: UserId(row.try_get(0)?), claim: row.try_get(1)? })).collect()
    }

    /// The newest STAFF socket claims of these users, of those who ever had one (PostgreSQL
    /// only): one read for every claim a relay has gathered.
    pub async fn latest_staff_claims_of(&self, users: &[UserId]) -> Result<Vec<StaffClaim>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=users.len()).map(|index| format!("${index}")).collect();
        let sql =
            format!("SELECT user_id, claim FROM staff_session_latest WHERE user_id IN ({})", placeholders.join(", "));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for user in users {
            query = query.bind(user.0);
        }
        let rows = query.fetch_all(&mut *self.connection().await?).await?;
        rows.iter().map(|row| Ok(StaffClaim { user_id: UserId(row.try_get(0)?), claim: row.try_get(1)? })).collect()
    }

    /// The place of the newest ending in the database's order of endings (0 before any).
    pub async fn newest_ending(&self) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT seq FROM session_ending_counter").fetch_one(&mut *self.connection().await?).await?;
        Ok(row.try_get(0)?)
    }

    /// Every ending after `after` in the database's order, oldest first, grouped as they
    /// were committed.
    pub async fn endings_after(&self, after: i64) -> Result<Vec<SessionsEnded>, StoreError> {
        let rows =
            sqlx::query("SELECT id, end_reason, ended_seq FROM sessions WHERE ended_seq > $1 ORDER BY ended_seq")
                .bind(after)
                .fetch_all(&mut *self.connection().await?)
                .await?;
        let mut endings: Vec<SessionsEnded> = Vec::new();
        for row in &rows {
            let seq: i64 = row.try_get(2)?;
            let Some(ending) = ended_from_row(row) else { continue };
            match endings.last_mut() {
                Some(last) if last.seq == seq => last.endings.push(ending),
                _ => endings.push(SessionsEnded { seq, endings: vec![ending] }),
            }
        }
        Ok(endings)
    }
}
