//! Refunds are recorded before the provider is asked and carried through
//! without their caller: a caller that goes away (orders' call timing out, a
//! dropped request) or a provider answering after the deadline leaves a
//! REFUNDING payment that a detached task or the sweeper finishes with the
//! same idempotency key, so the money goes back exactly once and payments
//! says so.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use storefront_payments::clients::OrdersClient;
use storefront_payments::domain::{PaymentState, now_ms, refund_key};
use storefront_payments::flow::{Payments, Timing};
use storefront_payments::provider::{
    ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, RefundOutcome, RefundRequest,
    SandboxProvider,
};
use storefront_payments::store::{EmbeddedPaymentRepository, SharedRepository};
use storefront_shared::client::ServiceClient;
use storefront_shared::settings::Secret;
use tokio::sync::Semaphore;

/// The sandbox, whose refunds move the money at once but answer only once
/// the test lets them (or never, past the deadline).
struct HeldRefunds {
    sandbox: SandboxProvider,
    answers: Semaphore,
}

#[async_trait]
impl PaymentProvider for HeldRefunds {
    async fn charge(&self, request: ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        self.sandbox.charge(request).await
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundOutcome, ProviderError> {
        let outcome = self.sandbox.refund(request).await;
        if let Ok(permit) = self.answers.acquire().await {
            permit.forget();
        }
        outcome
    }

    fn accepts_token(&self, token: &str) -> bool {
        self.sandbox.accepts_token(token)
    }

    fn call_deadline(&self) -> Duration {
        Duration::from_secs(1)
    }
}

struct Setup {
    payments: Payments,
    repo: SharedRepository,
    provider: Arc<HeldRefunds>,
    _dir: tempfile::TempDir,
}

/// Payments over an embedded store, with a SUCCEEDED (and notified) payment
/// `pay-1` of `order-1` that the provider really charged.
async fn with_a_charged_payment() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo: SharedRepository =
        Arc::new(EmbeddedPaymentRepository::open(dir.path()).expect("embedded store opens"));
    let provider = Arc::new(HeldRefunds {
        sandbox: SandboxProvider::new(Duration::from_secs(1)),
        answers: Semaphore::new(0),
    });
    let charged = provider
        .charge(ChargeRequest {
            idempotency_key: "pay-1".into(),
            amount: 1500,
            currency: "USD".into(),
            token: "tok_visa".into(),
        })
        .await;
    let Ok(ChargeOutcome::Succeeded { reference }) = charged else {
        panic!("the sandbox charges tok_visa: {charged:?}");
    };
    let mut payment = common::payment("pay-1", "order-1", PaymentState::Succeeded, now_ms());
    payment.provider_reference = Some(reference);
    assert!(repo.insert_payment(&payment).await.expect("inserts"));
    let (orders_url, _orders) = common::fake_orders().await;
    let client = ServiceClient::new(
        "orders",
        orders_url,
        Secret::new(common::SERVICE_TOKEN),
        Duration::from_secs(2),
    )
    .expect("orders client");
    let timing = Timing {
        wait_for_duplicate: Duration::from_secs(3),
        poll_interval: Duration::from_millis(10),
        resume_processing_after: Duration::ZERO,
    };
    let payments = Payments::new(
        Arc::clone(&repo),
        provider.clone(),
        OrdersClient::new(client),
        timing,
    );
    Setup {
        payments,
        repo,
        provider,
        _dir: dir,
    }
}

async fn state_of(setup: &Setup) -> PaymentState {
    setup
        .repo
        .find_payment("pay-1")
        .await
        .expect("the store answers")
        .expect("the payment is stored")
        .state
}

async fn eventually_refunded(setup: &Setup) {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
    while state_of(setup).await != PaymentState::Refunded {
        assert!(
            tokio::time::Instant::now() < give_up,
            "the refund was recorded within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_refund_whose_caller_goes_away_is_recorded_and_finished_without_it() {
    let setup = with_a_charged_payment().await;
    // The caller gives up while the provider has refunded but not answered:
    // its future is dropped, as an HTTP handler is when orders' call times out.
    let cut = tokio::time::timeout(
        Duration::from_millis(200),
        setup.payments.refund_order_payment("order-1"),
    )
    .await;
    assert!(cut.is_err(), "the refund is still waiting for the provider");
    assert_eq!(setup.provider.sandbox.refunds_for(&refund_key("pay-1")), 1);
    assert_eq!(
        state_of(&setup).await,
        PaymentState::Refunding,
        "the refund was recorded before the provider was asked"
    );

    setup.provider.answers.add_permits(1);
    eventually_refunded(&setup).await;
    let again = setup.payments.refund_order_payment("order-1").await;
    assert!(again.expect("answers at once"), "the money is back");
    assert_eq!(
        setup.provider.sandbox.refunds_for(&refund_key("pay-1")),
        1,
        "refunded once"
    );
}

#[tokio::test]
async fn a_refund_past_the_provider_deadline_stays_refunding_until_the_sweeper_finishes_it() {
    let setup = with_a_charged_payment().await;
    let unknown = setup.payments.refund_order_payment("order-1").await;
    assert_eq!(
        unknown.expect_err("no answer in time").code(),
        "SERVICE_UNAVAILABLE"
    );
    assert_eq!(state_of(&setup).await, PaymentState::Refunding);

    // The provider answers again; the sweep asks once more with the same key.
    setup.provider.answers.add_permits(10);
    let report = setup.payments.sweep().await.expect("the sweep runs");
    assert_eq!((report.seen, report.finished), (1, 1), "{report:?}");
    assert_eq!(state_of(&setup).await, PaymentState::Refunded);
    assert_eq!(
        setup.provider.sandbox.refunds_for(&refund_key("pay-1")),
        1,
        "the same refund, not a second one"
    );
    let report = setup.payments.sweep().await.expect("the sweep runs");
    assert_eq!(report.seen, 0, "nothing left to do");
}
