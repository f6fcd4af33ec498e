//! The count a page shows outside itself: in the tab or home-screen title ("(3) Noma · MiseOS Live")
//! and on the favicon, so a chef sees what waits from another tab and a cook sees news on a
//! phone's tab strip.

use leptos::prelude::*;
use leptos_meta::Title;

/// The app's name, the title when nothing waits.
const APP_NAME: &str = "MiseOS Live";
/// The plain icon (public/icon.svg), shown when the count is 0.
const PLAIN_ICON: &str = "/icon.svg";

/// "(3) Noma · MiseOS Live": the count (none for 0), the kitchen's name (if known), the app's.
pub fn title_for(count: i64, kitchen: &str) -> String {
    let named = if kitchen.is_empty() { APP_NAME.to_string() } else { format!("{kitchen} · {APP_NAME}") };
    if count > 0 {
        format!("({count}) {named}")
    } else {
        named
    }
}

/// The app's icon with a red badge holding `count` ("99+" beyond), as a `data:` URL (the
/// page's CSP allows `data:` images).
pub fn icon_with_count(count: i64) -> String {
    let shown = if count > 99 { "99+".to_string() } else { count.to_string() };
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'>\
         <rect width='100' height='100' rx='22' fill='%231f2a24'/>\
         <circle cx='50' cy='50' r='34' fill='%23f7f4ec'/><circle cx='50' cy='50' r='16' fill='%233e8e5e'/>\
         <circle cx='70' cy='30' r='30' fill='%23c0271b'/>\
         <text x='70' y='42' font-family='sans-serif' font-size='{size}' font-weight='700' fill='%23fff' \
         text-anchor='middle'>{shown}</text></svg>",
        size = if shown.len() > 2 { 22 } else { 34 },
    );
    format!("data:image/svg+xml,{}", svg.replace('<', "%3C").replace('>', "%3E").replace(' ', "%20"))
}

/// Keeps the title and the favicon in step with `count`.
#[component]
pub fn CountBadge(count: Signal<i64>) -> impl IntoView {
    // Effects run only in the browser; the server renders the title alone.
    Effect::new(move |_| {
        let count = count.get();
        let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
        if let Ok(Some(icon)) = document.query_selector("link[rel='icon']") {
            let href = if count > 0 { icon_with_count(count) } else { PLAIN_ICON.to_string() };
            let _ = icon.set_attribute("href", &href);
            let _ = icon.set_attribute("data-count", &count.to_string());
        }
    });
    let kitchen = super::kitchen_name();
    // `try_get`: leptos_meta may ask a title again while its page is being replaced.
    view! { <Title text=move || title_for(count.try_get().unwrap_or(0), &kitchen.try_get().unwrap_or_default())/> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_shows_in_the_title_and_on_the_icon() {
        assert_eq!(title_for(0, ""), "MiseOS Live");
        assert_eq!(title_for(3, ""), "(3) MiseOS Live");
        assert_eq!(title_for(3, "Noma"), "(3) Noma · MiseOS Live");
        assert_eq!(title_for(0, "Noma"), "Noma · MiseOS Live");
        let icon = icon_with_count(3);
        assert!(icon.starts_with("data:image/svg+xml,%3Csvg"), "{icon}");
        assert!(icon.contains("%3E3%3C/text%3E"), "{icon}");
        assert!(icon_with_count(150).contains("%3E99+%3C/text%3E"));
        assert!(!icon.contains(['<', '>', ' ', '#']), "the URL is escaped: {icon}");
    }
}
