//! The calls orders makes to other services, with the service credential:
//! inventory's `reserveStock`/`releaseStock`/`commitStock` and payments'
//! `refundOrderPayment`. All of them are idempotent per order id at the
//! callee, so a call whose outcome is unknown (SERVICE_UNAVAILABLE) can be
//! repeated or compensated: orders never decides from a status whose outcome
//! is unknown, it asks again.
//!
//! Carts read products (price, stock, archived) from inventory with its
//! standard federation query, `_entities`, for every line at once.
//!
//! # Layout
//! - [`InventoryClient`] (`reserve`, `release`, `commit`, `products`) and what
//!   it answers ([`Reservation`], [`ReservedLine`], [`ProductInfo`], priced in
//!   the shared domain `Money`).
//! - [`PaymentsClient`] (`refund_order_payment`).
//! - [`UsersClient`] (`address_for_checkout`: a buyer's saved address).

use serde::Deserialize;
use serde_json::json;
use storefront_shared::address::AddressInput;
use storefront_shared::client::ServiceClient;
use storefront_shared::{ApiError, ApiResult};

use crate::domain::{LineRequest, Money, OrderId};

const RESERVE: &str = "mutation($orderId: ID!, $lines: [StockLineInput!]!) { reserveStock(orderId: $orderId, lines: $lines) { orderId status lines { sku quantity unitPrice { amount currency } } } }";
const RELEASE: &str = "mutation($orderId: ID!) { releaseStock(orderId: $orderId) { orderId status lines { sku quantity unitPrice { amount currency } } } }";
const COMMIT: &str = "mutation($orderId: ID!) { commitStock(orderId: $orderId) { orderId status lines { sku quantity unitPrice { amount currency } } } }";
const PRODUCTS: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { sku name price { amount currency } stock archived } } }";
/// For an inventory without `Product.archived` yet (an older deployment).
const PRODUCTS_WITHOUT_ARCHIVED: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { sku name price { amount currency } stock } } }";
const ADDRESS: &str = "query($userId: ID!, $addressId: ID!) { addressForCheckout(userId: $userId, addressId: $addressId) { name line1 line2 city region postalCode country phone } }";
const REFUND: &str =
    "mutation($orderId: ID!) { refundOrderPayment(orderId: $orderId) { refunded } }";

/// Stock held, sold or released for one order, as inventory reports it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// The order.
    pub order_id: String,
    /// `RESERVED`, `COMMITTED` or `RELEASED`.
    pub status: String,
    /// The lines in sku order.
    pub lines: Vec<ReservedLine>,
}

/// One reserved line with the unit price at reservation time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservedLine {
    /// The product (as inventory normalises it).
    pub sku: String,
    /// Units.
    pub quantity: i64,
    /// The price snapshot.
    pub unit_price: Money,
}

/// What a cart needs to know of a product now.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductInfo {
    /// The product's sku.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Its current price.
    pub price: Money,
    /// Units available to buy now.
    pub stock: i64,
    /// Whether it can no longer be bought (false from an inventory without the field).
    #[serde(default)]
    pub archived: bool,
}

/// The inventory service's internal stock operations.
#[derive(Clone)]
pub struct InventoryClient(ServiceClient);

impl InventoryClient {
    /// Calls inventory through `client`.
    pub fn new(client: ServiceClient) -> Self {
        InventoryClient(client)
    }

    /// Holds every line for the order, or nothing (idempotent per order id).
    pub async fn reserve(
        &self,
        order_id: &OrderId,
        lines: &[LineRequest],
    ) -> ApiResult<Reservation> {
        let lines: Vec<_> = lines
            .iter()
            .map(|line| json!({ "sku": line.sku, "quantity": line.quantity }))
            .collect();
        self.0
            .call(
                RESERVE,
                json!({ "orderId": order_id.as_str(), "lines": lines }),
                "reserveStock",
            )
            .await
    }

    /// Returns whatever the order holds (or bought) to the available stock.
    pub async fn release(&self, order_id: &OrderId) -> ApiResult<Reservation> {
        self.0
            .call(
                RELEASE,
                json!({ "orderId": order_id.as_str() }),
                "releaseStock",
            )
            .await
    }

    /// The products with these skus, in one `_entities` call, in the same
    /// order (`None` for an unknown sku). An inventory that does not know
    /// `Product.archived` yet is asked again without it.
    pub async fn products(&self, skus: &[String]) -> ApiResult<Vec<Option<ProductInfo>>> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let representations: Vec<_> = skus
            .iter()
            .map(|sku| json!({ "__typename": "Product", "sku": sku }))
            .collect();
        let variables = json!({ "representations": representations });
        match self.0.call(PRODUCTS, variables.clone(), "_entities").await {
            Err(ApiError::Internal(cause)) if cause.to_string().contains("archived") => {
                self.0
                    .call(PRODUCTS_WITHOUT_ARCHIVED, variables, "_entities")
                    .await
            }
            other => other,
        }
    }

    /// Turns the order's reservation into a sale.
    pub async fn commit(&self, order_id: &OrderId) -> ApiResult<Reservation> {
        self.0
            .call(
                COMMIT,
                json!({ "orderId": order_id.as_str() }),
                "commitStock",
            )
            .await
    }
}

#[derive(Deserialize)]
struct RefundResult {
    refunded: bool,
}

/// The payments service's internal refund operation.
#[derive(Clone)]
pub struct PaymentsClient(ServiceClient);

impl PaymentsClient {
    /// Calls payments through `client`.
    pub fn new(client: ServiceClient) -> Self {
        PaymentsClient(client)
    }

    /// Refunds the order's charged payment, if it has one (idempotent: asking
    /// again is the same refund). Whether the money is back; SERVICE_UNAVAILABLE
    /// while payments cannot confirm it (the refund goes on there regardless).
    pub async fn refund_order_payment(&self, order_id: &OrderId) -> ApiResult<bool> {
        let result: Option<RefundResult> = self
            .0
            .call(
                REFUND,
                json!({ "orderId": order_id.as_str() }),
                "refundOrderPayment",
            )
            .await?;
        Ok(result.is_some_and(|result| result.refunded))
    }
}

/// A saved address as users answers it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedAddress {
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: Option<String>,
    country: String,
    phone: Option<String>,
}

/// The users service's internal address lookup.
#[derive(Clone)]
pub struct UsersClient(ServiceClient);

impl UsersClient {
    /// Calls users through `client`.
    pub fn new(client: ServiceClient) -> Self {
        UsersClient(client)
    }

    /// The saved address `address_id` of `user_id`, as users validated it;
    /// `None` when it does not exist or is not that user's.
    pub async fn address_for_checkout(
        &self,
        user_id: &str,
        address_id: &str,
    ) -> ApiResult<Option<AddressInput>> {
        let found: Option<SavedAddress> = self
            .0
            .call(
                ADDRESS,
                json!({ "userId": user_id, "addressId": address_id }),
                "addressForCheckout",
            )
            .await?;
        Ok(found.map(|a| AddressInput {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }))
    }
}
