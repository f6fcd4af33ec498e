//! `/settings`: the head chef's settings of their kitchen (API.md section 12): its name, its
//! time zone, when a waiting card turns amber and red, and when a pending item is escalated.
//! Saved, they reach every open page of the kitchen at once (KITCHEN_UPDATED).

use super::{
    preferences::{tr, use_preferences},
    KitchenName, TopBar,
};
use crate::{
    client,
    live::LinkState,
    wire::{KitchenChanges, KitchenSettings, User},
};
use leptos::prelude::*;

/// The page, for a head chef.
#[component]
pub fn SettingsPage(user: User) -> impl IntoView {
    // The settings page has no notification socket: the top bar shows no indicator for it.
    let link = RwSignal::new(LinkState::Connecting);
    let kitchen = Resource::new(|| (), |()| super::data::kitchen());
    view! {
        <TopBar user link live=false/>
        <main class="page narrow settings">
            <Suspense fallback=move || view! { <p class="empty">{tr("Loading…")}</p> }>
                {move || {
                    kitchen.get()
                        .map(|loaded| match loaded {
                            Ok(kitchen) => view! { <SettingsForm kitchen/> }.into_any(),
                            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                        })
                }}
            </Suspense>
        </main>
    }
}

/// What the form says of a failure: a field's rule in the settings' own words (the
/// dashboard's "name" is a dish's), anything else as everywhere.
fn settings_error(locale: super::i18n::Locale, failure: &client::CallError) -> String {
    let rule = match (failure.code.as_str(), failure.field.as_deref()) {
        ("invalid_field", Some("name")) => locale.t("Write the kitchen's name: one line of at most 100 characters."),
        ("invalid_field", Some("timeZone")) => locale.t("Write a time zone such as Europe/Copenhagen."),
        ("invalid_field", Some("amberMinutes")) => locale.t("Amber: a whole number of minutes from 1 to 1440."),
        ("invalid_field", Some("redMinutes")) => locale.t("Red: a whole number of minutes from the amber one to 1440."),
        ("invalid_field", Some("escalateAfterMinutes")) => {
            locale.t("Escalation: a whole number of minutes from 0 (never) to 1440.")
        }
        _ => return locale.error(failure),
    };
    rule.to_string()
}

/// A whole number typed into a field, or the field's error.
fn minutes(text: &str, field: &str) -> Result<i64, client::CallError> {
    text.trim().parse().map_err(|_| client::CallError::invalid(field))
}

#[component]
fn SettingsForm(kitchen: KitchenSettings) -> impl IntoView {
    let name = RwSignal::new(kitchen.name.clone());
    let time_zone = RwSignal::new(kitchen.time_zone.clone());
    let amber = RwSignal::new(kitchen.amber_minutes.to_string());
    let red = RwSignal::new(kitchen.red_minutes.to_string());
    let escalate = RwSignal::new(kitchen.escalate_after_minutes.to_string());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let interactive = super::interactive();
    let preferences = use_preferences();
    let shown_name = use_context::<KitchenName>();

    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        saved.set(false);
        let changes = (|| {
            Ok(KitchenChanges {
                name: Some(name.get_untracked()),
                time_zone: Some(time_zone.get_untracked()),
                amber_minutes: Some(minutes(&amber.get_untracked(), "amberMinutes")?),
                red_minutes: Some(minutes(&red.get_untracked(), "redMinutes")?),
                escalate_after_minutes: Some(minutes(&escalate.get_untracked(), "escalateAfterMinutes")?),
            })
        })();
        let changes = match changes {
            Ok(changes) => changes,
            Err(failure) => {
                error.set(Some(settings_error(preferences.locale, &failure)));
                return;
            }
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match client::change_kitchen(&changes).await {
                Ok(kitchen) => {
                    if let Some(KitchenName(shown)) = shown_name {
                        shown.set(kitchen.name.clone());
                    }
                    saved.set(true);
                }
                Err(failure) => error.set(Some(settings_error(preferences.locale, &failure))),
            }
            busy.set(false);
        });
    };

    view! {
        <section class="card account">
            <h1>{tr("Kitchen settings")}</h1>
            <form on:submit=on_submit>
                <fieldset class="controls" disabled=move || !interactive.get()>
                    <label for="kitchen-name">{tr("Kitchen name")}</label>
                    <input id="kitchen-name" type="text" required maxlength="100" bind:value=name/>
                    <label for="kitchen-time-zone">{tr("Time zone (e.g. Europe/Copenhagen)")}</label>
                    <input id="kitchen-time-zone" type="text" required autocomplete="off" spellcheck="false"
                        bind:value=time_zone/>
                    <label for="amber-minutes">{tr("A waiting card turns amber after (minutes)")}</label>
                    <input id="amber-minutes" type="number" inputmode="numeric" min="1" max="1440" required bind:value=amber/>
                    <label for="red-minutes">{tr("…and red after (minutes)")}</label>
                    <input id="red-minutes" type="number" inputmode="numeric" min="1" max="1440" required bind:value=red/>
                    <label for="escalate-minutes">{tr("Escalate a pending item after (minutes; 0: never)")}</label>
                    <input id="escalate-minutes" type="number" inputmode="numeric" min="0" max="1440" required
                        bind:value=escalate/>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                    <p class="saved" role="status">{move || saved.get().then(|| tr("Saved. Every open page of the kitchen follows."))}</p>
                    <button type="submit" disabled=move || busy.get()>{tr("Save")}</button>
                    <a class="back" href="/">{tr("Back")}</a>
                </fieldset>
            </form>
        </section>
    }
}
