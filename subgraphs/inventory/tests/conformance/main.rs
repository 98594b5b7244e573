//! One conformance suite per repository trait, run against both stores: the embedded
//! store in a temporary directory and MongoDB on a fresh database
//! (`STOREFRONT_TEST_MONGODB_URI`; skipped locally without it, required under CI).
//! Store-specific tests live beside it: `embedded_durability.rs`, `mongo_recovery.rs`.

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;

use storefront_inventory::domain::{
    ListRequest, OrderId, ProductFilter, ProductSort, Sku, StockRequest,
};
use storefront_inventory::store::InventoryStore;

type Store = Arc<dyn InventoryStore>;

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).expect("valid sku")
}

fn order(raw: &str) -> OrderId {
    OrderId::parse(raw).expect("valid order id")
}

fn request(lines: &[(&str, i64)]) -> StockRequest {
    StockRequest::parse(lines.iter().copied()).expect("valid request")
}

/// A listing in NAME order (what `products(first, after, search)` sends).
fn page(first: i32, after: Option<&str>, search: Option<&str>) -> ListRequest {
    ListRequest::parse(
        first,
        after,
        search,
        ProductFilter::default(),
        ProductSort::Name,
    )
    .expect("valid page request")
}

/// (available, reserved, sold) of a product, after checking the stock invariant.
async fn counters(store: &Store, raw: &str) -> (i64, i64, i64) {
    let product = store
        .get(&sku(raw))
        .await
        .expect("reads")
        .expect("product exists");
    assert!(
        product.available >= 0 && product.reserved >= 0 && product.sold >= 0,
        "negative counter: {product:?}"
    );
    assert_eq!(
        product.available + product.reserved + product.sold,
        product.received,
        "available + reserved + sold must equal what was received: {product:?}"
    );
    (product.available, product.reserved, product.sold)
}

/// Generates one test per case and store, `<suite>::embedded::<case>` and
/// `<suite>::mongo::<case>`, each calling the suite's `<case>(store)`.
macro_rules! conformance {
    ($($case:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (_dir, store) = crate::common::embedded_store().await;
                    super::$case(store).await;
                }
            )+
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some((_db, store)) = crate::common::mongo_store().await else {
                        return;
                    };
                    super::$case(store).await;
                }
            )+
        }
    };
}

mod catalogue;
mod product_repository;
mod stock_repository;
