//! The embedded store: `redb` at `DATA_DIR/payments/store.redb`.
//!
//! Tables: `payments` (id → JSON), `payments_by_order` (order id → payment ids),
//! `idempotency_keys` (buyer:key → JSON) and `order_guards` (order id → holder).
//! Every change is one write transaction, and redb runs one writer at a time,
//! so each compare-and-set is atomic. The sweeper's query scans `payments`
//! (fine for the local run's volumes). redb is blocking, so every call runs in
//! `spawn_blocking`.

use std::path::Path;

use async_trait::async_trait;
use redb::{Database, MultimapTableDefinition, ReadableDatabase, ReadableTable, TableDefinition};
use storefront_shared::store::Embedded;

use super::{
    Change, Condition, GuardClaim, PaymentRepository, RepoError, RepoResult, needs_attention,
};
use crate::domain::{IdempotencyRecord, Payment, now_ms};

const PAYMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("payments");
const PAYMENTS_BY_ORDER: MultimapTableDefinition<&str, &str> =
    MultimapTableDefinition::new("payments_by_order");
const IDEMPOTENCY_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency_keys");
const ORDER_GUARDS: TableDefinition<&str, (&str, i64)> = TableDefinition::new("order_guards");

storefront_shared::embedded_store_errors!(RepoError, RepoError::backend);

/// Payments in an embedded `redb` database.
#[derive(Clone)]
pub struct EmbeddedPaymentRepository {
    db: Embedded,
}

impl EmbeddedPaymentRepository {
    /// Uses `db` (see `storefront_shared::store::open_embedded`), creating the tables.
    pub fn new(db: Database) -> RepoResult<Self> {
        let txn = db.begin_write()?;
        txn.open_table(PAYMENTS)?;
        txn.open_multimap_table(PAYMENTS_BY_ORDER)?;
        txn.open_table(IDEMPOTENCY_KEYS)?;
        txn.open_table(ORDER_GUARDS)?;
        txn.commit()?;
        Ok(EmbeddedPaymentRepository {
            db: Embedded::new(db),
        })
    }

    /// Opens (or creates) `dir/store.redb`.
    pub fn open(dir: &Path) -> RepoResult<Self> {
        let db = storefront_shared::store::open_embedded(dir).map_err(RepoError::backend)?;
        Self::new(db)
    }
}

fn encode<T: serde::Serialize>(value: &T) -> RepoResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(RepoError::backend)
}

fn read_payment(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> RepoResult<Option<Payment>> {
    let Some(bytes) = table.get(id)? else {
        return Ok(None);
    };
    serde_json::from_slice(bytes.value())
        .map(Some)
        .map_err(|e| RepoError::Corrupt(format!("payment {id}: {e}")))
}

fn oldest_first(mut payments: Vec<Payment>) -> Vec<Payment> {
    payments
        .sort_by(|a, b| (a.created_at_ms, a.id.as_str()).cmp(&(b.created_at_ms, b.id.as_str())));
    payments
}

#[async_trait]
impl PaymentRepository for EmbeddedPaymentRepository {
    async fn record_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> RepoResult<Option<IdempotencyRecord>> {
        let record = record.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut keys = txn.open_table(IDEMPOTENCY_KEYS)?;
                    if let Some(bytes) = keys.get(record.id.as_str())? {
                        let existing = serde_json::from_slice(bytes.value()).map_err(|e| {
                            RepoError::Corrupt(format!("idempotency key {}: {e}", record.id))
                        })?;
                        return Ok(Some(existing));
                    }
                    keys.insert(record.id.as_str(), encode(&record)?.as_slice())?;
                }
                txn.commit()?;
                Ok(None)
            })
            .await
    }

    async fn insert_payment(&self, payment: &Payment) -> RepoResult<bool> {
        let payment = payment.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut payments = txn.open_table(PAYMENTS)?;
                    if payments.get(payment.id.as_str())?.is_some() {
                        return Ok(false);
                    }
                    payments.insert(payment.id.as_str(), encode(&payment)?.as_slice())?;
                    let mut by_order = txn.open_multimap_table(PAYMENTS_BY_ORDER)?;
                    by_order.insert(payment.order_id.as_str(), payment.id.as_str())?;
                }
                txn.commit()?;
                Ok(true)
            })
            .await
    }

    async fn find_payment(&self, id: &str) -> RepoResult<Option<Payment>> {
        let id = id.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                read_payment(&txn.open_table(PAYMENTS)?, &id)
            })
            .await
    }

    async fn find_payments(&self, ids: &[String]) -> RepoResult<Vec<Payment>> {
        let ids = ids.to_vec();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let payments = txn.open_table(PAYMENTS)?;
                let mut found = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(payment) = read_payment(&payments, id)? {
                        found.push(payment);
                    }
                }
                Ok(oldest_first(found))
            })
            .await
    }

    async fn payments_for_orders(&self, order_ids: &[String]) -> RepoResult<Vec<Payment>> {
        let order_ids = order_ids.to_vec();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let payments = txn.open_table(PAYMENTS)?;
                let by_order = txn.open_multimap_table(PAYMENTS_BY_ORDER)?;
                let mut found = Vec::new();
                for order_id in &order_ids {
                    for id in by_order.get(order_id.as_str())? {
                        if let Some(payment) = read_payment(&payments, id?.value())? {
                            found.push(payment);
                        }
                    }
                }
                Ok(oldest_first(found))
            })
            .await
    }

    async fn update_payment(
        &self,
        id: &str,
        condition: &Condition,
        change: &Change,
    ) -> RepoResult<Option<Payment>> {
        let (id, condition, change) = (id.to_owned(), condition.clone(), change.clone());
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                let updated = {
                    let mut payments = txn.open_table(PAYMENTS)?;
                    let Some(mut payment) = read_payment(&payments, &id)? else {
                        return Ok(None);
                    };
                    if !condition.holds_for(&payment) {
                        return Ok(None);
                    }
                    change.apply(&mut payment);
                    payments.insert(id.as_str(), encode(&payment)?.as_slice())?;
                    payment
                };
                txn.commit()?;
                Ok(Some(updated))
            })
            .await
    }

    async fn claim_order(
        &self,
        order_id: &str,
        payment_id: &str,
        expected_holder: &str,
    ) -> RepoResult<GuardClaim> {
        let (order_id, payment_id, expected) = (
            order_id.to_owned(),
            payment_id.to_owned(),
            expected_holder.to_owned(),
        );
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut guards = txn.open_table(ORDER_GUARDS)?;
                    let now = now_ms();
                    let (current, since_ms) = guards
                        .get(order_id.as_str())?
                        .map(|guard| {
                            let (holder, since) = guard.value();
                            (holder.to_owned(), since)
                        })
                        .unwrap_or((String::new(), now));
                    if current == payment_id {
                        return Ok(GuardClaim::Claimed);
                    }
                    if current != expected {
                        return Ok(GuardClaim::HeldBy {
                            holder: current,
                            since_ms,
                        });
                    }
                    guards.insert(order_id.as_str(), (payment_id.as_str(), now))?;
                }
                txn.commit()?;
                Ok(GuardClaim::Claimed)
            })
            .await
    }

    async fn release_order(&self, order_id: &str, payment_id: &str) -> RepoResult<bool> {
        let (order_id, payment_id) = (order_id.to_owned(), payment_id.to_owned());
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut guards = txn.open_table(ORDER_GUARDS)?;
                    let holds = guards
                        .get(order_id.as_str())?
                        .is_some_and(|guard| guard.value().0 == payment_id);
                    if !holds {
                        return Ok(false);
                    }
                    guards.insert(order_id.as_str(), ("", now_ms()))?;
                }
                txn.commit()?;
                Ok(true)
            })
            .await
    }

    async fn payments_needing_attention(
        &self,
        processing_created_before_ms: i64,
        now_ms: i64,
    ) -> RepoResult<Vec<Payment>> {
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let payments = txn.open_table(PAYMENTS)?;
                let mut found = Vec::new();
                for entry in payments.iter()? {
                    let (id, bytes) = entry?;
                    let payment: Payment = serde_json::from_slice(bytes.value())
                        .map_err(|e| RepoError::Corrupt(format!("payment {}: {e}", id.value())))?;
                    if needs_attention(&payment, processing_created_before_ms, now_ms) {
                        found.push(payment);
                    }
                }
                Ok(oldest_first(found))
            })
            .await
    }

    async fn ping(&self) -> RepoResult<()> {
        self.db
            .blocking(|db| {
                let txn = db.begin_read()?;
                txn.open_table(PAYMENTS)?;
                Ok(())
            })
            .await
    }
}
