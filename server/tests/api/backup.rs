//! Backups: `server backup PATH` copies a running SQLite database consistently.

use crate::helpers::*;

/// `server backup PATH` against a running SQLite server, while a cook keeps writing; a server
/// started on the copy finds every item acknowledged before the backup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_restores_every_item() {
    let app = spawn_app(Db::Sqlite).await;
    let cook = app.token(ALI).await;
    let mut before_backup = Vec::new();
    for index in 0..20 {
        before_backup.push(app.create_request(&cook, &format!("Før {index}")).await);
    }
    let writer = {
        let (http, url, cook) = (app.http.clone(), format!("{}/api/v1/dish-suggestions", app.address), cook.clone());
        tokio::spawn(async move {
            for index in 0..50 {
                let body = app::wire::NewDishSuggestion { name: format!("Under {index}"), description: "x".into() };
                let _ = http.post(&url).bearer_auth(&cook).json(&body).send().await;
            }
        })
    };
    let copy = std::env::temp_dir().join(format!("miseos-backup-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&copy);
    let printed = run_cli(app.database_url(), &["backup", copy.to_str().expect("a UTF-8 path")]).await;
    assert!(printed.contains("backed up the database"), "{printed}");
    writer.await.expect("the writer");
    // A second backup to the same file is refused rather than overwriting it.
    let (refused, message) = run_cli_status(app.database_url(), &["backup", copy.to_str().expect("path")]).await;
    assert!(!refused && message.contains("already exists"), "{message}");

    let restored_url = format!("sqlite://{}", copy.display());
    let restored = spawn_app_with(Db::Sqlite, |config| config.database_url = Some(restored_url)).await;
    let restored_chef = restored.token(GORDON).await;
    for id in &before_backup {
        assert_eq!(restored.get(&format!("/api/v1/ingredient-requests/{id}"), &restored_chef).await.status(), 200);
    }
    let snapshot = restored.snapshot(&restored_chef).await;
    let suggestions: Vec<app::wire::DishSuggestion> =
        expect_json(restored.get("/api/v1/dish-suggestions?limit=1000", &restored_chef).await, 200).await;
    // The copy is one consistent moment: its counts and seq match its items exactly.
    assert_eq!(snapshot.pending_ingredient_requests, 20);
    assert_eq!(snapshot.pending_dish_suggestions, suggestions.len() as i64);
    assert_eq!(snapshot.seq, 20 + suggestions.len() as i64);
    drop(restored);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
}

/// `server restore PATH` on a stopped server: the database is the backup again, under a new
/// epoch, so an open dashboard holding the later, higher `seq` knows to start over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_brings_the_backup_back_under_a_new_epoch() {
    let mut app = spawn_app(Db::Sqlite).await;
    let cook = app.token(ALI).await;
    for index in 0..3 {
        app.create_request(&cook, &format!("Før {index}")).await;
    }
    let copy = std::env::temp_dir().join(format!("miseos-restore-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&copy);
    run_cli(app.database_url(), &["backup", copy.to_str().expect("a UTF-8 path")]).await;
    app.create_request(&cook, "Efter").await;
    let live_epoch = app.store.epoch().to_string();
    // Never under a running server: it would go on writing to the file being replaced.
    let (succeeded, message) = run_cli_status(app.database_url(), &["restore", copy.to_str().expect("path")]).await;
    assert!(!succeeded && message.contains("stop it before restoring"), "{message}");
    app.shut_down().await;

    let (succeeded, message) = run_cli_status(app.database_url(), &["restore", "/nonexistent/backup.db"]).await;
    assert!(!succeeded && message.contains("is not a backup file"), "{message}");
    let printed = run_cli(app.database_url(), &["restore", copy.to_str().expect("path")]).await;
    let new_epoch = printed.split("its epoch is now ").nth(1).and_then(|rest| rest.get(..16)).expect("the epoch");
    let kept = printed.rsplit("is kept as ").next().expect("where the old database went").trim().to_string();
    assert!(printed.contains("restored"), "{printed}");
    // The database it replaced is kept, whole: all four items, the one after the backup too.
    let kept_url = format!("sqlite://{kept}");
    let old = spawn_app_with(Db::Sqlite, move |config| config.database_url = Some(kept_url)).await;
    let old_chef = old.token(GORDON).await;
    assert_eq!(old.snapshot(&old_chef).await.pending_ingredient_requests, 4);
    drop(old);
    let new_epoch = new_epoch.to_string();

    let url = app.database_url().to_string();
    let restored = spawn_app_with(Db::Sqlite, |config| config.database_url = Some(url)).await;
    let chef = restored.token(GORDON).await;
    let snapshot = restored.snapshot(&chef).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.seq), (3, 3));
    assert_eq!(snapshot.epoch, new_epoch);
    assert_ne!(snapshot.epoch, live_epoch);
    let _ = std::fs::remove_file(&copy);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{kept}{suffix}"));
    }
}

/// `server renew-epoch` (after a `pg_restore`): the next server start sends the new epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_epoch_gives_a_postgres_database_a_new_epoch() {
    let mut app = spawn_app(Db::Postgres).await;
    let before = app.store.epoch().to_string();
    app.shut_down().await;
    let printed = run_cli(app.database_url(), &["renew-epoch"]).await;
    let url = app.database_url().to_string();
    let restarted = spawn_app_with(Db::Postgres, |config| config.database_url = Some(url)).await;
    let epoch = restarted.store.epoch().to_string();
    assert_ne!(epoch, before);
    assert!(printed.contains(&epoch), "{printed}");
}

/// A first start with the default SQLite file in a data directory that does not exist yet:
/// the directory is made (the lock beside the database is taken before the database opens).
#[tokio::test]
async fn a_first_start_makes_the_data_directory() {
    let data_dir = std::env::temp_dir().join(format!("miseos-first-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let new_dir = data_dir.clone();
    let app = spawn_app_with(Db::Sqlite, move |config| {
        config.database_url = None;
        config.data_dir = new_dir;
    })
    .await;
    let chef = app.token(GORDON).await;
    assert_eq!(app.snapshot(&chef).await.seq, 0);
    assert!(data_dir.join("miseos.db").is_file() && data_dir.join("miseos.db.lock").is_file());
    drop(app);
    let _ = std::fs::remove_dir_all(&data_dir);
}
