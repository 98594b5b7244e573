//! Where payments live: one [`PaymentRepository`] trait, two stores.
//!
//! - [`mongo::MongoPaymentRepository`]: MongoDB, database `payments`, collections
//!   `payments`, `idempotency_keys` and `order_guards`.
//! - [`embedded::EmbeddedPaymentRepository`]: `redb` at `DATA_DIR/payments/store.redb`,
//!   for runs without `MONGODB_URI`.
//!
//! Every change is one single-document compare-and-set: an insert that fails
//! when the id exists, or an update whose filter states what the document must
//! still look like ([`Condition`]). Nothing needs multi-document transactions.
//! Both stores pass the same conformance suite (`tests/conformance.rs`).

pub mod embedded;
pub mod mongo;

use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{IdempotencyRecord, Payment, PaymentState};

pub use embedded::EmbeddedPaymentRepository;
pub use mongo::MongoPaymentRepository;

storefront_shared::repo_error! {
    /// What a store can fail with: only the failures every store shares
    /// (`Unavailable`, `Backend`, `Corrupt`).
    pub enum RepoError in "payment" store, retry "retry with the same idempotencyKey" {}
}

/// Shorthand for store results.
pub type RepoResult<T> = Result<T, RepoError>;

/// What a payment must still look like for an update to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The state it must be in.
    pub state: PaymentState,
    /// The attempt number it must be at.
    pub attempt: Option<i64>,
    /// Its lease must have ended before this instant (ms).
    pub lease_ended_before_ms: Option<i64>,
    /// Its `order_notified` flag must be this.
    pub order_notified: Option<bool>,
}

impl Condition {
    /// Only that the payment is in `state`.
    pub fn state(state: PaymentState) -> Self {
        Condition {
            state,
            attempt: None,
            lease_ended_before_ms: None,
            order_notified: None,
        }
    }
}

/// What an update sets; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// The new state.
    pub state: Option<PaymentState>,
    /// The provider's charge id.
    pub provider_reference: Option<String>,
    /// Why it was declined.
    pub decline_reason: Option<String>,
    /// The provider's refund id.
    pub refund_reference: Option<String>,
    /// Whether orders knows.
    pub order_notified: Option<bool>,
    /// The new lease end (0 ends the lease).
    pub lease_until_ms: Option<i64>,
    /// Adds one to `attempt`.
    pub next_attempt: bool,
    /// The time of the change (ms); always set.
    pub updated_at_ms: i64,
}

impl Change {
    /// Applies the change to `payment` (what both stores do).
    pub fn apply(&self, payment: &mut Payment) {
        if let Some(state) = self.state {
            payment.state = state;
        }
        if let Some(reference) = &self.provider_reference {
            payment.provider_reference = Some(reference.clone());
        }
        if let Some(reason) = &self.decline_reason {
            payment.decline_reason = Some(reason.clone());
        }
        if let Some(reference) = &self.refund_reference {
            payment.refund_reference = Some(reference.clone());
        }
        if let Some(notified) = self.order_notified {
            payment.order_notified = notified;
        }
        if let Some(until) = self.lease_until_ms {
            payment.lease_until_ms = until;
        }
        if self.next_attempt {
            payment.attempt += 1;
        }
        payment.updated_at_ms = self.updated_at_ms;
    }
}

impl Condition {
    /// Whether `payment` satisfies the condition (what the embedded store checks).
    pub fn holds_for(&self, payment: &Payment) -> bool {
        payment.state == self.state
            && self.attempt.is_none_or(|a| payment.attempt == a)
            && self
                .lease_ended_before_ms
                .is_none_or(|t| payment.lease_until_ms < t)
            && self
                .order_notified
                .is_none_or(|n| payment.order_notified == n)
    }
}

/// The answer to claiming an order's payment guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardClaim {
    /// The guard is now (or already was) held by the claiming payment.
    Claimed,
    /// Another payment holds it (`holder`), since `since_ms`; an empty holder
    /// means the guard is free but was not the one expected.
    HeldBy {
        /// The payment holding the guard.
        holder: String,
        /// When it took the guard (ms).
        since_ms: i64,
    },
}

/// Payments, idempotency keys and the per-order guards.
#[async_trait]
pub trait PaymentRepository: Send + Sync {
    /// Records an idempotency key unless its id exists: `None` when this record
    /// was inserted, else the record already stored (unchanged).
    async fn record_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> RepoResult<Option<IdempotencyRecord>>;

    /// Stores a new payment; `false` (and nothing changed) when its id exists.
    async fn insert_payment(&self, payment: &Payment) -> RepoResult<bool>;

    /// The payment with this id.
    async fn find_payment(&self, id: &str) -> RepoResult<Option<Payment>>;

    /// The payments with these ids, in one store query; missing ids are left out.
    async fn find_payments(&self, ids: &[String]) -> RepoResult<Vec<Payment>>;

    /// Every payment of these orders, in one store query, oldest first.
    async fn payments_for_orders(&self, order_ids: &[String]) -> RepoResult<Vec<Payment>>;

    /// Applies `change` if the payment still satisfies `condition`, atomically;
    /// the updated payment, or `None` when there is no such payment or it has moved on.
    async fn update_payment(
        &self,
        id: &str,
        condition: &Condition,
        change: &Change,
    ) -> RepoResult<Option<Payment>>;

    /// Makes `payment_id` the holder of the order's guard if it is free
    /// (`expected_holder` empty) or still held by `expected_holder` (a stale holder
    /// being taken over). Claiming a guard one already holds succeeds.
    async fn claim_order(
        &self,
        order_id: &str,
        payment_id: &str,
        expected_holder: &str,
    ) -> RepoResult<GuardClaim>;

    /// Frees the order's guard if `payment_id` holds it; whether it did.
    async fn release_order(&self, order_id: &str, payment_id: &str) -> RepoResult<bool>;

    /// What the sweeper must finish: SUCCEEDED payments orders has not been told
    /// about, PROCESSING ones created before `processing_created_before_ms`
    /// whose lease ended before `now_ms`, and REFUNDING ones whose lease ended
    /// before `now_ms` (a refund asked for whose answer nobody is waiting for).
    async fn payments_needing_attention(
        &self,
        processing_created_before_ms: i64,
        now_ms: i64,
    ) -> RepoResult<Vec<Payment>>;

    /// Whether the store answers (for `/ready`).
    async fn ping(&self) -> RepoResult<()>;
}

/// A shared repository handle.
pub type SharedRepository = Arc<dyn PaymentRepository>;

/// Whether `payment` is one the sweeper must finish (both stores use this rule).
pub fn needs_attention(payment: &Payment, processing_created_before_ms: i64, now_ms: i64) -> bool {
    match payment.state {
        PaymentState::Succeeded => !payment.order_notified,
        PaymentState::Processing => {
            payment.created_at_ms < processing_created_before_ms && payment.lease_until_ms < now_ms
        }
        PaymentState::Refunding => payment.lease_until_ms < now_ms,
        PaymentState::Declined | PaymentState::Refunded => false,
    }
}
