//! The cook's view: ask for an ingredient, suggest a dish, follow one's own items live, and
//! get a toast (and a buzz, where the phone can) the moment a chef approves or rejects one.
//! Decisions made while no page of theirs was connected are shown once, together, as "while
//! you were away" (see [`away`]). A submission made on bad Wi-Fi is queued on the device and
//! sent once the network is back ([`SubmissionQueue`]); the page says when no chef has a
//! dashboard open; and the phone can get the decisions as notifications while locked
//! ([`PushControl`]).

use super::{
    away::{self, AwayPanel},
    badge::CountBadge,
    data, full_name,
    item::{status_badge, Shown},
    kitchen_updater,
    notifications::PushControl,
    preferences::{tr, use_preferences},
    signed_in_page,
    toasts::{ToastRegion, Toasts, Tone},
};
use crate::{
    client,
    live::{self, LinkState},
    queue::{self, Queued, Submission},
    wire::{
        Category, Decision, DishSuggestion, IngredientRequest, Item, ItemDetails, NewDishSuggestion,
        NewIngredientRequest, Notification, Quantity, ReviewNotice, ReviewStatus, User, UserId,
    },
};
use leptos::prelude::*;

/// The cook's page.
#[component]
pub fn CookView(user: User) -> impl IntoView {
    let link = RwSignal::new(LinkState::Connecting);
    let user_id = user.id;
    let initial = Resource::new(|| (), |()| data::cook_items());
    signed_in_page(user, link, "page cook", initial, move |data| view! { <LiveCook data link user_id/> }.into_any())
}

/// The cook's own items, kept live.
#[derive(Clone, Copy)]
struct MyItems {
    requests: RwSignal<Vec<IngredientRequest>>,
    suggestions: RwSignal<Vec<DishSuggestion>>,
}

impl MyItems {
    /// Applies a review decision to the matching item. An item this page has not seen (asked
    /// for from another device) means the lists are stale: fetch them again.
    fn apply(self, decision: Decision, notice: &ReviewNotice) {
        let status = decision.status();
        let found = match notice.category {
            Category::IngredientRequest => self.requests.try_update(|items| record_review(items, notice, status)),
            Category::DishSuggestion => self.suggestions.try_update(|items| record_review(items, notice, status)),
        }
        .unwrap_or(false);
        if !found {
            self.refetch(|| {});
        }
    }

    /// Fetches both lists again (after a reconnect, or when a decision names an unknown item);
    /// `done` runs once they are in place (or the fetch failed).
    fn refetch(self, done: impl FnOnce() + 'static) {
        leptos::task::spawn_local(async move {
            if let Ok(fresh) = data::fetch_cook_items().await {
                self.requests.set(fresh.ingredient_requests);
                self.suggestions.set(fresh.dish_suggestions);
            }
            done();
        });
    }
}

/// Puts a newly created item at the top of its list, unless the list has it already (a
/// re-fetch after a reconnect may have brought it first).
fn add_new<D: ItemDetails>(items: &mut Vec<Item<D>>, created: Item<D>) {
    if items.iter().all(|item| item.id != created.id) {
        items.insert(0, created);
    }
}

/// The cook's submissions that could not be sent yet (offline, or no answer came), kept on
/// the device with their keys, and sent in order when the network is back: each results in
/// exactly one item however many times it is sent (API.md section 11).
#[derive(Clone, Copy)]
struct SubmissionQueue {
    user: UserId,
    waiting: RwSignal<Vec<Queued>>,
    mine: MyItems,
    /// Whether a flush is under way (one at a time keeps the order and the sends few).
    flushing: RwSignal<bool>,
}

impl SubmissionQueue {
    fn new(user: UserId, mine: MyItems) -> SubmissionQueue {
        SubmissionQueue { user, waiting: RwSignal::new(Vec::new()), mine, flushing: RwSignal::new(false) }
    }

    /// Reads what this device kept (in the browser only: the server knows nothing of it).
    fn load(self) {
        self.waiting.set(queue::load(self.user));
    }

    /// Keeps a submission to send later.
    fn keep(self, queued: Queued) {
        self.waiting.update(|waiting| waiting.push(queued));
        queue::save(self.user, &self.waiting.get_untracked());
    }

    /// Sends one submission with its key; the created item goes into the lists.
    async fn send(self, queued: &Queued) -> Result<(), client::CallError> {
        match &queued.submission {
            Submission::Ingredient(new) => {
                let created = client::create_ingredient_request(new, &queued.key).await?;
                self.mine.requests.update(|items| add_new(items, created));
            }
            Submission::Dish(new) => {
                let created = client::create_dish_suggestion(new, &queued.key).await?;
                self.mine.suggestions.update(|items| add_new(items, created));
            }
        }
        Ok(())
    }

    /// Sends what waits, oldest first, until one finds no answer (it is tried again at the
    /// next chance). One the server refuses for good (a rule it breaks) is dropped and `failed`
    /// is told.
    fn flush(self, failed: impl Fn(String, client::CallError) + 'static) {
        if self.flushing.get_untracked() || self.waiting.with_untracked(Vec::is_empty) || !queue::online() {
            return;
        }
        self.flushing.set(true);
        leptos::task::spawn_local(async move {
            while let Some(next) = self.waiting.with_untracked(|waiting| waiting.first().cloned()) {
                match self.send(&next).await {
                    Err(failure) if failure.worth_retrying() => break,
                    outcome => {
                        self.waiting.update(|waiting| waiting.retain(|queued| queued.key != next.key));
                        queue::save(self.user, &self.waiting.get_untracked());
                        if let Err(failure) = outcome {
                            failed(next.submission.name().to_string(), failure);
                        }
                    }
                }
            }
            self.flushing.set(false);
        });
    }
}

/// How often a page with queued submissions tries to send them, besides when the browser
/// says it is back online and when the socket reconnects.
const FLUSH_EVERY_MS: u32 = 15_000;

/// Records a decision on the item it names; false when the list does not have it.
fn record_review<D: ItemDetails>(items: &mut [Item<D>], notice: &ReviewNotice, status: ReviewStatus) -> bool {
    match items.iter_mut().find(|item| item.id == notice.request_id) {
        Some(item) => {
            item.status = status;
            item.reviewed_by = Some(notice.reviewed_by.clone());
            item.reviewed_at = Some(notice.timestamp.clone());
            item.review_note = notice.note.clone();
            true
        }
        None => false,
    }
}

/// How long a phone buzzes for a decision, in milliseconds.
const VIBRATE_MS: u32 = 200;

#[component]
fn LiveCook(data: data::CookData, link: RwSignal<LinkState>, user_id: UserId) -> impl IntoView {
    let mine = MyItems {
        requests: RwSignal::new(data.ingredient_requests),
        suggestions: RwSignal::new(data.dish_suggestions),
    };
    let toasts = Toasts::new();
    let preferences = use_preferences();
    let catch_up = away::CatchUp::new(user_id);
    let submissions = SubmissionQueue::new(user_id, mine);
    // How many chefs have a dashboard open (API.md section 13); unknown until welcomed.
    let chefs_online = RwSignal::new(None::<i64>);
    let apply_kitchen = kitchen_updater();
    let not_sent = move |name: String, failure: client::CallError| {
        toasts.show(Tone::Bad, preferences.locale.not_sent(&name, &preferences.locale.error(&failure)));
    };
    // In the browser only: what this device kept from before, then every chance to send it.
    Effect::new(move |_| {
        submissions.load();
        submissions.flush(not_sent);
        on_window_event("online", move || submissions.flush(not_sent));
        leptos::task::spawn_local(async move {
            loop {
                gloo_timers::future::TimeoutFuture::new(FLUSH_EVERY_MS).await;
                submissions.flush(not_sent);
            }
        });
    });

    // After the first render and after every re-fetch: what was decided while away.
    Effect::new(move |_| {
        let decided = mine.requests.with(|items| items.iter().filter_map(away::Decided::of).collect::<Vec<_>>());
        let more = mine.suggestions.with(|items| items.iter().filter_map(away::Decided::of).collect::<Vec<_>>());
        catch_up.review(decided.into_iter().chain(more).collect());
    });

    Effect::new(move |_| {
        live::connect(
            link,
            move || {
                catch_up.refetch_started();
                mine.refetch(move || catch_up.refetch_done());
                submissions.flush(not_sent);
                // A change of the kitchen's settings made while the socket was down.
                leptos::task::spawn_local(async move {
                    if let Ok(kitchen) = client::kitchen().await {
                        apply_kitchen(&kitchen);
                    }
                });
            },
            move |message| {
                match &message {
                    Notification::Connected { chefs_online: Some(count), .. }
                    | Notification::ChefsOnline { count, .. } => chefs_online.set(Some(*count)),
                    Notification::KitchenUpdated { kitchen } => apply_kitchen(kitchen),
                    _ => {}
                }
                let Some((decision, notice)) = message.as_review() else { return };
                catch_up.heard_live(notice);
                mine.apply(decision, notice);
                let tone = match decision {
                    Decision::Approve => Tone::Good,
                    Decision::Reject => Tone::Bad,
                };
                let locale = preferences.locale;
                toasts.show(
                    tone,
                    locale.decision(
                        decision,
                        &full_name(&notice.reviewed_by),
                        &notice.item_name,
                        notice.note.as_deref(),
                    ),
                );
                vibrate();
            },
        );
    });

    // The tab's title and icon count what the cook has not seen yet.
    let unseen =
        Signal::derive(move || i64::try_from(toasts.count() + catch_up.decisions.with(Vec::len)).unwrap_or(i64::MAX));
    let list_is_full = move || {
        let full = |count: usize| i64::try_from(count).unwrap_or(i64::MAX) >= data::COOK_PAGE_ITEMS;
        mine.requests.with(|items| full(items.len())) || mine.suggestions.with(|items| full(items.len()))
    };
    let has_items = move || {
        mine.requests.with(|items| !items.is_empty())
            || mine.suggestions.with(|items| !items.is_empty())
            || submissions.waiting.with(|waiting| !waiting.is_empty())
    };
    view! {
        <CountBadge count=unseen/>
        <ToastRegion toasts/>
        <Show when=move || chefs_online.get() == Some(0)>
            <p class="banner" role="status" data-testid="no-chef">{tr("No chef online: your request will wait.")}</p>
        </Show>
        <AwayPanel catch_up/>
        <PushControl/>
        <div class="columns">
            <IngredientForm submissions/>
            <DishForm submissions/>
        </div>
        <section class="mine" aria-labelledby="mine-heading">
            <h2 id="mine-heading">{tr("My requests and suggestions")}</h2>
            <Show
                when=has_items
                fallback=move || view! { <p class="empty">{tr("Nothing asked for yet.")}</p> }
            >
                <ul class="cards">
                    <For each=move || submissions.waiting.get() key=|queued| queued.key.clone() let:queued>
                        <li class="card" data-testid="queued-item">
                            <div class="card-head">
                                <h3 class="title">{queued.submission.name().to_string()}</h3>
                                <span class="status queued">{tr("Queued")}</span>
                            </div>
                            <p class="meta">{tr("Not sent yet: it goes as soon as the connection is back.")}</p>
                        </li>
                    </For>
                    <For each=move || mine.requests.get() key=|item| (item.id, item.status) let:item>
                        <MyItem
                            title=item.name().to_string()
                            amount=item.details.amount()
                            status=item.status
                            reviewer=item.reviewed_by.as_ref().map(full_name)
                            reviewed_at=item.reviewed_at.clone()
                            review_note=item.review_note.clone()
                            created_at=item.created_at.clone()
                        />
                    </For>
                    <For each=move || mine.suggestions.get() key=|item| (item.id, item.status) let:item>
                        <MyItem
                            title=item.name().to_string()
                            amount=item.details.amount()
                            status=item.status
                            reviewer=item.reviewed_by.as_ref().map(full_name)
                            reviewed_at=item.reviewed_at.clone()
                            review_note=item.review_note.clone()
                            created_at=item.created_at.clone()
                        />
                    </For>
                </ul>
            </Show>
            <Show when=list_is_full>
                <p class="meta"><a href="/history">{tr("The newest of your items. All of them are in the history.")}</a></p>
            </Show>
        </section>
    }
}

/// Calls `react` on every `event` of the window, for as long as the page lives.
fn on_window_event(event: &str, react: impl Fn() + 'static) {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else { return };
    let listener = wasm_bindgen::closure::Closure::<dyn Fn()>::new(react);
    let _ = window.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
    listener.forget();
}

/// A short buzz, on phones that can (`navigator.vibrate`); elsewhere nothing.
fn vibrate() {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().vibrate_with_duration(VIBRATE_MS);
    }
}

/// One of the cook's items with its status.
#[component]
pub fn MyItem(
    title: String,
    amount: Option<(Quantity, String)>,
    status: ReviewStatus,
    reviewer: Option<String>,
    reviewed_at: Option<String>,
    review_note: Option<String>,
    created_at: String,
) -> impl IntoView {
    let preferences = use_preferences();
    let (status_text, status_class) = status_badge(status);
    view! {
        <li class="card" data-testid="my-item">
            <div class="card-head">
                <h3 class="title">{title}</h3>
                {amount.map(|(quantity, unit)| view! {
                    <span class="amount">{format!("{} {unit}", preferences.locale().quantity(quantity.0))}</span>
                })}
                <span class=status_class>{tr(status_text)}</span>
            </div>
            <p class="meta">
                <time>{preferences.locale().minute(&created_at)}</time>
                {reviewer.as_ref().map(|name| format!(" · {}", preferences.locale().reviewed_by(name, reviewed_at.as_deref())))}
            </p>
            {review_note.map(|note| view! { <p class="note">{note}</p> })}
        </li>
    }
}

/// A form's request in flight: busy while it is out, and what failed if it did.
#[derive(Clone, Copy)]
struct Sending {
    busy: RwSignal<bool>,
    error: RwSignal<Option<client::CallError>>,
}

impl Sending {
    fn new() -> Self {
        Sending { busy: RwSignal::new(false), error: RwSignal::new(None) }
    }

    /// Sends a submission now, or queues it when the device is offline or no answer comes;
    /// `done` clears the form once it is sent or queued. What the server refuses is shown next
    /// to the form, which keeps what was typed.
    fn submit(self, submissions: SubmissionQueue, submission: Submission, done: impl FnOnce() + 'static) {
        let queued = Queued::new(submission);
        self.error.set(None);
        if !queue::online() {
            submissions.keep(queued);
            done();
            return;
        }
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            match submissions.send(&queued).await {
                Ok(()) => done(),
                Err(failure) if failure.worth_retrying() => {
                    submissions.keep(queued);
                    done();
                }
                Err(failure) => self.error.set(Some(failure)),
            }
            self.busy.set(false);
        });
    }
}

/// What both cook forms share: a panel with a heading, then the fields (`children`), the
/// server's message and the submit button, all disabled until the page is hydrated.
///
/// The fields come in as `Children` (an `AnyView`): spelled out as nested view types inside
/// the cook page's, they exceed the compiler's type-depth limit on a fresh build.
#[component]
fn CookForm(
    heading_id: &'static str,
    heading: &'static str,
    submit_label: &'static str,
    sending: Sending,
    on_submit: impl FnMut(leptos::ev::SubmitEvent) + Send + 'static,
    children: Children,
) -> impl IntoView {
    let interactive = super::interactive();
    let preferences = use_preferences();
    view! {
        <form class="panel" on:submit=on_submit novalidate aria-labelledby=heading_id>
            <h2 id=heading_id>{tr(heading)}</h2>
            <fieldset class="controls" disabled=move || !interactive.get()>
                {children()}
                <p class="form-error" role="alert">{move || sending.error.get().map(|failure| preferences.locale().error(&failure))}</p>
                <button type="submit" disabled=move || sending.busy.get()>{tr(submit_label)}</button>
            </fieldset>
        </form>
    }
}

/// Ask for an ingredient. The server validates; its message is shown next to the form.
#[component]
fn IngredientForm(submissions: SubmissionQueue) -> impl IntoView {
    let item_name = RwSignal::new(String::new());
    let quantity = RwSignal::new(String::from("1"));
    let unit = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let sending = Sending::new();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        // "3,5" and "3.5" alike: Danish writes the decimal comma.
        let Ok(amount) = quantity.get_untracked().trim().replace(',', ".").parse::<f64>() else {
            sending.error.set(Some(client::CallError::invalid("quantity")));
            return;
        };
        let written_note = note.get_untracked();
        let new = NewIngredientRequest {
            item_name: item_name.get_untracked(),
            quantity: Quantity(amount),
            unit: unit.get_untracked(),
            note: Some(written_note).filter(|text| !text.trim().is_empty()),
        };
        sending.submit(submissions, Submission::Ingredient(new), move || {
            item_name.set(String::new());
            quantity.set("1".into());
            unit.set(String::new());
            note.set(String::new());
        });
    };
    view! {
        <CookForm heading_id="ingredient-heading" heading="Request an ingredient" submit_label="Send request" sending on_submit>
            <label for="ingredient-name">{tr("Ingredient")}</label>
            <input id="ingredient-name" type="text" autocomplete="off" bind:value=item_name/>
            <div class="row">
                <div>
                    <label for="ingredient-quantity">{tr("Quantity")}</label>
                    <input id="ingredient-quantity" type="text" inputmode="decimal" bind:value=quantity/>
                </div>
                <div>
                    <label for="ingredient-unit">{tr("Unit")}</label>
                    <input id="ingredient-unit" type="text" placeholder=tr("kg, bunch, crate") bind:value=unit/>
                </div>
            </div>
            <label for="ingredient-note">{tr("Note")}</label>
            <textarea id="ingredient-note" rows="2" bind:value=note></textarea>
        </CookForm>
    }
}

/// Suggest a dish. The server validates; its message is shown next to the form.
#[component]
fn DishForm(submissions: SubmissionQueue) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let sending = Sending::new();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let new = NewDishSuggestion { name: name.get_untracked(), description: description.get_untracked() };
        sending.submit(submissions, Submission::Dish(new), move || {
            name.set(String::new());
            description.set(String::new());
        });
    };
    view! {
        <CookForm heading_id="dish-heading" heading="Suggest a dish" submit_label="Send suggestion" sending on_submit>
            <label for="dish-name">{tr("Dish")}</label>
            <input id="dish-name" type="text" autocomplete="off" bind:value=name/>
            <label for="dish-description">{tr("Description")}</label>
            <textarea id="dish-description" rows="3" bind:value=description></textarea>
        </CookForm>
    }
}
