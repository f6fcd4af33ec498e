//! Backups: `server backup PATH` copies a running SQLite database consistently.

use crate::{
    accounts::{run_cli, run_cli_status},
    helpers::*,
};

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
