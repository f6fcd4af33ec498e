//! The browser entry point: hydrates the page the server rendered. Everything else lives in `app`.
//!
//! The release build of this crate (profile `wasm-release`) computes the layout of the
//! hydration futures of the app's whole view tree (`IntoAny::into_any`'s `hydrate_async` of
//! the dashboard section), which takes rustc 130 queries deeper than its default limit of 128
//! allows: "queries overflow the depth limit". The debug build stays under it. 256 is the
//! limit rustc itself suggests; `scripts/test.sh` builds and tests the release site.
#![recursion_limit = "256"]

/// Called by the generated JavaScript once the wasm module has loaded.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
