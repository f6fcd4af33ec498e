//! Toasts: short messages that announce themselves to screen readers, stay long enough to
//! read, wait while the pointer or the keyboard focus is on them, and can be dismissed.

use super::preferences::tr;
use leptos::prelude::*;
use std::collections::HashSet;

/// How long a toast stays unless dismissed (time while it is held, or while the page is
/// hidden, does not count: a phone in a pocket keeps its toasts for when it comes out).
const TOAST_MS: u32 = 15_000;
/// How often a toast's time is counted down.
const TICK_MS: u32 = 250;

/// Whether the news is good or bad.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Tone {
    Good,
    Bad,
}

#[derive(Clone, PartialEq, Debug)]
struct Toast {
    id: u64,
    tone: Tone,
    text: String,
}

/// The toasts on screen; cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct Toasts {
    shown: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
    /// Toasts under the pointer, and toasts holding the keyboard focus: their time stands
    /// still, so nobody loses a message while reading it or reaching for its button.
    hovered: StoredValue<HashSet<u64>>,
    focused: StoredValue<HashSet<u64>>,
}

impl Toasts {
    /// An empty stack.
    pub fn new() -> Self {
        Toasts {
            shown: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(0),
            hovered: StoredValue::new(HashSet::new()),
            focused: StoredValue::new(HashSet::new()),
        }
    }

    /// Shows `text` until it is dismissed or times out.
    pub fn show(self, tone: Tone, text: String) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.shown.update(|shown| shown.push(Toast { id, tone, text }));
        leptos::task::spawn_local(async move {
            let mut left = TOAST_MS;
            while left > 0 {
                gloo_timers::future::TimeoutFuture::new(TICK_MS).await;
                if !self.shown.with_untracked(|shown| shown.iter().any(|toast| toast.id == id)) {
                    return;
                }
                if !self.is_held(id) {
                    left = left.saturating_sub(TICK_MS);
                }
            }
            self.dismiss(id);
        });
    }

    /// How many are on screen (tracked).
    pub fn count(self) -> usize {
        self.shown.with(Vec::len)
    }

    fn is_held(self, id: u64) -> bool {
        let hidden = web_sys::window().and_then(|window| window.document()).is_some_and(|document| document.hidden());
        hidden
            || self.hovered.with_value(|held| held.contains(&id))
            || self.focused.with_value(|held| held.contains(&id))
    }

    fn hold(held: StoredValue<HashSet<u64>>, id: u64, on: bool) {
        held.update_value(|held| {
            if on {
                held.insert(id);
            } else {
                held.remove(&id);
            }
        });
    }

    fn dismiss(self, id: u64) {
        self.shown.update(|shown| shown.retain(|toast| toast.id != id));
        Toasts::hold(self.hovered, id, false);
        Toasts::hold(self.focused, id, false);
    }
}

/// Where toasts appear: a polite live region, so they are read out without stealing focus.
#[component]
pub fn ToastRegion(toasts: Toasts) -> impl IntoView {
    view! {
        <div class="toasts" role="status" aria-live="polite" aria-label=tr("Notifications")>
            <For each=move || toasts.shown.get() key=|toast| toast.id let:toast>
                <div
                    class=if toast.tone == Tone::Good { "toast good" } else { "toast bad" }
                    data-testid="toast"
                    on:mouseenter=move |_| Toasts::hold(toasts.hovered, toast.id, true)
                    on:mouseleave=move |_| Toasts::hold(toasts.hovered, toast.id, false)
                    on:focusin=move |_| Toasts::hold(toasts.focused, toast.id, true)
                    on:focusout=move |_| Toasts::hold(toasts.focused, toast.id, false)
                >
                    <p>{toast.text.clone()}</p>
                    <button type="button" class="dismiss" aria-label=tr("Dismiss") on:click=move |_| toasts.dismiss(toast.id)>
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
