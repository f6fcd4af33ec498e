//! What the Leptos pages read while the server renders them: the signed-in user (from the
//! session cookie) and their starting data, straight from the store, always of the kitchen
//! the session cookie names.

use super::{
    api::DEFAULT_LIST_LIMIT,
    caller::{admit, Door},
    AppState,
};
use crate::{accounts::Caller, store::ItemFilter};
use app::{
    data::Viewer,
    data::{CookData, DashboardData, PageData},
    wire::{DishDetails, IngredientDetails, KitchenSettings, ReviewStatus, User, WebhookInfo},
};
use futures::future::BoxFuture;

/// [`PageData`] over the application's store. Its lists are as long as the browser's
/// re-fetches of them (the list API's default for the dashboard, [`COOK_PAGE_ITEMS`] for a cook),
/// so both show the same items.
pub struct StorePageData {
    pub state: AppState,
}

impl StorePageData {
    /// The caller of a page request: a live session's cookie.
    async fn caller(&self, headers: &http::HeaderMap) -> Option<Caller> {
        admit(&self.state, headers, Door::Page).await.ok()
    }

    /// The caller, if they may see what only `allowed` roles see.
    async fn caller_allowed(
        &self,
        headers: &http::HeaderMap,
        allowed: impl Fn(app::wire::Role) -> bool,
    ) -> Result<Caller, String> {
        match self.caller(headers).await {
            Some(caller) if !caller.must_change_password && allowed(caller.role) => Ok(caller),
            _ => Err("This page is not yours to see.".to_string()),
        }
    }
}

impl PageData for StorePageData {
    fn current_user<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Option<Viewer>> {
        Box::pin(async move {
            let caller = self.caller(headers).await?;
            let store = &self.state.store;
            let (user, kitchen) = futures::join!(store.user(caller.user), store.kitchen_settings(caller.kitchen));
            Some(Viewer {
                user: user.ok().flatten()?,
                must_change_password: caller.must_change_password,
                kitchen: kitchen.ok(),
            })
        })
    }

    fn dashboard<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<DashboardData, String>> {
        Box::pin(async move {
            let kitchen = self.caller_allowed(headers, |role| role.is_admin()).await?.kitchen;
            let store = &self.state.store;
            let pending = ItemFilter { status: Some(ReviewStatus::Pending), ..ItemFilter::newest(DEFAULT_LIST_LIMIT) };
            let (counts, ingredient_requests, dish_suggestions) = futures::try_join!(
                store.pending_counts(kitchen),
                store.list::<IngredientDetails>(kitchen, pending),
                store.list::<DishDetails>(kitchen, pending)
            )
            .map_err(|error| {
                tracing::error!(%error, "cannot load the dashboard");
                "The dashboard cannot be loaded right now.".to_string()
            })?;
            Ok(DashboardData { snapshot: counts.snapshot(store.epoch()), ingredient_requests, dish_suggestions })
        })
    }

    fn cook_items<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<CookData, String>> {
        Box::pin(async move {
            let cook = self.caller_allowed(headers, |_| true).await?;
            let store = &self.state.store;
            let own = ItemFilter { requested_by: Some(cook.user), ..ItemFilter::newest(app::data::COOK_PAGE_ITEMS) };
            let kitchen = cook.kitchen;
            let (ingredient_requests, dish_suggestions) = futures::try_join!(
                store.list::<IngredientDetails>(kitchen, own),
                store.list::<DishDetails>(kitchen, own)
            )
            .map_err(|error| {
                tracing::error!(%error, "cannot load a cook's items");
                "Your items cannot be loaded right now.".to_string()
            })?;
            Ok(CookData { ingredient_requests, dish_suggestions })
        })
    }

    fn team<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<Vec<User>, String>> {
        Box::pin(async move {
            let chef = self.caller_allowed(headers, |role| role == app::wire::Role::HeadChef).await?;
            self.state.store.users(chef.kitchen).await.map_err(|error| {
                tracing::error!(%error, "cannot load the team");
                "The team cannot be loaded right now.".to_string()
            })
        })
    }

    fn kitchen<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<KitchenSettings, String>> {
        Box::pin(async move {
            let chef = self.caller_allowed(headers, |role| role == app::wire::Role::HeadChef).await?;
            self.state.store.kitchen_settings(chef.kitchen).await.map_err(|error| {
                tracing::error!(%error, "cannot load the kitchen's settings");
                "The kitchen's settings cannot be loaded right now.".to_string()
            })
        })
    }

    fn webhooks<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<Vec<WebhookInfo>, String>> {
        Box::pin(async move {
            let chef = self.caller_allowed(headers, |role| role == app::wire::Role::HeadChef).await?;
            self.state.store.webhooks(chef.kitchen).await.map_err(|error| {
                tracing::error!(%error, "cannot load the webhooks");
                "The webhooks cannot be loaded right now.".to_string()
            })
        })
    }

    fn lists_demo_accounts(&self) -> bool {
        self.state.config.demo
    }
}
