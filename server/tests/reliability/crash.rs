//! kill -9 of the server in the middle of concurrent writes: what was acknowledged survives.

use crate::helpers::*;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

crate::on_both_databases!(every_acknowledged_write_survives_a_kill_during_concurrent_writes);

async fn every_acknowledged_write_survives_a_kill_during_concurrent_writes(db: Db) {
    let database = FreshDatabase::create(db).await;
    let mut server = ServerProcess::start(&database.url).await;
    let login = |server: &ServerProcess, email: &str| {
        let request = server
            .http
            .post(server.url("/api/v1/auth/login"))
            .json(&app::wire::LoginRequest { email: email.into(), password: PASSWORD.into() })
            .send();
        async move { request.await.expect("login").json::<app::wire::LoginResponse>().await.expect("body").token }
    };
    let cook = login(&server, ALI).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (http, url, cook, acknowledged) =
                (server.http.clone(), server.url("/api/v1/ingredient-requests"), cook.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for index in 0..200 {
                    let body = app::wire::NewIngredientRequest {
                        item_name: format!("w{writer}-{index}"),
                        quantity: 1.0,
                        unit: "kg".into(),
                        note: None,
                    };
                    // Once the server is killed, calls fail: the writer stops.
                    let Ok(response) = http.post(&url).bearer_auth(&cook).json(&body).send().await else { return };
                    if response.status() != 201 {
                        return;
                    }
                    let Ok(item) = response.json::<app::wire::IngredientRequest>().await else { return };
                    acknowledged.lock().expect("the list").push(item.id);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
    for writer in writers {
        let _ = writer.await;
    }
    let acknowledged = acknowledged.lock().expect("the list").clone();
    assert!(acknowledged.len() > 10, "the writers were writing ({} acknowledged)", acknowledged.len());

    let restarted = ServerProcess::start(&database.url).await;
    let chef = login(&restarted, GORDON).await;
    for id in &acknowledged {
        let response = restarted
            .http
            .get(restarted.url(&format!("/api/v1/ingredient-requests/{id}")))
            .bearer_auth(&chef)
            .send()
            .await
            .expect("read");
        assert_eq!(response.status(), 200, "acknowledged item {id} was lost");
    }
    let items: Vec<app::wire::IngredientRequest> = restarted
        .http
        .get(restarted.url("/api/v1/ingredient-requests?limit=1000"))
        .bearer_auth(&chef)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("items");
    let snapshot: app::wire::Snapshot = restarted
        .http
        .get(restarted.url("/api/v1/notifications/snapshot"))
        .bearer_auth(&chef)
        .send()
        .await
        .expect("snapshot")
        .json()
        .await
        .expect("snapshot body");
    // Only creates happened: every item is pending, each took one seq.
    assert_eq!(snapshot.pending_ingredient_requests, items.len() as i64, "counts equal the items");
    assert_eq!(snapshot.seq, items.len() as i64, "seq covers every change");
    println!(
        "kill -9 during 4 concurrent writers ({db:?}): {} acknowledged, {} stored after the restart, all acknowledged present; counts and seq = {}",
        acknowledged.len(),
        items.len(),
        snapshot.seq
    );
}
