//! "Turn on notifications": this device's Web Push, as the user controls it (see
//! `crate::push`). Shown once the page runs in the browser (the server cannot know the
//! device), and only where it means something: an iPhone in a browser tab is told to add
//! MiseOS to its Home Screen instead, and a browser that blocked the site is told so.

use super::preferences::{tr, use_preferences};
use crate::push::{self, PushState};
use leptos::prelude::*;

/// The control.
#[component]
pub fn PushControl() -> impl IntoView {
    let preferences = use_preferences();
    let state = RwSignal::new(None::<PushState>);
    let busy = RwSignal::new(false);
    let failed = RwSignal::new(None::<String>);
    Effect::new(move |_| state.set(Some(push::state())));
    let turn_on = move |_| {
        busy.set(true);
        failed.set(None);
        // Straight from the tap: the browser asks for permission only during one.
        leptos::task::spawn_local(async move {
            if let Err(why) = push::turn_on().await {
                failed.set(Some(why));
            }
            state.set(Some(push::state()));
            busy.set(false);
        });
    };
    let turn_off = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            push::turn_off().await;
            state.set(Some(push::state()));
            busy.set(false);
        });
    };
    move || {
        let shown = match state.get()? {
            PushState::Unsupported => return None,
            PushState::NeedsHomeScreen => view! {
                <p>{tr("On an iPhone or iPad, notifications work once MiseOS is on the Home Screen: tap Share, then Add to Home Screen, and open it from there.")}</p>
            }
            .into_any(),
            PushState::Blocked => view! {
                <p>{tr("Notifications are blocked for MiseOS in this browser's settings.")}</p>
            }
            .into_any(),
            PushState::Off => view! {
                <p>{tr("Get the chefs' decisions on this device even when MiseOS is closed.")}</p>
                <button type="button" disabled=move || busy.get() on:click=turn_on>{tr("Turn on notifications")}</button>
            }
            .into_any(),
            PushState::On => view! {
                <p>{tr("Notifications are on for this device.")}</p>
                <button type="button" class="secondary" disabled=move || busy.get() on:click=turn_off>{tr("Turn off")}</button>
            }
            .into_any(),
        };
        Some(view! {
            <section class="push-control" data-testid="push-control" aria-label=preferences.t("Notifications")>
                {shown}
                {move || failed.get().map(|why| view! {
                    <p class="form-error" role="alert">{format!("{} ({why})", preferences.t("Notifications could not be turned on."))}</p>
                })}
            </section>
        })
    }
}
