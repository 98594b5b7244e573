//! The calls orders makes to other services, with the service credential:
//! inventory's `reserveStock`/`releaseStock`/`commitStock` and payments'
//! `refundOrderPayment`. All of them are idempotent per order id at the
//! callee, so a call whose outcome is unknown (SERVICE_UNAVAILABLE) can be
//! repeated or compensated: orders never decides from a status whose outcome
//! is unknown, it asks again.
//!
//! # Layout
//! - [`InventoryClient`] (`reserve`, `release`, `commit`) and what it answers
//!   ([`Reservation`], [`ReservedLine`], priced in the shared domain `Money`).
//! - [`PaymentsClient`] (`refund_order_payment`).

use serde::Deserialize;
use serde_json::json;
use storefront_shared::ApiResult;
use storefront_shared::client::ServiceClient;

use crate::domain::{LineRequest, Money, OrderId};

const RESERVE: &str = "mutation($orderId: ID!, $lines: [StockLineInput!]!) { reserveStock(orderId: $orderId, lines: $lines) { orderId status lines { sku quantity unitPrice { amount currency } } } }";
const RELEASE: &str = "mutation($orderId: ID!) { releaseStock(orderId: $orderId) { orderId status lines { sku quantity unitPrice { amount currency } } } }";
const COMMIT: &str = "mutation($orderId: ID!) { commitStock(orderId: $orderId) { orderId status lines { sku quantity unitPrice { amount currency } } } }";
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
