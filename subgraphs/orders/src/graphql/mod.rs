//! The orders subgraph's GraphQL schema (Federation v2): `Order @key(fields: "id")`,
//! `User.orders`, `order`, `myOrders`, `createOrder`, `cancelOrder`, the shop
//! of [`shop`] (cart, shipping methods, discount codes, checkout), the entity
//! resolvers `find_order_by_id` (batched through a [`DataLoader`], so `_entities`
//! with N orders costs one store query) and `find_user_by_id`, and the internal
//! operations of [`internal`] for payments, and the subscriptions of
//! [`live`] (`orderUpdated`, `myOrderUpdates`).

pub mod internal;
pub mod live;
pub mod shop;
pub mod types;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, MergedObject, Object, Schema};
use storefront_shared::ApiError;
use storefront_shared::auth::{ServiceCaller, Viewer};
use storefront_shared::limits::{self, RequestLimits};

use crate::domain::{Order, OrderId, OrderStatus};
use crate::flow::Orders;
use crate::store::SharedRepository;
use internal::{InternalMutation, InternalQuery};
pub use live::Subscription;
use shop::{ShopMutation, ShopQuery};
use types::{OrderConnection, OrderItemInput, OrderObject, UserRef};

/// The executable orders schema.
pub type OrdersSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema over `orders`, refusing requests beyond `limits`.
pub fn schema(orders: Orders, limits: &RequestLimits) -> OrdersSchema {
    let loader = DataLoader::new(OrderLoader(Arc::clone(orders.repository())), tokio::spawn);
    let builder = Schema::build(
        Query(PublicQuery, ShopQuery, InternalQuery),
        Mutation(PublicMutation, ShopMutation, InternalMutation),
        Subscription,
    )
    .enable_federation()
    // `type Subscription` in `_service { sdl }`, so routers can plan it.
    .enable_subscription_in_federation()
    .data(orders)
    .data(loader);
    limits::apply(builder, limits).finish()
}

pub(crate) fn orders<'a>(ctx: &Context<'a>) -> &'a Orders {
    ctx.data_unchecked::<Orders>()
}

/// The caller, as the HTTP endpoint put it in the request; anonymous when absent.
pub(crate) fn viewer<'a>(ctx: &Context<'a>) -> &'a Viewer {
    static ANONYMOUS: Viewer = Viewer::Anonymous;
    ctx.data_opt::<Viewer>().unwrap_or(&ANONYMOUS)
}

/// Whether the request carried the service credential.
pub(crate) fn service_caller(ctx: &Context<'_>) -> ServiceCaller {
    ctx.data_opt::<ServiceCaller>()
        .copied()
        .unwrap_or(ServiceCaller(false))
}

/// Queries.
#[derive(MergedObject, Default)]
pub struct Query(PublicQuery, ShopQuery, InternalQuery);

/// Mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(PublicMutation, ShopMutation, InternalMutation);

/// The public queries and the entity resolvers.
#[derive(Default)]
pub struct PublicQuery;

#[Object]
impl PublicQuery {
    /// The order with this id, for its buyer or an ADMIN. An unknown id is
    /// NOT_FOUND, a malformed one BAD_USER_INPUT.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<OrderObject>> {
        Ok(Some(OrderObject(orders(ctx).get(viewer(ctx), &id).await?)))
    }

    /// The caller's orders, newest first, only those with `status` when
    /// given. `first` is 1 to 100.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        status: Option<OrderStatus>,
    ) -> async_graphql::Result<OrderConnection> {
        let viewer = viewer(ctx);
        let claims = viewer.require_user()?;
        let page = orders(ctx)
            .list_in(
                viewer,
                &claims.sub,
                first.unwrap_or(20),
                after.as_deref(),
                status,
            )
            .await?;
        Ok(page.into())
    }

    /// Resolves `Order` references for other subgraphs (`_entities`): null for
    /// unknown ids; FORBIDDEN unless the caller is the buyer, an ADMIN or a service.
    #[graphql(entity)]
    async fn find_order_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<OrderObject>> {
        let Ok(id) = OrderId::parse(&id) else {
            return Ok(None);
        };
        let loader = ctx.data_unchecked::<DataLoader<OrderLoader>>();
        let order = loader
            .load_one(id)
            .await
            .map_err(async_graphql::Error::from)?;
        let Some(order) = order.filter(|order| order.state.public().is_some()) else {
            return Ok(None);
        };
        if !service_caller(ctx).0 {
            viewer(ctx).require_owner_or_admin(
                &order.buyer_id,
                "only the buyer or an ADMIN may see this order",
            )?;
        }
        Ok(Some(OrderObject(order)))
    }

    /// Resolves `User` references so that other subgraphs can ask for `User.orders`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> UserRef {
        UserRef { id }
    }
}

/// The public mutations.
#[derive(Default)]
pub struct PublicMutation;

#[Object]
impl PublicMutation {
    /// Places an order for the caller and reserves its stock; it waits for payment
    /// until it expires. Unit prices are the products' prices now.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        items: Vec<OrderItemInput>,
    ) -> async_graphql::Result<OrderObject> {
        let lines = items
            .iter()
            .map(|item| (item.sku.as_str(), i64::from(item.quantity)));
        Ok(OrderObject(orders(ctx).create(viewer(ctx), lines).await?))
    }

    /// Cancels an order (its buyer or an ADMIN) and releases its stock; a paid
    /// order is refunded first. Cancelling a cancelled order is INVALID_STATE.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn cancel_order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<OrderObject> {
        Ok(OrderObject(orders(ctx).cancel(viewer(ctx), &id).await?))
    }
}

/// Loads orders by id in batches, one `find_by_ids` per batch.
pub struct OrderLoader(SharedRepository);

impl Loader<OrderId> for OrderLoader {
    type Value = Order;
    type Error = ApiError;

    async fn load(&self, ids: &[OrderId]) -> Result<HashMap<OrderId, Order>, ApiError> {
        let orders = self.0.find_by_ids(ids).await.map_err(ApiError::from)?;
        Ok(orders.into_iter().map(|o| (o.id.clone(), o)).collect())
    }
}
