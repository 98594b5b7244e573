//! The MongoDB store: database `inventory`, collections `products` (`_id` = sku),
//! `categories` (`_id` = slug) and `reservations` (`_id` = order id).
//!
//! No multi-document transactions (the CI server does not isolate them): every change
//! is a single-document conditional update. A product keeps its counters
//! (`available`, `reserved`, `sold`, `received`) and a `holds` sub-document with one
//! entry per order that holds units of it, so holding, releasing and selling a line
//! are each one atomic, idempotent `update_one`. The reservation document is the
//! order's intent, written first; see `mongo/stock.rs` for the protocol and the sweep.
//! Timestamps are integer milliseconds; `archived_at` is 0 for a product that is not
//! archived (an integer, not a flag: the CI server stores a `$set` boolean as a number).
//!
//! # Layout
//! - this file: documents, indexes, products.
//! - `stock.rs`: reservations and the sweep.
//! - `listing.rs`: listing queries and their compound indexes.
//! - `categories.rs`: the category tree.

mod categories;
pub mod listing;
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
use crate::domain::listing::name_key;
use crate::domain::{
    Attribute, Category, Image, ListRequest, Money, NewProduct, OrderId, Product, ProductFilter,
    ProductPage, ProductPatch, Quantity, ReservedLine, Sku, Slug, now_millis,
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
    /// A copy of `_id` for the listing indexes.
    #[serde(rename = "sku", default)]
    sku_copy: Option<Sku>,
    /// The lower-cased name, for the NAME order.
    #[serde(default)]
    name_key: String,
    #[serde(default)]
    categories: Vec<Slug>,
    #[serde(default)]
    images: Vec<Image>,
    #[serde(default)]
    attributes: Vec<Attribute>,
    /// When it was archived (milliseconds), 0 when it is not.
    #[serde(default)]
    archived_at: i64,
}

impl ProductDoc {
    fn new(product: &Product) -> Self {
        ProductDoc {
            sku: product.sku.clone(),
            name: product.name.clone(),
            description: product.description.clone(),
            price: product.price.clone(),
            available: product.available,
            reserved: product.reserved,
            sold: product.sold,
            received: product.received,
            holds: HashMap::new(),
            created_at: product.created_at,
            sku_copy: Some(product.sku.clone()),
            name_key: name_key(&product.name),
            categories: product.categories.clone(),
            images: product.images.clone(),
            attributes: product.attributes.clone(),
            archived_at: product.archived_at.unwrap_or(0),
        }
    }

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
            created_at: self.created_at,
            categories: self.categories,
            images: self.images,
            attributes: self.attributes,
            archived_at: (self.archived_at > 0).then_some(self.archived_at),
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
    categories: Collection<Category>,
    reservations: Collection<ReservationDoc>,
    stuck_after: Duration,
}

fn backend(error: mongodb::error::Error) -> StoreError {
    StoreError::backend(error)
}

fn bson<T: Serialize + ?Sized>(value: &T) -> StoreResult<Bson> {
    mongodb::bson::to_bson(value).map_err(StoreError::backend)
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
            categories: db.collection("categories"),
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
        let raw = store.db.collection::<Document>("products");
        let backfilled = listing::backfill(&raw).await?;
        if backfilled > 0 {
            tracing::info!(backfilled, "product documents given their catalogue fields");
        }
        listing::create_indexes(&raw).await?;
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
        self.check_categories(&new.categories).await?;
        let product = Product::from_new(new, now_millis());
        let document = ProductDoc::new(&product);
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

    async fn list(&self, request: &ListRequest) -> StoreResult<ProductPage> {
        let limit = i64::try_from(request.first + 1).unwrap_or(i64::MAX);
        let docs: Vec<ProductDoc> = self
            .products
            .find(listing::query(&request.filter, request.after.as_ref()))
            .sort(listing::sort(request.sort))
            .limit(limit)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        let mut request = request.clone();
        request.after = None;
        Ok(request.page_of(docs.into_iter().map(ProductDoc::product)))
    }

    async fn count(&self, filter: &ProductFilter) -> StoreResult<u64> {
        self.products
            .count_documents(listing::query(filter, None))
            .await
            .map_err(backend)
    }

    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> StoreResult<Product> {
        let current = self
            .get(sku)
            .await?
            .ok_or_else(|| StoreError::UnknownSku(sku.clone()))?;
        if let Some(categories) = &patch.categories {
            self.check_categories(categories).await?;
        }
        let mut set = Document::new();
        if let Some(name) = &patch.name {
            set.insert("name", name.as_str());
            set.insert("name_key", name_key(name));
        }
        if let Some(description) = &patch.description {
            set.insert("description", description.as_str());
        }
        if patch.price.is_some() {
            let price = patch
                .price_after(&current.price)
                .map_err(|error| StoreError::Corrupt(error.message()))?;
            set.insert("price", bson(&price)?);
        }
        if let Some(images) = &patch.images {
            set.insert("images", bson(images)?);
        }
        if let Some(attributes) = &patch.attributes {
            set.insert("attributes", bson(attributes)?);
        }
        if let Some(categories) = &patch.categories {
            set.insert("categories", bson(categories)?);
        }
        if !set.is_empty()
            && !self
                .update_product(doc! { "_id": sku.as_str() }, doc! { "$set": set })
                .await?
        {
            return Err(StoreError::UnknownSku(sku.clone()));
        }
        self.get(sku)
            .await?
            .ok_or_else(|| StoreError::UnknownSku(sku.clone()))
    }

    async fn set_archived(&self, sku: &Sku, archived: bool) -> StoreResult<Product> {
        let (filter, update) = if archived {
            (
                doc! { "_id": sku.as_str(), "archived_at": 0_i64 },
                doc! { "$set": { "archived_at": now_millis() } },
            )
        } else {
            (
                doc! { "_id": sku.as_str(), "archived_at": { "$gt": 0_i64 } },
                doc! { "$set": { "archived_at": 0_i64 } },
            )
        };
        // No match means it was in that state already (or is absent: `get` says which).
        self.update_product(filter, update).await?;
        self.get(sku)
            .await?
            .ok_or_else(|| StoreError::UnknownSku(sku.clone()))
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
