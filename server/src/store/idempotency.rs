//! Idempotent submissions (API.md section 11). A request with an `Idempotency-Key` first
//! claims the key ([`Store::claim_idempotency_key`]): a claim is a row committed at once, so a
//! repeat arriving meanwhile, in any process, finds it and is told the first is in progress.
//! The answer is written into the claim inside the transaction of the change it answers
//! ([`record_answer`]), so a change and the answer a repeat will get commit together or not at
//! all. A request that changes nothing gives its claim back ([`Store::release_idempotency_key`])
//! and its repeat runs again; a claim whose request died with its process is taken over after
//! [`ABANDONED_AFTER_MS`].

use super::{push::database_now, Store, StoreError};
use app::wire::UserId;
use sqlx::{AssertSqlSafe, Row};

/// How long a key is remembered.
pub const KEPT_MS: i64 = 24 * 3_600_000;

/// How long an unanswered claim holds: longer than any request may take (the request timeout
/// is 15 s by default), so only a claim whose process died is ever taken over.
pub const ABANDONED_AFTER_MS: i64 = 60_000;

/// A key as one user sent it, with the request it came with.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    pub user: UserId,
    pub key: String,
    /// SHA-256 (hex) of the method, path and parsed body.
    pub fingerprint: String,
}

/// What a claim found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// The key is this request's: handle it.
    Fresh,
    /// The same request was answered before: answer it again.
    Answered { status: u16, body: String },
    /// The same key is being handled for another request right now.
    InProgress,
    /// The key came before with another request.
    Reused,
}

/// Writes the answer into the claim, inside the caller's transaction.
pub(super) async fn record_answer(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    key: &IdempotencyKey,
    status: u16,
    body: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE user_id = $3 AND key = $4")
        .bind(i64::from(status))
        .bind(body)
        .bind(key.user.0)
        .bind(&key.key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Claims `key` for the request it came with, or says what became of an earlier one.
    pub async fn claim_idempotency_key(&self, key: &IdempotencyKey) -> Result<Claimed, StoreError> {
        let now = database_now(self.backend);
        let mut write = self.begin_write().await?;
        let inserted = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, {now}) \
             ON CONFLICT (user_id, key) DO NOTHING"
        )))
        .bind(key.user.0)
        .bind(&key.key)
        .bind(&key.fingerprint)
        .execute(&mut *write.tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            write.tx.commit().await?;
            return Ok(Claimed::Fresh);
        }
        let lock = if self.backend == super::Backend::Postgres { " FOR UPDATE" } else { "" };
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT fingerprint, status, body, {now} - created_at FROM idempotency_keys \
             WHERE user_id = $1 AND key = $2{lock}"
        )))
        .bind(key.user.0)
        .bind(&key.key)
        .fetch_one(&mut *write.tx)
        .await?;
        let (fingerprint, status, body, age): (String, Option<i64>, Option<String>, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        // Forgotten (not yet pruned), or claimed by a request whose process died: take it over.
        let expired = age >= KEPT_MS;
        let abandoned = status.is_none() && age >= ABANDONED_AFTER_MS && fingerprint == key.fingerprint;
        let claimed = if expired || abandoned {
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE idempotency_keys SET fingerprint = $1, status = NULL, body = NULL, created_at = {now} \
                 WHERE user_id = $2 AND key = $3"
            )))
            .bind(&key.fingerprint)
            .bind(key.user.0)
            .bind(&key.key)
            .execute(&mut *write.tx)
            .await?;
            Claimed::Fresh
        } else if fingerprint != key.fingerprint {
            Claimed::Reused
        } else {
            match (status, body) {
                (Some(status), Some(body)) => Claimed::Answered { status: u16::try_from(status).unwrap_or(500), body },
                _ => Claimed::InProgress,
            }
        };
        write.tx.commit().await?;
        Ok(claimed)
    }

    /// Gives back a claim whose request changed nothing (it failed): a repeat runs again.
    pub async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL")
            .bind(key.user.0)
            .bind(&key.key)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }

    /// Forgets the keys older than a day.
    pub async fn prune_idempotency_keys(&self) -> Result<(), StoreError> {
        let now = database_now(self.backend);
        sqlx::query(AssertSqlSafe(format!("DELETE FROM idempotency_keys WHERE created_at < {now} - $1")))
            .bind(KEPT_MS)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }
}
