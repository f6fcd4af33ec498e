//! Danish and English. The interface is written in English, and [`Locale::t`] gives the Danish
//! of each text from one table: a `match` compiled into the page, with no runtime, catalogue or
//! extra request to load (the wasm grows by the strings alone). Texts with numbers, names or
//! dates in them have a method each. A unit test reads the UI's sources and fails on any text
//! passed to `t` that the table lacks.

use crate::{
    client::CallError,
    wire::{Decision, Role},
};

/// A language of the interface.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Locale {
    #[default]
    En,
    Da,
}

impl Locale {
    /// The language's tag, as in `<html lang>` and the preference cookie.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Da => "da",
        }
    }

    /// A language tag we speak ("da", "da-DK", "en-GB"), else `None`.
    pub fn from_code(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "da" => Some(Locale::Da),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The first language we speak in an `Accept-Language` header, by quality.
    #[cfg_attr(not(feature = "ssr"), allow(dead_code, reason = "only the server reads request headers"))]
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut offered: Vec<(f32, usize, Locale)> = header
            .split(',')
            .enumerate()
            .filter_map(|(order, entry)| {
                let mut parts = entry.split(';');
                let locale = Locale::from_code(parts.next()?)?;
                let quality = parts
                    .find_map(|parameter| parameter.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |value| value.trim().parse::<f32>().ok())?;
                (quality > 0.0).then_some((quality, order, locale))
            })
            .collect();
        // Highest quality first; equal qualities keep the browser's order.
        offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        offered.first().map(|&(_, _, locale)| locale)
    }

    /// The other language, for the switch in the top bar.
    pub fn other(self) -> Locale {
        match self {
            Locale::En => Locale::Da,
            Locale::Da => Locale::En,
        }
    }

    /// The language's name in itself, as the switch offers it.
    pub fn own_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Da => "Dansk",
        }
    }

    /// `english` in this language.
    pub fn t(self, english: &'static str) -> &'static str {
        match self {
            Locale::En => english,
            Locale::Da => danish(english).unwrap_or(english),
        }
    }

    /// An amount as people write it here: "3.5" in English, "3,5" in Danish.
    pub fn quantity(self, amount: f64) -> String {
        let text = amount.to_string();
        match self {
            Locale::En => text,
            Locale::Da => text.replace('.', ","),
        }
    }

    /// The contract's `yyyy-MM-dd HH:mm` (already in the kitchen's time zone) as people read
    /// it: "27 Mar 2026, 10:15" or "27. mar. 2026 kl. 10.15". Anything else is shown as is.
    pub fn minute(self, stamp: &str) -> String {
        let parsed = (|| {
            let (date, time) = stamp.split_once(' ')?;
            let mut date = date.splitn(3, '-');
            let (year, month, day) = (date.next()?, date.next()?.parse::<usize>().ok()?, date.next()?);
            let (hour, minute) = time.split_once(':')?;
            let day = day.trim_start_matches('0');
            Some((year, (1..=12).contains(&month).then_some(month)?, day, hour, minute))
        })();
        let Some((year, month, day, hour, minute)) = parsed else { return stamp.to_string() };
        match self {
            Locale::En => {
                const MONTHS: [&str; 12] =
                    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
                format!("{day} {} {year}, {hour}:{minute}", MONTHS[month - 1])
            }
            Locale::Da => {
                const MONTHS: [&str; 12] =
                    ["jan.", "feb.", "mar.", "apr.", "maj", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec."];
                format!("{day}. {} {year} kl. {hour}.{minute}", MONTHS[month - 1])
            }
        }
    }

    /// A role as people say it.
    pub fn role(self, role: Role) -> &'static str {
        self.t(match role {
            Role::HeadChef => "Head chef",
            Role::SousChef => "Sous chef",
            Role::LineCook => "Line cook",
            Role::PrepCook => "Prep cook",
        })
    }

    /// "waiting 12 min" on a pending card.
    pub fn waiting(self, minutes: i64) -> String {
        match (self, minutes) {
            (Locale::En, 0) => "waiting under a minute".into(),
            (Locale::En, minutes) => format!("waiting {minutes} min"),
            (Locale::Da, 0) => "venter under et minut".into(),
            (Locale::Da, minutes) => format!("venter {minutes} min."),
        }
    }

    /// What a screen reader says when the counts change, in one sentence.
    pub fn pending_announcement(self, ingredient_requests: i64, dish_suggestions: i64) -> String {
        let total = ingredient_requests + dish_suggestions;
        match self {
            Locale::En => {
                let plural =
                    |count: i64, one: &str| if count == 1 { format!("1 {one}") } else { format!("{count} {one}s") };
                format!(
                    "{total} pending: {}, {}",
                    plural(ingredient_requests, "ingredient request"),
                    plural(dish_suggestions, "dish suggestion")
                )
            }
            Locale::Da => {
                let requests = if ingredient_requests == 1 { "varebestilling" } else { "varebestillinger" };
                // "retforslag" is the same in the singular and the plural.
                format!("{total} afventer: {ingredient_requests} {requests}, {dish_suggestions} retforslag")
            }
        }
    }

    /// The toast for a decision: who decided what, and their note.
    pub fn decision(self, decision: Decision, reviewer: &str, item: &str, note: Option<&str>) -> String {
        let mut text = match (self, decision) {
            (Locale::En, Decision::Approve) => format!("{reviewer} approved “{item}”."),
            (Locale::En, Decision::Reject) => format!("{reviewer} rejected “{item}”."),
            (Locale::Da, Decision::Approve) => format!("{reviewer} godkendte “{item}”."),
            (Locale::Da, Decision::Reject) => format!("{reviewer} afviste “{item}”."),
        };
        if let Some(note) = note {
            text.push_str(&format!(" {}: {note}", self.t("Note")));
        }
        text
    }

    /// "Reviewed by Gordon Ramsay, 27 Mar 2026, 10:15".
    pub fn reviewed_by(self, reviewer: &str, at: Option<&str>) -> String {
        let by = match self {
            Locale::En => format!("reviewed by {reviewer}"),
            Locale::Da => format!("behandlet af {reviewer}"),
        };
        match at {
            Some(at) => format!("{by}, {}", self.minute(at)),
            None => by,
        }
    }

    /// A note given with a decision, for a screen reader ("Note for Frisk Dild").
    pub fn note_for(self, item: &str) -> String {
        format!("{} {item}", self.t("Note for"))
    }

    /// The bulk bar's count of selected cards.
    pub fn selected(self, count: usize) -> String {
        match self {
            Locale::En if count == 1 => "1 selected".to_string(),
            Locale::En => format!("{count} selected"),
            Locale::Da => format!("{count} valgt"),
        }
    }

    /// What a bulk review did, when some items were not reviewed by it.
    pub fn bulk_outcome(self, reviewed: usize, not_reviewed: usize) -> String {
        match self {
            Locale::En => format!("{reviewed} reviewed; {not_reviewed} not: see the cards marked."),
            Locale::Da => format!("{reviewed} behandlet; {not_reviewed} ikke: se de markerede kort."),
        }
    }

    /// The dashboard's notice when another chef was quicker.
    /// The toast of an item escalated for waiting too long.
    pub fn escalated(self, item: &str, minutes: i64) -> String {
        match self {
            Locale::En => format!("“{item}” has waited {minutes} min and nobody has reviewed it."),
            Locale::Da => format!("“{item}” har ventet {minutes} min., og ingen har behandlet den."),
        }
    }

    pub fn already_reviewed(self, item: &str) -> String {
        match self {
            Locale::En => format!("“{item}” was already reviewed by someone else."),
            Locale::Da => format!("“{item}” er allerede behandlet af en anden."),
        }
    }

    /// The team page's questions and labels that name a person.
    pub fn confirm_disable(self, name: &str) -> String {
        match self {
            Locale::En => {
                format!("Disable {name}? They are signed out at once and cannot sign in until re-enabled.")
            }
            Locale::Da => format!(
                "Deaktivér {name}? Personen logges ud med det samme og kan ikke logge ind, før kontoen aktiveres igen."
            ),
        }
    }

    pub fn confirm_enable(self, name: &str) -> String {
        match self {
            Locale::En => format!("Enable {name} again?"),
            Locale::Da => format!("Aktivér {name} igen?"),
        }
    }

    pub fn confirm_reset(self, name: &str) -> String {
        match self {
            Locale::En => format!("Give {name} a new temporary password? They are signed out at once."),
            Locale::Da => format!("Giv {name} en ny midlertidig adgangskode? Personen logges ud med det samme."),
        }
    }

    pub fn role_of(self, name: &str) -> String {
        match self {
            Locale::En => format!("Role of {name}"),
            Locale::Da => format!("Rolle for {name}"),
        }
    }

    pub fn temporary_password_for(self, name: &str) -> String {
        match self {
            Locale::En => format!("Temporary password for {name}, shown only this once:"),
            Locale::Da => format!("Midlertidig adgangskode til {name}, vises kun denne ene gang:"),
        }
    }

    pub fn signed_in_as(self, email: &str) -> String {
        format!("{} {email}", self.t("Signed in as"))
    }

    /// A queued submission the server refused for good when it was finally sent.
    pub fn not_sent(self, name: &str, why: &str) -> String {
        match self {
            Locale::En => format!("“{name}” was not sent: {why}"),
            Locale::Da => format!("“{name}” blev ikke sendt: {why}"),
        }
    }

    /// The head of "while you were away": how many decisions it holds.
    pub fn while_away_count(self, decisions: usize) -> String {
        match (self, decisions) {
            (Locale::En, 1) => "1 decision on your items while you were away:".into(),
            (Locale::En, count) => format!("{count} decisions on your items while you were away:"),
            (Locale::Da, 1) => "1 afgørelse om dine bestillinger og forslag, mens du var væk:".into(),
            (Locale::Da, count) => format!("{count} afgørelser om dine bestillinger og forslag, mens du var væk:"),
        }
    }

    /// A failed call as a sentence for the user, from its error code and field: the server's
    /// own message is English and written for developers.
    pub fn error(self, failure: &CallError) -> String {
        if failure.status == 0 {
            return self.t("The server cannot be reached. Check the connection and try again.").into();
        }
        let wait = failure.retry_after.unwrap_or(60);
        match (self, failure.code.as_str()) {
            (Locale::En, "too_many_attempts") => return format!("Too many attempts. Try again in {wait} s."),
            (Locale::Da, "too_many_attempts") => return format!("For mange forsøg. Prøv igen om {wait} s."),
            (Locale::En, "too_many_requests") => {
                return format!("You have sent as much as the kitchen allows for now. Try again in {wait} s.")
            }
            (Locale::Da, "too_many_requests") => {
                return format!("Du har sendt så meget, som køkkenet tillader lige nu. Prøv igen om {wait} s.")
            }
            _ => {}
        }
        let english = match (failure.code.as_str(), failure.field.as_deref()) {
            ("invalid_field", Some("itemName")) => "Write the ingredient: one line of at most 100 characters.",
            ("invalid_field", Some("quantity")) => "The quantity must be a number above 0 and at most 100,000.",
            ("invalid_field", Some("unit")) => "Write the unit (kg, bunch, crate): one line of at most 20 characters.",
            ("invalid_field", Some("note")) => "A note can be at most 500 characters.",
            ("invalid_field", Some("name")) => "Write the dish's name: one line of at most 100 characters.",
            ("invalid_field", Some("description")) => "A description can be at most 2,000 characters.",
            ("invalid_field", Some("firstName")) => "Write a first name: one line of at most 60 characters.",
            ("invalid_field", Some("lastName")) => "Write a last name: one line of at most 60 characters.",
            ("invalid_field", Some("email")) => "Write an email address such as cook@kitchen.dk.",
            ("invalid_field", Some("currentPassword")) => "That is not your current password.",
            ("invalid_field", Some("newPassword")) => {
                "The new password must be 12 to 128 characters and not your email or an everyday word."
            }
            ("invalid_field" | "malformed_json", _) => "Something in the form is not right. Check it and try again.",
            ("bad_credentials", _) => "Wrong email or password.",
            ("account_disabled", _) => "Your account has been disabled. Ask your head chef.",
            ("password_change_required", _) => "Change your temporary password first.",
            ("already_reviewed", _) => "Someone has already reviewed this.",
            ("email_taken", _) => "Another person already has this email.",
            ("last_head_chef", _) => "The kitchen must keep at least one active head chef.",
            ("unauthorized", _) => "You are not signed in any more. Sign in again.",
            ("forbidden" | "forbidden_origin", _) => "You may not do this.",
            ("not_found", _) => "This no longer exists.",
            ("payload_too_large", _) => "That is too much text.",
            ("unavailable", _) => "MiseOS is busy or restarting. Try again in a moment.",
            _ => "Something went wrong. Try again.",
        };
        self.t(english).into()
    }
}

/// The Danish of every fixed text of the interface.
fn danish(english: &str) -> Option<&'static str> {
    Some(match english {
        // The frame: top bar, pages, preferences.
        "Page not found." => "Siden findes ikke.",
        "Loading…" => "Henter…",
        "Pages" => "Sider",
        "Team" => "Holdet",
        "History" => "Historik",
        "Password" => "Adgangskode",
        "Sign out" => "Log ud",
        "Language" => "Sprog",
        "Theme" => "Tema",
        "Automatic" => "Automatisk",
        "Light" => "Lyst",
        "Dark" => "Mørkt",
        "High contrast" => "Høj kontrast",
        "Connecting…" => "Forbinder…",
        "Live" => "Live",
        "Reconnecting…" => "Forbinder igen…",
        "Offline" => "Offline",
        "Disconnected" => "Afbrudt",
        "MiseOS was opened in another tab or device. This page no longer updates; reload it to use it here." => {
            "MiseOS blev åbnet i en anden fane eller på en anden enhed. Siden opdateres ikke længere; genindlæs den for at bruge den her."
        }
        "This account has too many MiseOS screens open, and this was the oldest. This page no longer updates; close some and reload it." => {
            "Kontoen har for mange MiseOS-skærme åbne, og denne var den ældste. Siden opdateres ikke længere; luk nogle og genindlæs den."
        }
        // The cook's page on bad Wi-Fi, presence and notifications.
        "No chef online: your request will wait." => "Ingen køkkenchef online: din bestilling venter.",
        "Queued" => "I kø",
        "Not sent yet: it goes as soon as the connection is back." => {
            "Ikke sendt endnu: den sendes, så snart forbindelsen er tilbage."
        }
        "On an iPhone or iPad, notifications work once MiseOS is on the Home Screen: tap Share, then Add to Home Screen, and open it from there." => {
            "På iPhone og iPad virker notifikationer, når MiseOS er på hjemmeskærmen: tryk på Del, så Føj til hjemmeskærm, og åbn den derfra."
        }
        "Notifications are blocked for MiseOS in this browser's settings." => {
            "Notifikationer fra MiseOS er blokeret i browserens indstillinger."
        }
        "Get the chefs' decisions on this device even when MiseOS is closed." => {
            "Få køkkenchefernes afgørelser på denne enhed, også når MiseOS er lukket."
        }
        "Turn on notifications" => "Slå notifikationer til",
        "Notifications are on for this device." => "Notifikationer er slået til på denne enhed.",
        "Turn off" => "Slå fra",
        "Notifications could not be turned on." => "Notifikationer kunne ikke slås til.",
        "Head chef" => "Køkkenchef",
        "Sous chef" => "Souschef",
        "Line cook" => "Kok",
        "Prep cook" => "Forberedelseskok",
        "Notifications" => "Beskeder",
        "Dismiss" => "Luk",
        // Sign-in and passwords.
        "Email" => "E-mail",
        "Sign in" => "Log ind",
        "Demo accounts" => "Demokonti",
        "Development only. Every password is " => "Kun til udvikling. Alle adgangskoder er ",
        "You were signed out." => "Du er logget ud.",
        "Your account has been disabled. Ask your head chef." => "Din konto er deaktiveret. Spørg din køkkenchef.",
        "You were signed out because your account changed (new role or password). Sign in again." => {
            "Du blev logget ud, fordi din konto blev ændret (ny rolle eller adgangskode). Log ind igen."
        }
        "Your session expired. Sign in again." => "Din session er udløbet. Log ind igen.",
        "Change password" => "Skift adgangskode",
        "You signed in with a temporary password. Choose your own to continue." => {
            "Du loggede ind med en midlertidig adgangskode. Vælg din egen for at fortsætte."
        }
        "Signed in as" => "Logget ind som",
        "Temporary password" => "Midlertidig adgangskode",
        "Current password" => "Nuværende adgangskode",
        "New password (12 to 128 characters)" => "Ny adgangskode (12 til 128 tegn)",
        "New password again" => "Ny adgangskode igen",
        "The two new passwords are not the same." => "De to nye adgangskoder er ikke ens.",
        "Back" => "Tilbage",
        // The team page.
        "Name" => "Navn",
        "Role" => "Rolle",
        "Active" => "Aktiv",
        "Actions" => "Handlinger",
        "Yes" => "Ja",
        "No" => "Nej",
        "Disable" => "Deaktivér",
        "Enable" => "Aktivér",
        "Reset password" => "Nulstil adgangskode",
        "Copy" => "Kopiér",
        "Copied" => "Kopieret",
        "Done" => "Færdig",
        "Add a person" => "Tilføj en person",
        "First name" => "Fornavn",
        "Last name" => "Efternavn",
        "Add" => "Tilføj",
        // The dashboard.
        "Wall screen" => "Vægskærm",
        "Enable sound" => "Slå lyd til",
        "Pending items" => "Afventende",
        "Ingredient requests" => "Varebestillinger",
        "Dish suggestions" => "Retforslag",
        "Total pending" => "Afventer i alt",
        "Nothing waiting." => "Intet venter.",
        "Note (optional)" => "Note (valgfri)",
        "Note for" => "Note til",
        "Approve" => "Godkend",
        "Reject" => "Afvis",
        "Select" => "Vælg",
        "Escalated" => "Eskaleret",
        // Webhooks.
        "Webhooks" => "Webhooks",
        "Send approvals and other changes to your purchasing system, signed, as they happen." => {
            "Send godkendelser og andre ændringer til jeres indkøbssystem, signeret, i samme øjeblik."
        }
        "The webhook's secret" => "Webhookens hemmelighed",
        "Copy it into the receiving system now: it is shown only this once." => {
            "Kopiér den til det modtagende system nu: den vises kun denne ene gang."
        }
        "No webhooks yet." => "Ingen webhooks endnu.",
        "Write the receiver's address: https:// and a public host." => {
            "Skriv modtagerens adresse: https:// og en offentlig vært."
        }
        "Choose at least one event." => "Vælg mindst én hændelse.",
        "The kitchen has 10 webhooks already: delete one first." => "Køkkenet har allerede 10 webhooks: slet en først.",
        "New items" => "Nye ønsker",
        "Test" => "Test",
        "Add a webhook" => "Tilføj en webhook",
        "Receiver's address (https://…)" => "Modtagerens adresse (https://…)",
        "Send" => "Send",
        "Add webhook" => "Tilføj webhook",
        "Test sent." => "Test sendt.",
        "Send a test" => "Send en test",
        "Refresh" => "Opdatér",
        "Delete" => "Slet",
        "Recent deliveries" => "Seneste leveringer",
        "Nothing sent yet." => "Intet sendt endnu.",
        "When" => "Hvornår",
        "Event" => "Hændelse",
        "Attempts" => "Forsøg",
        "Answer" => "Svar",
        "Delivered" => "Leveret",
        "Failed" => "Fejlet",
        "Trying" => "Prøver",
        // The kitchen's settings.
        "Settings" => "Indstillinger",
        "Menu" => "Menu",
        "Kitchen settings" => "Køkkenets indstillinger",
        "Kitchen name" => "Køkkenets navn",
        "Time zone (e.g. Europe/Copenhagen)" => "Tidszone (f.eks. Europe/Copenhagen)",
        "A waiting card turns amber after (minutes)" => "Et ventende kort bliver gult efter (minutter)",
        "…and red after (minutes)" => "…og rødt efter (minutter)",
        "Escalate a pending item after (minutes; 0: never)" => "Eskalér en ventende sag efter (minutter; 0: aldrig)",
        "Saved. Every open page of the kitchen follows." => "Gemt. Alle køkkenets åbne sider følger med.",
        "Save" => "Gem",
        "Write the kitchen's name: one line of at most 100 characters." => "Skriv køkkenets navn: én linje på højst 100 tegn.",
        "Write a time zone such as Europe/Copenhagen." => "Skriv en tidszone som Europe/Copenhagen.",
        "Amber: a whole number of minutes from 1 to 1440." => "Gul: et helt antal minutter fra 1 til 1440.",
        "Red: a whole number of minutes from the amber one to 1440." => "Rød: et helt antal minutter fra det gule til 1440.",
        "Escalation: a whole number of minutes from 0 (never) to 1440." => "Eskalering: et helt antal minutter fra 0 (aldrig) til 1440.",
        "Approve selected" => "Godkend valgte",
        "Reject selected" => "Afvis valgte",
        "Clear selection" => "Fravælg alle",
        "Note for the selected items (optional)" => "Note til de valgte (valgfri)",
        "Review the selected items" => "Behandl de valgte",
        // The cook's view.
        "Request an ingredient" => "Bestil en vare",
        "Send request" => "Send bestilling",
        "Ingredient" => "Vare",
        "Quantity" => "Mængde",
        "Unit" => "Enhed",
        "kg, bunch, crate" => "kg, bundt, kasse",
        "Note" => "Note",
        "Suggest a dish" => "Foreslå en ret",
        "Send suggestion" => "Send forslag",
        "Dish" => "Ret",
        "Description" => "Beskrivelse",
        "My requests and suggestions" => "Mine bestillinger og forslag",
        "Nothing asked for yet." => "Intet bestilt endnu.",
        "The newest of your items. All of them are in the history." => {
            "De nyeste af dine bestillinger og forslag. Alle er i historikken."
        }
        "Pending" => "Afventer",
        "Approved" => "Godkendt",
        "Rejected" => "Afvist",
        "While you were away" => "Mens du var væk",
        "Mark as seen" => "Markér som set",
        // The history.
        "Decided today" => "Afgjort i dag",
        "All my items" => "Alle mine bestillinger og forslag",
        "Status" => "Status",
        "Kind" => "Type",
        "Person" => "Person",
        "All" => "Alle",
        "Everyone" => "Alle",
        "Decided" => "Afgjort",
        "Ingredient request" => "Varebestilling",
        "Dish suggestion" => "Retforslag",
        "Load more" => "Hent flere",
        "Nothing here." => "Intet her.",
        "Everything is shown." => "Alt er vist.",
        // Errors.
        "The server cannot be reached. Check the connection and try again." => {
            "Serveren kan ikke nås. Tjek forbindelsen og prøv igen."
        }
        "Write the ingredient: one line of at most 100 characters." => "Skriv varen: én linje på højst 100 tegn.",
        "The quantity must be a number above 0 and at most 100,000." => "Mængden skal være et tal over 0 og højst 100.000.",
        "Write the unit (kg, bunch, crate): one line of at most 20 characters." => {
            "Skriv enheden (kg, bundt, kasse): én linje på højst 20 tegn."
        }
        "A note can be at most 500 characters." => "En note må højst være på 500 tegn.",
        "Write the dish's name: one line of at most 100 characters." => "Skriv rettens navn: én linje på højst 100 tegn.",
        "A description can be at most 2,000 characters." => "En beskrivelse må højst være på 2.000 tegn.",
        "Write a first name: one line of at most 60 characters." => "Skriv et fornavn: én linje på højst 60 tegn.",
        "Write a last name: one line of at most 60 characters." => "Skriv et efternavn: én linje på højst 60 tegn.",
        "Write an email address such as cook@kitchen.dk." => "Skriv en e-mailadresse, f.eks. kok@koekken.dk.",
        "That is not your current password." => "Det er ikke din nuværende adgangskode.",
        "The new password must be 12 to 128 characters and not your email or an everyday word." => {
            "Den nye adgangskode skal være 12 til 128 tegn og må ikke være din e-mail eller et almindeligt ord."
        }
        "Something in the form is not right. Check it and try again." => "Noget i formularen er ikke rigtigt. Tjek den og prøv igen.",
        "Wrong email or password." => "Forkert e-mail eller adgangskode.",
        "Change your temporary password first." => "Skift din midlertidige adgangskode først.",
        "Someone has already reviewed this." => "En anden har allerede behandlet den.",
        "Another person already has this email." => "En anden person har allerede denne e-mail.",
        "The kitchen must keep at least one active head chef." => "Køkkenet skal have mindst én aktiv køkkenchef.",
        "You are not signed in any more. Sign in again." => "Du er ikke længere logget ind. Log ind igen.",
        "You may not do this." => "Det må du ikke.",
        "This no longer exists." => "Den findes ikke længere.",
        "That is too much text." => "Det er for meget tekst.",
        "MiseOS is busy or restarting. Try again in a moment." => "MiseOS har travlt eller genstarter. Prøv igen om lidt.",
        "Something went wrong. Try again." => "Noget gik galt. Prøv igen.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text passed to `t` as a literal in the UI's sources, and the texts
    /// `Locale::error` names.
    fn texts_in_sources() -> Vec<String> {
        let sources = [
            include_str!("mod.rs"),
            include_str!("login.rs"),
            include_str!("password.rs"),
            include_str!("team.rs"),
            include_str!("dashboard.rs"),
            include_str!("cook.rs"),
            include_str!("history.rs"),
            include_str!("toasts.rs"),
            include_str!("away.rs"),
            include_str!("preferences.rs"),
            include_str!("i18n.rs"),
            include_str!("../live.rs"),
        ];
        let mut texts = Vec::new();
        for source in sources {
            // Literal arguments of `t`, and the right-hand sides of the table inside
            // `Locale::error`; the Danish table itself is skipped.
            let error_table = source
                .split_once("pub fn error(self")
                .map(|(_, rest)| rest.split_once("/// The Danish of every").map_or(rest, |(table, _)| table));
            let mut scan = |text: &str, marker: &str| {
                for (at, _) in text.match_indices(marker) {
                    // A call of `tr` itself, not the end of a longer name such as `from_str`.
                    let before = text[..at].chars().next_back();
                    if marker == "tr(\"" && before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let piece = &text[at + marker.len()..];
                    if let Some(end) = piece.find('"') {
                        texts.push(piece[..end].to_string());
                    }
                }
            };
            scan(source, ".t(\"");
            scan(source, "tr(\"");
            if let Some(table) = error_table {
                scan(table, "=> \"");
                scan(table, "{\n                \"");
            }
        }
        texts.retain(|text| !text.is_empty() && !text.contains('{'));
        texts.sort();
        texts.dedup();
        texts
    }

    #[test]
    fn every_text_of_the_interface_has_its_danish() {
        let texts = texts_in_sources();
        assert!(texts.len() >= 90, "the scan found only {} texts: has the source layout changed?", texts.len());
        let missing: Vec<&String> = texts.iter().filter(|text| danish(text).is_none()).collect();
        assert!(missing.is_empty(), "no Danish for {missing:#?}");
    }

    /// Texts that reach `t` through a value rather than as a literal.
    #[test]
    fn every_text_passed_by_value_has_its_danish() {
        use crate::live::{LinkState, SignInNotice};
        use crate::wire::ReviewStatus;
        let links = [
            LinkState::Connecting,
            LinkState::Live,
            LinkState::Reconnecting,
            LinkState::Offline,
            LinkState::Replaced,
            LinkState::TooManySessions,
        ]
        .map(LinkState::label);
        let notices = SignInNotice::ALL.map(SignInNotice::message);
        let themes = crate::ui::preferences::Theme::ALL.map(crate::ui::preferences::Theme::label);
        let statuses = [ReviewStatus::Pending, ReviewStatus::Approved, ReviewStatus::Rejected]
            .map(|status| crate::ui::item::status_badge(status).0);
        let forms = ["Request an ingredient", "Send request", "Suggest a dish", "Send suggestion"];
        let kinds = ["Ingredient request", "Dish suggestion"];
        let by_value = links.iter().chain(&notices).chain(&themes).chain(&statuses).chain(&forms).chain(&kinds);
        let missing: Vec<&&str> = by_value.filter(|text| danish(text).is_none()).collect();
        assert!(missing.is_empty(), "no Danish for {missing:?}");
        for role in Role::ALL {
            assert_ne!(Locale::Da.role(role), Locale::En.role(role), "{role:?}");
        }
    }

    #[test]
    fn the_browser_language_decides_by_quality() {
        assert_eq!(Locale::from_accept_language("da-DK,da;q=0.9,en;q=0.8"), Some(Locale::Da));
        assert_eq!(Locale::from_accept_language("en-GB,en;q=0.9,da;q=0.8"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("de-DE, da;q=0.5, en;q=0.4"), Some(Locale::Da));
        assert_eq!(Locale::from_accept_language("en;q=0.2, da"), Some(Locale::Da));
        assert_eq!(Locale::from_accept_language("da;q=0, en;q=0.1"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language(""), None);
        assert_eq!(Locale::from_accept_language("da;q=abc"), None);
    }

    #[test]
    fn the_counts_are_announced_in_one_sentence() {
        assert_eq!(Locale::En.pending_announcement(2, 1), "3 pending: 2 ingredient requests, 1 dish suggestion");
        assert_eq!(Locale::En.pending_announcement(0, 0), "0 pending: 0 ingredient requests, 0 dish suggestions");
        assert_eq!(Locale::Da.pending_announcement(1, 2), "3 afventer: 1 varebestilling, 2 retforslag");
    }

    #[test]
    fn numbers_and_dates_follow_the_locale() {
        assert_eq!(Locale::Da.quantity(3.5), "3,5");
        assert_eq!(Locale::En.quantity(3.5), "3.5");
        assert_eq!(Locale::Da.quantity(2.0), "2");
        assert_eq!(Locale::En.minute("2026-03-27 09:05"), "27 Mar 2026, 09:05");
        assert_eq!(Locale::Da.minute("2026-03-07 10:15"), "7. mar. 2026 kl. 10.15");
        assert_eq!(Locale::Da.minute("not a time"), "not a time");
        assert_eq!(Locale::Da.minute("2026-13-07 10:15"), "2026-13-07 10:15");
    }

    #[test]
    fn server_errors_are_told_by_code_and_field() {
        let failure = |status: u16, code: &str, field: Option<&str>| CallError {
            status,
            code: code.into(),
            field: field.map(String::from),
            message: "itemName must not be empty".into(),
            retry_after: Some(42),
        };
        assert_eq!(
            Locale::Da.error(&failure(400, "invalid_field", Some("itemName"))),
            "Skriv varen: én linje på højst 100 tegn."
        );
        assert_eq!(
            Locale::En.error(&failure(400, "invalid_field", Some("quantity"))),
            "The quantity must be a number above 0 and at most 100,000."
        );
        assert_eq!(Locale::Da.error(&failure(401, "bad_credentials", None)), "Forkert e-mail eller adgangskode.");
        assert_eq!(Locale::Da.error(&failure(418, "teapot", None)), "Noget gik galt. Prøv igen.");
        assert_eq!(Locale::Da.error(&failure(429, "too_many_attempts", None)), "For mange forsøg. Prøv igen om 42 s.");
        assert_eq!(Locale::Da.error(&failure(0, "", None)), "Serveren kan ikke nås. Tjek forbindelsen og prøv igen.");
    }
}
