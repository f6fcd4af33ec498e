//! The sign-in page. The server sets the HttpOnly `miseos_token` cookie on success, so the
//! browser never handles the token itself.

use super::preferences::{tr, use_preferences, PreferenceControls};
use crate::{
    demo::{DEMO_ACCOUNTS, DEMO_PASSWORD},
    live::SignInNotice,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Email and password form; lists the demo accounts when the server seeds them.
#[component]
pub fn LoginPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<crate::client::CallError>);
    let busy = RwSignal::new(false);
    let interactive = super::interactive();
    let preferences = use_preferences();
    let demo_listed = Resource::new(|| (), |()| super::data::lists_demo_accounts());
    let query = use_query_map();
    let notice = move || query.with(|query| query.get("ended").and_then(|key| SignInNotice::from_key(&key)));

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        busy.set(true);
        error.set(None);
        let credentials =
            crate::wire::LoginRequest { email: email.get_untracked(), password: password.get_untracked() };
        leptos::task::spawn_local(async move {
            match crate::client::login(&credentials).await {
                Ok(answer) if answer.must_change_password => crate::client::go_to("/password"),
                Ok(_) => crate::client::go_to("/"),
                Err(failure) => {
                    error.set(Some(failure));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <main class="login card">
            <div class="login-head">
                <h1>"MiseOS Live"</h1>
                <PreferenceControls/>
            </div>
            {move || notice().map(|notice| view! { <p class="banner" role="status" data-testid="sign-in-notice">{tr(notice.message())}</p> })}
            <form on:submit=on_submit>
                <fieldset class="controls" disabled=move || !interactive.get()>
                    <label for="login-email">{tr("Email")}</label>
                    <input id="login-email" name="email" type="email" autocomplete="username" required
                        bind:value=email/>
                    <label for="login-password">{tr("Password")}</label>
                    <input id="login-password" name="password" type="password" autocomplete="current-password" required
                        bind:value=password/>
                    <p class="form-error" role="alert">{move || error.get().map(|failure| preferences.locale().error(&failure))}</p>
                    <button type="submit" disabled=move || busy.get()>{tr("Sign in")}</button>
                </fieldset>
            </form>
            <Suspense>
            <Show when=move || demo_listed.get().unwrap_or(false)>
                <aside class="demo-accounts">
                    <h2>{tr("Demo accounts")}</h2>
                    <p>{tr("Development only. Every password is ")} <code>{DEMO_PASSWORD}</code> "."</p>
                    <ul>
                        {DEMO_ACCOUNTS
                            .iter()
                            .map(|account| {
                                let address = account.email;
                                let role = account.role;
                                let who = format!(
                                    "{} {}, {}",
                                    account.first_name,
                                    account.last_name,
                                    preferences.locale().role(role).to_lowercase()
                                );
                                view! {
                                    <li>
                                        <button type="button" class="link"
                                            on:click=move |_| {
                                                email.set(address.to_string());
                                                password.set(DEMO_PASSWORD.to_string());
                                            }>
                                            {address}
                                        </button>
                                        " " {who}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </aside>
            </Show>
            </Suspense>
        </main>
    }
}
