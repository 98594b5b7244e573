//! Listing products on MongoDB: the query, the sort and the compound indexes that
//! serve them.
//!
//! Every listing query has the equality fields `archived_at: 0` (and `categories:
//! <slug>` for a category), then sorts by one key and the sku. Following the
//! equality-sort-range rule, there is one index per (scope, order) whose keys are the
//! equality fields followed by the sort fields, so MongoDB walks the index in order and
//! stops after `first + 1` documents instead of scanning and sorting the collection:
//!
//! | filter          | NAME                                  | PRICE_ASC / PRICE_DESC                      | NEWEST                                 |
//! |-----------------|---------------------------------------|---------------------------------------------|----------------------------------------|
//! | whole catalogue | `{archived_at, name_key, sku}`        | `{archived_at, price.amount, sku}`          | `{archived_at, created_at, sku}`       |
//! | a category      | `{categories, archived_at, name_key, sku}` | `{categories, archived_at, price.amount, sku}` | `{categories, archived_at, created_at, sku}` |
//!
//! (`categories` is an array, so those indexes are multikey.) The sku is copied into a
//! `sku` field because the CI server breaks inserts when an index names `_id`. The
//! search text, the price range under a non-price order and `inStock` are filters on
//! the documents the index yields. `explain` for a page: see
//! [`explain_command`] and the README.
//!
//! # Layout
//! - [`INDEXES`], [`create_indexes`], [`backfill`] (documents from before the catalogue
//!   fields).
//! - [`query`], [`sort`]: a listing's filter and sort documents.

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::{Collection, IndexModel};

use super::{backend, escape_regex};
use crate::domain::{ListCursor, ProductFilter, ProductSort, SortKey, listing::name_key};
use crate::store::StoreResult;

/// The listing indexes, as `(name, keys)`.
pub fn indexes() -> Vec<(&'static str, Document)> {
    vec![
        (
            "list_name",
            doc! { "archived_at": 1, "name_key": 1, "sku": 1 },
        ),
        (
            "list_price",
            doc! { "archived_at": 1, "price.amount": 1, "sku": 1 },
        ),
        (
            "list_newest",
            doc! { "archived_at": 1, "created_at": 1, "sku": 1 },
        ),
        (
            "category_name",
            doc! { "categories": 1, "archived_at": 1, "name_key": 1, "sku": 1 },
        ),
        (
            "category_price",
            doc! { "categories": 1, "archived_at": 1, "price.amount": 1, "sku": 1 },
        ),
        (
            "category_newest",
            doc! { "categories": 1, "archived_at": 1, "created_at": 1, "sku": 1 },
        ),
    ]
}

/// The listing indexes' names (for documentation and tests).
pub const INDEXES: [&str; 6] = [
    "list_name",
    "list_price",
    "list_newest",
    "category_name",
    "category_price",
    "category_newest",
];

/// Creates the listing indexes (idempotent).
pub(super) async fn create_indexes(products: &Collection<Document>) -> StoreResult<()> {
    let models: Vec<IndexModel> = indexes()
        .into_iter()
        .map(|(name, keys)| {
            IndexModel::builder()
                .keys(keys)
                .options(
                    mongodb::options::IndexOptions::builder()
                        .name(name.to_owned())
                        .build(),
                )
                .build()
        })
        .collect();
    products.create_indexes(models).await.map_err(backend)?;
    Ok(())
}

/// Gives product documents written before the catalogue fields their `sku` copy,
/// `name_key`, empty lists and `archived_at: 0`; returns how many it changed.
pub(super) async fn backfill(products: &Collection<Document>) -> StoreResult<usize> {
    let old: Vec<Document> = products
        .find(doc! { "sku": { "$exists": false } })
        .projection(doc! { "_id": 1, "name": 1 })
        .await
        .map_err(backend)?
        .try_collect()
        .await
        .map_err(backend)?;
    for document in &old {
        let (Ok(id), Ok(name)) = (document.get_str("_id"), document.get_str("name")) else {
            continue;
        };
        products
            .update_one(
                doc! { "_id": id, "sku": { "$exists": false } },
                doc! { "$set": {
                    "sku": id,
                    "name_key": name_key(name),
                    "categories": [],
                    "images": [],
                    "attributes": [],
                    "archived_at": 0_i64,
                } },
            )
            .await
            .map_err(backend)?;
    }
    Ok(old.len())
}

fn sort_field(sort: ProductSort) -> &'static str {
    match sort {
        ProductSort::Name => "name_key",
        ProductSort::PriceAsc | ProductSort::PriceDesc => "price.amount",
        ProductSort::Newest => "created_at",
    }
}

/// The sort document of an order.
pub fn sort(sort: ProductSort) -> Document {
    let direction = if sort.descending() { -1 } else { 1 };
    doc! { sort_field(sort): direction, "sku": direction }
}

fn key_bson(key: &SortKey) -> Bson {
    match key {
        SortKey::Text(text) => Bson::String(text.clone()),
        SortKey::Number(n) => Bson::Int64(*n),
    }
}

/// The filter document of a listing: the equality fields first, then the residual
/// conditions, then the position after `after`.
pub fn query(filter: &ProductFilter, after: Option<&ListCursor>) -> Document {
    let mut query = Document::new();
    if let Some(category) = &filter.category {
        query.insert("categories", category.as_str());
    }
    query.insert("archived_at", 0_i64);
    let mut price = Document::new();
    if let Some(min) = filter.price_min {
        price.insert("$gte", min);
    }
    if let Some(max) = filter.price_max {
        price.insert("$lte", max);
    }
    if !price.is_empty() {
        query.insert("price.amount", price);
    }
    if let Some(search) = &filter.search {
        query.insert(
            "name",
            doc! { "$regex": escape_regex(search), "$options": "i" },
        );
    }
    match filter.in_stock {
        Some(true) => {
            query.insert("available", doc! { "$gt": 0_i64 });
        }
        Some(false) => {
            query.insert("available", doc! { "$lte": 0_i64 });
        }
        None => {}
    }
    if let Some(cursor) = after {
        let field = sort_field(cursor.sort);
        let beyond = if cursor.sort.descending() {
            "$lt"
        } else {
            "$gt"
        };
        let key = key_bson(&cursor.key);
        query.insert(
            "$or",
            vec![
                Bson::Document(doc! { field: { beyond: key.clone() } }),
                Bson::Document(doc! { field: key, "sku": { beyond: cursor.sku.as_str() } }),
            ],
        );
    }
    query
}

/// The `explain` command for the first page of a listing (what the README shows and
/// the MongoDB index test runs).
pub fn explain_command(filter: &ProductFilter, sort_by: ProductSort, limit: i64) -> Document {
    doc! {
        "explain": {
            "find": "products",
            "filter": query(filter, None),
            "sort": sort(sort_by),
            "limit": limit,
        },
        "verbosity": "queryPlanner",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Slug;

    fn keys(document: &Document) -> Vec<String> {
        document.keys().cloned().collect()
    }

    /// Equality fields of the query followed by the sort fields: the index MongoDB
    /// needs to walk in order without a blocking sort.
    fn wanted(filter: &ProductFilter, sort_by: ProductSort) -> Vec<String> {
        let query = query(filter, None);
        let mut fields: Vec<String> = ["categories", "archived_at"]
            .into_iter()
            .filter(|f| query.contains_key(*f))
            .map(str::to_owned)
            .collect();
        fields.extend(keys(&sort(sort_by)));
        fields
    }

    #[test]
    fn every_filter_and_order_has_an_index_with_its_equality_and_sort_fields() {
        let category = Slug::parse("mugs").expect("valid");
        let filters = [
            ProductFilter::default(),
            ProductFilter {
                category: Some(category.clone()),
                ..ProductFilter::default()
            },
            ProductFilter {
                category: Some(category),
                search: Some("blue".into()),
                price_min: Some(100),
                price_max: Some(900),
                in_stock: Some(true),
            },
        ];
        let all: Vec<Vec<String>> = indexes().iter().map(|(_, k)| keys(k)).collect();
        for filter in &filters {
            for sort_by in ProductSort::ALL {
                let want = wanted(filter, sort_by);
                assert!(
                    all.contains(&want),
                    "no index {want:?} for {filter:?} {sort_by:?}"
                );
            }
        }
        assert_eq!(
            indexes().iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            INDEXES
        );
    }

    #[test]
    fn a_cursor_continues_after_its_key_and_sku_in_the_order_direction() {
        let cursor = ListCursor {
            sort: ProductSort::PriceDesc,
            key: SortKey::Number(1200),
            sku: crate::domain::Sku::parse("MUG").expect("valid"),
        };
        let query = query(&ProductFilter::default(), Some(&cursor));
        let or = query.get_array("$or").expect("$or");
        assert_eq!(
            or[0],
            Bson::Document(doc! { "price.amount": { "$lt": 1200_i64 } })
        );
        assert_eq!(
            or[1],
            Bson::Document(doc! { "price.amount": 1200_i64, "sku": { "$lt": "MUG" } })
        );
        assert_eq!(
            sort(ProductSort::PriceDesc),
            doc! { "price.amount": -1, "sku": -1 }
        );
    }
}
