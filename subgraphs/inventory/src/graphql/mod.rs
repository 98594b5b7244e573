//! The inventory subgraph's schema (Federation v2): catalogue queries, admin
//! mutations, the `Product` entity (resolved in batches through a DataLoader) and the
//! internal stock operations of [`internal`].
//!
//! # Layout
//! - this file: the schema, `Query` (products, product, categories, category, the
//!   `Product` entity) and `createProduct`/`restock`.
//! - [`types`]: `Product`, its connection and the listing arguments.
//! - [`catalogue`]: `Category`, the shared listing and the ADMIN catalogue mutations.
//! - [`internal`]: the `@inaccessible` stock operations for orders.
//! - [`live`]: the `stockChanged` subscription.

pub mod catalogue;
pub mod internal;
pub mod live;
pub mod types;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, MergedObject, Object, Schema};
use storefront_shared::auth::Viewer;
use storefront_shared::limits::{self, RequestLimits};
use storefront_shared::{ApiError, ApiResult};

use crate::domain::details::parse_categories;
use crate::domain::{NewProduct, Product, Quantity, Sku, Slug};
use crate::events::{StockChange, StockEvents, Watched};
use crate::store::{CategoryRepository, ProductRepository, StockRepository, StoreError};
use catalogue::{AdminCatalogueMutation, CategoryLoader, CategoryObject, list_products};
use internal::StockMutation;
pub use live::Subscription;
use types::{
    CreateProductInput, ProductConnection, ProductFilterInput, ProductObject, ProductSort,
    parse_attributes, parse_images,
};

/// The executable schema of the inventory subgraph.
pub type InventorySchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema over the three repositories, publishing stock changes
/// to `events`, refusing requests beyond `limits`.
pub fn build_schema(
    products: Arc<dyn ProductRepository>,
    categories: Arc<dyn CategoryRepository>,
    stock: Arc<dyn StockRepository>,
    events: StockEvents,
    limits: &RequestLimits,
) -> InventorySchema {
    let stock: Arc<dyn StockRepository> = Watched::new(stock, events.clone());
    let loader = Arc::new(DataLoader::new(
        ProductLoader {
            products: products.clone(),
        },
        tokio::spawn,
    ));
    let category_loader = Arc::new(DataLoader::new(
        CategoryLoader {
            categories: categories.clone(),
        },
        tokio::spawn,
    ));
    let builder = Schema::build(
        Query {
            categories: categories.clone(),
            loader,
        },
        Mutation(
            CatalogueMutation {
                products: products.clone(),
                events: events.clone(),
            },
            AdminCatalogueMutation,
            StockMutation { stock },
        ),
        Subscription,
    )
    .data(products)
    .data(events)
    .data(categories)
    .data(category_loader)
    .enable_federation()
    // `type Subscription` in `_service { sdl }`, so routers can plan it.
    .enable_subscription_in_federation();
    limits::apply(builder, limits).finish()
}

/// Loads products by sku in batches: one [`ProductRepository::get_many`] per batch.
pub struct ProductLoader {
    products: Arc<dyn ProductRepository>,
}

impl Loader<Sku> for ProductLoader {
    type Value = Product;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[Sku]) -> Result<HashMap<Sku, Product>, Self::Error> {
        let products = self.products.get_many(keys).await.map_err(Arc::new)?;
        Ok(products
            .into_iter()
            .map(|product| (product.sku.clone(), product))
            .collect())
    }
}

async fn load_product(
    loader: &DataLoader<ProductLoader>,
    sku: Sku,
) -> ApiResult<Option<ProductObject>> {
    loader
        .load_one(sku)
        .await
        .map(|found| found.map(ProductObject))
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// Runs a resolver body written against [`ApiResult`] and hands its error to
/// async-graphql with its `extensions.code` (store errors go through [`ApiError`], never
/// through their `Display`).
pub(crate) async fn resolve<T>(
    body: impl Future<Output = ApiResult<T>>,
) -> async_graphql::Result<T> {
    body.await.map_err(async_graphql::Error::from)
}

static ANONYMOUS: Viewer = Viewer::Anonymous;

/// The caller the HTTP endpoint put in the request data (anonymous when absent).
pub(crate) fn viewer<'a>(ctx: &'a Context<'_>) -> &'a Viewer {
    ctx.data_opt::<Viewer>().unwrap_or(&ANONYMOUS)
}

/// The page size of `products` when `first` is not given (or null).
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Catalogue queries.
pub struct Query {
    categories: Arc<dyn CategoryRepository>,
    loader: Arc<DataLoader<ProductLoader>>,
}

#[Object]
impl Query {
    /// Listed (unarchived) products, a page at a time, in `sort` order (ties by sku).
    /// `filter` narrows them (all conditions must hold); `search` is the same as
    /// `filter.search`. `first` is 1 to 100; a cursor is valid for its sort only.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
        filter: Option<ProductFilterInput>,
        #[graphql(default_with = "Some(ProductSort::Name)")] sort: Option<ProductSort>,
    ) -> async_graphql::Result<ProductConnection> {
        resolve(list_products(ctx, first, after, search, filter, sort, None)).await
    }

    /// Categories by name: every category, or only the top-level ones.
    async fn categories(
        &self,
        #[graphql(default = false)] top_level_only: bool,
    ) -> async_graphql::Result<Vec<CategoryObject>> {
        resolve(async {
            let mut all: Vec<_> = self
                .categories
                .categories()
                .await?
                .into_iter()
                .filter(|c| !top_level_only || c.parent.is_none())
                .collect();
            catalogue::sort_by_name(&mut all);
            Ok(all.into_iter().map(CategoryObject).collect())
        })
        .await
    }

    /// The category with this slug, or null if there is none.
    async fn category(&self, slug: String) -> async_graphql::Result<Option<CategoryObject>> {
        resolve(async {
            let slug = Slug::parse(&slug)?;
            Ok(self.categories.category(&slug).await?.map(CategoryObject))
        })
        .await
    }

    /// The product with this sku, or null if there is none.
    async fn product(&self, sku: ID) -> async_graphql::Result<Option<ProductObject>> {
        resolve(async { load_product(&self.loader, Sku::parse(&sku)?).await }).await
    }

    /// Resolves `Product` references from other subgraphs (null for unknown skus).
    #[graphql(entity)]
    async fn find_product_by_sku(&self, sku: ID) -> async_graphql::Result<Option<ProductObject>> {
        resolve(async {
            match Sku::parse(&sku) {
                Ok(sku) => load_product(&self.loader, sku).await,
                Err(_) => Ok(None),
            }
        })
        .await
    }
}

/// Admin mutations of the catalogue.
pub struct CatalogueMutation {
    products: Arc<dyn ProductRepository>,
    events: StockEvents,
}

#[Object]
impl CatalogueMutation {
    /// Adds a product (ADMIN). A taken sku is a CONFLICT; an unknown category NOT_FOUND.
    #[graphql(requires_scopes = "admin")]
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> async_graphql::Result<ProductObject> {
        resolve(async {
            viewer(ctx).require_admin()?;
            let mut new = NewProduct::parse(
                &input.sku,
                &input.name,
                &input.description,
                i64::from(input.price),
                &input.currency,
                i64::from(input.stock),
            )?;
            new.images = parse_images(input.images.as_deref().unwrap_or_default())?;
            new.attributes = parse_attributes(input.attributes.as_deref().unwrap_or_default())?;
            new.categories =
                parse_categories(input.categories.iter().flatten().map(String::as_str))?;
            let product = self.products.insert(new).await?;
            tracing::info!(sku = %product.sku, "product created");
            self.events.publish(StockChange::of([&product.sku])).await;
            Ok(ProductObject(product))
        })
        .await
    }

    /// Adds `quantity` (1 to 1000000) units to a product's stock (ADMIN).
    #[graphql(requires_scopes = "admin")]
    async fn restock(
        &self,
        ctx: &Context<'_>,
        sku: ID,
        quantity: i32,
    ) -> async_graphql::Result<ProductObject> {
        resolve(async {
            viewer(ctx).require_admin()?;
            let sku = Sku::parse(&sku)?;
            let quantity = Quantity::parse(i64::from(quantity))?;
            let product = self.products.restock(&sku, quantity).await?;
            tracing::info!(sku = %product.sku, added = quantity.get(), "product restocked");
            self.events.publish(StockChange::of([&product.sku])).await;
            Ok(ProductObject(product))
        })
        .await
    }
}

/// The inventory's mutations.
#[derive(MergedObject)]
pub struct Mutation(CatalogueMutation, AdminCatalogueMutation, StockMutation);
