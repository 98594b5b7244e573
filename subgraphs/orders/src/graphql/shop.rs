//! The shop's GraphQL face: `Cart` and its lines (products federated from
//! inventory by sku, prices and availability read from inventory in one
//! `_entities` call per cart, and only when asked for), `shippingMethods`,
//! ADMIN discount codes, and `checkout`.
//!
//! # Layout
//! - [`CartObject`], [`CartLineObject`]: a cart as shown.
//! - [`ShippingMethodObject`], [`DiscountCodeObject`]: quotes and codes.
//! - [`ShopQuery`], [`ShopMutation`]: the operations.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use storefront_shared::address::AddressInput;
use storefront_shared::graphql::{Money, to_int};
use storefront_shared::{ApiError, ApiResult};
use tokio::sync::OnceCell;

use super::types::{OrderObject, ProductRef, money, timestamp};
use super::{orders, viewer};
use crate::cart::{self, Cart, CartId, CartLineStatus, line_status};
use crate::checkout::RawCheckout;
use crate::clients::ProductInfo;
use crate::discount::{DiscountCode, DiscountInput};
use crate::domain::LineRequest;
use crate::shipping::ShippingQuote;

type Products = Arc<OnceCell<ApiResult<Vec<Option<ProductInfo>>>>>;

/// A cart, with inventory's products read once for all its lines.
#[derive(Clone)]
pub struct CartObject {
    cart: Cart,
    products: Products,
}

impl CartObject {
    fn new(cart: Cart) -> Self {
        CartObject {
            cart,
            products: Arc::new(OnceCell::new()),
        }
    }

    async fn products<'a>(&'a self, ctx: &Context<'_>) -> ApiResult<&'a [Option<ProductInfo>]> {
        let lines = self.cart.lines.clone();
        let orders = orders(ctx).clone();
        self.products
            .get_or_init(|| async move { orders.products_of(&lines).await })
            .await
            .as_deref()
            .map_err(Clone::clone)
    }
}

/// What a shopper means to buy: never reserves stock; prices and
/// availability are inventory's now.
#[Object(name = "Cart")]
impl CartObject {
    /// The cart's id: keep an anonymous cart's id to come back to it (and to
    /// merge it after signing in).
    async fn id(&self) -> ID {
        ID(self.cart.id.clone())
    }

    /// The lines, in the order they were first added; a line that cannot be
    /// bought now stays, flagged by its `status`.
    async fn lines(&self) -> Vec<CartLineObject> {
        (0..self.cart.lines.len())
            .map(|index| CartLineObject {
                cart: self.clone(),
                index,
            })
            .collect()
    }

    /// Units in the cart.
    async fn total_quantity(&self) -> async_graphql::Result<i32> {
        Ok(to_int(self.cart.total_quantity(), "a cart's quantity")?)
    }

    /// The sum of the lines' subtotals at current prices (lines of unknown
    /// products left out); null for an empty cart.
    async fn subtotal(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Money>> {
        let products = self.products(ctx).await?;
        match cart::subtotal(&self.cart.lines, products) {
            Some(sum) => Ok(Some(money(&sum)?)),
            None => Ok(None),
        }
    }

    /// Whether every line can be bought now (and there is one).
    async fn ready_for_checkout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let products = self.products(ctx).await?;
        Ok(!self.cart.lines.is_empty()
            && self.cart.lines.iter().zip(products).all(|(line, product)| {
                line_status(line.quantity, product.as_ref()) == CartLineStatus::Available
            }))
    }

    /// When the cart last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        timestamp(self.cart.updated_at_ms)
    }

    /// When an anonymous cart is deleted unless it changes; null for a user's cart.
    async fn expires_at(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        match self.cart.cart_id() {
            Ok(CartId::Anonymous(_)) => {
                let ttl = orders(ctx).policy().cart_ttl.as_millis();
                let ttl = i64::try_from(ttl).unwrap_or(i64::MAX);
                Some(timestamp(self.cart.updated_at_ms.saturating_add(ttl)))
            }
            _ => None,
        }
    }
}

/// One line of a cart.
pub struct CartLineObject {
    cart: CartObject,
    index: usize,
}

impl CartLineObject {
    fn line(&self) -> ApiResult<&LineRequest> {
        self.cart
            .cart
            .lines
            .get(self.index)
            .ok_or_else(|| ApiError::internal("a cart line past the cart's end"))
    }

    async fn product_info(&self, ctx: &Context<'_>) -> ApiResult<Option<&ProductInfo>> {
        let products = self.cart.products(ctx).await?;
        Ok(products.get(self.index).and_then(Option::as_ref))
    }
}

/// A product and how many units of it the shopper means to buy.
#[Object(name = "CartLine")]
impl CartLineObject {
    /// The product (from inventory; it resolves even when archived).
    async fn product(&self) -> async_graphql::Result<ProductRef> {
        Ok(ProductRef {
            sku: ID(self.line()?.sku.clone()),
        })
    }

    /// Units.
    async fn quantity(&self) -> async_graphql::Result<i32> {
        Ok(to_int(self.line()?.quantity, "a cart line's quantity")?)
    }

    /// The product's price now; null for an unknown product.
    async fn unit_price(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Money>> {
        match self.product_info(ctx).await? {
            Some(product) => Ok(Some(money(&product.price)?)),
            None => Ok(None),
        }
    }

    /// `unitPrice × quantity`; null for an unknown product.
    async fn subtotal(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Money>> {
        let quantity = self.line()?.quantity;
        match self.product_info(ctx).await? {
            Some(product) => {
                let amount = product
                    .price
                    .amount
                    .checked_mul(quantity)
                    .ok_or_else(|| ApiError::internal("a cart line's subtotal overflows"))?;
                let sum = crate::domain::Money::new(amount, product.price.currency.clone());
                Ok(Some(money(&sum)?))
            }
            None => Ok(None),
        }
    }

    /// Whether the line can be bought now, and if not, why.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<CartLineStatus> {
        let quantity = self.line()?.quantity;
        Ok(line_status(quantity, self.product_info(ctx).await?))
    }

    /// Units of the product available now; null for an unknown product.
    async fn available_quantity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
        match self.product_info(ctx).await? {
            Some(product) => Ok(Some(to_int(product.stock.max(0), "a product's stock")?)),
            None => Ok(None),
        }
    }
}

/// A way to ship, priced for a cart and a destination.
pub struct ShippingMethodObject(pub ShippingQuote);

/// A shipping method and what it costs for this cart.
#[Object(name = "ShippingMethod")]
impl ShippingMethodObject {
    /// The code to check out with (e.g. `STANDARD`).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// What the shopper reads.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The price (zero when the cart ships free).
    async fn price(&self) -> async_graphql::Result<Money> {
        Ok(money(&self.0.price)?)
    }
}

/// A discount code, for ADMINs.
pub struct DiscountCodeObject(pub DiscountCode);

fn optional_int(value: Option<i64>, what: &str) -> async_graphql::Result<Option<i32>> {
    Ok(value.map(|v| to_int(v, what)).transpose()?)
}

/// A discount code: a percentage or a fixed amount off the subtotal.
#[Object(name = "DiscountCode")]
impl DiscountCodeObject {
    /// The code shoppers type (upper-case).
    async fn code(&self) -> &str {
        &self.0.terms.code
    }

    /// Percent off the subtotal, for a percentage code.
    async fn percentage(&self) -> async_graphql::Result<Option<i32>> {
        optional_int(self.0.terms.percent, "a percentage")
    }

    /// The amount off, for a fixed-amount code.
    async fn amount(&self) -> async_graphql::Result<Option<Money>> {
        Ok(self.0.terms.amount.as_ref().map(money).transpose()?)
    }

    /// The subtotal an order needs, in minor units of its currency.
    async fn minimum_subtotal(&self) -> async_graphql::Result<Option<i32>> {
        optional_int(self.0.minimum_subtotal, "a minimum subtotal")
    }

    /// Valid from.
    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at_ms.map(timestamp)
    }

    /// Valid until (exclusive).
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at_ms.map(timestamp)
    }

    /// The most orders that may use it; null for no limit.
    async fn usage_limit(&self) -> async_graphql::Result<Option<i32>> {
        optional_int(self.0.usage_limit, "a usage limit")
    }

    /// Orders that used it (a checkout that failed gives its use back).
    async fn times_used(&self) -> async_graphql::Result<i32> {
        Ok(to_int(self.0.used, "a use count")?)
    }

    /// False once an ADMIN deactivated it.
    async fn active(&self) -> bool {
        self.0.active
    }
}

/// A new discount code: exactly one of `percentage` and `amount` (with `currency`).
#[derive(InputObject, Clone, Debug)]
pub struct DiscountCodeInput {
    /// 3 to 32 characters of A-Z, 0-9, '-' and '_' (any case; kept upper-case).
    pub code: String,
    /// Percent off the subtotal, 1 to 100 (rounded down to the minor unit).
    pub percentage: Option<i32>,
    /// Minor units off the subtotal (never more than the subtotal).
    pub amount: Option<i32>,
    /// The ISO 4217 currency of `amount`.
    pub currency: Option<String>,
    /// The subtotal an order needs, in minor units.
    pub minimum_subtotal: Option<i32>,
    /// Valid from (default: now).
    pub starts_at: Option<DateTime<Utc>>,
    /// Valid until, exclusive (default: no end).
    pub ends_at: Option<DateTime<Utc>>,
    /// The most orders that may use it (default: no limit).
    pub usage_limit: Option<i32>,
}

/// What to check out.
#[derive(InputObject, Clone, Debug)]
pub struct CheckoutInput {
    /// An anonymous cart to merge into the buyer's cart first (default: the buyer's cart).
    pub cart_id: Option<ID>,
    /// One of the buyer's saved addresses; or give `address`.
    pub shipping_address_id: Option<ID>,
    /// The address to ship to; or give `shippingAddressId`.
    pub address: Option<AddressInput>,
    /// A code from `shippingMethods`.
    pub shipping_method: String,
    /// A discount code (one per order).
    pub discount_code: Option<String>,
    /// The client's key for this checkout: the same key returns the same order.
    pub idempotency_key: String,
}

/// The shop's queries.
#[derive(Default)]
pub struct ShopQuery;

#[Object]
impl ShopQuery {
    /// A cart: without `id`, the signed-in user's (empty until something is
    /// added) or null for an anonymous shopper; with `id`, that anonymous cart
    /// or the user's own. Another user's cart is NOT_FOUND.
    async fn cart(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<Option<CartObject>> {
        let cart = orders(ctx)
            .cart(viewer(ctx), id.as_ref().map(|id| id.as_str()))
            .await?;
        Ok(cart.map(CartObject::new))
    }

    /// The shipping methods to `country` (ISO 3166-1 alpha-2) for a cart (the
    /// signed-in user's, or `cartId`), priced for its items and subtotal now.
    async fn shipping_methods(
        &self,
        ctx: &Context<'_>,
        country: String,
        cart_id: Option<ID>,
    ) -> async_graphql::Result<Vec<ShippingMethodObject>> {
        let quotes = orders(ctx)
            .shipping_methods(
                viewer(ctx),
                &country,
                cart_id.as_ref().map(|id| id.as_str()),
            )
            .await?;
        Ok(quotes.into_iter().map(ShippingMethodObject).collect())
    }

    /// Every discount code, newest first (ADMIN).
    #[graphql(requires_scopes = "admin")]
    async fn discount_codes(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<DiscountCodeObject>> {
        let codes = orders(ctx).discounts(viewer(ctx)).await?;
        Ok(codes.into_iter().map(DiscountCodeObject).collect())
    }
}

/// The shop's mutations.
#[derive(Default)]
pub struct ShopMutation;

fn id_str(id: &Option<ID>) -> Option<&str> {
    id.as_ref().map(|id| id.as_str())
}

#[Object]
impl ShopMutation {
    /// Adds units of a product to a cart (same product: quantities add up, at
    /// most the per-line maximum). Signed in: the user's cart (an anonymous
    /// `cartId` is merged into it first). Anonymous: the cart `cartId`, or a
    /// new one without it — keep its `id`.
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        cart_id: Option<ID>,
        sku: ID,
        #[graphql(default = 1)] quantity: i32,
    ) -> async_graphql::Result<CartObject> {
        let cart = orders(ctx)
            .add_to_cart(viewer(ctx), id_str(&cart_id), &sku, i64::from(quantity))
            .await?;
        Ok(CartObject::new(cart))
    }

    /// Sets the units of a product in a cart; 0 removes the line.
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        cart_id: Option<ID>,
        sku: ID,
        quantity: i32,
    ) -> async_graphql::Result<CartObject> {
        if quantity < 0 {
            return Err(ApiError::BadUserInput("quantity must not be negative".into()).into());
        }
        let cart = orders(ctx)
            .update_cart_line(viewer(ctx), id_str(&cart_id), &sku, i64::from(quantity))
            .await?;
        Ok(CartObject::new(cart))
    }

    /// Removes a product's line from a cart.
    async fn remove_from_cart(
        &self,
        ctx: &Context<'_>,
        cart_id: Option<ID>,
        sku: ID,
    ) -> async_graphql::Result<CartObject> {
        let cart = orders(ctx)
            .remove_from_cart(viewer(ctx), id_str(&cart_id), &sku)
            .await?;
        Ok(CartObject::new(cart))
    }

    /// Merges an anonymous cart into the signed-in user's cart (after login):
    /// quantities of the same product add up, capped at the per-line maximum;
    /// the anonymous cart is then gone. Merging it again changes nothing.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn merge_cart(
        &self,
        ctx: &Context<'_>,
        cart_id: ID,
    ) -> async_graphql::Result<CartObject> {
        let cart = orders(ctx).merge_cart(viewer(ctx), &cart_id).await?;
        Ok(CartObject::new(cart))
    }

    /// Places an order from the signed-in buyer's cart: all its lines are
    /// reserved or none, shipping and the discount are priced in, and the cart
    /// is emptied of them once the order exists. The same `idempotencyKey`
    /// returns the same order; with other arguments it is CONFLICT.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn checkout(
        &self,
        ctx: &Context<'_>,
        input: CheckoutInput,
    ) -> async_graphql::Result<OrderObject> {
        let raw = RawCheckout {
            cart_id: input.cart_id.map(|id| id.0),
            shipping_address_id: input.shipping_address_id.map(|id| id.0),
            address: input.address,
            shipping_method: input.shipping_method,
            discount_code: input.discount_code,
            idempotency_key: input.idempotency_key,
        };
        Ok(OrderObject(orders(ctx).checkout(viewer(ctx), raw).await?))
    }

    /// Creates a discount code (ADMIN); CONFLICT when it exists.
    #[graphql(requires_scopes = "admin")]
    async fn create_discount_code(
        &self,
        ctx: &Context<'_>,
        input: DiscountCodeInput,
    ) -> async_graphql::Result<DiscountCodeObject> {
        let raw = DiscountInput {
            code: input.code,
            percent: input.percentage.map(i64::from),
            amount: input.amount.map(i64::from),
            currency: input.currency,
            minimum_subtotal: input.minimum_subtotal.map(i64::from),
            starts_at_ms: input.starts_at.map(|at| at.timestamp_millis()),
            ends_at_ms: input.ends_at.map(|at| at.timestamp_millis()),
            usage_limit: input.usage_limit.map(i64::from),
        };
        let code = orders(ctx).create_discount(viewer(ctx), raw).await?;
        Ok(DiscountCodeObject(code))
    }

    /// Deactivates a discount code (ADMIN): no new order may use it.
    #[graphql(requires_scopes = "admin")]
    async fn deactivate_discount_code(
        &self,
        ctx: &Context<'_>,
        code: String,
    ) -> async_graphql::Result<DiscountCodeObject> {
        let code = orders(ctx).deactivate_discount(viewer(ctx), &code).await?;
        Ok(DiscountCodeObject(code))
    }
}
