//! Section 7: accounts and sessions. Each way a session ends, seen on REST and on a live
//! socket; refresh and idle expiry; every rule and error of the users API; throttling; the
//! command line against a running server.

use crate::helpers::*;
use app::wire::{
    close_code, CreatedUser, LoginResponse, NewUser, PasswordChange, RefreshResponse, Role, TemporaryPassword, User,
    UserChanges,
};
use std::time::Duration;
use tokio::time::Instant;

crate::on_both_databases!(
    signing_out_ends_the_session_on_rest_and_socket,
    disabling_a_user_ends_their_sessions_and_keeps_their_items,
    a_new_role_or_a_password_reset_revokes_sessions,
    changing_ones_password_ends_only_the_other_sessions,
    refresh_keeps_the_session_and_renews_the_token,
    an_added_user_must_change_the_temporary_password_first,
    the_users_api_enforces_its_rules,
    the_last_head_chef_stays,
    failed_sign_ins_are_throttled_per_account,
    a_guess_taken_back_takes_back_only_itself,
    an_idle_session_expires_on_rest_and_socket,
);

/// `POST` with an empty JSON object.
async fn post_empty(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.post(path, token, &serde_json::json!({})).await
}

/// Asserts `token` is refused with 401 and this reason, within a second.
async fn expect_refused(app: &TestApp, token: &str, reason: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let response = app.get("/api/v1/auth/me", token).await;
        if response.status() == 401 {
            let message = expect_error(response, 401, "unauthorized").await;
            assert_eq!(message, reason);
            return;
        }
        assert!(Instant::now() < deadline, "the token still works after a second");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the socket is closed with 1008 and this reason within five seconds.
async fn expect_closed(socket: &mut Socket, reason: &str) {
    match socket.next_within(Duration::from_secs(5)).await {
        Received::Closed(Some((code, actual))) => {
            assert_eq!((code, actual.as_str()), (close_code::POLICY_VIOLATION, reason))
        }
        other => panic!("expected 1008 {reason:?}, got {other:?}"),
    }
}

async fn user_id(app: &TestApp, chef: &str, email: &str) -> app::wire::UserId {
    let users: Vec<User> = expect_json(app.get("/api/v1/users", chef).await, 200).await;
    users.into_iter().find(|user| user.email == email).expect("the user is listed").id
}

async fn signing_out_ends_the_session_on_rest_and_socket(db: Db) {
    let app = spawn_app(db).await;
    let chef = app.token(GORDON).await;
    let other_device = app.token(GORDON).await;
    let mut socket = app.socket(&chef).await;
    socket.skip_greeting().await;
    let response = post_empty(&app, "/api/v1/auth/logout", &chef).await;
    assert_eq!(response.status(), 204);
    expect_refused(&app, &chef, "signed out").await;
    expect_closed(&mut socket, "signed out").await;
    // Only that session ended.
    assert_eq!(app.get("/api/v1/auth/me", &other_device).await.status(), 200);
    // Signing out again (or without a session) still succeeds.
    assert_eq!(post_empty(&app, "/api/v1/auth/logout", &chef).await.status(), 204);
    // An expired token still ends its session.
    let expired = app.tokens.sign(&claims(&app.session_of(&other_device), Role::HeadChef, -10, "miseos"));
    assert_eq!(post_empty(&app, "/api/v1/auth/logout", &expired).await.status(), 204);
    expect_refused(&app, &other_device, "signed out").await;
}

async fn disabling_a_user_ends_their_sessions_and_keeps_their_items(db: Db) {
    let app = spawn_app(db).await;
    let chef = app.token(GORDON).await;
    let cook = app.token(ALI).await;
    let item = app.create_request(&cook, "Dild").await;
    let mut socket = app.socket(&cook).await;
    socket.skip_greeting().await;
    let ali = user_id(&app, &chef, ALI).await;
    let disabled: User = expect_json(
        app.patch(&format!("/api/v1/users/{ali}"), &chef, &UserChanges { active: Some(false), ..Default::default() })
            .await,
        200,
    )
    .await;
    assert!(!disabled.active);
    expect_refused(&app, &cook, "account disabled").await;
    expect_closed(&mut socket, "account disabled").await;
    expect_error(app.login_attempt(ALI, PASSWORD).await, 403, "account_disabled").await;
    expect_error(app.login_attempt(ALI, "not the password").await, 401, "bad_credentials").await;
    // Their item stays, and the list puts the active first.
    assert_eq!(app.get(&format!("/api/v1/ingredient-requests/{item}"), &chef).await.status(), 200);
    let users: Vec<User> = expect_json(app.get("/api/v1/users", &chef).await, 200).await;
    assert_eq!(users.last().map(|user| user.email.as_str()), Some(ALI));
    // Re-enabled, they sign in again.
    let enable = UserChanges { active: Some(true), ..Default::default() };
    assert_eq!(app.patch(&format!("/api/v1/users/{ali}"), &chef, &enable).await.status(), 200);
    assert_eq!(app.login_attempt(ALI, PASSWORD).await.status(), 200);
}

async fn a_new_role_or_a_password_reset_revokes_sessions(db: Db) {
    let app = spawn_app(db).await;
    let chef = app.token(GORDON).await;
    let sara = user_id(&app, &chef, SARA).await;
    let cook = app.token(SARA).await;
    let mut socket = app.socket(&cook).await;
    socket.skip_greeting().await;
    let promote = UserChanges { role: Some(Role::SousChef), ..Default::default() };
    let promoted: User = expect_json(app.patch(&format!("/api/v1/users/{sara}"), &chef, &promote).await, 200).await;
    assert_eq!(promoted.role, Role::SousChef);
    expect_refused(&app, &cook, "session revoked").await;
    expect_closed(&mut socket, "session revoked").await;
    // Signed in again, Sara is a sous chef.
    let again = app.login(SARA).await;
    assert_eq!(again.user.role, Role::SousChef);

    let mut socket = app.socket(&again.token).await;
    socket.skip_greeting().await;
    let reset: TemporaryPassword =
        expect_json(post_empty(&app, &format!("/api/v1/users/{sara}/reset-password"), &chef).await, 200).await;
    assert!(reset.temporary_password.chars().count() >= 16);
    expect_refused(&app, &again.token, "session revoked").await;
    expect_closed(&mut socket, "session revoked").await;
    expect_error(app.login_attempt(SARA, PASSWORD).await, 401, "bad_credentials").await;
    let signed_in: LoginResponse = expect_json(app.login_attempt(SARA, &reset.temporary_password).await, 200).await;
    assert!(signed_in.must_change_password);
}

async fn changing_ones_password_ends_only_the_other_sessions(db: Db) {
    let app = spawn_app(db).await;
    let phone = app.token(ALI).await;
    let tablet = app.token(ALI).await;
    let mut tablet_socket = app.socket(&tablet).await;
    tablet_socket.skip_greeting().await;
    let change =
        |current: &str, new: &str| PasswordChange { current_password: current.into(), new_password: new.into() };
    let rule =
        expect_error(app.post("/api/v1/auth/password", &phone, &change(PASSWORD, "short")).await, 400, "invalid_field")
            .await;
    assert!(rule.contains("12 to 128"), "{rule}");
    let rule =
        expect_error(app.post("/api/v1/auth/password", &phone, &change(PASSWORD, ALI)).await, 400, "invalid_field")
            .await;
    assert!(rule.contains("email"), "{rule}");
    expect_error(
        app.post("/api/v1/auth/password", &phone, &change("wrong current", "a brand new passphrase")).await,
        400,
        "invalid_field",
    )
    .await;
    let response = app.post("/api/v1/auth/password", &phone, &change(PASSWORD, "a brand new passphrase")).await;
    assert_eq!(response.status(), 204);
    expect_refused(&app, &tablet, "session revoked").await;
    expect_closed(&mut tablet_socket, "session revoked").await;
    assert_eq!(app.get("/api/v1/ingredient-requests", &phone).await.status(), 200);
    assert_eq!(app.login_attempt(ALI, "a brand new passphrase").await.status(), 200);
}

async fn refresh_keeps_the_session_and_renews_the_token(db: Db) {
    let app = spawn_app(db).await;
    let first = app.login(MONICA).await;
    // `exp` is in whole seconds: let one pass so the new token differs.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let response = post_empty(&app, "/api/v1/auth/refresh", &first.token).await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers().get("set-cookie").expect("the cookie is set again").to_str().unwrap().to_string();
    let refreshed: RefreshResponse = response.json().await.unwrap();
    assert!(cookie.starts_with(&format!("miseos_token={};", refreshed.token)), "{cookie}");
    assert_eq!(refreshed.user, first.user);
    let (before, after) = (app.tokens.verify(&first.token).unwrap(), app.tokens.verify(&refreshed.token).unwrap());
    assert_eq!(before.session, after.session);
    assert!(after.expires_at > before.expires_at);
    // Both tokens name the same session: signing out with one ends the other.
    assert_eq!(post_empty(&app, "/api/v1/auth/logout", &refreshed.token).await.status(), 204);
    expect_refused(&app, &first.token, "signed out").await;
    expect_error(post_empty(&app, "/api/v1/auth/refresh", &refreshed.token).await, 401, "unauthorized").await;
}

async fn an_added_user_must_change_the_temporary_password_first(db: Db) {
    let app = spawn_app(db).await;
    let chef = app.token(GORDON).await;
    let new = NewUser {
        first_name: "Freja".into(),
        last_name: "Holm".into(),
        email: "Freja.Holm@Kitchen.dk".into(),
        role: Role::PrepCook,
    };
    let created: CreatedUser = expect_json(app.post("/api/v1/users", &chef, &new).await, 201).await;
    assert_eq!(
        (created.user.email.as_str(), created.user.role, created.user.active),
        ("freja.holm@kitchen.dk", Role::PrepCook, true)
    );
    assert!(created.temporary_password.chars().count() >= 16);
    let signed_in: LoginResponse =
        expect_json(app.login_attempt("freja.holm@kitchen.dk", &created.temporary_password).await, 200).await;
    assert!(signed_in.must_change_password);
    let token = signed_in.token;
    expect_error(app.get("/api/v1/ingredient-requests", &token).await, 403, "password_change_required").await;
    expect_error(post_empty(&app, "/api/v1/auth/refresh", &token).await, 403, "password_change_required").await;
    let mut refused = app.socket(&token).await;
    assert_eq!(refused.expect_close().await, (close_code::POLICY_VIOLATION, "password change required".into()));
    assert_eq!(app.get("/api/v1/auth/me", &token).await.status(), 200);
    let change = PasswordChange {
        current_password: created.temporary_password.clone(),
        new_password: "freja's own passphrase".into(),
    };
    assert_eq!(app.post("/api/v1/auth/password", &token, &change).await.status(), 204);
    // The same token now works everywhere.
    assert_eq!(app.get("/api/v1/ingredient-requests", &token).await.status(), 200);
    let again: LoginResponse =
        expect_json(app.login_attempt("FREJA.HOLM@kitchen.dk", "freja's own passphrase").await, 200).await;
    assert!(!again.must_change_password);
}

async fn the_users_api_enforces_its_rules(db: Db) {
    let app = spawn_app(db).await;
    let chef = app.token(GORDON).await;
    for (who, token) in [("sous chef", app.token(MONICA).await), ("cook", app.token(ALI).await)] {
        expect_error(app.get("/api/v1/users", &token).await, 403, "forbidden").await;
        let new =
            NewUser { first_name: "X".into(), last_name: "Y".into(), email: "x@y.dk".into(), role: Role::HeadChef };
        expect_error(app.post("/api/v1/users", &token, &new).await, 403, "forbidden").await;
        expect_error(post_empty(&app, "/api/v1/users/1/reset-password", &token).await, 403, "forbidden").await;
        let _ = who;
    }
    let users: Vec<User> = expect_json(app.get("/api/v1/users", &chef).await, 200).await;
    let names: Vec<_> = users.iter().map(|user| user.first_name.as_str()).collect();
    assert_eq!(names, ["Ali", "Gordon", "Monica", "Noah", "Sara"]);

    let taken = NewUser {
        first_name: "Ali".into(),
        last_name: "Again".into(),
        email: "ALI@miseos.dk".into(),
        role: Role::LineCook,
    };
    expect_error(app.post("/api/v1/users", &chef, &taken).await, 409, "email_taken").await;
    let bad_email = NewUser { email: "not-an-email".into(), ..taken.clone() };
    assert!(expect_error(app.post("/api/v1/users", &chef, &bad_email).await, 400, "invalid_field")
        .await
        .contains("email"));
    let blank = NewUser { first_name: " ".into(), email: "new@miseos.dk".into(), ..taken.clone() };
    assert!(expect_error(app.post("/api/v1/users", &chef, &blank).await, 400, "invalid_field")
        .await
        .contains("firstName"));
    let bad_role =
        serde_json::json!({"firstName": "A", "lastName": "B", "email": "ab@miseos.dk", "role": "DISHWASHER"});
    expect_error(app.post("/api/v1/users", &chef, &bad_role).await, 400, "invalid_field").await;

    expect_error(app.patch("/api/v1/users/999", &chef, &UserChanges::default()).await, 404, "not_found").await;
    expect_error(post_empty(&app, "/api/v1/users/999/reset-password", &chef).await, 404, "not_found").await;
    let unknown_field = serde_json::json!({"email": "new@miseos.dk"});
    expect_error(app.patch("/api/v1/users/3", &chef, &unknown_field).await, 400, "invalid_field").await;
    let renamed: User = expect_json(
        app.patch(
            "/api/v1/users/3",
            &chef,
            &UserChanges { last_name: Some("Hassan-Berg".into()), ..Default::default() },
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed.last_name, "Hassan-Berg");
    // A new name ends no session.
    assert_eq!(app.get("/api/v1/auth/me", &app.token(ALI).await).await.status(), 200);
}

async fn the_last_head_chef_stays(db: Db) {
    let app = spawn_app(db).await;
    let chef = app.token(GORDON).await;
    let demote = UserChanges { role: Some(Role::SousChef), ..Default::default() };
    let disable = UserChanges { active: Some(false), ..Default::default() };
    expect_error(app.patch("/api/v1/users/1", &chef, &demote).await, 409, "last_head_chef").await;
    expect_error(app.patch("/api/v1/users/1", &chef, &disable).await, 409, "last_head_chef").await;
    // With a second head chef, the first may step down (and is signed out by it).
    let promote = UserChanges { role: Some(Role::HeadChef), ..Default::default() };
    assert_eq!(app.patch("/api/v1/users/2", &chef, &promote).await.status(), 200);
    assert_eq!(app.patch("/api/v1/users/1", &chef, &demote).await.status(), 200);
    expect_refused(&app, &chef, "session revoked").await;
    let monica = app.token(MONICA).await;
    expect_error(app.patch("/api/v1/users/2", &monica, &disable).await, 409, "last_head_chef").await;
}

async fn failed_sign_ins_are_throttled_per_account(db: Db) {
    let app = spawn_app(db).await;
    for _ in 0..5 {
        expect_error(app.login_attempt(NOAH, "wrong password").await, 401, "bad_credentials").await;
    }
    for password in ["wrong password", PASSWORD] {
        let response = app.login_attempt(NOAH, password).await;
        let retry_after: u64 =
            response.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
        assert!((890..=900).contains(&retry_after), "{retry_after}");
        let message = expect_error(response, 429, "too_many_attempts").await;
        assert_eq!(message, format!("too many attempts, try again in {retry_after} s"));
    }
    // Other accounts from the same address are not affected.
    assert_eq!(app.login_attempt(ALI, PASSWORD).await.status(), 200);
}

/// Guesses sent at once may be recorded in the same millisecond; one that is throttled takes
/// back its own record and leaves the others counting.
async fn a_guess_taken_back_takes_back_only_itself(db: Db) {
    let app = spawn_app(db).await;
    let (key, at) = ("account:noah@miseos.dk", 1_000);
    app.store.record_failure(&[key, key], at).await.unwrap();
    app.store.forget_failure(key, at).await.unwrap();
    assert_eq!(app.store.nth_recent_failure(key, 0, 1).await.unwrap(), Some(at));
    assert_eq!(app.store.nth_recent_failure(key, 0, 2).await.unwrap(), None);
}

#[tokio::test]
async fn guesses_sent_at_once_count_each_other() {
    let app = spawn_app(Db::Sqlite).await;
    let app = &app;
    let guesses = (0..12).map(|index| async move { app.login_attempt(NOAH, &format!("guess {index}")).await });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|response| response.status() == 401).count();
    assert!(checked <= 5, "{checked} guesses were checked at once; at most 5 may be");
    assert!(answers.iter().all(|response| [401, 429, 503].contains(&response.status().as_u16())));
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_address_behind_trusted_proxies_only() {
    let app = spawn_app_with(Db::Sqlite, |config| {
        config.trusted_proxies = vec![server::config::parse_network("127.0.0.1").unwrap()];
    })
    .await;
    let attempt = |email: String, forwarded_for: &'static str| {
        app.http
            .post(format!("{}/api/v1/auth/login", app.address))
            .header("x-forwarded-for", forwarded_for)
            .json(&app::wire::LoginRequest { email, password: "wrong password".into() })
            .send()
    };
    // Thirty failures from one client (four emails each, under the per-account limit).
    for index in 0..30 {
        let response = attempt(format!("guess{}@miseos.dk", index / 4), "203.0.113.5").await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let throttled = attempt(GORDON.into(), "203.0.113.5").await.unwrap();
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    expect_error(throttled, 429, "too_many_attempts").await;
    // Another client behind the same proxy still signs in.
    let other = app
        .http
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("x-forwarded-for", "198.51.100.8")
        .json(&app::wire::LoginRequest { email: GORDON.into(), password: PASSWORD.into() })
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn password_checks_beyond_the_queue_get_503_with_retry_after() {
    // Many clients (each its own address behind a trusted proxy, each its own email) at once.
    let app = spawn_app_with(Db::Sqlite, |config| {
        config.trusted_proxies = vec![server::config::parse_network("127.0.0.1").unwrap()];
    })
    .await;
    let app = &app;
    let attempts = (0..60).map(|index| async move {
        app.http
            .post(format!("{}/api/v1/auth/login", app.address))
            .header("x-forwarded-for", format!("198.51.100.{index}"))
            .json(&app::wire::LoginRequest { email: format!("cook{index}@miseos.dk"), password: "guess".into() })
            .send()
            .await
            .expect("login request")
    });
    let answers = futures::future::join_all(attempts).await;
    let busy: Vec<_> = answers.iter().filter(|response| response.status() == 503).collect();
    let checked = answers.iter().filter(|response| response.status() == 401).count();
    assert_eq!(busy.len() + checked, answers.len(), "every answer is 401 or 503");
    assert!(!busy.is_empty(), "sign-ins beyond the queue are refused at once");
    assert!(checked >= 2, "the queue's worth is still checked ({checked})");
    assert!(busy.iter().all(|response| response.headers()["retry-after"] == "1"));
    // The queue drains: the next sign-in goes through.
    assert_eq!(app.login_attempt(GORDON, PASSWORD).await.status(), 200);
}

async fn an_idle_session_expires_on_rest_and_socket(db: Db) {
    // Three seconds of idle time.
    let app = spawn_app_with(db, |config| config.session_idle_minutes = 0.05).await;
    let idle = app.token(GORDON).await;
    let busy = app.token(GORDON).await;
    let mut socket = app.socket(&idle).await;
    socket.skip_greeting().await;
    let started = Instant::now();
    // The busy session is used every second and stays.
    while started.elapsed() < Duration::from_secs(5) {
        assert_eq!(app.get("/api/v1/auth/me", &busy).await.status(), 200);
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    expect_closed(&mut socket, "session expired").await;
    assert!(started.elapsed() < Duration::from_secs(10));
    expect_refused(&app, &idle, "session expired").await;
    assert_eq!(app.get("/api/v1/auth/me", &busy).await.status(), 200);
}

#[tokio::test]
async fn without_demo_users_the_first_head_chef_comes_from_the_command_line() {
    let mut app = spawn_app_with(Db::Sqlite, |config| config.demo = false).await;
    expect_error(app.login_attempt(GORDON, PASSWORD).await, 401, "bad_credentials").await;
    let added = run_cli(
        app.database_url(),
        &[
            "user",
            "add",
            "--email",
            "chef@kitchen.dk",
            "--first-name",
            "Rasmus",
            "--last-name",
            "Kofoed",
            "--role",
            "HEAD_CHEF",
        ],
    )
    .await;
    // With no kitchen yet, the first user's is made.
    assert!(added.contains("made kitchen 1 (Kitchen), the first"), "{added}");
    let password =
        added.lines().find_map(|line| line.strip_prefix("temporary password (shown once): ")).expect("printed");
    let signed_in: LoginResponse = expect_json(app.login_attempt("chef@kitchen.dk", password).await, 200).await;
    assert!(signed_in.must_change_password);
    assert_eq!((signed_in.user.role, signed_in.user.kitchen_id), (Role::HeadChef, app::wire::KitchenId(1)));
    let listed = run_cli(app.database_url(), &["user", "list"]).await;
    assert!(listed.contains("chef@kitchen.dk  HEAD_CHEF  active  Rasmus Kofoed"), "{listed}");
    app.shut_down().await;
}

#[tokio::test]
async fn the_command_line_disables_and_resets_against_a_running_sqlite_server() {
    let app = spawn_app(Db::Sqlite).await;
    let cook = app.token(ALI).await;
    let mut socket = app.socket(&cook).await;
    socket.skip_greeting().await;
    let disabled = run_cli(app.database_url(), &["user", "disable", ALI]).await;
    assert!(disabled.contains("disabled 3  kitchen 1  ali@miseos.dk"), "{disabled}");
    expect_closed(&mut socket, "account disabled").await;
    expect_refused(&app, &cook, "account disabled").await;

    let sara = app.token(SARA).await;
    let reset = run_cli(app.database_url(), &["user", "reset-password", SARA]).await;
    let password =
        reset.lines().find_map(|line| line.strip_prefix("temporary password (shown once): ")).expect("printed");
    expect_refused(&app, &sara, "session revoked").await;
    let signed_in: LoginResponse = expect_json(app.login_attempt(SARA, password).await, 200).await;
    assert!(signed_in.must_change_password);

    let refused = run_cli_status(app.database_url(), &["user", "disable", GORDON]).await;
    assert!(!refused.0 && refused.1.contains("last active head chef"), "{}", refused.1);
}

#[tokio::test]
async fn with_no_user_and_no_demo_the_server_says_how_to_make_the_first_head_chef() {
    use tokio::io::AsyncBufReadExt;
    let database = FreshDatabase::create(Db::Sqlite).await;
    let data_dir = std::env::temp_dir().join(format!("miseos-hint-{}", std::process::id()));
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .env("PORT", "0")
        .env("DATABASE_URL", &database.url)
        .env("MISEOS_DATA_DIR", &data_dir)
        .env("MISEOS_JWT_SECRET", TEST_SECRET)
        .env_remove("MISEOS_DEMO")
        .env("MISEOS_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary starts");
    let mut log = tokio::io::BufReader::new(server.stderr.take().expect("stderr")).lines();
    let hint = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = log.next_line().await.expect("the log") {
            if line.contains("there are no users yet") {
                return line;
            }
        }
        panic!("the server stopped without the hint");
    })
    .await
    .expect("the hint within 30 s");
    assert!(
        hint.contains("server user add --email EMAIL --first-name NAME --last-name NAME --role HEAD_CHEF"),
        "{hint}"
    );
    server.kill().await.expect("stopped");
    let _ = std::fs::remove_dir_all(&data_dir);
}
