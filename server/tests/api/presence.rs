//! Presence (API.md section 13): a cook hears how many chefs have a dashboard open.

use crate::helpers::*;
use app::wire::Notification;
use std::time::Duration;
use tokio::time::Instant;

/// The count in a cook's welcome.
async fn welcomed_count(socket: &mut Socket) -> Option<i64> {
    match socket.next().await {
        Notification::Connected { chefs_online, .. } => chefs_online,
        other => panic!("expected the welcome, got {other:?}"),
    }
}

/// The next CHEFS_ONLINE a cook hears within `within`, and how long it took.
pub async fn next_count(socket: &mut Socket, within: Duration) -> (i64, Duration) {
    let started = Instant::now();
    match socket.next_within(within).await {
        Received::Message(Notification::ChefsOnline { count, timestamp }) => {
            assert_eq!(timestamp.len(), "2026-03-27 10:15".len());
            (count, started.elapsed())
        }
        other => panic!("expected CHEFS_ONLINE within {within:?}, got {other:?}"),
    }
}

crate::on_both_databases!(a_cook_hears_when_chefs_open_and_close_their_dashboards);

/// The welcome says 0; a chef's dashboard makes it 1 within 2 s, their second tab changes
/// nothing, a second chef makes it 2; closing every tab of the first makes it 1 (after a
/// second's grace, so a reconnect is not news); another chef's tab closing and opening again
/// at once is not heard at all.
async fn a_cook_hears_when_chefs_open_and_close_their_dashboards(db: Db) {
    let app = spawn_app(db).await;
    crate::kitchens::second_kitchen(&app.store).await;
    let (gordon, monica, ali) = (app.token(GORDON).await, app.token(MONICA).await, app.token(ALI).await);
    let mut cook = app.socket(&ali).await.hearing_presence();
    assert_eq!(welcomed_count(&mut cook).await, Some(0));
    let mut other_kitchens_cook = app.socket(&app.token(crate::kitchens::METTE).await).await.hearing_presence();
    assert_eq!(welcomed_count(&mut other_kitchens_cook).await, Some(0));
    let mut first_tab = app.socket(&gordon).await;
    let (count, after) = next_count(&mut cook, Duration::from_secs(2)).await;
    assert_eq!(count, 1);
    let mut second_tab = app.socket(&gordon).await;
    second_tab.skip_greeting().await;
    cook.expect_silence().await;
    let mut monicas = app.socket(&monica).await;
    assert_eq!(next_count(&mut cook, Duration::from_secs(2)).await.0, 2);
    first_tab.stream.close(None).await.expect("closed");
    second_tab.stream.close(None).await.expect("closed");
    let (count, gone_after) = next_count(&mut cook, Duration::from_secs(3)).await;
    assert_eq!(count, 1);
    assert!(gone_after >= Duration::from_millis(900), "the grace: {gone_after:?}");
    // Monica's tablet reconnects at once: nobody hears of it.
    monicas.stream.close(None).await.expect("closed");
    let mut again = app.socket(&monica).await;
    again.skip_greeting().await;
    assert_eq!(cook.next_within(Duration::from_millis(2_000)).await, Received::Timeout);
    // A cook who connects now is welcomed with the count.
    let mut sara = app.socket(&app.token(SARA).await).await.hearing_presence();
    assert_eq!(welcomed_count(&mut sara).await, Some(1));
    // Nothing of it reached the other kitchen; its own head chef does.
    assert_eq!(other_kitchens_cook.next_within(Duration::from_millis(300)).await, Received::Timeout);
    let mut rene = app.socket(&app.token(crate::kitchens::RENE).await).await;
    rene.skip_greeting().await;
    assert_eq!(next_count(&mut other_kitchens_cook, Duration::from_secs(2)).await.0, 1);
    cook.expect_silence().await;
    println!("a chef's dashboard heard by the cook after {after:?}; every tab closed heard after {gone_after:?}");
}

/// Two processes on one PostgreSQL database: a cook on one hears a chef whose dashboard is on
/// the other, and cooks connecting on either are welcomed with the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_crosses_processes() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let first = ServerProcess::start(&database.url).await;
    let second = ServerProcess::start(&database.url).await;
    let mut cook = open_socket(first.port, &first.token(ALI).await).await.hearing_presence();
    assert_eq!(welcomed_count(&mut cook).await, Some(0));
    let mut chef = open_socket(second.port, &second.token(GORDON).await).await;
    chef.skip_greeting().await;
    let (count, after) = next_count(&mut cook, Duration::from_secs(2)).await;
    assert_eq!(count, 1);
    // A cook connecting on either process is welcomed with it.
    let mut on_second = open_socket(second.port, &second.token(SARA).await).await.hearing_presence();
    assert_eq!(welcomed_count(&mut on_second).await, Some(1));
    let mut on_first = open_socket(first.port, &first.token(NOAH).await).await.hearing_presence();
    assert_eq!(welcomed_count(&mut on_first).await, Some(1));
    chef.stream.close(None).await.expect("closed");
    assert_eq!(next_count(&mut cook, Duration::from_secs(3)).await.0, 0);
    assert_eq!(next_count(&mut on_second, Duration::from_secs(3)).await.0, 0);
    println!("across processes: a chef's dashboard heard by a cook on the other process after {after:?}");
}
