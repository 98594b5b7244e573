//! The MongoDB store: collection `orders` in the service's database.
//!
//! The shop's collections (carts, discount codes, checkouts) are in
//! `mongo_shop.rs`. `_id` is the order id (a UUID v7 string, never an ObjectId), timestamps are
//! integer milliseconds, and every change is one `findAndModify` whose filter
//! names the state the caller saw — a single-document compare-and-set. Nothing
//! here needs transactions, `$lookup` or Decimal128.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::Error as MongoError;
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use storefront_shared::store::{flag, is_duplicate_key, is_unavailable};

use super::{OrderRecord, OrderRepository, RepoError, RepoResult};
use crate::domain::{
    Order, OrderId, OrderPage, OrderState, OrderStatus, PageRequest, Transition, Unfinished,
};

/// The collection that holds the orders.
pub const COLLECTION: &str = "orders";

/// Orders in MongoDB.
#[derive(Clone)]
pub struct MongoOrderRepository {
    db: Database,
    orders: Collection<OrderRecord>,
    pub(super) shop: super::mongo_shop::ShopCollections,
}

impl MongoOrderRepository {
    /// Uses the `orders` collection of `db`, creating its indexes.
    pub async fn new(db: Database) -> RepoResult<Self> {
        let orders = db.collection::<OrderRecord>(COLLECTION);
        let indexes = [
            // Not {buyer_id, _id}: nx-27017 (CI) fails every insert with `_id` in an index.
            ("buyer", doc! { "buyer_id": 1 }),
            ("state_updated", doc! { "state": 1, "updated_at_ms": 1 }),
        ];
        for (name, keys) in indexes {
            let index = IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_owned()).build())
                .build();
            orders.create_index(index).await.map_err(from_mongo)?;
        }
        let shop = super::mongo_shop::ShopCollections::new(&db).await?;
        Ok(MongoOrderRepository { db, orders, shop })
    }

    async fn find_many(
        &self,
        filter: Document,
        sort: Document,
        limit: Option<usize>,
    ) -> RepoResult<Vec<Order>> {
        let mut find = self.orders.find(filter).sort(sort);
        if let Some(limit) = limit {
            find = find.limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let records: Vec<OrderRecord> = find
            .await
            .map_err(from_mongo)?
            .try_collect()
            .await
            .map_err(from_mongo)?;
        records.into_iter().map(Order::try_from).collect()
    }
}

pub(super) fn from_mongo(error: MongoError) -> RepoError {
    if is_unavailable(&error) {
        RepoError::Unavailable(error.to_string())
    } else {
        RepoError::backend(error)
    }
}

fn visible_states() -> Vec<&'static str> {
    [
        OrderState::PendingPayment,
        OrderState::Paid,
        OrderState::Refunding,
        OrderState::Cancelling,
        OrderState::Cancelled,
    ]
    .map(OrderState::as_str)
    .to_vec()
}

fn set_document(change: &Transition) -> RepoResult<Document> {
    let mut set = doc! {
        "state": change.to.as_str(),
        "updated_at_ms": change.at_ms,
    };
    if let Some(pricing) = &change.pricing {
        let pricing = mongodb::bson::to_bson(pricing).map_err(RepoError::backend)?;
        set.insert("pricing", pricing);
    }
    if let Some(at) = change.expires_at_ms {
        set.insert("expires_at_ms", at);
    }
    if let Some(payment_id) = &change.payment_id {
        set.insert("payment_id", payment_id.as_str());
    }
    if let Some(committed) = change.stock_committed {
        set.insert("stock_committed", flag::stored(committed));
    }
    Ok(set)
}

fn unfinished_filter(which: Unfinished) -> Document {
    match which {
        Unfinished::CreatingSince(before) => doc! {
            "state": OrderState::Creating.as_str(),
            "updated_at_ms": { "$lt": before },
        },
        Unfinished::Aborting => doc! { "state": OrderState::Aborting.as_str() },
        Unfinished::Cancelling => doc! { "state": OrderState::Cancelling.as_str() },
        Unfinished::Refunding => doc! { "state": OrderState::Refunding.as_str() },
        Unfinished::UncommittedPaid => doc! {
            "state": OrderState::Paid.as_str(),
            "stock_committed": flag::stored(false),
        },
        Unfinished::ExpiredAt(now) => doc! {
            "state": OrderState::PendingPayment.as_str(),
            "expires_at_ms": { "$lte": now },
        },
    }
}

#[async_trait]
impl OrderRepository for MongoOrderRepository {
    async fn insert(&self, order: &Order) -> RepoResult<()> {
        match self.orders.insert_one(OrderRecord::from(order)).await {
            Ok(_) => Ok(()),
            Err(error) if is_duplicate_key(&error) => Err(RepoError::Conflict),
            Err(error) => Err(from_mongo(error)),
        }
    }

    async fn find_by_id(&self, id: &OrderId) -> RepoResult<Option<Order>> {
        self.orders
            .find_one(doc! { "_id": id.as_str() })
            .await
            .map_err(from_mongo)?
            .map(Order::try_from)
            .transpose()
    }

    async fn find_by_ids(&self, ids: &[OrderId]) -> RepoResult<Vec<Order>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = ids.iter().map(OrderId::as_str).collect();
        self.find_many(doc! { "_id": { "$in": ids } }, doc! { "_id": 1 }, None)
            .await
    }

    async fn list_by_buyer_in(
        &self,
        buyer_id: &str,
        page: &PageRequest,
        status: Option<OrderStatus>,
    ) -> RepoResult<OrderPage> {
        let states = match status {
            Some(status) => status.states().iter().map(|s| s.as_str()).collect(),
            None => visible_states(),
        };
        let mut filter = doc! {
            "buyer_id": buyer_id,
            "state": { "$in": states },
        };
        if let Some(after) = &page.after {
            filter.insert("_id", doc! { "$lt": after.as_str() });
        }
        let mut orders = self
            .find_many(filter, doc! { "_id": -1 }, Some(page.first + 1))
            .await?;
        let has_next_page = orders.len() > page.first;
        orders.truncate(page.first);
        Ok(OrderPage {
            orders,
            has_next_page,
        })
    }

    async fn transition(&self, id: &OrderId, change: &Transition) -> RepoResult<Option<Order>> {
        let filter = doc! { "_id": id.as_str(), "state": change.from.as_str() };
        let update = doc! { "$set": Bson::Document(set_document(change)?) };
        self.orders
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(from_mongo)?
            .map(Order::try_from)
            .transpose()
    }

    async fn find_unfinished(&self, which: Unfinished, limit: usize) -> RepoResult<Vec<Order>> {
        self.find_many(
            unfinished_filter(which),
            doc! { "updated_at_ms": 1 },
            Some(limit),
        )
        .await
    }

    async fn ping(&self) -> RepoResult<()> {
        storefront_shared::store::ping(&self.db)
            .await
            .map_err(from_mongo)
    }
}
