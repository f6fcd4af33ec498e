//! Users, their server-side sessions, and the failed sign-ins that throttle guessing.
//!
//! Every change that ends sessions stamps them (`ended_at`, `end_reason`, and `ended_seq`: the
//! next number of the one `session_ending_counter` row) in the same transaction as the change
//! itself, and announces the ending through the store's sink: this process hears it once
//! committed, the others through the bus, and any process that missed it finds it by reading
//! the endings after the last `ended_seq` it has seen.

use super::{Backend, Store, StoreError, Write};
use crate::event::{Announcement, EndReason, SessionId, SessionsEnded};
use app::wire::{KitchenId, Role, User, UserChanges, UserId};
use sqlx::{any::AnyRow, AssertSqlSafe, Row};
use std::collections::HashMap;

/// A user's stored credentials, for sign-in.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// A user to insert, with an already computed password hash.
pub struct NewAccount {
    /// The kitchen the user belongs to, for good.
    pub kitchen_id: KitchenId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// A session as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub user_id: UserId,
    /// The kitchen of the session's user.
    pub kitchen_id: KitchenId,
    pub last_seen_at: i64,
    pub ended: Option<EndReason>,
    pub must_change_password: bool,
}

/// What the database says of a session: when it was last used, and whether it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionState {
    pub last_seen_at: i64,
    pub ended: Option<EndReason>,
}

/// Which sessions of a user a change ends.
#[derive(Clone, Copy, Debug)]
pub enum SessionsToEnd {
    None,
    All(EndReason),
    /// All but the caller's own (a password change).
    AllBut(SessionId, EndReason),
}

/// What a user change did: the user as it is now and how many sessions it ended.
pub struct UserChanged {
    pub user: User,
    pub sessions_ended: usize,
}

const USER_COLUMNS: &str = "id, first_name, last_name, email, role, active, kitchen_id";

impl Store {
    /// Whether no user exists yet.
    pub async fn has_no_users(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&mut *self.connection().await?).await?;
        Ok(row.try_get::<i64, _>(0)? == 0)
    }

    /// Inserts users with the given ids (the demo users: the contract names them by id),
    /// leaving any whose id or email already exists alone (two processes may seed at once).
    pub async fn seed_users(&self, users: &[(UserId, NewAccount)]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (id, user) in users {
            sqlx::query(
                "INSERT INTO users (id, email, first_name, last_name, role, password_hash, must_change_password, \
                 kitchen_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(normalize_email(&user.email))
            .bind(&user.first_name)
            .bind(&user.last_name)
            .bind(user.role.as_str())
            .bind(&user.password_hash)
            .bind(i64::from(user.must_change_password))
            .bind(user.kitchen_id.0)
            .execute(&mut *tx)
            .await?;
        }
        if self.backend == Backend::Postgres {
            // Explicit ids do not move the sequence; the next new user must not collide.
            sqlx::query("SELECT setval('users_id_seq', GREATEST((SELECT MAX(id) FROM users), 1))")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds one user; 409 `email_taken` when the email (in any case) is in use in any kitchen
    /// (an email signs in without naming its kitchen).
    pub async fn create_user(&self, account: &NewAccount) -> Result<User, StoreError> {
        let mut write = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO users (email, first_name, last_name, role, password_hash, must_change_password, kitchen_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING RETURNING {USER_COLUMNS}"
        )))
        .bind(normalize_email(&account.email))
        .bind(&account.first_name)
        .bind(&account.last_name)
        .bind(account.role.as_str())
        .bind(&account.password_hash)
        .bind(i64::from(account.must_change_password))
        .bind(account.kitchen_id.0)
        .fetch_optional(&mut *write.tx)
        .await?;
        let user = row.as_ref().map(user_from_row).transpose()?.ok_or(StoreError::EmailTaken)?;
        write.tx.commit().await?;
        Ok(user)
    }

    /// The credentials of the user with this email (case-insensitive), if any.
    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash, must_change_password FROM users WHERE email = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(normalize_email(email))
            .fetch_optional(&mut *self.connection().await?)
            .await?;
        Ok(row.as_ref().map(credentials_from_row).transpose()?)
    }

    /// The credentials of the user with this id, if any.
    pub async fn credentials_of(&self, id: UserId) -> Result<Option<Credentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash, must_change_password FROM users WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id.0).fetch_optional(&mut *self.connection().await?).await?;
        Ok(row.as_ref().map(credentials_from_row).transpose()?)
    }

    /// The user with this id, if any.
    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&mut *self.connection().await?)
            .await?;
        Ok(row.map(|row| user_from_row(&row)).transpose()?)
    }

    /// Every user of a kitchen: the active first, then by name.
    pub async fn users(&self, kitchen_id: KitchenId) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE kitchen_id = $1 ORDER BY active DESC, first_name, last_name, id"
        )))
        .bind(kitchen_id.0)
        .fetch_all(&mut *self.connection().await?)
        .await?;
        rows.iter().map(|row| Ok(user_from_row(row)?)).collect()
    }

    /// Changes a user's names, role or active flag. Disabling ends their sessions as
    /// `account disabled`, a new role as `session revoked`. The last active head chef of a
    /// kitchen can be neither disabled nor demoted.
    pub async fn update_user(&self, id: UserId, changes: &UserChanges) -> Result<UserChanged, StoreError> {
        let mut write = self.begin_write().await?;
        self.lock_head_chefs(&mut write.tx).await?;
        // A write first: it takes SQLite's write lock (a transaction that reads first fails if
        // another connection writes meanwhile) and PostgreSQL's row lock.
        sqlx::query("UPDATE users SET active = active WHERE id = $1").bind(id.0).execute(&mut *write.tx).await?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(id.0)
            .fetch_optional(&mut *write.tx)
            .await?;
        let before = row.as_ref().map(user_from_row).transpose()?.ok_or(StoreError::NotFound)?;
        let after = User {
            first_name: changes.first_name.clone().unwrap_or_else(|| before.first_name.clone()),
            last_name: changes.last_name.clone().unwrap_or_else(|| before.last_name.clone()),
            role: changes.role.unwrap_or(before.role),
            active: changes.active.unwrap_or(before.active),
            ..before.clone()
        };
        let stops_heading =
            before.role == Role::HeadChef && before.active && (after.role != Role::HeadChef || !after.active);
        if stops_heading {
            let row = sqlx::query(
                "SELECT COUNT(*) FROM users WHERE role = 'HEAD_CHEF' AND active = 1 AND id <> $1 AND kitchen_id = $2",
            )
            .bind(id.0)
            .bind(before.kitchen_id.0)
            .fetch_one(&mut *write.tx)
            .await?;
            if row.try_get::<i64, _>(0)? == 0 {
                return Err(StoreError::LastHeadChef);
            }
        }
        sqlx::query("UPDATE users SET first_name = $1, last_name = $2, role = $3, active = $4 WHERE id = $5")
            .bind(&after.first_name)
            .bind(&after.last_name)
            .bind(after.role.as_str())
            .bind(i64::from(after.active))
            .bind(id.0)
            .execute(&mut *write.tx)
            .await?;
        let end = if before.active && !after.active {
            SessionsToEnd::All(EndReason::AccountDisabled)
        } else if before.role != after.role {
            SessionsToEnd::All(EndReason::Revoked)
        } else {
            SessionsToEnd::None
        };
        let ended = end_sessions(&mut write.tx, self.backend, id, end).await?;
        let sessions_ended = ended.as_ref().map_or(0, |ended| ended.endings.len());
        self.commit_endings(write, ended).await?;
        Ok(UserChanged { user: after, sessions_ended })
    }

    /// Sets a user's password hash and whether it must be changed at the next sign-in, and
    /// ends the sessions `end` names. With `replacing`, only if the stored hash is still that
    /// one ([`StoreError::PasswordChanged`] otherwise: a reset won the race).
    pub async fn set_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        must_change_password: bool,
        replacing: Option<&str>,
        end: SessionsToEnd,
    ) -> Result<usize, StoreError> {
        let mut write = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2 \
             WHERE id = $3 AND ($4 IS NULL OR password_hash = $4)",
        )
        .bind(password_hash)
        .bind(i64::from(must_change_password))
        .bind(user_id.0)
        .bind(replacing)
        .execute(&mut *write.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(if replacing.is_some() { StoreError::PasswordChanged } else { StoreError::NotFound });
        }
        let ended = end_sessions(&mut write.tx, self.backend, user_id, end).await?;
        let sessions_ended = ended.as_ref().map_or(0, |ended| ended.endings.len());
        self.commit_endings(write, ended).await?;
        Ok(sessions_ended)
    }

    /// Starts a session for a sign-in, unless the user changed since their credentials were
    /// read (disabled, given another role or password meanwhile): then `false`, and the
    /// sign-in must start over.
    pub async fn start_session(
        &self,
        session: SessionId,
        signed_in: &Credentials,
        now_millis: i64,
    ) -> Result<bool, StoreError> {
        // On PostgreSQL the user row is share-locked, so a sign-in racing a disable, reset or
        // role change waits for it and then sees the change (SQLite has one writer anyway).
        let lock = if self.backend == Backend::Postgres { " FOR SHARE" } else { "" };
        let inserted = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO sessions (id, user_id, created_at, last_seen_at) \
             SELECT $1, id, $2, $2 FROM users WHERE id = $3 AND active = 1 AND role = $4 AND password_hash = $5{lock}"
        )))
        .bind(session.to_string())
        .bind(now_millis)
        .bind(signed_in.user.id.0)
        .bind(signed_in.user.role.as_str())
        .bind(&signed_in.password_hash)
        .execute(&mut *self.connection().await?)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// A session and what the checks need of its user.
    pub async fn session(&self, session: SessionId) -> Result<Option<StoredSession>, StoreError> {
        let row = sqlx::query(
            "SELECT s.user_id, s.last_seen_at, s.end_reason, u.must_change_password, s.ended_at, u.active, \
             u.kitchen_id FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(session.to_string())
        .fetch_optional(&mut *self.connection().await?)
        .await?;
        row.map(|row| {
            let ended_at: Option<i64> = row.try_get(4)?;
            let reason: Option<String> = row.try_get(2)?;
            let active = row.try_get::<i64, _>(5)? != 0;
            // A session of a disabled user is over even if its ending was never written (a
            // sign-in that raced the disable).
            let ended = match ended_at {
                Some(_) => Some(parse_end_reason(reason.as_deref().unwrap_or_default())),
                None => (!active).then_some(EndReason::AccountDisabled),
            };
            Ok(StoredSession {
                user_id: UserId(row.try_get(0)?),
                kitchen_id: KitchenId(row.try_get(6)?),
                last_seen_at: row.try_get(1)?,
                ended,
                must_change_password: row.try_get::<i64, _>(3)? != 0,
            })
        })
        .transpose()
    }

    /// When each of several sessions was last used and whether it ended, in one read (a
    /// process's periodic look at what it has cached); a session the database does not have
    /// (a restored copy without it) is missing from the answer.
    pub async fn session_states(&self, sessions: &[SessionId]) -> Result<HashMap<SessionId, SessionState>, StoreError> {
        if sessions.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders: Vec<String> = (1..=sessions.len()).map(|index| format!("${index}")).collect();
        let sql = format!(
            "SELECT s.id, s.end_reason, s.ended_at, u.active, s.last_seen_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for session in sessions {
            query = query.bind(session.to_string());
        }
        let rows = query.fetch_all(&mut *self.connection().await?).await?;
        let mut states = HashMap::with_capacity(rows.len());
        for row in &rows {
            let Some(id) = SessionId::parse(&row.try_get::<String, _>(0)?) else { continue };
            let reason: Option<String> = row.try_get(1)?;
            let ended = match row.try_get::<Option<i64>, _>(2)? {
                Some(_) => Some(parse_end_reason(reason.as_deref().unwrap_or_default())),
                None => (row.try_get::<i64, _>(3)? == 0).then_some(EndReason::AccountDisabled),
            };
            states.insert(id, SessionState { last_seen_at: row.try_get(4)?, ended });
        }
        Ok(states)
    }

    /// Ends one session (sign-out); whether it was live.
    pub async fn end_session(&self, session: SessionId, reason: EndReason) -> Result<bool, StoreError> {
        let mut write = self.begin_write().await?;
        let seq = take_ending_seq(&mut write.tx).await?;
        let ended = sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2, ended_seq = $3 WHERE id = $4 AND ended_at IS NULL",
        )
        .bind(now_millis())
        .bind(reason.reason())
        .bind(seq)
        .bind(session.to_string())
        .execute(&mut *write.tx)
        .await?
        .rows_affected()
            == 1;
        if !ended {
            // Nothing ended: the ending's number is not used (a rollback gives it back).
            write.tx.rollback().await?;
            return Ok(false);
        }
        self.commit(write, Announcement::SessionsEnded(SessionsEnded { seq, endings: vec![(session, reason)] }))
            .await?;
        Ok(true)
    }

    /// Ends every live session with `reason` (a database restored from a backup: the sessions
    /// live when it was copied are not to be trusted again); how many it ended.
    pub async fn end_every_session(&self, reason: EndReason) -> Result<usize, StoreError> {
        let mut write = self.begin_write().await?;
        let seq = take_ending_seq(&mut write.tx).await?;
        let rows = sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2, ended_seq = $3 WHERE ended_at IS NULL RETURNING id, end_reason",
        )
        .bind(now_millis())
        .bind(reason.reason())
        .bind(seq)
        .fetch_all(&mut *write.tx)
        .await?;
        let endings: Vec<_> = rows.iter().filter_map(ended_from_row).collect();
        let ended = endings.len();
        self.commit_endings(write, (!endings.is_empty()).then_some(SessionsEnded { seq, endings })).await?;
        Ok(ended)
    }

    /// Ends, as `session expired`, those of `sessions` not seen since `seen_before` (Unix ms),
    /// in one transaction; returns the ones it ended.
    pub async fn expire_sessions(
        &self,
        sessions: &[SessionId],
        seen_before: i64,
    ) -> Result<Vec<SessionId>, StoreError> {
        if sessions.is_empty() {
            return Ok(Vec::new());
        }
        let mut write = self.begin_write().await?;
        let seq = take_ending_seq(&mut write.tx).await?;
        if self.backend == Backend::Postgres {
            let placeholders: Vec<String> = (1..=sessions.len()).map(|index| format!("${index}")).collect();
            let sql =
                format!("SELECT id FROM sessions WHERE id IN ({}) ORDER BY id FOR UPDATE", placeholders.join(", "));
            let mut lock = sqlx::query(AssertSqlSafe(sql));
            for session in sessions {
                lock = lock.bind(session.to_string());
            }
            lock.execute(&mut *write.tx).await?;
        }
        let placeholders: Vec<String> = (5..sessions.len() + 5).map(|index| format!("${index}")).collect();
        let sql = format!(
            "UPDATE sessions SET ended_at = $1, end_reason = $2, ended_seq = $3 \
             WHERE ended_at IS NULL AND last_seen_at < $4 AND id IN ({}) RETURNING id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(now_millis())
            .bind(EndReason::Expired.reason())
            .bind(seq)
            .bind(seen_before);
        for session in sessions {
            query = query.bind(session.to_string());
        }
        let rows = query.fetch_all(&mut *write.tx).await?;
        let expired: Vec<SessionId> =
            rows.iter().filter_map(|row| SessionId::parse(&row.try_get::<String, _>(0).ok()?)).collect();
        let endings: Vec<_> = expired.iter().map(|session| (*session, EndReason::Expired)).collect();
        self.commit_endings(write, (!endings.is_empty()).then_some(SessionsEnded { seq, endings })).await?;
        Ok(expired)
    }

    /// Records when sessions were last used (only ever moving forward), in one statement.
    pub async fn touch_sessions(&self, seen: &[(SessionId, i64)]) -> Result<(), StoreError> {
        if seen.is_empty() {
            return Ok(());
        }
        let rows: Vec<String> =
            (0..seen.len()).map(|index| format!("(${}, ${})", 2 * index + 1, 2 * index + 2)).collect();
        // Both databases name a VALUES list's columns column1, column2. On PostgreSQL the rows
        // are locked in id order first, as every other write of several sessions does, so two
        // of them can never wait for each other.
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "UPDATE sessions SET last_seen_at = seen.column2 FROM (VALUES {}) AS seen \
                 WHERE sessions.id = seen.column1 AND sessions.last_seen_at < seen.column2",
                rows.join(", ")
            ),
            Backend::Postgres => format!(
                "WITH seen AS (VALUES {}), \
                 locked AS (SELECT s.id FROM sessions s JOIN seen ON s.id = seen.column1 ORDER BY s.id FOR UPDATE OF s) \
                 UPDATE sessions SET last_seen_at = seen.column2 FROM seen \
                 WHERE sessions.id = seen.column1 AND sessions.id IN (SELECT id FROM locked) \
                 AND sessions.last_seen_at < seen.column2",
                rows.join(", ")
            ),
        };
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (session, last_seen_at) in seen {
            query = query.bind(session.to_string()).bind(*last_seen_at);
        }
        query.execute(&mut *self.connection().await?).await?;
        Ok(())
    }

    /// When the `limit`-th most recent failure of `key` within the window starting at
    /// `window_start` happened (Unix ms): while there is one, `key` is throttled.
    pub async fn nth_recent_failure(
        &self,
        key: &str,
        window_start: i64,
        limit: u32,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT at FROM sign_in_failures WHERE key = $1 AND at >= $2 ORDER BY at DESC LIMIT 1 OFFSET $3",
        )
        .bind(key)
        .bind(window_start)
        .bind(i64::from(limit.saturating_sub(1)))
        .fetch_optional(&mut *self.connection().await?)
        .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    /// Remembers a failed sign-in under each of `keys`.
    pub async fn record_failure(&self, keys: &[&str], at: i64) -> Result<(), StoreError> {
        for key in keys {
            sqlx::query("INSERT INTO sign_in_failures (key, at) VALUES ($1, $2)")
                .bind(*key)
                .bind(at)
                .execute(&mut *self.connection().await?)
                .await?;
        }
        Ok(())
    }

    /// Forgets one failure of `key` recorded `at` (an attempt recorded in advance that
    /// turned out right, or was never checked). Only one row: guesses sent at once may share
    /// the millisecond, and each must take back only its own.
    pub async fn forget_failure(&self, key: &str, at: i64) -> Result<(), StoreError> {
        let one_row = match self.backend {
            Backend::Sqlite => {
                "DELETE FROM sign_in_failures WHERE rowid IN \
                 (SELECT rowid FROM sign_in_failures WHERE key = $1 AND at = $2 LIMIT 1)"
            }
            // Two guesses taking back twins at once must not pick the same row: the second
            // skips the row the first has locked and takes the other.
            Backend::Postgres => {
                "DELETE FROM sign_in_failures WHERE ctid = \
                 (SELECT ctid FROM sign_in_failures WHERE key = $1 AND at = $2 LIMIT 1 FOR UPDATE SKIP LOCKED)"
            }
        };
        sqlx::query(one_row).bind(key).bind(at).execute(&mut *self.connection().await?).await?;
        Ok(())
    }

    /// Forgets the failures of `key` (a successful sign-in of that account).
    pub async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
            .bind(key)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }

    /// Forgets failures older than `before` (Unix ms): no window reaches back that far.
    pub async fn prune_failures(&self, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(before)
            .execute(&mut *self.connection().await?)
            .await?;
        Ok(())
    }

    /// On PostgreSQL, makes concurrent head-chef changes take turns (SQLite writes one at a
    /// time anyway), so two head chefs demoting each other cannot leave the kitchen with none.
    async fn lock_head_chefs(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('miseos_head_chefs'))").execute(&mut **tx).await?;
        }
        Ok(())
    }
}

impl Store {
    /// Commits a change that may have ended sessions, announcing the endings when it did.
    async fn commit_endings(&self, write: Write, ended: Option<SessionsEnded>) -> Result<(), StoreError> {
        match ended {
            Some(ended) => self.commit(write, Announcement::SessionsEnded(ended)).await,
            None => {
                write.tx.commit().await?;
                Ok(())
            }
        }
    }
}

/// Takes the next place in the database's order of endings. The counter row stays locked
/// until the transaction ends, so endings commit in the order of their numbers: a reader that
/// has seen number N has seen every ending before it.
async fn take_ending_seq(tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<i64, StoreError> {
    let row = sqlx::query("UPDATE session_ending_counter SET seq = seq + 1 RETURNING seq").fetch_one(&mut **tx).await?;
    Ok(row.try_get(0)?)
}

/// Ends the live sessions of `user_id` that `end` names, inside the caller's transaction;
/// what it ended, if anything.
async fn end_sessions(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    user_id: UserId,
    end: SessionsToEnd,
) -> Result<Option<SessionsEnded>, StoreError> {
    let (reason, keep) = match end {
        SessionsToEnd::None => return Ok(None),
        SessionsToEnd::All(reason) => (reason, String::new()),
        SessionsToEnd::AllBut(session, reason) => (reason, session.to_string()),
    };
    let seq = take_ending_seq(tx).await?;
    if backend == Backend::Postgres {
        // In id order, as every write of several sessions locks them (see `touch_sessions`).
        sqlx::query("SELECT id FROM sessions WHERE user_id = $1 AND ended_at IS NULL ORDER BY id FOR UPDATE")
            .bind(user_id.0)
            .execute(&mut **tx)
            .await?;
    }
    let rows = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2, ended_seq = $3 \
         WHERE user_id = $4 AND ended_at IS NULL AND id <> $5 RETURNING id, end_reason",
    )
    .bind(now_millis())
    .bind(reason.reason())
    .bind(seq)
    .bind(user_id.0)
    .bind(keep)
    .fetch_all(&mut **tx)
    .await?;
    let endings: Vec<_> = rows.iter().filter_map(ended_from_row).collect();
    Ok((!endings.is_empty()).then_some(SessionsEnded { seq, endings }))
}

/// A stored end reason; an unknown one (a newer version's) counts as revoked.
fn parse_end_reason(stored: &str) -> EndReason {
    EndReason::from_reason(stored).unwrap_or(EndReason::Revoked)
}

/// A session's id and end reason, from the first two columns of a row.
pub(super) fn ended_from_row(row: &AnyRow) -> Option<(SessionId, EndReason)> {
    let id: String = row.try_get(0).ok()?;
    let reason: Option<String> = row.try_get(1).ok()?;
    Some((SessionId::parse(&id)?, parse_end_reason(reason.as_deref().unwrap_or_default())))
}

/// Emails are compared case-insensitively: they are stored trimmed and in lower case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Now, in Unix milliseconds.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A row of `USER_COLUMNS` followed by `password_hash` and `must_change_password`.
fn credentials_from_row(row: &AnyRow) -> Result<Credentials, sqlx::Error> {
    Ok(Credentials {
        user: user_from_row(row)?,
        password_hash: row.try_get(7)?,
        must_change_password: row.try_get::<i64, _>(8)? != 0,
    })
}

pub(super) fn user_from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get(4)?;
    Ok(User {
        id: UserId(row.try_get(0)?),
        first_name: row.try_get(1)?,
        last_name: row.try_get(2)?,
        email: row.try_get(3)?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
        active: row.try_get::<i64, _>(5)? != 0,
        kitchen_id: KitchenId(row.try_get(6)?),
    })
}
