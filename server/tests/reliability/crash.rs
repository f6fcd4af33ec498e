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
    let cook = server.token(ALI).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (http, url, cook, acknowledged) =
                (server.http.clone(), server.url("/api/v1/ingredient-requests"), cook.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for index in 0..200 {
                    let body = app::wire::NewIngredientRequest {
                        item_name: format!("w{writer}-{index}"),
                        quantity: app::wire::Quantity(1.0),
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
    let chef = restarted.token(GORDON).await;
    for id in &acknowledged {
        let response = restarted.get(&format!("/api/v1/ingredient-requests/{id}"), &chef).await;
        assert_eq!(response.status(), 200, "acknowledged item {id} was lost");
    }
    let items: Vec<app::wire::IngredientRequest> =
        expect_json(restarted.get("/api/v1/ingredient-requests?limit=1000", &chef).await, 200).await;
    let snapshot = restarted.snapshot(&chef).await;
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
