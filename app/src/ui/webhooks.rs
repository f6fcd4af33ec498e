//! `/webhooks`: the head chef's webhooks (API.md section 14): add one (its secret is shown
//! once, here), send a test, read its recent deliveries, delete it.

use super::{
    preferences::{tr, use_preferences},
    TopBar,
};
use crate::{
    client,
    live::LinkState,
    wire::{CreatedWebhook, NewWebhook, User, WebhookDelivery, WebhookEvent, WebhookInfo},
};
use leptos::prelude::*;

/// The page, for a head chef.
#[component]
pub fn WebhooksPage(user: User) -> impl IntoView {
    // The page has no notification socket: the top bar shows no indicator for it.
    let link = RwSignal::new(LinkState::Connecting);
    let webhooks = Resource::new(|| (), |()| super::data::webhooks());
    view! {
        <TopBar user link live=false/>
        <main class="page narrow webhooks">
            <h1>{tr("Webhooks")}</h1>
            <p class="lead">{tr("Send approvals and other changes to your purchasing system, signed, as they happen.")}</p>
            <Suspense fallback=move || view! { <p class="empty">{tr("Loading…")}</p> }>
                {move || {
                    webhooks.get()
                        .map(|loaded| match loaded {
                            Ok(list) => view! { <Webhooks initial=list/> }.into_any(),
                            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                        })
                }}
            </Suspense>
        </main>
    }
}

/// The list of webhooks and the form that adds one.
#[component]
fn Webhooks(initial: Vec<WebhookInfo>) -> impl IntoView {
    let webhooks = RwSignal::new(initial);
    let shown_secret = RwSignal::new(None::<CreatedWebhook>);
    view! {
        <AddWebhook webhooks shown_secret/>
        {move || shown_secret.get().map(|created| view! {
            <section class="card secret" role="status" data-testid="webhook-secret">
                <h2>{tr("The webhook's secret")}</h2>
                <p>{tr("Copy it into the receiving system now: it is shown only this once.")}</p>
                <code class="secret-value">{created.secret.clone()}</code>
                <button type="button" on:click=move |_| shown_secret.set(None)>{tr("Done")}</button>
            </section>
        })}
        <Show when=move || webhooks.with(|list| !list.is_empty())
            fallback=|| view! { <p class="empty">{tr("No webhooks yet.")}</p> }>
            <ul class="webhook-list">
                <For each=move || webhooks.get() key=|webhook| webhook.id let:webhook>
                    <WebhookCard webhook webhooks/>
                </For>
            </ul>
        </Show>
    }
}

/// What the form says of a failure: the field's rule in words, anything else as everywhere.
fn webhook_error(locale: super::i18n::Locale, failure: &client::CallError) -> String {
    match (failure.code.as_str(), failure.field.as_deref()) {
        ("invalid_field", Some("url")) => {
            locale.t("Write the receiver's address: https:// and a public host.").to_string()
        }
        ("invalid_field", Some("events")) => locale.t("Choose at least one event.").to_string(),
        ("webhook_limit", _) => locale.t("The kitchen has 10 webhooks already: delete one first.").to_string(),
        _ => locale.error(failure),
    }
}

/// The label of an event.
fn event_label(event: WebhookEvent) -> &'static str {
    match event {
        WebhookEvent::ItemCreated => tr("New items"),
        WebhookEvent::ItemApproved => tr("Approved"),
        WebhookEvent::ItemRejected => tr("Rejected"),
        WebhookEvent::ItemEscalated => tr("Escalated"),
        WebhookEvent::Ping => tr("Test"),
    }
}

#[component]
fn AddWebhook(webhooks: RwSignal<Vec<WebhookInfo>>, shown_secret: RwSignal<Option<CreatedWebhook>>) -> impl IntoView {
    let url = RwSignal::new(String::new());
    // Approvals are what a purchasing system wants first.
    let chosen = RwSignal::new(vec![WebhookEvent::ItemApproved]);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let interactive = super::interactive();
    let preferences = use_preferences();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        busy.set(true);
        error.set(None);
        let body = NewWebhook {
            url: url.get_untracked().trim().to_string(),
            events: chosen.get_untracked().iter().map(|event| event.as_str().to_string()).collect(),
        };
        leptos::task::spawn_local(async move {
            match client::add_webhook(&body).await {
                Ok(created) => {
                    webhooks.update(|list| {
                        list.push(WebhookInfo {
                            id: created.id,
                            url: created.url.clone(),
                            events: created.events.clone(),
                            created_at: String::new(),
                        })
                    });
                    shown_secret.set(Some(created));
                    url.set(String::new());
                }
                Err(failure) => error.set(Some(webhook_error(preferences.locale, &failure))),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card">
            <h2>{tr("Add a webhook")}</h2>
            <form on:submit=on_submit>
                <fieldset class="controls" disabled=move || !interactive.get()>
                    <label for="webhook-url">{tr("Receiver's address (https://…)")}</label>
                    <input id="webhook-url" type="url" required inputmode="url" autocomplete="off" spellcheck="false"
                        placeholder="https://purchasing.example.com/miseos" bind:value=url/>
                    <fieldset class="events">
                        <legend>{tr("Send")}</legend>
                        {WebhookEvent::SUBSCRIBABLE.into_iter().map(|event| view! {
                            <label class="event">
                                <input type="checkbox" prop:checked=move || chosen.with(|list| list.contains(&event))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|list| {
                                            list.retain(|known| *known != event);
                                            if on {
                                                list.push(event);
                                            }
                                        });
                                    }/>
                                <span>{event_label(event)}</span>
                            </label>
                        }).collect_view()}
                    </fieldset>
                    <p class="form-error" role="alert">{move || error.get()}</p>
                    <button type="submit" disabled=move || busy.get()>{tr("Add webhook")}</button>
                </fieldset>
            </form>
        </section>
    }
}

/// One webhook: its address and events, a test send, its deliveries, deletion.
#[component]
fn WebhookCard(webhook: WebhookInfo, webhooks: RwSignal<Vec<WebhookInfo>>) -> impl IntoView {
    let id = webhook.id;
    let deliveries = RwSignal::new(None::<Vec<WebhookDelivery>>);
    let notice = RwSignal::new(None::<String>);
    let interactive = super::interactive();
    let preferences = use_preferences();
    let load = move || {
        leptos::task::spawn_local(async move {
            match client::webhook_deliveries(id).await {
                Ok(list) => deliveries.set(Some(list)),
                Err(failure) => notice.set(Some(preferences.locale.error(&failure))),
            }
        });
    };
    // Effects run only in the browser: the log is read once the page is hydrated.
    Effect::new(move |_| load());
    let test = move |_| {
        leptos::task::spawn_local(async move {
            match client::test_webhook(id).await {
                Ok(_) => {
                    notice.set(Some(tr("Test sent.").to_string()));
                    // The ping is sent at once; its answer is in the log a moment later.
                    gloo_timers::future::TimeoutFuture::new(1_500).await;
                    load();
                }
                Err(failure) => notice.set(Some(preferences.locale.error(&failure))),
            }
        });
    };
    let delete = move |_| {
        leptos::task::spawn_local(async move {
            match client::delete_webhook(id).await {
                Ok(()) => webhooks.update(|list| list.retain(|known| known.id != id)),
                Err(failure) => notice.set(Some(preferences.locale.error(&failure))),
            }
        });
    };
    let events: Vec<&'static str> = webhook.events.iter().map(|event| event_label(*event)).collect();
    view! {
        <li class="card webhook" data-testid="webhook">
            <p class="webhook-url"><code>{webhook.url.clone()}</code></p>
            <p class="meta">{events.join(" · ")}</p>
            <div class="actions">
                <button type="button" disabled=move || !interactive.get() on:click=test>{tr("Send a test")}</button>
                <button type="button" disabled=move || !interactive.get() on:click=move |_| load()>{tr("Refresh")}</button>
                <button type="button" class="reject" disabled=move || !interactive.get() on:click=delete>{tr("Delete")}</button>
            </div>
            <p class="notice" role="status">{move || notice.get()}</p>
            <h3>{tr("Recent deliveries")}</h3>
            {move || match deliveries.get() {
                None => view! { <p class="empty">{tr("Loading…")}</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p class="empty">{tr("Nothing sent yet.")}</p> }.into_any(),
                Some(list) => view! {
                    <table class="deliveries" data-testid="deliveries">
                        <thead><tr>
                            <th scope="col">{tr("When")}</th>
                            <th scope="col">{tr("Event")}</th>
                            <th scope="col">{tr("Status")}</th>
                            <th scope="col">{tr("Attempts")}</th>
                            <th scope="col">{tr("Answer")}</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|delivery| {
                                let status = match delivery.status.as_str() {
                                    "DELIVERED" => tr("Delivered"),
                                    "FAILED" => tr("Failed"),
                                    _ => tr("Trying"),
                                };
                                let answer = delivery.last_status_code.map(|code| code.to_string())
                                    .or(delivery.last_error.clone())
                                    .unwrap_or_default();
                                view! {
                                    <tr class=format!("delivery {}", delivery.status.to_lowercase())>
                                        <td>{preferences.locale().minute(&delivery.created_at)}</td>
                                        <td><code>{delivery.event_type.clone()}</code></td>
                                        <td data-testid="delivery-status">{status}</td>
                                        <td>{delivery.attempts}</td>
                                        <td>{answer}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </li>
    }
}
