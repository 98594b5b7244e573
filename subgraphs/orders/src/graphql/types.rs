//! The GraphQL shapes of orders: `Order` and its items, shipping and discount
//! lines and connection, and the
//! `User` and `Product` entity stubs (the shareable `Money` and `PageInfo` come
//! from `storefront_shared::graphql`).

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use storefront_shared::ApiError;
use storefront_shared::address::MailingAddress;
use storefront_shared::graphql::{Money, PageInfo, to_int};

use super::{orders, viewer};
use crate::domain::{self, Order, OrderPage, OrderState, OrderStatus, encode_cursor};

/// A stored amount as the shared `Money` (checked, never clamped).
pub(crate) fn money(money: &domain::Money) -> Result<Money, ApiError> {
    money.to_graphql()
}

/// A product, owned by the inventory subgraph; orders only knows its sku.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Product", unresolvable = "sku")]
pub struct ProductRef {
    /// The product's sku.
    pub sku: ID,
}

/// A user, owned by the users subgraph; orders adds their orders.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "User", complex)]
pub struct UserRef {
    /// The user's id.
    pub id: ID,
}

#[ComplexObject]
impl UserRef {
    /// The user's orders, newest first, only those with `status` when given:
    /// only the user themselves or an ADMIN may list them. `first` is 1 to 100.
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        status: Option<OrderStatus>,
    ) -> async_graphql::Result<OrderConnection> {
        let page = orders(ctx)
            .list_in(
                viewer(ctx),
                self.id.as_str(),
                first.unwrap_or(20),
                after.as_deref(),
                status,
            )
            .await?;
        Ok(page.into())
    }
}

/// An order.
#[derive(Clone, Debug)]
pub struct OrderObject(pub Order);

impl OrderObject {
    fn pricing(&self) -> Result<&domain::Pricing, ApiError> {
        self.0.pricing.as_ref().ok_or_else(|| {
            ApiError::internal(format!("visible order {} has no pricing", self.0.id))
        })
    }
}

/// An order: what was bought at which prices, by whom, and where it stands.
#[Object(name = "Order")]
impl OrderObject {
    /// The order's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The user who placed the order.
    async fn buyer(&self) -> UserRef {
        UserRef {
            id: ID(self.0.buyer_id.clone()),
        }
    }

    /// The items, in the order they were asked for.
    async fn items(&self) -> async_graphql::Result<Vec<OrderItemObject>> {
        Ok(self
            .pricing()?
            .items
            .iter()
            .cloned()
            .map(OrderItemObject)
            .collect())
    }

    /// PENDING_PAYMENT, PAID or CANCELLED.
    async fn status(&self) -> OrderStatus {
        self.0.state.public().unwrap_or(OrderStatus::Cancelled)
    }

    /// What the buyer pays: `subtotal − discount + shipping` (for an order
    /// placed without checkout, the sum of the items' subtotals).
    async fn total(&self) -> async_graphql::Result<Money> {
        Ok(money(&self.pricing()?.total)?)
    }

    /// The sum of the items' subtotals.
    async fn subtotal(&self) -> async_graphql::Result<Money> {
        Ok(money(self.pricing()?.subtotal())?)
    }

    /// Where it ships (as given at checkout); null for an order placed without checkout.
    async fn shipping_address(&self) -> Option<MailingAddress> {
        self.0
            .checkout
            .as_ref()
            .map(|terms| MailingAddress::from(&terms.address))
    }

    /// The shipping line; null for an order placed without checkout.
    async fn shipping(&self) -> async_graphql::Result<Option<ShippingLine>> {
        let Some(quote) = &self.pricing()?.shipping else {
            return Ok(None);
        };
        Ok(Some(ShippingLine {
            method: quote.code.clone(),
            name: quote.name.clone(),
            price: money(&quote.price)?,
        }))
    }

    /// The discount line; null when no code was used.
    async fn discount(&self) -> async_graphql::Result<Option<DiscountLine>> {
        let Some(line) = &self.pricing()?.discount else {
            return Ok(None);
        };
        Ok(Some(DiscountLine {
            code: line.code.clone(),
            amount: money(&line.amount)?,
        }))
    }

    /// When the order was placed.
    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at_ms)
    }

    /// When the order last changed (placed, paid or cancelled).
    async fn updated_at(&self) -> DateTime<Utc> {
        timestamp(self.0.updated_at_ms)
    }

    /// When the order expires unless it is paid; null once it is paid or cancelled.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self.0.state {
            OrderState::PendingPayment => self.0.expires_at_ms.map(timestamp),
            _ => None,
        }
    }
}

pub(crate) fn timestamp(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// How an order ships and what shipping costs.
#[derive(SimpleObject, Clone, Debug)]
pub struct ShippingLine {
    /// The shipping method's code.
    pub method: String,
    /// Its name.
    pub name: String,
    /// What shipping costs (zero when free).
    pub price: Money,
}

/// What a discount code took off an order.
#[derive(SimpleObject, Clone, Debug)]
pub struct DiscountLine {
    /// The code.
    pub code: String,
    /// The amount off the subtotal.
    pub amount: Money,
}

/// One line of an order.
#[derive(Clone, Debug)]
pub struct OrderItemObject(pub domain::OrderItem);

/// One line of an order, with the unit price it was bought at.
#[Object(name = "OrderItem")]
impl OrderItemObject {
    /// The product.
    async fn product(&self) -> ProductRef {
        ProductRef {
            sku: ID(self.0.sku.clone()),
        }
    }

    /// Units bought.
    async fn quantity(&self) -> async_graphql::Result<i32> {
        Ok(to_int(self.0.quantity, "an order line's quantity")?)
    }

    /// The product's price when the order was placed.
    async fn unit_price(&self) -> async_graphql::Result<Money> {
        Ok(money(&self.0.unit_price)?)
    }

    /// `unitPrice × quantity`.
    async fn subtotal(&self) -> async_graphql::Result<Money> {
        let subtotal = self
            .0
            .subtotal()
            .ok_or_else(|| ApiError::internal("an order item's subtotal overflows"))?;
        Ok(money(&subtotal)?)
    }
}

/// An order on a page of orders.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrderEdge {
    /// An opaque cursor for this order.
    pub cursor: String,
    /// The order.
    pub node: OrderObject,
}

/// A page of orders, newest first.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrderConnection {
    /// The orders on this page.
    pub edges: Vec<OrderEdge>,
    /// Whether more follow, and where to continue.
    pub page_info: PageInfo,
}

impl From<OrderPage> for OrderConnection {
    fn from(page: OrderPage) -> Self {
        let edges: Vec<OrderEdge> = page
            .orders
            .into_iter()
            .map(|order| OrderEdge {
                cursor: encode_cursor(&order.id),
                node: OrderObject(order),
            })
            .collect();
        let end_cursor = edges.last().map(|edge| edge.cursor.clone());
        OrderConnection {
            edges,
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                end_cursor,
            },
        }
    }
}

/// One line of a new order.
#[derive(InputObject, Clone, Debug)]
pub struct OrderItemInput {
    /// The product's sku.
    pub sku: ID,
    /// Units, 1 to the configured maximum per line (100 by default).
    pub quantity: i32,
}
