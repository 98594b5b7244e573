//! What the shop around the orders keeps: carts, discount codes and checkout
//! attempts (the idempotency keys). One [`ShopRepository`] trait, implemented
//! by both order stores (`embedded_shop.rs`, `mongo_shop.rs`); every change is
//! one single-document conditional write, so nothing here needs transactions.
//!
//! | what            | MongoDB collection | redb table      | key                      |
//! |-----------------|--------------------|-----------------|--------------------------|
//! | carts           | `carts`            | `carts`         | cart id (`user:<id>` or a UUID) |
//! | discount codes  | `discount_codes`   | `discount_codes`| the upper-case code      |
//! | checkouts       | `checkouts`        | `checkouts`     | `<user id>:<idempotency key>` |

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::RepoResult;
use crate::cart::Cart;
use crate::discount::DiscountCode;

/// One checkout attempt, stored before anything else happens, so the same
/// idempotency key finds the same order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutRecord {
    /// `<user id>:<idempotency key>`.
    pub id: String,
    /// A digest of the arguments: the same key with other arguments is CONFLICT.
    pub fingerprint: String,
    /// The order this attempt places (a fresh id once an attempt failed).
    pub order_id: String,
    /// When it was first stored.
    pub created_at_ms: i64,
}

/// Carts, discount codes and checkout attempts.
#[async_trait]
pub trait ShopRepository: Send + Sync {
    /// The cart with this id.
    async fn find_cart(&self, id: &str) -> RepoResult<Option<Cart>>;

    /// Stores `cart` only if the stored one has version `cart.version - 1`
    /// (or, for version 1, none is stored). Whether it was stored.
    async fn save_cart(&self, cart: &Cart) -> RepoResult<bool>;

    /// Deletes the cart if it still has `version`. Whether it was deleted.
    async fn delete_cart(&self, id: &str, version: i64) -> RepoResult<bool>;

    /// Deletes up to `limit` anonymous carts unchanged since before `before_ms`;
    /// how many.
    async fn delete_stale_carts(&self, before_ms: i64, limit: usize) -> RepoResult<usize>;

    /// Stores a new code; [`super::RepoError::Conflict`] when it exists.
    async fn insert_discount(&self, code: &DiscountCode) -> RepoResult<()>;

    /// The code (upper-case).
    async fn find_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>>;

    /// Every code, newest first.
    async fn list_discounts(&self) -> RepoResult<Vec<DiscountCode>>;

    /// Marks the code inactive; the updated code, `None` when unknown.
    async fn deactivate_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>>;

    /// Claims one use of an active code for `order_id`, atomically: only while
    /// uses are left and the order holds none yet. Whether the order holds a
    /// use now (`true` again when it already did).
    async fn claim_discount(&self, code: &str, order_id: &str) -> RepoResult<bool>;

    /// Gives back the use `order_id` holds, if it holds one. Whether one was given back.
    async fn release_discount(&self, code: &str, order_id: &str) -> RepoResult<bool>;

    /// The attempt with this id.
    async fn find_checkout(&self, id: &str) -> RepoResult<Option<CheckoutRecord>>;

    /// Stores a new attempt; `Some(existing)` (and nothing stored) when its id exists.
    async fn insert_checkout(&self, record: &CheckoutRecord) -> RepoResult<Option<CheckoutRecord>>;

    /// Points an attempt at a new order, only while it points at `old_order_id`.
    /// Whether it changed.
    async fn renew_checkout(
        &self,
        id: &str,
        old_order_id: &str,
        new_order_id: &str,
    ) -> RepoResult<bool>;
}
