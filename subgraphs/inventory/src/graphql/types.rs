//! The GraphQL shapes of the public catalogue: `Product` and its connection, and
//! `CreateProductInput` (`Money` and `PageInfo` come from `storefront_shared::graphql`).

use async_graphql::{ID, InputObject, Object, SimpleObject};
use storefront_shared::ApiError;
use storefront_shared::graphql::{Money, PageInfo, to_int};

use crate::domain::{self, Cursor, ProductPage};

/// A stored amount as the shared `Money` (checked, never clamped).
pub(crate) fn money(money: &domain::Money) -> Result<Money, ApiError> {
    money.to_graphql()
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
}

/// A product on a page of products.
#[derive(SimpleObject, Clone, Debug)]
pub struct ProductEdge {
    /// An opaque cursor for this product.
    pub cursor: String,
    /// The product.
    pub node: ProductObject,
}

/// A page of products in sku order.
#[derive(SimpleObject, Clone, Debug)]
pub struct ProductConnection {
    /// The products on this page.
    pub edges: Vec<ProductEdge>,
    /// Whether more follow, and where to continue.
    pub page_info: PageInfo,
}

impl From<ProductPage> for ProductConnection {
    fn from(page: ProductPage) -> Self {
        let edges: Vec<ProductEdge> = page
            .products
            .into_iter()
            .map(|product| ProductEdge {
                cursor: Cursor::encode(&product.sku),
                node: ProductObject(product),
            })
            .collect();
        let end_cursor = edges.last().map(|edge| edge.cursor.clone());
        ProductConnection {
            edges,
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                end_cursor,
            },
        }
    }
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
}
