//! The payments subgraph's GraphQL schema (Federation v2): `Payment @key(fields: "id")`,
//! the `Order` stub extended with `payment`, `payOrder`, and the internal
//! `refundOrderPayment` for the orders service (`@inaccessible`, service
//! credential). Entity resolvers (`find_payment_by_id`, `find_order_by_id`)
//! and `Order.payment` are batched through [`DataLoader`]s, so `_entities`
//! with N references costs one store query.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, EmptySubscription, Enum, ID, Object, Schema, SimpleObject};
use chrono::{DateTime, Utc};
use storefront_shared::ApiError;
use storefront_shared::auth::{ServiceCaller, Viewer};
use storefront_shared::graphql::Money;
use storefront_shared::limits::{self, RequestLimits};

use crate::domain::{self, PaymentState};
use crate::flow::{Payments, check_visible, order_payment};
use crate::store::SharedRepository;

/// The executable payments schema.
pub type PaymentsSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over `payments`, refusing requests beyond `limits`.
pub fn schema(payments: Payments, limits: &RequestLimits) -> PaymentsSchema {
    let repo = Arc::clone(payments.repository());
    let builder = Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .data(DataLoader::new(
            PaymentLoader(Arc::clone(&repo)),
            tokio::spawn,
        ))
        .data(DataLoader::new(OrderPaymentsLoader(repo), tokio::spawn))
        .data(payments);
    limits::apply(builder, limits).finish()
}

fn payments<'a>(ctx: &Context<'a>) -> &'a Payments {
    ctx.data_unchecked::<Payments>()
}

/// The caller, as the HTTP endpoint put it in the request; anonymous when absent.
fn viewer<'a>(ctx: &Context<'a>) -> &'a Viewer {
    static ANONYMOUS: Viewer = Viewer::Anonymous;
    ctx.data_opt::<Viewer>().unwrap_or(&ANONYMOUS)
}

fn service_caller(ctx: &Context<'_>) -> ServiceCaller {
    ctx.data_opt::<ServiceCaller>()
        .copied()
        .unwrap_or(ServiceCaller(false))
}

/// How a payment ended.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// The money was taken.
    Succeeded,
    /// The provider declined; no money was taken. Pay again with a new idempotencyKey.
    Declined,
    /// The money was taken and given back.
    Refunded,
}

/// A payment, as clients see it (only settled payments are ever shown).
#[derive(Clone, Debug)]
pub struct PaymentObject(pub domain::Payment);

/// An attempt to pay an order.
#[Object(name = "Payment")]
impl PaymentObject {
    /// The payment's id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The order it pays.
    async fn order(&self) -> OrderRef {
        OrderRef {
            id: self.0.order_id.clone(),
        }
    }

    /// What was (or would have been) charged.
    async fn amount(&self) -> async_graphql::Result<Money> {
        Ok(Money::new(self.0.amount, self.0.currency.clone())?)
    }

    /// How it ended.
    async fn status(&self) -> PaymentStatus {
        match self.0.state {
            // A refund asked for but not confirmed: the money is still taken.
            PaymentState::Succeeded | PaymentState::Refunding => PaymentStatus::Succeeded,
            PaymentState::Refunded => PaymentStatus::Refunded,
            // PROCESSING payments are never returned; a rejected one counts as declined.
            PaymentState::Declined | PaymentState::Processing => PaymentStatus::Declined,
        }
    }

    /// The provider's charge id, when money was taken.
    async fn provider_reference(&self) -> Option<&str> {
        self.0.provider_reference.as_deref()
    }

    /// When the payment was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at()
    }
}

/// An order (owned by the orders subgraph), extended with its payment.
#[derive(Clone, Debug)]
pub struct OrderRef {
    id: String,
}

/// An order, as the payments subgraph knows it.
#[Object(name = "Order")]
impl OrderRef {
    /// The order's id.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The order's most relevant payment: the SUCCEEDED or REFUNDED one if any,
    /// else the latest attempt; null if none. The buyer or an ADMIN only.
    async fn payment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PaymentObject>> {
        let loader = ctx.data_unchecked::<DataLoader<OrderPaymentsLoader>>();
        let list = loader
            .load_one(self.id.clone())
            .await
            .map_err(async_graphql::Error::from)?
            .unwrap_or_default();
        let Some(payment) = order_payment(&list) else {
            return Ok(None);
        };
        if !service_caller(ctx).0 {
            check_visible(viewer(ctx), payment)?;
        }
        Ok(Some(PaymentObject(payment.clone())))
    }
}

/// What `refundOrderPayment` did.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(inaccessible)]
pub struct RefundResult {
    /// Whether the order's money is refunded (now or before); false when it had no
    /// SUCCEEDED payment.
    // (A REFUNDING payment counts as SUCCEEDED here; the description is kept as
    // it is, as it is part of the committed SDL.)
    pub refunded: bool,
}

/// Queries: only the entity resolvers.
pub struct Query;

#[Object]
impl Query {
    /// Resolves `Payment` references (`_entities`); null for unknown or
    /// unsettled payments. The buyer, an ADMIN, or another service only.
    #[graphql(entity)]
    async fn find_payment_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<PaymentObject>> {
        let loader = ctx.data_unchecked::<DataLoader<PaymentLoader>>();
        let payment = loader
            .load_one(id.0)
            .await
            .map_err(async_graphql::Error::from)?;
        let Some(payment) = payment.filter(|p| p.state.is_settled()) else {
            return Ok(None);
        };
        if !service_caller(ctx).0 {
            check_visible(viewer(ctx), &payment)?;
        }
        Ok(Some(PaymentObject(payment)))
    }

    /// Resolves `Order` references so other subgraphs can ask for `payment`.
    #[graphql(entity)]
    async fn find_order_by_id(&self, id: ID) -> OrderRef {
        OrderRef { id: id.0 }
    }
}

/// Mutations.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Pays a PENDING_PAYMENT order as its buyer. The same idempotencyKey with the
    /// same arguments returns the same payment and never charges twice; with other
    /// arguments it is a CONFLICT. A decline is not an error: the DECLINED payment is
    /// returned and the order can be paid again with a new key.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn pay_order(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        payment_token: String,
        idempotency_key: String,
    ) -> async_graphql::Result<PaymentObject> {
        let payment = payments(ctx)
            .pay_order(viewer(ctx), &order_id, &payment_token, &idempotency_key)
            .await?;
        Ok(PaymentObject(payment))
    }

    /// For the orders service (service credential): refunds the order's SUCCEEDED
    /// payment. Idempotent.
    // SERVICE_UNAVAILABLE while the refund's outcome is unknown: the refund is
    // recorded (REFUNDING) before the provider is called and carried through
    // even if the caller gives up; asking again answers its outcome.
    #[graphql(inaccessible)]
    async fn refund_order_payment(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
    ) -> async_graphql::Result<RefundResult> {
        service_caller(ctx).require()?;
        let refunded = payments(ctx).refund_order_payment(&order_id).await?;
        Ok(RefundResult { refunded })
    }
}

/// Loads payments by id in batches, one `find_payments` per batch.
pub struct PaymentLoader(SharedRepository);

impl Loader<String> for PaymentLoader {
    type Value = domain::Payment;
    type Error = ApiError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, domain::Payment>, ApiError> {
        let found = self.0.find_payments(ids).await.map_err(ApiError::from)?;
        Ok(found.into_iter().map(|p| (p.id.clone(), p)).collect())
    }
}

/// Loads every payment of a batch of orders, one `payments_for_orders` per batch.
pub struct OrderPaymentsLoader(SharedRepository);

impl Loader<String> for OrderPaymentsLoader {
    type Value = Vec<domain::Payment>;
    type Error = ApiError;

    async fn load(
        &self,
        order_ids: &[String],
    ) -> Result<HashMap<String, Vec<domain::Payment>>, ApiError> {
        let found = self
            .0
            .payments_for_orders(order_ids)
            .await
            .map_err(ApiError::from)?;
        let mut by_order: HashMap<String, Vec<domain::Payment>> = HashMap::new();
        for payment in found {
            by_order
                .entry(payment.order_id.clone())
                .or_default()
                .push(payment);
        }
        Ok(by_order)
    }
}
