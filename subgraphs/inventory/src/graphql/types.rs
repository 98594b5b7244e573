//! The GraphQL shapes of the public catalogue: `Money`, `PageInfo`, `Product` and its
//! connection, and `CreateProductInput`.

use async_graphql::{ID, InputObject, Object, SimpleObject};

use crate::domain::{self, Cursor, ProductPage};

/// Saturates a stored counter into GraphQL's 32-bit `Int`.
pub(crate) fn int(value: i64) -> i32 {
    i32::try_from(value.max(0)).unwrap_or(i32::MAX)
}

/// An amount of money: an integer in minor units and an ISO 4217 currency code.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Money", shareable)]
pub struct MoneyObject {
    /// Minor units (cents).
    pub amount: i32,
    /// ISO 4217 code, e.g. "USD".
    pub currency: String,
}

impl From<&domain::Money> for MoneyObject {
    fn from(money: &domain::Money) -> Self {
        MoneyObject {
            amount: int(money.amount),
            currency: money.currency.clone(),
        }
    }
}

/// Where a page of a connection ends.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(shareable)]
pub struct PageInfo {
    /// Whether more items follow this page.
    pub has_next_page: bool,
    /// The cursor of the last item on this page; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
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
    async fn price(&self) -> MoneyObject {
        MoneyObject::from(&self.0.price)
    }

    /// Units available to buy now (reserved units excluded).
    async fn stock(&self) -> i32 {
        int(self.0.available)
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
