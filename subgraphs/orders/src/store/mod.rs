//! Where orders live: one [`OrderRepository`] trait, two stores.
//!
//! - [`mongo::MongoOrderRepository`]: MongoDB, database `orders`, collection `orders`.
//! - [`embedded::EmbeddedOrderRepository`]: `redb` at `DATA_DIR/orders/store.redb`,
//!   for runs without `MONGODB_URI`.
//!
//! - [`shop::ShopRepository`]: carts, discount codes and checkout attempts, in
//!   the same stores (`embedded_shop.rs`, `mongo_shop.rs`).
//!
//! Every change of an order is one single-document compare-and-set
//! ([`OrderRepository::transition`]): it applies only while the order is still
//! in the state the caller saw. Both stores pass the same conformance suite
//! (`tests/conformance.rs`).

pub mod embedded;
mod embedded_shop;
pub mod mongo;
mod mongo_shop;
pub mod shop;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use storefront_shared::ApiError;

use crate::checkout::CheckoutTerms;
use crate::domain::{
    LineRequest, Order, OrderId, OrderPage, OrderState, OrderStatus, PageRequest, Pricing,
    Transition, Unfinished,
};

pub use embedded::EmbeddedOrderRepository;
pub use mongo::MongoOrderRepository;
pub use shop::{CheckoutRecord, ShopRepository};

storefront_shared::repo_error! {
    /// What a store can fail with (with the failures every store shares:
    /// `Unavailable`, `Backend`, `Corrupt`).
    pub enum RepoError in "order" store, retry "try again shortly" {
        /// An order with this id exists already (ids are fresh UUIDs: a bug).
        #[error("an order with this id already exists")]
        Conflict => ApiError::internal("an order with this id already exists"),
        /// A discount code with this code exists already.
        #[error("a discount code with this code already exists")]
        DiscountExists => ApiError::Conflict("a discount code with this code already exists".into()),
    }
}

/// Shorthand for store results.
pub type RepoResult<T> = Result<T, RepoError>;

/// Orders, by id, by buyer, and by what is left to do for them; and (as a
/// [`ShopRepository`]) the carts, discount codes and checkouts around them.
#[async_trait]
pub trait OrderRepository: ShopRepository + Send + Sync {
    /// Stores a new order; [`RepoError::Conflict`] when its id is taken.
    async fn insert(&self, order: &Order) -> RepoResult<()>;

    /// The order with this id, in any state.
    async fn find_by_id(&self, id: &OrderId) -> RepoResult<Option<Order>>;

    /// The orders with these ids, in one store query; missing ids are left out
    /// and the order is unspecified.
    async fn find_by_ids(&self, ids: &[OrderId]) -> RepoResult<Vec<Order>>;

    /// A page of the buyer's visible orders (PENDING_PAYMENT, PAID, REFUNDING,
    /// CANCELLING, CANCELLED), newest first.
    async fn list_by_buyer(&self, buyer_id: &str, page: &PageRequest) -> RepoResult<OrderPage> {
        self.list_by_buyer_in(buyer_id, page, None).await
    }

    /// As [`OrderRepository::list_by_buyer`], only the orders shown with `status` when given.
    async fn list_by_buyer_in(
        &self,
        buyer_id: &str,
        page: &PageRequest,
        status: Option<OrderStatus>,
    ) -> RepoResult<OrderPage>;

    /// Applies `change` only while the order is in `change.from`, atomically.
    /// The updated order, or `None` when there is no such order or it has moved on.
    async fn transition(&self, id: &OrderId, change: &Transition) -> RepoResult<Option<Order>>;

    /// Up to `limit` orders that are `which` (for the sweeper), oldest change first.
    async fn find_unfinished(&self, which: Unfinished, limit: usize) -> RepoResult<Vec<Order>>;

    /// Whether the store answers (for `/ready`).
    async fn ping(&self) -> RepoResult<()>;
}

/// A shared repository handle.
pub type SharedRepository = Arc<dyn OrderRepository>;

/// An order as both stores keep it: ids are strings, timestamps integer
/// milliseconds (the CI's MongoDB-compatible server mangles `$set` dates).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrderRecord {
    #[serde(rename = "_id")]
    pub id: String,
    pub buyer_id: String,
    pub state: OrderState,
    pub lines: Vec<LineRequest>,
    #[serde(default)]
    pub pricing: Option<Pricing>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default, with = "storefront_shared::store::flag")]
    pub stock_committed: bool,
    #[serde(default)]
    pub checkout: Option<CheckoutTerms>,
}

impl From<&Order> for OrderRecord {
    fn from(order: &Order) -> Self {
        OrderRecord {
            id: order.id.as_str().to_owned(),
            buyer_id: order.buyer_id.clone(),
            state: order.state,
            lines: order.lines.clone(),
            pricing: order.pricing.clone(),
            created_at_ms: order.created_at_ms,
            updated_at_ms: order.updated_at_ms,
            expires_at_ms: order.expires_at_ms,
            payment_id: order.payment_id.clone(),
            stock_committed: order.stock_committed,
            checkout: order.checkout.clone(),
        }
    }
}

impl TryFrom<OrderRecord> for Order {
    type Error = RepoError;

    fn try_from(record: OrderRecord) -> Result<Self, Self::Error> {
        let id = OrderId::parse(&record.id)
            .map_err(|_| RepoError::Corrupt(format!("order id {} is not a UUID", record.id)))?;
        Ok(Order {
            id,
            buyer_id: record.buyer_id,
            state: record.state,
            lines: record.lines,
            pricing: record.pricing,
            created_at_ms: record.created_at_ms,
            updated_at_ms: record.updated_at_ms,
            expires_at_ms: record.expires_at_ms,
            payment_id: record.payment_id,
            stock_committed: record.stock_committed,
            checkout: record.checkout,
        })
    }
}
