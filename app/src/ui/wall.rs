//! Wall-screen mode for the dashboard at the pass: large type, a short chime on every new item
//! and a different, insistent one for an item escalated for waiting too long, the screen kept
//! awake. Switched per device and remembered there (`localStorage`). Sound
//! needs one tap ("Enable sound"): browsers start audio only after a gesture.
//!
//! Everything here runs in the browser only (from effects and event handlers); the server
//! renders the dashboard with the mode off, and the browser turns it on once hydrated.

use leptos::prelude::*;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};

/// Where the choice is remembered.
const STORAGE_KEY: &str = "miseos.wall-screen";
/// The chime of a new item: one soft A5, fading out.
const CHIME: &[Note] = &[Note { hz: 880.0, at: 0.0, seconds: 0.45 }];
/// The alarm of an escalated item: a falling E5–A4, twice, so that nobody at the pass takes it
/// for one more new item.
const ALARM: &[Note] = &[
    Note { hz: 659.3, at: 0.0, seconds: 0.22 },
    Note { hz: 440.0, at: 0.24, seconds: 0.3 },
    Note { hz: 659.3, at: 0.7, seconds: 0.22 },
    Note { hz: 440.0, at: 0.94, seconds: 0.3 },
];

/// One tone of a chime: its pitch, when it starts after the chime does, and how long it lasts.
struct Note {
    hz: f32,
    at: f64,
    seconds: f64,
}

thread_local! {
    /// The page's one audio context, made by the tap on "Enable sound".
    static AUDIO: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
    /// The screen wake lock while the mode is on (a `WakeLockSentinel`).
    static WAKE_LOCK: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// The wall screen's state on this device.
#[derive(Clone, Copy)]
pub struct WallScreen {
    pub on: RwSignal<bool>,
    pub sound: RwSignal<bool>,
}

impl WallScreen {
    /// Off until [`WallScreen::restore`] reads the device's choice.
    pub fn new() -> WallScreen {
        WallScreen { on: RwSignal::new(false), sound: RwSignal::new(false) }
    }

    /// Reads the remembered choice, and from then on keeps the screen awake while the mode is
    /// on (asking again whenever the page becomes visible: browsers drop the lock when it
    /// hides) and remembers every change.
    pub fn restore(self) {
        self.on
            .set(storage().and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten()).as_deref() == Some("on"));
        Effect::new(move |_| {
            let on = self.on.get();
            if let Some(storage) = storage() {
                // A full or forbidden storage only means the choice is not remembered.
                let _ = storage.set_item(STORAGE_KEY, if on { "on" } else { "off" });
            }
            keep_awake(on);
        });
        let on = self.on;
        crate::live::when_visible_again(move || {
            if on.get_untracked() {
                keep_awake(true);
            }
        });
    }

    /// The tap that allows sound: makes (or wakes) the audio context.
    pub fn enable_sound(self) {
        let ready = AUDIO.with(|audio| {
            let mut audio = audio.borrow_mut();
            if audio.is_none() {
                *audio = web_sys::AudioContext::new().ok();
            }
            audio.as_ref().map(|context| {
                // A context made before a gesture starts suspended; this is the gesture.
                let _ = context.resume();
            })
        });
        self.sound.set(ready.is_some());
    }

    /// Called for every new item: one chime, if the mode and sound are on.
    pub fn announce(self) {
        self.play(CHIME);
    }

    /// Called for every escalated item: the alarm, if the mode and sound are on.
    pub fn alarm(self) {
        self.play(ALARM);
    }

    fn play(self, notes: &[Note]) {
        if self.on.get_untracked() && self.sound.get_untracked() {
            AUDIO.with(|audio| {
                if let Some(context) = audio.borrow().as_ref() {
                    notes.iter().for_each(|note| play(context, note));
                }
            });
        }
    }
}

/// A short tone whose volume falls away; errors (an audio device gone) only cost the sound.
fn play(context: &web_sys::AudioContext, note: &Note) {
    let (Ok(tone), Ok(volume)) = (context.create_oscillator(), context.create_gain()) else { return };
    let start = context.current_time() + note.at;
    tone.frequency().set_value(note.hz);
    let _ = volume.gain().set_value_at_time(0.3, start);
    let _ = volume.gain().exponential_ramp_to_value_at_time(0.001, start + note.seconds);
    let _ = tone.connect_with_audio_node(&volume);
    let _ = volume.connect_with_audio_node(&context.destination());
    let _ = tone.start_with_when(start);
    let _ = tone.stop_with_when(start + note.seconds);
}

/// Asks for the screen wake lock (where the browser has one) or releases it.
fn keep_awake(on: bool) {
    if !on {
        if let Some(sentinel) = WAKE_LOCK.with(|lock| lock.borrow_mut().take()) {
            let _ = call_method(&sentinel, "release", &[]);
        }
        return;
    }
    leptos::task::spawn_local(async {
        let Some(navigator) = web_sys::window().map(|window| window.navigator()) else { return };
        let Ok(wake_lock) = js_sys::Reflect::get(&navigator, &JsValue::from_str("wakeLock")) else { return };
        if wake_lock.is_undefined() {
            return;
        }
        let Ok(promise) = call_method(&wake_lock, "request", &[JsValue::from_str("screen")]) else { return };
        let Ok(promise) = promise.dyn_into::<js_sys::Promise>() else { return };
        if let Ok(sentinel) = wasm_bindgen_futures::JsFuture::from(promise).await {
            WAKE_LOCK.with(|lock| *lock.borrow_mut() = Some(sentinel));
        }
    });
}

/// `target[name](...arguments)`, for browser APIs web-sys offers only as unstable.
fn call_method(target: &JsValue, name: &str, arguments: &[JsValue]) -> Result<JsValue, JsValue> {
    let method = js_sys::Reflect::get(target, &JsValue::from_str(name))?.dyn_into::<js_sys::Function>()?;
    method.apply(target, &arguments.iter().collect::<js_sys::Array>())
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|window| window.local_storage().ok().flatten())
}
