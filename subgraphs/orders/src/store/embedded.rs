//! The embedded store: `redb` at `DATA_DIR/orders/store.redb`.
//!
//! The shop's tables (carts, discount codes, checkouts) are in
//! `embedded_shop.rs`. The orders' three tables: `orders` (id → JSON record), `orders_by_buyer`
//! ((buyer id, order id) → 0, for newest-first pages; UUID v7 ids sort by
//! time) and `orders_open` (id → 0 for every order the sweeper may still have
//! work for). Every change is one write transaction, and redb runs one writer
//! at a time, so a compare-and-set cannot interleave with another change. redb
//! is blocking, so every call runs in `spawn_blocking`.

use std::path::Path;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use storefront_shared::store::Embedded;

use super::{OrderRecord, OrderRepository, RepoError, RepoResult};
use crate::domain::{
    Order, OrderId, OrderPage, OrderState, OrderStatus, PageRequest, Transition, Unfinished,
};

const ORDERS: TableDefinition<&str, &[u8]> = TableDefinition::new("orders");
const BY_BUYER: TableDefinition<(&str, &str), u8> = TableDefinition::new("orders_by_buyer");
const OPEN: TableDefinition<&str, u8> = TableDefinition::new("orders_open");

/// Sorts after every order id (ids are lower-case hex and '-').
const AFTER_ALL_IDS: &str = "~";

storefront_shared::embedded_store_errors!(RepoError, RepoError::backend);

/// Orders in an embedded `redb` database.
#[derive(Clone)]
pub struct EmbeddedOrderRepository {
    pub(super) db: Embedded,
}

impl EmbeddedOrderRepository {
    /// Uses `db` (see `storefront_shared::store::open_embedded`), creating the tables.
    pub fn new(db: Database) -> RepoResult<Self> {
        let txn = db.begin_write()?;
        txn.open_table(ORDERS)?;
        txn.open_table(BY_BUYER)?;
        txn.open_table(OPEN)?;
        super::embedded_shop::create_tables(&txn)?;
        txn.commit()?;
        Ok(EmbeddedOrderRepository {
            db: Embedded::new(db),
        })
    }

    /// Opens (or creates) `dir/store.redb`.
    pub fn open(dir: &Path) -> RepoResult<Self> {
        let db = storefront_shared::store::open_embedded(dir).map_err(RepoError::backend)?;
        Self::new(db)
    }
}

/// Whether the sweeper may still have work for an order like `record`.
fn needs_sweeping(record: &OrderRecord) -> bool {
    record.state.is_open() && !(record.state == OrderState::Paid && record.stock_committed)
}

fn encode(record: &OrderRecord) -> RepoResult<Vec<u8>> {
    serde_json::to_vec(record).map_err(RepoError::backend)
}

fn read(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> RepoResult<Option<Order>> {
    let Some(bytes) = table.get(id)? else {
        return Ok(None);
    };
    let record: OrderRecord = serde_json::from_slice(bytes.value())
        .map_err(|e| RepoError::Corrupt(format!("order {id}: {e}")))?;
    Order::try_from(record).map(Some)
}

#[async_trait]
impl OrderRepository for EmbeddedOrderRepository {
    async fn insert(&self, order: &Order) -> RepoResult<()> {
        let record = OrderRecord::from(order);
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut orders = txn.open_table(ORDERS)?;
                    if orders.get(record.id.as_str())?.is_some() {
                        return Err(RepoError::Conflict);
                    }
                    orders.insert(record.id.as_str(), encode(&record)?.as_slice())?;
                    let mut by_buyer = txn.open_table(BY_BUYER)?;
                    by_buyer.insert((record.buyer_id.as_str(), record.id.as_str()), 0)?;
                    if needs_sweeping(&record) {
                        txn.open_table(OPEN)?.insert(record.id.as_str(), 0)?;
                    }
                }
                txn.commit()?;
                Ok(())
            })
            .await
    }

    async fn find_by_id(&self, id: &OrderId) -> RepoResult<Option<Order>> {
        let id = id.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                read(&txn.open_table(ORDERS)?, id.as_str())
            })
            .await
    }

    async fn find_by_ids(&self, ids: &[OrderId]) -> RepoResult<Vec<Order>> {
        let ids = ids.to_vec();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let orders = txn.open_table(ORDERS)?;
                let mut found = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(order) = read(&orders, id.as_str())? {
                        found.push(order);
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn list_by_buyer_in(
        &self,
        buyer_id: &str,
        page: &PageRequest,
        status: Option<OrderStatus>,
    ) -> RepoResult<OrderPage> {
        let buyer_id = buyer_id.to_owned();
        let page = page.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let orders = txn.open_table(ORDERS)?;
                let by_buyer = txn.open_table(BY_BUYER)?;
                let upper = page
                    .after
                    .as_ref()
                    .map_or(AFTER_ALL_IDS, |after| after.as_str());
                let range = by_buyer.range((buyer_id.as_str(), "")..(buyer_id.as_str(), upper))?;
                let mut found = Vec::with_capacity(page.first + 1);
                for entry in range.rev() {
                    let (key, _) = entry?;
                    let (_, order_id) = key.value();
                    let Some(order) = read(&orders, order_id)? else {
                        continue;
                    };
                    let shown = match status {
                        Some(status) => order.state.public() == Some(status),
                        None => order.state.public().is_some(),
                    };
                    if shown {
                        found.push(order);
                    }
                    if found.len() > page.first {
                        break;
                    }
                }
                let has_next_page = found.len() > page.first;
                found.truncate(page.first);
                Ok(OrderPage {
                    orders: found,
                    has_next_page,
                })
            })
            .await
    }

    async fn transition(&self, id: &OrderId, change: &Transition) -> RepoResult<Option<Order>> {
        let id = id.clone();
        let change = change.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                let updated = {
                    let mut orders = txn.open_table(ORDERS)?;
                    let Some(mut order) = read(&orders, id.as_str())? else {
                        return Ok(None);
                    };
                    if order.state != change.from {
                        return Ok(None);
                    }
                    change.apply(&mut order);
                    let record = OrderRecord::from(&order);
                    orders.insert(id.as_str(), encode(&record)?.as_slice())?;
                    let mut open = txn.open_table(OPEN)?;
                    if needs_sweeping(&record) {
                        open.insert(id.as_str(), 0)?;
                    } else {
                        open.remove(id.as_str())?;
                    }
                    order
                };
                txn.commit()?;
                Ok(Some(updated))
            })
            .await
    }

    async fn find_unfinished(&self, which: Unfinished, limit: usize) -> RepoResult<Vec<Order>> {
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let orders = txn.open_table(ORDERS)?;
                let open = txn.open_table(OPEN)?;
                let mut found = Vec::new();
                for entry in open.iter()? {
                    let (id, _) = entry?;
                    if let Some(order) = read(&orders, id.value())?
                        && which.matches(&order)
                    {
                        found.push(order);
                    }
                }
                found.sort_by_key(|order| order.updated_at_ms);
                found.truncate(limit);
                Ok(found)
            })
            .await
    }

    async fn ping(&self) -> RepoResult<()> {
        self.db
            .blocking(|db| {
                let txn = db.begin_read()?;
                txn.open_table(ORDERS)?;
                Ok(())
            })
            .await
    }
}
