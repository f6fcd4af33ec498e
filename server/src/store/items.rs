//! Ingredient requests and dish suggestions: the same life cycle over two tables.
//!
//! [`ItemKind`] holds what differs between the two (table, own columns, JSON shape); creating,
//! listing, reading and reviewing are written once. The SQL text is assembled only from
//! these compile-time table and column names (hence `AssertSqlSafe`); every value is bound.

use super::{kitchens::bump_pending, EventSink, Store, StoreError, Write, WriteLimit};
use crate::{
    clock::KitchenClock,
    event::{Change, Event, PendingCounts},
};
use app::wire::{
    Category, Decision, DishSuggestion, IngredientRequest, NewDishSuggestion, NewIngredientRequest, Person, Quantity,
    ReviewStatus,
};
use sqlx::{any::AnyRow, AssertSqlSafe, Row};

/// The columns every item has, selected first (indexes 0–10), joined with both people.
const SHARED_COLUMNS: &str = "t.id, t.status, t.created_at, t.reviewed_at, t.review_note, \
     r.id, r.first_name, r.last_name, v.id, v.first_name, v.last_name";

/// What differs between ingredient requests and dish suggestions.
pub trait ItemKind: Send + Sync + 'static {
    /// The REST body of one item.
    type Item: Send + Sync + 'static;
    /// The notification category.
    const CATEGORY: Category;
    /// The table.
    const TABLE: &'static str;
    /// This kind's own columns (unqualified, separated by ", "), selected after
    /// [`SHARED_COLUMNS`].
    const OWN_COLUMNS: &'static str;
    /// Builds the item from a row: `shared` from the first columns, the rest read from index 11.
    fn from_row(row: &AnyRow, shared: SharedFields) -> Result<Self::Item, sqlx::Error>;
    /// The name notifications show.
    fn name(item: &Self::Item) -> &str;
    /// Who asked.
    fn requester(item: &Self::Item) -> &Person;
}

/// The fields both kinds share, already decoded.
pub struct SharedFields {
    pub id: i64,
    pub status: ReviewStatus,
    pub requested_by: Person,
    pub created_at: String,
    pub created_at_millis: i64,
    pub reviewed_by: Option<Person>,
    pub reviewed_at: Option<String>,
    pub reviewed_at_millis: Option<i64>,
    pub review_note: Option<String>,
}

/// Ingredient requests.
pub struct IngredientRequests;
/// Dish suggestions.
pub struct DishSuggestions;

/// Index of the first kind-specific column.
const OWN_START: usize = 11;

impl ItemKind for IngredientRequests {
    type Item = IngredientRequest;
    const CATEGORY: Category = Category::IngredientRequest;
    const TABLE: &'static str = "ingredient_requests";
    const OWN_COLUMNS: &'static str = "item_name, quantity, unit, note";

    fn from_row(row: &AnyRow, shared: SharedFields) -> Result<IngredientRequest, sqlx::Error> {
        Ok(IngredientRequest {
            id: shared.id,
            item_name: row.try_get(OWN_START)?,
            quantity: Quantity(row.try_get(OWN_START + 1)?),
            unit: row.try_get(OWN_START + 2)?,
            note: row.try_get(OWN_START + 3)?,
            status: shared.status,
            requested_by: shared.requested_by,
            created_at: shared.created_at,
            created_at_millis: shared.created_at_millis,
            reviewed_by: shared.reviewed_by,
            reviewed_at: shared.reviewed_at,
            reviewed_at_millis: shared.reviewed_at_millis,
            review_note: shared.review_note,
        })
    }

    fn name(item: &IngredientRequest) -> &str {
        &item.item_name
    }

    fn requester(item: &IngredientRequest) -> &Person {
        &item.requested_by
    }
}

impl ItemKind for DishSuggestions {
    type Item = DishSuggestion;
    const CATEGORY: Category = Category::DishSuggestion;
    const TABLE: &'static str = "dish_suggestions";
    const OWN_COLUMNS: &'static str = "name, description";

    fn from_row(row: &AnyRow, shared: SharedFields) -> Result<DishSuggestion, sqlx::Error> {
        Ok(DishSuggestion {
            id: shared.id,
            name: row.try_get(OWN_START)?,
            description: row.try_get(OWN_START + 1)?,
            status: shared.status,
            requested_by: shared.requested_by,
            created_at: shared.created_at,
            created_at_millis: shared.created_at_millis,
            reviewed_by: shared.reviewed_by,
            reviewed_at: shared.reviewed_at,
            reviewed_at_millis: shared.reviewed_at_millis,
            review_note: shared.review_note,
        })
    }

    fn name(item: &DishSuggestion) -> &str {
        &item.name
    }

    fn requester(item: &DishSuggestion) -> &Person {
        &item.requested_by
    }
}

/// Which items a list returns.
#[derive(Clone, Copy, Debug)]
pub struct ItemFilter {
    /// Only items in this state.
    pub status: Option<ReviewStatus>,
    /// Only items this user asked for.
    pub requested_by: Option<i64>,
    /// Only items reviewed at or after this instant (Unix ms).
    pub reviewed_since: Option<i64>,
    /// Only items this user asked for or reviewed.
    pub person: Option<i64>,
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

fn shared_fields(row: &AnyRow, clock: &KitchenClock) -> Result<SharedFields, sqlx::Error> {
    let status: String = row.try_get(1)?;
    let reviewer_id: Option<i64> = row.try_get(8)?;
    let reviewed_by = match reviewer_id {
        Some(id) => Some(Person { id, first_name: row.try_get(9)?, last_name: row.try_get(10)? }),
        None => None,
    };
    Ok(SharedFields {
        id: row.try_get(0)?,
        status: ReviewStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown status {status}").into()))?,
        created_at: clock.format(row.try_get(2)?),
        created_at_millis: row.try_get(2)?,
        reviewed_at: row.try_get::<Option<i64>, _>(3)?.map(|at| clock.format(at)),
        reviewed_at_millis: row.try_get(3)?,
        review_note: row.try_get(4)?,
        requested_by: Person { id: row.try_get(5)?, first_name: row.try_get(6)?, last_name: row.try_get(7)? },
        reviewed_by,
    })
}

fn select_sql<K: ItemKind>() -> String {
    format!(
        "SELECT {SHARED_COLUMNS}, {own} FROM {table} t \
         JOIN users r ON r.id = t.requested_by LEFT JOIN users v ON v.id = t.reviewed_by",
        own = K::OWN_COLUMNS.split(", ").map(|column| format!("t.{column}")).collect::<Vec<_>>().join(", "),
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
         reviewed_by, CAST(NULL AS TEXT), CAST(NULL AS TEXT), {own}",
        own = K::OWN_COLUMNS,
        table = K::TABLE
    )
}

/// One item of a kitchen; another kitchen's is not found.
async fn fetch_item<'e, K: ItemKind, E>(
    executor: E,
    clock: &KitchenClock,
    kitchen_id: i64,
    id: i64,
) -> Result<Option<K::Item>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("{} WHERE t.id = $1 AND t.kitchen_id = $2", select_sql::<K>());
    let row = sqlx::query(AssertSqlSafe(sql)).bind(id).bind(kitchen_id).fetch_optional(executor).await?;
    match row {
        Some(row) => Ok(Some(K::from_row(&row, shared_fields(&row, clock)?)?)),
        None => Ok(None),
    }
}

impl Store {
    /// Refuses a new item of `user_id` beyond the write limits. Runs inside the create's
    /// transaction after the counter row is taken, so creates are counted one at a time and
    /// the limits hold exactly; an error rolls the create back.
    async fn check_write_limits(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        user_id: i64,
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
            .bind(user_id)
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
            .bind(user_id)
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
    pub async fn list<K: ItemKind>(&self, kitchen_id: i64, filter: ItemFilter) -> Result<Vec<K::Item>, StoreError> {
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
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(kitchen_id);
        if let Some(status) = filter.status {
            query = query.bind(status.as_str());
        }
        if let Some(requester) = filter.requested_by {
            query = query.bind(requester);
        }
        if let Some(since) = filter.reviewed_since {
            query = query.bind(since);
        }
        if let Some(person) = filter.person {
            query = query.bind(person).bind(person);
        }
        if let Some(before) = filter.before {
            query = query.bind(before);
        }
        let rows = query.bind(filter.limit).fetch_all(&mut *self.connection().await?).await?;
        rows.iter().map(|row| Ok(K::from_row(row, shared_fields(row, &clock)?)?)).collect()
    }

    /// One item of kind `K` of a kitchen (another kitchen's is `None`).
    pub async fn get<K: ItemKind>(&self, kitchen_id: i64, id: i64) -> Result<Option<K::Item>, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        fetch_item::<K, _>(&mut *self.connection().await?, &clock, kitchen_id, id).await
    }

    /// Stores a new ingredient request in the requester's kitchen and hands its event to `sink`.
    pub async fn create_ingredient_request(
        &self,
        kitchen_id: i64,
        requester: &Person,
        input: &NewIngredientRequest,
        sink: &impl EventSink,
    ) -> Result<IngredientRequest, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let mut write = self.begin_write().await?;
        let counts = bump_pending(&mut write.tx, kitchen_id, Category::IngredientRequest, 1).await?;
        let now = clock.now_millis();
        self.check_write_limits(&mut write.tx, requester.id, now).await?;
        let sql = format!(
            "INSERT INTO ingredient_requests (item_name, quantity, unit, note, requested_by, created_at, kitchen_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) {}",
            returning_sql::<IngredientRequests>()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&input.item_name)
            .bind(input.quantity)
            .bind(&input.unit)
            .bind(input.note.as_deref())
            .bind(requester.id)
            .bind(now)
            .bind(kitchen_id)
            .fetch_one(&mut *write.tx)
            .await?;
        self.finish_create::<IngredientRequests>(write, &clock, kitchen_id, &row, counts, now, sink).await
    }

    /// Stores a new dish suggestion in the requester's kitchen and hands its event to `sink`.
    pub async fn create_dish_suggestion(
        &self,
        kitchen_id: i64,
        requester: &Person,
        input: &NewDishSuggestion,
        sink: &impl EventSink,
    ) -> Result<DishSuggestion, StoreError> {
        let clock = self.kitchen_clock(kitchen_id).await?;
        let mut write = self.begin_write().await?;
        let counts = bump_pending(&mut write.tx, kitchen_id, Category::DishSuggestion, 1).await?;
        let now = clock.now_millis();
        self.check_write_limits(&mut write.tx, requester.id, now).await?;
        let sql = format!(
            "INSERT INTO dish_suggestions (name, description, requested_by, created_at, kitchen_id) \
             VALUES ($1, $2, $3, $4, $5) {}",
            returning_sql::<DishSuggestions>()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(&input.name)
            .bind(&input.description)
            .bind(requester.id)
            .bind(now)
            .bind(kitchen_id)
            .fetch_one(&mut *write.tx)
            .await?;
        self.finish_create::<DishSuggestions>(write, &clock, kitchen_id, &row, counts, now, sink).await
    }

    #[allow(clippy::too_many_arguments)] // one create's parts, each of a different meaning
    async fn finish_create<K: ItemKind>(
        &self,
        write: Write,
        clock: &KitchenClock,
        kitchen_id: i64,
        inserted: &AnyRow,
        counts: PendingCounts,
        now: i64,
        sink: &impl EventSink,
    ) -> Result<K::Item, StoreError> {
        let shared = shared_fields(inserted, clock)?;
        let id = shared.id;
        let item = K::from_row(inserted, shared)?;
        let event = Event {
            kitchen_id,
            counts,
            category: K::CATEGORY,
            at_millis: now,
            timestamp: clock.format(now),
            change: Change::Created {
                item_id: id,
                item_name: K::name(&item).to_string(),
                requested_by: K::requester(&item).clone(),
            },
        };
        write.commit(event, sink).await?;
        Ok(item)
    }

    /// Approves or rejects a PENDING item of a kitchen, atomically: of two reviewers at the
    /// same moment, exactly one succeeds and the other gets [`StoreError::AlreadyReviewed`].
    /// Another kitchen's item is [`StoreError::NotFound`].
    pub async fn review<K: ItemKind>(
        &self,
        kitchen_id: i64,
        id: i64,
        reviewer: &Person,
        decision: Decision,
        note: Option<&str>,
        sink: &impl EventSink,
    ) -> Result<K::Item, StoreError> {
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
            .bind(reviewer.id)
            .bind(now)
            .bind(note)
            .bind(id)
            .bind(kitchen_id)
            .execute(&mut *write.tx)
            .await?
            .rows_affected();
        if updated == 0 {
            let exists = fetch_item::<K, _>(&mut *write.tx, &clock, kitchen_id, id).await?.is_some();
            write.tx.rollback().await?;
            return Err(if exists { StoreError::AlreadyReviewed } else { StoreError::NotFound });
        }
        let counts = bump_pending(&mut write.tx, kitchen_id, K::CATEGORY, -1).await?;
        let item = fetch_item::<K, _>(&mut *write.tx, &clock, kitchen_id, id).await?.ok_or(StoreError::NotFound)?;
        let event = Event {
            kitchen_id,
            counts,
            category: K::CATEGORY,
            at_millis: now,
            timestamp: clock.format(now),
            change: Change::Reviewed {
                item_id: id,
                item_name: K::name(&item).to_string(),
                requester_id: K::requester(&item).id,
                reviewed_by: reviewer.clone(),
                decision,
                note: note.map(str::to_string),
            },
        };
        write.commit(event, sink).await?;
        Ok(item)
    }
}
