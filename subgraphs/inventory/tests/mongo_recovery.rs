//! Crash recovery of the MongoDB store: documents are written directly to look like a
//! process died half-way through an operation, then `sweep()` must restore the
//! invariant (available + reserved + sold = received, holds matching `reserved`).
//! Skipped without `STOREFRONT_TEST_MONGODB_URI`.

mod common;

use mongodb::bson::{Document, doc};
use storefront_inventory::domain::{OrderId, ReservationStatus, Sku, StockRequest};
use storefront_inventory::store::{ProductRepository, StockRepository, StoreError};

const MINUTE_MS: i64 = 60_000;

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn line(sku: &str, quantity: i64) -> Document {
    doc! { "sku": sku, "quantity": quantity, "unit_price": { "amount": 100_i64, "currency": "USD" } }
}

async fn insert_reservation(
    db: &mongodb::Database,
    id: &str,
    state: &str,
    lines: Vec<Document>,
    age_ms: i64,
) {
    let at = now() - age_ms;
    db.collection::<Document>("reservations")
        .insert_one(doc! {
            "_id": id, "state": state, "lines": lines,
            "created_at": at, "updated_at": at,
        })
        .await
        .expect("inserts the reservation");
}

async fn update_product(db: &mongodb::Database, sku: &str, update: Document) {
    let result = db
        .collection::<Document>("products")
        .update_one(doc! { "_id": sku }, update)
        .await
        .expect("updates the product");
    assert_eq!(result.matched_count, 1);
}

/// Holds `q` units of `sku` for `order` exactly as a reserve does.
async fn hold(db: &mongodb::Database, sku: &str, order: &str, q: i64) {
    update_product(db, sku, doc! { "$inc": { "available": -q, "reserved": q }, "$set": { format!("holds.{order}"): q } }).await;
}

/// (available, reserved, sold, open holds) after checking the invariant.
async fn counters(
    db: &mongodb::Database,
    store: &dyn ProductRepository,
    sku: &str,
) -> (i64, i64, i64, usize) {
    let product = store
        .get(&Sku::parse(sku).expect("valid"))
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(
        product.available + product.reserved + product.sold,
        product.received,
        "{product:?}"
    );
    assert!(
        product.available >= 0 && product.reserved >= 0 && product.sold >= 0,
        "{product:?}"
    );
    let raw = db
        .collection::<Document>("products")
        .find_one(doc! { "_id": sku })
        .await
        .expect("reads")
        .expect("exists");
    let holds = raw.get_document("holds").map(|h| h.len()).unwrap_or(0);
    let held: i64 = raw
        .get_document("holds")
        .map(|h| {
            h.values()
                .filter_map(|v| v.as_i64().or(v.as_i32().map(i64::from)))
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(
        held, product.reserved,
        "holds must add up to reserved: {raw:?}"
    );
    (product.available, product.reserved, product.sold, holds)
}

async fn status(store: &dyn StockRepository, order: &str) -> Option<ReservationStatus> {
    store
        .reservation(&OrderId::parse(order).expect("valid"))
        .await
        .expect("reads")
        .map(|r| r.status)
}

#[tokio::test]
async fn sweep_releases_a_reserve_that_crashed_after_holding_some_lines() {
    let Some((db, store)) = common::mongo_store().await else {
        return;
    };
    common::add(
        store.as_ref(),
        &[("A", "Apple", 100, 10), ("B", "Banana", 100, 5)],
    )
    .await;
    insert_reservation(
        &db,
        "o-crash",
        "RESERVING",
        vec![line("A", 2), line("B", 1)],
        MINUTE_MS,
    )
    .await;
    hold(&db, "A", "o-crash", 2).await;
    assert_eq!(counters(&db, store.as_ref(), "A").await, (8, 2, 0, 1));

    let touched = store.sweep().await.expect("sweeps");
    assert_eq!(touched, 1);
    assert_eq!(counters(&db, store.as_ref(), "A").await, (10, 0, 0, 0));
    assert_eq!(counters(&db, store.as_ref(), "B").await, (5, 0, 0, 0));
    assert_eq!(
        status(store.as_ref(), "o-crash").await,
        Some(ReservationStatus::Released)
    );
    let retry = store
        .reserve(
            &OrderId::parse("o-crash").expect("valid"),
            &StockRequest::parse([("A", 2), ("B", 1)]).expect("valid"),
        )
        .await
        .expect_err("the abandoned reservation stays released");
    assert!(matches!(retry, StoreError::InvalidState(_)), "{retry:?}");
}

#[tokio::test]
async fn sweep_leaves_a_reserve_that_is_still_in_progress_alone() {
    let Some((db, store)) = common::mongo_store().await else {
        return;
    };
    common::add(store.as_ref(), &[("A", "Apple", 100, 10)]).await;
    insert_reservation(&db, "o-busy", "RESERVING", vec![line("A", 2)], 0).await;
    hold(&db, "A", "o-busy", 2).await;
    assert_eq!(store.sweep().await.expect("sweeps"), 0);
    assert_eq!(counters(&db, store.as_ref(), "A").await, (8, 2, 0, 1));
}

#[tokio::test]
async fn sweep_finishes_a_release_that_crashed_half_way() {
    let Some((db, store)) = common::mongo_store().await else {
        return;
    };
    common::add(
        store.as_ref(),
        &[("A", "Apple", 100, 10), ("B", "Banana", 100, 5)],
    )
    .await;
    // A was already given back; B is still held.
    insert_reservation(
        &db,
        "o-1",
        "RELEASING",
        vec![line("A", 2), line("B", 3)],
        MINUTE_MS,
    )
    .await;
    hold(&db, "B", "o-1", 3).await;
    store.sweep().await.expect("sweeps");
    assert_eq!(counters(&db, store.as_ref(), "A").await, (10, 0, 0, 0));
    assert_eq!(counters(&db, store.as_ref(), "B").await, (5, 0, 0, 0));
    assert_eq!(
        status(store.as_ref(), "o-1").await,
        Some(ReservationStatus::Released)
    );
}

#[tokio::test]
async fn sweep_finishes_a_commit_that_crashed_half_way() {
    let Some((db, store)) = common::mongo_store().await else {
        return;
    };
    common::add(
        store.as_ref(),
        &[("A", "Apple", 100, 10), ("B", "Banana", 100, 5)],
    )
    .await;
    insert_reservation(
        &db,
        "o-1",
        "COMMITTING",
        vec![line("A", 2), line("B", 3)],
        MINUTE_MS,
    )
    .await;
    // A was already sold; B is still held.
    update_product(&db, "A", doc! { "$inc": { "available": -2, "sold": 2 } }).await;
    hold(&db, "B", "o-1", 3).await;
    store.sweep().await.expect("sweeps");
    assert_eq!(counters(&db, store.as_ref(), "A").await, (8, 0, 2, 0));
    assert_eq!(counters(&db, store.as_ref(), "B").await, (2, 0, 3, 0));
    assert_eq!(
        status(store.as_ref(), "o-1").await,
        Some(ReservationStatus::Committed)
    );
    store.sweep().await.expect("sweeps again");
    assert_eq!(
        counters(&db, store.as_ref(), "B").await,
        (2, 0, 3, 0),
        "nothing is sold twice"
    );
}

#[tokio::test]
async fn sweep_finishes_returning_a_cancelled_sale_exactly_once() {
    let Some((db, store)) = common::mongo_store().await else {
        return;
    };
    common::add(
        store.as_ref(),
        &[("A", "Apple", 100, 10), ("B", "Banana", 100, 5)],
    )
    .await;
    insert_reservation(
        &db,
        "o-1",
        "RETURNING",
        vec![line("A", 2), line("B", 3)],
        MINUTE_MS,
    )
    .await;
    // Both lines were sold; A was already returned (with its marker), B not yet.
    update_product(&db, "A", doc! { "$set": { "returns.o-1": 2_i64 } }).await;
    update_product(&db, "B", doc! { "$inc": { "available": -3, "sold": 3 } }).await;
    store.sweep().await.expect("sweeps");
    assert_eq!(counters(&db, store.as_ref(), "A").await, (10, 0, 0, 0));
    assert_eq!(counters(&db, store.as_ref(), "B").await, (5, 0, 0, 0));
    assert_eq!(
        status(store.as_ref(), "o-1").await,
        Some(ReservationStatus::Released)
    );
    let released = store
        .release(&OrderId::parse("o-1").expect("valid"))
        .await
        .expect("idempotent");
    assert_eq!(released.status, ReservationStatus::Released);
    store.sweep().await.expect("sweeps again");
    assert_eq!(
        counters(&db, store.as_ref(), "B").await,
        (5, 0, 0, 0),
        "nothing is returned twice"
    );
}

#[tokio::test]
async fn sweep_gives_back_a_hold_placed_after_the_release() {
    let Some((db, store)) = common::mongo_store().await else {
        return;
    };
    common::add(store.as_ref(), &[("A", "Apple", 100, 10)]).await;
    insert_reservation(&db, "o-late", "RELEASED", vec![line("A", 4)], MINUTE_MS).await;
    // A delayed reserve call held A after the release had run.
    hold(&db, "A", "o-late", 4).await;
    assert_eq!(store.sweep().await.expect("sweeps"), 1);
    assert_eq!(counters(&db, store.as_ref(), "A").await, (10, 0, 0, 0));
}

#[tokio::test]
async fn sweep_removes_return_markers_once_no_late_call_can_need_them() {
    let Some((db, store)) = common::mongo_store().await else {
        return;
    };
    common::add(store.as_ref(), &[("A", "Apple", 100, 10)]).await;
    insert_reservation(&db, "o-old", "RELEASED", vec![line("A", 1)], 11 * MINUTE_MS).await;
    db.collection::<Document>("reservations")
        .update_one(
            doc! { "_id": "o-old" },
            doc! { "$set": { "returned_at": now() - 11 * MINUTE_MS } },
        )
        .await
        .expect("flags the reservation");
    update_product(&db, "A", doc! { "$set": { "returns.o-old": 1_i64 } }).await;
    store.sweep().await.expect("sweeps");
    let raw = db
        .collection::<Document>("products")
        .find_one(doc! { "_id": "A" })
        .await
        .expect("reads")
        .expect("exists");
    let markers = raw.get_document("returns").map(|r| r.len()).unwrap_or(0);
    assert_eq!(markers, 0, "{raw:?}");
    assert_eq!(counters(&db, store.as_ref(), "A").await, (10, 0, 0, 0));
}
