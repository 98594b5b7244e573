//! The GraphQL shapes of the public catalogue: `Product` (with its images, attributes
//! and categories), its connection with `totalCount`, the listing arguments
//! (`ProductFilter`, `ProductSort`) and `CreateProductInput` (`Money` and `PageInfo`
//! come from `storefront_shared::graphql`).

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, TimeZone, Utc};
use storefront_shared::graphql::{Money, PageInfo, to_int};
use storefront_shared::{ApiError, ApiResult};

use super::catalogue::{CategoryLoader, CategoryObject};
use super::resolve;
use crate::domain::{self, ProductFilter, ProductPage};
use crate::store::ProductRepository;

/// A stored amount as the shared `Money` (checked, never clamped).
pub(crate) fn money(money: &domain::Money) -> Result<Money, ApiError> {
    money.to_graphql()
}

/// Milliseconds since the epoch as a `DateTime`.
pub(crate) fn date_time(millis: i64) -> ApiResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| ApiError::internal(format!("stored time {millis} is out of range")))
}

/// A product in the catalogue.
#[derive(Clone, Debug)]
pub struct ProductObject(pub domain::Product);

/// A product in the catalogue.
#[Object(name = "Product")]
impl ProductObject {
    /// The unique stock-keeping unit.
    async fn sku(&self) -> ID {
        ID(self.0.sku.to_string())
    }

    /// The product's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The product's description.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The unit price.
    async fn price(&self) -> async_graphql::Result<Money> {
        Ok(money(&self.0.price)?)
    }

    /// Units available to buy now (reserved units excluded).
    async fn stock(&self) -> async_graphql::Result<i32> {
        Ok(to_int(self.0.available, "a product's stock")?)
    }

    /// Whether at least one unit is available.
    async fn in_stock(&self) -> bool {
        self.0.available > 0
    }

    /// Whether the product was archived: it is no longer listed and cannot be bought,
    /// but orders that hold it still show it.
    async fn archived(&self) -> bool {
        self.0.is_archived()
    }

    /// When the product was added to the catalogue.
    async fn created_at(&self) -> async_graphql::Result<DateTime<Utc>> {
        Ok(date_time(self.0.created_at)?)
    }

    /// Its images, in display order.
    async fn images(&self) -> Vec<ProductImage> {
        self.0
            .images
            .iter()
            .map(|image| ProductImage {
                url: image.url.clone(),
                alt_text: Some(image.alt_text.clone()).filter(|a| !a.is_empty()),
            })
            .collect()
    }

    /// Name/value pairs describing the product ("Material": "Stoneware"), in order.
    async fn attributes(&self) -> Vec<ProductAttribute> {
        self.0
            .attributes
            .iter()
            .map(|attribute| ProductAttribute {
                name: attribute.name.clone(),
                value: attribute.value.clone(),
            })
            .collect()
    }

    /// The categories the product belongs to.
    async fn categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CategoryObject>> {
        resolve(async {
            let loader = ctx.data_unchecked::<Arc<DataLoader<CategoryLoader>>>();
            let found = loader
                .load_many(self.0.categories.iter().cloned())
                .await
                .map_err(|error| ApiError::internal(error.to_string()))?;
            // A category deleted while the product was being updated is skipped.
            Ok(self
                .0
                .categories
                .iter()
                .filter_map(|slug| found.get(slug).cloned().map(CategoryObject))
                .collect())
        })
        .await
    }
}

/// An image of a product.
#[derive(SimpleObject, Clone, Debug)]
pub struct ProductImage {
    /// An absolute http(s) URL.
    pub url: String,
    /// What the image shows, for screen readers.
    pub alt_text: Option<String>,
}

/// A name/value pair describing a product.
#[derive(SimpleObject, Clone, Debug)]
pub struct ProductAttribute {
    /// The attribute's name, e.g. "Material".
    pub name: String,
    /// Its value, e.g. "Stoneware".
    pub value: String,
}

/// A product on a page of products.
#[derive(SimpleObject, Clone, Debug)]
pub struct ProductEdge {
    /// An opaque cursor for this product (valid for the same sort only).
    pub cursor: String,
    /// The product.
    pub node: ProductObject,
}

/// A page of products.
pub struct ProductConnection {
    page: ProductPage,
    filter: ProductFilter,
}

impl ProductConnection {
    /// The page of a listing with `filter` (kept for `totalCount`).
    pub fn new(page: ProductPage, filter: ProductFilter) -> Self {
        ProductConnection { page, filter }
    }
}

/// A page of products.
#[Object]
impl ProductConnection {
    /// The products on this page.
    async fn edges(&self) -> Vec<ProductEdge> {
        self.page
            .products
            .iter()
            .map(|product| ProductEdge {
                cursor: self.page.cursor(product),
                node: ProductObject(product.clone()),
            })
            .collect()
    }

    /// Whether more follow, and where to continue.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next_page,
            end_cursor: self.page.products.last().map(|p| self.page.cursor(p)),
        }
    }

    /// How many products match the filter on all pages (counted only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        resolve(async {
            let products = ctx.data_unchecked::<Arc<dyn ProductRepository>>();
            let count = products.count(&self.filter).await?;
            to_int(i64::try_from(count).unwrap_or(i64::MAX), "a product count")
        })
        .await
    }
}

/// The order of a product listing.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProductSort {
    /// By name, A to Z (ignoring case); ties by sku.
    #[default]
    Name,
    /// Cheapest first; ties by sku.
    PriceAsc,
    /// Dearest first; ties by sku, descending.
    PriceDesc,
    /// Most recently added first; ties by sku, descending.
    Newest,
}

impl From<ProductSort> for domain::ProductSort {
    fn from(sort: ProductSort) -> Self {
        match sort {
            ProductSort::Name => domain::ProductSort::Name,
            ProductSort::PriceAsc => domain::ProductSort::PriceAsc,
            ProductSort::PriceDesc => domain::ProductSort::PriceDesc,
            ProductSort::Newest => domain::ProductSort::Newest,
        }
    }
}

/// Which products a listing keeps (all conditions must hold). Archived products are
/// never listed.
#[derive(InputObject, Clone, Debug, Default)]
#[graphql(name = "ProductFilter")]
pub struct ProductFilterInput {
    /// Only products assigned to the category with this slug (NOT_FOUND if none has it).
    pub category: Option<String>,
    /// Only products whose name contains this text, ignoring case.
    pub search: Option<String>,
    /// Only products priced at least this, in minor units (cents).
    pub price_min: Option<i32>,
    /// Only products priced at most this, in minor units (cents).
    pub price_max: Option<i32>,
    /// Only products with (true) or without (false) units available now.
    pub in_stock: Option<bool>,
}

impl ProductFilterInput {
    /// The validated filter.
    pub fn parse(&self) -> ApiResult<ProductFilter> {
        ProductFilter::parse(
            self.category.as_deref(),
            self.search.as_deref(),
            self.price_min.map(i64::from),
            self.price_max.map(i64::from),
            self.in_stock,
        )
    }
}

/// An image to show with a product.
#[derive(InputObject, Clone, Debug)]
pub struct ProductImageInput {
    /// An absolute http:// or https:// URL, at most 2048 bytes.
    pub url: String,
    /// What the image shows, at most 500 characters.
    pub alt_text: Option<String>,
}

/// A name/value pair describing a product.
#[derive(InputObject, Clone, Debug)]
pub struct ProductAttributeInput {
    /// 1 to 100 characters, unique among the product's attributes (ignoring case).
    pub name: String,
    /// At most 500 characters.
    pub value: String,
}

/// Validates an `images` argument.
pub(crate) fn parse_images(images: &[ProductImageInput]) -> ApiResult<Vec<domain::Image>> {
    domain::Image::parse_all(
        images
            .iter()
            .map(|i| (i.url.as_str(), i.alt_text.as_deref())),
    )
}

/// Validates an `attributes` argument.
pub(crate) fn parse_attributes(
    attributes: &[ProductAttributeInput],
) -> ApiResult<Vec<domain::Attribute>> {
    domain::Attribute::parse_all(
        attributes
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str())),
    )
}

/// A product to add to the catalogue.
#[derive(InputObject, Clone, Debug)]
pub struct CreateProductInput {
    /// 1 to 64 of A-Z, 0-9, '-' and '_' (trimmed and upper-cased).
    pub sku: ID,
    /// 1 to 200 characters.
    pub name: String,
    /// At most 5000 characters.
    pub description: String,
    /// The unit price in minor units (cents), 0 to 100000000.
    pub price: i32,
    /// ISO 4217 code of three upper-case letters, e.g. "USD".
    pub currency: String,
    /// Units available from the start, 0 to 1000000000.
    pub stock: i32,
    /// Up to 20 images.
    pub images: Option<Vec<ProductImageInput>>,
    /// Up to 50 attributes.
    pub attributes: Option<Vec<ProductAttributeInput>>,
    /// Slugs of up to 10 existing categories.
    pub categories: Option<Vec<String>>,
}
