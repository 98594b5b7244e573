//! The shop's tables in the embedded store: `carts` (cart id → JSON),
//! `discount_codes` (code → JSON with the orders holding a use) and
//! `checkouts` (attempt id → JSON). Each change is one redb write
//! transaction, and redb runs one writer at a time, so a conditional change
//! cannot interleave with another. Stale anonymous carts are found by a scan
//! (the sweeper's, not a request's).

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::shop::{CheckoutRecord, ShopRepository};
use super::{EmbeddedOrderRepository, RepoError, RepoResult};
use crate::cart::{Cart, CartId};
use crate::discount::DiscountCode;

const CARTS: TableDefinition<&str, &[u8]> = TableDefinition::new("carts");
const DISCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("discount_codes");
const CHECKOUTS: TableDefinition<&str, &[u8]> = TableDefinition::new("checkouts");

/// A code with the orders holding a use of it.
#[derive(Serialize, Deserialize)]
struct DiscountRecord {
    code: DiscountCode,
    claims: Vec<String>,
}

/// Creates the shop's tables in the store's first transaction.
pub(super) fn create_tables(txn: &WriteTransaction) -> RepoResult<()> {
    txn.open_table(CARTS)?;
    txn.open_table(DISCOUNTS)?;
    txn.open_table(CHECKOUTS)?;
    Ok(())
}

fn encode<T: Serialize>(value: &T) -> RepoResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(RepoError::backend)
}

fn decode<T: DeserializeOwned>(what: &str, key: &str, bytes: &[u8]) -> RepoResult<T> {
    serde_json::from_slice(bytes).map_err(|e| RepoError::Corrupt(format!("{what} {key}: {e}")))
}

fn get<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    what: &str,
    key: &str,
) -> RepoResult<Option<T>> {
    match table.get(key)? {
        Some(bytes) => decode(what, key, bytes.value()).map(Some),
        None => Ok(None),
    }
}

impl EmbeddedOrderRepository {
    /// Changes the discount record `code` with `change` (which says whether it
    /// changed anything) in one write transaction.
    async fn update_discount(
        &self,
        code: &str,
        change: impl FnOnce(&mut DiscountRecord) -> bool + Send + 'static,
    ) -> RepoResult<Option<(DiscountRecord, bool)>> {
        let code = code.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                let result = {
                    let mut table = txn.open_table(DISCOUNTS)?;
                    let Some(mut record) = get::<DiscountRecord>(&table, "discount code", &code)?
                    else {
                        return Ok(None);
                    };
                    let changed = change(&mut record);
                    if changed {
                        table.insert(code.as_str(), encode(&record)?.as_slice())?;
                    }
                    (record, changed)
                };
                txn.commit()?;
                Ok(Some(result))
            })
            .await
    }
}

#[async_trait]
impl ShopRepository for EmbeddedOrderRepository {
    async fn find_cart(&self, id: &str) -> RepoResult<Option<Cart>> {
        let id = id.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                get(&txn.open_table(CARTS)?, "cart", &id)
            })
            .await
    }

    async fn save_cart(&self, cart: &Cart) -> RepoResult<bool> {
        let cart = cart.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut table = txn.open_table(CARTS)?;
                    let stored: Option<Cart> = get(&table, "cart", &cart.id)?;
                    let expected = cart.version - 1;
                    let matches = match &stored {
                        Some(stored) => stored.version == expected,
                        None => expected == 0,
                    };
                    if !matches {
                        return Ok(false);
                    }
                    table.insert(cart.id.as_str(), encode(&cart)?.as_slice())?;
                }
                txn.commit()?;
                Ok(true)
            })
            .await
    }

    async fn delete_cart(&self, id: &str, version: i64) -> RepoResult<bool> {
        let id = id.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut table = txn.open_table(CARTS)?;
                    let stored: Option<Cart> = get(&table, "cart", &id)?;
                    if stored.is_none_or(|cart| cart.version != version) {
                        return Ok(false);
                    }
                    table.remove(id.as_str())?;
                }
                txn.commit()?;
                Ok(true)
            })
            .await
    }

    async fn delete_stale_carts(&self, before_ms: i64, limit: usize) -> RepoResult<usize> {
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                let deleted = {
                    let mut table = txn.open_table(CARTS)?;
                    let mut stale = Vec::new();
                    for entry in table.iter()? {
                        let (key, bytes) = entry?;
                        let cart: Cart = decode("cart", key.value(), bytes.value())?;
                        let anonymous = matches!(cart.cart_id(), Ok(CartId::Anonymous(_)));
                        if anonymous && cart.updated_at_ms < before_ms {
                            stale.push(cart.id);
                        }
                        if stale.len() >= limit {
                            break;
                        }
                    }
                    for id in &stale {
                        table.remove(id.as_str())?;
                    }
                    stale.len()
                };
                txn.commit()?;
                Ok(deleted)
            })
            .await
    }

    async fn insert_discount(&self, code: &DiscountCode) -> RepoResult<()> {
        let record = DiscountRecord {
            code: code.clone(),
            claims: Vec::new(),
        };
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut table = txn.open_table(DISCOUNTS)?;
                    let key = record.code.terms.code.clone();
                    if table.get(key.as_str())?.is_some() {
                        return Err(RepoError::DiscountExists);
                    }
                    table.insert(key.as_str(), encode(&record)?.as_slice())?;
                }
                txn.commit()?;
                Ok(())
            })
            .await
    }

    async fn find_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>> {
        let code = code.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let record: Option<DiscountRecord> =
                    get(&txn.open_table(DISCOUNTS)?, "discount code", &code)?;
                Ok(record.map(|record| record.code))
            })
            .await
    }

    async fn list_discounts(&self) -> RepoResult<Vec<DiscountCode>> {
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let table = txn.open_table(DISCOUNTS)?;
                let mut codes = Vec::new();
                for entry in table.iter()? {
                    let (key, bytes) = entry?;
                    let record: DiscountRecord =
                        decode("discount code", key.value(), bytes.value())?;
                    codes.push(record.code);
                }
                codes.sort_by_key(|code| std::cmp::Reverse(code.created_at_ms));
                Ok(codes)
            })
            .await
    }

    async fn deactivate_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>> {
        let updated = self
            .update_discount(code, |record| {
                record.code.active = false;
                true
            })
            .await?;
        Ok(updated.map(|(record, _)| record.code))
    }

    async fn claim_discount(&self, code: &str, order_id: &str) -> RepoResult<bool> {
        let claimant = order_id.to_owned();
        let updated = self
            .update_discount(code, move |record| {
                if record.claims.contains(&claimant) || !record.code.active {
                    return false;
                }
                if record
                    .code
                    .usage_limit
                    .is_some_and(|limit| record.code.used >= limit)
                {
                    return false;
                }
                record.code.used += 1;
                record.claims.push(claimant);
                true
            })
            .await?;
        Ok(updated.is_some_and(|(record, _)| record.claims.iter().any(|c| c == order_id)))
    }

    async fn release_discount(&self, code: &str, order_id: &str) -> RepoResult<bool> {
        let order_id = order_id.to_owned();
        let updated = self
            .update_discount(code, move |record| {
                let Some(index) = record.claims.iter().position(|c| *c == order_id) else {
                    return false;
                };
                record.claims.remove(index);
                record.code.used -= 1;
                true
            })
            .await?;
        Ok(updated.is_some_and(|(_, changed)| changed))
    }

    async fn find_checkout(&self, id: &str) -> RepoResult<Option<CheckoutRecord>> {
        let id = id.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                get(&txn.open_table(CHECKOUTS)?, "checkout", &id)
            })
            .await
    }

    async fn insert_checkout(&self, record: &CheckoutRecord) -> RepoResult<Option<CheckoutRecord>> {
        let record = record.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut table = txn.open_table(CHECKOUTS)?;
                    if let Some(existing) = get(&table, "checkout", &record.id)? {
                        return Ok(Some(existing));
                    }
                    table.insert(record.id.as_str(), encode(&record)?.as_slice())?;
                }
                txn.commit()?;
                Ok(None)
            })
            .await
    }

    async fn renew_checkout(
        &self,
        id: &str,
        old_order_id: &str,
        new_order_id: &str,
    ) -> RepoResult<bool> {
        let (id, old, new) = (
            id.to_owned(),
            old_order_id.to_owned(),
            new_order_id.to_owned(),
        );
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut table = txn.open_table(CHECKOUTS)?;
                    let Some(mut record) = get::<CheckoutRecord>(&table, "checkout", &id)? else {
                        return Ok(false);
                    };
                    if record.order_id != old {
                        return Ok(false);
                    }
                    record.order_id = new;
                    table.insert(id.as_str(), encode(&record)?.as_slice())?;
                }
                txn.commit()?;
                Ok(true)
            })
            .await
    }
}
