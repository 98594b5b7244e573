//! The MongoDB store: collections `payments`, `idempotency_keys` and
//! `order_guards` in the service's database.
//!
//! Every `_id` is a string (never an ObjectId), timestamps are integer
//! milliseconds, flags are 0/1 integers (the CI's server stores a `$set`
//! boolean as 1), inserts of an existing `_id` fail with error 11000 (used for
//! insert-if-absent), and updates are single-document `find_one_and_update` /
//! `update_one` calls whose filter is the compare-and-set condition. Nothing
//! here needs transactions, `$lookup` or Decimal128.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::error::Error as MongoError;
use mongodb::options::{FindOptions, IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use storefront_shared::store::{flag, is_duplicate_key, is_unavailable};

use super::{
    Change, Condition, GuardClaim, PaymentRepository, RepoError, RepoResult, needs_attention,
};
use crate::domain::{IdempotencyRecord, Payment, PaymentState, now_ms};

/// The collection of payments.
pub const PAYMENTS: &str = "payments";
/// The collection of idempotency keys.
pub const IDEMPOTENCY_KEYS: &str = "idempotency_keys";
/// The collection of per-order guards.
pub const ORDER_GUARDS: &str = "order_guards";

/// Who may start a payment for an order: `holder` is a payment id, or empty when free.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrderGuard {
    #[serde(rename = "_id")]
    order_id: String,
    holder: String,
    updated_at_ms: i64,
}

/// Payments in MongoDB.
#[derive(Clone)]
pub struct MongoPaymentRepository {
    db: Database,
    payments: Collection<Payment>,
    keys: Collection<IdempotencyRecord>,
    guards: Collection<OrderGuard>,
}

impl MongoPaymentRepository {
    /// Uses the collections of `db`, creating the indexes on `order_id` and `state`.
    pub async fn new(db: Database) -> RepoResult<Self> {
        let payments = db.collection::<Payment>(PAYMENTS);
        let index = IndexModel::builder()
            .keys(doc! { "order_id": 1 })
            .options(IndexOptions::builder().name("order_id".to_owned()).build())
            .build();
        payments.create_index(index).await.map_err(from_mongo)?;
        Ok(MongoPaymentRepository {
            keys: db.collection(IDEMPOTENCY_KEYS),
            guards: db.collection(ORDER_GUARDS),
            payments,
            db,
        })
    }

    async fn find_all(&self, filter: Document) -> RepoResult<Vec<Payment>> {
        let options = FindOptions::builder()
            .sort(doc! { "created_at_ms": 1, "_id": 1 })
            .build();
        self.payments
            .find(filter)
            .with_options(options)
            .await
            .map_err(from_mongo)?
            .try_collect()
            .await
            .map_err(from_mongo)
    }
}

fn from_mongo(error: MongoError) -> RepoError {
    if is_unavailable(&error) {
        RepoError::Unavailable(error.to_string())
    } else {
        RepoError::backend(error)
    }
}

fn state_name(state: PaymentState) -> &'static str {
    state.as_str()
}

fn filter_for(id: &str, condition: &Condition) -> Document {
    let mut filter = doc! { "_id": id, "state": state_name(condition.state) };
    if let Some(attempt) = condition.attempt {
        filter.insert("attempt", attempt);
    }
    if let Some(before) = condition.lease_ended_before_ms {
        filter.insert("lease_until_ms", doc! { "$lt": before });
    }
    if let Some(notified) = condition.order_notified {
        filter.insert("order_notified", flag::stored(notified));
    }
    filter
}

fn update_for(change: &Change) -> Document {
    let mut set = doc! { "updated_at_ms": change.updated_at_ms };
    if let Some(state) = change.state {
        set.insert("state", state_name(state));
    }
    if let Some(reference) = &change.provider_reference {
        set.insert("provider_reference", reference.as_str());
    }
    if let Some(reason) = &change.decline_reason {
        set.insert("decline_reason", reason.as_str());
    }
    if let Some(reference) = &change.refund_reference {
        set.insert("refund_reference", reference.as_str());
    }
    if let Some(notified) = change.order_notified {
        set.insert("order_notified", flag::stored(notified));
    }
    if let Some(until) = change.lease_until_ms {
        set.insert("lease_until_ms", until);
    }
    let mut update = doc! { "$set": set };
    if change.next_attempt {
        update.insert("$inc", doc! { "attempt": 1_i64 });
    }
    update
}

#[async_trait]
impl PaymentRepository for MongoPaymentRepository {
    async fn record_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> RepoResult<Option<IdempotencyRecord>> {
        match self.keys.insert_one(record).await {
            Ok(_) => Ok(None),
            Err(error) if is_duplicate_key(&error) => {
                let existing = self
                    .keys
                    .find_one(doc! { "_id": record.id.as_str() })
                    .await
                    .map_err(from_mongo)?;
                existing.map(Some).ok_or_else(|| {
                    RepoError::backend(format!(
                        "idempotency key {} is a duplicate but cannot be read",
                        record.id
                    ))
                })
            }
            Err(error) => Err(from_mongo(error)),
        }
    }

    async fn insert_payment(&self, payment: &Payment) -> RepoResult<bool> {
        match self.payments.insert_one(payment).await {
            Ok(_) => Ok(true),
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(from_mongo(error)),
        }
    }

    async fn find_payment(&self, id: &str) -> RepoResult<Option<Payment>> {
        self.payments
            .find_one(doc! { "_id": id })
            .await
            .map_err(from_mongo)
    }

    async fn find_payments(&self, ids: &[String]) -> RepoResult<Vec<Payment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.find_all(doc! { "_id": { "$in": ids } }).await
    }

    async fn payments_for_orders(&self, order_ids: &[String]) -> RepoResult<Vec<Payment>> {
        if order_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.find_all(doc! { "order_id": { "$in": order_ids } })
            .await
    }

    async fn update_payment(
        &self,
        id: &str,
        condition: &Condition,
        change: &Change,
    ) -> RepoResult<Option<Payment>> {
        self.payments
            .find_one_and_update(filter_for(id, condition), update_for(change))
            .return_document(ReturnDocument::After)
            .await
            .map_err(from_mongo)
    }

    async fn claim_order(
        &self,
        order_id: &str,
        payment_id: &str,
        expected_holder: &str,
    ) -> RepoResult<GuardClaim> {
        let now = now_ms();
        if expected_holder.is_empty() {
            let guard = OrderGuard {
                order_id: order_id.to_owned(),
                holder: payment_id.to_owned(),
                updated_at_ms: now,
            };
            match self.guards.insert_one(&guard).await {
                Ok(_) => return Ok(GuardClaim::Claimed),
                Err(error) if is_duplicate_key(&error) => {}
                Err(error) => return Err(from_mongo(error)),
            }
        }
        let claimed = self
            .guards
            .update_one(
                doc! { "_id": order_id, "holder": { "$in": [expected_holder, payment_id] } },
                doc! { "$set": { "holder": payment_id, "updated_at_ms": now } },
            )
            .await
            .map_err(from_mongo)?;
        if claimed.matched_count == 1 {
            return Ok(GuardClaim::Claimed);
        }
        let current = self
            .guards
            .find_one(doc! { "_id": order_id })
            .await
            .map_err(from_mongo)?;
        Ok(match current {
            Some(guard) if guard.holder == payment_id => GuardClaim::Claimed,
            Some(guard) => GuardClaim::HeldBy {
                holder: guard.holder,
                since_ms: guard.updated_at_ms,
            },
            None => GuardClaim::HeldBy {
                holder: String::new(),
                since_ms: now,
            },
        })
    }

    async fn release_order(&self, order_id: &str, payment_id: &str) -> RepoResult<bool> {
        let released = self
            .guards
            .update_one(
                doc! { "_id": order_id, "holder": payment_id },
                doc! { "$set": { "holder": "", "updated_at_ms": now_ms() } },
            )
            .await
            .map_err(from_mongo)?;
        Ok(released.matched_count == 1)
    }

    async fn payments_needing_attention(
        &self,
        processing_created_before_ms: i64,
        now_ms: i64,
    ) -> RepoResult<Vec<Payment>> {
        let candidates = self
            .find_all(doc! { "$or": [
                { "state": state_name(PaymentState::Succeeded), "order_notified": flag::stored(false) },
                { "state": state_name(PaymentState::Processing) },
                { "state": state_name(PaymentState::Refunding) },
            ] })
            .await?;
        Ok(candidates
            .into_iter()
            .filter(|p| needs_attention(p, processing_created_before_ms, now_ms))
            .collect())
    }

    async fn ping(&self) -> RepoResult<()> {
        storefront_shared::store::ping(&self.db)
            .await
            .map_err(from_mongo)
    }
}
