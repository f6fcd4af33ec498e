//! Section 9: several kitchens in one deployment. Two kitchens side by side on both databases
//! (nothing of one reaches the other: items, counts, seq, notifications, users), each
//! kitchen's seq rules under concurrent writes in both at once, time zones per kitchen, the
//! command line, and the move of a database of the single-kitchen version into one kitchen.

use crate::helpers::*;
use app::wire::{
    Category, IngredientRequest, KitchenId, Notification, ReviewBody, Role, Snapshot, User, UserChanges, UserId,
};
use server::{
    clock::KitchenClock,
    store::{NewAccount, Store},
};
use std::collections::HashMap;

crate::on_both_databases!(
    two_kitchens_side_by_side_see_only_their_own,
    each_kitchens_seq_holds_under_concurrent_writes_in_both,
    a_database_of_the_single_kitchen_version_becomes_one_kitchen,
);

/// The second kitchen of these tests: in New Zealand, so its clock differs from the demo
/// kitchen's UTC at any hour.
pub const NOMA_ZONE: chrono_tz::Tz = chrono_tz::Pacific::Auckland;
pub const RENE: &str = "rene@noma.dk";
pub const METTE: &str = "mette@noma.dk";
pub const LARS: &str = "lars@noma.dk";

/// Makes a second kitchen beside the demo one, with a head chef (René), a sous chef (Lars)
/// and a line cook (Mette), all with the demo password; returns its id and theirs.
pub async fn second_kitchen(store: &Store) -> (KitchenId, HashMap<&'static str, UserId>) {
    let kitchen = store.create_kitchen("Noma", Some(NOMA_ZONE)).await.expect("a kitchen");
    let password_hash = server::accounts::hash_password(PASSWORD);
    let mut ids = HashMap::new();
    for (email, first_name, role) in
        [(RENE, "René", Role::HeadChef), (LARS, "Lars", Role::SousChef), (METTE, "Mette", Role::LineCook)]
    {
        let account = NewAccount {
            kitchen_id: kitchen.id,
            email: email.into(),
            first_name: first_name.into(),
            last_name: "Redzepi".into(),
            role,
            password_hash: password_hash.clone(),
            must_change_password: false,
        };
        ids.insert(email, store.create_user(&account).await.expect("a user").id);
    }
    (kitchen.id, ids)
}

async fn two_kitchens_side_by_side_see_only_their_own(db: Db) {
    let app = spawn_app(db).await;
    let (noma, people) = second_kitchen(&app.store).await;
    assert_ne!(noma, KitchenId(1));
    let (gordon, ali) = (app.login(GORDON).await, app.token(ALI).await);
    let (rene, mette) = (app.login(RENE).await, app.token(METTE).await);
    assert_eq!((gordon.user.kitchen_id, rene.user.kitchen_id), (KitchenId(1), noma));
    let me: User = expect_json(app.get("/api/v1/auth/me", &rene.token).await, 200).await;
    assert_eq!(me.kitchen_id, noma);

    let mut gordon_socket = app.socket(&gordon.token).await;
    let mut rene_socket = app.socket(&rene.token).await;
    let mut ali_socket = app.socket(&ali).await;
    let mut mette_socket = app.socket(&mette).await;
    for (socket, kitchen) in [
        (&mut gordon_socket, KitchenId(1)),
        (&mut rene_socket, noma),
        (&mut ali_socket, KitchenId(1)),
        (&mut mette_socket, noma),
    ] {
        let Notification::Connected { kitchen_id, .. } = socket.next().await else { panic!("the welcome") };
        assert_eq!(kitchen_id, kitchen, "the welcome names the kitchen");
    }
    for socket in [&mut gordon_socket, &mut rene_socket] {
        for _ in Category::ALL {
            assert!(matches!(socket.next().await, Notification::PendingCountUpdated { count: 0, seq: 0, .. }));
        }
    }

    // A new item of Noma goes to Noma's chef only, with Noma's first seq.
    let mettes_id = app.create_request(&mette, "Tang").await;
    assert!(
        matches!(rene_socket.next().await, Notification::NewIngredientRequest(notice) if notice.request_id == mettes_id)
    );
    assert!(matches!(rene_socket.next().await, Notification::PendingCountUpdated { count: 1, seq: 1, .. }));
    gordon_socket.expect_silence().await;
    // Two in the demo kitchen: its own seq, 1 and 2; nothing for Noma.
    app.create_request(&ali, "Dild").await;
    let alis_id = app.create_request(&ali, "Persille").await;
    for seq in 1..=2 {
        assert!(matches!(gordon_socket.next().await, Notification::NewIngredientRequest(_)));
        let Notification::PendingCountUpdated { count, seq: received, .. } = gordon_socket.next().await else {
            panic!("the count")
        };
        assert_eq!((count, received), (seq, seq));
    }
    rene_socket.expect_silence().await;
    let snapshot: Snapshot = app.snapshot(&rene.token).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.total_pending, snapshot.seq), (1, 1, 1));
    let snapshot: Snapshot = app.snapshot(&gordon.token).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.total_pending, snapshot.seq), (2, 2, 2));

    // Another kitchen's item is not found, never forbidden, and is not listed.
    let path = format!("/api/v1/ingredient-requests/{mettes_id}");
    expect_error(app.get(&path, &gordon.token).await, 404, "not_found").await;
    for action in ["approve", "reject"] {
        let response = app.post(&format!("{path}/{action}"), &gordon.token, &ReviewBody::default()).await;
        expect_error(response, 404, "not_found").await;
    }
    let listed: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests", &gordon.token).await, 200).await;
    assert_eq!(listed.iter().map(|item| item.id).collect::<Vec<_>>(), [alis_id, alis_id - 1]);
    let listed: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests?status=PENDING", &rene.token).await, 200).await;
    assert_eq!(listed.iter().map(|item| item.id).collect::<Vec<_>>(), [mettes_id]);
    // The kitchen's clock: Noma's item is stamped in Auckland's time, the demo kitchen's in UTC.
    let noma_clock = KitchenClock::new(NOMA_ZONE);
    assert_eq!(listed[0].created_at, noma_clock.format(listed[0].created_at_millis));
    let alis: IngredientRequest =
        expect_json(app.get(&format!("/api/v1/ingredient-requests/{alis_id}"), &gordon.token).await, 200).await;
    assert_eq!(alis.created_at, KitchenClock::new(chrono_tz::UTC).format(alis.created_at_millis));
    assert_ne!(listed[0].created_at, KitchenClock::new(chrono_tz::UTC).format(listed[0].created_at_millis));

    // Noma's review tells Mette, stamped in Noma's time; Ali hears nothing, Gordon no count.
    let approved: IngredientRequest =
        expect_json(app.post(&format!("{path}/approve"), &rene.token, &ReviewBody::default()).await, 200).await;
    let Notification::RequestApproved(notice) = mette_socket.next().await else { panic!("Mette hears") };
    assert_eq!(notice.request_id, mettes_id);
    assert_eq!(notice.timestamp, noma_clock.format(approved.reviewed_at_millis.expect("reviewed")));
    assert!(matches!(rene_socket.next().await, Notification::ItemReviewed(notice) if notice.request_id == mettes_id));
    assert!(matches!(rene_socket.next().await, Notification::PendingCountUpdated { count: 0, seq: 2, .. }));
    ali_socket.expect_silence().await;
    gordon_socket.expect_silence().await;

    // The users API is the kitchen's own: listing, changing and resetting.
    let team: Vec<User> = expect_json(app.get("/api/v1/users", &gordon.token).await, 200).await;
    assert_eq!(team.len(), 5);
    assert!(team.iter().all(|user| user.kitchen_id == KitchenId(1)));
    let team: Vec<User> = expect_json(app.get("/api/v1/users", &rene.token).await, 200).await;
    let mut emails: Vec<_> = team.iter().map(|user| user.email.as_str()).collect();
    emails.sort_unstable();
    assert_eq!(emails, [LARS, METTE, RENE]);
    let rene_id = people[RENE];
    let demote = UserChanges { role: Some(Role::LineCook), ..UserChanges::default() };
    expect_error(app.patch(&format!("/api/v1/users/{rene_id}"), &gordon.token, &demote).await, 404, "not_found").await;
    let reset = app.post(&format!("/api/v1/users/{rene_id}/reset-password"), &gordon.token, &()).await;
    expect_error(reset, 404, "not_found").await;
    // René is Noma's only head chef, though the demo kitchen has one too.
    expect_error(app.patch(&format!("/api/v1/users/{rene_id}"), &rene.token, &demote).await, 409, "last_head_chef")
        .await;
    // A user made by Noma's chef is Noma's.
    let new_user = app::wire::NewUser {
        first_name: "Ny".into(),
        last_name: "Kok".into(),
        email: "ny@noma.dk".into(),
        role: Role::PrepCook,
    };
    let created: app::wire::CreatedUser =
        expect_json(app.post("/api/v1/users", &rene.token, &new_user).await, 201).await;
    assert_eq!(created.user.kitchen_id, noma);
}

async fn each_kitchens_seq_holds_under_concurrent_writes_in_both(db: Db) {
    const PER_WRITER: i64 = 15;
    let app = spawn_app(db).await;
    let (noma, _) = second_kitchen(&app.store).await;
    // Each kitchen: its chef listening, and two of its people writing, all four at once.
    let kitchens = [(KitchenId(1), GORDON, [ALI, SARA]), (noma, RENE, [METTE, LARS])];
    let mut sockets = Vec::new();
    let mut writers = Vec::new();
    for (_, chef, people) in kitchens {
        let mut socket = app.socket(&app.token(chef).await).await;
        socket.skip_greeting().await;
        sockets.push(socket);
        for email in people {
            let (token, address, http) = (app.token(email).await, app.address.clone(), app.http.clone());
            writers.push(tokio::spawn(async move {
                for index in 0..PER_WRITER {
                    let body = app::wire::NewIngredientRequest {
                        item_name: format!("{email} {index}"),
                        quantity: app::wire::Quantity(1.0),
                        unit: "kg".into(),
                        note: None,
                    };
                    let response = http
                        .post(format!("{address}/api/v1/ingredient-requests"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .expect("create");
                    assert_eq!(response.status(), 201);
                }
            }));
        }
    }
    for writer in writers {
        writer.await.expect("a writer");
    }
    let written = 2 * PER_WRITER;
    for (socket, (kitchen, chef, people)) in sockets.iter_mut().zip(kitchens) {
        let (mut last_seq, mut announced) = (0, 0);
        while announced < written || last_seq < written {
            match socket.next().await {
                Notification::NewIngredientRequest(notice) => {
                    assert!(
                        people.iter().any(|email| notice.item_name.starts_with(email)),
                        "kitchen {kitchen} heard of {}",
                        notice.item_name
                    );
                    announced += 1;
                }
                Notification::PendingCountUpdated { seq, count, .. } => {
                    assert_eq!(seq, last_seq + 1, "kitchen {kitchen}: every seq once, in order");
                    assert_eq!(count, seq, "kitchen {kitchen}: only creates, so the count is the seq");
                    last_seq = seq;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        socket.expect_silence().await;
        let snapshot = app.snapshot(&app.token(chef).await).await;
        assert_eq!((snapshot.seq, snapshot.pending_ingredient_requests), (written, written));
    }
}

async fn a_database_of_the_single_kitchen_version_becomes_one_kitchen(db: Db) {
    let database = FreshDatabase::create(db).await;
    make_single_kitchen_database(db, &database.url).await;
    let app = spawn_app_on(database, |config| config.demo = false).await;
    let kitchens = app.store.kitchens().await.expect("kitchens");
    assert_eq!(kitchens.len(), 1);
    assert_eq!(
        (kitchens[0].id, kitchens[0].name.as_str(), kitchens[0].time_zone),
        (KitchenId(1), "MiseOS Test Kitchen", None)
    );
    let gordon = app.login(GORDON).await;
    assert_eq!(gordon.user.kitchen_id, KitchenId(1));
    // The counts and seq carry on where they were.
    let snapshot = app.snapshot(&gordon.token).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.pending_dish_suggestions, snapshot.seq), (1, 1, 41));
    let items: Vec<IngredientRequest> =
        expect_json(app.get("/api/v1/ingredient-requests", &gordon.token).await, 200).await;
    assert_eq!(
        items.iter().map(|item| (item.id, item.name())).collect::<Vec<_>>(),
        [(2, "Persille"), (1, "Frisk Dild")]
    );
    assert_eq!(items[1].reviewed_by.as_ref().map(|person| person.id), Some(UserId(1)));
    let suggestions: Vec<app::wire::DishSuggestion> =
        expect_json(app.get("/api/v1/dish-suggestions", &gordon.token).await, 200).await;
    assert_eq!(suggestions.len(), 1);
    let team: Vec<User> = expect_json(app.get("/api/v1/users", &gordon.token).await, 200).await;
    assert_eq!(team.len(), 2);
    // It goes on: the next change takes seq 42 and the cook still sees their own.
    let ali = app.token(ALI).await;
    app.create_request(&ali, "Løg").await;
    assert_eq!(app.snapshot(&gordon.token).await.seq, 42);
    let own: Vec<IngredientRequest> = expect_json(app.get("/api/v1/ingredient-requests", &ali).await, 200).await;
    assert_eq!(own.len(), 3);
}

/// A database as the version before kitchens left it: its migrations only, then a head chef
/// and a cook, two ingredient requests (one approved) and a suggestion, at seq 41.
async fn make_single_kitchen_database(db: Db, url: &str) {
    let (directory, last_before_kitchens) = match db {
        Db::Sqlite => ("migrations/sqlite", 3),
        Db::Postgres => ("migrations/postgres", 6),
    };
    let earlier = std::env::temp_dir().join(format!("miseos-earlier-migrations-{}-{db:?}", std::process::id()));
    std::fs::create_dir_all(&earlier).expect("a directory");
    for entry in std::fs::read_dir(directory).expect("the migrations") {
        let path = entry.expect("a migration").path();
        let name = path.file_name().and_then(|name| name.to_str()).expect("a name").to_string();
        let version: u32 = name[..4].parse().expect("numbered");
        if version <= last_before_kitchens {
            std::fs::copy(&path, earlier.join(&name)).expect("copied");
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("the database");
    sqlx::migrate::Migrator::new(earlier.as_path())
        .await
        .expect("the earlier migrations")
        .run(&pool)
        .await
        .expect("migrated");
    let hash = server::accounts::hash_password(PASSWORD);
    for (id, email, first, last, role) in
        [(1, GORDON, "Gordon", "Ramsay", "HEAD_CHEF"), (3, ALI, "Ali", "Hassan", "LINE_COOK")]
    {
        sqlx::query(
            "INSERT INTO users (id, email, first_name, last_name, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(email)
        .bind(first)
        .bind(last)
        .bind(role)
        .bind(&hash)
        .execute(&pool)
        .await
        .expect("a user");
    }
    for statement in [
        "INSERT INTO ingredient_requests (item_name, quantity, unit, status, requested_by, created_at, reviewed_by, reviewed_at) \
         VALUES ('Frisk Dild', 2, 'bunch', 'APPROVED', 3, 1774606500000, 1, 1774606800000)",
        "INSERT INTO ingredient_requests (item_name, quantity, unit, requested_by, created_at) VALUES ('Persille', 1, 'bunch', 3, 1774606900000)",
        "INSERT INTO dish_suggestions (name, description, requested_by, created_at) VALUES ('Rødgrød', 'med fløde', 3, 1774607000000)",
        "UPDATE pending_counters SET seq = 41, ingredient_requests = 1, dish_suggestions = 1",
    ] {
        sqlx::query(statement).execute(&pool).await.expect("the old version's rows");
    }
    pool.close().await;
    let _ = std::fs::remove_dir_all(&earlier);
}

#[tokio::test]
async fn kitchens_and_their_people_come_from_the_command_line() {
    let app = spawn_app_with(Db::Sqlite, |config| config.demo = false).await;
    let url = app.database_url();
    assert_eq!(
        run_cli(url, &["kitchen", "add", "--name", "Noma", "--timezone", "Europe/Copenhagen"]).await.trim(),
        "1"
    );
    assert_eq!(run_cli(url, &["kitchen", "add", "--name", "Geranium"]).await.trim(), "2");
    let listed = run_cli(url, &["kitchen", "list"]).await;
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["1  Europe/Copenhagen  Noma", "2  UTC (MISEOS_TIMEZONE)  Geranium"]
    );
    let refused = run_cli_status(url, &["kitchen", "add", "--name", "Alchemist", "--timezone", "Mars/Olympus"]).await;
    assert!(!refused.0 && refused.1.contains("not an IANA time zone"), "{}", refused.1);
    let refused = run_cli_status(url, &["kitchen", "add", "--name", "  "]).await;
    assert!(!refused.0 && refused.1.contains("1 to 100 characters"), "{}", refused.1);

    let add = |kitchen: Option<&'static str>, email: &'static str| {
        let mut args =
            vec!["user", "add", "--email", email, "--first-name", "Chef", "--last-name", "One", "--role", "HEAD_CHEF"];
        if let Some(kitchen) = kitchen {
            args.extend(["--kitchen", kitchen]);
        }
        args
    };
    let refused = run_cli_status(url, &add(None, "who@kitchen.dk")).await;
    assert!(!refused.0 && refused.1.contains("several kitchens"), "{}", refused.1);
    let refused = run_cli_status(url, &add(Some("9"), "who@kitchen.dk")).await;
    assert!(!refused.0 && refused.1.contains("there is no kitchen 9"), "{}", refused.1);
    let added = run_cli(url, &add(Some("2"), "chef@geranium.dk")).await;
    let password =
        added.lines().find_map(|line| line.strip_prefix("temporary password (shown once): ")).expect("printed");
    let signed_in: app::wire::LoginResponse =
        expect_json(app.login_attempt("chef@geranium.dk", password).await, 200).await;
    assert_eq!(signed_in.user.kitchen_id, KitchenId(2));
    let users = run_cli(url, &["user", "list"]).await;
    assert!(users.contains("kitchen 2  chef@geranium.dk  HEAD_CHEF  active  Chef One"), "{users}");
}

#[tokio::test]
async fn the_demo_users_belong_to_the_demo_kitchen() {
    let app = spawn_app(Db::Sqlite).await;
    let kitchens = app.store.kitchens().await.expect("kitchens");
    assert_eq!(kitchens.len(), 1);
    assert_eq!((kitchens[0].id, kitchens[0].name.as_str()), (KitchenId(1), "MiseOS Test Kitchen"));
    let me: User = expect_json(app.get("/api/v1/auth/me", &app.token(NOAH).await).await, 200).await;
    assert_eq!(me.kitchen_id, KitchenId(1));
}

#[tokio::test]
async fn a_token_naming_another_kitchen_than_its_users_is_refused() {
    let app = spawn_app(Db::Sqlite).await;
    let (noma, _) = second_kitchen(&app.store).await;
    let gordon = app.token(GORDON).await;
    let mut forged = claims(&app.session_of(&gordon), Role::HeadChef, 600, "miseos");
    forged.kitchen = noma.0;
    let forged = app.tokens.sign(&forged);
    expect_error(app.get("/api/v1/notifications/snapshot", &forged).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn the_demo_users_never_go_into_a_kitchen_1_an_operator_made() {
    let app = spawn_app_with(Db::Sqlite, |config| config.demo = false).await;
    assert_eq!(run_cli(app.database_url(), &["kitchen", "add", "--name", "Noma"]).await.trim(), "1");
    let mut with_demo = test_config(app.database_url());
    with_demo.data_dir = std::env::temp_dir().join(format!("miseos-test-data-{}", std::process::id()));
    let second = server::Application::build(with_demo, leptos_options()).await.expect("starts");
    assert!(second.state().store.has_no_users().await.expect("the users"), "no demo user in Noma");
    expect_error(app.login_attempt(GORDON, PASSWORD).await, 401, "bad_credentials").await;
}
