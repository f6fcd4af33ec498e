//! Toasts: short messages that announce themselves to screen readers, stay long enough to
//! read, and can be dismissed.

use leptos::prelude::*;

/// How long a toast stays unless dismissed.
const TOAST_MS: u32 = 15_000;

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
}

impl Toasts {
    /// An empty stack.
    pub fn new() -> Self {
        Toasts { shown: RwSignal::new(Vec::new()), next_id: StoredValue::new(0) }
    }

    /// Shows `text` until it is dismissed or times out.
    pub fn show(self, tone: Tone, text: String) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.shown.update(|shown| shown.push(Toast { id, tone, text }));
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(TOAST_MS).await;
            self.dismiss(id);
        });
    }

    fn dismiss(self, id: u64) {
        self.shown.update(|shown| shown.retain(|toast| toast.id != id));
    }
}

/// Where toasts appear: a polite live region, so they are read out without stealing focus.
#[component]
pub fn ToastRegion(toasts: Toasts) -> impl IntoView {
    view! {
        <div class="toasts" role="status" aria-live="polite" aria-label="Notifications">
            <For each=move || toasts.shown.get() key=|toast| toast.id let:toast>
                <div class=if toast.tone == Tone::Good { "toast good" } else { "toast bad" } data-testid="toast">
                    <p>{toast.text.clone()}</p>
                    <button type="button" class="dismiss" aria-label="Dismiss" on:click=move |_| toasts.dismiss(toast.id)>
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
