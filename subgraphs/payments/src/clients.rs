//! The calls payments makes to other services (with the service credential):
//! the orders service's side of the order flow.
//!
//! The contract, served by orders and kept out of the public API:
//!
//! ```graphql
//! orderForPayment(id: ID!): PayableOrder      # { id buyerId status total { amount currency } }
//! markOrderPaid(orderId: ID!, paymentId: ID!): Order!   # INVALID_STATE if cancelled/expired
//!                                                       # or paid by another payment
//! ```
//!
//! A transport failure is SERVICE_UNAVAILABLE and means "outcome unknown":
//! `markOrderPaid` is idempotent per payment, so the sweeper just calls it again.
//!
//! # Layout
//! - [`OrdersClient`]: the two calls; [`PayableOrder`] and [`OrderStatus`]: what
//!   `orderForPayment` answers (its total is the shared domain `Money`).

use serde::Deserialize;
use serde_json::json;
use storefront_shared::client::ServiceClient;
use storefront_shared::graphql::MAX_AMOUNT;
use storefront_shared::money::Money;
use storefront_shared::{ApiError, ApiResult};

/// An order's status, as orders reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Waiting for a payment.
    PendingPayment,
    /// Paid.
    Paid,
    /// Cancelled (or expired).
    Cancelled,
    /// A status this version does not know; never payable.
    #[serde(other)]
    Unknown,
}

/// `Ok` when the total orders reported is one the API carries
/// (`0..=MAX_AMOUNT` minor units).
fn check_total(total: &Money) -> ApiResult<()> {
    if (0..=MAX_AMOUNT).contains(&total.amount) {
        Ok(())
    } else {
        Err(ApiError::internal(format!(
            "orders reported a total of {} minor units, outside 0..={MAX_AMOUNT}",
            total.amount
        )))
    }
}

/// What payments needs to know about an order to charge it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayableOrder {
    /// The order id.
    pub id: String,
    /// The buyer's user id.
    pub buyer_id: String,
    /// Where the order stands.
    pub status: OrderStatus,
    /// What to charge.
    pub total: Money,
}

#[derive(Deserialize)]
struct MarkedOrder {
    #[allow(dead_code)] // decoded to check the shape of the answer
    id: String,
}

const ORDER_FOR_PAYMENT: &str =
    "query($id: ID!) { orderForPayment(id: $id) { id buyerId status total { amount currency } } }";
const MARK_ORDER_PAID: &str = "mutation($orderId: ID!, $paymentId: ID!) { markOrderPaid(orderId: $orderId, paymentId: $paymentId) { id status } }";

/// The orders service, as payments uses it.
#[derive(Clone)]
pub struct OrdersClient {
    client: ServiceClient,
}

impl OrdersClient {
    /// Calls orders through `client`.
    pub fn new(client: ServiceClient) -> Self {
        OrdersClient { client }
    }

    /// The order to charge, or `None` when orders does not know it. A total
    /// outside `0..=MAX_AMOUNT` is an internal error: nothing is charged for it.
    pub async fn order_for_payment(&self, order_id: &str) -> ApiResult<Option<PayableOrder>> {
        let order: Option<PayableOrder> = self
            .client
            .call(
                ORDER_FOR_PAYMENT,
                json!({ "id": order_id }),
                "orderForPayment",
            )
            .await?;
        if let Some(order) = &order {
            check_total(&order.total)?;
        }
        Ok(order)
    }

    /// Tells orders that `payment_id` paid the order.
    pub async fn mark_order_paid(&self, order_id: &str, payment_id: &str) -> ApiResult<()> {
        let _: MarkedOrder = self
            .client
            .call(
                MARK_ORDER_PAID,
                json!({ "orderId": order_id, "paymentId": payment_id }),
                "markOrderPaid",
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_outside_the_money_range_is_never_charged() {
        let total = |amount| Money::new(amount, "USD");
        assert!(check_total(&total(0)).is_ok());
        assert!(check_total(&total(MAX_AMOUNT)).is_ok());
        for bad in [-1, MAX_AMOUNT + 1, i64::MAX] {
            let error = check_total(&total(bad)).expect_err("refused");
            assert_eq!(error.code(), "INTERNAL_SERVER_ERROR", "{bad}");
        }
    }
}
