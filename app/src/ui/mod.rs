//! The Leptos pages: sign-in, the head chef's dashboard, the cook's view, the team page
//! (head chefs) and the password page (everyone).
//!
//! Pages are rendered on the server with their data (so the first paint is complete and
//! correct), then hydrated; from then on the notification socket keeps them live.

use crate::{
    live::LinkState,
    wire::{Role, User},
};
use data::Viewer;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Meta, MetaTags, Title};
use leptos_router::{
    components::{Redirect, Route, Router, Routes},
    SsrMode, StaticSegment,
};
use preferences::{tr, PreferenceControls};

mod away;
mod badge;
mod cook;
mod dashboard;
pub mod data;
mod history;
mod i18n;
mod item;
mod login;
mod notifications;
mod password;
mod preferences;
mod settings;
mod team;
mod toasts;
mod wall;
mod webhooks;

/// The HTML document around the app, rendered by the server, with its Content Security
/// Policy: scripts only from this origin or carrying this response's nonce (Leptos puts it on
/// its hydration script), no framing.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy(&options);
    // The page's language and theme from the first byte (see preferences.rs).
    let (locale, theme) = preferences::of_this_page();
    view! {
        <!DOCTYPE html>
        <html lang=locale.code() data-theme=theme.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // Installable: a tablet at the pass adds the dashboard to its home screen and
                // opens it full-screen.
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="icon" href="/icon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/apple-touch-icon.png"/>
                <AutoReload options=options.clone()/>
                // The stylesheet by its content-hashed name in a release (see scripts/release.sh).
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Makes this response's nonce and sends the policy naming it. In development the page also
/// opens cargo-leptos' reload socket on another port.
#[cfg(feature = "ssr")]
fn content_security_policy(options: &LeptosOptions) {
    leptos::nonce::provide_nonce();
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let reload = if options.env == leptos::config::Env::DEV { " ws:" } else { "" };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    // A base64 nonce and fixed text: always a valid header value.
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The root component: routes to the pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    preferences::provide();
    view! {
        <Title text="MiseOS Live"/>
        <Meta name="theme-color" content="#1f2a24"/>
        <Router>
            <Routes fallback=move || view! { <main class="page"><p class="empty">{tr("Page not found.")}</p></main> }>
                <Route path=StaticSegment("login") view=login::LoginPage/>
                // Async: the whole page (or the redirect to sign-in) is decided before the
                // first byte, so a signed-out visitor gets a plain 302.
                <Route path=StaticSegment("") view=Home ssr=SsrMode::Async/>
                <Route path=StaticSegment("password") view=Password ssr=SsrMode::Async/>
                <Route path=StaticSegment("team") view=Team ssr=SsrMode::Async/>
                <Route path=StaticSegment("settings") view=Settings ssr=SsrMode::Async/>
                <Route path=StaticSegment("webhooks") view=Webhooks ssr=SsrMode::Async/>
                <Route path=StaticSegment("history") view=History ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

/// `/`: the dashboard for head and sous chefs, the cook view for everyone else.
#[component]
fn Home() -> impl IntoView {
    signed_in(|viewer| {
        if viewer.user.role.is_admin() {
            // A kitchen that could not be read shows the usual colours until its settings come.
            let thresholds = viewer.kitchen.as_ref().map(data::WaitingThresholds::from).unwrap_or_default();
            view! { <dashboard::Dashboard user=viewer.user thresholds/> }.into_any()
        } else {
            view! { <cook::CookView user=viewer.user/> }.into_any()
        }
    })
}

/// `/history`: decided items for chefs, one's own items for cooks.
#[component]
fn History() -> impl IntoView {
    signed_in(|viewer| view! { <history::HistoryPage user=viewer.user/> }.into_any())
}

/// `/password`: change one's own password (the one page a temporary password may open).
#[component]
fn Password() -> impl IntoView {
    with_viewer(|viewer| match viewer {
        None => view! { <Redirect path="/login"/> }.into_any(),
        Some(viewer) => view! { <password::PasswordPage viewer/> }.into_any(),
    })
}

/// `/team`: the brigade, for head chefs; everyone else is sent home.
#[component]
fn Team() -> impl IntoView {
    head_chefs_page(|user| view! { <team::TeamPage user/> }.into_any())
}

/// `/settings`: the kitchen's settings, for head chefs; everyone else is sent home.
#[component]
fn Settings() -> impl IntoView {
    head_chefs_page(|user| view! { <settings::SettingsPage user/> }.into_any())
}

/// `/webhooks`: the kitchen's webhooks, for head chefs; everyone else is sent home.
#[component]
fn Webhooks() -> impl IntoView {
    head_chefs_page(|user| view! { <webhooks::WebhooksPage user/> }.into_any())
}

/// A page for head chefs (`page`, given the head chef); anyone else signed in is sent home.
fn head_chefs_page(page: impl Fn(User) -> AnyView + Send + Sync + 'static) -> impl IntoView {
    signed_in(move |viewer| {
        if viewer.user.role == Role::HeadChef {
            page(viewer.user)
        } else {
            view! { <Redirect path="/"/> }.into_any()
        }
    })
}

/// A page for a signed-in user: sign-in first for visitors, the password page first for a
/// temporary password, else `page`.
fn signed_in(page: impl Fn(Viewer) -> AnyView + Send + Sync + 'static) -> impl IntoView {
    with_viewer(move |viewer| match viewer {
        None => view! { <Redirect path="/login"/> }.into_any(),
        Some(viewer) if viewer.must_change_password => view! { <Redirect path="/password"/> }.into_any(),
        Some(viewer) => {
            provide_kitchen_name(&viewer);
            page(viewer)
        }
    })
}

/// The name of the signed-in user's kitchen, which the top bar and the title show; a page
/// whose socket hears KITCHEN_UPDATED sets it, and both follow.
#[derive(Clone, Copy)]
pub struct KitchenName(pub RwSignal<String>);

fn provide_kitchen_name(viewer: &Viewer) {
    let name = viewer.kitchen.as_ref().map(|kitchen| kitchen.name.clone()).unwrap_or_default();
    provide_context(KitchenName(RwSignal::new(name)));
}

/// The kitchen's name as the page shows it (empty outside a signed-in page).
pub fn kitchen_name() -> Signal<String> {
    let name = use_context::<KitchenName>();
    // `try_get`: a title leptos_meta still holds may ask once its page has gone.
    Signal::derive(move || name.and_then(|KitchenName(name)| name.try_get()).unwrap_or_default())
}

/// What takes new settings of the kitchen heard on the socket: its name, on the top bar and
/// in the title. Made while the page's component is set up (where its context is).
pub fn kitchen_updater() -> impl Fn(&crate::wire::KitchenSettings) + Copy + 'static {
    let name = use_context::<KitchenName>();
    move |kitchen| {
        if let Some(KitchenName(name)) = name {
            name.set(kitchen.name.clone());
        }
    }
}

/// Loads who is looking (decided before the first byte: the pages are async-rendered) and
/// lets `decide` pick the view.
fn with_viewer(decide: impl Fn(Option<Viewer>) -> AnyView + Send + Sync + 'static) -> impl IntoView {
    let viewer = Resource::new(|| (), |()| data::current_user());
    view! {
        <Suspense fallback=move || view! { <main class="page"><p class="empty">{tr("Loading…")}</p></main> }>
            {move || viewer.get().map(&decide)}
        </Suspense>
    }
}

/// False until the calling component runs in the browser (hydrated, or mounted there).
///
/// A server-rendered control does nothing until hydration attaches its handler, and
/// hydration sets every bound input to its signal's value, so controls stay disabled until
/// then: a click is never silently lost, text typed early is never wiped, and Enter in the
/// sign-in form cannot submit it as a plain GET with the password in the URL. Call it in the
/// component that renders the controls, so it turns true only once they are live.
fn interactive() -> ReadSignal<bool> {
    let (live, set_live) = signal(false);
    // Effects never run on the server, and in the browser only after the render they follow.
    Effect::new(move |_| set_live.set(true));
    live
}

/// The top bar: who is signed in, the live connection (on live pages), the pages they may
/// open, sign-out. It also keeps the session's token fresh while the page is open.
#[component]
fn TopBar(user: User, link: RwSignal<LinkState>, #[prop(default = true)] live: bool) -> impl IntoView {
    let interactive = interactive();
    let preferences = preferences::use_preferences();
    Effect::new(move |_| {
        crate::live::keep_session_fresh();
        // Every signed-in page: the service worker (notifications, bad Wi-Fi), and this
        // device's push subscription kept bound to this sign-in when notifications are on.
        crate::push::register_service_worker(preferences.locale().code());
        leptos::task::spawn_local(crate::push::keep_on());
    });
    let is_head_chef = user.role == Role::HeadChef;
    let role = user.role;
    let kitchen = kitchen_name();
    // On a phone the bar is one row; the pages, who, preferences and sign-out open from a menu.
    let menu_open = RwSignal::new(false);
    let on_sign_out = move |_| {
        leptos::task::spawn_local(async {
            // Notifications off before the session ends (the server would drop them with it).
            crate::push::forget().await;
            crate::client::logout().await;
            // The socket may be told first and go there itself; either way the page says so.
            crate::client::go_to(&crate::live::sign_in_path(crate::wire::EndReason::SignedOut.reason()));
        });
    };
    view! {
        <Title text=move || badge::title_for(0, &kitchen.try_get().unwrap_or_default())/>
        <header class="top-bar">
            <a class="brand" href="/">"MiseOS Live"</a>
            <span class="kitchen-name" data-testid="kitchen-name">{move || kitchen.get()}</span>
            {live.then(|| view! {
                <span class=move || link.get().css_class() role="status" aria-live="polite" data-testid="link-state">
                    {move || preferences.t(link.get().label())}
                </span>
            })}
            <button type="button" class="menu-button secondary" aria-controls="top-bar-menu"
                aria-expanded=move || menu_open.get().to_string() disabled=move || !interactive.get()
                on:click=move |_| menu_open.update(|open| *open = !*open)>{tr("Menu")}</button>
            <div id="top-bar-menu" class="menu-items" class:open=move || menu_open.get()>
                <nav class="pages" aria-label=tr("Pages")>
                    <a href="/history">{tr("History")}</a>
                    {is_head_chef.then(|| view! {
                        <a href="/team">{tr("Team")}</a> <a href="/settings">{tr("Settings")}</a> <a href="/webhooks">{tr("Webhooks")}</a>
                    })}
                    <a href="/password">{tr("Password")}</a>
                </nav>
                <span class="who">
                    <span class="name">{format!("{} {}", user.first_name, user.last_name)}</span>
                    <span class="role">{preferences.locale().role(role)}</span>
                </span>
                <PreferenceControls/>
                <button type="button" class="secondary" disabled=move || !interactive.get() on:click=on_sign_out>{tr("Sign out")}</button>
            </div>
        </header>
        <Show when=move || link.get() == LinkState::Replaced>
            <p class="banner" role="alert">
                {tr("MiseOS was opened in another tab or device. This page no longer updates; reload it to use it here.")}
            </p>
        </Show>
        <Show when=move || link.get() == LinkState::TooManySessions>
            <p class="banner" role="alert">
                {tr("This account has too many MiseOS screens open, and this was the oldest. This page no longer updates; close some and reload it.")}
            </p>
        </Show>
    }
}

/// A signed-in page: the top bar, then `body` once `data` has loaded, or the load's error.
fn signed_in_page<T>(
    user: User,
    link: RwSignal<LinkState>,
    class: &'static str,
    data: Resource<Result<T, String>>,
    body: impl Fn(T) -> AnyView + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    view! {
        <TopBar user link/>
        <main class=class>
            <Suspense fallback=move || view! { <p class="empty">{tr("Loading…")}</p> }>
                {move || {
                    data.get()
                        .map(|loaded| match loaded {
                            Ok(loaded) => body(loaded),
                            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                        })
                }}
            </Suspense>
        </main>
    }
}

/// "Ali Hassan".
fn full_name(person: &crate::wire::Person) -> String {
    format!("{} {}", person.first_name, person.last_name)
}
