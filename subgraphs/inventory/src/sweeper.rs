//! The inventory sweeper: finishes or compensates the reservations a crash
//! left in a transitional state ([`StockRepository::sweep`]). The binary runs
//! [`spawn_sweeper`] every `sweep_interval` (`SWEEP_INTERVAL`, the loop shared
//! by every service's sweeper); tests call `sweep` on the store.
//!
//! # Layout
//! - [`spawn_sweeper`]: the store's sweep every `sweep_interval`, as a task.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::store::StockRepository;

/// Runs [`StockRepository::sweep`] now and then every `interval`, logging what
/// it did (how many reservations it touched).
pub fn spawn_sweeper(stock: Arc<dyn StockRepository>, interval: Duration) -> JoinHandle<()> {
    storefront_shared::sweeper::spawn_sweeper(interval, "inventory", move || {
        let stock = Arc::clone(&stock);
        async move { stock.sweep().await }
    })
}
