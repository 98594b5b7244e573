//! The embedded store keeps everything on disk: a reopened store has the same
//! products, stock counters and reservations.

mod common;

use storefront_inventory::domain::{OrderId, ReservationStatus, Sku, StockRequest};
use storefront_inventory::store::{ProductRepository, StockRepository};

#[tokio::test]
async fn products_stock_and_reservations_survive_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reserved = OrderId::parse("order-reserved").expect("valid");
    let sold = OrderId::parse("order-sold").expect("valid");
    let request = StockRequest::parse([("MUG", 2)]).expect("valid");
    {
        let store = common::open_embedded_in(&dir).await;
        common::add(
            store.as_ref(),
            &[("MUG", "Mug", 1250, 10), ("TEE", "Tee", 2900, 4)],
        )
        .await;
        store.reserve(&reserved, &request).await.expect("reserves");
        store
            .reserve(&sold, &StockRequest::parse([("TEE", 3)]).expect("valid"))
            .await
            .expect("reserves");
        store.commit(&sold).await.expect("commits");
        // Dropping the last handle closes the database file.
    }

    let store = common::open_embedded_in(&dir).await;
    let mug = store
        .get(&Sku::parse("MUG").expect("valid"))
        .await
        .expect("reads")
        .expect("the product survived");
    assert_eq!((mug.name.as_str(), mug.price.amount), ("Mug", 1250));
    assert_eq!((mug.available, mug.reserved, mug.sold), (8, 2, 0));
    let tee = store
        .get(&Sku::parse("TEE").expect("valid"))
        .await
        .expect("reads")
        .expect("the product survived");
    assert_eq!((tee.available, tee.reserved, tee.sold), (1, 0, 3));

    let reservation = store
        .reservation(&reserved)
        .await
        .expect("reads")
        .expect("the reservation survived");
    assert_eq!(reservation.status, ReservationStatus::Reserved);
    let again = store
        .reserve(&reserved, &request)
        .await
        .expect("idempotent after reopening");
    assert_eq!(again, reservation);
    assert_eq!(
        store
            .reservation(&sold)
            .await
            .expect("reads")
            .map(|r| r.status),
        Some(ReservationStatus::Committed)
    );
    let mug = store
        .get(&Sku::parse("MUG").expect("valid"))
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(mug.reserved, 2, "the repeated reserve held nothing more");
}
