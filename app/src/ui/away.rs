//! "While you were away": the decisions on a cook's items that no page of theirs heard live
//! (the phone was in a pocket, offline, or closed), shown once, together, after a new visit
//! or a reconnect, until the cook marks them seen. The Novu and Knock inboxes work the same way.
//!
//! The source of truth is the REST lists (each item's `reviewedAtMillis`), not a queue of
//! messages: the page keeps, per cook and device (`localStorage`), the instant up to which
//! decisions have been seen, and every decision after it that this page did not toast is news.
//! A device that has never seen a decision starts from one shift ago.

use super::{
    full_name,
    item::status_badge,
    preferences::{tr, use_preferences},
};
use crate::wire::{Category, Item, ItemDetails, ReviewNotice, ReviewStatus, UserId};
use leptos::prelude::*;
use std::collections::HashSet;

/// How far back a device that has never marked anything seen looks: one 12-hour shift.
const FIRST_VISIT_LOOKBACK_MS: i64 = 12 * 60 * 60 * 1000;

/// One decision on one of the cook's items.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    pub key: (Category, i64),
    pub title: String,
    pub status: ReviewStatus,
    pub reviewer: String,
    pub at: String,
    pub at_millis: i64,
    pub note: Option<String>,
}

impl Decided {
    /// `item`'s decision, if it has one.
    pub fn of<D: ItemDetails>(item: &Item<D>) -> Option<Decided> {
        Some(Decided {
            key: (D::CATEGORY, item.id),
            title: item.name().to_string(),
            status: item.status,
            reviewer: full_name(item.reviewed_by.as_ref()?),
            at: item.reviewed_at.clone()?,
            at_millis: item.reviewed_at_millis?,
            note: item.review_note.clone(),
        })
    }
}

/// The decisions that are news: made after `seen_until` and not heard live on this page,
/// newest first.
fn news(mut decided: Vec<Decided>, seen_until: i64, heard: &HashSet<(Category, i64)>) -> Vec<Decided> {
    decided.retain(|decision| decision.at_millis > seen_until && !heard.contains(&decision.key));
    decided.sort_by_key(|decision| std::cmp::Reverse(decision.at_millis));
    decided
}

/// The catch-up state of one cook's page.
#[derive(Clone, Copy)]
pub struct CatchUp {
    user_id: UserId,
    /// The summary on screen, empty once seen.
    pub decisions: RwSignal<Vec<Decided>>,
    /// Decisions this page toasted as they happened: never news again.
    heard: StoredValue<HashSet<(Category, i64)>>,
    /// The newest of them.
    newest_heard: StoredValue<i64>,
    /// Re-fetches of the lists still out (after a reconnect). While one is, a decision heard
    /// live does not move the mark: one missed while disconnected may be older and is not in
    /// the lists yet.
    refetching: StoredValue<u32>,
}

impl CatchUp {
    pub fn new(user_id: UserId) -> CatchUp {
        CatchUp {
            user_id,
            decisions: RwSignal::new(Vec::new()),
            heard: StoredValue::new(HashSet::new()),
            newest_heard: StoredValue::new(0),
            refetching: StoredValue::new(0),
        }
    }

    /// Looks through the cook's items (loaded or re-fetched) for news; with none, and no
    /// re-fetch out, what was heard live counts as seen. Browser only.
    pub fn review(self, decided: Vec<Decided>) {
        let seen_until = self.seen_until().unwrap_or_else(|| {
            let start = js_sys::Date::now() as i64 - FIRST_VISIT_LOOKBACK_MS;
            self.remember(start);
            start
        });
        let found = self.heard.with_value(|heard| news(decided, seen_until, heard));
        if found.is_empty() && self.refetching.get_value() == 0 {
            self.remember(seen_until.max(self.newest_heard.get_value()));
        }
        self.decisions.set(found);
    }

    /// A decision toasted live: never news on this page, and seen once the lists agree.
    pub fn heard_live(self, notice: &ReviewNotice) {
        self.heard.update_value(|heard| {
            heard.insert((notice.category, notice.request_id));
        });
        self.newest_heard.update_value(|newest| *newest = (*newest).max(notice.reviewed_at_millis));
    }

    /// A re-fetch of the lists went out, or came back.
    pub fn refetch_started(self) {
        self.refetching.update_value(|out| *out += 1);
    }

    pub fn refetch_done(self) {
        self.refetching.update_value(|out| *out = out.saturating_sub(1));
    }

    /// "Mark as seen": the summary goes, and does not come back, nor anything heard meanwhile.
    pub fn mark_seen(self) {
        let newest_shown = self.decisions.with_untracked(|shown| shown.iter().map(|decision| decision.at_millis).max());
        let newest = newest_shown.unwrap_or(0).max(self.newest_heard.get_value());
        self.remember(self.seen_until().unwrap_or(0).max(newest));
        self.decisions.set(Vec::new());
    }

    fn storage_key(self) -> String {
        format!("miseos.seen-decisions.{}", self.user_id)
    }

    fn seen_until(self) -> Option<i64> {
        storage()?.get_item(&self.storage_key()).ok()??.parse().ok()
    }

    fn remember(self, seen_until: i64) {
        if let Some(storage) = storage() {
            // A full or forbidden storage only means the summary may show again.
            let _ = storage.set_item(&self.storage_key(), &seen_until.to_string());
        }
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|window| window.local_storage().ok().flatten())
}

/// The summary, while it holds anything.
#[component]
pub fn AwayPanel(catch_up: CatchUp) -> impl IntoView {
    let preferences = use_preferences();
    view! {
        <Show when=move || catch_up.decisions.with(|shown| !shown.is_empty())>
            <section class="away panel" aria-labelledby="away-heading" data-testid="while-away">
                <h2 id="away-heading">{tr("While you were away")}</h2>
                <p>{move || preferences.locale().while_away_count(catch_up.decisions.with(Vec::len))}</p>
                <ul class="away-list">
                    <For each=move || catch_up.decisions.get() key=|decision| decision.key let:decision>
                        <li data-testid="away-decision">
                            <span class={status_badge(decision.status).1}>
                                {tr(status_badge(decision.status).0)}
                            </span>
                            " " <strong>{decision.title.clone()}</strong>
                            {
                                let (reviewer, at) = (decision.reviewer.clone(), decision.at.clone());
                                format!(" · {}", preferences.locale().reviewed_by(&reviewer, Some(&at)))
                            }
                            {decision.note.clone().map(|note| view! { <p class="note">{note}</p> })}
                        </li>
                    </For>
                </ul>
                <button type="button" on:click=move |_| catch_up.mark_seen() data-testid="mark-seen">
                    {tr("Mark as seen")}
                </button>
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(id: i64, at_millis: i64) -> Decided {
        Decided {
            key: (Category::IngredientRequest, id),
            title: format!("item {id}"),
            status: ReviewStatus::Approved,
            reviewer: "Gordon Ramsay".into(),
            at: "2026-03-27 10:15".into(),
            at_millis,
            note: None,
        }
    }

    #[test]
    fn news_is_what_came_after_the_mark_and_was_not_heard_live() {
        let heard = HashSet::from([(Category::IngredientRequest, 3)]);
        let found = news(vec![decided(1, 100), decided(2, 300), decided(3, 400), decided(4, 200)], 150, &heard);
        let ids: Vec<i64> = found.iter().map(|decision| decision.key.1).collect();
        assert_eq!(ids, vec![2, 4], "newest first; 1 was seen, 3 was toasted");
        assert!(news(vec![decided(1, 100)], 100, &HashSet::new()).is_empty(), "the mark itself is seen");
    }
}
