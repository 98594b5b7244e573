//! The MongoDB store: database `inventory`, collections `products` (`_id` = sku) and
//! `reservations` (`_id` = order id).
//!
//! No multi-document transactions (the CI server does not isolate them): every change
//! is a single-document conditional update. A product keeps its counters
//! (`available`, `reserved`, `sold`, `received`) and a `holds` sub-document with one
//! entry per order that holds units of it, so holding, releasing and selling a line
//! are each one atomic, idempotent `update_one`. The reservation document is the
//! order's intent, written first; see `mongo/stock.rs` for the protocol and the sweep.
//! Timestamps are integer milliseconds.

mod stock;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use storefront_shared::store::is_duplicate_key;

use super::lifecycle::{Shortage, State};
use super::{ProductRepository, StoreError, StoreResult, check_stock_limit};
use crate::domain::{
    Money, NewProduct, OrderId, PageRequest, Product, ProductPage, Quantity, ReservedLine, Sku,
    now_millis,
};

/// How long a reservation may sit in a transitional state before the sweep takes over.
pub const DEFAULT_STUCK_AFTER: Duration = Duration::from_secs(30);
/// How long after a release the sweep keeps returning late holds (and keeps the markers
/// that make returning sold units idempotent).
pub const LATE_HOLD_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How often a restock re-reads a product that a sale or another restock changed under it.
const RESTOCK_ATTEMPTS: usize = 20;

/// A product document.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProductDoc {
    #[serde(rename = "_id")]
    sku: Sku,
    name: String,
    description: String,
    price: Money,
    available: i64,
    reserved: i64,
    sold: i64,
    received: i64,
    /// Units held per order id.
    #[serde(default)]
    holds: HashMap<String, i64>,
    created_at: i64,
}

impl ProductDoc {
    fn product(self) -> Product {
        Product {
            sku: self.sku,
            name: self.name,
            description: self.description,
            price: self.price,
            available: self.available,
            reserved: self.reserved,
            sold: self.sold,
            received: self.received,
        }
    }
}

/// A reservation document.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReservationDoc {
    #[serde(rename = "_id")]
    order_id: OrderId,
    state: State,
    lines: Vec<ReservedLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shortage: Option<Shortage>,
    /// When sold units were returned (milliseconds); the products' `returns.<order>`
    /// markers await clean-up until the sweep removes them and this field. (An integer,
    /// not a flag: the CI server stores a `$set` boolean as a number.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    returned_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// The MongoDB store.
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    products: Collection<ProductDoc>,
    reservations: Collection<ReservationDoc>,
    stuck_after: Duration,
}

fn backend(error: mongodb::error::Error) -> StoreError {
    StoreError::backend(error)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Escapes regular-expression syntax so the text matches literally.
pub fn escape_regex(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '^' | '$' | '.' | '|' | '?' | '*' | '+' | '(' | ')' | '[' | ']' | '{' | '}'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl MongoStore {
    /// Uses `db` (from `storefront_shared::store::connect_mongo`), creating the indexes.
    pub async fn new(db: Database) -> StoreResult<Self> {
        let store = MongoStore {
            products: db.collection("products"),
            reservations: db.collection("reservations"),
            db,
            stuck_after: DEFAULT_STUCK_AFTER,
        };
        store
            .reservations
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "state": 1, "updated_at": 1 })
                    .build(),
            )
            .await
            .map_err(backend)?;
        Ok(store)
    }

    /// Sets how long a reservation may stay in a transitional state before
    /// [`StockRepository::sweep`](super::StockRepository::sweep) finishes it.
    #[must_use]
    pub fn with_stuck_after(mut self, stuck_after: Duration) -> Self {
        self.stuck_after = stuck_after;
        self
    }

    async fn product_doc(&self, sku: &Sku) -> StoreResult<Option<ProductDoc>> {
        self.products
            .find_one(doc! { "_id": sku.as_str() })
            .await
            .map_err(backend)
    }

    async fn reservation_doc(&self, order_id: &OrderId) -> StoreResult<Option<ReservationDoc>> {
        self.reservations
            .find_one(doc! { "_id": order_id.as_str() })
            .await
            .map_err(backend)
    }

    /// Moves a reservation from `from` to `to` if it is still in `from`; `extra` is set too.
    async fn transition(
        &self,
        order_id: &OrderId,
        from: State,
        to: State,
        extra: Document,
    ) -> StoreResult<bool> {
        let mut set = doc! { "state": to.as_str(), "updated_at": now_millis() };
        set.extend(extra);
        let result = self
            .reservations
            .update_one(
                doc! { "_id": order_id.as_str(), "state": from.as_str() },
                doc! { "$set": set },
            )
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }

    /// One conditional `update_one` on a product; whether it matched.
    async fn update_product(&self, filter: Document, update: Document) -> StoreResult<bool> {
        let result = self
            .products
            .update_one(filter, update)
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }
}

#[async_trait]
impl ProductRepository for MongoStore {
    async fn insert(&self, new: NewProduct) -> StoreResult<Product> {
        let product = Product::from_new(new);
        let document = ProductDoc {
            sku: product.sku.clone(),
            name: product.name.clone(),
            description: product.description.clone(),
            price: product.price.clone(),
            available: product.available,
            reserved: product.reserved,
            sold: product.sold,
            received: product.received,
            holds: HashMap::new(),
            created_at: now_millis(),
        };
        match self.products.insert_one(&document).await {
            Ok(_) => Ok(product),
            Err(error) if is_duplicate_key(&error) => Err(StoreError::DuplicateSku(product.sku)),
            Err(error) => Err(backend(error)),
        }
    }

    async fn get(&self, sku: &Sku) -> StoreResult<Option<Product>> {
        Ok(self.product_doc(sku).await?.map(ProductDoc::product))
    }

    async fn get_many(&self, skus: &[Sku]) -> StoreResult<Vec<Product>> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Bson> = skus.iter().map(|s| Bson::from(s.as_str())).collect();
        let docs: Vec<ProductDoc> = self
            .products
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        Ok(docs.into_iter().map(ProductDoc::product).collect())
    }

    async fn list(&self, page: &PageRequest) -> StoreResult<ProductPage> {
        let mut filter = Document::new();
        if let Some(after) = &page.after {
            filter.insert("_id", doc! { "$gt": after.as_str() });
        }
        if let Some(search) = &page.search {
            filter.insert(
                "name",
                doc! { "$regex": escape_regex(search), "$options": "i" },
            );
        }
        let limit = i64::try_from(page.first + 1).unwrap_or(i64::MAX);
        let docs: Vec<ProductDoc> = self
            .products
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        let mut products: Vec<Product> = docs.into_iter().map(ProductDoc::product).collect();
        let has_next_page = products.len() > page.first;
        products.truncate(page.first);
        Ok(ProductPage {
            products,
            has_next_page,
        })
    }

    async fn restock(&self, sku: &Sku, quantity: Quantity) -> StoreResult<Product> {
        let q = quantity.get();
        // Units on hand are `received - sold`: reservations move units between
        // `available` and `reserved` without changing either, so only a sale or
        // another restock can make this compare-and-set miss and go round again.
        for _ in 0..RESTOCK_ATTEMPTS {
            let product = self
                .get(sku)
                .await?
                .ok_or_else(|| StoreError::UnknownSku(sku.clone()))?;
            check_stock_limit(&product, quantity)?;
            let applied = self
                .update_product(
                    doc! { "_id": sku.as_str(), "received": product.received, "sold": product.sold },
                    doc! { "$inc": { "available": q, "received": q } },
                )
                .await?;
            if applied {
                return self
                    .get(sku)
                    .await?
                    .ok_or_else(|| StoreError::UnknownSku(sku.clone()));
            }
        }
        Err(StoreError::backend(format!(
            "{sku} kept changing during a restock; retry"
        )))
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let any = self
            .db
            .collection::<Document>("products")
            .find_one(doc! {})
            .projection(doc! { "_id": 1 })
            .await
            .map_err(backend)?;
        Ok(any.is_none())
    }

    async fn ping(&self) -> StoreResult<()> {
        storefront_shared::store::ping(&self.db)
            .await
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_syntax_in_search_text_is_escaped() {
        assert_eq!(escape_regex("mug (large) 1.5$"), r"mug \(large\) 1\.5\$");
        assert_eq!(
            escape_regex(r"a\b*c+[d]{e}|^?"),
            r"a\\b\*c\+\[d\]\{e\}\|\^\?"
        );
        assert_eq!(escape_regex("café-au-lait"), "café-au-lait");
    }
}
