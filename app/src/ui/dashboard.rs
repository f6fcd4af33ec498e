//! The head chef's dashboard: live badges, the pending items with approve/reject.
//!
//! Counts come from the snapshot rendered by the server, then only from PENDING_COUNT_UPDATED
//! messages newer (by `seq`) than what was applied. New items are fetched and highlighted as
//! they are announced; after a reconnect everything is fetched again.

use super::{data, full_name, signed_in_page};
use crate::{
    client,
    live::{self, LinkState, SeqGate},
    wire::{Category, Decision, DishSuggestion, IngredientRequest, Notification, User},
};
use leptos::prelude::*;
use std::collections::HashSet;

/// How long a newly announced item stays highlighted.
const HIGHLIGHT_MS: u32 = 6_000;
/// How long the dashboard waits before re-fetching a list whose length disagrees with its
/// count (another chef reviewed an item, or an announcement was missed).
const RECONCILE_AFTER_MS: u32 = 1_000;

/// The dashboard page.
#[component]
pub fn Dashboard(user: User) -> impl IntoView {
    let link = RwSignal::new(LinkState::Connecting);
    let initial = Resource::new(|| (), |()| data::dashboard());
    signed_in_page(user, link, "page dashboard", initial, move |data| view! { <LiveDashboard data link/> }.into_any())
}

/// One pending item as the dashboard shows it, whichever its kind.
#[derive(Clone, PartialEq)]
struct PendingCard {
    category: Category,
    id: i64,
    title: String,
    detail: Option<String>,
    note: Option<String>,
    requested_by: String,
    created_at: String,
}

impl From<&IngredientRequest> for PendingCard {
    fn from(item: &IngredientRequest) -> Self {
        PendingCard {
            category: Category::IngredientRequest,
            id: item.id,
            title: item.item_name.clone(),
            detail: Some(format!("{} {}", item.quantity, item.unit)),
            note: item.note.clone().filter(|note| !note.trim().is_empty()),
            requested_by: full_name(&item.requested_by),
            created_at: item.created_at.clone(),
        }
    }
}

impl From<&DishSuggestion> for PendingCard {
    fn from(item: &DishSuggestion) -> Self {
        PendingCard {
            category: Category::DishSuggestion,
            id: item.id,
            title: item.name.clone(),
            detail: None,
            note: Some(item.description.clone()).filter(|text| !text.trim().is_empty()),
            requested_by: full_name(&item.requested_by),
            created_at: item.created_at.clone(),
        }
    }
}

/// The live state of the dashboard, shared by its parts.
#[derive(Clone, Copy)]
struct Board {
    ingredient_count: RwSignal<i64>,
    dish_count: RwSignal<i64>,
    requests: RwSignal<Vec<IngredientRequest>>,
    suggestions: RwSignal<Vec<DishSuggestion>>,
    fresh: RwSignal<HashSet<(Category, i64)>>,
    notice: RwSignal<Option<String>>,
}

impl Board {
    fn count(self, category: Category) -> RwSignal<i64> {
        match category {
            Category::IngredientRequest => self.ingredient_count,
            Category::DishSuggestion => self.dish_count,
        }
    }

    fn listed(self, category: Category) -> usize {
        match category {
            Category::IngredientRequest => self.requests.with_untracked(Vec::len),
            Category::DishSuggestion => self.suggestions.with_untracked(Vec::len),
        }
    }

    fn remove(self, category: Category, id: i64) {
        match category {
            Category::IngredientRequest => self.requests.update(|items| items.retain(|item| item.id != id)),
            Category::DishSuggestion => self.suggestions.update(|items| items.retain(|item| item.id != id)),
        }
    }

    fn highlight(self, category: Category, id: i64) {
        self.fresh.update(|fresh| {
            fresh.insert((category, id));
        });
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(HIGHLIGHT_MS).await;
            self.fresh.update(|fresh| {
                fresh.remove(&(category, id));
            });
        });
    }

    /// Fetches one category's pending list again.
    fn refetch(self, category: Category) {
        leptos::task::spawn_local(async move {
            match category {
                Category::IngredientRequest => {
                    if let Ok(items) = client::pending_ingredient_requests().await {
                        self.requests.set(items);
                    }
                }
                Category::DishSuggestion => {
                    if let Ok(items) = client::pending_dish_suggestions().await {
                        self.suggestions.set(items);
                    }
                }
            }
        });
    }

    /// Fetches an announced item and puts it on top, highlighted.
    fn add_announced(self, category: Category, id: i64) {
        leptos::task::spawn_local(async move {
            match category {
                Category::IngredientRequest => {
                    if let Ok(item) = client::ingredient_request(id).await {
                        self.requests.update(|items| {
                            if !items.iter().any(|known| known.id == id) {
                                items.insert(0, item);
                            }
                        });
                    }
                }
                Category::DishSuggestion => {
                    if let Ok(item) = client::dish_suggestion(id).await {
                        self.suggestions.update(|items| {
                            if !items.iter().any(|known| known.id == id) {
                                items.insert(0, item);
                            }
                        });
                    }
                }
            }
            self.highlight(category, id);
        });
    }

    /// Re-fetches a list a moment after its count disagrees with it, if it still does.
    fn reconcile_later(self, category: Category) {
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(RECONCILE_AFTER_MS).await;
            let count = self.count(category).get_untracked();
            if usize::try_from(count).ok() != Some(self.listed(category)) {
                self.refetch(category);
            }
        });
    }
}

/// The dashboard once its data is loaded.
#[component]
fn LiveDashboard(data: data::DashboardData, link: RwSignal<LinkState>) -> impl IntoView {
    let board = Board {
        ingredient_count: RwSignal::new(data.snapshot.pending_ingredient_requests),
        dish_count: RwSignal::new(data.snapshot.pending_dish_suggestions),
        requests: RwSignal::new(data.ingredient_requests),
        suggestions: RwSignal::new(data.dish_suggestions),
        fresh: RwSignal::new(HashSet::new()),
        notice: RwSignal::new(None),
    };
    let mut gate = SeqGate::default();
    for category in Category::ALL {
        gate.admit(category, data.snapshot.seq);
    }
    let gate = StoredValue::new(gate);

    // Effects run only in the browser: this opens the socket once the page is hydrated.
    Effect::new(move |_| {
        let refetch_both = move || Category::ALL.into_iter().for_each(|category| board.refetch(category));
        live::connect(link, refetch_both, move |message| match message {
            Notification::PendingCountUpdated { category, count, seq, .. }
                if gate.try_update_value(|gate| gate.admit(category, seq)).unwrap_or(false) =>
            {
                board.count(category).set(count);
                board.reconcile_later(category);
            }
            other => {
                if let Some(notice) = other.as_new_item() {
                    board.add_announced(notice.category, notice.request_id);
                }
            }
        });
    });

    let total = move || board.ingredient_count.get() + board.dish_count.get();
    view! {
        <section class="badges" aria-label="Pending items">
            <div class="badge" data-testid="badge-ingredients">
                <span class="count" aria-live="polite">{move || board.ingredient_count.get()}</span>
                <span class="label">"Ingredient requests"</span>
            </div>
            <div class="badge" data-testid="badge-dishes">
                <span class="count" aria-live="polite">{move || board.dish_count.get()}</span>
                <span class="label">"Dish suggestions"</span>
            </div>
            <div class="badge total" data-testid="badge-total">
                <span class="count" aria-live="polite">{total}</span>
                <span class="label">"Total pending"</span>
            </div>
        </section>
        <p class="notice" role="status" aria-live="polite">{move || board.notice.get()}</p>
        <div class="columns">
            <section class="queue" aria-labelledby="requests-heading">
                <h2 id="requests-heading">"Ingredient requests"</h2>
                <PendingList board cards=Signal::derive(move || board.requests.with(|items| items.iter().map(PendingCard::from).collect()))/>
            </section>
            <section class="queue" aria-labelledby="suggestions-heading">
                <h2 id="suggestions-heading">"Dish suggestions"</h2>
                <PendingList board cards=Signal::derive(move || board.suggestions.with(|items| items.iter().map(PendingCard::from).collect()))/>
            </section>
        </div>
    }
}

/// A column of pending cards, or a calm message when it is empty.
#[component]
fn PendingList(board: Board, cards: Signal<Vec<PendingCard>>) -> impl IntoView {
    view! {
        <Show when=move || cards.with(|cards| !cards.is_empty()) fallback=|| view! { <p class="empty">"Nothing waiting."</p> }>
            <ul class="cards">
                <For each=move || cards.get() key=|card| (card.category, card.id) let:card>
                    <PendingItem board card/>
                </For>
            </ul>
        </Show>
    }
}

/// One pending item with its review controls.
#[component]
fn PendingItem(board: Board, card: PendingCard) -> impl IntoView {
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let interactive = super::interactive();
    let error = RwSignal::new(None::<String>);
    let (category, id) = (card.category, card.id);
    let title = card.title.clone();
    let review = move |decision: Decision| {
        busy.set(true);
        error.set(None);
        let written = note.get_untracked();
        let note = Some(written).filter(|text| !text.trim().is_empty());
        let title = title.clone();
        leptos::task::spawn_local(async move {
            match client::review(category, id, decision, note).await {
                Ok(()) => board.remove(category, id),
                Err(failure) if failure.status == 409 => {
                    board.remove(category, id);
                    board.notice.set(Some(format!("“{title}” was already reviewed by someone else.")));
                }
                Err(failure) => {
                    error.set(Some(failure.message));
                    busy.set(false);
                }
            }
        });
    };
    let is_fresh = move || board.fresh.with(|fresh| fresh.contains(&(category, id)));
    let note_id = format!("note-{}-{id}", category.resource());
    let label = card.title.clone();
    view! {
        <li class="card" class:fresh=is_fresh data-testid="pending-card">
            <div class="card-head">
                <h3 class="title">{card.title.clone()}</h3>
                {card.detail.clone().map(|detail| view! { <span class="amount">{detail}</span> })}
            </div>
            {card.note.clone().map(|note| view! { <p class="note">{note}</p> })}
            <p class="meta">{card.requested_by.clone()} " · " <time>{card.created_at.clone()}</time></p>
            <fieldset class="controls" disabled=move || !interactive.get()>
                <label class="visually-hidden" for=note_id.clone()>{format!("Note for {label}")}</label>
                <input id=note_id type="text" class="review-note" placeholder="Note (optional)" maxlength="500" bind:value=note/>
                <div class="actions">
                    <button type="button" class="approve" disabled=move || busy.get() on:click={
                        let review = review.clone();
                        move |_| review(Decision::Approve)
                    }>"Approve"</button>
                    <button type="button" class="reject" disabled=move || busy.get() on:click=move |_| review(Decision::Reject)>"Reject"</button>
                </div>
            </fieldset>
            <p class="form-error" role="alert">{move || error.get()}</p>
        </li>
    }
}
