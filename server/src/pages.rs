//! What the Leptos pages read while the server renders them: the signed-in user (from the
//! session cookie) and their starting data, straight from the store.

use crate::{
    api::DEFAULT_LIST_LIMIT,
    auth::cookie_token,
    store::{DishSuggestions, IngredientRequests, ItemFilter},
    AppState,
};
use app::{
    data::Viewer,
    data::{CookData, DashboardData, PageData},
    wire::{ReviewStatus, User},
};
use futures::future::BoxFuture;

/// [`PageData`] over the application's store. Its lists are as long as the browser's
/// re-fetches of them (the list API's default for the dashboard, [`COOK_PAGE_ITEMS`] for a cook),
/// so both show the same items.
pub struct StorePageData {
    pub state: AppState,
}

impl PageData for StorePageData {
    fn current_user<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Option<Viewer>> {
        Box::pin(async move {
            let token = cookie_token(headers)?;
            let caller = self.state.tokens.verify(token).ok()?;
            let standing = self.state.sessions.check(&caller).await.ok()?;
            let user = self.state.store.user(caller.id).await.ok().flatten()?;
            Some(Viewer { user, must_change_password: standing.must_change_password })
        })
    }

    fn dashboard(&self) -> BoxFuture<'_, Result<DashboardData, String>> {
        Box::pin(async move {
            let store = &self.state.store;
            let pending = ItemFilter { status: Some(ReviewStatus::Pending), ..ItemFilter::newest(DEFAULT_LIST_LIMIT) };
            let (counts, ingredient_requests, dish_suggestions) = futures::try_join!(
                store.pending_counts(),
                store.list::<IngredientRequests>(pending),
                store.list::<DishSuggestions>(pending)
            )
            .map_err(|error| {
                tracing::error!(%error, "cannot load the dashboard");
                "The dashboard cannot be loaded right now.".to_string()
            })?;
            Ok(DashboardData {
                snapshot: counts.snapshot(store.epoch()),
                ingredient_requests,
                dish_suggestions,
                waiting: self.state.config.waiting_thresholds(),
            })
        })
    }

    fn cook_items(&self, user_id: i64) -> BoxFuture<'_, Result<CookData, String>> {
        Box::pin(async move {
            let store = &self.state.store;
            let own = ItemFilter { requested_by: Some(user_id), ..ItemFilter::newest(app::data::COOK_PAGE_ITEMS) };
            let (ingredient_requests, dish_suggestions) =
                futures::try_join!(store.list::<IngredientRequests>(own), store.list::<DishSuggestions>(own)).map_err(
                    |error| {
                        tracing::error!(%error, "cannot load a cook's items");
                        "Your items cannot be loaded right now.".to_string()
                    },
                )?;
            Ok(CookData { ingredient_requests, dish_suggestions })
        })
    }

    fn team(&self) -> BoxFuture<'_, Result<Vec<User>, String>> {
        Box::pin(async move {
            self.state.store.users().await.map_err(|error| {
                tracing::error!(%error, "cannot load the team");
                "The team cannot be loaded right now.".to_string()
            })
        })
    }

    fn lists_demo_accounts(&self) -> bool {
        self.state.config.demo
    }
}
