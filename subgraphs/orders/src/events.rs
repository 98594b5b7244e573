//! Changes of orders, as the subscriptions (`orderUpdated`, `myOrderUpdates`)
//! receive them.
//!
//! Every change an operation makes to a visible order is published after its
//! compare-and-set (`Orders::record`), carrying the whole order as stored
//! after the change, so a subscriber needs no store read per event. With
//! MongoDB the events travel between replicas through the `events`
//! collection (`storefront_shared::events`); with the embedded store, which
//! one process owns, through an in-process channel.
//!
//! # Layout
//! - [`OrderChange`]: one change; [`OrderEvents`]: where they are published.
//! - [`Watermark`]: what a subscriber last sent for one order, to send only
//!   news (a change of status or payment) and never go back in time.

use serde::{Deserialize, Serialize};
use storefront_shared::events::{EventBus, OutboxSettings};

use crate::domain::{Order, OrderState, OrderStatus};
use crate::store::{OrderRecord, RepoError};

/// Where changes of orders are published and subscribed to.
pub type OrderEvents = EventBus<OrderChange>;

/// The outbox of a MongoDB store: the `events` collection of `db`.
pub async fn outbox(
    db: &mongodb::Database,
    settings: OutboxSettings,
) -> mongodb::error::Result<OrderEvents> {
    OrderEvents::outbox(
        db.collection(storefront_shared::events::EVENTS_COLLECTION),
        settings,
    )
    .await
}

/// An order as it is after one change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderChange(OrderRecord);

impl OrderChange {
    /// The change that left `order` as it is.
    pub fn of(order: &Order) -> Self {
        OrderChange(OrderRecord::from(order))
    }

    /// The id of the order that changed.
    pub fn order_id(&self) -> &str {
        &self.0.id
    }

    /// The buyer of the order that changed.
    pub fn buyer_id(&self) -> &str {
        &self.0.buyer_id
    }

    /// The order after the change.
    pub fn order(&self) -> Result<Order, RepoError> {
        Order::try_from(self.0.clone())
    }
}

/// What a subscriber last sent for one order: it sends an order again only
/// when its status or payment changed, and never an older version of it
/// (events from two replicas may arrive out of order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    updated_at_ms: i64,
    status: OrderStatus,
    payment_id: Option<String>,
    refunding: bool,
}

impl Watermark {
    /// The watermark of `order`, `None` when clients cannot see it.
    pub fn of(order: &Order) -> Option<Self> {
        Some(Watermark {
            updated_at_ms: order.updated_at_ms,
            status: order.state.public()?,
            payment_id: order.payment_id.clone(),
            refunding: order.state == OrderState::Refunding,
        })
    }

    /// Whether `next` is news after `self`: a newer (or as new) version of
    /// the order with another status, payment or refund.
    pub fn is_news(&self, next: &Watermark) -> bool {
        next.updated_at_ms >= self.updated_at_ms
            && (next.status, &next.payment_id, next.refunding)
                != (self.status, &self.payment_id, self.refunding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(at: i64, status: OrderStatus, payment: Option<&str>) -> Watermark {
        Watermark {
            updated_at_ms: at,
            status,
            payment_id: payment.map(str::to_owned),
            refunding: false,
        }
    }

    #[test]
    fn a_new_status_or_payment_is_news_but_not_an_older_version() {
        let pending = mark(10, OrderStatus::PendingPayment, None);
        let paid = mark(20, OrderStatus::Paid, Some("p1"));
        assert!(pending.is_news(&paid));
        assert!(!paid.is_news(&pending), "older versions are never sent");
        assert!(
            !paid.is_news(&mark(30, OrderStatus::Paid, Some("p1"))),
            "same status and payment"
        );
        assert!(paid.is_news(&Watermark {
            refunding: true,
            ..mark(30, OrderStatus::Paid, Some("p1"))
        }));
    }
}
