//! The wire contract (`shared/spec/API.md`) as Rust types: REST bodies and WebSocket messages.
//!
//! The server, the browser app and the tests all serialize and parse through these types, so
//! a field renamed here is renamed everywhere at once and no JSON is ever written by hand.

use serde::{Deserialize, Serialize, Serializer};

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
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    /// False once a head chef has disabled the account; its items and reviews stay.
    pub active: bool,
    /// The kitchen the user belongs to (API.md section 9).
    pub kitchen_id: i64,
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
    pub id: i64,
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

/// An ingredient request as the REST API returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct IngredientRequest {
    pub id: i64,
    pub item_name: String,
    pub quantity: Quantity,
    pub unit: String,
    pub note: Option<String>,
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
}

/// A dish suggestion as the REST API returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DishSuggestion {
    pub id: i64,
    pub name: String,
    pub description: String,
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
}

/// Body of `POST /api/v1/ingredient-requests`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NewIngredientRequest {
    pub item_name: String,
    pub quantity: f64,
    pub unit: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `POST /api/v1/dish-suggestions`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct NewDishSuggestion {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Optional body of the approve and reject calls.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Default, Debug)]
pub struct ReviewBody {
    #[serde(default)]
    pub note: Option<String>,
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

/// Every message the server sends on `/api/v1/notifications`, tagged by `notificationType`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
#[serde(tag = "notificationType", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum Notification {
    Connected {
        message: String,
        session_type: SessionType,
        user_id: i64,
        /// The user's kitchen: every count and message on this socket is of this kitchen.
        kitchen_id: i64,
        timestamp: String,
        /// The database's epoch (additive; see [`Snapshot::epoch`]).
        #[serde(default)]
        epoch: String,
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

/// The reasons sent with 1008 when a session ends (besides `token expired`); the app tells
/// the user which one on the sign-in page.
pub mod close_reason {
    pub const TOKEN_EXPIRED: &str = "token expired";
    pub const SIGNED_OUT: &str = "signed out";
    pub const ACCOUNT_DISABLED: &str = "account disabled";
    pub const SESSION_REVOKED: &str = "session revoked";
    pub const SESSION_EXPIRED: &str = "session expired";
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
            user_id: 1,
            kitchen_id: 1,
            timestamp: "2026-03-27 10:15".into(),
            epoch: "5f0c6a1e9b2d4e77".into(),
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
            reviewed_by: Person { id: 1, first_name: "Gordon".into(), last_name: "Ramsay".into() },
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
            reviewed_by: Person { id: 1, first_name: "Gordon".into(), last_name: "Ramsay".into() },
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
