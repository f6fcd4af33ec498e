//! `/password`: everyone changes their own password here. A user who signed in with a
//! temporary password is sent here first, and can use nothing else until it is done.

use super::{
    data::Viewer,
    preferences::{tr, use_preferences},
};
use crate::{client, wire::PasswordChange};
use leptos::prelude::*;

/// The form: current password, new password twice.
#[component]
pub fn PasswordPage(viewer: Viewer) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeated = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let interactive = super::interactive();
    let preferences = use_preferences();
    let forced = viewer.must_change_password;

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if new.get_untracked() != repeated.get_untracked() {
            error.set(Some(preferences.locale.t("The two new passwords are not the same.").into()));
            return;
        }
        busy.set(true);
        error.set(None);
        let change = PasswordChange { current_password: current.get_untracked(), new_password: new.get_untracked() };
        leptos::task::spawn_local(async move {
            match client::change_password(&change).await {
                Ok(()) => client::go_to("/"),
                Err(failure) => {
                    error.set(Some(preferences.locale.error(&failure)));
                    busy.set(false);
                }
            }
        });
    };

    view! {
        <main class="page narrow">
            <section class="card account">
                <h1>{tr("Change password")}</h1>
                {forced.then(|| view! {
                    <p class="banner" role="status">
                        {tr("You signed in with a temporary password. Choose your own to continue.")}
                    </p>
                })}
                <p class="meta">{
                    let email = viewer.user.email.clone();
                    preferences.locale().signed_in_as(&email)
                }</p>
                <form on:submit=on_submit>
                    <fieldset class="controls" disabled=move || !interactive.get()>
                        // The email lets password managers file the new password under the right account.
                        <input type="email" class="visually-hidden" autocomplete="username" value=viewer.user.email.clone()
                            readonly tabindex="-1" aria-hidden="true"/>
                        <label for="current-password">
                            {if forced { tr("Temporary password") } else { tr("Current password") }}
                        </label>
                        <input id="current-password" type="password" autocomplete="current-password" required
                            bind:value=current/>
                        <label for="new-password">{tr("New password (12 to 128 characters)")}</label>
                        <input id="new-password" type="password" autocomplete="new-password" required minlength="12"
                            maxlength="128" bind:value=new/>
                        <label for="repeat-password">{tr("New password again")}</label>
                        <input id="repeat-password" type="password" autocomplete="new-password" required
                            bind:value=repeated/>
                        <p class="form-error" role="alert">{move || error.get()}</p>
                        <button type="submit" disabled=move || busy.get()>{tr("Change password")}</button>
                        {(!forced).then(|| view! { <a class="back" href="/">{tr("Back")}</a> })}
                    </fieldset>
                </form>
            </section>
        </main>
    }
}
