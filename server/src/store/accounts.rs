//! Users, their server-side sessions, and the failed sign-ins that throttle guessing.
//!
//! Every change that ends sessions stamps them (`ended_at`, `end_reason`) in the same
//! transaction as the change itself and stages an [`Announcement::SessionsEnded`], so other
//! processes look for ended sessions at once; each process also looks every half second
//! (which is how a change made by the command line reaches a SQLite server).

use super::{Announcement, Backend, EventSink, Store, StoreError};
use crate::auth::SessionId;
use app::wire::{Role, User, UserChanges};
use sqlx::{any::AnyRow, AssertSqlSafe, Row};

/// Why a session ended, as stored and as told to its sockets (1008) and tokens (401).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    SignedOut,
    AccountDisabled,
    Revoked,
    Expired,
}

impl EndReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::AccountDisabled => "account_disabled",
            EndReason::Revoked => "revoked",
            EndReason::Expired => "expired",
        }
    }

    /// Reads a stored name; an unknown one (a newer version's) counts as revoked.
    pub fn parse(name: &str) -> EndReason {
        [EndReason::SignedOut, EndReason::AccountDisabled, EndReason::Revoked, EndReason::Expired]
            .into_iter()
            .find(|reason| reason.as_str() == name)
            .unwrap_or(EndReason::Revoked)
    }

    /// What the user is told: the 401 message and the 1008 close reason.
    pub fn message(self) -> &'static str {
        use app::wire::close_reason;
        match self {
            EndReason::SignedOut => close_reason::SIGNED_OUT,
            EndReason::AccountDisabled => close_reason::ACCOUNT_DISABLED,
            EndReason::Revoked => close_reason::SESSION_REVOKED,
            EndReason::Expired => close_reason::SESSION_EXPIRED,
        }
    }
}

/// A user's stored credentials, for sign-in.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// A user to insert, with an already computed password hash.
pub struct NewAccount {
    /// The kitchen the user belongs to, for good.
    pub kitchen_id: i64,
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
    pub user_id: i64,
    /// The kitchen of the session's user.
    pub kitchen_id: i64,
    pub last_seen_at: i64,
    pub ended: Option<EndReason>,
    pub must_change_password: bool,
}

/// Which sessions of a user a change ends.
#[derive(Clone, Copy, Debug)]
pub enum SessionsToEnd {
    None,
    All(EndReason),
    /// All but the caller's own (a password change).
    AllBut(SessionId, EndReason),
}

/// What a user change did: the user as it is now and the sessions it ended.
pub struct UserChanged {
    pub user: User,
    pub ended: Vec<(SessionId, EndReason)>,
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
    pub async fn seed_users(&self, users: &[(i64, NewAccount)]) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        for (id, user) in users {
            sqlx::query(
                "INSERT INTO users (id, email, first_name, last_name, role, password_hash, must_change_password, \
                 kitchen_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(*id)
            .bind(normalize_email(&user.email))
            .bind(&user.first_name)
            .bind(&user.last_name)
            .bind(user.role.as_str())
            .bind(&user.password_hash)
            .bind(i64::from(user.must_change_password))
            .bind(user.kitchen_id)
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
        .bind(account.kitchen_id)
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
    pub async fn credentials_of(&self, id: i64) -> Result<Option<Credentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash, must_change_password FROM users WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *self.connection().await?).await?;
        Ok(row.as_ref().map(credentials_from_row).transpose()?)
    }

    /// The user with this id, if any.
    pub async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.connection().await?)
            .await?;
        Ok(row.map(|row| user_from_row(&row)).transpose()?)
    }

    /// Every user of a kitchen: the active first, then by name.
    pub async fn users(&self, kitchen_id: i64) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE kitchen_id = $1 ORDER BY active DESC, first_name, last_name, id"
        )))
        .bind(kitchen_id)
        .fetch_all(&mut *self.connection().await?)
        .await?;
        rows.iter().map(|row| Ok(user_from_row(row)?)).collect()
    }

    /// Changes a user's names, role or active flag. Disabling ends their sessions as
    /// `account disabled`, a new role as `session revoked`. The last active head chef of a
    /// kitchen can be neither disabled nor demoted.
    pub async fn update_user(
        &self,
        id: i64,
        changes: &UserChanges,
        sink: &impl EventSink,
    ) -> Result<UserChanged, StoreError> {
        let mut write = self.begin_write().await?;
        self.lock_head_chefs(&mut write.tx).await?;
        // A write first: it takes SQLite's write lock (a transaction that reads first fails if
        // another connection writes meanwhile) and PostgreSQL's row lock.
        sqlx::query("UPDATE users SET active = active WHERE id = $1").bind(id).execute(&mut *write.tx).await?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
            .bind(id)
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
            .bind(id)
            .bind(before.kitchen_id)
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
            .bind(id)
            .execute(&mut *write.tx)
            .await?;
        let end = if before.active && !after.active {
            SessionsToEnd::All(EndReason::AccountDisabled)
        } else if before.role != after.role {
            SessionsToEnd::All(EndReason::Revoked)
        } else {
            SessionsToEnd::None
        };
        let ended = end_sessions(&mut write.tx, id, end).await?;
        write.commit_sessions_ended(id, !ended.is_empty(), sink).await?;
        Ok(UserChanged { user: after, ended })
    }

    /// Sets a user's password hash and whether it must be changed at the next sign-in, and
    /// ends the sessions `end` names. With `replacing`, only if the stored hash is still that
    /// one ([`StoreError::PasswordChanged`] otherwise: a reset won the race).
    pub async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        must_change_password: bool,
        replacing: Option<&str>,
        end: SessionsToEnd,
        sink: &impl EventSink,
    ) -> Result<Vec<(SessionId, EndReason)>, StoreError> {
        let mut write = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2              WHERE id = $3 AND ($4 IS NULL OR password_hash = $4)",
        )
        .bind(password_hash)
        .bind(i64::from(must_change_password))
        .bind(user_id)
        .bind(replacing)
        .execute(&mut *write.tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(if replacing.is_some() { StoreError::PasswordChanged } else { StoreError::NotFound });
        }
        let ended = end_sessions(&mut write.tx, user_id, end).await?;
        write.commit_sessions_ended(user_id, !ended.is_empty(), sink).await?;
        Ok(ended)
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
        .bind(signed_in.user.id)
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
                Some(_) => Some(EndReason::parse(reason.as_deref().unwrap_or_default())),
                None => (!active).then_some(EndReason::AccountDisabled),
            };
            Ok(StoredSession {
                user_id: row.try_get(0)?,
                kitchen_id: row.try_get(6)?,
                last_seen_at: row.try_get(1)?,
                ended,
                must_change_password: row.try_get::<i64, _>(3)? != 0,
            })
        })
        .transpose()
    }

    /// Ends one session (sign-out); whether it was live.
    pub async fn end_session(
        &self,
        session: SessionId,
        user_id: i64,
        reason: EndReason,
        sink: &impl EventSink,
    ) -> Result<bool, StoreError> {
        let mut write = self.begin_write().await?;
        let ended =
            sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL")
                .bind(now_millis())
                .bind(reason.as_str())
                .bind(session.to_string())
                .execute(&mut *write.tx)
                .await?
                .rows_affected()
                == 1;
        write.commit_sessions_ended(user_id, ended, sink).await?;
        Ok(ended)
    }

    /// Ends, as `session expired`, those of `sessions` not seen since `seen_before`
    /// (Unix ms); returns the ones it ended.
    pub async fn expire_sessions(
        &self,
        sessions: &[(SessionId, i64)],
        seen_before: i64,
        sink: &impl EventSink,
    ) -> Result<Vec<SessionId>, StoreError> {
        let mut expired = Vec::new();
        for &(session, user_id) in sessions {
            let mut write = self.begin_write().await?;
            let ended = sqlx::query(
                "UPDATE sessions SET ended_at = $1, end_reason = $2 \
                 WHERE id = $3 AND ended_at IS NULL AND last_seen_at < $4",
            )
            .bind(now_millis())
            .bind(EndReason::Expired.as_str())
            .bind(session.to_string())
            .bind(seen_before)
            .execute(&mut *write.tx)
            .await?
            .rows_affected()
                == 1;
            write.commit_sessions_ended(user_id, ended, sink).await?;
            if ended {
                expired.push(session);
            }
        }
        Ok(expired)
    }

    /// Records when sessions were last used (only ever moving forward).
    pub async fn touch_sessions(&self, seen: &[(SessionId, i64)]) -> Result<(), StoreError> {
        for (session, last_seen_at) in seen {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
                .bind(last_seen_at)
                .bind(session.to_string())
                .execute(&mut *self.connection().await?)
                .await?;
        }
        Ok(())
    }

    /// The sessions that ended at or after `since` (Unix ms), by anyone.
    pub async fn sessions_ended_since(&self, since: i64) -> Result<Vec<(SessionId, EndReason)>, StoreError> {
        let rows = sqlx::query("SELECT id, end_reason FROM sessions WHERE ended_at >= $1")
            .bind(since)
            .fetch_all(&mut *self.connection().await?)
            .await?;
        Ok(rows.iter().filter_map(ended_from_row).collect())
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

impl super::Write {
    /// Commits a change that may have ended sessions, first staging the announcement when
    /// it did.
    async fn commit_sessions_ended(
        mut self,
        user_id: i64,
        ended_any: bool,
        sink: &impl EventSink,
    ) -> Result<(), StoreError> {
        if ended_any {
            sink.stage(&mut self.tx, Announcement::SessionsEnded { user_id }).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Ends the live sessions of `user_id` that `end` names, inside the caller's transaction.
async fn end_sessions(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user_id: i64,
    end: SessionsToEnd,
) -> Result<Vec<(SessionId, EndReason)>, StoreError> {
    let (reason, keep) = match end {
        SessionsToEnd::None => return Ok(Vec::new()),
        SessionsToEnd::All(reason) => (reason, String::new()),
        SessionsToEnd::AllBut(session, reason) => (reason, session.to_string()),
    };
    let rows = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2 \
         WHERE user_id = $3 AND ended_at IS NULL AND id <> $4 RETURNING id, end_reason",
    )
    .bind(now_millis())
    .bind(reason.as_str())
    .bind(user_id)
    .bind(keep)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().filter_map(ended_from_row).collect())
}

fn ended_from_row(row: &AnyRow) -> Option<(SessionId, EndReason)> {
    let id: String = row.try_get(0).ok()?;
    let reason: Option<String> = row.try_get(1).ok()?;
    Some((SessionId::parse(&id)?, EndReason::parse(reason.as_deref().unwrap_or_default())))
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
        id: row.try_get(0)?,
        first_name: row.try_get(1)?,
        last_name: row.try_get(2)?,
        email: row.try_get(3)?,
        role: Role::parse(&role).ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
        active: row.try_get::<i64, _>(5)? != 0,
        kitchen_id: row.try_get(6)?,
    })
}
