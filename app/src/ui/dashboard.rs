//! The head chef's dashboard: live badges, the pending items with approve/reject.
//!
//! Counts come from the snapshot rendered by the server, then only from PENDING_COUNT_UPDATED
//! messages newer (by `seq`) than what was applied. A new item's card is made from its
//! announcement (which carries the whole item) and highlighted; a card goes the moment any
//! chef reviews it (ITEM_REVIEWED); a card nobody reviewed in time is marked when it is
//! escalated (ITEM_ESCALATED, with a toast and the wall screen's alarm); after a reconnect
//! everything is fetched again. A chef's own item's decision arrives as a toast, as on a
//! cook's page.

use super::{
    badge::CountBadge,
    data, full_name,
    i18n::Locale,
    item::Shown,
    kitchen_updater,
    preferences::{tr, use_preferences},
    signed_in_page,
    toasts::{ToastRegion, Toasts, Tone},
    wall::WallScreen,
};
use crate::{
    client,
    live::{self, LinkState, SeqGate},
    wire::{
        AnyItem, BulkReview, Category, Decision, DishSuggestion, IngredientRequest, Item, ItemRef, NewItemNotice,
        Notification, Quantity, User,
    },
};
use leptos::prelude::*;
use std::collections::{HashMap, HashSet};

/// How long a newly announced item stays highlighted.
const HIGHLIGHT_MS: u32 = 6_000;
/// How long the dashboard waits before re-fetching a list whose length disagrees with its
/// count (another chef reviewed an item, or an announcement was missed).
const RECONCILE_AFTER_MS: u32 = 1_000;

/// The dashboard page; `thresholds` are its kitchen's waiting colours as the page opens.
#[component]
pub fn Dashboard(user: User, thresholds: data::WaitingThresholds) -> impl IntoView {
    let link = RwSignal::new(LinkState::Connecting);
    let initial = Resource::new(|| (), |()| data::dashboard());
    signed_in_page(user, link, "page dashboard", initial, move |data| {
        view! { <LiveDashboard data thresholds link/> }.into_any()
    })
}

/// One pending item as the dashboard shows it, whichever its kind.
#[derive(Clone, PartialEq)]
struct PendingCard {
    category: Category,
    id: i64,
    title: String,
    amount: Option<(Quantity, String)>,
    note: Option<String>,
    requested_by: String,
    created_at: String,
    created_at_millis: i64,
    /// Whether it was escalated before this page read it.
    escalated: bool,
}

impl<D: Shown> From<&Item<D>> for PendingCard {
    fn from(item: &Item<D>) -> Self {
        PendingCard {
            category: D::CATEGORY,
            id: item.id,
            title: item.name().to_string(),
            amount: item.details.amount(),
            note: item.details.note(),
            requested_by: full_name(&item.requested_by),
            created_at: item.created_at.clone(),
            created_at_millis: item.created_at_millis,
            escalated: item.escalated_at_millis.is_some(),
        }
    }
}

impl From<&AnyItem> for PendingCard {
    fn from(item: &AnyItem) -> Self {
        match item {
            AnyItem::IngredientRequest(item) => PendingCard::from(item),
            AnyItem::DishSuggestion(item) => PendingCard::from(item),
        }
    }
}

/// How often the waiting times move on.
const WAITING_TICK_MS: u32 = 15_000;

/// How long an item created at `created_at_millis` has waited at `now_millis`, as the card
/// says it and the colour it gets (amber and red from the kitchen's thresholds, as Toast KDS
/// colours tickets by age): `None` when the time is not known yet (the server's render,
/// before the browser's clock takes over).
fn waiting(
    locale: Locale,
    thresholds: data::WaitingThresholds,
    created_at_millis: i64,
    now_millis: i64,
) -> Option<(String, &'static str)> {
    if created_at_millis <= 0 || now_millis <= 0 {
        return None;
    }
    // A browser clock behind the server's says "under a minute", never a negative time.
    let minutes = (now_millis - created_at_millis).max(0) / 60_000;
    let level = match minutes {
        minutes if minutes >= thresholds.red_minutes => "waiting red",
        minutes if minutes >= thresholds.amber_minutes => "waiting amber",
        _ => "waiting",
    };
    Some((locale.waiting(minutes), level))
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
    /// The cards chosen for one decision together (the bulk bar).
    selected: RwSignal<HashSet<(Category, i64)>>,
    /// The cards escalated while this page was open (ITEM_ESCALATED).
    escalated: RwSignal<HashSet<(Category, i64)>>,
    /// Why a card of a bulk review was not reviewed, shown on the card.
    failures: RwSignal<HashMap<(Category, i64), String>>,
    notice: RwSignal<Option<String>>,
    /// The browser's clock in Unix ms, moved on every few seconds; 0 until the page is
    /// hydrated, so the server's render and the browser's first one agree.
    now_millis: RwSignal<i64>,
    /// When a card's waiting time turns amber and red (the kitchen's settings, changed live).
    thresholds: RwSignal<data::WaitingThresholds>,
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
        self.selected.update(|selected| {
            selected.remove(&(category, id));
        });
        self.failures.update(|failures| {
            failures.remove(&(category, id));
        });
        self.escalated.update(|escalated| {
            escalated.remove(&(category, id));
        });
    }

    fn select(self, category: Category, id: i64, on: bool) {
        self.selected.update(|selected| {
            if on {
                selected.insert((category, id));
            } else {
                selected.remove(&(category, id));
            }
        });
    }

    /// The selected cards, in the order the board shows them.
    fn selected_in_order(self) -> Vec<ItemRef> {
        let selected = self.selected.get_untracked();
        Category::ALL
            .into_iter()
            .flat_map(|category| self.column(category).cards.get_untracked())
            .filter(|card| selected.contains(&(card.category, card.id)))
            .map(|card| ItemRef { category: card.category, id: card.id })
            .collect()
    }

    /// Reviews every selected card with one decision and one note: the reviewed cards go, the
    /// others stay with the reason on them.
    /// The note is cleared once the decision is made (kept if the call failed as a whole).
    fn review_selected(self, decision: Decision, note: RwSignal<String>, busy: RwSignal<bool>, locale: Locale) {
        let items = self.selected_in_order();
        if items.is_empty() {
            return;
        }
        busy.set(true);
        let note_text = Some(note.get_untracked()).filter(|text| !text.trim().is_empty());
        let body = BulkReview { decision: decision.status(), note: note_text, items };
        leptos::task::spawn_local(async move {
            match client::review_many(&body).await {
                Ok(answer) => {
                    note.set(String::new());
                    let mut not_reviewed = 0;
                    for result in &answer.results {
                        if result.status == 200 {
                            self.remove(result.category, result.id);
                            continue;
                        }
                        not_reviewed += 1;
                        let failure = client::CallError {
                            status: result.status,
                            code: match result.status {
                                404 => "not_found",
                                409 => "already_reviewed",
                                _ => "unavailable",
                            }
                            .into(),
                            ..client::CallError::default()
                        };
                        self.select(result.category, result.id, false);
                        self.failures.update(|failures| {
                            failures.insert((result.category, result.id), locale.error(&failure));
                        });
                    }
                    let reviewed = answer.results.len() - not_reviewed;
                    self.notice.set((not_reviewed > 0).then(|| locale.bulk_outcome(reviewed, not_reviewed)));
                }
                Err(failure) => self.notice.set(Some(locale.error(&failure))),
            }
            busy.set(false);
        });
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

    /// Fetches one category's pending list again; a selection or a mark of a card that is no
    /// longer pending goes with it.
    fn refetch(self, category: Category) {
        leptos::task::spawn_local(async move {
            if let Ok(cards) = fetch_pending(category).await {
                let pending: HashSet<i64> = cards.iter().map(|card| card.id).collect();
                let still = |(kind, id): &(Category, i64)| *kind != category || pending.contains(id);
                self.selected.update(|selected| selected.retain(still));
                self.failures.update(|failures| failures.retain(|key, _| still(key)));
                self.escalated.update(|escalated| escalated.retain(still));
                self.column(category).cards.set(cards);
            }
        });
    }

    /// Puts an announced item on top, highlighted: made from the announcement, or fetched
    /// when it came from an older server without the item.
    fn add_announced(self, notice: &NewItemNotice) {
        let (category, id) = (notice.category, notice.request_id);
        let add = move |card: PendingCard| {
            self.column(category).cards.update(|cards| {
                if !cards.iter().any(|known| known.id == id) {
                    cards.insert(0, card);
                }
            });
            self.highlight(category, id);
        };
        match &notice.item {
            Some(item) => add(PendingCard::from(item.as_ref())),
            None => leptos::task::spawn_local(async move {
                if let Ok(card) = fetch_card(category, id).await {
                    add(card);
                }
            }),
        }
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
fn LiveDashboard(
    data: data::DashboardData,
    thresholds: data::WaitingThresholds,
    link: RwSignal<LinkState>,
) -> impl IntoView {
    let board = Board {
        ingredient_requests: Column::new(data.snapshot.pending_ingredient_requests, &data.ingredient_requests),
        dish_suggestions: Column::new(data.snapshot.pending_dish_suggestions, &data.dish_suggestions),
        fresh: RwSignal::new(HashSet::new()),
        selected: RwSignal::new(HashSet::new()),
        failures: RwSignal::new(HashMap::new()),
        escalated: RwSignal::new(HashSet::new()),
        notice: RwSignal::new(None),
        now_millis: RwSignal::new(0),
        thresholds: RwSignal::new(thresholds),
    };
    let preferences = use_preferences();
    let toasts = Toasts::new();
    let apply_kitchen = kitchen_updater();
    let mut gate = SeqGate::default();
    for category in Category::ALL {
        gate.admit(category, data.snapshot.seq);
    }
    let gate = StoredValue::new(gate);
    // The database this page's `seq` belongs to. After a restore from a backup `seq` starts
    // over under a new epoch: the page forgets the `seq` it held (the welcome's counts and the
    // refetched lists then replace what it shows), instead of ignoring every update.
    let epoch = StoredValue::new(data.snapshot.epoch.clone());
    let wall = WallScreen::new();

    // Effects run only in the browser: the waiting times follow its clock.
    Effect::new(move |_| {
        wall.restore();
        let tick = move || board.now_millis.set(js_sys::Date::now() as i64);
        tick();
        leptos::task::spawn_local(async move {
            loop {
                gloo_timers::future::TimeoutFuture::new(WAITING_TICK_MS).await;
                tick();
            }
        });
    });

    // What a KITCHEN_UPDATED says, or the settings read again after a reconnect.
    let take_settings = move |kitchen: &crate::wire::KitchenSettings| {
        board.thresholds.set(kitchen.into());
        apply_kitchen(kitchen);
    };

    // Effects run only in the browser: this opens the socket once the page is hydrated.
    Effect::new(move |_| {
        // After a reconnect everything is read again, the kitchen's settings too (a change
        // made while the socket was down was told to nobody here).
        let refetch_both = move || {
            Category::ALL.into_iter().for_each(|category| board.refetch(category));
            leptos::task::spawn_local(async move {
                if let Ok(kitchen) = client::kitchen().await {
                    take_settings(&kitchen);
                }
            });
        };
        live::connect(link, refetch_both, move |message| match message {
            // An empty epoch is an older server's, which names none.
            Notification::Connected { epoch: welcome_epoch, .. } => {
                if !welcome_epoch.is_empty() && epoch.with_value(|known| *known != welcome_epoch) {
                    epoch.set_value(welcome_epoch);
                    gate.set_value(SeqGate::default());
                    refetch_both();
                }
            }
            Notification::PendingCountUpdated { category, count, seq, .. }
                if gate.try_update_value(|gate| gate.admit(category, seq)).unwrap_or(false) =>
            {
                board.column(category).count.set(count);
                board.reconcile_later(category);
            }
            Notification::ItemReviewed(notice) => board.remove(notice.category, notice.request_id),
            Notification::ItemEscalated(notice) => {
                board.escalated.update(|escalated| {
                    escalated.insert((notice.category, notice.request_id));
                });
                wall.alarm();
                toasts.show(Tone::Bad, preferences.locale.escalated(&notice.item_name, notice.waited_minutes));
            }
            Notification::KitchenUpdated { kitchen } => take_settings(&kitchen),
            other => {
                if let Some(notice) = other.as_new_item() {
                    board.add_announced(notice);
                    wall.announce();
                } else if let Some((decision, notice)) = other.as_review() {
                    // A decision on this chef's own item.
                    let tone = if decision == Decision::Approve { Tone::Good } else { Tone::Bad };
                    let text = preferences.locale.decision(
                        decision,
                        &full_name(&notice.reviewed_by),
                        &notice.item_name,
                        notice.note.as_deref(),
                    );
                    toasts.show(tone, text);
                }
            }
        });
    });

    let total = move || board.ingredient_requests.count.get() + board.dish_suggestions.count.get();
    // The tab or home-screen title and the favicon say how much is waiting: "(3) MiseOS Live".
    let count_badge = view! { <CountBadge count=Signal::derive(total)/> };
    let controls = view! {
        <div class="wall-controls">
            <button type="button" class="wall-toggle" aria-pressed=move || wall.on.get().to_string()
                on:click=move |_| wall.on.update(|on| *on = !*on)>{tr("Wall screen")}</button>
            {move || (wall.on.get() && !wall.sound.get()).then(|| view! {
                <button type="button" class="enable-sound" on:click=move |_| wall.enable_sound()>{tr("Enable sound")}</button>
            })}
        </div>
    }
    .into_any();
    let badges = view! {
        <section class="badges" aria-label=tr("Pending items")>
            <div class="badge" data-testid="badge-ingredients">
                <span class="count">{move || board.ingredient_requests.count.get()}</span>
                <span class="label">{tr("Ingredient requests")}</span>
            </div>
            <div class="badge" data-testid="badge-dishes">
                <span class="count">{move || board.dish_suggestions.count.get()}</span>
                <span class="label">{tr("Dish suggestions")}</span>
            </div>
            <div class="badge total" data-testid="badge-total">
                <span class="count">{total}</span>
                <span class="label">{tr("Total pending")}</span>
            </div>
        </section>
    }
    .into_any();
    view! {
        {count_badge}
        <ToastRegion toasts/>
        <div class="board" class:wall=move || wall.on.get() data-testid="board">
        {controls}
        {badges}
        // One announcement per change of the counts, not one per badge (the badges themselves
        // are not live regions).
        <p class="visually-hidden" role="status" aria-live="polite" data-testid="pending-announcement">
            {move || preferences.locale().pending_announcement(board.ingredient_requests.count.get(), board.dish_suggestions.count.get())}
        </p>
        <p class="notice" role="status" aria-live="polite">{move || board.notice.get()}</p>
        <BulkBar board/>
        <div class="columns">
            <section class="queue" aria-labelledby="requests-heading">
                <h2 id="requests-heading">{tr("Ingredient requests")}</h2>
                <PendingList board cards=board.ingredient_requests.cards/>
            </section>
            <section class="queue" aria-labelledby="suggestions-heading">
                <h2 id="suggestions-heading">{tr("Dish suggestions")}</h2>
                <PendingList board cards=board.dish_suggestions.cards/>
            </section>
        </div>
        </div>
    }
}

/// The selected cards' one decision and one note: shown while any card is selected.
#[component]
fn BulkBar(board: Board) -> impl IntoView {
    let preferences = use_preferences();
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let review = move |decision: Decision| board.review_selected(decision, note, busy, preferences.locale);
    view! {
        <Show when=move || board.selected.with(|selected| !selected.is_empty())>
            <section class="bulk-bar" aria-label=tr("Review the selected items") data-testid="bulk-bar">
                <p class="bulk-count" data-testid="bulk-count">{move || preferences.locale.selected(board.selected.with(HashSet::len))}</p>
                <label class="visually-hidden" for="bulk-note">{tr("Note for the selected items (optional)")}</label>
                <input id="bulk-note" type="text" class="review-note" placeholder=tr("Note for the selected items (optional)")
                    maxlength="500" bind:value=note/>
                <div class="actions">
                    <button type="button" class="approve" disabled=move || busy.get()
                        on:click=move |_| review(Decision::Approve)>{tr("Approve selected")}</button>
                    <button type="button" class="reject" disabled=move || busy.get()
                        on:click=move |_| review(Decision::Reject)>{tr("Reject selected")}</button>
                    <button type="button" class="clear" on:click=move |_| board.selected.set(HashSet::new())>
                        {tr("Clear selection")}
                    </button>
                </div>
            </section>
        </Show>
    }
}

/// A column of pending cards, or a calm message when it is empty.
#[component]
fn PendingList(board: Board, cards: RwSignal<Vec<PendingCard>>) -> impl IntoView {
    view! {
        <Show when=move || cards.with(|cards| !cards.is_empty()) fallback=move || view! { <p class="empty">{tr("Nothing waiting.")}</p> }>
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
    let preferences = use_preferences();
    let error = RwSignal::new(None::<client::CallError>);
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
                    board.notice.set(Some(preferences.locale.already_reviewed(&title)));
                }
                Err(failure) => {
                    error.set(Some(failure));
                    busy.set(false);
                }
            }
        });
    };
    let is_fresh = move || board.fresh.with(|fresh| fresh.contains(&(category, id)));
    let is_selected = move || board.selected.with(|selected| selected.contains(&(category, id)));
    let was_escalated = card.escalated;
    let is_escalated = move || was_escalated || board.escalated.with(|escalated| escalated.contains(&(category, id)));
    let failure = move || board.failures.with(|failures| failures.get(&(category, id)).cloned());
    let note_id = format!("note-{}-{id}", category.resource());
    let label = card.title.clone();
    view! {
        <li class="card" class:fresh=is_fresh class:selected=is_selected class:escalated=is_escalated data-testid="pending-card">
            <div class="card-head">
                <label class="select">
                    <input type="checkbox" data-testid="select-card" disabled=move || !interactive.get()
                        prop:checked=is_selected on:change=move |event| board.select(category, id, event_target_checked(&event))/>
                    <span>{tr("Select")}</span>
                    <span class="visually-hidden">{card.title.clone()}</span>
                </label>
                <h3 class="title">{card.title.clone()}</h3>
                {card.amount.clone().map(|(quantity, unit)| view! {
                    <span class="amount">{format!("{} {unit}", preferences.locale().quantity(quantity.0))}</span>
                })}
            </div>
            {card.note.clone().map(|note| view! { <p class="note">{note}</p> })}
            <p class="meta">
                {card.requested_by.clone()} " · " <time>{
                    preferences.locale().minute(&card.created_at)
                }</time>
                {move || {
                    waiting(preferences.locale(), board.thresholds.get(), card.created_at_millis, board.now_millis.get())
                        .map(|(label, level)| view! { " · " <span class=level data-testid="waiting">{label}</span> })
                }}
                {move || is_escalated().then(|| view! { " · " <strong class="escalated-mark" data-testid="escalated">{tr("Escalated")}</strong> })}
            </p>
            <fieldset class="controls" disabled=move || !interactive.get()>
                <label class="visually-hidden" for=note_id.clone()>{preferences.locale().note_for(&label)}</label>
                <input id=note_id type="text" class="review-note" placeholder=tr("Note (optional)") maxlength="500" bind:value=note/>
                <div class="actions">
                    <button type="button" class="approve" disabled=move || busy.get() on:click={
                        let review = review.clone();
                        move |_| review(Decision::Approve)
                    }>{tr("Approve")}</button>
                    <button type="button" class="reject" disabled=move || busy.get() on:click=move |_| review(Decision::Reject)>{tr("Reject")}</button>
                </div>
            </fieldset>
            <p class="form-error" role="alert" data-testid="card-failure">{move || {
                error.get().map(|failure| preferences.locale().error(&failure)).or_else(failure)
            }}</p>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::{data::WaitingThresholds, waiting, Locale};

    const MINUTE: i64 = 60_000;

    #[test]
    fn the_waiting_time_turns_amber_and_red_at_the_kitchens_thresholds() {
        let created = 1_774_606_500_000;
        let kitchen = WaitingThresholds { amber_minutes: 10, red_minutes: 20 };
        let at = |millis| waiting(Locale::En, kitchen, created, millis);
        assert_eq!(at(0), None, "no clock yet: nothing shown");
        assert_eq!(at(created + 59_999), Some(("waiting under a minute".into(), "waiting")));
        assert_eq!(at(created + 9 * MINUTE + 59_999), Some(("waiting 9 min".into(), "waiting")));
        assert_eq!(at(created + 10 * MINUTE), Some(("waiting 10 min".into(), "waiting amber")));
        assert_eq!(at(created + 20 * MINUTE), Some(("waiting 20 min".into(), "waiting red")));
        // A browser clock behind the server's says "under a minute", never a negative time.
        assert_eq!(at(created - 5 * MINUTE), Some(("waiting under a minute".into(), "waiting")));
        // Another kitchen's thresholds, and Danish.
        let quick = WaitingThresholds { amber_minutes: 3, red_minutes: 5 };
        assert_eq!(
            waiting(Locale::Da, quick, created, created + 4 * MINUTE),
            Some(("venter 4 min.".into(), "waiting amber"))
        );
        assert_eq!(
            waiting(Locale::Da, quick, created, created + 5 * MINUTE),
            Some(("venter 5 min.".into(), "waiting red"))
        );
    }
}
