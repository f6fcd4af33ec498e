//! `POST /reviews`: one decision, with one note, on up to 100 pending items at once (API.md
//! section 12): fifteen prep requests at 16:00 in one tap.
//!
//! Each item is reviewed exactly as its own approve or reject route would review it, in its
//! own transaction: its own notifications (ITEM_REVIEWED, the count, the requester's message
//! and pushes) and its own `seq` step. One that fails (404, 409) does not stop the others;
//! the answer says what came of each, in the order given.

use super::{
    docs::{answer, endpoint, Access, Endpoint},
    ApiError, ApiJson, ApiRoute,
};
use crate::{http::caller::Admin, http::AppState, validate};
use app::wire::{
    BulkReview, BulkReviewResult, BulkReviewResults, Category, Decision, DishDetails, IngredientDetails, ItemDetails,
    ItemRef, ReviewStatus,
};
use axum::{extract::State, http::Method, Json};

/// Most items one bulk review may name.
pub const MAX_ITEMS: usize = 100;

pub fn routes() -> Vec<ApiRoute> {
    vec![ApiRoute::new(
        Endpoint {
            answer: answer(
                200,
                "One result per item, in the order given: the status its own route would have answered \
                 (200 with the item, 404, 409)",
                Some("BulkReviewResults"),
            ),
            errors: vec![(400, "invalid_field: the decision, the note, or 0 or more than 100 items")],
            ..endpoint(
                Method::POST,
                "/reviews",
                "items",
                "Approve or reject several pending items with one note",
                Access::Admins,
                Some("BulkReview"),
            )
        },
        review_many,
    )]
}

async fn review_many(
    State(state): State<AppState>,
    Admin(reviewer): Admin,
    ApiJson(body): ApiJson<BulkReview>,
) -> Result<Json<BulkReviewResults>, ApiError> {
    let decision = match body.decision {
        ReviewStatus::Approved => Decision::Approve,
        ReviewStatus::Rejected => Decision::Reject,
        ReviewStatus::Pending => {
            return Err(ApiError::InvalidField("decision must be APPROVED or REJECTED".into()));
        }
    };
    if body.items.is_empty() || body.items.len() > MAX_ITEMS {
        return Err(ApiError::InvalidField(format!("items must name 1 to {MAX_ITEMS} items")));
    }
    let note = validate::review_note(body.note).map_err(ApiError::InvalidField)?;
    let person = reviewer.person();
    let mut results = Vec::with_capacity(body.items.len());
    for ItemRef { category, id } in body.items {
        // Each review is one write, admitted like any other (the fan-out's load).
        let _admission = state.hub.admit_write().await;
        let store = &state.store;
        let (kitchen, note) = (reviewer.kitchen, note.as_deref());
        let reviewed = match category {
            Category::IngredientRequest => store
                .review::<IngredientDetails>(kitchen, id, &person, decision, note, None)
                .await
                .map(IngredientDetails::into_any),
            Category::DishSuggestion => {
                store.review::<DishDetails>(kitchen, id, &person, decision, note, None).await.map(DishDetails::into_any)
            }
        };
        results.push(match reviewed {
            Ok(item) => BulkReviewResult { category, id, status: 200, item: Some(item) },
            Err(error) => {
                let error = ApiError::from(error);
                if let ApiError::Internal(cause) = &error {
                    tracing::error!(%cause, category = category.resource(), id, "a bulk review's item failed");
                }
                BulkReviewResult { category, id, status: error.status().as_u16(), item: None }
            }
        });
    }
    Ok(Json(BulkReviewResults { results }))
}
