//! The sweeper: finishes what a crash or an outage left half done, and expires
//! unpaid orders. The binary runs [`spawn_sweeper`] every `sweep_interval`;
//! tests call [`sweep_once`].
//!
//! | found                              | done                                   |
//! |------------------------------------|----------------------------------------|
//! | CREATING older than `creating_timeout` | → ABORTING, releaseStock, → FAILED |
//! | ABORTING                           | releaseStock, → FAILED                 |
//! | REFUNDING                          | refundOrderPayment again (idempotent); money back → CANCELLING, releaseStock, → CANCELLED; else stays REFUNDING |
//! | CANCELLING                         | releaseStock, → CANCELLED              |
//! | PAID, stock not committed          | commitStock, stock_committed = true    |
//! | PENDING_PAYMENT past `expires_at`  | → CANCELLING, releaseStock, → CANCELLED |
//!
//! Every step is idempotent at the callee, so a sweep racing a request (or
//! another replica's sweep) does no harm: the compare-and-set decides who
//! moves the order on. No order is ever settled from a status whose outcome is
//! unknown: a REFUNDING order (a stored cancel intent) is only carried forward,
//! by asking payments for the same refund again until payments confirms that
//! the money is back (see `Orders::finish_refund` in `orders/cancel.rs`); it is
//! never put back to PAID, since a refund whose answer was lost may have
//! reached the provider.

use std::time::Duration;

use storefront_shared::ApiResult;

use crate::domain::{OrderState, Unfinished, now_ms};
use crate::orders::Orders;

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
}

impl SweepReport {
    /// Whether the sweep changed anything.
    pub fn is_empty(&self) -> bool {
        *self == SweepReport::default()
    }
}

/// One pass over every kind of unfinished order.
pub async fn sweep_once(orders: &Orders) -> ApiResult<SweepReport> {
    let repo = orders.repository();
    let mut report = SweepReport::default();
    let now = now_ms();
    let timeout = i64::try_from(orders.policy().creating_timeout.as_millis()).unwrap_or(i64::MAX);

    let stale = Unfinished::CreatingSince(now.saturating_sub(timeout));
    for order in repo.find_unfinished(stale, BATCH).await? {
        if orders.abort(&order.id, OrderState::Creating).await {
            report.failed += 1;
        }
    }
    for order in repo.find_unfinished(Unfinished::Aborting, BATCH).await? {
        if orders.abort(&order.id, OrderState::Aborting).await {
            report.failed += 1;
        }
    }
    for order in repo.find_unfinished(Unfinished::Refunding, BATCH).await? {
        // Asking payments again while a cancel's own refund is in flight is
        // harmless: it is the same refund, and payments waits for it.
        let id = order.id.clone();
        match orders.finish_refund(order).await {
            Ok(OrderState::Cancelled) => report.cancelled += 1,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(order_id = %id, error = ?error, "cannot settle an unfinished cancel yet; the next sweep will retry");
            }
        }
    }
    for order in repo.find_unfinished(Unfinished::Cancelling, BATCH).await? {
        if orders.finish_cancel(order).await.state == OrderState::Cancelled {
            report.cancelled += 1;
        }
    }
    for order in repo
        .find_unfinished(Unfinished::UncommittedPaid, BATCH)
        .await?
    {
        if orders.commit_sale(order).await.stock_committed {
            report.committed += 1;
        }
    }
    for order in repo
        .find_unfinished(Unfinished::ExpiredAt(now), BATCH)
        .await?
    {
        if orders.expire(&order).await? {
            report.expired += 1;
        }
    }
    Ok(report)
}

/// Runs [`sweep_once`] now and then every `interval`, logging what it did.
pub fn spawn_sweeper(orders: Orders, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep_once(&orders).await {
                Ok(report) if report.is_empty() => tracing::debug!("order sweep: nothing to do"),
                Ok(report) => tracing::info!(?report, "order sweep finished orders"),
                Err(error) => {
                    tracing::warn!(error = ?error, "order sweep failed; retrying later");
                }
            }
        }
    })
}
