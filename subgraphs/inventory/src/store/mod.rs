//! Where products and reservations live: the repository traits, their errors, and
//! the two stores that implement them ([`mongo::MongoStore`] and
//! [`embedded::EmbeddedStore`]), which pass the same conformance tests.
//!
//! # Layout
//! - this file: [`ProductRepository`], [`CategoryRepository`], [`StockRepository`]
//!   (with its `sweep`), [`StoreError`] and its mapping to the client's codes, [`open`].
//! - `mongo.rs` (+ `mongo/stock.rs`, `mongo/listing.rs`, `mongo/categories.rs`),
//!   `embedded.rs` (+ `embedded/listing.rs`, `embedded/categories.rs`): the two stores.
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
    Category, CategoryPatch, ListRequest, NewCategory, NewProduct, OrderId, Product, ProductFilter,
    ProductPage, ProductPatch, Quantity, Reservation, Sku, Slug, StockRequest,
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
    /// The product is archived: it can no longer be reserved.
    #[error("product {0} is archived and can no longer be bought")]
    Archived(Sku),
    /// A category with this slug exists already.
    #[error("a category with slug {0} already exists")]
    DuplicateSlug(Slug),
    /// No category has this slug.
    #[error("no category has slug {0}")]
    UnknownCategory(Slug),
    /// A category cannot be deleted while it has subcategories.
    #[error("category {slug} has subcategories ({children}); move or delete them first")]
    HasChildren {
        /// The category.
        slug: Slug,
        /// Its children's slugs, comma-separated.
        children: String,
    },
    /// A change to the category tree was refused (a cycle, too deep, too many).
    #[error("{0}")]
    BadTree(String),
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
            StoreError::DuplicateSku(_) | StoreError::DuplicateSlug(_) => {
                ApiError::Conflict(error.to_string())
            }
            StoreError::UnknownSku(_)
            | StoreError::UnknownOrder(_)
            | StoreError::UnknownCategory(_) => ApiError::NotFound(error.to_string()),
            StoreError::Archived(_) | StoreError::HasChildren { .. } => {
                ApiError::InvalidState(error.to_string())
            }
            StoreError::BadTree(message) => ApiError::BadUserInput(message),
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
    /// Adds many products (the demo seed), skipping skus that are taken; returns how
    /// many were added. The default inserts one at a time.
    async fn insert_many(&self, products: Vec<NewProduct>) -> StoreResult<usize> {
        let mut added = 0;
        for product in products {
            match self.insert(product).await {
                Ok(_) => added += 1,
                Err(StoreError::DuplicateSku(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(added)
    }
    /// One product, if it exists.
    async fn get(&self, sku: &Sku) -> StoreResult<Option<Product>>;
    /// The products that exist among `skus`, in one store query, in any order.
    async fn get_many(&self, skus: &[Sku]) -> StoreResult<Vec<Product>>;
    /// A page of unarchived products that pass the filter, in the request's order,
    /// read through the store's listing indexes.
    async fn list(&self, request: &ListRequest) -> StoreResult<ProductPage>;
    /// How many unarchived products pass the filter.
    async fn count(&self, filter: &ProductFilter) -> StoreResult<u64>;
    /// Changes a product's catalogue fields; [`StoreError::UnknownSku`] if absent.
    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> StoreResult<Product>;
    /// Archives (`true`) or unarchives a product; doing it twice changes nothing.
    async fn set_archived(&self, sku: &Sku, archived: bool) -> StoreResult<Product>;
    /// Adds `quantity` units to what is available; [`StoreError::UnknownSku`] if absent.
    async fn restock(&self, sku: &Sku, quantity: Quantity) -> StoreResult<Product>;
    /// Whether the catalogue has no products (seeding happens only then).
    async fn is_empty(&self) -> StoreResult<bool>;
    /// Whether the store answers.
    async fn ping(&self) -> StoreResult<()>;
}

/// The category tree.
#[async_trait]
pub trait CategoryRepository: Send + Sync + 'static {
    /// Adds a category; [`StoreError::DuplicateSlug`] when the slug is taken,
    /// [`StoreError::UnknownCategory`] when the parent does not exist.
    async fn insert_category(&self, category: NewCategory) -> StoreResult<Category>;
    /// One category, if it exists.
    async fn category(&self, slug: &Slug) -> StoreResult<Option<Category>>;
    /// Every category, in slug order.
    async fn categories(&self) -> StoreResult<Vec<Category>>;
    /// Changes a category; a new parent must exist and must not make a cycle.
    async fn update_category(&self, slug: &Slug, patch: &CategoryPatch) -> StoreResult<Category>;
    /// Deletes a category without subcategories and takes it off every product;
    /// [`StoreError::UnknownCategory`] if absent.
    async fn delete_category(&self, slug: &Slug) -> StoreResult<()>;
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

/// A store that keeps the catalogue, its categories and the reservations.
pub trait InventoryStore: ProductRepository + CategoryRepository + StockRepository {}

impl<T: ProductRepository + CategoryRepository + StockRepository> InventoryStore for T {}

/// The tree check shared by both stores: `slug` may move under `parent` among `all`.
pub(crate) fn check_tree(slug: &Slug, parent: &Slug, all: &[Category]) -> StoreResult<()> {
    crate::domain::category::check_parent(slug, parent, all).map_err(|error| match error {
        ApiError::NotFound(_) => StoreError::UnknownCategory(parent.clone()),
        other => StoreError::BadTree(other.message()),
    })
}

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
