//! The subscriptions: `orderUpdated(id)` (one order, for its buyer or an
//! ADMIN) and `myOrderUpdates` (every change to the caller's orders).
//!
//! Both listen on the service's [`crate::events::OrderEvents`] and send an
//! order whenever its status or payment changes ([`Watermark::is_news`]).
//! `orderUpdated` subscribes to the events *before* it reads the order for its
//! first event, so a change made between that read and the next event is in
//! the channel and cannot be lost; a change the read already saw is not sent
//! twice. A subscriber that falls behind the channel re-reads from the store
//! what it watches, so it is never left with a stale state.
//!
//! # Layout
//! - [`Subscription`]: the two fields.
//! - `order_updates`, `my_updates`: their event streams.

use std::collections::{HashMap, VecDeque};

use async_graphql::{Context, ID, Subscription as SubscriptionObject};
use futures::Stream;
use futures::stream;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::types::OrderObject;
use super::{orders, viewer};
use crate::domain::{Order, OrderId, PageRequest};
use crate::events::{OrderChange, Watermark};
use crate::flow::Orders;

/// How many of the caller's newest orders `myOrderUpdates` re-reads after
/// falling behind the event channel.
const REREAD_ON_LAG: i32 = 50;

/// The subscriptions.
#[derive(Default)]
pub struct Subscription;

#[SubscriptionObject]
impl Subscription {
    /// The order now, then again whenever its status or payment changes; for
    /// its buyer or an ADMIN. An unknown id is NOT_FOUND, someone else's order
    /// FORBIDDEN, no token UNAUTHENTICATED, a malformed id BAD_USER_INPUT.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn order_updated(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<impl Stream<Item = OrderObject> + use<>> {
        let orders = orders(ctx).clone();
        // Subscribed first: what changes after the read below is in the channel.
        let receiver = orders.events().subscribe();
        let first = orders.get(viewer(ctx), &id).await?;
        Ok(order_updates(orders, first, receiver))
    }

    /// Each of the caller's orders whenever its status or payment changes
    /// (a new order once it is placed), from now on; no first event.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn my_order_updates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = OrderObject> + use<>> {
        let buyer = viewer(ctx).require_user()?.sub.clone();
        let orders = orders(ctx).clone();
        let receiver = orders.events().subscribe();
        Ok(my_updates(orders, buyer, receiver))
    }
}

/// The next change from `receiver` that `wanted`, or what `on_lag` re-reads
/// when the channel dropped events; `None` once the channel is closed.
async fn next_change(
    receiver: &mut Receiver<OrderChange>,
    wanted: impl Fn(&OrderChange) -> bool,
) -> Option<Result<Order, Lagged>> {
    loop {
        match receiver.recv().await {
            Ok(change) if wanted(&change) => match change.order() {
                Ok(order) => return Some(Ok(order)),
                Err(error) => {
                    tracing::warn!(%error, "skipping an order change that does not decode")
                }
            },
            Ok(_) => {}
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "a subscriber fell behind the order events");
                return Some(Err(Lagged));
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

/// The channel dropped events for a slow subscriber.
struct Lagged;

struct OneOrder {
    orders: Orders,
    id: OrderId,
    first: Option<Order>,
    last: Option<Watermark>,
    receiver: Receiver<OrderChange>,
}

fn order_updates(
    orders: Orders,
    first: Order,
    receiver: Receiver<OrderChange>,
) -> impl Stream<Item = OrderObject> {
    let state = OneOrder {
        orders,
        id: first.id.clone(),
        first: Some(first),
        last: None,
        receiver,
    };
    stream::unfold(state, |mut state| async move {
        if let Some(first) = state.first.take() {
            state.last = Watermark::of(&first);
            return Some((OrderObject(first), state));
        }
        loop {
            let id = state.id.clone();
            let order =
                match next_change(&mut state.receiver, |c| c.order_id() == id.as_str()).await? {
                    Ok(order) => order,
                    Err(Lagged) => match state.orders.repository().find_by_id(&state.id).await {
                        Ok(Some(order)) => order,
                        Ok(None) => continue,
                        Err(error) => {
                            tracing::warn!(%error, "cannot re-read an order for its subscriber");
                            continue;
                        }
                    },
                };
            let Some(mark) = Watermark::of(&order) else {
                continue;
            };
            if state.last.as_ref().is_none_or(|last| last.is_news(&mark)) {
                state.last = Some(mark);
                return Some((OrderObject(order), state));
            }
        }
    })
}

struct BuyersOrders {
    orders: Orders,
    buyer: String,
    last: HashMap<OrderId, Watermark>,
    pending: VecDeque<Order>,
    receiver: Receiver<OrderChange>,
}

impl BuyersOrders {
    /// `order` if it is news for this subscriber (remembering it).
    fn news(&mut self, order: Order) -> Option<Order> {
        let mark = Watermark::of(&order)?;
        let fresh = self
            .last
            .get(&order.id)
            .is_none_or(|last| last.is_news(&mark));
        fresh.then(|| {
            self.last.insert(order.id.clone(), mark);
            order
        })
    }

    /// The buyer's newest orders, after falling behind the channel.
    async fn reread(&mut self) {
        let Ok(page) = PageRequest::parse(REREAD_ON_LAG, None) else {
            return;
        };
        match self
            .orders
            .repository()
            .list_by_buyer(&self.buyer, &page)
            .await
        {
            Ok(page) => {
                // Oldest first, as they would have arrived.
                for order in page.orders.into_iter().rev() {
                    if let Some(order) = self.news(order) {
                        self.pending.push_back(order);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot re-read a buyer's orders for their subscriber")
            }
        }
    }
}

fn my_updates(
    orders: Orders,
    buyer: String,
    receiver: Receiver<OrderChange>,
) -> impl Stream<Item = OrderObject> {
    let state = BuyersOrders {
        orders,
        buyer,
        last: HashMap::new(),
        pending: VecDeque::new(),
        receiver,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(order) = state.pending.pop_front() {
                return Some((OrderObject(order), state));
            }
            let buyer = state.buyer.clone();
            match next_change(&mut state.receiver, |c| c.buyer_id() == buyer).await? {
                Ok(order) => {
                    if let Some(order) = state.news(order) {
                        return Some((OrderObject(order), state));
                    }
                }
                Err(Lagged) => state.reread().await,
            }
        }
    })
}
