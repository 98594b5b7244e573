//! The sweeper: finishes what a crash or an outage left half done, and expires
//! unpaid orders. The binary runs [`spawn_sweeper`] every `sweep_interval`
//! (`SWEEP_INTERVAL`, the loop shared by every service's sweeper); tests call
//! [`Orders::sweep`].
//!
//! # Layout
//! - [`Orders::sweep`]: one pass, as below; [`SweepReport`]: what it did.
//! - [`spawn_sweeper`]: the pass every `sweep_interval`, as a task.
//!
//! | found                              | done                                   |
//! |------------------------------------|----------------------------------------|
//! | CREATING older than `creating_timeout` | → ABORTING, releaseStock, give back its discount use, → FAILED |
//! | ABORTING                           | releaseStock, give back its discount use, → FAILED |
//! | REFUNDING                          | refundOrderPayment again (idempotent); money back → CANCELLING, releaseStock, → CANCELLED; else stays REFUNDING |
//! | CANCELLING                         | releaseStock, → CANCELLED              |
//! | PAID, stock not committed          | commitStock, stock_committed = true    |
//! | PENDING_PAYMENT past `expires_at`  | → CANCELLING, releaseStock, → CANCELLED |
//! | anonymous cart unchanged for `cart_ttl` | deleted                       |
//!
//! Every step is idempotent at the callee, so a sweep racing a request (or
//! another replica's sweep) does no harm: the compare-and-set decides who
//! moves the order on. No order is ever settled from a status whose outcome is
//! unknown: a REFUNDING order (a stored cancel intent) is only carried forward,
//! by asking payments for the same refund again until payments confirms that
//! the money is back (see `Orders::finish_refund` in `flow/cancel.rs`); it is
//! never put back to PAID, since a refund whose answer was lost may have
//! reached the provider.

use std::time::Duration;

use storefront_shared::ApiResult;

use crate::domain::{OrderState, Unfinished, now_ms};
use crate::flow::Orders;

/// The most orders of each kind one sweep handles.
pub const BATCH: usize = 100;

/// What one sweep finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Abandoned or aborted creations whose stock was released (now FAILED).
    pub failed: usize,
    /// Cancellations whose stock was released (now CANCELLED).
    pub cancelled: usize,
    /// Paid orders whose sale was recorded at inventory.
    pub committed: usize,
    /// Unpaid orders that expired.
    pub expired: usize,
    /// Anonymous carts deleted after `cart_ttl` without a change.
    pub carts_deleted: usize,
}

impl SweepReport {
    /// Whether the sweep changed anything.
    pub fn is_empty(&self) -> bool {
        *self == SweepReport::default()
    }
}

impl storefront_shared::sweeper::SweepReport for SweepReport {
    fn is_empty(&self) -> bool {
        SweepReport::is_empty(self)
    }
}

impl Orders {
    /// One pass over every kind of unfinished order.
    pub async fn sweep(&self) -> ApiResult<SweepReport> {
        let repo = self.repository();
        let mut report = SweepReport::default();
        let now = now_ms();
        let timeout = i64::try_from(self.policy().creating_timeout.as_millis()).unwrap_or(i64::MAX);

        let stale = Unfinished::CreatingSince(now.saturating_sub(timeout));
        for order in repo.find_unfinished(stale, BATCH).await? {
            if self.abort(&order.id, OrderState::Creating).await {
                report.failed += 1;
            }
        }
        for order in repo.find_unfinished(Unfinished::Aborting, BATCH).await? {
            if self.abort(&order.id, OrderState::Aborting).await {
                report.failed += 1;
            }
        }
        for order in repo.find_unfinished(Unfinished::Refunding, BATCH).await? {
            // Asking payments again while a cancel's own refund is in flight is
            // harmless: it is the same refund, and payments waits for it.
            let id = order.id.clone();
            match self.finish_refund(order).await {
                Ok(OrderState::Cancelled) => report.cancelled += 1,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(order_id = %id, error = ?error, "cannot settle an unfinished cancel yet; the next sweep will retry");
                }
            }
        }
        for order in repo.find_unfinished(Unfinished::Cancelling, BATCH).await? {
            if self.finish_cancel(order).await.state == OrderState::Cancelled {
                report.cancelled += 1;
            }
        }
        for order in repo
            .find_unfinished(Unfinished::UncommittedPaid, BATCH)
            .await?
        {
            if self.commit_sale(order).await.stock_committed {
                report.committed += 1;
            }
        }
        for order in repo
            .find_unfinished(Unfinished::ExpiredAt(now), BATCH)
            .await?
        {
            if self.expire(&order).await? {
                report.expired += 1;
            }
        }
        let cart_ttl = i64::try_from(self.policy().cart_ttl.as_millis()).unwrap_or(i64::MAX);
        report.carts_deleted = repo
            .delete_stale_carts(now.saturating_sub(cart_ttl), BATCH)
            .await?;
        Ok(report)
    }
}

/// Runs [`Orders::sweep`] now and then every `interval`, logging what it did.
pub fn spawn_sweeper(orders: Orders, interval: Duration) -> tokio::task::JoinHandle<()> {
    storefront_shared::sweeper::spawn_sweeper(interval, "orders", move || {
        let orders = orders.clone();
        async move { orders.sweep().await }
    })
}
