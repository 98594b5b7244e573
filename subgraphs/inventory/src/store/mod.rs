//! Where products and reservations live: the repository traits, their errors, and
//! the two stores that implement them ([`mongo::MongoStore`] and
//! [`embedded::EmbeddedStore`]), which pass the same conformance tests.
//!
//! # Layout
//! - this file: [`ProductRepository`], [`StockRepository`] (with its `sweep`),
//!   [`StoreError`] and its mapping to the client's codes, [`open`].
//! - `mongo.rs` (+ `mongo/stock.rs`), `embedded.rs`: the two stores.
//! - `lifecycle.rs`: the states of a reservation.

pub mod embedded;
pub mod lifecycle;
pub mod mongo;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use storefront_shared::ApiError;
use storefront_shared::settings::CommonSettings;

use crate::domain::{
    NewProduct, OrderId, PageRequest, Product, ProductPage, Quantity, Reservation, Sku,
    StockRequest,
};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A product with this sku exists already.
    #[error("a product with sku {0} already exists")]
    DuplicateSku(Sku),
    /// No product has this sku.
    #[error("no product has sku {0}")]
    UnknownSku(Sku),
    /// No reservation exists for this order.
    #[error("there is no reservation for order {0}")]
    UnknownOrder(OrderId),
    /// A line asks for more units than are available.
    #[error("not enough stock for {sku}: {requested} requested, {available} available")]
    InsufficientStock {
        /// The product that is short.
        sku: Sku,
        /// Units asked for.
        requested: i64,
        /// Units available at the time.
        available: i64,
    },
    /// The order already has a reservation with other lines.
    #[error("order {0} already has a reservation with different lines")]
    LinesDiffer(OrderId),
    /// The reservation is not in a state that allows this.
    #[error("{0}")]
    InvalidState(String),
    /// Another call for the same order is still working on its reservation.
    #[error("the reservation for order {0} is still being made; retry shortly")]
    InProgress(OrderId),
    /// A restock would take the units on hand past [`crate::domain::MAX_STOCK`].
    #[error(
        "restocking {quantity} units would take {sku} to more than {max} units on hand (it has {on_hand})",
        max = crate::domain::MAX_STOCK
    )]
    StockLimit {
        /// The product.
        sku: Sku,
        /// Units on hand now (available and reserved).
        on_hand: i64,
        /// Units the restock would add.
        quantity: i64,
    },
    /// Stored data does not have the expected shape.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("store failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a database error.
    pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Backend(error.into())
    }
}

/// A result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// [`StoreError::StockLimit`] when adding `quantity` units to `product` would
/// take its units on hand (`available + reserved`) past [`crate::domain::MAX_STOCK`].
pub(crate) fn check_stock_limit(product: &Product, quantity: Quantity) -> StoreResult<()> {
    let on_hand = product.available.saturating_add(product.reserved);
    if on_hand.saturating_add(quantity.get()) > crate::domain::MAX_STOCK {
        return Err(StoreError::StockLimit {
            sku: product.sku.clone(),
            on_hand,
            quantity: quantity.get(),
        });
    }
    Ok(())
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::DuplicateSku(_) => ApiError::Conflict(error.to_string()),
            StoreError::UnknownSku(_) | StoreError::UnknownOrder(_) => {
                ApiError::NotFound(error.to_string())
            }
            StoreError::InsufficientStock {
                sku,
                requested,
                available,
            } => ApiError::InsufficientStock {
                sku: sku.to_string(),
                requested,
                available,
            },
            StoreError::LinesDiffer(_) => ApiError::Conflict(error.to_string()),
            StoreError::StockLimit { .. } => ApiError::BadUserInput(error.to_string()),
            StoreError::InvalidState(message) => ApiError::InvalidState(message),
            StoreError::InProgress(_) => ApiError::ServiceUnavailable(error.to_string()),
            StoreError::Corrupt(_) | StoreError::Backend(_) => ApiError::internal(error),
        }
    }
}

/// The product catalogue.
#[async_trait]
pub trait ProductRepository: Send + Sync + 'static {
    /// Adds a product; [`StoreError::DuplicateSku`] when the sku is taken.
    async fn insert(&self, product: NewProduct) -> StoreResult<Product>;
    /// One product, if it exists.
    async fn get(&self, sku: &Sku) -> StoreResult<Option<Product>>;
    /// The products that exist among `skus`, in one store query, in any order.
    async fn get_many(&self, skus: &[Sku]) -> StoreResult<Vec<Product>>;
    /// A page of products in sku order.
    async fn list(&self, page: &PageRequest) -> StoreResult<ProductPage>;
    /// Adds `quantity` units to what is available; [`StoreError::UnknownSku`] if absent.
    async fn restock(&self, sku: &Sku, quantity: Quantity) -> StoreResult<Product>;
    /// Whether the catalogue has no products (seeding happens only then).
    async fn is_empty(&self) -> StoreResult<bool>;
    /// Whether the store answers.
    async fn ping(&self) -> StoreResult<()>;
}

/// Stock reservations for orders. Every operation is idempotent per order id.
#[async_trait]
pub trait StockRepository: Send + Sync + 'static {
    /// Holds every line for the order, or nothing.
    ///
    /// The same lines again return the same reservation; other lines give
    /// [`StoreError::LinesDiffer`]; a released order gives [`StoreError::InvalidState`].
    /// A failed attempt is remembered: asking again gives the same error.
    async fn reserve(&self, order_id: &OrderId, request: &StockRequest)
    -> StoreResult<Reservation>;
    /// Returns the order's units to what is available: held units, or sold units when the
    /// sale is cancelled. Releasing an unknown order records that, so a late reserve for
    /// it cannot hold stock.
    async fn release(&self, order_id: &OrderId) -> StoreResult<Reservation>;
    /// Turns held units into sold ones.
    async fn commit(&self, order_id: &OrderId) -> StoreResult<Reservation>;
    /// The order's reservation, if any (failed attempts count as none).
    async fn reservation(&self, order_id: &OrderId) -> StoreResult<Option<Reservation>>;
    /// One sweep: finishes or compensates operations that a crash left half
    /// done; returns how many reservations it touched (see [`crate::sweeper`]).
    async fn sweep(&self) -> StoreResult<usize>;
}

/// A store that keeps both the catalogue and the reservations.
pub trait InventoryStore: ProductRepository + StockRepository {}

impl<T: ProductRepository + StockRepository> InventoryStore for T {}

/// Tuning of the MongoDB store.
#[derive(Debug, Clone, Copy)]
pub struct MongoOptions {
    /// How long a reservation may sit in a transitional state before the sweep
    /// finishes it.
    pub stuck_after: Duration,
}

/// The store named by the settings: MongoDB (database `inventory`) when `MONGODB_URI`
/// is set, else the embedded store under `DATA_DIR/inventory/`.
pub async fn open(
    common: &CommonSettings,
    options: MongoOptions,
) -> Result<Arc<dyn InventoryStore>, OpenError> {
    match &common.mongodb_uri {
        Some(uri) => {
            let db = storefront_shared::store::connect_mongo(uri, "inventory").await?;
            let store = mongo::MongoStore::new(db)
                .await?
                .with_stuck_after(options.stuck_after);
            tracing::info!(store = "mongodb", "inventory store ready");
            Ok(Arc::new(store))
        }
        None => {
            let dir = common.service_dir("inventory");
            let db =
                tokio::task::spawn_blocking(move || storefront_shared::store::open_embedded(&dir))
                    .await
                    .map_err(StoreError::backend)??;
            let store = embedded::EmbeddedStore::new(db).await?;
            tracing::info!(store = "embedded", "inventory store ready");
            Ok(Arc::new(store))
        }
    }
}

/// The store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Connecting or opening failed.
    #[error(transparent)]
    Open(#[from] storefront_shared::store::StoreError),
    /// Preparing the store (tables, indexes) failed.
    #[error("cannot prepare the inventory store: {0}")]
    Prepare(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_api_codes() {
        let sku = Sku::parse("MUG").expect("valid");
        let order = OrderId::parse("o-1").expect("valid");
        let cases: [(StoreError, &str); 7] = [
            (StoreError::DuplicateSku(sku.clone()), "CONFLICT"),
            (StoreError::UnknownSku(sku.clone()), "NOT_FOUND"),
            (StoreError::UnknownOrder(order.clone()), "NOT_FOUND"),
            (StoreError::LinesDiffer(order.clone()), "CONFLICT"),
            (StoreError::InvalidState("x".into()), "INVALID_STATE"),
            (StoreError::InProgress(order), "SERVICE_UNAVAILABLE"),
            (StoreError::Corrupt("x".into()), "INTERNAL_SERVER_ERROR"),
        ];
        for (error, code) in cases {
            assert_eq!(ApiError::from(error).code(), code);
        }
        let short = ApiError::from(StoreError::InsufficientStock {
            sku,
            requested: 2,
            available: 1,
        });
        assert_eq!(short.code(), "INSUFFICIENT_STOCK");
        assert!(short.message().contains("MUG"));
    }
}
