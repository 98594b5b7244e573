//! The payment provider the [`Shop`](super::Shop)'s payments service calls:
//! the sandbox, behind a wrapper that can answer late.
//!
//! ```text
//! payments ─▶ SlowProvider ─▶ SandboxProvider (moves the money at once, keeps the ledger)
//!               └ charges/refunds slowed: the answer comes back only after the delay
//! ```
//!
//! A slowed call has done its work before it waits (the money moved): past
//! payments' provider deadline it is exactly a provider whose answer is lost.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use storefront_payments::provider::{
    ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, RefundOutcome, RefundRequest,
    SandboxProvider,
};

use super::locked;

/// The sandbox, with answers that can be slowed.
pub struct SlowProvider {
    sandbox: Arc<SandboxProvider>,
    charge_delay: Mutex<Option<Duration>>,
    refund_delay: Mutex<Option<Duration>>,
    in_flight: Arc<AtomicUsize>,
}

/// Counts a provider call as in flight until dropped (also when payments gives up on it).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SlowProvider {
    /// `sandbox`, answering at once until told otherwise.
    pub fn new(sandbox: Arc<SandboxProvider>) -> Self {
        SlowProvider {
            sandbox,
            charge_delay: Mutex::new(None),
            refund_delay: Mutex::new(None),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Charges answer `delay` after the money moved (`None`: at once).
    pub fn slow_charges(&self, delay: Option<Duration>) {
        *locked(&self.charge_delay) = delay;
    }

    /// Refunds answer `delay` after the money went back (`None`: at once).
    pub fn slow_refunds(&self, delay: Option<Duration>) {
        *locked(&self.refund_delay) = delay;
    }

    /// How many calls are being answered right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PaymentProvider for SlowProvider {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        let _in_flight = InFlight::start(&self.in_flight);
        let delay = *locked(&self.charge_delay);
        let outcome = self.sandbox.charge(request).await;
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        outcome
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, ProviderError> {
        let _in_flight = InFlight::start(&self.in_flight);
        let delay = *locked(&self.refund_delay);
        let outcome = self.sandbox.refund(request).await;
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        outcome
    }

    fn accepts_token(&self, token: &str) -> bool {
        self.sandbox.accepts_token(token)
    }

    fn call_deadline(&self) -> Duration {
        self.sandbox.call_deadline()
    }
}
