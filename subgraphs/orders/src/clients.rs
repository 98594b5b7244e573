//! The calls orders makes to other services, with the service credential:
//! inventory's `reserveStock`/`releaseStock`/`commitStock` and payments'
//! `refundOrderPayment`. All of them are idempotent per order id at the
//! callee, so a call whose outcome is unknown (SERVICE_UNAVAILABLE) can be
//! repeated or compensated. The status of an order's payment (read through
//! payments' `Order` entity) settles a refund whose outcome was unknown.

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
const ORDER_PAYMENT: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Order { payment { status } } } }";

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

/// How an order's payment stands, as payments reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    /// The money was taken and is still taken.
    Succeeded,
    /// No money was taken.
    Declined,
    /// The money was taken and given back.
    Refunded,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct PaymentEntity {
    status: PaymentStatus,
}

#[derive(Deserialize)]
struct OrderEntity {
    payment: Option<PaymentEntity>,
}

/// The payments service's internal refund operation.
#[derive(Clone)]
pub struct PaymentsClient(ServiceClient);

impl PaymentsClient {
    /// Calls payments through `client`.
    pub fn new(client: ServiceClient) -> Self {
        PaymentsClient(client)
    }

    /// Refunds the order's successful payment, if it has one (idempotent).
    /// Whether something was refunded.
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

    /// The status of the order's payment (the charged one, if any), or `None`
    /// when payments has no settled payment for it.
    pub async fn order_payment_status(
        &self,
        order_id: &OrderId,
    ) -> ApiResult<Option<PaymentStatus>> {
        let representations = json!([{ "__typename": "Order", "id": order_id.as_str() }]);
        let entities: Vec<Option<OrderEntity>> = self
            .0
            .call(
                ORDER_PAYMENT,
                json!({ "representations": representations }),
                "_entities",
            )
            .await?;
        Ok(entities
            .into_iter()
            .next()
            .flatten()
            .and_then(|order| order.payment)
            .map(|payment| payment.status))
    }
}
