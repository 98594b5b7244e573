//! The payments sweeper: finishes what a crash or an outage left in flight.
//! The binary runs [`spawn_sweeper`] every `sweep_interval`
//! (`SWEEP_INTERVAL`, the loop shared by every service's sweeper); tests call
//! [`Payments::sweep`].
//!
//! | found                                          | done                              |
//! |------------------------------------------------|-----------------------------------|
//! | PROCESSING, lease ended, older than `resume_processing_after` | take over, charge again (same key) |
//! | SUCCEEDED, orders not told                     | markOrderPaid again               |
//! | REFUNDING, lease ended                         | take over, refund again (same key) |
//!
//! # Layout
//! - [`Payments::sweep`]: one pass, as above; [`SweepReport`]: what it did.
//! - [`spawn_sweeper`]: the pass every `sweep_interval`, as a task.

use std::time::Duration;

use storefront_shared::ApiResult;
use tokio::task::JoinHandle;

use crate::domain::{PaymentState, now_ms};
use crate::flow::{Payments, ms};

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Payments looked at.
    pub seen: usize,
    /// Payments orders now knows about (or that were refunded).
    pub finished: usize,
    /// Payments still waiting for the next sweep.
    pub left: usize,
}

impl storefront_shared::sweeper::SweepReport for SweepReport {
    fn is_empty(&self) -> bool {
        self.seen == 0
    }
}

impl Payments {
    /// Finishes what was left in flight: tells orders about SUCCEEDED payments it
    /// has not heard of, resumes PROCESSING payments older than
    /// [`Timing::resume_processing_after`](crate::flow::Timing::resume_processing_after) whose lease has ended, and asks the
    /// provider again (same key) for REFUNDING payments whose lease has ended.
    pub async fn sweep(&self) -> ApiResult<SweepReport> {
        let now = now_ms();
        let before = now - ms(self.timing().resume_processing_after);
        let pending = self
            .repository()
            .payments_needing_attention(before, now)
            .await?;
        let mut report = SweepReport {
            seen: pending.len(),
            ..SweepReport::default()
        };
        for payment in pending {
            let id = payment.id.clone();
            let outcome = match payment.state {
                PaymentState::Processing => match self.take_over(&payment).await {
                    Ok(Some(owned)) => self.charge(owned).await,
                    Ok(None) => Ok(payment),
                    Err(error) => Err(error),
                },
                PaymentState::Refunding => match self.claim_refund(&payment).await {
                    Ok(Some(owned)) => self.call_refund(owned).await,
                    Ok(None) => Ok(payment),
                    Err(error) => Err(error),
                },
                _ => self.notify_orders(payment).await,
            };
            match outcome {
                Ok(done) if done.state.is_final() => report.finished += 1,
                Ok(done) if done.state == PaymentState::Succeeded && done.order_notified => {
                    report.finished += 1;
                }
                Ok(_) => report.left += 1,
                Err(error) => {
                    tracing::warn!(payment = %id, error = %error.message(), "sweep could not finish a payment");
                    report.left += 1;
                }
            }
        }
        Ok(report)
    }
}

/// Runs [`Payments::sweep`] now and then every `interval`, logging what it did.
pub fn spawn_sweeper(payments: Payments, interval: Duration) -> JoinHandle<()> {
    storefront_shared::sweeper::spawn_sweeper(interval, "payments", move || {
        let payments = payments.clone();
        async move { payments.sweep().await }
    })
}
