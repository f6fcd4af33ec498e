//! Loading what a page shows. On the server the data comes straight from the server's store
//! through [`PageData`] (which the server crate implements and provides as context); in the
//! browser it comes from the REST API. Leptos serializes what the server loaded into the
//! page, so hydration does not fetch it again.

use crate::wire::{DishSuggestion, IngredientRequest, KitchenSettings, Snapshot, User};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// Who is looking at a page.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Viewer {
    pub user: User,
    /// Signed in with a temporary password: the app sends them to change it first.
    pub must_change_password: bool,
    /// Their kitchen (its name is in the top bar and the title); `None` if it could not be read.
    pub kitchen: Option<KitchenSettings>,
}

/// When a pending item's waiting time turns amber and red on the dashboard: the kitchen's
/// settings (`GET /api/v1/kitchen`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitingThresholds {
    pub amber_minutes: i64,
    pub red_minutes: i64,
}

impl Default for WaitingThresholds {
    /// Toast KDS's usual ticket colours: amber after 10 minutes, red after 20.
    fn default() -> Self {
        WaitingThresholds { amber_minutes: 10, red_minutes: 20 }
    }
}

impl From<&KitchenSettings> for WaitingThresholds {
    fn from(kitchen: &KitchenSettings) -> Self {
        WaitingThresholds { amber_minutes: kitchen.amber_minutes, red_minutes: kitchen.red_minutes }
    }
}

/// What the head chef's dashboard starts from (its waiting colours come with the viewer's
/// kitchen).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DashboardData {
    pub snapshot: Snapshot,
    pub ingredient_requests: Vec<IngredientRequest>,
    pub dish_suggestions: Vec<DishSuggestion>,
}

/// How many of their newest items of each kind the cook's page shows (the server renders as
/// many as the browser re-fetches); the history pages through all of them.
pub const COOK_PAGE_ITEMS: i64 = 50;

/// A cook's own requests and suggestions, newest first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CookData {
    pub ingredient_requests: Vec<IngredientRequest>,
    pub dish_suggestions: Vec<DishSuggestion>,
}

#[cfg(feature = "ssr")]
pub use server_side::PageData;

#[cfg(feature = "ssr")]
mod server_side {
    use super::{CookData, DashboardData, Viewer};
    use futures::future::BoxFuture;

    /// What the pages need from the server while it renders them. The server crate implements
    /// this over its store and provides it as `Arc<dyn PageData>` context, so the UI never
    /// depends on the server crate.
    pub trait PageData: Send + Sync + 'static {
        /// The signed-in user of a request (from its session cookie, while the session is
        /// live), if any.
        fn current_user<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Option<Viewer>>;
        /// The snapshot and the pending items of the kitchen of the request's admin.
        fn dashboard<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<DashboardData, String>>;
        /// The request's cook's own items.
        fn cook_items<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<CookData, String>>;
        /// Every user of the kitchen of the request's head chef, for the team page.
        fn team<'a>(&'a self, headers: &'a http::HeaderMap) -> BoxFuture<'a, Result<Vec<crate::wire::User>, String>>;
        /// The kitchen of the request's head chef and its settings, for the settings page.
        fn kitchen<'a>(
            &'a self,
            headers: &'a http::HeaderMap,
        ) -> BoxFuture<'a, Result<crate::wire::KitchenSettings, String>>;
        /// The webhooks of the kitchen of the request's head chef.
        fn webhooks<'a>(
            &'a self,
            headers: &'a http::HeaderMap,
        ) -> BoxFuture<'a, Result<Vec<crate::wire::WebhookInfo>, String>>;
        /// Whether the sign-in page lists the demo accounts (the server seeds them).
        fn lists_demo_accounts(&self) -> bool;
    }
}

// Leptos resources need `Send` futures. The browser's fetch futures are not `Send`, but the
// browser runs them on its one thread, so `SendWrapper` is sound there. Contexts are read
// before the future starts, while the reactive owner is still current.

/// The signed-in user, or `None`.
pub fn current_user() -> impl Future<Output = Option<Viewer>> + Send {
    #[cfg(feature = "ssr")]
    {
        let data = leptos::prelude::use_context::<std::sync::Arc<dyn PageData>>();
        let parts = leptos::prelude::use_context::<http::request::Parts>();
        async move { data?.current_user(&parts?.headers).await }
    }
    #[cfg(not(feature = "ssr"))]
    {
        // The server renders every page first and decides where a temporary password goes.
        send_wrapper::SendWrapper::new(async {
            let (user, kitchen) = futures::join!(crate::client::me(), crate::client::kitchen());
            Some(Viewer { user: user.ok()?, must_change_password: false, kitchen: kitchen.ok() })
        })
    }
}

/// The dashboard's starting data.
pub fn dashboard() -> impl Future<Output = Result<DashboardData, String>> + Send {
    #[cfg(feature = "ssr")]
    {
        let data = leptos::prelude::use_context::<std::sync::Arc<dyn PageData>>();
        let parts = leptos::prelude::use_context::<http::request::Parts>();
        async move {
            let (data, parts) = data.zip(parts).ok_or("page data unavailable")?;
            data.dashboard(&parts.headers).await
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        use crate::{client, wire::Category};
        send_wrapper::SendWrapper::new(async {
            let (snapshot, ingredient_requests, dish_suggestions) = futures::join!(
                client::snapshot(),
                client::pending(Category::IngredientRequest),
                client::pending(Category::DishSuggestion)
            );
            Ok(DashboardData {
                snapshot: snapshot?,
                ingredient_requests: ingredient_requests?,
                dish_suggestions: dish_suggestions?,
            })
        })
    }
}

/// The signed-in cook's starting data.
pub fn cook_items() -> impl Future<Output = Result<CookData, String>> + Send {
    #[cfg(feature = "ssr")]
    {
        let data = leptos::prelude::use_context::<std::sync::Arc<dyn PageData>>();
        let parts = leptos::prelude::use_context::<http::request::Parts>();
        async move {
            let (data, parts) = data.zip(parts).ok_or("page data unavailable")?;
            data.cook_items(&parts.headers).await
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        send_wrapper::SendWrapper::new(fetch_cook_items())
    }
}

/// A cook's own items, fetched from the API (a page built in the browser, or anew after a
/// reconnect).
pub async fn fetch_cook_items() -> Result<CookData, String> {
    use crate::{client, wire::Category};
    let (ingredient_requests, dish_suggestions) = futures::join!(
        client::own_items(Category::IngredientRequest, COOK_PAGE_ITEMS),
        client::own_items(Category::DishSuggestion, COOK_PAGE_ITEMS)
    );
    Ok(CookData { ingredient_requests: ingredient_requests?, dish_suggestions: dish_suggestions? })
}

/// The brigade, for the team page.
pub fn team() -> impl Future<Output = Result<Vec<User>, String>> + Send {
    #[cfg(feature = "ssr")]
    {
        let data = leptos::prelude::use_context::<std::sync::Arc<dyn PageData>>();
        let parts = leptos::prelude::use_context::<http::request::Parts>();
        async move {
            let (data, parts) = data.zip(parts).ok_or("page data unavailable")?;
            data.team(&parts.headers).await
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        send_wrapper::SendWrapper::new(async { crate::client::users().await.map_err(String::from) })
    }
}

/// The kitchen and its settings, for the settings page.
pub fn kitchen() -> impl Future<Output = Result<KitchenSettings, String>> + Send {
    #[cfg(feature = "ssr")]
    {
        let data = leptos::prelude::use_context::<std::sync::Arc<dyn PageData>>();
        let parts = leptos::prelude::use_context::<http::request::Parts>();
        async move {
            let (data, parts) = data.zip(parts).ok_or("page data unavailable")?;
            data.kitchen(&parts.headers).await
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        send_wrapper::SendWrapper::new(async { crate::client::kitchen().await.map_err(String::from) })
    }
}

/// The kitchen's webhooks, for the webhooks page.
pub fn webhooks() -> impl Future<Output = Result<Vec<crate::wire::WebhookInfo>, String>> + Send {
    #[cfg(feature = "ssr")]
    {
        let data = leptos::prelude::use_context::<std::sync::Arc<dyn PageData>>();
        let parts = leptos::prelude::use_context::<http::request::Parts>();
        async move {
            let (data, parts) = data.zip(parts).ok_or("page data unavailable")?;
            data.webhooks(&parts.headers).await
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        send_wrapper::SendWrapper::new(async { crate::client::webhooks().await.map_err(String::from) })
    }
}

/// Whether the sign-in page lists the demo accounts. Only the server knows; a page built in
/// the browser without it (which the app never does) would not list them.
pub fn lists_demo_accounts() -> impl Future<Output = bool> + Send {
    #[cfg(feature = "ssr")]
    {
        let data = leptos::prelude::use_context::<std::sync::Arc<dyn PageData>>();
        async move { data.is_some_and(|data| data.lists_demo_accounts()) }
    }
    #[cfg(not(feature = "ssr"))]
    {
        std::future::ready(false)
    }
}
