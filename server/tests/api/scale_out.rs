//! Section 6: several server processes (the real binary) on one PostgreSQL behave as one.

use crate::helpers::*;
use app::wire::{close_code, Category, NewIngredientRequest, Notification, ReviewBody};
use std::time::Duration;

impl ServerProcess {
    async fn create(&self, token: &str, name: &str) -> reqwest::Result<reqwest::Response> {
        let body = NewIngredientRequest {
            item_name: name.into(),
            quantity: app::wire::Quantity(1.0),
            unit: "kg".into(),
            note: None,
        };
        self.http.post(self.url("/api/v1/ingredient-requests")).bearer_auth(token).json(&body).send().await
    }

    async fn approve(&self, token: &str, id: i64) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/ingredient-requests/{id}/approve")))
            .bearer_auth(token)
            .json(&ReviewBody::default())
            .send()
            .await
            .expect("approve")
    }

    async fn ready(&self) -> u16 {
        match self.http.get(self.url("/readyz")).send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        }
    }
}

/// `N` server processes on `database`, each started (and listening) in turn.
async fn start_processes<const N: usize>(database: &FreshDatabase) -> [ServerProcess; N] {
    let mut processes = Vec::with_capacity(N);
    for _ in 0..N {
        processes.push(ServerProcess::start(&database.url).await);
    }
    processes.try_into().unwrap_or_else(|_| unreachable!("exactly N processes were started"))
}

/// Terminates every LISTEN connection to `database` (one per server process) from
/// PostgreSQL's side; returns how many there were.
async fn cut_listeners(database: &FreshDatabase) -> usize {
    use sqlx::Connection;
    let name = database.url.rsplit('/').next().expect("a database name");
    let mut control = sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("PostgreSQL");
    let terminated: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'",
    )
    .bind(name)
    .fetch_all(&mut control)
    .await
    .expect("terminate");
    terminated.len()
}

/// Reads notifications until the last count of each category is known and `announcements`
/// NEW_* messages arrived; checks `seq` strictly increases on the way.
async fn follow(socket: &mut Socket, announcements: usize, final_seq: i64) -> (i64, usize) {
    let (mut last_seq, mut seen, mut ingredient_count) = (0, 0, -1);
    while seen < announcements || last_seq < final_seq {
        match socket.next().await {
            Notification::PendingCountUpdated { category, count, seq, .. } => {
                assert!(seq > last_seq, "seq {seq} after {last_seq}");
                last_seq = seq;
                if category == Category::IngredientRequest {
                    ingredient_count = count;
                }
            }
            Notification::NewIngredientRequest(_) => seen += 1,
            // Each review is told before its count.
            Notification::ItemReviewed(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    (ingredient_count, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_events_seq_and_counts() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let processes: [ServerProcess; 3] = start_processes(&database).await;
    let (chef, cook) = (processes[1].token(GORDON).await, processes[0].token(ALI).await);
    let mut cook_socket = open_socket(processes[0].port, &cook).await;
    cook_socket.skip_greeting().await;
    let mut admins = [open_socket(processes[1].port, &chef).await, open_socket(processes[2].port, &chef).await];
    for admin in &mut admins {
        admin.skip_greeting().await;
    }
    // 30 concurrent creates, through all three processes.
    let creates = (0..30).map(|index| {
        let (process, cook) = (&processes[index % 3], cook.clone());
        async move {
            expect_json::<app::wire::IngredientRequest>(
                process.create(&cook, &format!("Vare {index}")).await.expect("create"),
                201,
            )
            .await
            .id
        }
    });
    let ids = futures::future::join_all(creates).await;
    // Reviews through another process reach the cook on the first one.
    for id in &ids[..5] {
        assert_eq!(processes[2].approve(&chef, *id).await.status(), 200);
    }
    for _ in 0..5 {
        assert!(matches!(cook_socket.next().await, Notification::RequestApproved(_)));
    }
    let snapshot = processes[1].snapshot(&chef).await;
    assert_eq!((snapshot.pending_ingredient_requests, snapshot.seq), (25, 35));
    for admin in &mut admins {
        let (last_count, announcements) = follow(admin, 30, snapshot.seq).await;
        assert_eq!((last_count, announcements), (snapshot.pending_ingredient_requests, 30));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_staff_session_wins_across_processes() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let [first, second] = start_processes(&database).await;
    let (chef, cook) = (first.token(GORDON).await, second.token(ALI).await);
    let mut older = open_socket(first.port, &cook).await;
    older.skip_greeting().await;
    let mut newer = open_socket(second.port, &cook).await;
    newer.skip_greeting().await;
    assert_eq!(older.expect_close().await, (close_code::REPLACED, "replaced by a newer session".to_string()));
    let id =
        expect_json::<app::wire::IngredientRequest>(first.create(&cook, "Dild").await.expect("create"), 201).await.id;
    first.approve(&chef, id).await;
    assert!(matches!(newer.next().await, Notification::RequestApproved(_)));

    // Two connections of one user at the same instant on two processes: exactly one stays.
    let sara = first.token(SARA).await;
    for round in 0..5 {
        let (mut on_first, mut on_second) =
            tokio::join!(open_socket(first.port, &sara), open_socket(second.port, &sara));
        let mut closed = 0;
        for socket in [&mut on_first, &mut on_second] {
            loop {
                match socket.next_within(Duration::from_millis(1500)).await {
                    Received::Message(_) => continue,
                    Received::Closed(Some((code, _))) => {
                        assert_eq!(code, close_code::REPLACED);
                        closed += 1;
                        break;
                    }
                    Received::Closed(None) => panic!("dropped without a close frame"),
                    Received::Timeout => break,
                }
            }
        }
        // The previous round's survivor is replaced too: exactly one of the two new ones is open.
        assert_eq!(closed, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listen_connection_is_restored_and_counts_are_resent() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let [listening, writer] = start_processes(&database).await;
    let chef = listening.token(GORDON).await;
    let cook = writer.token(ALI).await;
    let mut admin = open_socket(listening.port, &chef).await;
    admin.skip_greeting().await;
    // Cut every LISTEN connection to the test database (one per process), then write through
    // the second process while the first cannot hear it.
    assert_eq!(cut_listeners(&database).await, 2, "one LISTEN connection per process");
    let mut saw_unready = false;
    for _ in 0..50 {
        if listening.ready().await == 503 {
            saw_unready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(saw_unready, "/readyz reports not ready while the listener is cut off");
    expect_json::<app::wire::IngredientRequest>(writer.create(&cook, "Mens vi var væk").await.expect("create"), 201)
        .await;
    // Back with backoff; the admin gets the current count even though the event was missed.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "the count was never resent");
        if let Received::Message(Notification::PendingCountUpdated {
            category: Category::IngredientRequest,
            count: 1,
            ..
        }) = admin.next_within(Duration::from_millis(500)).await
        {
            break;
        }
    }
    assert_eq!(listening.ready().await, 200);

    // Cut again with nothing missed: the counts are resent all the same.
    while let Received::Message(_) = admin.next_within(Duration::from_millis(300)).await {}
    cut_listeners(&database).await;
    let mut resent = Vec::new();
    while resent.len() < 2 {
        match admin.next_within(Duration::from_secs(10)).await {
            Received::Message(Notification::PendingCountUpdated { category, count, .. }) => {
                resent.push((category, count))
            }
            other => panic!("expected the resent counts, got {other:?}"),
        }
    }
    assert_eq!(resent, vec![(Category::IngredientRequest, 1), (Category::DishSuggestion, 0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_loses_no_committed_change() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let mut processes: [ServerProcess; 3] = start_processes(&database).await;
    let (chef, cook) = (processes[0].token(GORDON).await, processes[1].token(ALI).await);
    let mut admin = open_socket(processes[0].port, &chef).await;
    admin.skip_greeting().await;
    let mut on_victim = open_socket(processes[2].port, &chef).await;
    on_victim.skip_greeting().await;
    let mut committed = 0;
    for round in 0..60 {
        if round == 20 {
            processes[2].child.start_kill().expect("SIGKILL");
            processes[2].child.wait().await.expect("reaped");
        }
        let process = &processes[round % 3];
        if let Ok(response) = process.create(&cook, &format!("Runde {round}")).await {
            if response.status() == 201 {
                committed += 1;
            }
        }
    }
    let sent_to_the_dead = (20..60).filter(|round| round % 3 == 2).count() as i64;
    assert_eq!(committed, 60 - sent_to_the_dead, "only the writes sent to the killed process fail");
    // Its client notices (after what it had already received) and reconnects elsewhere.
    loop {
        match on_victim.next_within(Duration::from_secs(5)).await {
            Received::Message(_) => continue,
            Received::Closed(_) => break,
            Received::Timeout => panic!("the killed process's client never noticed"),
        }
    }
    let snapshot = processes[0].snapshot(&chef).await;
    assert_eq!(snapshot.pending_ingredient_requests, committed);
    // The greeting carries the counts this process has heard of so far; a NOTIFY still on its
    // way follows it, so the reconnected client is up to date once it reaches the snapshot's seq.
    let mut moved = open_socket(processes[1].port, &chef).await;
    let Notification::Connected { .. } = moved.next().await else { panic!("welcome") };
    let (mut moved_count, mut moved_seq) = (-1, 0);
    while moved_seq < snapshot.seq {
        if let Notification::PendingCountUpdated { category, count, seq, .. } = moved.next().await {
            assert!(seq >= moved_seq, "seq {seq} after {moved_seq}");
            moved_seq = seq;
            if category == Category::IngredientRequest {
                moved_count = count;
            }
        }
    }
    assert_eq!(moved_count, committed);
    let (last_count, _) = follow(&mut admin, committed as usize, snapshot.seq).await;
    assert_eq!(last_count, committed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_made_while_the_listener_was_cut_off_still_closes_the_older_session() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let [first, second] = start_processes(&database).await;
    let cook = first.token(ALI).await;
    let mut older = open_socket(first.port, &cook).await;
    older.skip_greeting().await;
    cut_listeners(&database).await;
    // The newer session lands on the other process, possibly while the first cannot hear
    // the claim; either way the first closes its session once it knows.
    let mut newer = open_socket(second.port, &cook).await;
    newer.skip_greeting().await;
    assert_eq!(older.expect_close().await.0, close_code::REPLACED);
    newer.expect_silence().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_sessions_end_on_every_process() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let [first, second] = start_processes(&database).await;
    let chef = first.token(GORDON).await;
    let cook = first.token(ALI).await;
    let mut cook_socket = open_socket(second.port, &cook).await;
    cook_socket.skip_greeting().await;
    let mut chef_socket = open_socket(second.port, &chef).await;
    chef_socket.skip_greeting().await;
    let me = |process: &ServerProcess, token: &str| {
        process.http.get(process.url("/api/v1/auth/me")).bearer_auth(token.to_string()).send()
    };
    assert_eq!(me(&second, &cook).await.unwrap().status(), 200);

    let disable = app::wire::UserChanges { active: Some(false), ..Default::default() };
    let response =
        first.http.patch(first.url("/api/v1/users/3")).bearer_auth(&chef).json(&disable).send().await.expect("PATCH");
    assert_eq!(response.status(), 200);
    assert_eq!(cook_socket.expect_close().await, (close_code::POLICY_VIOLATION, "account disabled".into()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while me(&second, &cook).await.unwrap().status() != 401 {
        assert!(tokio::time::Instant::now() < deadline, "the other process still admits the token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let response = first.http.post(first.url("/api/v1/auth/logout")).bearer_auth(&chef).send().await.expect("logout");
    assert_eq!(response.status(), 204);
    assert_eq!(chef_socket.expect_close().await, (close_code::POLICY_VIOLATION, "signed out".into()));
    let refused = me(&second, &chef).await.unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_kitchens_across_two_processes_stay_apart() {
    use crate::kitchens::{second_kitchen, METTE, RENE};
    let database = FreshDatabase::create(Db::Postgres).await;
    let processes: [ServerProcess; 2] = start_processes(&database).await;
    let store = server::store::Store::connect(&database.url, 2, server::clock::KitchenClock::new(chrono_tz::UTC))
        .await
        .expect("the database");
    second_kitchen(&store).await;
    let (gordon, rene) = (processes[0].token(GORDON).await, processes[1].token(RENE).await);
    let (ali, mette) = (processes[1].token(ALI).await, processes[0].token(METTE).await);
    let mut gordon_socket = open_socket(processes[0].port, &gordon).await;
    let mut rene_socket = open_socket(processes[1].port, &rene).await;
    let mut ali_socket = open_socket(processes[1].port, &ali).await;
    let mut mette_socket = open_socket(processes[0].port, &mette).await;
    for socket in [&mut gordon_socket, &mut rene_socket, &mut ali_socket, &mut mette_socket] {
        socket.skip_greeting().await;
    }
    // Mette writes through the process René is not on, and only René hears, at Noma's seq 1.
    let mettes =
        expect_json::<app::wire::IngredientRequest>(processes[1].create(&mette, "Tang").await.expect("create"), 201)
            .await
            .id;
    assert!(
        matches!(rene_socket.next().await, Notification::NewIngredientRequest(notice) if notice.request_id == mettes)
    );
    assert!(matches!(rene_socket.next().await, Notification::PendingCountUpdated { count: 1, seq: 1, .. }));
    // Ali writes through René's process; only Gordon hears, at the demo kitchen's seq 1.
    processes[1].create(&ali, "Dild").await.expect("create");
    assert!(matches!(gordon_socket.next().await, Notification::NewIngredientRequest(_)));
    assert!(matches!(gordon_socket.next().await, Notification::PendingCountUpdated { count: 1, seq: 1, .. }));
    // Gordon cannot review Noma's item on either process; René can, and Mette hears it.
    for process in &processes {
        assert_eq!(process.approve(&gordon, mettes).await.status(), 404);
    }
    assert_eq!(processes[0].approve(&rene, mettes).await.status(), 200);
    assert!(matches!(mette_socket.next().await, Notification::RequestApproved(notice) if notice.request_id == mettes));
    assert!(matches!(rene_socket.next().await, Notification::ItemReviewed(notice) if notice.request_id == mettes));
    assert!(matches!(rene_socket.next().await, Notification::PendingCountUpdated { count: 0, seq: 2, .. }));
    for socket in [&mut gordon_socket, &mut ali_socket] {
        socket.expect_silence().await;
    }
    // After a lost LISTEN connection each process resends every kitchen its own counts.
    assert_eq!(cut_listeners(&database).await, 2);
    assert!(matches!(gordon_socket.next().await, Notification::PendingCountUpdated { count: 1, seq: 1, .. }));
    assert!(matches!(gordon_socket.next().await, Notification::PendingCountUpdated { count: 0, seq: 1, .. }));
    assert!(matches!(rene_socket.next().await, Notification::PendingCountUpdated { count: 0, seq: 2, .. }));
    assert!(matches!(rene_socket.next().await, Notification::PendingCountUpdated { count: 0, seq: 2, .. }));
    for process in &processes {
        assert_eq!(process.snapshot(&rene).await.seq, 2);
        assert_eq!(process.snapshot(&gordon).await.seq, 1);
    }
    store.close().await;
}

/// API.md section 12: a kitchen's settings changed through one process reach the pages on
/// another at once, and that process reads the kitchen's times in the new zone from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kitchen_settings_changed_on_one_process_reach_the_others() {
    let database = FreshDatabase::create(Db::Postgres).await;
    let [first, second]: [ServerProcess; 2] = start_processes(&database).await;
    let (chef, cook) = (first.token(GORDON).await, second.token(ALI).await);
    // The second process reads (and keeps) the kitchen's clock before the change.
    expect_json::<app::wire::IngredientRequest>(second.create(&cook, "Før").await.expect("create"), 201).await;
    let mut cook_socket = open_socket(second.port, &cook).await;
    cook_socket.skip_greeting().await;
    let changes = app::wire::KitchenChanges { time_zone: Some("America/Lima".into()), ..Default::default() };
    let response =
        first.http.patch(first.url("/api/v1/kitchen")).bearer_auth(&chef).json(&changes).send().await.expect("PATCH");
    let changed: app::wire::KitchenSettings = expect_json(response, 200).await;
    let Notification::KitchenUpdated { kitchen } = cook_socket.next().await else { panic!("KITCHEN_UPDATED") };
    assert_eq!(kitchen, changed);
    let read: app::wire::KitchenSettings = expect_json(second.get("/api/v1/kitchen", &cook).await, 200).await;
    assert_eq!(read.time_zone, "America/Lima");
    let after: app::wire::IngredientRequest =
        expect_json(second.create(&cook, "Efter").await.expect("create"), 201).await;
    let lima = server::clock::KitchenClock::new(chrono_tz::America::Lima);
    assert_eq!(after.created_at, lima.format(after.created_at_millis));
}

/// API.md section 12: an item is escalated once across processes and restarts. Every process
/// looks every few seconds and the claim is a write: two processes tell their sockets of a late
/// item once each; after both restart, the new processes escalate an item that came due
/// since, once, and the earlier one never again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_is_escalated_once_across_processes_and_restarts() {
    const TWO_LOOKS: Duration = Duration::from_secs(12);
    let database = FreshDatabase::create(Db::Postgres).await;
    let [mut first, mut second]: [ServerProcess; 2] = start_processes(&database).await;
    let (gordon, monica, ali) = (first.token(GORDON).await, second.token(MONICA).await, first.token(ALI).await);
    let late: app::wire::IngredientRequest = expect_json(first.create(&ali, "Dild").await.expect("create"), 201).await;
    let later: app::wire::IngredientRequest =
        expect_json(first.create(&ali, "Persille").await.expect("create"), 201).await;
    let mut on_first = open_socket(first.port, &gordon).await;
    let mut on_second = open_socket(second.port, &monica).await;
    on_first.skip_greeting().await;
    on_second.skip_greeting().await;
    backdate(&database.url, Category::IngredientRequest, late.id, 20).await;
    let (told_first, told_second) =
        tokio::join!(on_first.escalations_within(TWO_LOOKS), on_second.escalations_within(TWO_LOOKS));
    assert_eq!(told_first.len(), 1, "{told_first:?}");
    assert_eq!(told_first, told_second, "the same escalation, told once on each process");
    assert_eq!((told_first[0].request_id, told_first[0].waited_minutes), (late.id, 20));

    first.stop().await;
    second.stop().await;
    let [third, fourth]: [ServerProcess; 2] = start_processes(&database).await;
    let mut on_third = open_socket(third.port, &gordon).await;
    let mut on_fourth = open_socket(fourth.port, &monica).await;
    on_third.skip_greeting().await;
    on_fourth.skip_greeting().await;
    backdate(&database.url, Category::IngredientRequest, later.id, 25).await;
    let (told_third, told_fourth) =
        tokio::join!(on_third.escalations_within(TWO_LOOKS), on_fourth.escalations_within(TWO_LOOKS));
    assert_eq!(told_third.len(), 1, "the later item alone, once: {told_third:?}");
    assert_eq!(told_third, told_fourth);
    assert_eq!((told_third[0].request_id, told_third[0].waited_minutes), (later.id, 25));
    let earlier: app::wire::IngredientRequest =
        expect_json(third.get(&format!("/api/v1/ingredient-requests/{}", late.id), &gordon).await, 200).await;
    assert_eq!(earlier.escalated_at_millis, Some(told_first[0].escalated_at_millis), "claimed once, never again");
}

/// A series of a process's `/metrics`, 0 while it does not exist.
async fn metric(process: &ServerProcess, series: &str) -> f64 {
    let text = process.http.get(process.url("/metrics")).send().await.expect("GET /metrics").text().await.unwrap();
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

/// Waits (up to 10 s) until a series of a process's `/metrics` has `value`.
async fn metric_reaches(process: &ServerProcess, series: &str, value: f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while metric(process, series).await != value {
        assert!(tokio::time::Instant::now() < deadline, "{series} never reached {value}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An admin socket's greeting: its two counts, as (category, count, seq).
async fn greeting_counts(socket: &mut Socket) -> [(Category, i64, i64); 2] {
    assert!(matches!(socket.next().await, Notification::Connected { .. }));
    [socket.next().await, socket.next().await].map(|frame| match frame {
        Notification::PendingCountUpdated { category, count, seq, .. } => (category, count, seq),
        other => panic!("expected a count, got {other:?}"),
    })
}

/// docs/SCALING.md, step 1: a process reads the events of only the kitchens it has a socket
/// of. Its first admin of a kitchen reads the kitchen's counts (everything written through the
/// other process meanwhile), then follows it live; when its last socket goes, the kitchen's
/// events are no longer read, and the next admin reads the counts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_reads_the_events_of_only_the_kitchens_it_has_a_socket_of() {
    const SKIPPED: &str = "miseos_bus_events_skipped_total";
    const ADMINS_OPEN: &str = r#"miseos_ws_sessions_open{session_type="admin"}"#;
    let database = FreshDatabase::create(Db::Postgres).await;
    let [writer, other]: [ServerProcess; 2] = start_processes(&database).await;
    let (chef, cook) = (other.token(GORDON).await, writer.token(ALI).await);
    let create = |name: &'static str| async {
        expect_json::<app::wire::IngredientRequest>(writer.create(&cook, name).await.expect("create"), 201).await
    };
    for name in ["Dild", "Persille", "Kørvel"] {
        create(name).await;
    }
    metric_reaches(&other, SKIPPED, 3.0).await;
    assert_eq!(metric(&writer, SKIPPED).await, 3.0, "the writer has no socket either");

    let mut admin = open_socket(other.port, &chef).await;
    assert_eq!(
        greeting_counts(&mut admin).await,
        [(Category::IngredientRequest, 3, 3), (Category::DishSuggestion, 0, 3)],
        "the first admin reads the counts"
    );
    let fourth = create("Estragon").await;
    assert!(matches!(admin.next().await, Notification::NewIngredientRequest(notice) if notice.request_id == fourth.id));
    assert!(matches!(
        admin.next().await,
        Notification::PendingCountUpdated { category: Category::IngredientRequest, count: 4, seq: 4, .. }
    ));
    assert_eq!(metric(&other, SKIPPED).await, 3.0, "the kitchen's events are read while it has a socket");

    drop(admin);
    metric_reaches(&other, ADMINS_OPEN, 0.0).await;
    create("Timian").await;
    metric_reaches(&other, SKIPPED, 4.0).await;
    let mut again = open_socket(other.port, &chef).await;
    assert_eq!(
        greeting_counts(&mut again).await[0],
        (Category::IngredientRequest, 5, 5),
        "the next admin reads them again"
    );
}
