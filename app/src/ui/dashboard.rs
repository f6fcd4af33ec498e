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

/// One column of the dashboard: a category's pending count and its cards.
#[derive(Clone, Copy)]
struct Column {
    count: RwSignal<i64>,
    cards: RwSignal<Vec<PendingCard>>,
}

impl Column {
    fn new<'a, T: 'a>(count: i64, items: &'a [T]) -> Column
    where
        PendingCard: From<&'a T>,
    {
        Column { count: RwSignal::new(count), cards: RwSignal::new(items.iter().map(PendingCard::from).collect()) }
    }
}

/// The live state of the dashboard, shared by its parts.
#[derive(Clone, Copy)]
struct Board {
    ingredient_requests: Column,
    dish_suggestions: Column,
    fresh: RwSignal<HashSet<(Category, i64)>>,
    notice: RwSignal<Option<String>>,
}

impl Board {
    fn column(self, category: Category) -> Column {
        match category {
            Category::IngredientRequest => self.ingredient_requests,
            Category::DishSuggestion => self.dish_suggestions,
        }
    }

    fn remove(self, category: Category, id: i64) {
        self.column(category).cards.update(|cards| cards.retain(|card| card.id != id));
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
            if let Ok(cards) = fetch_pending(category).await {
                self.column(category).cards.set(cards);
            }
        });
    }

    /// Fetches an announced item and puts it on top, highlighted.
    fn add_announced(self, category: Category, id: i64) {
        leptos::task::spawn_local(async move {
            if let Ok(card) = fetch_card(category, id).await {
                self.column(category).cards.update(|cards| {
                    if !cards.iter().any(|known| known.id == id) {
                        cards.insert(0, card);
                    }
                });
            }
            self.highlight(category, id);
        });
    }

    /// Re-fetches a list a moment after its count disagrees with it, if it still does.
    fn reconcile_later(self, category: Category) {
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(RECONCILE_AFTER_MS).await;
            let column = self.column(category);
            if usize::try_from(column.count.get_untracked()).ok() != Some(column.cards.with_untracked(Vec::len)) {
                self.refetch(category);
            }
        });
    }
}

/// The pending items of one category as cards, fetched anew.
async fn fetch_pending(category: Category) -> Result<Vec<PendingCard>, client::CallError> {
    Ok(match category {
        Category::IngredientRequest => {
            client::pending::<IngredientRequest>(category).await?.iter().map(PendingCard::from).collect()
        }
        Category::DishSuggestion => {
            client::pending::<DishSuggestion>(category).await?.iter().map(PendingCard::from).collect()
        }
    })
}

/// One item as a card.
async fn fetch_card(category: Category, id: i64) -> Result<PendingCard, client::CallError> {
    Ok(match category {
        Category::IngredientRequest => PendingCard::from(&client::item::<IngredientRequest>(category, id).await?),
        Category::DishSuggestion => PendingCard::from(&client::item::<DishSuggestion>(category, id).await?),
    })
}

/// The dashboard once its data is loaded.
#[component]
fn LiveDashboard(data: data::DashboardData, link: RwSignal<LinkState>) -> impl IntoView {
    let board = Board {
        ingredient_requests: Column::new(data.snapshot.pending_ingredient_requests, &data.ingredient_requests),
        dish_suggestions: Column::new(data.snapshot.pending_dish_suggestions, &data.dish_suggestions),
        fresh: RwSignal::new(HashSet::new()),
        notice: RwSignal::new(None),
    };
    let mut gate = SeqGate::default();
    for category in Category::ALL {
        gate.admit(category, data.snapshot.seq);
    }
    let gate = StoredValue::new(gate);
    // The database this page's `seq` belongs to. After a restore from a backup `seq` starts
    // over under a new epoch: the page forgets the `seq` it held (the welcome's counts and the
    // refetched lists then replace what it shows), instead of ignoring every update.
    let epoch = StoredValue::new(data.snapshot.epoch.clone());

    // Effects run only in the browser: this opens the socket once the page is hydrated.
    Effect::new(move |_| {
        let refetch_both = move || Category::ALL.into_iter().for_each(|category| board.refetch(category));
        live::connect(link, refetch_both, move |message| match message {
            Notification::Connected { epoch: welcome_epoch, .. } => {
                if epoch.with_value(|known| *known != welcome_epoch) {
                    epoch.set_value(welcome_epoch);
                    gate.set_value(SeqGate::default());
                }
            }
            Notification::PendingCountUpdated { category, count, seq, .. }
                if gate.try_update_value(|gate| gate.admit(category, seq)).unwrap_or(false) =>
            {
                board.column(category).count.set(count);
                board.reconcile_later(category);
            }
            other => {
                if let Some(notice) = other.as_new_item() {
                    board.add_announced(notice.category, notice.request_id);
                }
            }
        });
    });

    let total = move || board.ingredient_requests.count.get() + board.dish_suggestions.count.get();
    view! {
        <section class="badges" aria-label="Pending items">
            <div class="badge" data-testid="badge-ingredients">
                <span class="count" aria-live="polite">{move || board.ingredient_requests.count.get()}</span>
                <span class="label">"Ingredient requests"</span>
            </div>
            <div class="badge" data-testid="badge-dishes">
                <span class="count" aria-live="polite">{move || board.dish_suggestions.count.get()}</span>
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
                <PendingList board cards=board.ingredient_requests.cards/>
            </section>
            <section class="queue" aria-labelledby="suggestions-heading">
                <h2 id="suggestions-heading">"Dish suggestions"</h2>
                <PendingList board cards=board.dish_suggestions.cards/>
            </section>
        </div>
    }
}

/// A column of pending cards, or a calm message when it is empty.
#[component]
fn PendingList(board: Board, cards: RwSignal<Vec<PendingCard>>) -> impl IntoView {
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
