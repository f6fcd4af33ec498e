//! The language and the theme, chosen per device and remembered in cookies, so the server
//! renders every page in them from the first byte (no flash of English or of a white page
//! on a dark wall screen). Without a choice the language follows the browser's
//! `Accept-Language` and the theme the system's (`prefers-color-scheme`, `prefers-contrast`).
//!
//! The server writes both onto `<html lang data-theme>`; the browser reads them back from
//! there when it hydrates, so both renders agree.
//!
//! The theme changes in place. The language switch stores the choice and reloads the page,
//! which the server then renders in it: texts are plain strings rather than reactive ones,
//! which keeps the WebAssembly small (see [`tr`]), and a language is switched rarely.

use super::i18n::Locale;
use leptos::prelude::*;

/// The cookies that remember the choices (readable by scripts: they hold no secret).
const LANGUAGE_COOKIE: &str = "miseos_lang";
const THEME_COOKIE: &str = "miseos_theme";

/// The colours of the interface.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Theme {
    /// The system's: light or dark, high contrast when asked for (see style/main.css).
    #[default]
    Automatic,
    Light,
    Dark,
    HighContrast,
}

impl Theme {
    pub const ALL: [Theme; 4] = [Theme::Automatic, Theme::Light, Theme::Dark, Theme::HighContrast];

    /// The cookie's and `data-theme`'s value.
    pub fn code(self) -> &'static str {
        match self {
            Theme::Automatic => "auto",
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::HighContrast => "contrast",
        }
    }

    pub fn from_code(code: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|theme| theme.code() == code)
    }

    /// Its name in the switch.
    pub fn label(self) -> &'static str {
        match self {
            Theme::Automatic => "Automatic",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
            Theme::HighContrast => "High contrast",
        }
    }
}

/// This device's choices, shared by every component as context.
#[derive(Clone, Copy)]
pub struct Preferences {
    /// Fixed for the life of the page: switching reloads it.
    pub locale: Locale,
    pub theme: RwSignal<Theme>,
}

impl Preferences {
    /// `english` in the page's language.
    pub fn t(self, english: &'static str) -> &'static str {
        self.locale.t(english)
    }

    /// The page's language.
    pub fn locale(self) -> Locale {
        self.locale
    }
}

/// The choices a request carries: its cookies, else its `Accept-Language`.
#[cfg_attr(not(feature = "ssr"), allow(dead_code, reason = "only the server reads request headers"))]
pub fn from_request(cookie_header: Option<&str>, accept_language: Option<&str>) -> (Locale, Theme) {
    let cookie = |name: &str| {
        cookie_header?.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then(|| value.trim().to_string())
        })
    };
    let locale = cookie(LANGUAGE_COOKIE)
        .and_then(|code| Locale::from_code(&code))
        .or_else(|| accept_language.and_then(Locale::from_accept_language))
        .unwrap_or_default();
    let theme = cookie(THEME_COOKIE).and_then(|code| Theme::from_code(&code)).unwrap_or_default();
    (locale, theme)
}

/// The choices of the page being rendered: on the server from the request, in the browser
/// from what the server wrote on `<html>`.
pub fn of_this_page() -> (Locale, Theme) {
    #[cfg(feature = "ssr")]
    {
        let Some(parts) = use_context::<http::request::Parts>() else { return Default::default() };
        // HTTP/2 clients may split cookies over several headers.
        let cookies = parts
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        let accept_language = parts.headers.get(http::header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
        from_request(Some(&cookies), accept_language)
    }
    #[cfg(not(feature = "ssr"))]
    {
        let Some(root) = web_sys::window().and_then(|window| window.document()).and_then(|d| d.document_element())
        else {
            return Default::default();
        };
        let locale = root.get_attribute("lang").and_then(|code| Locale::from_code(&code)).unwrap_or_default();
        let theme = root.get_attribute("data-theme").and_then(|code| Theme::from_code(&code)).unwrap_or_default();
        (locale, theme)
    }
}

/// Makes the choices context for the whole app; in the browser, a theme chosen is written to
/// `<html>` (where the CSS reads it) and remembered in its cookie for a year.
pub fn provide() {
    let (locale, theme) = of_this_page();
    let preferences = Preferences { locale, theme: RwSignal::new(theme) };
    provide_context(preferences);
    // Effects run only in the browser.
    Effect::new(move |_| {
        let theme = preferences.theme.get();
        if let Some(root) = web_sys::window().and_then(|window| window.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-theme", theme.code());
        }
        remember(THEME_COOKIE, theme.code());
    });
}

/// Stores a choice in its cookie for a year (browser only).
fn remember(name: &str, value: &str) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
    let cookie = format!("{name}={value}; Path=/; Max-Age=31536000; SameSite=Lax");
    // `document.cookie = …` (web-sys offers it only on HtmlDocument).
    let _ = js_sys::Reflect::set(&document, &"cookie".into(), &cookie.into());
}

/// Switches the language: remembers it and has the server render the page in it.
fn switch_language(to: Locale) {
    remember(LANGUAGE_COOKIE, to.code());
    if let Some(window) = web_sys::window() {
        // A failed reload leaves the page as it is; the next page comes in the new language.
        let _ = window.location().reload();
    }
}

/// `english` in the page's language: a plain string, since the language is fixed for the
/// life of a page.
///
/// Not a reactive text (a `move || …` closure per text, to switch in place): each closure is a
/// type of its own that the renderer is compiled for anew, which made the WebAssembly larger
/// (docs/PERFORMANCE.md, the kitchen floor's wasm budget).
pub fn tr(english: &'static str) -> &'static str {
    use_preferences().locale.t(english)
}

/// The choices of this page (the context [`provide`] made).
pub fn use_preferences() -> Preferences {
    use_context::<Preferences>()
        .unwrap_or_else(|| Preferences { locale: Locale::default(), theme: RwSignal::new(Theme::default()) })
}

/// The language switch and the theme picker, in the top bar and on the sign-in page.
#[component]
pub fn PreferenceControls() -> impl IntoView {
    let preferences = use_preferences();
    let on_theme = move |event: leptos::ev::Event| {
        if let Some(theme) = Theme::from_code(&event_target_value(&event)) {
            preferences.theme.set(theme);
        }
    };
    view! {
        <div class="preferences">
            // Offers the other language, named in itself ("Dansk" on an English page).
            <button type="button" class="secondary language"
                lang=preferences.locale.other().code()
                aria-label=format!("{}: {}", preferences.t("Language"), preferences.locale.other().own_name())
                on:click=move |_| switch_language(preferences.locale.other())
                data-testid="language-switch">
                {preferences.locale.other().own_name()}
            </button>
            <label class="visually-hidden" for="theme-choice">{tr("Theme")}</label>
            <select id="theme-choice" class="theme" on:change=on_theme data-testid="theme-choice">
                {Theme::ALL
                    .map(|theme| view! {
                        <option value=theme.code() selected=move || preferences.theme.get() == theme>
                            {tr(theme.label())}
                        </option>
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_choice_beats_the_browser_language() {
        assert_eq!(from_request(None, Some("da-DK,da;q=0.9")), (Locale::Da, Theme::Automatic));
        assert_eq!(
            from_request(Some("miseos_token=x; miseos_lang=en; miseos_theme=dark"), Some("da")),
            (Locale::En, Theme::Dark)
        );
        assert_eq!(from_request(Some("miseos_lang=xx; miseos_theme=neon"), Some("da")), (Locale::Da, Theme::Automatic));
        assert_eq!(from_request(None, None), (Locale::En, Theme::Automatic));
    }
}
