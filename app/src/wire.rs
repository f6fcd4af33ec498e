//! The wire contract (`shared/spec/API.md`) as Rust types: REST bodies and WebSocket messages.
//!
//! The server, the browser app and the tests all serialize and parse through these types, so
//! a field renamed here is renamed everywhere at once and no JSON is ever written by hand.

use serde::{Deserialize, Serialize, Serializer};

/// A kitchen's id (API.md section 9). On the wire a plain number; a type of its own so that a
/// kitchen's id cannot be passed where a user's is meant, or the other way round.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
#[serde(transparent)]
pub struct KitchenId(pub i64);

/// A user's id: a plain number on the wire (see [`KitchenId`]).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl std::fmt::Display for KitchenId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(formatter)
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(formatter)
    }
}

/// A kitchen role. The first two are the admins who review; the others are kitchen staff.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    HeadChef,
    SousChef,
    LineCook,
    PrepCook,
}

impl Role {
    /// Head and sous chefs review requests and get ADMIN sessions.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::HeadChef | Role::SousChef)
    }

    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::HeadChef => "HEAD_CHEF",
            Role::SousChef => "SOUS_CHEF",
            Role::LineCook => "LINE_COOK",
            Role::PrepCook => "PREP_COOK",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// Every role, most senior first.
    pub const ALL: [Role; 4] = [Role::HeadChef, Role::SousChef, Role::LineCook, Role::PrepCook];
}

/// A user as `/auth/login` and `/auth/me` return it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    /// False once a head chef has disabled the account; its items and reviews stay.
    pub active: bool,
    /// The kitchen the user belongs to (API.md section 9).
    pub kitchen_id: KitchenId,
}

impl User {
    /// The short form embedded in items and notifications.
    pub fn person(&self) -> Person {
        Person { id: self.id, first_name: self.first_name.clone(), last_name: self.last_name.clone() }
    }
}

/// Who asked or who reviewed: `{"id", "firstName", "lastName"}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: UserId,
    pub first_name: String,
    pub last_name: String,
}

/// Body of `POST /api/v1/auth/login`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Answer of `POST /api/v1/auth/login`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    pub token: String,
    pub user: User,
    /// True after a sign-in with a temporary password: until it is changed, every route but
    /// `/auth/password`, `/auth/me` and `/auth/logout` answers 403 `password_change_required`.
    #[serde(default)]
    pub must_change_password: bool,
}

/// Answer of `POST /api/v1/auth/refresh`: a new token for the same session.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct RefreshResponse {
    pub token: String,
    pub user: User,
}

/// Body of `POST /api/v1/auth/password`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Body of `POST /api/v1/users`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
}

/// Answer of `POST /api/v1/users`: the temporary password is shown this once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CreatedUser {
    pub user: User,
    pub temporary_password: String,
}

/// Body of `PATCH /api/v1/users/{id}`: only the fields present change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// Answer of `POST /api/v1/users/{id}/reset-password`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct TemporaryPassword {
    pub temporary_password: String,
}

/// The life cycle shared by ingredient requests and dish suggestions.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
}

impl ReviewStatus {
    /// The name used on the wire, in query strings and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "PENDING",
            ReviewStatus::Approved => "APPROVED",
            ReviewStatus::Rejected => "REJECTED",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(name: &str) -> Option<ReviewStatus> {
        [ReviewStatus::Pending, ReviewStatus::Approved, ReviewStatus::Rejected]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// The two kinds of reviewable item; also the `category` of every notification.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    IngredientRequest,
    DishSuggestion,
}

impl Category {
    /// Both categories, in the order the contract lists counts.
    pub const ALL: [Category; 2] = [Category::IngredientRequest, Category::DishSuggestion];

    /// The REST collection of this kind of item, under `/api/v1/`.
    pub fn resource(self) -> &'static str {
        match self {
            Category::IngredientRequest => "ingredient-requests",
            Category::DishSuggestion => "dish-suggestions",
        }
    }

    /// The kind of item in words ("ingredient request").
    pub fn noun(self) -> &'static str {
        match self {
            Category::IngredientRequest => "ingredient request",
            Category::DishSuggestion => "dish suggestion",
        }
    }

    /// The name of the item's schema in the API's document (`IngredientRequest`).
    pub fn item_schema(self) -> &'static str {
        match self {
            Category::IngredientRequest => "IngredientRequest",
            Category::DishSuggestion => "DishSuggestion",
        }
    }
}

/// A reviewer's verdict on a pending item: `POST …/{id}/approve` or `…/reject`.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    /// The status an item takes with this decision.
    pub fn status(self) -> ReviewStatus {
        match self {
            Decision::Approve => ReviewStatus::Approved,
            Decision::Reject => ReviewStatus::Rejected,
        }
    }

    /// The last segment of the REST path that makes this decision.
    pub fn action(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

/// An amount of an ingredient. Whole amounts serialize as JSON integers (`2`, not `2.0`), so
/// the common case reads exactly as the contract's example; fractions (`0.5` kg) are kept.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(transparent)]
pub struct Quantity(pub f64);

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // 2^53: beyond it an f64 no longer holds every integer exactly.
        const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;
        if self.0.fract() == 0.0 && self.0.abs() < EXACT_INTEGER_LIMIT {
            serializer.serialize_i64(self.0 as i64)
        } else {
            serializer.serialize_f64(self.0)
        }
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // f64's Display already writes 2.0 as "2" and 0.5 as "0.5".
        write!(formatter, "{}", self.0)
    }
}

/// What only one kind of item has: the fields its create body carries and its JSON shows
/// beside the life cycle's. A new kind of item is one of these (and its server-side
/// `ItemKind`); everything else about items is written once, over [`Item`].
pub trait ItemDetails:
    Serialize + serde::de::DeserializeOwned + Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static
{
    /// Which kind this is: the `category` of its notifications.
    const CATEGORY: Category;
    /// The name notifications and cards show.
    fn name(&self) -> &str;
    /// A whole item of this kind, as one of either kind.
    fn into_any(item: Item<Self>) -> AnyItem;
}

/// An ingredient request or a dish suggestion as the REST API returns it: the kind's own
/// fields (`details`, flattened into the same JSON object) and the life cycle both share.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase", bound(deserialize = "D: ItemDetails"))]
pub struct Item<D> {
    pub id: i64,
    #[serde(flatten)]
    pub details: D,
    pub status: ReviewStatus,
    pub requested_by: Person,
    pub created_at: String,
    /// When it was created, in Unix milliseconds (additive): exact ages, where `createdAt`
    /// names only the minute.
    #[serde(default)]
    pub created_at_millis: i64,
    pub reviewed_by: Option<Person>,
    pub reviewed_at: Option<String>,
    /// When it was reviewed, in Unix milliseconds (additive; `null` while pending).
    #[serde(default)]
    pub reviewed_at_millis: Option<i64>,
    pub review_note: Option<String>,
    /// When it was escalated for waiting too long, in Unix milliseconds (additive, API.md
    /// section 12; `null` unless it was).
    #[serde(default)]
    pub escalated_at_millis: Option<i64>,
}

impl<D: ItemDetails> Item<D> {
    /// The name notifications and cards show.
    pub fn name(&self) -> &str {
        self.details.name()
    }
}

/// What an ingredient request asks for; also the body of `POST /api/v1/ingredient-requests`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct IngredientDetails {
    pub item_name: String,
    pub quantity: Quantity,
    pub unit: String,
    #[serde(default)]
    pub note: Option<String>,
}

impl ItemDetails for IngredientDetails {
    const CATEGORY: Category = Category::IngredientRequest;
    fn name(&self) -> &str {
        &self.item_name
    }
    fn into_any(item: Item<Self>) -> AnyItem {
        AnyItem::IngredientRequest(item)
    }
}

/// What a dish suggestion proposes; also the body of `POST /api/v1/dish-suggestions`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DishDetails {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl ItemDetails for DishDetails {
    const CATEGORY: Category = Category::DishSuggestion;
    fn name(&self) -> &str {
        &self.name
    }
    fn into_any(item: Item<Self>) -> AnyItem {
        AnyItem::DishSuggestion(item)
    }
}

/// An ingredient request as the REST API returns it.
pub type IngredientRequest = Item<IngredientDetails>;
/// A dish suggestion as the REST API returns it.
pub type DishSuggestion = Item<DishDetails>;
/// Body of `POST /api/v1/ingredient-requests`.
pub type NewIngredientRequest = IngredientDetails;
/// Body of `POST /api/v1/dish-suggestions`.
pub type NewDishSuggestion = DishDetails;

/// Optional body of the approve and reject calls.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct ReviewBody {
    #[serde(default)]
    pub note: Option<String>,
}

/// A kitchen and its settings (`GET /api/v1/kitchen`, API.md section 12).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KitchenSettings {
    pub id: KitchenId,
    pub name: String,
    /// Its IANA time zone (the deployment's when it has none of its own).
    pub time_zone: String,
    /// A pending item's waiting time turns amber after this many minutes…
    pub amber_minutes: i64,
    /// …and red after this many (at least `amberMinutes`).
    pub red_minutes: i64,
    /// A pending item is escalated after this many minutes; 0: never.
    pub escalate_after_minutes: i64,
}

/// Body of `PATCH /api/v1/kitchen` (head chefs): the settings to change, any of them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KitchenChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amber_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_minutes: Option<i64>,
}

/// Body of `POST /api/v1/reviews`: one decision, with one note, on 1 to 100 items (API.md
/// section 12).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BulkReview {
    /// `APPROVED` or `REJECTED`.
    pub decision: ReviewStatus,
    #[serde(default)]
    pub note: Option<String>,
    pub items: Vec<ItemRef>,
}

/// One item, named by its kind and id.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemRef {
    pub category: Category,
    pub id: i64,
}

/// Answer of `POST /api/v1/reviews`: one result per item, in the order they were given.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BulkReviewResults {
    pub results: Vec<BulkReviewResult>,
}

/// What came of one item of a bulk review: the status its own route would have answered
/// (200, 404, 409; or the 5xx it would have, when the database failed it), with the
/// reviewed item on 200.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BulkReviewResult {
    pub category: Category,
    pub id: i64,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<AnyItem>,
}

/// Answer of `GET /api/v1/notifications/snapshot`: the dashboard badges.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub pending_dish_suggestions: i64,
    pub pending_ingredient_requests: i64,
    pub total_pending: i64,
    pub seq: i64,
    /// The database's epoch (additive): when it changes (a restore from a backup), `seq`
    /// starts over and a client must drop the `seq` it holds.
    #[serde(default)]
    pub epoch: String,
}

/// Every error answer of the REST API: a stable code and a sentence for people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    /// For `invalid_field`, the field at fault (additive), so a client can say what is wrong
    /// in its user's language instead of showing `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Which flow a WebSocket session was registered for.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionType {
    Admin,
    Staff,
}

/// A new item, announced to every admin session.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NewItemNotice {
    pub category: Category,
    pub request_id: i64,
    pub item_name: String,
    pub requested_by: Person,
    pub timestamp: String,
    /// When the item was created, in Unix milliseconds (additive; `timestamp` keeps the
    /// contract's minute format).
    #[serde(default)]
    pub created_at_millis: i64,
    /// The whole item as committed (API.md section 12), so a dashboard shows the card without
    /// reading it. `None` only from an older process of a rolling upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Box<AnyItem>>,
}

/// An item of either kind, as a NEW_* message and a bulk review's result carry it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(untagged)]
pub enum AnyItem {
    IngredientRequest(IngredientRequest),
    DishSuggestion(DishSuggestion),
}

/// The schema: one of the two item schemas, by reference (each is described once).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AnyItem {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name(Category::IngredientRequest.item_schema()))
            .item(utoipa::openapi::Ref::from_schema_name(Category::DishSuggestion.item_schema()))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AnyItem {}

/// An item approved or rejected, told to every admin session of its kitchen so that every
/// dashboard takes its card away at once (API.md section 12).
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ItemReviewedNotice {
    pub category: Category,
    pub request_id: i64,
    pub status: ReviewStatus,
    pub reviewed_by: Person,
    pub timestamp: String,
}

/// An item still pending after its kitchen's `escalateAfterMinutes`, told once to every admin
/// session of its kitchen and pushed to its chefs (API.md section 12).
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ItemEscalatedNotice {
    pub category: Category,
    pub request_id: i64,
    pub item_name: String,
    pub requested_by: Person,
    /// Whole minutes from its creation to its escalation.
    pub waited_minutes: i64,
    /// When it was escalated.
    pub timestamp: String,
    /// When it was escalated, in Unix milliseconds (additive; the item's `escalatedAtMillis`).
    #[serde(default)]
    pub escalated_at_millis: i64,
}

/// A review decision, sent to the requester's staff session.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ReviewNotice {
    pub category: Category,
    pub request_id: i64,
    pub item_name: String,
    pub reviewed_by: Person,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the decision was made, in Unix milliseconds (additive; the item's
    /// `reviewedAtMillis`).
    #[serde(default)]
    pub reviewed_at_millis: i64,
}

/// Answer of `GET /api/v1/push/key`: the VAPID application server key pages subscribe with.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PushKey {
    /// base64url of the uncompressed P-256 point (65 bytes).
    pub public_key: String,
}

/// Body of `POST /api/v1/push/subscriptions`: the browser's `PushSubscription` as its
/// `toJSON()` gives it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NewPushSubscription {
    /// The push service's URL for this browser: `https://` to a public address.
    pub endpoint: String,
    pub keys: PushSubscriptionKeys,
    /// When the browser says the subscription ends (Unix ms), if it says; not used.
    #[serde(default)]
    pub expiration_time: Option<f64>,
}

/// The keys of a `PushSubscription`, base64url.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PushSubscriptionKeys {
    /// The browser's P-256 public key (65 bytes, uncompressed).
    pub p256dh: String,
    /// The browser's authentication secret (16 bytes).
    pub auth: String,
}

/// Answer of `POST /api/v1/push/subscriptions`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushSubscriptionId {
    pub id: i64,
}

/// One of the caller's push subscriptions (`GET /api/v1/push/subscriptions`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscriptionInfo {
    pub id: i64,
    pub endpoint: String,
    /// When it was made, in the kitchen's time.
    pub created_at: String,
}

/// Every message the server sends on `/api/v1/notifications`, tagged by `notificationType`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(tag = "notificationType", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum Notification {
    Connected {
        message: String,
        session_type: SessionType,
        user_id: UserId,
        /// The user's kitchen: every count and message on this socket is of this kitchen.
        kitchen_id: KitchenId,
        timestamp: String,
        /// The database's epoch (additive; see [`Snapshot::epoch`]).
        #[serde(default)]
        epoch: String,
        /// STAFF sockets only: how many head and sous chefs of the kitchen have a dashboard
        /// open, on any process (API.md section 13).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chefs_online: Option<i64>,
    },
    NewIngredientRequest(NewItemNotice),
    NewDishSuggestion(NewItemNotice),
    PendingCountUpdated {
        category: Category,
        count: i64,
        seq: i64,
        timestamp: String,
    },
    RequestApproved(ReviewNotice),
    RequestRejected(ReviewNotice),
    SuggestionApproved(ReviewNotice),
    SuggestionRejected(ReviewNotice),
    /// To ADMIN sockets: an item was reviewed (sent before the count it changed).
    ItemReviewed(ItemReviewedNotice),
    /// To ADMIN sockets: an item has waited too long (API.md section 12).
    ItemEscalated(ItemEscalatedNotice),
    /// To every socket of a kitchen: its settings changed (API.md section 12).
    KitchenUpdated {
        kitchen: KitchenSettings,
    },
    /// To STAFF sockets: the number of chefs online in the kitchen changed.
    ChefsOnline {
        count: i64,
        timestamp: String,
    },
}

impl Notification {
    /// The announcement of a new item of `notice.category` to the admins.
    pub fn new_item(notice: NewItemNotice) -> Notification {
        match notice.category {
            Category::IngredientRequest => Notification::NewIngredientRequest(notice),
            Category::DishSuggestion => Notification::NewDishSuggestion(notice),
        }
    }

    /// The message telling a requester of `decision` on their item of `notice.category`.
    pub fn review(decision: Decision, notice: ReviewNotice) -> Notification {
        match (notice.category, decision) {
            (Category::IngredientRequest, Decision::Approve) => Notification::RequestApproved(notice),
            (Category::IngredientRequest, Decision::Reject) => Notification::RequestRejected(notice),
            (Category::DishSuggestion, Decision::Approve) => Notification::SuggestionApproved(notice),
            (Category::DishSuggestion, Decision::Reject) => Notification::SuggestionRejected(notice),
        }
    }

    /// The decision and its notice, if this message tells a requester of one.
    pub fn as_review(&self) -> Option<(Decision, &ReviewNotice)> {
        match self {
            Notification::RequestApproved(notice) | Notification::SuggestionApproved(notice) => {
                Some((Decision::Approve, notice))
            }
            Notification::RequestRejected(notice) | Notification::SuggestionRejected(notice) => {
                Some((Decision::Reject, notice))
            }
            _ => None,
        }
    }

    /// The note of a review's notice, if this message tells of a review with one (a push
    /// shortens it to fit).
    pub fn review_note_mut(&mut self) -> Option<&mut String> {
        match self {
            Notification::RequestApproved(notice)
            | Notification::SuggestionApproved(notice)
            | Notification::RequestRejected(notice)
            | Notification::SuggestionRejected(notice) => notice.note.as_mut(),
            _ => None,
        }
    }

    /// The announced item, if this message announces a new one.
    pub fn as_new_item(&self) -> Option<&NewItemNotice> {
        match self {
            Notification::NewIngredientRequest(notice) | Notification::NewDishSuggestion(notice) => Some(notice),
            _ => None,
        }
    }
}

/// The welcome text of the CONNECTED message.
pub const WELCOME_MESSAGE: &str = "Connected to MiseOS notifications";

/// WebSocket close codes of the contract.
pub mod close_code {
    /// The client closed the socket itself (recorded by the server, never sent by it).
    pub const NORMAL_CLOSURE: u16 = 1000;
    /// Missing, invalid or expired token, or a cookie from a foreign Origin.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A client message larger than the 4 KiB limit.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The session could not keep up with its outbound queue.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The peer stopped answering pings.
    pub const PING_TIMEOUT: u16 = 1011;
    /// A newer STAFF session of the same user took over; do not reconnect.
    pub const REPLACED: u16 = 4001;
    /// The user has more sockets open than allowed, and this was the oldest; do not reconnect.
    pub const TOO_MANY_SESSIONS: u16 = 4008;
}

/// Why a server-side session ended (API.md section 7). Each has one spelling, [`EndReason::reason`]:
/// the 1008 close reason of its sockets, the 401 message of its token, what the database
/// stores, and (with dashes) the sign-in page's `?ended=` key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EndReason {
    SignedOut,
    AccountDisabled,
    Revoked,
    Expired,
}

impl EndReason {
    /// Every reason.
    pub const ALL: [EndReason; 4] =
        [EndReason::SignedOut, EndReason::AccountDisabled, EndReason::Revoked, EndReason::Expired];

    /// The reason as the contract spells it.
    pub const fn reason(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed out",
            EndReason::AccountDisabled => "account disabled",
            EndReason::Revoked => "session revoked",
            EndReason::Expired => "session expired",
        }
    }

    /// The reason spelt so; `None` for any other text.
    pub fn from_reason(text: &str) -> Option<EndReason> {
        EndReason::ALL.into_iter().find(|reason| reason.reason() == text)
    }
}

/// The reasons sent with 1008 besides a session's ending ([`EndReason`]).
pub mod close_reason {
    /// A live session's token expired: renew it and reconnect.
    pub const TOKEN_EXPIRED: &str = "token expired";
}

/// Name of the HttpOnly cookie that carries the token for the browser app.
pub const TOKEN_COOKIE: &str = "miseos_token";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_quantities_serialize_as_integers_and_fractions_survive() {
        assert_eq!(serde_json::to_string(&Quantity(2.0)).unwrap(), "2");
        assert_eq!(serde_json::to_string(&Quantity(0.5)).unwrap(), "0.5");
    }

    #[test]
    fn an_item_is_its_kinds_fields_beside_the_life_cycle_in_one_object() {
        let request = IngredientRequest {
            id: 5,
            details: IngredientDetails {
                item_name: "Frisk Dild".into(),
                quantity: Quantity(2.0),
                unit: "bunch".into(),
                note: Some("for the gravlax".into()),
            },
            status: ReviewStatus::Pending,
            requested_by: Person { id: UserId(3), first_name: "Ali".into(), last_name: "Hassan".into() },
            created_at: "2026-03-27 10:15".into(),
            created_at_millis: 1_774_606_500_000,
            reviewed_by: None,
            reviewed_at: None,
            reviewed_at_millis: None,
            review_note: None,
            escalated_at_millis: None,
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            json,
            r#"{"id":5,"itemName":"Frisk Dild","quantity":2,"unit":"bunch","note":"for the gravlax","status":"PENDING","requestedBy":{"id":3,"firstName":"Ali","lastName":"Hassan"},"createdAt":"2026-03-27 10:15","createdAtMillis":1774606500000,"reviewedBy":null,"reviewedAt":null,"reviewedAtMillis":null,"reviewNote":null,"escalatedAtMillis":null}"#
        );
        assert_eq!(serde_json::from_str::<IngredientRequest>(&json).unwrap(), request);
        let suggestion: DishSuggestion = serde_json::from_str(
            r#"{"id":9,"name":"Rødgrød","description":"med fløde","status":"APPROVED","requestedBy":{"id":4,"firstName":"Sara","lastName":"Jensen"},"createdAt":"2026-03-27 10:15","reviewedBy":{"id":1,"firstName":"Gordon","lastName":"Ramsay"},"reviewedAt":"2026-03-27 10:20","reviewNote":null}"#,
        )
        .unwrap();
        assert_eq!(
            (suggestion.name(), suggestion.reviewed_by.as_ref().map(|person| person.id)),
            ("Rødgrød", Some(UserId(1)))
        );
    }

    #[test]
    fn notifications_carry_the_contract_field_names() {
        let message = Notification::PendingCountUpdated {
            category: Category::IngredientRequest,
            count: 3,
            seq: 42,
            timestamp: "2026-03-27 10:15".into(),
        };
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            r#"{"notificationType":"PENDING_COUNT_UPDATED","category":"INGREDIENT_REQUEST","count":3,"seq":42,"timestamp":"2026-03-27 10:15"}"#
        );
        let welcome = Notification::Connected {
            message: WELCOME_MESSAGE.into(),
            session_type: SessionType::Admin,
            user_id: UserId(1),
            kitchen_id: KitchenId(1),
            timestamp: "2026-03-27 10:15".into(),
            epoch: "5f0c6a1e9b2d4e77".into(),
            chefs_online: None,
        };
        assert_eq!(
            serde_json::to_string(&welcome).unwrap(),
            r#"{"notificationType":"CONNECTED","message":"Connected to MiseOS notifications","sessionType":"ADMIN","userId":1,"kitchenId":1,"timestamp":"2026-03-27 10:15","epoch":"5f0c6a1e9b2d4e77"}"#
        );
    }

    #[test]
    fn review_messages_are_named_by_category_and_decision_and_read_back() {
        let notice = |category| ReviewNotice {
            category,
            request_id: 1,
            item_name: "Dild".into(),
            reviewed_by: Person { id: UserId(1), first_name: "Gordon".into(), last_name: "Ramsay".into() },
            timestamp: "2026-03-27 10:20".into(),
            note: None,
            reviewed_at_millis: 1_774_606_800_000,
        };
        let names = [
            (Category::IngredientRequest, Decision::Approve, "REQUEST_APPROVED"),
            (Category::IngredientRequest, Decision::Reject, "REQUEST_REJECTED"),
            (Category::DishSuggestion, Decision::Approve, "SUGGESTION_APPROVED"),
            (Category::DishSuggestion, Decision::Reject, "SUGGESTION_REJECTED"),
        ];
        for (category, decision, name) in names {
            let message = Notification::review(decision, notice(category));
            assert!(serde_json::to_string(&message).unwrap().contains(&format!(r#""notificationType":"{name}""#)));
            assert_eq!(message.as_review().map(|(read, notice)| (read, notice.category)), Some((decision, category)));
            assert_eq!(message.as_new_item(), None);
        }
    }

    #[test]
    fn a_review_notice_has_a_note_only_when_the_reviewer_wrote_one() {
        let notice = ReviewNotice {
            category: Category::IngredientRequest,
            request_id: 5,
            item_name: "Frisk Dild".into(),
            reviewed_by: Person { id: UserId(1), first_name: "Gordon".into(), last_name: "Ramsay".into() },
            timestamp: "2026-03-27 10:20".into(),
            note: None,
            reviewed_at_millis: 1_774_606_800_000,
        };
        let json = serde_json::to_string(&Notification::RequestApproved(notice.clone())).unwrap();
        assert_eq!(
            json,
            r#"{"notificationType":"REQUEST_APPROVED","category":"INGREDIENT_REQUEST","requestId":5,"itemName":"Frisk Dild","reviewedBy":{"id":1,"firstName":"Gordon","lastName":"Ramsay"},"timestamp":"2026-03-27 10:20","reviewedAtMillis":1774606800000}"#
        );
        let with_note = Notification::RequestRejected(ReviewNotice { note: Some("ikke i dag".into()), ..notice });
        assert!(serde_json::to_string(&with_note).unwrap().contains(r#","note":"ikke i dag","#));
    }
}

/// What a webhook can be sent (API.md section 14); `ping` only by a test send.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum WebhookEvent {
    #[serde(rename = "item.created")]
    ItemCreated,
    #[serde(rename = "item.approved")]
    ItemApproved,
    #[serde(rename = "item.rejected")]
    ItemRejected,
    #[serde(rename = "item.escalated")]
    ItemEscalated,
    #[serde(rename = "ping")]
    Ping,
}

impl WebhookEvent {
    /// The events a webhook may ask for, in the contract's order.
    pub const SUBSCRIBABLE: [WebhookEvent; 4] = [
        WebhookEvent::ItemCreated,
        WebhookEvent::ItemApproved,
        WebhookEvent::ItemRejected,
        WebhookEvent::ItemEscalated,
    ];

    /// Its name on the wire (`item.approved`).
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::ItemCreated => "item.created",
            WebhookEvent::ItemApproved => "item.approved",
            WebhookEvent::ItemRejected => "item.rejected",
            WebhookEvent::ItemEscalated => "item.escalated",
            WebhookEvent::Ping => "ping",
        }
    }

    /// Parses the wire name; `None` for anything else.
    pub fn parse(name: &str) -> Option<WebhookEvent> {
        WebhookEvent::SUBSCRIBABLE.into_iter().chain([WebhookEvent::Ping]).find(|event| event.as_str() == name)
    }

    /// The event of a review with `decision`.
    pub fn of_decision(decision: Decision) -> WebhookEvent {
        match decision {
            Decision::Approve => WebhookEvent::ItemApproved,
            Decision::Reject => WebhookEvent::ItemRejected,
        }
    }
}

/// Body of `POST /api/v1/webhooks` (head chefs).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://` to a public address (the rule of section 10).
    pub url: String,
    /// One or more of `item.created`, `item.approved`, `item.rejected`, `item.escalated`.
    pub events: Vec<String>,
}

/// A kitchen's webhook (`GET /api/v1/webhooks`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookInfo {
    pub id: i64,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    /// When it was added, in the kitchen's time.
    pub created_at: String,
}

/// Answer of `POST /api/v1/webhooks`: the webhook and its signing secret, shown only here.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CreatedWebhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    /// The HMAC-SHA256 key of `X-MiseOS-Signature` (`whsec_…`, used as its UTF-8 bytes).
    pub secret: String,
}

/// Answer of `POST /api/v1/webhooks/{id}/test`: the `ping`'s event id.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPing {
    pub event_id: String,
}

/// One delivery of a webhook (`GET /api/v1/webhooks/{id}/deliveries`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    pub id: i64,
    pub event_id: String,
    /// `item.approved`, …, `ping`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `PENDING` (being tried), `DELIVERED`, or `FAILED` (given up after 24 hours, or its URL
    /// no longer allowed).
    pub status: String,
    pub attempts: i64,
    /// The last answer's status code; `null` when none came (refused, timed out).
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    /// When the change was made, in the kitchen's time.
    pub created_at: String,
    pub finished_at: Option<String>,
}
