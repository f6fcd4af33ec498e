//! The REST API described for machines and people: `GET /api/openapi.json` (OpenAPI 3.1) and
//! `GET /api/docs` (the same document as one HTML page, rendered here, so it works offline and
//! under the strictest Content Security Policy).
//!
//! The bodies' schemas are derived from the wire types themselves (`utoipa::ToSchema` on
//! `app::wire`). Each operation is described once, where its handler is routed ([`super::ApiRoute`]):
//! the router and this document are built from the same list, so neither can name a route
//! the other lacks.

use app::wire::{
    BulkReview, BulkReviewResults, CreatedUser, CreatedWebhook, DishDetails, ErrorBody, IngredientDetails, Item,
    ItemDetails, KitchenChanges, KitchenSettings, LoginRequest, LoginResponse, NewPushSubscription, NewUser,
    NewWebhook, PasswordChange, PushKey, PushSubscriptionId, PushSubscriptionInfo, RefreshResponse, ReviewBody,
    Snapshot, TemporaryPassword, User, UserChanges, WebhookDelivery, WebhookEvent, WebhookInfo, WebhookPing,
};
use axum::{
    http::{header, HeaderValue, Method},
    response::{Html, IntoResponse, Response},
    Json,
};
use std::{borrow::Cow, sync::OnceLock};
use utoipa::{
    openapi::{
        path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder},
        request_body::RequestBodyBuilder,
        response::ResponseBuilder,
        schema::{Array, ComponentsBuilder, Object, Ref, Schema, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
        Content, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required,
    },
    ToSchema,
};

/// Who may call an operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    Anyone,
    SignedIn,
    /// Head and sous chefs.
    Admins,
    HeadChefs,
}

/// What an operation answers when it succeeds.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    /// The body's schema name; `many` for a JSON array of it.
    pub body: Option<&'static str>,
    pub many: bool,
}

/// One operation of the REST API, as the document describes it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub method: Method,
    /// As the router writes it, with `{id}` for the path parameter.
    pub path: String,
    pub tag: &'static str,
    pub summary: String,
    pub access: Access,
    /// The request body's schema name.
    pub body: Option<Cow<'static, str>>,
    /// Query parameters: name and meaning.
    pub query: &'static [(&'static str, &'static str)],
    pub answer: Answer,
    /// Error statuses besides those every operation of its access level may answer, each with
    /// the `error` codes it carries.
    pub errors: Vec<(u16, &'static str)>,
    /// Whether it takes an `Idempotency-Key` header (API.md section 11).
    pub idempotent: bool,
}

/// An answer with `status`, described so, with the schema named `body`.
pub fn answer(status: u16, description: &'static str, body: Option<&'static str>) -> Answer {
    Answer { status, description, body, many: false }
}

/// A 200 answer: a JSON array of the schema named `body`, newest first.
pub fn list_of(body: &'static str) -> Answer {
    Answer { status: 200, description: "The list, newest first", body: Some(body), many: true }
}

/// An operation answering 200 with no body and no errors of its own; the callers set what
/// differs.
pub fn endpoint(
    method: Method,
    path: impl Into<String>,
    tag: &'static str,
    summary: impl Into<String>,
    access: Access,
    body: Option<&'static str>,
) -> Endpoint {
    Endpoint {
        method,
        path: path.into(),
        tag,
        summary: summary.into(),
        access,
        body: body.map(Cow::Borrowed),
        query: &[],
        answer: answer(200, "Done", None),
        errors: Vec::new(),
        idempotent: false,
    }
}

/// `word` with its first letter in upper case.
pub fn capitalized(word: &str) -> String {
    let mut letters = word.chars();
    letters.next().map(|first| first.to_uppercase().chain(letters).collect()).unwrap_or_default()
}

/// The errors an operation of `access` (with or without a body) may answer besides its own.
fn common_errors(access: Access, has_body: bool, has_query: bool) -> Vec<(u16, &'static str)> {
    let mut errors = Vec::new();
    if has_body {
        errors.push((400, "malformed_json, invalid_field"));
        errors.push((413, "payload_too_large"));
        errors.push((415, "unsupported_media_type: not application/json"));
    } else if has_query {
        errors.push((400, "invalid_field: a query parameter out of its range"));
    }
    if access != Access::Anyone {
        errors.push((401, "unauthorized: a missing, invalid or expired token, or an ended session"));
        errors.push((
            403,
            match access {
                Access::Admins | Access::HeadChefs => {
                    "forbidden (the role may not), password_change_required, forbidden_origin (the cookie from a foreign page)"
                }
                _ => "password_change_required, forbidden_origin (the cookie from a foreign page)",
            },
        ));
    }
    errors.push((500, "internal"));
    errors.push((503, "unavailable: the database does not answer, or the request took too long"));
    errors
}

/// The document, built once.
pub fn openapi() -> &'static OpenApi {
    static DOCUMENT: OnceLock<OpenApi> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn schema_ref(name: &str, many: bool) -> RefOr<Schema> {
    let one = RefOr::Ref(Ref::from_schema_name(name));
    if many {
        RefOr::T(Schema::Array(Array::new(one)))
    } else {
        one
    }
}

fn json(schema: RefOr<Schema>) -> Content {
    Content::new(Some(schema))
}

fn http_method(method: &Method) -> HttpMethod {
    [
        (Method::POST, HttpMethod::Post),
        (Method::PATCH, HttpMethod::Patch),
        (Method::PUT, HttpMethod::Put),
        (Method::DELETE, HttpMethod::Delete),
    ]
    .into_iter()
    .find(|(known, _)| known == method)
    .map_or(HttpMethod::Get, |(_, documented)| documented)
}

/// An error answer whose description names its `error` codes.
fn error_response(codes: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(format!("`error`: {codes}"))
        .content("application/json", json(schema_ref("ErrorBody", false)))
}

/// The errors of one endpoint, one entry per status.
fn merged_errors(endpoint: &Endpoint) -> Vec<(u16, String)> {
    let mut errors = common_errors(endpoint.access, endpoint.body.is_some(), !endpoint.query.is_empty());
    errors.extend(endpoint.errors.iter().copied());
    if endpoint.idempotent {
        errors.push((409, "idempotency_in_progress: a request with this Idempotency-Key is being handled"));
        errors.push((422, "idempotency_key_reused: this Idempotency-Key came with another request"));
    }
    errors.sort_by_key(|(status, _)| *status);
    let mut merged: Vec<(u16, String)> = Vec::new();
    for (status, codes) in errors {
        match merged.last_mut() {
            Some((last, text)) if *last == status => {
                text.push_str("; ");
                text.push_str(codes);
            }
            _ => merged.push((status, codes.to_string())),
        }
    }
    merged
}

fn operation(endpoint: &Endpoint) -> OperationBuilder {
    let mut operation = OperationBuilder::new()
        .tag(endpoint.tag)
        .summary(Some(endpoint.summary.clone()))
        .operation_id(Some(operation_id(endpoint)));
    if endpoint.path.contains("{id}") {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(Object::with_type(Type::Integer))),
        );
    }
    if endpoint.idempotent {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .description(Some(
                    "1 to 64 printable ASCII characters, remembered per user for 24 hours: a repeat with the \
                     same body is answered what the first was (with Idempotent-Replayed: true), once",
                ))
                .schema(Some(Object::with_type(Type::String))),
        );
    }
    for (name, meaning) in endpoint.query {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name(*name)
                .parameter_in(ParameterIn::Query)
                .description(Some(*meaning))
                .schema(Some(Object::with_type(Type::String))),
        );
    }
    if let Some(body) = &endpoint.body {
        // A review's note is optional, and so is its body.
        let required = if body == "ReviewBody" { Required::False } else { Required::True };
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(required))
                .content("application/json", json(schema_ref(body, false)))
                .build(),
        ));
    }
    let mut success = ResponseBuilder::new().description(endpoint.answer.description);
    if let Some(body) = endpoint.answer.body {
        success = success.content("application/json", json(schema_ref(body, endpoint.answer.many)));
    }
    operation = operation.response(endpoint.answer.status.to_string(), success);
    for (status, codes) in merged_errors(endpoint) {
        operation = operation.response(status.to_string(), error_response(&codes));
    }
    if endpoint.access != Access::Anyone {
        operation = operation
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .security(SecurityRequirement::new("cookie", Vec::<String>::new()));
    }
    operation
}

/// The routes outside `/api/v1`: the operator's and this document's.
fn outside_routes() -> [(&'static str, &'static str, &'static str); 5] {
    [
        ("/healthz", "Liveness", "200 `{\"status\":\"ok\"}` while the process runs"),
        ("/readyz", "Readiness", "200 while the database answers (and, on PostgreSQL, LISTEN is up); else 503, and 503 `draining` from the moment the server is told to stop"),
        (
            "/metrics",
            "Metrics in Prometheus' text format",
            "For loopback and MISEOS_METRICS_ALLOW; 404 for anyone else (served on MISEOS_METRICS_PORT instead when set)",
        ),
        ("/api/openapi.json", "This document (OpenAPI 3.1)", "The document"),
        ("/api/docs", "This document as a page", "HTML, no script, works offline"),
    ]
}

type AddSchema = fn(ComponentsBuilder) -> ComponentsBuilder;

/// Adds `T`'s schema and those of the types inside it.
fn with_schema<T: ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    components.schema_from::<T>().schemas_from_iter(nested)
}

/// Adds the schema of an item of kind `D`, named as the contract names the kind
/// (`IngredientRequest`), and those of the types inside it.
fn with_item_schema<D: ItemDetails + ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder
where
    Item<D>: ToSchema,
{
    let mut nested = Vec::new();
    <Item<D> as ToSchema>::schemas(&mut nested);
    components.schema(D::CATEGORY.item_schema(), <Item<D> as utoipa::PartialSchema>::schema()).schemas_from_iter(nested)
}

fn build() -> OpenApi {
    let mut paths: std::collections::BTreeMap<String, PathItem> = std::collections::BTreeMap::new();
    for endpoint in super::endpoints() {
        let item = PathItem::new(http_method(&endpoint.method), operation(&endpoint));
        match paths.entry(format!("/api/v1{}", endpoint.path)) {
            std::collections::btree_map::Entry::Occupied(mut existing) => existing.get_mut().merge_operations(item),
            std::collections::btree_map::Entry::Vacant(place) => {
                place.insert(item);
            }
        }
    }
    for (path, summary, description) in outside_routes() {
        let operation = OperationBuilder::new()
            .tag("operations")
            .summary(Some(summary))
            .response("200", ResponseBuilder::new().description(description));
        paths.insert(path.to_string(), PathItem::new(HttpMethod::Get, operation));
    }
    let paths = paths.into_iter().fold(PathsBuilder::new(), |built, (path, item)| built.path(path, item));
    let components = [
        with_schema::<LoginRequest> as AddSchema,
        with_schema::<LoginResponse> as AddSchema,
        with_schema::<RefreshResponse> as AddSchema,
        with_schema::<User> as AddSchema,
        with_schema::<PasswordChange> as AddSchema,
        with_schema::<NewUser> as AddSchema,
        with_schema::<CreatedUser> as AddSchema,
        with_schema::<UserChanges> as AddSchema,
        with_schema::<TemporaryPassword> as AddSchema,
        with_schema::<IngredientDetails> as AddSchema,
        with_item_schema::<IngredientDetails> as AddSchema,
        with_schema::<DishDetails> as AddSchema,
        with_item_schema::<DishDetails> as AddSchema,
        with_schema::<ReviewBody> as AddSchema,
        with_schema::<BulkReview> as AddSchema,
        with_schema::<BulkReviewResults> as AddSchema,
        with_schema::<KitchenSettings> as AddSchema,
        with_schema::<KitchenChanges> as AddSchema,
        with_schema::<Snapshot> as AddSchema,
        with_schema::<ErrorBody> as AddSchema,
        with_schema::<PushKey> as AddSchema,
        with_schema::<NewPushSubscription> as AddSchema,
        with_schema::<PushSubscriptionId> as AddSchema,
        with_schema::<PushSubscriptionInfo> as AddSchema,
        with_schema::<NewWebhook> as AddSchema,
        with_schema::<CreatedWebhook> as AddSchema,
        with_schema::<WebhookInfo> as AddSchema,
        with_schema::<WebhookEvent> as AddSchema,
        with_schema::<WebhookPing> as AddSchema,
        with_schema::<WebhookDelivery> as AddSchema,
    ]
    .into_iter()
    .fold(ComponentsBuilder::new(), |components, add| add(components))
    .security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    )
    .security_scheme("cookie", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("miseos_token"))))
    .build();
    let info = InfoBuilder::new().title("MiseOS Live").version(env!("CARGO_PKG_VERSION")).description(Some(
        "The REST API of MiseOS Live. Every error answer is an ErrorBody with a stable `error` code. \
         A POST or PATCH authenticated by the cookie must come from an allowed Origin as JSON. The \
         notification socket is described in docs/asyncapi.yaml.",
    ));
    OpenApiBuilder::new().info(info).paths(paths).components(Some(components)).build()
}

/// `createIngredientRequest`-style ids: method and path, camel-cased.
fn operation_id(endpoint: &Endpoint) -> String {
    let verb = endpoint.method.as_str().to_lowercase();
    let words = endpoint.path.split(['/', '-']).filter(|word| !word.is_empty() && !word.starts_with('{'));
    std::iter::once(verb).chain(words.map(capitalized)).collect()
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<&'static OpenApi> {
    Json(openapi())
}

/// `GET /api/docs`: the document as a page. No script, no outside resource.
pub async fn docs_page() -> Response {
    static PAGE: OnceLock<String> = OnceLock::new();
    let page = PAGE.get_or_init(render_page);
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
        )],
        Html(page.as_str()),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn render_page() -> String {
    let document = serde_json::to_value(openapi()).unwrap_or_default();
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>MiseOS Live API</title><style>\
         body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2a24}\
         h2{border-bottom:2px solid #1f2a24;margin-top:2.5rem}code,pre{background:#eef2ef;padding:0 .25rem}\
         pre{padding:.75rem;overflow-x:auto}.method{font-weight:700;display:inline-block;min-width:4.5rem}\
         section{border:1px solid #c8d2cb;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\
         </style></head><body><h1>MiseOS Live API</h1>",
    );
    let description = document["info"]["description"].as_str().unwrap_or_default();
    html.push_str(&format!(
        "<p>{}</p><p>Machine-readable: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI {}).</p>",
        escape(description),
        escape(document["openapi"].as_str().unwrap_or_default())
    ));
    html.push_str("<h2>Operations</h2>");
    if let Some(paths) = document["paths"].as_object() {
        for (path, item) in paths {
            let Some(operations) = item.as_object() else { continue };
            for (method, operation) in operations {
                html.push_str(&format!(
                    "<section id=\"{}\"><h3><span class=\"method\">{}</span> <code>{}</code></h3><p>{}</p>",
                    escape(operation["operationId"].as_str().unwrap_or(path)),
                    escape(&method.to_uppercase()),
                    escape(path),
                    escape(operation["summary"].as_str().unwrap_or_default())
                ));
                if operation.get("security").is_some() {
                    html.push_str("<p>Authenticated: <code>Authorization: Bearer</code> or the session cookie.</p>");
                }
                if let Some(body) = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() {
                    let name = body.rsplit('/').next().unwrap_or(body);
                    html.push_str(&format!("<p>Body: <a href=\"#schema-{0}\">{0}</a></p>", escape(name)));
                }
                html.push_str("<ul>");
                if let Some(responses) = operation["responses"].as_object() {
                    for (status, response) in responses {
                        html.push_str(&format!(
                            "<li><strong>{}</strong> {}</li>",
                            escape(status),
                            escape(response["description"].as_str().unwrap_or_default())
                        ));
                    }
                }
                html.push_str("</ul></section>");
            }
        }
    }
    html.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = document["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            html.push_str(&format!(
                "<section id=\"schema-{0}\"><h3>{0}</h3><pre>{1}</pre></section>",
                escape(name),
                escape(&pretty)
            ));
        }
    }
    html.push_str("</body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_a_schema_for_every_body() {
        let document = serde_json::to_value(openapi()).expect("JSON");
        assert_eq!(document["openapi"], "3.1.0");
        let schemas = document["components"]["schemas"].as_object().expect("schemas");
        for endpoint in super::super::endpoints() {
            for name in endpoint.body.as_deref().into_iter().chain(endpoint.answer.body) {
                assert!(schemas.contains_key(name), "no schema {name}");
            }
        }
        // Every reference resolves: the types inside the bodies are described too.
        let text = document.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let name = reference.split('"').next().unwrap_or_default().trim_start_matches("#/components/schemas/");
            assert!(schemas.contains_key(name), "a reference to {name}, which is not described");
        }
        assert!(schemas.contains_key("Person") && schemas.contains_key("Role"), "{:?}", schemas.keys());
        assert!(render_page().contains("<code>/api/v1/auth/login</code>"));
    }
}
