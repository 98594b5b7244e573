//! The shop's collections in MongoDB: `carts`, `discount_codes` and
//! `checkouts`, all keyed by a string `_id`.
//!
//! A cart is saved by a compare-and-set on its `version` (an insert for a new
//! one). A discount code's use is claimed by one `findAndModify` whose filter
//! holds the rule (active, uses left or unlimited, the order not among
//! `claims`) and whose update adds the order and counts the use; giving it back
//! is the opposite update, filtered on the order being among `claims`. Flags
//! are stored 0/1, no field is compared with another (`$expr`), and "the
//! order is not among `claims`" is `$nin` (nx-27017's `$ne` does not look
//! inside arrays), so the CI's MongoDB-compatible server runs them as MongoDB does.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::doc;
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use storefront_shared::store::{flag, is_duplicate_key};

use super::mongo::from_mongo;
use super::shop::{CheckoutRecord, ShopRepository};
use super::{MongoOrderRepository, RepoError, RepoResult};
use crate::cart::{Cart, CartId};
use crate::discount::{DiscountCode, DiscountTerms};
use crate::domain::LineRequest;

/// A cart as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CartDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(with = "flag")]
    anonymous: bool,
    lines: Vec<LineRequest>,
    #[serde(default)]
    applied: Vec<String>,
    version: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl From<&Cart> for CartDoc {
    fn from(cart: &Cart) -> Self {
        CartDoc {
            id: cart.id.clone(),
            anonymous: matches!(cart.cart_id(), Ok(CartId::Anonymous(_))),
            lines: cart.lines.clone(),
            applied: cart.applied.clone(),
            version: cart.version,
            created_at_ms: cart.created_at_ms,
            updated_at_ms: cart.updated_at_ms,
        }
    }
}

impl From<CartDoc> for Cart {
    fn from(doc: CartDoc) -> Self {
        Cart {
            id: doc.id,
            lines: doc.lines,
            applied: doc.applied,
            version: doc.version,
            created_at_ms: doc.created_at_ms,
            updated_at_ms: doc.updated_at_ms,
        }
    }
}

/// A discount code as stored, with the orders holding a use.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DiscountDoc {
    #[serde(rename = "_id")]
    id: String,
    terms: DiscountTerms,
    minimum_subtotal: Option<i64>,
    starts_at_ms: Option<i64>,
    ends_at_ms: Option<i64>,
    usage_limit: Option<i64>,
    used: i64,
    /// Uses left for a limited code (unused otherwise).
    remaining: i64,
    #[serde(with = "flag")]
    limited: bool,
    #[serde(with = "flag")]
    active: bool,
    claims: Vec<String>,
    created_at_ms: i64,
}

impl From<&DiscountCode> for DiscountDoc {
    fn from(code: &DiscountCode) -> Self {
        DiscountDoc {
            id: code.terms.code.clone(),
            terms: code.terms.clone(),
            minimum_subtotal: code.minimum_subtotal,
            starts_at_ms: code.starts_at_ms,
            ends_at_ms: code.ends_at_ms,
            usage_limit: code.usage_limit,
            used: code.used,
            remaining: code.usage_limit.map_or(0, |limit| limit - code.used),
            limited: code.usage_limit.is_some(),
            active: code.active,
            claims: Vec::new(),
            created_at_ms: code.created_at_ms,
        }
    }
}

impl From<DiscountDoc> for DiscountCode {
    fn from(doc: DiscountDoc) -> Self {
        DiscountCode {
            terms: doc.terms,
            minimum_subtotal: doc.minimum_subtotal,
            starts_at_ms: doc.starts_at_ms,
            ends_at_ms: doc.ends_at_ms,
            usage_limit: doc.usage_limit,
            used: doc.used,
            active: doc.active,
            created_at_ms: doc.created_at_ms,
        }
    }
}

/// A checkout attempt as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckoutDoc {
    #[serde(rename = "_id")]
    id: String,
    fingerprint: String,
    order_id: String,
    created_at_ms: i64,
}

impl From<CheckoutDoc> for CheckoutRecord {
    fn from(doc: CheckoutDoc) -> Self {
        CheckoutRecord {
            id: doc.id,
            fingerprint: doc.fingerprint,
            order_id: doc.order_id,
            created_at_ms: doc.created_at_ms,
        }
    }
}

/// The shop's three collections.
#[derive(Clone)]
pub(super) struct ShopCollections {
    carts: Collection<CartDoc>,
    discounts: Collection<DiscountDoc>,
    checkouts: Collection<CheckoutDoc>,
}

impl ShopCollections {
    /// The collections of `db`, with the index the cart sweeper uses.
    pub(super) async fn new(db: &Database) -> RepoResult<Self> {
        let carts = db.collection::<CartDoc>("carts");
        let index = IndexModel::builder()
            .keys(doc! { "anonymous": 1, "updated_at_ms": 1 })
            .options(
                IndexOptions::builder()
                    .name("anonymous_updated".to_owned())
                    .build(),
            )
            .build();
        carts.create_index(index).await.map_err(from_mongo)?;
        Ok(ShopCollections {
            carts,
            discounts: db.collection("discount_codes"),
            checkouts: db.collection("checkouts"),
        })
    }
}

#[async_trait]
impl ShopRepository for MongoOrderRepository {
    async fn find_cart(&self, id: &str) -> RepoResult<Option<Cart>> {
        let found = self
            .shop
            .carts
            .find_one(doc! { "_id": id })
            .await
            .map_err(from_mongo)?;
        Ok(found.map(Cart::from))
    }

    async fn save_cart(&self, cart: &Cart) -> RepoResult<bool> {
        let document = CartDoc::from(cart);
        if cart.version == 1 {
            return match self.shop.carts.insert_one(document).await {
                Ok(_) => Ok(true),
                Err(error) if is_duplicate_key(&error) => Ok(false),
                Err(error) => Err(from_mongo(error)),
            };
        }
        let filter = doc! { "_id": &cart.id, "version": cart.version - 1 };
        let result = self
            .shop
            .carts
            .replace_one(filter, document)
            .await
            .map_err(from_mongo)?;
        Ok(result.matched_count == 1)
    }

    async fn delete_cart(&self, id: &str, version: i64) -> RepoResult<bool> {
        let result = self
            .shop
            .carts
            .delete_one(doc! { "_id": id, "version": version })
            .await
            .map_err(from_mongo)?;
        Ok(result.deleted_count == 1)
    }

    async fn delete_stale_carts(&self, before_ms: i64, limit: usize) -> RepoResult<usize> {
        let filter = doc! {
            "anonymous": flag::stored(true),
            "updated_at_ms": { "$lt": before_ms },
        };
        let stale: Vec<CartDoc> = self
            .shop
            .carts
            .find(filter)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(from_mongo)?
            .try_collect()
            .await
            .map_err(from_mongo)?;
        let mut deleted = 0;
        for cart in stale {
            // Only if it did not change since it was found.
            if self.delete_cart(&cart.id, cart.version).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    async fn insert_discount(&self, code: &DiscountCode) -> RepoResult<()> {
        match self
            .shop
            .discounts
            .insert_one(DiscountDoc::from(code))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if is_duplicate_key(&error) => Err(RepoError::DiscountExists),
            Err(error) => Err(from_mongo(error)),
        }
    }

    async fn find_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>> {
        let found = self
            .shop
            .discounts
            .find_one(doc! { "_id": code })
            .await
            .map_err(from_mongo)?;
        Ok(found.map(DiscountCode::from))
    }

    async fn list_discounts(&self) -> RepoResult<Vec<DiscountCode>> {
        let docs: Vec<DiscountDoc> = self
            .shop
            .discounts
            .find(doc! {})
            .sort(doc! { "created_at_ms": -1 })
            .await
            .map_err(from_mongo)?
            .try_collect()
            .await
            .map_err(from_mongo)?;
        Ok(docs.into_iter().map(DiscountCode::from).collect())
    }

    async fn deactivate_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>> {
        let updated = self
            .shop
            .discounts
            .find_one_and_update(
                doc! { "_id": code },
                doc! { "$set": { "active": flag::stored(false) } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(from_mongo)?;
        Ok(updated.map(DiscountCode::from))
    }

    async fn claim_discount(&self, code: &str, order_id: &str) -> RepoResult<bool> {
        let filter = doc! {
            "_id": code,
            "active": flag::stored(true),
            "claims": { "$nin": [order_id] },
            "$or": [
                { "limited": flag::stored(false) },
                { "remaining": { "$gt": 0 } },
            ],
        };
        let update = doc! {
            "$inc": { "used": 1, "remaining": -1 },
            "$push": { "claims": order_id },
        };
        let claimed = self
            .shop
            .discounts
            .find_one_and_update(filter, update)
            .await
            .map_err(from_mongo)?;
        if claimed.is_some() {
            return Ok(true);
        }
        // Refused, or this order held a use already (a retry).
        let held = self
            .shop
            .discounts
            .find_one(doc! { "_id": code, "claims": order_id })
            .await
            .map_err(from_mongo)?;
        Ok(held.is_some())
    }

    async fn release_discount(&self, code: &str, order_id: &str) -> RepoResult<bool> {
        let released = self
            .shop
            .discounts
            .find_one_and_update(
                doc! { "_id": code, "claims": order_id },
                doc! {
                    "$inc": { "used": -1, "remaining": 1 },
                    "$pull": { "claims": order_id },
                },
            )
            .await
            .map_err(from_mongo)?;
        Ok(released.is_some())
    }

    async fn find_checkout(&self, id: &str) -> RepoResult<Option<CheckoutRecord>> {
        let found = self
            .shop
            .checkouts
            .find_one(doc! { "_id": id })
            .await
            .map_err(from_mongo)?;
        Ok(found.map(CheckoutRecord::from))
    }

    async fn insert_checkout(&self, record: &CheckoutRecord) -> RepoResult<Option<CheckoutRecord>> {
        let document = CheckoutDoc {
            id: record.id.clone(),
            fingerprint: record.fingerprint.clone(),
            order_id: record.order_id.clone(),
            created_at_ms: record.created_at_ms,
        };
        match self.shop.checkouts.insert_one(document).await {
            Ok(_) => Ok(None),
            Err(error) if is_duplicate_key(&error) => {
                let existing = self
                    .shop
                    .checkouts
                    .find_one(doc! { "_id": &record.id })
                    .await
                    .map_err(from_mongo)?
                    .ok_or_else(|| {
                        RepoError::Corrupt(format!(
                            "checkout {} is a duplicate but cannot be read",
                            record.id
                        ))
                    })?;
                Ok(Some(CheckoutRecord::from(existing)))
            }
            Err(error) => Err(from_mongo(error)),
        }
    }

    async fn renew_checkout(
        &self,
        id: &str,
        old_order_id: &str,
        new_order_id: &str,
    ) -> RepoResult<bool> {
        let result = self
            .shop
            .checkouts
            .update_one(
                doc! { "_id": id, "order_id": old_order_id },
                doc! { "$set": { "order_id": new_order_id } },
            )
            .await
            .map_err(from_mongo)?;
        Ok(result.matched_count == 1)
    }
}
