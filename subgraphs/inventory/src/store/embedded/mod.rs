//! The embedded store: one `redb` file at `DATA_DIR/inventory/store.redb`.
//!
//! Products, categories and reservations are JSON values keyed by sku, slug and order
//! id. Every operation is one write transaction, so it is all-or-nothing and durable
//! when it returns; redb runs one writer at a time, which is what keeps 200 racing
//! reserves from overselling. Work runs on the blocking pool.
//!
//! # Layout
//! - this file: tables, transactions, products and reservations.
//! - `listing.rs`: the listing index (table `listing`), pages and counts.
//! - `categories.rs`: the category tree (table `categories`).

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use storefront_shared::store::Embedded;

use super::lifecycle::{self, Repeat, Shortage, State};
use super::{ProductRepository, StockRepository, StoreError, StoreResult, check_stock_limit};
use crate::domain::{
    ListRequest, NewProduct, OrderId, Product, ProductFilter, ProductPage, ProductPatch, Quantity,
    Reservation, ReservedLine, Sku, StockRequest, now_millis,
};
use listing::LISTING;

mod categories;
mod listing;

storefront_shared::embedded_store_errors!(StoreError, StoreError::backend);

const PRODUCTS: TableDefinition<&str, &[u8]> = TableDefinition::new("products");
const RESERVATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("reservations");
const CATEGORIES: TableDefinition<&str, &[u8]> = TableDefinition::new("categories");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// A reservation as the embedded store keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    state: State,
    lines: Vec<ReservedLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shortage: Option<Shortage>,
    created_at: i64,
    updated_at: i64,
}

impl Record {
    fn reservation(&self, order_id: &OrderId) -> StoreResult<Reservation> {
        let status = self.state.public().ok_or_else(|| {
            StoreError::Corrupt(format!("reservation {order_id} is {}", self.state.as_str()))
        })?;
        Ok(Reservation {
            order_id: order_id.clone(),
            status,
            lines: self.lines.clone(),
        })
    }
}

/// The embedded store.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Embedded,
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(StoreError::backend)
}

fn counter(value: Option<i64>, what: &str, sku: &Sku) -> StoreResult<i64> {
    value
        .filter(|v| *v >= 0)
        .ok_or_else(|| StoreError::Corrupt(format!("{what} of {sku} would leave its range")))
}

/// The tables of one write transaction.
struct Tables<'t> {
    products: redb::Table<'t, &'static str, &'static [u8]>,
    reservations: redb::Table<'t, &'static str, &'static [u8]>,
    listing: redb::Table<'t, &'static [u8], ()>,
    categories: redb::Table<'t, &'static str, &'static [u8]>,
    meta: redb::Table<'t, &'static str, u64>,
}

impl Tables<'_> {
    fn product(&self, sku: &Sku) -> StoreResult<Option<Product>> {
        match self.products.get(sku.as_str())? {
            Some(bytes) => decode(bytes.value(), "product").map(Some),
            None => Ok(None),
        }
    }

    /// Writes `product` and brings its listing keys up to date.
    fn put_product(&mut self, product: &Product) -> StoreResult<()> {
        let old = self.product(&product.sku)?;
        listing::sync(&mut self.listing, old.as_ref(), Some(product))?;
        let bytes = encode(product)?;
        self.products
            .insert(product.sku.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Rebuilds the listing index when it was made by another key layout (or never).
    fn ensure_listing(&mut self) -> StoreResult<()> {
        let current = self.meta.get("listing")?.map(|v| v.value());
        if current != Some(listing::LISTING_VERSION) {
            let indexed = listing::rebuild(&mut self.listing, &self.products)?;
            self.meta.insert("listing", listing::LISTING_VERSION)?;
            tracing::info!(indexed, "embedded listing index built");
        }
        Ok(())
    }

    fn record(&self, order_id: &OrderId) -> StoreResult<Option<Record>> {
        match self.reservations.get(order_id.as_str())? {
            Some(bytes) => decode(bytes.value(), "reservation").map(Some),
            None => Ok(None),
        }
    }

    fn put_record(&mut self, order_id: &OrderId, record: &Record) -> StoreResult<()> {
        let bytes = encode(record)?;
        self.reservations
            .insert(order_id.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// Applies `change` to the product of every line (missing products are corrupt data).
    fn adjust(
        &mut self,
        lines: &[ReservedLine],
        change: impl Fn(&mut Product, i64) -> StoreResult<()>,
    ) -> StoreResult<()> {
        for line in lines {
            let mut product = self.product(&line.sku)?.ok_or_else(|| {
                StoreError::Corrupt(format!("reserved product {} is missing", line.sku))
            })?;
            change(&mut product, line.quantity)?;
            self.put_product(&product)?;
        }
        Ok(())
    }
}

/// Moves `quantity` units from one counter to another, never below zero.
fn shift(from: &mut i64, to: &mut i64, quantity: i64, sku: &Sku) -> StoreResult<()> {
    *from = counter(from.checked_sub(quantity), "a counter", sku)?;
    *to = counter(to.checked_add(quantity), "a counter", sku)?;
    Ok(())
}

impl EmbeddedStore {
    /// Uses `db` (from `storefront_shared::store::open_embedded`), creating the tables.
    pub async fn new(db: Database) -> StoreResult<Self> {
        let store = EmbeddedStore {
            db: Embedded::new(db),
        };
        store.write(|tables| tables.ensure_listing()).await?;
        Ok(store)
    }

    /// Runs `work` in one write transaction on the blocking pool; commits when it
    /// returns `Ok` together with `true`, aborts otherwise.
    async fn write_then<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Tables<'_>) -> StoreResult<(T, bool)> + Send + 'static,
    ) -> StoreResult<T> {
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                let (value, commit) = {
                    let mut tables = Tables {
                        products: txn.open_table(PRODUCTS)?,
                        reservations: txn.open_table(RESERVATIONS)?,
                        listing: txn.open_table(LISTING)?,
                        categories: txn.open_table(CATEGORIES)?,
                        meta: txn.open_table(META)?,
                    };
                    work(&mut tables)?
                };
                if commit {
                    txn.commit()?;
                } else {
                    txn.abort()?;
                }
                Ok(value)
            })
            .await
    }

    /// Runs `work` in one write transaction, committed when it succeeds.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Tables<'_>) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.write_then(|tables| work(tables).map(|value| (value, true)))
            .await
    }

    /// Runs `work` with read-only views of the listing index and the products.
    async fn read_listing<T: Send + 'static>(
        &self,
        work: impl FnOnce(
            &redb::ReadOnlyTable<&'static [u8], ()>,
            &redb::ReadOnlyTable<&'static str, &'static [u8]>,
        ) -> StoreResult<T>
        + Send
        + 'static,
    ) -> StoreResult<T> {
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let listing = txn.open_table(LISTING)?;
                let products = txn.open_table(PRODUCTS)?;
                work(&listing, &products)
            })
            .await
    }

    /// Runs `work` with a read-only view of the products.
    async fn read_products<T: Send + 'static>(
        &self,
        work: impl FnOnce(&redb::ReadOnlyTable<&'static str, &'static [u8]>) -> StoreResult<T>
        + Send
        + 'static,
    ) -> StoreResult<T> {
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let table = txn.open_table(PRODUCTS)?;
                work(&table)
            })
            .await
    }
}

#[async_trait]
impl ProductRepository for EmbeddedStore {
    async fn insert(&self, new: NewProduct) -> StoreResult<Product> {
        self.write(move |tables| {
            if tables.product(&new.sku)?.is_some() {
                return Err(StoreError::DuplicateSku(new.sku));
            }
            for slug in &new.categories {
                if tables.category(slug)?.is_none() {
                    return Err(StoreError::UnknownCategory(slug.clone()));
                }
            }
            let product = Product::from_new(new, now_millis());
            tables.put_product(&product)?;
            Ok(product)
        })
        .await
    }

    /// One write transaction for the whole batch.
    async fn insert_many(&self, products: Vec<NewProduct>) -> StoreResult<usize> {
        self.write(move |tables| {
            let mut added = 0;
            for new in products {
                if tables.product(&new.sku)?.is_some() {
                    continue;
                }
                for slug in &new.categories {
                    if tables.category(slug)?.is_none() {
                        return Err(StoreError::UnknownCategory(slug.clone()));
                    }
                }
                tables.put_product(&Product::from_new(new, now_millis()))?;
                added += 1;
            }
            Ok(added)
        })
        .await
    }

    async fn get(&self, sku: &Sku) -> StoreResult<Option<Product>> {
        let sku = sku.clone();
        self.read_products(move |table| match table.get(sku.as_str())? {
            Some(bytes) => decode(bytes.value(), "product").map(Some),
            None => Ok(None),
        })
        .await
    }

    async fn get_many(&self, skus: &[Sku]) -> StoreResult<Vec<Product>> {
        let skus = skus.to_vec();
        self.read_products(move |table| {
            let mut products = Vec::with_capacity(skus.len());
            for sku in &skus {
                if let Some(bytes) = table.get(sku.as_str())? {
                    products.push(decode(bytes.value(), "product")?);
                }
            }
            Ok(products)
        })
        .await
    }

    async fn list(&self, request: &ListRequest) -> StoreResult<ProductPage> {
        let request = request.clone();
        self.read_listing(move |index, products| listing::list(index, products, &request))
            .await
    }

    async fn count(&self, filter: &ProductFilter) -> StoreResult<u64> {
        let filter = filter.clone();
        self.read_listing(move |index, products| listing::count(index, products, &filter))
            .await
    }

    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> StoreResult<Product> {
        let (sku, patch) = (sku.clone(), patch.clone());
        self.write(move |tables| {
            let mut product = tables
                .product(&sku)?
                .ok_or_else(|| StoreError::UnknownSku(sku.clone()))?;
            for slug in patch.categories.iter().flatten() {
                if tables.category(slug)?.is_none() {
                    return Err(StoreError::UnknownCategory(slug.clone()));
                }
            }
            patch
                .apply(&mut product)
                .map_err(|error| StoreError::Corrupt(error.message()))?;
            tables.put_product(&product)?;
            Ok(product)
        })
        .await
    }

    async fn set_archived(&self, sku: &Sku, archived: bool) -> StoreResult<Product> {
        let sku = sku.clone();
        self.write(move |tables| {
            let mut product = tables
                .product(&sku)?
                .ok_or_else(|| StoreError::UnknownSku(sku.clone()))?;
            if product.is_archived() != archived {
                product.archived_at = archived.then(now_millis);
                tables.put_product(&product)?;
            }
            Ok(product)
        })
        .await
    }

    async fn restock(&self, sku: &Sku, quantity: Quantity) -> StoreResult<Product> {
        let sku = sku.clone();
        self.write(move |tables| {
            let mut product = tables
                .product(&sku)?
                .ok_or_else(|| StoreError::UnknownSku(sku.clone()))?;
            check_stock_limit(&product, quantity)?;
            product.available = counter(
                product.available.checked_add(quantity.get()),
                "available",
                &sku,
            )?;
            product.received = counter(
                product.received.checked_add(quantity.get()),
                "received",
                &sku,
            )?;
            tables.put_product(&product)?;
            Ok(product)
        })
        .await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        self.read_products(|table| Ok(table.is_empty()?)).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read_products(|_| Ok(())).await
    }
}

#[async_trait]
impl StockRepository for EmbeddedStore {
    async fn reserve(
        &self,
        order_id: &OrderId,
        request: &StockRequest,
    ) -> StoreResult<Reservation> {
        let order_id = order_id.clone();
        let request = request.clone();
        self.write_then(move |tables| {
            if let Some(record) = tables.record(&order_id)? {
                return match lifecycle::repeat_reserve(
                    &order_id,
                    &request,
                    record.state,
                    &record.lines,
                    record.shortage.as_ref(),
                )? {
                    Repeat::Same(reservation) => Ok((Ok(reservation), false)),
                    Repeat::Pending => Err(StoreError::Corrupt(format!(
                        "reservation {order_id} is half made"
                    ))),
                };
            }
            let mut products = Vec::with_capacity(request.lines().len());
            for line in request.lines() {
                let product = tables
                    .product(line.sku)?
                    .ok_or_else(|| StoreError::UnknownSku(line.sku.clone()))?;
                if product.is_archived() {
                    // Nothing is recorded: the order may be retried once it is unarchived.
                    return Err(StoreError::Archived(product.sku));
                }
                products.push((product, line.quantity.get()));
            }
            let lines: Vec<ReservedLine> = products
                .iter()
                .map(|(product, quantity)| ReservedLine {
                    sku: product.sku.clone(),
                    quantity: *quantity,
                    unit_price: product.price.clone(),
                })
                .collect();
            let now = now_millis();
            let shortage = products
                .iter()
                .find(|(product, quantity)| product.available < *quantity)
                .map(|(product, quantity)| Shortage {
                    sku: product.sku.clone(),
                    requested: *quantity,
                    available: product.available,
                });
            if let Some(shortage) = shortage {
                let error = shortage.to_error();
                let record = Record {
                    state: State::Failed,
                    lines,
                    shortage: Some(shortage),
                    created_at: now,
                    updated_at: now,
                };
                tables.put_record(&order_id, &record)?;
                return Ok((Err(error), true));
            }
            for (mut product, quantity) in products {
                let sku = product.sku.clone();
                shift(
                    &mut product.available,
                    &mut product.reserved,
                    quantity,
                    &sku,
                )?;
                tables.put_product(&product)?;
            }
            let record = Record {
                state: State::Reserved,
                lines,
                shortage: None,
                created_at: now,
                updated_at: now,
            };
            tables.put_record(&order_id, &record)?;
            Ok((record.reservation(&order_id), true))
        })
        .await?
    }

    async fn release(&self, order_id: &OrderId) -> StoreResult<Reservation> {
        let order_id = order_id.clone();
        self.write(move |tables| {
            let now = now_millis();
            let Some(mut record) = tables.record(&order_id)? else {
                // A release before any reserve: remember it so a late reserve cannot hold stock.
                let tombstone = Record {
                    state: State::Released,
                    lines: Vec::new(),
                    shortage: None,
                    created_at: now,
                    updated_at: now,
                };
                tables.put_record(&order_id, &tombstone)?;
                return tombstone.reservation(&order_id);
            };
            match record.state {
                State::Released => return record.reservation(&order_id),
                State::Reserved => tables.adjust(&record.lines, |p, q| {
                    let sku = p.sku.clone();
                    shift(&mut p.reserved, &mut p.available, q, &sku)
                })?,
                State::Committed => tables.adjust(&record.lines, |p, q| {
                    let sku = p.sku.clone();
                    shift(&mut p.sold, &mut p.available, q, &sku)
                })?,
                State::Failed => {}
                transitional => {
                    return Err(StoreError::Corrupt(format!(
                        "reservation {order_id} is {}",
                        transitional.as_str()
                    )));
                }
            }
            record.state = State::Released;
            record.updated_at = now;
            tables.put_record(&order_id, &record)?;
            record.reservation(&order_id)
        })
        .await
    }

    async fn commit(&self, order_id: &OrderId) -> StoreResult<Reservation> {
        let order_id = order_id.clone();
        self.write(move |tables| {
            let mut record = tables
                .record(&order_id)?
                .ok_or_else(|| StoreError::UnknownOrder(order_id.clone()))?;
            match record.state {
                State::Reserved => {
                    tables.adjust(&record.lines, |p, q| {
                        let sku = p.sku.clone();
                        shift(&mut p.reserved, &mut p.sold, q, &sku)
                    })?;
                    record.state = State::Committed;
                    record.updated_at = now_millis();
                    tables.put_record(&order_id, &record)?;
                }
                State::Committed => {}
                State::Released => return Err(lifecycle::released(&order_id)),
                State::Failed => return Err(lifecycle::failed(&order_id)),
                transitional => {
                    return Err(StoreError::Corrupt(format!(
                        "reservation {order_id} is {}",
                        transitional.as_str()
                    )));
                }
            }
            record.reservation(&order_id)
        })
        .await
    }

    async fn reservation(&self, order_id: &OrderId) -> StoreResult<Option<Reservation>> {
        let order_id = order_id.clone();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let table = txn.open_table(RESERVATIONS)?;
                let Some(bytes) = table.get(order_id.as_str())? else {
                    return Ok(None);
                };
                let record: Record = decode(bytes.value(), "reservation")?;
                if record.state == State::Failed {
                    return Ok(None);
                }
                record.reservation(&order_id).map(Some)
            })
            .await
    }

    /// Nothing to do: every operation is one transaction, so a crash leaves none half done.
    async fn sweep(&self) -> StoreResult<usize> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ReservationStatus;

    #[test]
    fn shifting_units_never_goes_below_zero() {
        let sku = Sku::parse("A").expect("valid");
        let (mut from, mut to) = (2, 0);
        shift(&mut from, &mut to, 2, &sku).expect("fits");
        assert_eq!((from, to), (0, 2));
        assert!(shift(&mut from, &mut to, 1, &sku).is_err());
    }

    #[test]
    fn records_keep_their_status_when_read_back() {
        let record = Record {
            state: State::Committed,
            lines: Vec::new(),
            shortage: None,
            created_at: 1,
            updated_at: 2,
        };
        let bytes = encode(&record).expect("encodes");
        let back: Record = decode(&bytes, "reservation").expect("decodes");
        let order = OrderId::parse("o").expect("valid");
        assert_eq!(
            back.reservation(&order).expect("public").status,
            ReservationStatus::Committed
        );
    }
}
