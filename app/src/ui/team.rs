//! `/team`: the head chef's brigade. Everyone in a table (name, email, role, active); add a
//! person (their temporary password is shown once, with a copy button); change a role;
//! disable or re-enable after a confirmation; reset a password.

use super::{
    preferences::{tr, use_preferences},
    TopBar,
};
use crate::{
    client,
    live::LinkState,
    wire::{NewUser, Role, User, UserChanges},
};
use leptos::prelude::*;

/// The page, for a head chef.
#[component]
pub fn TeamPage(user: User) -> impl IntoView {
    // The team page has no notification socket: the top bar shows no indicator for it.
    let link = RwSignal::new(LinkState::Connecting);
    let team = Resource::new(|| (), |()| super::data::team());
    view! {
        <TopBar user link live=false/>
        <main class="page team">
            <Suspense fallback=move || view! { <p class="empty">{tr("Loading…")}</p> }>
                {move || {
                    team.get()
                        .map(|loaded| match loaded {
                            Ok(users) => view! { <Brigade users/> }.into_any(),
                            Err(message) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                        })
                }}
            </Suspense>
        </main>
    }
}

/// A temporary password to show once, and whose it is.
#[derive(Clone, Debug, PartialEq)]
struct Revealed {
    who: String,
    password: String,
}

#[component]
fn Brigade(users: Vec<User>) -> impl IntoView {
    let users = RwSignal::new(users);
    let revealed = RwSignal::new(None::<Revealed>);
    let error = RwSignal::new(None::<String>);
    let replace = move |changed: User| {
        users.update(|users| {
            if let Some(slot) = users.iter_mut().find(|user| user.id == changed.id) {
                *slot = changed;
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="team-heading">
            <h1 id="team-heading">{tr("Team")}</h1>
            <p class="form-error" role="alert">{move || error.get()}</p>
            <TemporaryPasswordPanel revealed/>
            <div class="table-scroll">
                <table class="team-table">
                    <thead>
                        <tr>
                            <th scope="col">{tr("Name")}</th>
                            <th scope="col">{tr("Email")}</th>
                            <th scope="col">{tr("Role")}</th>
                            <th scope="col">{tr("Active")}</th>
                            <th scope="col"><span class="visually-hidden">{tr("Actions")}</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || users.get() key=|user| (user.id, user.role, user.active, user.first_name.clone()) let:member>
                            <MemberRow member error revealed on_change=replace/>
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
        <AddPerson users revealed/>
    }
}

/// One person: their role can be changed in place; disable/enable and reset ask first.
#[component]
fn MemberRow(
    member: User,
    error: RwSignal<Option<String>>,
    revealed: RwSignal<Option<Revealed>>,
    on_change: impl Fn(User) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let interactive = super::interactive();
    let preferences = use_preferences();
    let locale = move || preferences.locale;
    let id = member.id;
    let name = format!("{} {}", member.first_name, member.last_name);
    let active = member.active;
    let change = move |changes: UserChanges| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match client::update_user(id, &changes).await {
                Ok(changed) => on_change(changed),
                Err(failure) => error.set(Some(locale().error(&failure))),
            }
        });
    };
    let toggle_name = name.clone();
    let on_toggle = move |_| {
        let question =
            if active { locale().confirm_disable(&toggle_name) } else { locale().confirm_enable(&toggle_name) };
        if confirm(&question) {
            change(UserChanges { active: Some(!active), ..UserChanges::default() });
        }
    };
    let reset_name = name.clone();
    let on_reset = move |_| {
        if !confirm(&locale().confirm_reset(&reset_name)) {
            return;
        }
        error.set(None);
        let who = reset_name.clone();
        leptos::task::spawn_local(async move {
            match client::reset_password(id).await {
                Ok(answer) => revealed.set(Some(Revealed { who, password: answer.temporary_password })),
                Err(failure) => error.set(Some(locale().error(&failure))),
            }
        });
    };
    let on_role = move |event: leptos::ev::Event| {
        if let Some(role) = Role::parse(&event_target_value(&event)) {
            change(UserChanges { role: Some(role), ..UserChanges::default() });
        }
    };
    let role_name = name.clone();
    let role_label = preferences.locale().role_of(&role_name);
    view! {
        <tr class:inactive=!active data-testid="team-member">
            <td>{name.clone()}</td>
            <td>{member.email.clone()}</td>
            <td>
                <select aria-label=role_label on:change=on_role disabled=move || !interactive.get()>
                    {Role::ALL
                        .map(|role| view! {
                            <option value=role.as_str() selected=role == member.role>{preferences.locale().role(role)}</option>
                        })
                        .collect_view()}
                </select>
            </td>
            <td>{if active { tr("Yes") } else { tr("No") }}</td>
            <td class="actions">
                <button type="button" class="secondary" disabled=move || !interactive.get() on:click=on_toggle>
                    {if active { tr("Disable") } else { tr("Enable") }}
                </button>
                <button type="button" class="secondary" disabled=move || !interactive.get() on:click=on_reset>
                    {tr("Reset password")}
                </button>
            </td>
        </tr>
    }
}

/// The temporary password just made, with a copy button, until dismissed.
#[component]
fn TemporaryPasswordPanel(revealed: RwSignal<Option<Revealed>>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let preferences = use_preferences();
    view! {
        <Show when=move || revealed.with(Option::is_some)>
            <div class="revealed" role="status">
                <p>
                    {move || revealed.get().map(|shown| preferences.locale().temporary_password_for(&shown.who))}
                </p>
                <p><code data-testid="temporary-password">{move || revealed.get().map(|shown| shown.password)}</code></p>
                <button type="button" on:click=move |_| {
                    if let Some(shown) = revealed.get_untracked() {
                        copy_to_clipboard(&shown.password);
                        copied.set(true);
                    }
                }>{move || if copied.get() { preferences.t("Copied") } else { preferences.t("Copy") }}</button>
                " "
                <button type="button" class="secondary" on:click=move |_| {
                    copied.set(false);
                    revealed.set(None);
                }>{tr("Done")}</button>
            </div>
        </Show>
    }
}

/// Add a person: names, email, role.
#[component]
fn AddPerson(users: RwSignal<Vec<User>>, revealed: RwSignal<Option<Revealed>>) -> impl IntoView {
    let first_name = RwSignal::new(String::new());
    let last_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::LineCook.as_str().to_string());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let interactive = super::interactive();
    let preferences = use_preferences();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(chosen_role) = Role::parse(&role.get_untracked()) else { return };
        let new = NewUser {
            first_name: first_name.get_untracked(),
            last_name: last_name.get_untracked(),
            email: email.get_untracked(),
            role: chosen_role,
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match client::create_user(&new).await {
                Ok(created) => {
                    let who = format!("{} {}", created.user.first_name, created.user.last_name);
                    users.update(|users| users.push(created.user));
                    revealed.set(Some(Revealed { who, password: created.temporary_password }));
                    first_name.set(String::new());
                    last_name.set(String::new());
                    email.set(String::new());
                }
                Err(failure) => error.set(Some(preferences.locale.error(&failure))),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="panel" on:submit=on_submit novalidate aria-labelledby="add-heading">
            <h2 id="add-heading">{tr("Add a person")}</h2>
            <fieldset class="controls" disabled=move || !interactive.get()>
                <div class="row">
                    <div>
                        <label for="new-first-name">{tr("First name")}</label>
                        <input id="new-first-name" type="text" autocomplete="off" bind:value=first_name/>
                    </div>
                    <div>
                        <label for="new-last-name">{tr("Last name")}</label>
                        <input id="new-last-name" type="text" autocomplete="off" bind:value=last_name/>
                    </div>
                </div>
                <label for="new-email">{tr("Email")}</label>
                <input id="new-email" type="email" autocomplete="off" bind:value=email/>
                <label for="new-role">{tr("Role")}</label>
                <select id="new-role" bind:value=role>
                    {Role::ALL
                        .map(|role| view! { <option value=role.as_str()>{preferences.locale().role(role)}</option> })
                        .collect_view()}
                </select>
                <p class="form-error" role="alert">{move || error.get()}</p>
                <button type="submit" disabled=move || busy.get()>{tr("Add")}</button>
            </fieldset>
        </form>
    }
}

/// Asks the browser's confirmation dialog; false when there is no window.
fn confirm(question: &str) -> bool {
    web_sys::window().and_then(|window| window.confirm_with_message(question).ok()).unwrap_or(false)
}

/// Puts `text` on the clipboard (a promise the page does not wait for).
fn copy_to_clipboard(text: &str) {
    if let Some(window) = web_sys::window() {
        // A refused clipboard leaves the password on screen to copy by hand.
        let _ = window.navigator().clipboard().write_text(text);
    }
}
