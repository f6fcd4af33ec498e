//! Web Push in the database (API.md section 10): the deployment's VAPID key, the browsers'
//! subscriptions, and the outbox rows of what is to be pushed.
//!
//! A push is recorded in the transaction of the decision it tells of ([`enqueue_pushes`]),
//! one row per subscription of the requester, and sent after the commit by whichever process
//! takes the row first ([`Store::take_due_pushes`]): on PostgreSQL the rows are taken with
//! `FOR UPDATE SKIP LOCKED`, so two processes never take the same one, and taking moves a row's
//! `due_at` to the end of a lease, so a process that dies mid-send leaves it to be taken again.
//! Every instant here is read from the database's clock, never from a process's: a lease means
//! the same to every process, however their clocks differ.

use super::{Backend, Store, StoreError};
use crate::event::SessionId;
use app::wire::{KitchenId, Notification, UserId};
use sqlx::{AssertSqlSafe, Row};

/// Now on the database's clock, in Unix milliseconds, as SQL.
pub(super) fn database_now(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

/// The deployment's VAPID key pair, as stored: base64url (no padding) of the private scalar
/// and of the uncompressed public point.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StoredPushKey {
    pub private_key: String,
    pub public_key: String,
}

/// A browser's subscription to store: its endpoint and keys (base64url), checked.
#[derive(Clone, Copy, Debug)]
pub struct PushSubscriptionToStore<'a> {
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
}

/// One of a user's subscriptions, as listed to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSubscriptionRow {
    pub id: i64,
    pub endpoint: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A push taken from the outbox to be sent now: its payload and where it goes.
#[derive(Clone, Debug)]
pub struct DuePush {
    pub outbox_id: i64,
    pub subscription_id: i64,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub payload: String,
    /// When the push was recorded (Unix ms, the database's clock): it is given up 12 hours on.
    pub created_at: i64,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Now, on the database's clock, when it was taken.
    pub taken_at: i64,
}

/// The largest payload pushed (API.md section 10): the encrypted body (payload, 86 bytes of
/// header, a delimiter and a 16-byte tag) stays well under the 4,096 bytes every push service
/// takes.
pub const MAX_PUSH_PAYLOAD_BYTES: usize = 3_800;

/// The JSON pushed for `message` (the socket frame's), at most [`MAX_PUSH_PAYLOAD_BYTES`]: a
/// review's note is shortened as much as it must be (the page shows it whole).
pub fn push_payload(message: &Notification) -> String {
    // The message types hold only strings and integers; serializing them cannot fail.
    let encode = |message: &Notification| serde_json::to_string(message).expect("notifications always serialize");
    let mut payload = encode(message);
    let mut message = message.clone();
    while payload.len() > MAX_PUSH_PAYLOAD_BYTES {
        let Some(note) = message.review_note_mut() else { break };
        let excess = payload.len() - MAX_PUSH_PAYLOAD_BYTES;
        // JSON escapes make a character at most 6 bytes long (`\u001f`): dropping a sixth of
        // the excess in characters, plus one for the ellipsis, always makes progress.
        let keep = note.chars().count().saturating_sub(excess / 6 + 2);
        *note = note.chars().take(keep).chain(std::iter::once('…')).collect();
        payload = encode(&message);
    }
    payload
}

/// Whose devices a push goes to.
#[derive(Clone, Copy, Debug)]
pub(super) enum PushRecipients {
    /// One user's (a requester hearing of a decision).
    User(UserId),
    /// The head and sous chefs of a kitchen (an escalation).
    ChefsOf(KitchenId),
}

/// Records, in the caller's transaction, one push of `payload` to each subscription of the
/// `recipients`; how many.
pub(super) async fn enqueue_pushes(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    recipients: PushRecipients,
    payload: &str,
) -> Result<u64, sqlx::Error> {
    let now = database_now(backend);
    let (whose, id) = match recipients {
        PushRecipients::User(user) => ("s.user_id = $2", user.0),
        PushRecipients::ChefsOf(kitchen) => (
            "s.user_id IN (SELECT u.id FROM users u WHERE u.kitchen_id = $2 AND u.role IN ('HEAD_CHEF', 'SOUS_CHEF'))",
            kitchen.0,
        ),
    };
    let sql = format!(
        "INSERT INTO outbox (push_subscription_id, payload, created_at, due_at) \
         SELECT s.id, $1, {now}, {now} FROM push_subscriptions s WHERE {whose}"
    );
    let inserted = sqlx::query(AssertSqlSafe(sql)).bind(payload).bind(id).execute(&mut **tx).await?;
    Ok(inserted.rows_affected())
}

/// Deletes, in the caller's transaction, the subscriptions of the sessions that ended with
/// number `ended_seq`: a subscription lives as long as the sign-in that made it.
pub(super) async fn forget_subscriptions_of_ending(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ended_seq: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE session_id IN (SELECT id FROM sessions WHERE ended_seq = $1)")
        .bind(ended_seq)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// The deployment's VAPID key; when there is none yet, `fresh` is stored and returned
    /// (of several processes starting at once, the first to commit wins and all return it).
    pub async fn push_key_or_insert(&self, fresh: StoredPushKey) -> Result<StoredPushKey, StoreError> {
        let mut connection = self.connection().await?;
        let now = database_now(self.backend);
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO push_key (id, private_key, public_key, created_at) VALUES (1, $1, $2, {now}) \
             ON CONFLICT (id) DO NOTHING"
        )))
        .bind(&fresh.private_key)
        .bind(&fresh.public_key)
        .execute(&mut *connection)
        .await?;
        let row = sqlx::query("SELECT private_key, public_key FROM push_key WHERE id = 1")
            .fetch_one(&mut *connection)
            .await?;
        Ok(StoredPushKey { private_key: row.try_get(0)?, public_key: row.try_get(1)? })
    }

    /// The deployment's VAPID key, if one was made.
    pub async fn push_key(&self) -> Result<Option<StoredPushKey>, StoreError> {
        let row = sqlx::query("SELECT private_key, public_key FROM push_key WHERE id = 1")
            .fetch_optional(&mut *self.connection().await?)
            .await?;
        Ok(row
            .map(|row| {
                Ok::<_, sqlx::Error>(StoredPushKey { private_key: row.try_get(0)?, public_key: row.try_get(1)? })
            })
            .transpose()?)
    }

    /// Replaces the VAPID key with `key` and deletes every subscription (each was made with
    /// the old key, which push services now refuse), with their pushes still to be sent; how
    /// many subscriptions went.
    pub async fn replace_push_key(&self, key: &StoredPushKey) -> Result<u64, StoreError> {
        let mut write = self.begin_write().await?;
        let now = database_now(self.backend);
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO push_key (id, private_key, public_key, created_at) VALUES (1, $1, $2, {now}) \
             ON CONFLICT (id) DO UPDATE SET private_key = EXCLUDED.private_key, public_key = EXCLUDED.public_key, \
             created_at = EXCLUDED.created_at"
        )))
        .bind(&key.private_key)
        .bind(&key.public_key)
        .execute(&mut *write.tx)
        .await?;
        let dropped = sqlx::query("DELETE FROM push_subscriptions").execute(&mut *write.tx).await?.rows_affected();
        write.tx.commit().await?;
        Ok(dropped)
    }

    /// Stores a browser's subscription (its endpoint and keys, checked by the caller) for
    /// `user_id`'s sign-in `session`: `(id, true)` when new; the same endpoint again keeps its
    /// id and is bound to this user and sign-in (another user signed in on the same browser),
    /// with the keys sent now: `(id, false)`.
    pub async fn subscribe_push(
        &self,
        user_id: UserId,
        session: SessionId,
        subscription: &PushSubscriptionToStore<'_>,
    ) -> Result<(i64, bool), StoreError> {
        let mut write = self.begin_write().await?;
        let now = database_now(self.backend);
        let updated = sqlx::query(
            "UPDATE push_subscriptions SET user_id = $1, session_id = $2, p256dh = $3, auth = $4 \
             WHERE endpoint = $5 RETURNING id",
        )
        .bind(user_id.0)
        .bind(session.to_string())
        .bind(subscription.p256dh)
        .bind(subscription.auth)
        .bind(subscription.endpoint)
        .fetch_optional(&mut *write.tx)
        .await?;
        let answer = match updated {
            Some(row) => (row.try_get(0)?, false),
            None => {
                let row = sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO push_subscriptions (user_id, session_id, endpoint, p256dh, auth, created_at) \
                     VALUES ($1, $2, $3, $4, $5, {now}) RETURNING id"
                )))
                .bind(user_id.0)
                .bind(session.to_string())
                .bind(subscription.endpoint)
                .bind(subscription.p256dh)
                .bind(subscription.auth)
                .fetch_one(&mut *write.tx)
                .await?;
                (row.try_get(0)?, true)
            }
        };
        write.tx.commit().await?;
        Ok(answer)
    }

    /// A user's subscriptions, newest first.
    pub async fn push_subscriptions(&self, user_id: UserId) -> Result<Vec<PushSubscriptionRow>, StoreError> {
        let rows =
            sqlx::query("SELECT id, endpoint, created_at FROM push_subscriptions WHERE user_id = $1 ORDER BY id DESC")
                .bind(user_id.0)
                .fetch_all(&mut *self.connection().await?)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(PushSubscriptionRow { id: row.try_get(0)?, endpoint: row.try_get(1)?, created_at: row.try_get(2)? })
            })
            .collect()
    }

    /// How many push subscriptions there are, of every user.
    pub async fn push_subscription_count(&self) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT COUNT(*) FROM push_subscriptions").fetch_one(&mut *self.connection().await?).await?;
        Ok(row.try_get(0)?)
    }

    /// Deletes one of a user's subscriptions (another user's is not found); whether it was
    /// there. Its pushes still to be sent go with it.
    pub async fn delete_push_subscription(&self, user_id: UserId, id: i64) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id.0)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(deleted.rows_affected() == 1)
    }

    /// Deletes a subscription the push service says is gone (404, 410).
    pub async fn forget_push_subscription(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
            .bind(id)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }

    /// Takes at most `limit` pushes that are due, for `lease_ms`: until then no process takes
    /// them again. Oldest due first. One statement takes a whole batch with its subscriptions;
    /// it runs as a write (SQLite's writers take turns).
    pub async fn take_due_pushes(&self, limit: i64, lease_ms: i64) -> Result<Vec<DuePush>, StoreError> {
        let mut write = self.begin_write().await?;
        let now = database_now(self.backend);
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let of_subscription = |column: &str| {
            format!("(SELECT s.{column} FROM push_subscriptions s WHERE s.id = outbox.push_subscription_id)")
        };
        let sql = format!(
            "UPDATE outbox SET due_at = {now} + $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE due_at <= {now} AND push_subscription_id IS NOT NULL \
             ORDER BY due_at LIMIT $2{skip_locked}) \
             RETURNING id, push_subscription_id, payload, created_at, attempts, due_at - $1, {}, {}, {}",
            of_subscription("endpoint"),
            of_subscription("p256dh"),
            of_subscription("auth"),
        );
        let taken = sqlx::query(AssertSqlSafe(sql)).bind(lease_ms).bind(limit).fetch_all(&mut *write.tx).await?;
        write.tx.commit().await?;
        taken
            .iter()
            .map(|row| {
                Ok(DuePush {
                    outbox_id: row.try_get(0)?,
                    subscription_id: row.try_get(1)?,
                    payload: row.try_get(2)?,
                    created_at: row.try_get(3)?,
                    attempts: row.try_get(4)?,
                    taken_at: row.try_get(5)?,
                    endpoint: row.try_get(6)?,
                    p256dh: row.try_get(7)?,
                    auth: row.try_get(8)?,
                })
            })
            .collect()
    }

    /// Removes a push from the outbox: sent, or given up.
    pub async fn finish_push(&self, outbox_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM outbox WHERE id = $1").bind(outbox_id).execute(&mut *self.connection().await?).await?;
        Ok(())
    }

    /// Has a push tried again `delay_ms` from now (the database's now).
    pub async fn retry_push(&self, outbox_id: i64, delay_ms: i64) -> Result<(), StoreError> {
        let now = database_now(self.backend);
        sqlx::query(AssertSqlSafe(format!("UPDATE outbox SET due_at = {now} + $1 WHERE id = $2")))
            .bind(delay_ms)
            .bind(outbox_id)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }

    /// How many pushes wait in the outbox, and how many of them are due now.
    pub async fn outbox_depth(&self) -> Result<(i64, i64), StoreError> {
        let now = database_now(self.backend);
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN due_at <= {now} THEN 1 ELSE 0 END), 0) FROM outbox"
        )))
        .fetch_one(&mut *self.connection().await?)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::{Category, Decision, Person, ReviewNotice};

    #[test]
    fn a_push_payload_is_the_socket_frame_and_never_over_the_limit() {
        let notice = |note: &str| ReviewNotice {
            category: Category::IngredientRequest,
            request_id: 5,
            item_name: "🦞".repeat(100),
            reviewed_by: Person { id: UserId(1), first_name: "🦞".repeat(60), last_name: "🦞".repeat(60) },
            timestamp: "2026-12-06 20:40".into(),
            note: Some(note.to_string()),
            reviewed_at_millis: 1,
        };
        let short = Notification::review(Decision::Approve, notice("tak"));
        assert_eq!(push_payload(&short), serde_json::to_string(&short).unwrap());
        for widest in ["\u{1f}".repeat(500), "🦞".repeat(500), "\"".repeat(500)] {
            let payload = push_payload(&Notification::review(Decision::Reject, notice(&widest)));
            assert!(payload.len() <= MAX_PUSH_PAYLOAD_BYTES, "{} bytes", payload.len());
            let read: Notification = serde_json::from_str(&payload).unwrap();
            let (_, notice) = read.as_review().unwrap();
            assert!(notice.note.as_deref().unwrap().ends_with('…') || payload.len() < MAX_PUSH_PAYLOAD_BYTES);
        }
    }
}
