//! Operations for the payments service alone: what an order costs, and that it
//! was paid.
//!
//! Every field and type here is `@inaccessible` (the router keeps them out of
//! the public API) and needs the service credential (`x-service-token`).

use async_graphql::{Context, ID, Object, SimpleObject};
use storefront_shared::ApiResult;
use storefront_shared::graphql::Money;

use super::types::{OrderObject, money};
use super::{orders, service_caller};
use crate::domain::{Order, OrderStatus, now_ms};

/// What payments needs to charge an order.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(inaccessible)]
pub struct PayableOrder {
    /// The order.
    pub id: ID,
    /// The user who placed it.
    pub buyer_id: ID,
    /// Where it stands; an unpaid order past its expiry is already CANCELLED.
    pub status: OrderStatus,
    /// What to charge.
    pub total: Money,
}

impl PayableOrder {
    /// `None` when the order does not exist for clients (or has no price yet).
    fn of(order: &Order, now_ms: i64) -> ApiResult<Option<Self>> {
        let status = if order.is_expired(now_ms) {
            OrderStatus::Cancelled
        } else {
            match order.state.public() {
                Some(status) => status,
                None => return Ok(None),
            }
        };
        let Some(pricing) = order.pricing.as_ref() else {
            return Ok(None);
        };
        Ok(Some(PayableOrder {
            id: ID(order.id.to_string()),
            buyer_id: ID(order.buyer_id.clone()),
            status,
            total: money(&pricing.total)?,
        }))
    }
}

/// The internal queries.
#[derive(Default)]
pub struct InternalQuery;

#[Object]
impl InternalQuery {
    /// The order as payments needs it, or null if there is no such order.
    #[graphql(inaccessible)]
    async fn order_for_payment(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<PayableOrder>> {
        service_caller(ctx).require()?;
        let order = orders(ctx).for_payment(&id).await?;
        match order {
            Some(order) => Ok(PayableOrder::of(&order, now_ms())?),
            None => Ok(None),
        }
    }
}

/// The internal mutations.
#[derive(Default)]
pub struct InternalMutation;

#[Object]
impl InternalMutation {
    /// Records that `paymentId` paid the order: PENDING_PAYMENT → PAID, and the
    /// reserved stock is sold. Idempotent for the same payment; a cancelled or
    /// expired order, or one paid by another payment, is INVALID_STATE (refund it).
    #[graphql(inaccessible)]
    async fn mark_order_paid(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        payment_id: ID,
    ) -> async_graphql::Result<OrderObject> {
        service_caller(ctx).require()?;
        let order = orders(ctx).mark_paid(&order_id, &payment_id).await?;
        Ok(OrderObject(order))
    }
}
