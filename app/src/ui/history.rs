//! `/history`: what was decided. Head and sous chefs see today's decided items (who decided,
//! when, the note), filtered by status, kind and person; a cook sees every item of their own
//! with its outcome. Lists come from the REST API a page at a time (`limit` and `before`), so
//! nothing is silently cut off: "Load more" goes on until the server has no more.
//!
//! The two kinds are paged separately (each has its own ids) and merged by creation time; a
//! row is shown only once both kinds have been read back that far, so a page boundary never
//! shows an older item above a newer one that is still to come.

use super::{
    full_name,
    item::{status_badge, Shown},
    preferences::{tr, use_preferences},
    TopBar,
};
use crate::{
    client,
    live::LinkState,
    wire::{Category, DishSuggestion, IngredientRequest, Item, Quantity, ReviewStatus, User, UserId},
};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// Items fetched per kind and page.
const PAGE_SIZE: usize = 25;

/// One item as the history shows it, whichever its kind.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: (Category, i64),
    title: String,
    amount: Option<(Quantity, String)>,
    status: ReviewStatus,
    requested_by: (UserId, String),
    reviewed_by: Option<(UserId, String)>,
    reviewed_at: Option<String>,
    review_note: Option<String>,
    created_at: String,
    created_at_millis: i64,
}

impl<D: Shown> From<Item<D>> for Row {
    fn from(item: Item<D>) -> Row {
        Row {
            key: (D::CATEGORY, item.id),
            amount: item.details.amount(),
            title: item.name().to_string(),
            requested_by: (item.requested_by.id, full_name(&item.requested_by)),
            reviewed_by: item.reviewed_by.as_ref().map(|person| (person.id, full_name(person))),
            status: item.status,
            reviewed_at: item.reviewed_at,
            review_note: item.review_note,
            created_at: item.created_at,
            created_at_millis: item.created_at_millis,
        }
    }
}

/// How far one kind has been read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Cursor {
    /// The id the next page starts before; `None` before the first page.
    before: Option<i64>,
    /// The oldest creation instant read so far.
    oldest_millis: Option<i64>,
    /// The server has no more.
    done: bool,
}

/// The rows that can be shown in order: all of them once every kind is read to the end, else
/// those no older than the oldest row read of any kind that may still have more.
fn showable(rows: &[Row], cursors: &[(Category, Cursor)]) -> Vec<Row> {
    let frontier = cursors
        .iter()
        .filter(|(_, cursor)| !cursor.done)
        .map(|(_, cursor)| cursor.oldest_millis.unwrap_or(i64::MAX))
        .max();
    let mut shown: Vec<Row> =
        rows.iter().filter(|row| frontier.is_none_or(|frontier| row.created_at_millis >= frontier)).cloned().collect();
    shown.sort_by(|a, b| b.created_at_millis.cmp(&a.created_at_millis).then(b.key.1.cmp(&a.key.1)));
    shown
}

/// The filters, as the list calls' query string: chefs look at today's decisions.
#[derive(Clone, Debug, PartialEq)]
struct Filters {
    status: Option<ReviewStatus>,
    kind: Option<Category>,
    person: Option<UserId>,
    /// Only items decided since this instant (chefs: the start of today); `None` for cooks.
    decided_since: Option<i64>,
}

impl Filters {
    fn query(&self) -> String {
        let mut query = String::new();
        if let Some(status) = self.status {
            query.push_str(&format!("&status={}", status.as_str()));
        }
        if let Some(person) = self.person {
            query.push_str(&format!("&person={person}"));
        }
        if let Some(since) = self.decided_since {
            query.push_str(&format!("&reviewedSince={since}"));
        }
        query
    }

    fn kinds(&self) -> Vec<Category> {
        match self.kind {
            Some(kind) => vec![kind],
            None => Category::ALL.to_vec(),
        }
    }
}

/// The start of today on the browser's clock (a tablet in the kitchen keeps the kitchen's
/// time), in Unix milliseconds.
fn start_of_today() -> i64 {
    let today = js_sys::Date::new_0();
    today.set_hours(0);
    today.set_minutes(0);
    today.set_seconds(0);
    today.set_milliseconds(0);
    today.get_time() as i64
}

/// The page.
#[component]
pub fn HistoryPage(user: User) -> impl IntoView {
    let link = RwSignal::new(LinkState::Connecting);
    let is_chef = user.role.is_admin();
    let preferences = use_preferences();
    let initial = Filters { status: None, kind: None, person: None, decided_since: None };
    // Every kind still to read, from the first render on (so no page says "Everything is
    // shown." before it has read anything).
    let cursors = RwSignal::new(initial.kinds().into_iter().map(|kind| (kind, Cursor::default())).collect::<Vec<_>>());
    let filters = RwSignal::new(initial);
    let rows = RwSignal::new(Vec::<Row>::new());
    let error = RwSignal::new(None::<client::CallError>);
    let busy = RwSignal::new(true);
    // Everyone named by a loaded row, for the person filter (chefs only).
    let people = RwSignal::new(BTreeMap::<UserId, String>::new());
    // Answers to an older choice of filters are dropped.
    let generation = StoredValue::new(0u64);

    let load_more = move || {
        let wanted = filters.get_untracked();
        let query = wanted.query();
        let current = generation.get_value();
        busy.set(true);
        let pending: Vec<(Category, Option<i64>)> = cursors.with_untracked(|cursors| {
            cursors.iter().filter(|(_, cursor)| !cursor.done).map(|(kind, cursor)| (*kind, cursor.before)).collect()
        });
        leptos::task::spawn_local(async move {
            for (kind, before) in pending {
                let page: Result<Vec<Row>, client::CallError> = match kind {
                    Category::IngredientRequest => {
                        client::history_page::<IngredientRequest>(kind, &query, before, PAGE_SIZE)
                            .await
                            .map(|items| items.into_iter().map(Row::from).collect())
                    }
                    Category::DishSuggestion => client::history_page::<DishSuggestion>(kind, &query, before, PAGE_SIZE)
                        .await
                        .map(|items| items.into_iter().map(Row::from).collect()),
                };
                if generation.get_value() != current {
                    return;
                }
                match page {
                    Ok(page) => {
                        people.update(|people| {
                            for row in &page {
                                people.insert(row.requested_by.0, row.requested_by.1.clone());
                                if let Some((id, name)) = &row.reviewed_by {
                                    people.insert(*id, name.clone());
                                }
                            }
                        });
                        cursors.update(|cursors| {
                            if let Some((_, cursor)) = cursors.iter_mut().find(|(known, _)| *known == kind) {
                                cursor.done = page.len() < PAGE_SIZE;
                                if let Some(last) = page.last() {
                                    cursor.before = Some(last.key.1);
                                    cursor.oldest_millis = Some(last.created_at_millis);
                                }
                            }
                        });
                        rows.update(|rows| rows.extend(page));
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            }
            busy.set(false);
        });
    };

    // Effects run only in the browser: (re)load from the first page whenever a filter changes.
    Effect::new(move |_| {
        let wanted = filters.get();
        if is_chef && wanted.decided_since.is_none() {
            filters.set(Filters { decided_since: Some(start_of_today()), ..wanted });
            return;
        }
        generation.update_value(|generation| *generation += 1);
        error.set(None);
        rows.set(Vec::new());
        cursors.set(wanted.kinds().into_iter().map(|kind| (kind, Cursor::default())).collect());
        load_more();
    });

    let shown = Memo::new(move |_| rows.with(|rows| cursors.with(|cursors| showable(rows, cursors))));
    let has_more = move || cursors.with(|cursors| cursors.iter().any(|(_, cursor)| !cursor.done));
    let on_status = move |event: leptos::ev::Event| {
        let status = ReviewStatus::parse(&event_target_value(&event));
        filters.update(|filters| filters.status = status);
    };
    let on_kind = move |event: leptos::ev::Event| {
        let kind = Category::ALL.into_iter().find(|kind| kind.resource() == event_target_value(&event));
        filters.update(|filters| filters.kind = kind);
    };
    let on_person = move |event: leptos::ev::Event| {
        let person = event_target_value(&event).parse::<i64>().ok().map(UserId);
        filters.update(|filters| filters.person = person);
    };
    let statuses: &'static [ReviewStatus] = if is_chef {
        &[ReviewStatus::Approved, ReviewStatus::Rejected]
    } else {
        &[ReviewStatus::Pending, ReviewStatus::Approved, ReviewStatus::Rejected]
    };
    let filter_bar = view! {
        <div class="filters" role="group" aria-label=tr("History")>
            <div>
                <label for="history-status">{tr("Status")}</label>
                <select id="history-status" on:change=on_status data-testid="filter-status">
                    <option value="">{tr("All")}</option>
                    {statuses.iter().map(|&status| view! {
                        <option value=status.as_str()>{tr(status_badge(status).0)}</option>
                    }).collect_view()}
                </select>
            </div>
            <div>
                <label for="history-kind">{tr("Kind")}</label>
                <select id="history-kind" on:change=on_kind data-testid="filter-kind">
                    <option value="">{tr("All")}</option>
                    <option value=Category::IngredientRequest.resource()>{tr("Ingredient requests")}</option>
                    <option value=Category::DishSuggestion.resource()>{tr("Dish suggestions")}</option>
                </select>
            </div>
            {is_chef.then(|| view! {
                <div>
                    <label for="history-person">{tr("Person")}</label>
                    <select id="history-person" on:change=on_person data-testid="filter-person">
                        <option value="">{tr("Everyone")}</option>
                        {move || people.get().into_iter().map(|(id, name)| view! {
                            <option value=id.to_string() selected=move || filters.with(|filters| filters.person == Some(id))>{name}</option>
                        }).collect_view()}
                    </select>
                </div>
            })}
        </div>
    }
    .into_any();
    view! {
        <TopBar user link live=false/>
        <main class="page history">
            <h1>{if is_chef { tr("Decided today") } else { tr("All my items") }}</h1>
            {filter_bar}
            <p class="form-error" role="alert">{move || error.get().map(|failure| preferences.locale().error(&failure))}</p>
            <Show when=move || !shown.with(Vec::is_empty) || busy.get() fallback=move || view! { <p class="empty">{tr("Nothing here.")}</p> }>
                <ul class="cards" data-testid="history-list">
                    <For each=move || shown.get() key=|row| (row.key, row.status) let:row>
                        <HistoryRow row show_requester=is_chef/>
                    </For>
                </ul>
            </Show>
            <div class="more">
                <Show when=has_more fallback=move || view! { <p class="meta">{tr("Everything is shown.")}</p> }>
                    <button type="button" disabled=move || busy.get() on:click=move |_| load_more() data-testid="load-more">
                        {tr("Load more")}
                    </button>
                </Show>
            </div>
        </main>
    }
}

/// One item: what, how much, its outcome, who asked and who decided when, the note.
#[component]
fn HistoryRow(row: Row, show_requester: bool) -> impl IntoView {
    let preferences = use_preferences();
    let (status_text, status_class) = status_badge(row.status);
    let kind = match row.key.0 {
        Category::IngredientRequest => "Ingredient request",
        Category::DishSuggestion => "Dish suggestion",
    };
    let requester = row.requested_by.1.clone();
    let created_at = row.created_at.clone();
    let decided = row.reviewed_by.clone().map(|(_, name)| (name, row.reviewed_at.clone()));
    view! {
        <li class="card" data-testid="history-row">
            <div class="card-head">
                <h3 class="title">{row.title.clone()}</h3>
                {row.amount.clone().map(|(quantity, unit)| view! {
                    <span class="amount">{format!("{} {unit}", preferences.locale().quantity(quantity.0))}</span>
                })}
                <span class=status_class>{tr(status_text)}</span>
            </div>
            <p class="meta">
                {tr(kind)}
                {show_requester.then(|| format!(" · {requester}"))}
                " · " <time>{preferences.locale().minute(&created_at)}</time>
                {decided.as_ref().map(|(name, at)| format!(" · {}", preferences.locale().reviewed_by(name, at.as_deref())))}
            </p>
            {row.review_note.clone().map(|note| view! { <p class="note">{note}</p> })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{IngredientDetails, Person};

    fn row(category: Category, id: i64, created_at_millis: i64) -> Row {
        Row::from(IngredientRequest {
            id,
            details: IngredientDetails {
                item_name: format!("item {id}"),
                quantity: Quantity(1.0),
                unit: "kg".into(),
                note: None,
            },
            status: ReviewStatus::Approved,
            requested_by: Person { id: UserId(3), first_name: "Ali".into(), last_name: "Hassan".into() },
            created_at: String::new(),
            created_at_millis,
            reviewed_by: None,
            reviewed_at: None,
            reviewed_at_millis: None,
            review_note: None,
            escalated_at_millis: None,
        })
        .with_category(category)
    }

    impl Row {
        fn with_category(mut self, category: Category) -> Row {
            self.key.0 = category;
            self
        }
    }

    #[test]
    fn a_row_waits_until_the_other_kind_has_been_read_back_as_far() {
        // Requests read down to t=500 (more to come); suggestions down to t=300 and finished.
        let rows = vec![
            row(Category::IngredientRequest, 9, 900),
            row(Category::IngredientRequest, 8, 500),
            row(Category::DishSuggestion, 4, 700),
            row(Category::DishSuggestion, 3, 300),
        ];
        let requests_open = Cursor { before: Some(8), oldest_millis: Some(500), done: false };
        let suggestions_done = Cursor { before: Some(3), oldest_millis: Some(300), done: true };
        let shown = showable(
            &rows,
            &[(Category::IngredientRequest, requests_open), (Category::DishSuggestion, suggestions_done)],
        );
        let times: Vec<i64> = shown.iter().map(|row| row.created_at_millis).collect();
        assert_eq!(times, vec![900, 700, 500], "the suggestion at 300 waits for older requests");

        let requests_done = Cursor { done: true, ..requests_open };
        let shown = showable(
            &rows,
            &[(Category::IngredientRequest, requests_done), (Category::DishSuggestion, suggestions_done)],
        );
        assert_eq!(shown.len(), 4, "everything once both kinds are read to the end");
    }

    #[test]
    fn the_filters_become_the_list_query() {
        let filters = Filters {
            status: Some(ReviewStatus::Rejected),
            kind: None,
            person: Some(UserId(2)),
            decided_since: Some(1_000),
        };
        assert_eq!(filters.query(), "&status=REJECTED&person=2&reviewedSince=1000");
        assert_eq!(filters.kinds(), Category::ALL.to_vec());
    }
}
