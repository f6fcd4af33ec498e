//! The hub's rules, driven without sockets: registrations, claims, fan-out, counts, endings.

use super::*;
use crate::event::{Change, EndReason};
use app::wire::{
    AnyItem, Category, Decision, IngredientDetails, Item, ItemReviewedNotice, NewItemNotice, Person, Quantity,
    ReviewStatus, Role,
};

fn clock() -> KitchenClock {
    KitchenClock::new(chrono_tz::UTC)
}

/// The socket of user `id` in the tests' kitchen, opened by session number `id`.
fn user(id: i64, role: Role) -> SocketOwner {
    SocketOwner {
        user: UserId(id),
        kitchen: KITCHEN,
        session: SessionId::from_u128(u128::try_from(id).expect("test ids are positive")),
        session_type: if role.is_admin() { SessionType::Admin } else { SessionType::Staff },
    }
}

/// The kitchen of the tests' users and events.
const KITCHEN: KitchenId = KitchenId(1);

fn new_hub(queue_capacity: usize, max_sockets_per_user: usize) -> Hub {
    Hub::new("test", queue_capacity, max_sockets_per_user, HubMetrics::default())
}

/// Registers `owner` as the socket handler does, an admin reading the kitchen's counts (all
/// zero) when the hub asks for them.
fn join(hub: &Hub, owner: SocketOwner) -> Registration {
    join_reading(hub, owner, PendingCounts::default())
}

/// Registers `owner` as the socket handler does, an admin reading `counts` from the
/// database when the hub asks for them.
fn join_reading(hub: &Hub, owner: SocketOwner, counts: PendingCounts) -> Registration {
    let mut interest = hub.take_interest(owner.kitchen);
    if owner.session_type == SessionType::Admin && interest.counts_needed() {
        interest.read(counts);
    }
    hub.register(owner, None, clock(), interest).expect("registered")
}

fn ali() -> Person {
    Person { id: UserId(3), first_name: "Ali".into(), last_name: "Hassan".into() }
}

fn created(seq: i64, pending: i64) -> Event {
    Event {
        kitchen_id: KITCHEN,
        counts: PendingCounts { ingredient_requests: pending, dish_suggestions: 0, seq },
        category: Category::IngredientRequest,
        at_millis: 0,
        timestamp: "2026-03-27 10:15".into(),
        change: Change::Created {
            item_id: seq,
            item_name: "Dild".into(),
            requested_by: ali(),
            item: Some(Box::new(dill(seq))),
        },
    }
}

/// The item a [`created`] event announces.
fn dill(id: i64) -> AnyItem {
    AnyItem::IngredientRequest(Item {
        id,
        details: IngredientDetails {
            item_name: "Dild".into(),
            quantity: Quantity(2.0),
            unit: "bunch".into(),
            note: None,
        },
        status: ReviewStatus::Pending,
        requested_by: ali(),
        created_at: "2026-03-27 10:15".into(),
        created_at_millis: 0,
        reviewed_by: None,
        reviewed_at: None,
        reviewed_at_millis: None,
        review_note: None,
        escalated_at_millis: None,
    })
}

fn reviewed(seq: i64, pending: i64, decision: Decision) -> Event {
    Event {
        kitchen_id: KITCHEN,
        counts: PendingCounts { ingredient_requests: 0, dish_suggestions: pending, seq },
        category: Category::DishSuggestion,
        at_millis: 0,
        timestamp: "2026-03-27 10:20".into(),
        change: Change::Reviewed {
            item_id: 9,
            item_name: "Rødgrød".into(),
            requester_id: UserId(3),
            reviewed_by: Person { id: UserId(1), first_name: "Gordon".into(), last_name: "Ramsay".into() },
            decision,
            note: Some("i morgen".into()),
        },
    }
}

/// Everything queued on `outbox` so far, parsed; or the close request.
fn drain(outbox: &Outbox) -> Vec<Notification> {
    let mut frames = Vec::new();
    outbox.take_waiting(&mut frames, usize::MAX);
    frames.iter().map(|frame| serde_json::from_str(frame.payload()).expect("a notification")).collect()
}

#[test]
fn a_new_item_is_announced_to_the_admins_whole_then_counted() {
    let delivery = deliveries(&created(7, 2), true);
    let [Notification::NewIngredientRequest(NewItemNotice { request_id: 7, item, .. }), Notification::PendingCountUpdated { category: Category::IngredientRequest, count: 2, seq: 7, .. }] =
        &delivery.to_admins[..]
    else {
        panic!("NEW_INGREDIENT_REQUEST then its count: {:?}", delivery.to_admins);
    };
    assert_eq!(item.as_deref(), Some(&dill(7)));
    assert_eq!(delivery.to_staff, None);
}

#[test]
fn a_review_is_told_to_the_admins_before_its_count_and_to_the_requester() {
    let delivery = deliveries(&reviewed(8, 0, Decision::Reject), true);
    assert!(matches!(
        &delivery.to_admins[..],
        [
            Notification::ItemReviewed(ItemReviewedNotice {
                category: Category::DishSuggestion,
                request_id: 9,
                status: ReviewStatus::Rejected,
                ..
            }),
            Notification::PendingCountUpdated { category: Category::DishSuggestion, count: 0, seq: 8, .. },
        ]
    ));
    let Some((UserId(3), Notification::SuggestionRejected(notice))) = &delivery.to_staff else {
        panic!("the requester gets SUGGESTION_REJECTED: {:?}", delivery.to_staff);
    };
    assert_eq!((notice.request_id, notice.note.as_deref()), (9, Some("i morgen")));
}

#[test]
fn a_count_that_is_no_news_is_left_out() {
    assert_eq!(deliveries(&created(7, 2), false).to_admins.len(), 1);
    assert!(matches!(
        &deliveries(&reviewed(8, 0, Decision::Approve), false).to_admins[..],
        [Notification::ItemReviewed(_)]
    ));
}

#[test]
fn counts_take_only_newer_ones() {
    let mut counts = PendingCounts { ingredient_requests: 4, dish_suggestions: 1, seq: 10 };
    assert!(!counts.advance_to(created(10, 9).counts));
    assert!(counts.advance_to(PendingCounts { ingredient_requests: 5, dish_suggestions: 1, seq: 11 }));
    assert_eq!(counts, PendingCounts { ingredient_requests: 5, dish_suggestions: 1, seq: 11 });
}

#[tokio::test]
async fn an_admin_is_greeted_with_the_current_counts_and_a_cook_without() {
    let hub = new_hub(16, 0);
    let admin = join_reading(
        &hub,
        user(1, Role::HeadChef),
        PendingCounts { ingredient_requests: 2, dish_suggestions: 1, seq: 5 },
    );
    let greeting: Vec<Notification> =
        admin.greeting.iter().map(|frame| serde_json::from_str(frame.payload()).unwrap()).collect();
    assert!(matches!(
        &greeting[..],
        [
            Notification::Connected { session_type: SessionType::Admin, user_id: UserId(1), kitchen_id: KITCHEN, .. },
            Notification::PendingCountUpdated { category: Category::IngredientRequest, count: 2, seq: 5, .. },
            Notification::PendingCountUpdated { category: Category::DishSuggestion, count: 1, seq: 5, .. },
        ]
    ));
    let cook = join(&hub, user(3, Role::LineCook));
    assert_eq!(cook.greeting.len(), 1);
    assert_eq!(hub.socket_counts(), (1, 1));
}

#[tokio::test]
async fn a_newer_staff_socket_replaces_the_older_one() {
    let hub = new_hub(16, 0);
    let first = join(&hub, user(3, Role::LineCook));
    let second = join(&hub, user(3, Role::LineCook));
    assert_eq!(first.outbox.closed().await, CloseReason::REPLACED);
    // The replaced socket's end does not unregister its successor.
    drop(first);
    assert_eq!(hub.socket_counts(), (0, 1));
    hub.publish(&reviewed(1, 0, Decision::Approve));
    assert!(matches!(&drain(&second.outbox)[..], [Notification::SuggestionApproved(_)]));
}

#[tokio::test]
async fn claims_from_other_processes_decide_which_socket_is_newest() {
    let hub = new_hub(16, 0);
    let socket = hub.register(user(3, Role::LineCook), Some(10), clock(), hub.take_interest(KITCHEN)).unwrap();
    hub.apply_claim(StaffClaim { user_id: UserId(3), claim: 9 });
    hub.apply_claim(StaffClaim { user_id: UserId(4), claim: 99 });
    assert_eq!(hub.socket_counts(), (0, 1), "an older claim, or another user's, changes nothing");
    hub.apply_claim(StaffClaim { user_id: UserId(3), claim: 11 });
    assert_eq!(socket.outbox.closed().await, CloseReason::REPLACED);
    // A socket whose claim is already outdated when it registers is closed at once.
    let late = hub.register(user(3, Role::LineCook), Some(10), clock(), hub.take_interest(KITCHEN)).unwrap();
    assert_eq!(late.outbox.closed().await, CloseReason::REPLACED);
    assert_eq!(hub.socket_counts(), (0, 0));
}

#[tokio::test]
async fn a_socket_whose_queue_is_full_is_closed_and_removed_while_others_keep_up() {
    let hub = new_hub(4, 0);
    let slow = join(&hub, user(1, Role::HeadChef));
    let keeping_up = join(&hub, user(2, Role::SousChef));
    for seq in 1..=3 {
        hub.publish(&created(seq, seq));
        assert_eq!(drain(&keeping_up.outbox).len(), 2);
    }
    assert_eq!(slow.outbox.closed().await, CloseReason::TOO_SLOW);
    assert_eq!(hub.socket_counts(), (1, 0));
    hub.publish(&created(4, 4));
    assert_eq!(drain(&keeping_up.outbox).len(), 2);
}

#[tokio::test]
async fn a_resync_sends_the_counts_and_an_older_read_changes_nothing() {
    let hub = new_hub(16, 0);
    let admin = join(&hub, user(1, Role::HeadChef));
    hub.publish(&created(5, 1));
    drain(&admin.outbox);
    hub.resync(KITCHEN, PendingCounts { ingredient_requests: 0, dish_suggestions: 0, seq: 4 });
    assert!(drain(&admin.outbox).is_empty());
    hub.resync(KITCHEN, PendingCounts { ingredient_requests: 3, dish_suggestions: 2, seq: 9 });
    assert!(matches!(
        &drain(&admin.outbox)[..],
        [
            Notification::PendingCountUpdated { count: 3, seq: 9, .. },
            Notification::PendingCountUpdated { count: 2, seq: 9, .. },
        ]
    ));
    assert_eq!(hub.current_counts(KITCHEN).map(|counts| counts.seq), Some(9));
}

#[tokio::test]
async fn shutting_down_closes_every_socket_and_refuses_new_ones() {
    let hub = new_hub(16, 0);
    let admin = join(&hub, user(1, Role::HeadChef));
    let cook = join(&hub, user(3, Role::LineCook));
    let stopping = tokio::spawn({
        let hub = hub.clone();
        async move { hub.shut_down().await }
    });
    assert_eq!(admin.outbox.closed().await, CloseReason::SHUTDOWN);
    assert_eq!(cook.outbox.closed().await, CloseReason::SHUTDOWN);
    assert!(hub.register(user(2, Role::SousChef), None, clock(), hub.take_interest(KITCHEN)).is_err());
    // Shutdown waits until every socket task has ended (dropped its guard).
    drop((admin, cook));
    stopping.await.unwrap();
    assert!(!hub.is_interested_in(KITCHEN), "the refused socket gave its interest up, as the others did");
}

#[tokio::test]
async fn ending_a_session_closes_only_its_sockets_with_its_reason() {
    let hub = new_hub(16, 0);
    let chef_tablet = join(&hub, user(1, Role::HeadChef));
    let chef_wall = join(&hub, user(1, Role::HeadChef));
    let sous = join(&hub, user(2, Role::SousChef));
    let cook = join(&hub, user(3, Role::LineCook));
    hub.close_sockets_of(&[
        (SessionId::from_u128(1), CloseReason::policy(EndReason::SignedOut.reason())),
        (SessionId::from_u128(3), CloseReason::policy(EndReason::AccountDisabled.reason())),
    ]);
    assert_eq!(chef_tablet.outbox.closed().await, CloseReason::policy("signed out"));
    assert_eq!(chef_wall.outbox.closed().await, CloseReason::policy("signed out"));
    assert_eq!(cook.outbox.closed().await, CloseReason::policy("account disabled"));
    assert_eq!(hub.socket_counts(), (1, 0));
    hub.publish(&created(1, 1));
    assert_eq!(drain(&sous.outbox).len(), 2);
}

#[tokio::test]
async fn beyond_the_socket_cap_the_oldest_of_that_user_is_closed_with_4008() {
    let hub = new_hub(16, 2);
    let first = join(&hub, user(1, Role::HeadChef));
    let second = join(&hub, user(1, Role::HeadChef));
    let sous = join(&hub, user(2, Role::SousChef));
    let third = join(&hub, user(1, Role::HeadChef));
    assert_eq!(first.outbox.closed().await, CloseReason::TOO_MANY_SESSIONS);
    assert_eq!(hub.socket_counts(), (3, 0));
    // A socket that leaves makes room: the next one closes nobody.
    drop(second);
    let fourth = join(&hub, user(1, Role::HeadChef));
    assert_eq!(hub.socket_counts(), (3, 0));
    hub.publish(&created(1, 1));
    for alive in [&sous, &third, &fourth] {
        assert_eq!(drain(&alive.outbox).len(), 2, "the new item and its count");
    }
}

#[tokio::test]
async fn an_event_reaches_only_the_sockets_of_its_kitchen() {
    let hub = new_hub(16, 0);
    let our_chef = join(&hub, user(1, Role::HeadChef));
    let their_chef = join(&hub, SocketOwner { kitchen: KitchenId(2), ..user(7, Role::HeadChef) });
    let their_cook = join(&hub, SocketOwner { kitchen: KitchenId(2), ..user(8, Role::LineCook) });
    hub.publish(&created(1, 1));
    assert_eq!(drain(&our_chef.outbox).len(), 2);
    assert!(drain(&their_chef.outbox).is_empty());
    let mut theirs = reviewed(5, 0, Decision::Approve);
    theirs.kitchen_id = KitchenId(2);
    if let Change::Reviewed { requester_id, .. } = &mut theirs.change {
        *requester_id = UserId(8);
    }
    hub.publish(&theirs);
    assert!(drain(&our_chef.outbox).is_empty());
    assert!(matches!(
        &drain(&their_chef.outbox)[..],
        [Notification::ItemReviewed(_), Notification::PendingCountUpdated { seq: 5, .. }]
    ));
    assert!(matches!(&drain(&their_cook.outbox)[..], [Notification::SuggestionApproved(_)]));
    let seq = |kitchen| hub.current_counts(kitchen).map(|counts| counts.seq);
    assert_eq!((seq(KITCHEN), seq(KitchenId(2))), (Some(1), Some(5)));
}

/// One thread, so the pacer runs only when the test awaits.
#[tokio::test(flavor = "current_thread")]
async fn writes_wait_while_the_fan_out_is_behind_and_sockets_are_woken() {
    use futures::FutureExt;
    let in_time = std::time::Duration::from_secs(5);
    // Queues of 16 frames: a load of at most 2 (broadcasts not yet woken, writes under way).
    let hub = new_hub(16, 0);
    let ours = join(&hub, user(1, Role::HeadChef));
    let theirs = join(&hub, SocketOwner { kitchen: KitchenId(2), ..user(7, Role::HeadChef) });
    let waiting: Vec<_> = [&ours, &theirs]
        .map(|socket| {
            let outbox = socket.outbox.clone();
            tokio::spawn(async move { outbox.next().await })
        })
        .into();
    tokio::task::yield_now().await;

    let write = hub.admit_write().now_or_never().expect("nothing behind: admitted at once");
    hub.publish(&created(1, 1));
    drop(write);
    let second = hub.admit_write().now_or_never().expect("one broadcast behind: admitted");
    assert!(hub.admit_write().now_or_never().is_none(), "a broadcast and a write under way: full");
    let mut other_kitchens = created(1, 1);
    other_kitchens.kitchen_id = KitchenId(2);
    hub.publish(&other_kitchens);
    drop(second);
    assert!(hub.admit_write().now_or_never().is_none(), "two broadcasts behind: the write waits");

    let admitted = tokio::time::timeout(in_time, hub.admit_write()).await.expect("admitted once the pacer runs");
    for waiter in waiting {
        let next = tokio::time::timeout(in_time, waiter).await.expect("woken by the pacer").expect("ran");
        assert!(matches!(next, Next::Frame(_)), "{next:?}");
    }
    drop(admitted);
    // Every broadcast woken and every write done: the whole limit is free again.
    tokio::time::timeout(in_time, async {
        loop {
            let both = (hub.admit_write().now_or_never(), hub.admit_write().now_or_never());
            if matches!(both, (Some(_), Some(_))) {
                return;
            }
            drop(both);
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the load drains to nothing");
}

/// docs/SCALING.md, step 1: a kitchen's events matter here only while it has a socket (or
/// one about to register); its first admin reads its counts after taking the interest, and
/// registers with the newer of that read and what was published since.
#[tokio::test]
async fn a_kitchen_is_followed_only_while_it_has_a_socket_and_its_first_admin_reads_its_counts() {
    let hub = new_hub(16, 0);
    assert!(!hub.is_interested_in(KITCHEN));
    hub.publish(&created(1, 1));
    hub.resync(KITCHEN, PendingCounts { ingredient_requests: 1, dish_suggestions: 0, seq: 1 });
    assert!(!hub.is_interested_in(KITCHEN), "events and resyncs of a kitchen without sockets are not kept");

    // The first admin: interest, then the read; an event committed after the read arrives
    // before the registration and is newer than the read, so it wins.
    let mut interest = hub.take_interest(KITCHEN);
    assert!(hub.is_interested_in(KITCHEN) && interest.counts_needed());
    interest.read(PendingCounts { ingredient_requests: 3, dish_suggestions: 1, seq: 5 });
    hub.publish(&created(6, 4));
    let first = hub.register(user(1, Role::HeadChef), None, clock(), interest).unwrap();
    assert!(first.greeting[1].payload().contains(r#""count":4,"seq":6"#), "{}", first.greeting[1].payload());
    assert!(first.greeting[2].payload().contains(r#""count":0,"seq":6"#), "{}", first.greeting[2].payload());

    // A second admin starts from memory, without a read.
    let interest = hub.take_interest(KITCHEN);
    assert!(!interest.counts_needed(), "the counts are current while the kitchen has a socket");
    let second = hub.register(user(2, Role::SousChef), None, clock(), interest).unwrap();
    assert!(second.greeting[1].payload().contains(r#""seq":6"#));

    // Once the last socket is gone, the kitchen is not followed, and its next admin reads.
    drop((first, second));
    assert!(!hub.is_interested_in(KITCHEN));
    assert!(hub.take_interest(KITCHEN).counts_needed());
    assert!(!hub.is_interested_in(KITCHEN), "an interest dropped before registering is given up");

    // Another kitchen, never heard of: what its first admin reads.
    let other = join(&hub, SocketOwner { kitchen: KitchenId(2), ..user(7, Role::HeadChef) });
    assert!(other.greeting[1].payload().contains(r#""count":0,"seq":0"#), "{}", other.greeting[1].payload());
}

/// Two admins of a kitchen without sockets arrive at once: the second read runs ahead of an
/// event not yet published, so the first admin is sent the read's counts at once (that
/// event's count is no news when it comes), and its counts never stay behind.
#[tokio::test]
async fn a_read_that_runs_ahead_of_the_events_reaches_the_admins_already_there() {
    let hub = new_hub(16, 0);
    let mut early = hub.take_interest(KITCHEN);
    let mut late = hub.take_interest(KITCHEN);
    assert!(early.counts_needed() && late.counts_needed());
    early.read(PendingCounts { ingredient_requests: 5, dish_suggestions: 0, seq: 5 });
    late.read(PendingCounts { ingredient_requests: 6, dish_suggestions: 0, seq: 6 });
    let first = hub.register(user(1, Role::HeadChef), None, clock(), early).unwrap();
    drain(&first.outbox);
    let second = hub.register(user(2, Role::SousChef), None, clock(), late).unwrap();
    assert!(matches!(
        &drain(&first.outbox)[..],
        [
            Notification::PendingCountUpdated { count: 6, seq: 6, .. },
            Notification::PendingCountUpdated { count: 0, seq: 6, .. },
        ]
    ));
    hub.publish(&created(6, 6));
    for admin in [&first, &second] {
        assert!(
            matches!(&drain(&admin.outbox)[..], [Notification::NewIngredientRequest(_)]),
            "the item, no stale count"
        );
    }
}

/// docs/asyncapi.yaml names every message the hub sends and every close code and reason.
#[tokio::test]
async fn the_asyncapi_document_names_every_message_and_close() {
    let document = include_str!("../../../../docs/asyncapi.yaml");
    let mut messages: Vec<Notification> = Vec::new();
    for decision in [Decision::Approve, Decision::Reject] {
        for category in Category::ALL {
            let mut event = created(1, 1);
            event.category = category;
            messages.extend(deliveries(&event, true).to_admins);
            let mut review = reviewed(2, 0, decision);
            review.category = category;
            let delivery = deliveries(&review, true);
            messages.extend(delivery.to_admins);
            messages.extend(delivery.to_staff.map(|(_, message)| message));
        }
    }
    let user = user(1, Role::HeadChef);
    let hub = new_hub(16, 0);
    let greeting = join(&hub, user).greeting;
    messages.extend(greeting.iter().map(|frame| serde_json::from_str::<Notification>(frame.payload()).expect("JSON")));
    let mut types: Vec<String> = messages
        .iter()
        .map(|message| serde_json::to_value(message).expect("JSON")["notificationType"].as_str().expect("tag").into())
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 9, "{types:?}");
    for name in types {
        assert!(document.contains(&format!("name: {name}")), "docs/asyncapi.yaml lacks the message {name}");
    }
    let sent = [
        CloseReason::TOKEN_EXPIRED,
        CloseReason::PASSWORD_CHANGE_REQUIRED,
        CloseReason::REPLACED,
        CloseReason::TOO_SLOW,
        CloseReason::TRY_LATER,
        CloseReason::SHUTDOWN,
        CloseReason::MESSAGE_TOO_BIG,
        CloseReason::TOO_MANY_SESSIONS,
        CloseReason::PING_TIMEOUT,
        CloseReason::PROTOCOL_ERROR,
        CloseReason::INVALID_UTF8,
    ];
    let ended = [EndReason::SignedOut, EndReason::AccountDisabled, EndReason::Revoked, EndReason::Expired]
        .map(|reason| CloseReason::policy(reason.reason()));
    for reason in sent.into_iter().chain(ended) {
        assert!(
            document.contains(&format!("* {}", reason.code)) && document.contains(&format!("`{}`", reason.reason)),
            "docs/asyncapi.yaml lacks {reason:?}"
        );
    }
    assert!(document.contains(&format!("* {}", CloseReason::CONNECTION_LOST.code)), "docs/asyncapi.yaml lacks 1006");
    assert!(document.contains("echoing it"), "docs/asyncapi.yaml lacks the answer to a client's close");
}
