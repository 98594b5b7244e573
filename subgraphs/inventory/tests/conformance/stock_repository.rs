//! The `StockRepository` conformance cases.

use std::collections::BTreeMap;

use storefront_inventory::domain::{Quantity, ReservationStatus};
use storefront_inventory::store::StoreError;

use crate::{Store, common, counters, order, request, sku};

conformance!(
    reserve_holds_every_line_and_snapshots_unit_prices,
    reserve_is_all_or_nothing_when_one_line_is_short,
    reserve_of_an_unknown_sku_is_not_found_and_holds_nothing,
    repeated_reserve_with_the_same_lines_reserves_once,
    repeated_reserve_with_other_lines_conflicts,
    a_failed_reserve_gives_the_same_error_when_repeated,
    release_returns_held_units_and_is_idempotent,
    reserve_after_release_is_invalid_state,
    commit_sells_held_units_and_is_idempotent,
    commit_of_unknown_or_released_reservations_fails,
    release_after_commit_returns_sold_units_once,
    concurrent_reserves_never_oversell,
    concurrent_repeats_of_one_reserve_hold_its_lines_once,
    racing_releases_and_reserves_leave_nothing_held,
    sweep_leaves_finished_reservations_alone,
);

async fn reserve_holds_every_line_and_snapshots_unit_prices(store: Store) {
    common::add(
        store.as_ref(),
        &[("MUG", "Mug", 1250, 10), ("TEE", "Tee", 2900, 5)],
    )
    .await;
    let reservation = store
        .reserve(
            &order("o-1"),
            &request(&[("TEE", 2), ("MUG", 3), ("TEE", 1)]),
        )
        .await
        .expect("reserves");
    assert_eq!(reservation.status, ReservationStatus::Reserved);
    let lines: Vec<_> = reservation
        .lines
        .iter()
        .map(|l| {
            (
                l.sku.as_str(),
                l.quantity,
                l.unit_price.amount,
                l.unit_price.currency.as_str(),
            )
        })
        .collect();
    assert_eq!(lines, [("MUG", 3, 1250, "USD"), ("TEE", 3, 2900, "USD")]);
    assert_eq!(counters(&store, "MUG").await, (7, 3, 0));
    assert_eq!(counters(&store, "TEE").await, (2, 3, 0));
    let stored = store
        .reservation(&order("o-1"))
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(stored, reservation);
}

async fn reserve_is_all_or_nothing_when_one_line_is_short(store: Store) {
    common::add(
        store.as_ref(),
        &[
            ("A", "Apple", 1, 10),
            ("B", "Banana", 1, 1),
            ("C", "Cherry", 1, 10),
        ],
    )
    .await;
    let error = store
        .reserve(&order("o-1"), &request(&[("A", 2), ("B", 2), ("C", 2)]))
        .await
        .expect_err("B is short");
    match error {
        StoreError::InsufficientStock {
            sku,
            requested,
            available,
        } => {
            assert_eq!((sku.as_str(), requested, available), ("B", 2, 1));
        }
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    for raw in ["A", "C"] {
        assert_eq!(
            counters(&store, raw).await,
            (10, 0, 0),
            "{raw} holds nothing"
        );
    }
    assert_eq!(counters(&store, "B").await, (1, 0, 0));
    assert!(
        store
            .reservation(&order("o-1"))
            .await
            .expect("reads")
            .is_none()
    );
}

async fn reserve_of_an_unknown_sku_is_not_found_and_holds_nothing(store: Store) {
    common::add(store.as_ref(), &[("A", "Apple", 1, 10)]).await;
    let error = store
        .reserve(&order("o-1"), &request(&[("A", 1), ("GHOST", 1)]))
        .await
        .expect_err("GHOST does not exist");
    assert!(
        matches!(error, StoreError::UnknownSku(ref s) if s.as_str() == "GHOST"),
        "{error:?}"
    );
    assert_eq!(counters(&store, "A").await, (10, 0, 0));
}

async fn repeated_reserve_with_the_same_lines_reserves_once(store: Store) {
    common::add(store.as_ref(), &[("A", "Apple", 100, 10)]).await;
    let first = store
        .reserve(&order("o-1"), &request(&[("A", 4)]))
        .await
        .expect("reserves");
    let again = store
        .reserve(&order("o-1"), &request(&[("A", 1), ("A", 3)]))
        .await
        .expect("the same lines again");
    assert_eq!(first, again);
    assert_eq!(counters(&store, "A").await, (6, 4, 0), "held once");
    store.commit(&order("o-1")).await.expect("commits");
    let after_commit = store
        .reserve(&order("o-1"), &request(&[("A", 4)]))
        .await
        .expect("still the same");
    assert_eq!(after_commit.status, ReservationStatus::Committed);
    assert_eq!(counters(&store, "A").await, (6, 0, 4));
}

async fn repeated_reserve_with_other_lines_conflicts(store: Store) {
    common::add(
        store.as_ref(),
        &[("A", "Apple", 1, 10), ("B", "Banana", 1, 10)],
    )
    .await;
    store
        .reserve(&order("o-1"), &request(&[("A", 2)]))
        .await
        .expect("reserves");
    for other in [&[("A", 3)][..], &[("A", 2), ("B", 1)][..], &[("B", 2)][..]] {
        let error = store
            .reserve(&order("o-1"), &request(other))
            .await
            .expect_err("other lines");
        assert!(matches!(error, StoreError::LinesDiffer(_)), "{error:?}");
    }
    assert_eq!(counters(&store, "A").await, (8, 2, 0));
    assert_eq!(counters(&store, "B").await, (10, 0, 0));
}

async fn a_failed_reserve_gives_the_same_error_when_repeated(store: Store) {
    common::add(store.as_ref(), &[("A", "Apple", 1, 1)]).await;
    let first = store
        .reserve(&order("o-1"), &request(&[("A", 2)]))
        .await
        .expect_err("short");
    store
        .restock(&sku("A"), Quantity::parse(5).expect("valid"))
        .await
        .expect("restocks");
    let again = store
        .reserve(&order("o-1"), &request(&[("A", 2)]))
        .await
        .expect_err("remembered");
    assert_eq!(format!("{first}"), format!("{again}"));
    assert_eq!(counters(&store, "A").await, (6, 0, 0));
    let released = store
        .release(&order("o-1"))
        .await
        .expect("releasing a failed reserve is fine");
    assert_eq!(released.status, ReservationStatus::Released);
    assert_eq!(counters(&store, "A").await, (6, 0, 0));
}

async fn release_returns_held_units_and_is_idempotent(store: Store) {
    common::add(
        store.as_ref(),
        &[("A", "Apple", 1, 10), ("B", "Banana", 1, 3)],
    )
    .await;
    store
        .reserve(&order("o-1"), &request(&[("A", 4), ("B", 3)]))
        .await
        .expect("reserves");
    for _ in 0..2 {
        let released = store.release(&order("o-1")).await.expect("releases");
        assert_eq!(released.status, ReservationStatus::Released);
        assert_eq!(released.lines.len(), 2);
        assert_eq!(counters(&store, "A").await, (10, 0, 0));
        assert_eq!(counters(&store, "B").await, (3, 0, 0));
    }
}

async fn reserve_after_release_is_invalid_state(store: Store) {
    common::add(store.as_ref(), &[("A", "Apple", 1, 10)]).await;
    store
        .reserve(&order("o-1"), &request(&[("A", 1)]))
        .await
        .expect("reserves");
    store.release(&order("o-1")).await.expect("releases");
    let error = store
        .reserve(&order("o-1"), &request(&[("A", 1)]))
        .await
        .expect_err("released");
    assert!(matches!(error, StoreError::InvalidState(_)), "{error:?}");

    // A release that arrives before its (delayed) reserve leaves a tombstone.
    let tombstone = store
        .release(&order("o-2"))
        .await
        .expect("releases an unknown order");
    assert_eq!(tombstone.status, ReservationStatus::Released);
    assert!(tombstone.lines.is_empty());
    let error = store
        .reserve(&order("o-2"), &request(&[("A", 1)]))
        .await
        .expect_err("released first");
    assert!(matches!(error, StoreError::InvalidState(_)), "{error:?}");
    assert_eq!(counters(&store, "A").await, (10, 0, 0));
}

async fn commit_sells_held_units_and_is_idempotent(store: Store) {
    common::add(
        store.as_ref(),
        &[("A", "Apple", 1, 10), ("B", "Banana", 1, 5)],
    )
    .await;
    store
        .reserve(&order("o-1"), &request(&[("A", 4), ("B", 1)]))
        .await
        .expect("reserves");
    for _ in 0..2 {
        let committed = store.commit(&order("o-1")).await.expect("commits");
        assert_eq!(committed.status, ReservationStatus::Committed);
        assert_eq!(counters(&store, "A").await, (6, 0, 4));
        assert_eq!(counters(&store, "B").await, (4, 0, 1));
    }
}

async fn commit_of_unknown_or_released_reservations_fails(store: Store) {
    common::add(store.as_ref(), &[("A", "Apple", 1, 10)]).await;
    let error = store.commit(&order("nobody")).await.expect_err("unknown");
    assert!(matches!(error, StoreError::UnknownOrder(_)), "{error:?}");
    store
        .reserve(&order("o-1"), &request(&[("A", 1)]))
        .await
        .expect("reserves");
    store.release(&order("o-1")).await.expect("releases");
    let error = store.commit(&order("o-1")).await.expect_err("released");
    assert!(matches!(error, StoreError::InvalidState(_)), "{error:?}");
    store
        .reserve(&order("o-2"), &request(&[("A", 11)]))
        .await
        .expect_err("short");
    let error = store.commit(&order("o-2")).await.expect_err("failed");
    assert!(matches!(error, StoreError::InvalidState(_)), "{error:?}");
    assert_eq!(counters(&store, "A").await, (10, 0, 0));
}

async fn release_after_commit_returns_sold_units_once(store: Store) {
    common::add(
        store.as_ref(),
        &[("A", "Apple", 1, 10), ("B", "Banana", 1, 2)],
    )
    .await;
    store
        .reserve(&order("o-1"), &request(&[("A", 3), ("B", 2)]))
        .await
        .expect("reserves");
    store.commit(&order("o-1")).await.expect("commits");
    assert_eq!(counters(&store, "A").await, (7, 0, 3));
    for _ in 0..2 {
        let released = store
            .release(&order("o-1"))
            .await
            .expect("returns the sale");
        assert_eq!(released.status, ReservationStatus::Released);
        assert_eq!(counters(&store, "A").await, (10, 0, 0));
        assert_eq!(counters(&store, "B").await, (2, 0, 0));
    }
    let error = store.commit(&order("o-1")).await.expect_err("returned");
    assert!(matches!(error, StoreError::InvalidState(_)), "{error:?}");
    store.sweep().await.expect("sweeps");
    assert_eq!(
        counters(&store, "A").await,
        (10, 0, 0),
        "the sweep returns nothing twice"
    );
}

async fn concurrent_reserves_never_oversell(store: Store) {
    common::add(store.as_ref(), &[("HOT", "Hot Item", 999, 50)]).await;
    let attempts = (0..200).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .reserve(&order(&format!("order-{i}")), &request(&[("HOT", 1)]))
                .await
        })
    });
    let mut outcomes = BTreeMap::new();
    for attempt in attempts.collect::<Vec<_>>() {
        let outcome = match attempt.await.expect("the task finishes") {
            Ok(_) => "reserved",
            Err(StoreError::InsufficientStock { .. }) => "short",
            Err(other) => panic!("unexpected error: {other:?}"),
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    assert_eq!(outcomes.get("reserved"), Some(&50), "{outcomes:?}");
    assert_eq!(outcomes.get("short"), Some(&150), "{outcomes:?}");
    assert_eq!(counters(&store, "HOT").await, (0, 50, 0));
}

async fn sweep_leaves_finished_reservations_alone(store: Store) {
    common::add(store.as_ref(), &[("A", "Apple", 1, 10)]).await;
    store
        .reserve(&order("o-1"), &request(&[("A", 2)]))
        .await
        .expect("reserves");
    store
        .reserve(&order("o-2"), &request(&[("A", 3)]))
        .await
        .expect("reserves");
    store.commit(&order("o-2")).await.expect("commits");
    store
        .reserve(&order("o-3"), &request(&[("A", 1)]))
        .await
        .expect("reserves");
    store.release(&order("o-3")).await.expect("releases");
    store.sweep().await.expect("sweeps");
    assert_eq!(counters(&store, "A").await, (5, 2, 3));
    let statuses = [
        store
            .reservation(&order("o-1"))
            .await
            .expect("reads")
            .map(|r| r.status),
        store
            .reservation(&order("o-2"))
            .await
            .expect("reads")
            .map(|r| r.status),
        store
            .reservation(&order("o-3"))
            .await
            .expect("reads")
            .map(|r| r.status),
    ];
    assert_eq!(
        statuses,
        [
            Some(ReservationStatus::Reserved),
            Some(ReservationStatus::Committed),
            Some(ReservationStatus::Released)
        ]
    );
}

async fn concurrent_repeats_of_one_reserve_hold_its_lines_once(store: Store) {
    common::add(
        store.as_ref(),
        &[("A", "Apple", 100, 10), ("B", "Banana", 100, 10)],
    )
    .await;
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .reserve(&order("o-same"), &request(&[("A", 2), ("B", 1)]))
                    .await
            })
        })
        .collect();
    for call in calls {
        let reservation = call
            .await
            .expect("the task finishes")
            .expect("every repeat succeeds");
        assert_eq!(reservation.status, ReservationStatus::Reserved);
    }
    assert_eq!(counters(&store, "A").await, (8, 2, 0));
    assert_eq!(counters(&store, "B").await, (9, 1, 0));
}

async fn racing_releases_and_reserves_leave_nothing_held(store: Store) {
    common::add(
        store.as_ref(),
        &[("A", "Apple", 100, 100), ("B", "Banana", 100, 100)],
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let id = format!("race-{i}");
        let reserving = store.clone();
        let reserve_id = id.clone();
        tasks.push(tokio::spawn(async move {
            match reserving
                .reserve(&order(&reserve_id), &request(&[("A", 1), ("B", 2)]))
                .await
            {
                Ok(_) | Err(StoreError::InvalidState(_)) => {}
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }));
        let releasing = store.clone();
        tasks.push(tokio::spawn(async move {
            let released = releasing.release(&order(&id)).await.expect("releases");
            assert_eq!(released.status, ReservationStatus::Released);
        }));
    }
    for task in tasks {
        task.await.expect("the task finishes");
    }
    store.sweep().await.expect("sweeps");
    assert_eq!(counters(&store, "A").await, (100, 0, 0));
    assert_eq!(counters(&store, "B").await, (100, 0, 0));
}
