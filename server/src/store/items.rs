//! Items of every kind (ingredient requests, dish suggestions): one life cycle, one table each.
//!
//! [`ItemKind`] holds what differs between kinds (table, own columns, how their details are
//! read and bound, their field rules); creating, listing, reading and reviewing are written
//! once, over any kind. A new kind is a details type in `app::wire` and one `impl ItemKind`.
//! The SQL text is assembled only from these compile-time table and column names (hence
//! `AssertSqlSafe`); every value is bound.

use super::{
    idempotency,
    kitchens::{bump_pending, Bumped},
    push::{self, PushRecipients},
    webhooks, IdempotencyKey, Store, StoreError, Write, WriteLimit,
};
use crate::{
    clock::KitchenClock,
    event::{deliveries, Announcement, Change, Event},
    validate,
};
use app::wire::{
    Decision, DishDetails, IngredientDetails, Item, ItemDetails, KitchenId, Person, Quantity, ReviewStatus, UserId,
    WebhookEvent,
};
use sqlx::{any::AnyRow, AssertSqlSafe, Row};

/// A query being built, whose values are bound one by one.
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// The columns every item has, selected first (indexes 0–11), joined with both people.
const SHARED_COLUMNS: &str = "t.id, t.status, t.created_at, t.reviewed_at, t.review_note, \
     r.id, r.first_name, r.last_name, v.id, v.first_name, v.last_name, t.escalated_at";

/// Index of the first kind-specific column.
const OWN_START: usize = 12;

/// What differs between the kinds of item. Implemented on the kind's details type.
pub trait ItemKind: ItemDetails {
    /// The table.
    const TABLE: &'static str;
    /// This kind's own columns, in the order [`ItemKind::bind`] binds and
    /// [`ItemKind::from_row`] reads them.
    const OWN_COLUMNS: &'static [&'static str];
    /// Checks every field of a new item; the message names the field and the rule.
    fn validate(&self) -> Result<(), String>;
    /// Reads the details from a row whose own columns start at index `start`.
    fn from_row(row: &AnyRow, start: usize) -> Result<Self, sqlx::Error>;
    /// Binds the own columns' values, in order.
    fn bind<'q>(&self, query: Query<'q>) -> Query<'q>;
}

impl ItemKind for IngredientDetails {
    const TABLE: &'static str = "ingredient_requests";
    const OWN_COLUMNS: &'static [&'static str] = &["item_name", "quantity", "unit", "note"];

    fn validate(&self) -> Result<(), String> {
        validate::ingredient_request(self)
    }

    fn from_row(row: &AnyRow, start: usize) -> Result<Self, sqlx::Error> {
        Ok(IngredientDetails {
            item_name: row.try_get(start)?,
            quantity: Quantity(row.try_get(start + 1)?),
            unit: row.try_get(start + 2)?,
            note: row.try_get(start + 3)?,
        })
    }

    fn bind<'q>(&self, query: Query<'q>) -> Query<'q> {
        query.bind(&self.item_name).bind(self.quantity.0).bind(&self.unit).bind(self.note.as_deref())
    }
}

impl ItemKind for DishDetails {
    const TABLE: &'static str = "dish_suggestions";
    const OWN_COLUMNS: &'static [&'static str] = &["name", "description"];

    fn validate(&self) -> Result<(), String> {
        validate::dish_suggestion(self)
    }

    fn from_row(row: &AnyRow, start: usize) -> Result<Self, sqlx::Error> {
        Ok(DishDetails { name: row.try_get(start)?, description: row.try_get(start + 1)? })
    }

    fn bind<'q>(&self, query: Query<'q>) -> Query<'q> {
        query.bind(&self.name).bind(&self.description)
    }
}

/// Which items a list returns.
#[derive(Clone, Copy, Debug)]
pub struct ItemFilter {
    /// Only items in this state.
    pub status: Option<ReviewStatus>,
    /// Only items this user asked for.
    pub requested_by: Option<UserId>,
    /// Only items reviewed at or after this instant (Unix ms).
    pub reviewed_since: Option<i64>,
    /// Only items this user asked for or reviewed.
    pub person: Option<UserId>,
    /// Only items older than this one (the page after the one ending there).
    pub before: Option<i64>,
    /// At most this many, newest first.
    pub limit: i64,
}

impl ItemFilter {
    /// The first `limit` items, with no other condition.
    pub fn newest(limit: i64) -> ItemFilter {
        ItemFilter { status: None, requested_by: None, reviewed_since: None, person: None, before: None, limit }
    }
}

/// An item of kind `K` from a row of [`select_sql`]'s (or [`returning_sql`]'s) columns.
fn item_from_row<K: ItemKind>(row: &AnyRow, clock: &KitchenClock) -> Result<Item<K>, sqlx::Error> {
    let status: String = row.try_get(1)?;
    let reviewer_id: Option<i64> = row.try_get(8)?;
    let reviewed_by = match reviewer_id {
        Some(id) => Some(Person { id: UserId(id), first_name: row.try_get(9)?, last_name: row.try_get(10)? }),
        None => None,
    };
    Ok(Item {
        id: row.try_get(0)?,
        details: K::from_row(row, OWN_START)?,
        status: ReviewStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown status {status}").into()))?,
        created_at: clock.format(row.try_get(2)?),
        created_at_millis: row.try_get(2)?,
        reviewed_at: row.try_get::<Option<i64>, _>(3)?.map(|at| clock.format(at)),
        reviewed_at_millis: row.try_get(3)?,
        review_note: row.try_get(4)?,
        escalated_at_millis: row.try_get(11)?,
        requested_by: Person { id: UserId(row.try_get(5)?), first_name: row.try_get(6)?, last_name: row.try_get(7)? },
        reviewed_by,
    })
}

fn select_sql<K: ItemKind>() -> String {
    let own: Vec<String> = K::OWN_COLUMNS.iter().map(|column| format!("t.{column}")).collect();
    format!(
        "SELECT {SHARED_COLUMNS}, {own} FROM {table} t \
         JOIN users r ON r.id = t.requested_by LEFT JOIN users v ON v.id = t.reviewed_by",
        own = own.join(", "),
        table = K::TABLE
    )
}

/// What a create's INSERT returns: the columns of [`select_sql`] in its order, read from the
/// new row (the requester's names by subquery; no reviewer yet), so that a create needs no
/// second read: under a full fan-out every round trip to the database waits its turn.
fn returning_sql<K: ItemKind>() -> String {
    format!(
        "RETURNING id, status, created_at, reviewed_at, review_note, requested_by, \
         (SELECT first_name FROM users WHERE users.id = {table}.requested_by), \
         (SELECT last_name FROM users WHERE users.id = {table}.requested_by), \
         reviewed_by, CAST(NULL AS TEXT), CAST(NULL AS TEXT), escalated_at, {own}",
        own = K::OWN_COLUMNS.join(", "),
        table = K::TABLE
    )
}

/// `INSERT INTO {table} ({own columns}, requested_by, created_at, kitchen_id) VALUES …`.
fn insert_sql<K: ItemKind>() -> String {
    let own = K::OWN_COLUMNS.len();
    let placeholders: Vec<String> = (1..=own + 3).map(|index| format!("${index}")).collect();
    format!(
        "INSERT INTO {table} ({columns}, requested_by, created_at, kitchen_id) VALUES ({values}) {returning}",
        table = K::TABLE,
        columns = K::OWN_COLUMNS.join(", "),
        values = placeholders.join(", "),
        returning = returning_sql::<K>()
    )
}

/// An item as the REST API answers it.
pub(super) fn item_json<K: ItemKind>(item: &Item<K>) -> String {
    // Items hold strings, numbers and enums only; serializing one cannot fail.
    serde_json::to_string(item).expect("items always serialize")
}

/// One item of a kitchen; another kitchen's is not found.
pub(super) async fn fetch_item<'e, K: ItemKind, E>(
    executor: E,
    clock: &KitchenClock,
    kitchen_id: KitchenId,
    id: i64,
) -> Result<Option<Item<K>>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("{} WHERE t.id = $1 AND t.kitchen_id = $2", select_sql::<K>());
    let row = sqlx::query(AssertSqlSafe(sql)).bind(id).bind(kitchen_id.0).fetch_optional(executor).await?;
    Ok(row.map(|row| item_from_row::<K>(&row, clock)).transpose()?)
}

impl Store {
    /// Refuses a new item of `user_id` beyond the write limits. Runs inside the create's
    /// transaction after the counter row is taken, so creates are counted one at a time and
    /// the limits hold exactly; an error rolls the create back.
    async fn check_write_limits(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        user_id: UserId,
        now: i64,
    ) -> Result<(), StoreError> {
        const MINUTE_MS: i64 = 60_000;
        let limits = self.write_limits;
        if limits.new_items_per_minute > 0 {
            // The oldest of the last `limit` creations within the minute: while there is one,
            // the next create must wait until it is a minute old.
            let row = sqlx::query(
                "SELECT created_at FROM (\
                 SELECT created_at FROM ingredient_requests WHERE requested_by = $1 AND created_at > $2 \
                 UNION ALL \
                 SELECT created_at FROM dish_suggestions WHERE requested_by = $1 AND created_at > $2) recent \
                 ORDER BY created_at DESC LIMIT 1 OFFSET $3",
            )
            .bind(user_id.0)
            .bind(now - MINUTE_MS)
            .bind(i64::from(limits.new_items_per_minute - 1))
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(row) = row {
                let at: i64 = row.try_get(0)?;
                let retry_after = u64::try_from((at + MINUTE_MS - now + 999) / 1000).unwrap_or(1).max(1);
                return Err(StoreError::TooManyRequests {
                    limit: WriteLimit::PerMinute(limits.new_items_per_minute),
                    retry_after,
                });
            }
        }
        if limits.pending_per_user > 0 {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM ingredient_requests WHERE requested_by = $1 AND status = 'PENDING') \
                 + (SELECT COUNT(*) FROM dish_suggestions WHERE requested_by = $1 AND status = 'PENDING')",
            )
            .bind(user_id.0)
            .fetch_one(&mut **tx)
            .await?;
            if row.try_get::<i64, _>(0)? >= i64::from(limits.pending_per_user) {
                // Nothing but a review frees a place; a minute is a fair time to look again.
                return Err(StoreError::TooManyRequests {
                    limit: WriteLimit::Pending(limits.pending_per_user),
                    retry_after: 60,
                });
            }
        }
        Ok(())
    }

    /// One kitchen's items of kind `K`, newest first.
    pub async fn list<K: ItemKind>(
        &self,
        kitchen_id: KitchenId,
        filter: ItemFilter,
    ) -> Result<Vec<Item<K>>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let mut sql = select_sql::<K>();
        let mut placeholders = 0;
        let mut next = || {
            placeholders += 1;
            format!("${placeholders}")
        };
        let mut conditions = vec![format!("t.kitchen_id = {}", next())];
        if filter.status.is_some() {
            conditions.push(format!("t.status = {}", next()));
        }
        if filter.requested_by.is_some() {
            conditions.push(format!("t.requested_by = {}", next()));
        }
        if filter.reviewed_since.is_some() {
            conditions.push(format!("t.reviewed_at >= {}", next()));
        }
        if filter.person.is_some() {
            conditions.push(format!("(t.requested_by = {} OR t.reviewed_by = {})", next(), next()));
        }
        if filter.before.is_some() {
            conditions.push(format!("t.id < {}", next()));
        }
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
        sql.push_str(&format!(" ORDER BY t.id DESC LIMIT {}", next()));
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(kitchen_id.0);
        if let Some(status) = filter.status {
            query = query.bind(status.as_str());
        }
        if let Some(requester) = filter.requested_by {
            query = query.bind(requester.0);
        }
        if let Some(since) = filter.reviewed_since {
            query = query.bind(since);
        }
        if let Some(person) = filter.person {
            query = query.bind(person.0).bind(person.0);
        }
        if let Some(before) = filter.before {
            query = query.bind(before);
        }
        let rows = query.bind(filter.limit).fetch_all(&mut *self.connection().await?).await?;
        rows.iter().map(|row| Ok(item_from_row::<K>(row, &clock)?)).collect()
    }

    /// Records in `write`, beside an item's change, what answers it later: the deliveries of
    /// `event` to the kitchen's webhooks (only when its counter row says it has any) and,
    /// under a claimed Idempotency-Key, the answer (its status, and the item). The item's JSON
    /// is made once, and only if one of them needs it.
    async fn record_item_outgoing<K: ItemKind>(
        &self,
        write: &mut Write,
        bumped: &Bumped,
        event: WebhookEvent,
        item: &Item<K>,
        answer: Option<(&IdempotencyKey, u16)>,
    ) -> Result<(), StoreError> {
        if bumped.webhooks == 0 && answer.is_none() {
            return Ok(());
        }
        let json = item_json(item);
        if bumped.webhooks > 0 {
            write.wakes_webhooks =
                webhooks::enqueue_item_deliveries(&mut write.tx, self.backend, bumped.kitchen_id, event, &json).await?;
        }
        if let Some((key, status)) = answer {
            idempotency::record_answer(&mut write.tx, key, status, &json).await?;
        }
        Ok(())
    }

    /// One item of kind `K` of a kitchen (another kitchen's is `None`).
    pub async fn get<K: ItemKind>(&self, kitchen_id: KitchenId, id: i64) -> Result<Option<Item<K>>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        fetch_item::<K, _>(&mut *self.connection().await?, &clock, kitchen_id, id).await
    }

    /// Stores a new item of kind `K` in the requester's kitchen and announces it. With
    /// `answering`, the answer (201 and the item) is recorded under that claimed key in the
    /// same transaction.
    pub async fn create<K: ItemKind>(
        &self,
        kitchen_id: KitchenId,
        requester: &Person,
        details: &K,
        answering: Option<&IdempotencyKey>,
    ) -> Result<Item<K>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let mut write = self.begin_write().await?;
        let bumped = bump_pending(&mut write.tx, kitchen_id, K::CATEGORY, 1).await?;
        let now = clock.now_millis();
        self.check_write_limits(&mut write.tx, requester.id, now).await?;
        let sql = insert_sql::<K>();
        let query = details.bind(sqlx::query(AssertSqlSafe(sql))).bind(requester.id.0).bind(now).bind(kitchen_id.0);
        let row = query.fetch_one(&mut *write.tx).await?;
        let item = item_from_row::<K>(&row, &clock)?;
        let event = Event {
            kitchen_id,
            counts: bumped.counts,
            category: K::CATEGORY,
            at_millis: now,
            timestamp: clock.format(now),
            change: Change::Created {
                item_id: item.id,
                item_name: item.name().to_string(),
                requested_by: item.requested_by.clone(),
                item: Some(Box::new(K::into_any(item.clone()))),
            },
        };
        let answer = answering.map(|key| (key, 201));
        self.record_item_outgoing(&mut write, &bumped, WebhookEvent::ItemCreated, &item, answer).await?;
        self.commit(write, Announcement::Event(event)).await?;
        Ok(item)
    }

    /// Approves or rejects a PENDING item of a kitchen, atomically: of two reviewers at the
    /// same moment, exactly one succeeds and the other gets [`StoreError::AlreadyReviewed`].
    /// Another kitchen's item is [`StoreError::NotFound`]. With `answering`, the answer (200
    /// and the item) is recorded under that claimed key in the same transaction.
    pub async fn review<K: ItemKind>(
        &self,
        kitchen_id: KitchenId,
        id: i64,
        reviewer: &Person,
        decision: Decision,
        note: Option<&str>,
        answering: Option<&IdempotencyKey>,
    ) -> Result<Item<K>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let mut write = self.begin_write().await?;
        let now = clock.now_millis();
        let status = decision.status();
        // The conditional UPDATE comes first: it takes the row (PostgreSQL) or the database
        // (SQLite) write lock, and a concurrent reviewer re-checks `status` after we commit.
        let sql = format!(
            "UPDATE {} SET status = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4 \
             WHERE id = $5 AND kitchen_id = $6 AND status = 'PENDING'",
            K::TABLE
        );
        let updated = sqlx::query(AssertSqlSafe(sql))
            .bind(status.as_str())
            .bind(reviewer.id.0)
            .bind(now)
            .bind(note)
            .bind(id)
            .bind(kitchen_id.0)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        if updated == 0 {
            let exists = fetch_item::<K, _>(&mut *write.tx, &clock, kitchen_id, id).await?.is_some();
            write.tx.rollback().await?;
            return Err(if exists { StoreError::AlreadyReviewed } else { StoreError::NotFound });
        }
        let bumped = bump_pending(&mut write.tx, kitchen_id, K::CATEGORY, -1).await?;
        let item = fetch_item::<K, _>(&mut *write.tx, &clock, kitchen_id, id).await?.ok_or(StoreError::NotFound)?;
        let event = Event {
            kitchen_id,
            counts: bumped.counts,
            category: K::CATEGORY,
            at_millis: now,
            timestamp: clock.format(now),
            change: Change::Reviewed {
                item_id: id,
                item_name: item.name().to_string(),
                requester_id: item.requested_by.id,
                reviewed_by: reviewer.clone(),
                decision,
                note: note.map(str::to_string),
            },
        };
        // The requester's phones hear of it even with no page open (API.md section 10).
        if let Some((requester, message)) = deliveries(&event, false).to_staff {
            let payload = push::push_payload(&message);
            write.wakes_outbox =
                push::enqueue_pushes(&mut write.tx, self.backend, PushRecipients::User(requester), &payload).await? > 0;
        }
        let answer = answering.map(|key| (key, 200));
        self.record_item_outgoing(&mut write, &bumped, WebhookEvent::of_decision(decision), &item, answer).await?;
        self.commit(write, Announcement::Event(event)).await?;
        Ok(item)
    }
}
