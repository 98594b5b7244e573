//! The subscription `stockChanged(skus)`: public, an event (the product)
//! whenever the available stock of one of the listed products changes.
//!
//! It reads the watched products' stock when it starts (its baseline; no
//! first event) and, on every [`StockChange`] that concerns them, re-reads
//! them and sends each one whose available stock differs from what it last
//! saw. It subscribes to the events before it reads the baseline, so no
//! change after the subscription started is lost; a subscriber that falls
//! behind the event channel re-reads every watched product.
//!
//! # Layout
//! - [`Subscription`], [`MAX_WATCHED_SKUS`].
//! - `Watch`: the stream's state.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_graphql::{Context, ID, Subscription as SubscriptionObject};
use futures::Stream;
use futures::stream;
use storefront_shared::{ApiError, ApiResult};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use super::resolve;
use super::types::ProductObject;
use crate::domain::{Product, Sku};
use crate::events::{StockChange, StockEvents};
use crate::store::ProductRepository;

/// The most skus one `stockChanged` subscription may watch.
pub const MAX_WATCHED_SKUS: usize = 100;

/// The subscriptions.
#[derive(Default)]
pub struct Subscription;

#[SubscriptionObject]
impl Subscription {
    /// The product, whenever the available stock (`stock`, `inStock`) of one
    /// of `skus` changes, from now on (read the current stock with `product`).
    /// 1 to 100 skus; an unknown sku is NOT_FOUND, a malformed one BAD_USER_INPUT.
    async fn stock_changed(
        &self,
        ctx: &Context<'_>,
        skus: Vec<ID>,
    ) -> async_graphql::Result<impl Stream<Item = ProductObject> + use<>> {
        let skus = resolve(async { watched(&skus) }).await?;
        let products = Arc::clone(ctx.data_unchecked::<Arc<dyn ProductRepository>>());
        // Subscribed first: what changes after the baseline read is in the channel.
        let receiver = ctx.data_unchecked::<StockEvents>().subscribe();
        let baseline = resolve(async {
            let found = products.get_many(&skus).await?;
            let unknown: Vec<&str> = skus
                .iter()
                .filter(|sku| !found.iter().any(|p| &p.sku == *sku))
                .map(Sku::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(ApiError::NotFound(format!(
                    "there is no product with sku {}",
                    unknown.join(", ")
                )));
            }
            Ok(found)
        })
        .await?;
        let watch = Watch {
            last: baseline
                .into_iter()
                .map(|product| (product.sku.clone(), product.available))
                .collect(),
            skus,
            products,
            receiver,
            pending: VecDeque::new(),
        };
        Ok(watch.into_stream())
    }
}

/// The skus to watch: 1 to [`MAX_WATCHED_SKUS`] valid ones, repeats merged.
fn watched(raw: &[ID]) -> ApiResult<Vec<Sku>> {
    if raw.is_empty() || raw.len() > MAX_WATCHED_SKUS {
        return Err(ApiError::BadUserInput(format!(
            "stockChanged watches 1 to {MAX_WATCHED_SKUS} skus; {} were given",
            raw.len()
        )));
    }
    let mut skus: Vec<Sku> = raw
        .iter()
        .map(|sku| Sku::parse(sku))
        .collect::<ApiResult<_>>()?;
    skus.sort();
    skus.dedup();
    Ok(skus)
}

struct Watch {
    skus: Vec<Sku>,
    products: Arc<dyn ProductRepository>,
    receiver: Receiver<StockChange>,
    /// The available stock last seen of every watched product.
    last: HashMap<Sku, i64>,
    pending: VecDeque<Product>,
}

impl Watch {
    fn into_stream(self) -> impl Stream<Item = ProductObject> {
        stream::unfold(self, |mut watch| async move {
            loop {
                if let Some(product) = watch.pending.pop_front() {
                    return Some((ProductObject(product), watch));
                }
                let concerned: Vec<Sku> = match watch.receiver.recv().await {
                    Ok(change) => watch
                        .skus
                        .iter()
                        .filter(|sku| change.concerns(sku))
                        .cloned()
                        .collect(),
                    Err(RecvError::Lagged(_)) => watch.skus.clone(),
                    Err(RecvError::Closed) => return None,
                };
                if !concerned.is_empty() {
                    watch.reread(&concerned).await;
                }
            }
        })
    }

    /// Queues every product among `skus` whose available stock moved.
    async fn reread(&mut self, skus: &[Sku]) {
        match self.products.get_many(skus).await {
            Ok(mut products) => {
                products.sort_by(|a, b| a.sku.cmp(&b.sku));
                for product in products {
                    if self.last.get(&product.sku) != Some(&product.available) {
                        self.last.insert(product.sku.clone(), product.available);
                        self.pending.push_back(product);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot re-read watched products for a stock subscriber");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watched_skus_are_bounded_valid_and_merged() {
        let ids = |skus: &[&str]| skus.iter().map(|s| ID((*s).to_owned())).collect::<Vec<_>>();
        assert_eq!(
            watched(&ids(&["MUG", "MUG", "CAP"])).expect("valid").len(),
            2
        );
        assert_eq!(watched(&[]).expect_err("empty").code(), "BAD_USER_INPUT");
        let too_many: Vec<String> = (0..=MAX_WATCHED_SKUS).map(|n| format!("S{n}")).collect();
        let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
        assert_eq!(
            watched(&ids(&too_many)).expect_err("too many").code(),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            watched(&ids(&["no spaces"])).expect_err("bad").code(),
            "BAD_USER_INPUT"
        );
    }
}
