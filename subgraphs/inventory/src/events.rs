//! Changes of stock, as the `stockChanged` subscription receives them.
//!
//! A [`StockChange`] names the skus whose available stock may have changed
//! (none: any product may have, after a sweep). It is published after the
//! store's write by [`Watched`] (reserve, release, sweep) and by the ADMIN
//! mutations (`createProduct`, `restock`); a subscriber re-reads the products
//! it watches and sends those whose available stock differs from what it sent
//! last, so a change published twice, late or out of order is sent once and
//! never goes back in time. With MongoDB the events travel between replicas
//! through the `events` collection (`storefront_shared::events`); with the
//! embedded store, which one process owns, through an in-process channel.
//!
//! # Layout
//! - [`StockChange`], [`StockEvents`], [`outbox`].
//! - [`Watched`]: a [`StockRepository`] that publishes what its operations touched.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use storefront_shared::events::{EventBus, OutboxSettings};

use crate::domain::{OrderId, Reservation, Sku, StockRequest};
use crate::store::{StockRepository, StoreResult};

/// Where changes of stock are published and subscribed to.
pub type StockEvents = EventBus<StockChange>;

/// The outbox of a MongoDB store: the `events` collection of `db`.
pub async fn outbox(
    db: &mongodb::Database,
    settings: OutboxSettings,
) -> mongodb::error::Result<StockEvents> {
    StockEvents::outbox(
        db.collection(storefront_shared::events::EVENTS_COLLECTION),
        settings,
    )
    .await
}

/// The products whose available stock may have changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChange {
    /// Their skus; empty when any product may have changed.
    pub skus: Vec<String>,
}

impl StockChange {
    /// A change of these products.
    pub fn of<'a>(skus: impl IntoIterator<Item = &'a Sku>) -> Self {
        StockChange {
            skus: skus
                .into_iter()
                .map(|sku| sku.as_str().to_owned())
                .collect(),
        }
    }

    /// A change of any product.
    pub fn any() -> Self {
        StockChange { skus: Vec::new() }
    }

    /// Whether this change may concern `sku`.
    pub fn concerns(&self, sku: &Sku) -> bool {
        self.skus.is_empty() || self.skus.iter().any(|s| s == sku.as_str())
    }
}

/// A [`StockRepository`] that publishes a [`StockChange`] after every
/// operation that can move available stock.
pub struct Watched {
    inner: Arc<dyn StockRepository>,
    events: StockEvents,
}

impl Watched {
    /// `inner`, publishing to `events`.
    pub fn new(inner: Arc<dyn StockRepository>, events: StockEvents) -> Arc<Self> {
        Arc::new(Watched { inner, events })
    }

    async fn touched(&self, reservation: &Reservation) {
        if !reservation.lines.is_empty() {
            let change = StockChange::of(reservation.lines.iter().map(|line| &line.sku));
            self.events.publish(change).await;
        }
    }
}

#[async_trait]
impl StockRepository for Watched {
    async fn reserve(
        &self,
        order_id: &OrderId,
        request: &StockRequest,
    ) -> StoreResult<Reservation> {
        let reservation = self.inner.reserve(order_id, request).await?;
        self.touched(&reservation).await;
        Ok(reservation)
    }

    async fn release(&self, order_id: &OrderId) -> StoreResult<Reservation> {
        let reservation = self.inner.release(order_id).await?;
        self.touched(&reservation).await;
        Ok(reservation)
    }

    /// A sale moves held units to sold ones: available stock stays as it is.
    async fn commit(&self, order_id: &OrderId) -> StoreResult<Reservation> {
        self.inner.commit(order_id).await
    }

    async fn reservation(&self, order_id: &OrderId) -> StoreResult<Option<Reservation>> {
        self.inner.reservation(order_id).await
    }

    async fn sweep(&self) -> StoreResult<usize> {
        let touched = self.inner.sweep().await?;
        if touched > 0 {
            self.events.publish(StockChange::any()).await;
        }
        Ok(touched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_concerns_its_skus_and_an_unspecific_one_every_sku() {
        let mug = Sku::parse("MUG").expect("valid");
        let cap = Sku::parse("CAP").expect("valid");
        let change = StockChange::of([&mug]);
        assert!(change.concerns(&mug));
        assert!(!change.concerns(&cap));
        assert!(StockChange::any().concerns(&cap));
    }
}
