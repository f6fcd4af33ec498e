//! Presence survives a process that dies: its chefs stop counting within 60 s.

use crate::helpers::*;
use app::wire::Notification;
use std::time::Duration;
use tokio::time::Instant;

/// A chef's dashboard is on a process that is killed with SIGKILL (its sockets never close
/// cleanly); a cook on another process hears the count drop to 0 within 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chef_on_a_killed_process_stops_counting_within_a_minute() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let first = ServerProcess::start(&database.url).await;
    let mut doomed = ServerProcess::start(&database.url).await;
    let mut cook = open_socket(first.port, &first.token(ALI).await).await.hearing_presence();
    cook.next().await;
    let mut chef = open_socket(doomed.port, &doomed.token(GORDON).await).await;
    chef.skip_greeting().await;
    assert!(matches!(cook.next().await, Notification::ChefsOnline { count: 1, .. }));
    doomed.child.start_kill().expect("SIGKILL");
    doomed.child.wait().await.expect("killed");
    let killed = Instant::now();
    match cook.next_within(Duration::from_secs(60)).await {
        Received::Message(Notification::ChefsOnline { count: 0, .. }) => {}
        other => panic!("expected CHEFS_ONLINE 0 within 60 s, got {other:?}"),
    }
    let heard_after = killed.elapsed();
    println!("a chef's process killed: the cook heard 0 chefs online {heard_after:?} later");
    drop(chef);
}
