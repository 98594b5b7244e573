//! Slow answers at every step that crosses a service boundary: a request that
//! reaches its service only after the caller gave up (`Fault::Slow`: the work
//! lands late, maybe after the caller compensated), an answer that comes back
//! after the caller's timeout although the work is done (`Fault::SlowAnswer`),
//! and a payment provider that answers after payments' deadline. A caller that
//! times out drops its request, so the callee's handler may be dropped half
//! way too: that is what these tests provoke.
//!
//! Each step runs the same client session through the slowed step (pay one
//! order, pay and cancel another, cancel an unpaid one; errors are expected
//! and ignored), then the fault clears, the slowed work lands, the sweepers
//! run until the invariants hold (bounded), and the client retries what it was
//! told had failed: in the end the first order is PAID and charged once, the
//! others CANCELLED with their money back, the stock adds up and the
//! provider kept exactly the paid order's total.

use std::time::Duration;

use storefront_e2e::error_code;
use storefront_e2e::eventually;
use storefront_e2e::proxy::Fault;
use storefront_e2e::shop::{Buyer, Shop, ShopOptions, Store};

use super::{SKU, STOCK, shop_with};

/// How long the services wait for each other in these tests.
const CALL_TIMEOUT: Duration = Duration::from_millis(300);
/// Past the callers' timeout.
const SLOW: Duration = Duration::from_millis(700);
/// How long payments waits for the provider in these tests.
const PROVIDER_DEADLINE: Duration = Duration::from_secs(1);
/// Past payments' provider deadline.
const SLOW_PROVIDER: Duration = Duration::from_millis(1500);
/// How long recovery may take at most.
const RECOVERY: Duration = Duration::from_secs(15);

/// Where the slow answers are injected.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// orders → inventory, requests naming this operation.
    OrdersToInventory(&'static str, Fault),
    /// payments → orders, requests naming this operation.
    PaymentsToOrders(&'static str, Fault),
    /// orders → payments, requests naming this operation.
    OrdersToPayments(&'static str, Fault),
    /// payments → provider: charges answer after payments' deadline.
    ProviderCharges,
    /// payments → provider: refunds answer after payments' deadline.
    ProviderRefunds,
    /// Every service-to-service answer late, and the provider's too.
    Everywhere,
}

impl Step {
    fn inject(self, shop: &Shop) {
        match self {
            Step::OrdersToInventory(operation, fault) => {
                shop.orders_to_inventory.set_for(operation, fault);
            }
            Step::PaymentsToOrders(operation, fault) => {
                shop.payments_to_orders.set_for(operation, fault);
            }
            Step::OrdersToPayments(operation, fault) => {
                shop.orders_to_payments.set_for(operation, fault);
            }
            Step::ProviderCharges => shop.provider().slow_charges(Some(SLOW_PROVIDER)),
            Step::ProviderRefunds => shop.provider().slow_refunds(Some(SLOW_PROVIDER)),
            Step::Everywhere => {
                shop.orders_to_inventory.set(Fault::SlowAnswer(SLOW));
                shop.payments_to_orders.set(Fault::SlowAnswer(SLOW));
                shop.orders_to_payments.set(Fault::SlowAnswer(SLOW));
                shop.provider().slow_charges(Some(SLOW_PROVIDER));
                shop.provider().slow_refunds(Some(SLOW_PROVIDER));
            }
        }
    }

    fn injected(self, shop: &Shop) -> usize {
        match self {
            Step::OrdersToInventory(..) => shop.orders_to_inventory.injected(),
            Step::PaymentsToOrders(..) => shop.payments_to_orders.injected(),
            Step::OrdersToPayments(..) => shop.orders_to_payments.injected(),
            // The provider's slowness is not counted; the outcome checks cover it.
            Step::ProviderCharges | Step::ProviderRefunds => 1,
            Step::Everywhere => {
                shop.orders_to_inventory.injected()
                    + shop.payments_to_orders.injected()
                    + shop.orders_to_payments.injected()
            }
        }
    }
}

fn clear(shop: &Shop) {
    shop.orders_to_inventory.pass();
    shop.payments_to_orders.pass();
    shop.orders_to_payments.pass();
    shop.provider().slow_charges(None);
    shop.provider().slow_refunds(None);
}

/// The orders of the client session (`None`: its creation failed).
struct Session {
    paid: Option<String>,
    refunded: Option<String>,
    unpaid: Option<String>,
}

fn created(answer: &serde_json::Value) -> Option<String> {
    answer["data"]["createOrder"]["id"]
        .as_str()
        .map(str::to_owned)
}

/// Pays one order, pays and cancels another, cancels a third unpaid one;
/// whatever the answers.
async fn session(shop: &Shop, ada: &Buyer) -> Session {
    let paid = created(&shop.create_order(ada, &[(SKU, 2)]).await);
    if let Some(id) = &paid {
        shop.pay(ada, id, "tok_visa", "key-paid").await;
    }
    let refunded = created(&shop.create_order(ada, &[(SKU, 1)]).await);
    if let Some(id) = &refunded {
        shop.pay(ada, id, "tok_visa", "key-refunded").await;
        shop.cancel(ada, id).await;
    }
    let unpaid = created(&shop.create_order(ada, &[(SKU, 1)]).await);
    if let Some(id) = &unpaid {
        shop.cancel(ada, id).await;
    }
    Session {
        paid,
        refunded,
        unpaid,
    }
}

/// Cancels until the order is cancelled (a retry of a cancelled order is INVALID_STATE).
async fn cancel_until_cancelled(shop: &Shop, ada: &Buyer, id: &str) {
    eventually("the cancel goes through", RECOVERY, || async {
        let answer = shop.cancel(ada, id).await;
        answer["data"]["cancelOrder"]["status"] == "CANCELLED"
            || answer["errors"][0]["extensions"]["code"] == "INVALID_STATE"
    })
    .await;
    assert_eq!(shop.order_status(ada, id).await, "CANCELLED");
}

/// What the client does once the fault is gone: retries what it was told failed.
async fn retry(shop: &Shop, ada: &Buyer, session: &Session) {
    let paid = match &session.paid {
        Some(id) => id.clone(),
        None => shop.place_order(ada, &[(SKU, 2)]).await,
    };
    eventually("the payment goes through", RECOVERY, || async {
        shop.pay(ada, &paid, "tok_visa", "key-paid").await["data"]["payOrder"]["status"]
            == "SUCCEEDED"
    })
    .await;
    assert_eq!(shop.order_status(ada, &paid).await, "PAID");
    assert_eq!(shop.charges_for_order(&paid).await, 1, "charged once");
    for id in [&session.refunded, &session.unpaid].into_iter().flatten() {
        cancel_until_cancelled(shop, ada, id).await;
    }
}

async fn slow_step(store: Store, step: Step) {
    let Some((shop, ada)) = shop_with(store, slow_options()).await else {
        return;
    };
    step.inject(&shop);
    let session = session(&shop, &ada).await;
    assert!(step.injected(&shop) >= 1, "{step:?} was slowed");

    clear(&shop);
    shop.settled(RECOVERY).await;
    shop.sweep_until_consistent(RECOVERY).await;

    retry(&shop, &ada, &session).await;
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(
        shop.stock(SKU).await,
        STOCK - 2,
        "only the paid order's units are sold"
    );
    assert_eq!(
        shop.sandbox().net_takings(),
        2 * 1250,
        "the provider kept the paid order's total"
    );
    if let Some(id) = &session.refunded {
        let payment = shop.payment_status(&ada, id).await;
        assert!(
            payment.is_null() || payment == "REFUNDED" || payment == "DECLINED",
            "the cancelled order's money is back: {payment}"
        );
    }
}

// ── orders → inventory ───────────────────────────────────────────────────────

async fn a_reserve_stock_that_lands_after_the_timeout_holds_nothing(store: Store) {
    slow_step(
        store,
        Step::OrdersToInventory("reserveStock", Fault::Slow(SLOW)),
    )
    .await;
}

async fn a_reserve_stock_answer_after_the_timeout_gives_the_stock_back(store: Store) {
    let step = Step::OrdersToInventory("reserveStock", Fault::SlowAnswer(SLOW));
    slow_step(store, step).await;
}

async fn a_commit_stock_that_lands_after_the_timeout_sells_once(store: Store) {
    slow_step(
        store,
        Step::OrdersToInventory("commitStock", Fault::Slow(SLOW)),
    )
    .await;
}

async fn a_commit_stock_answer_after_the_timeout_sells_once(store: Store) {
    let step = Step::OrdersToInventory("commitStock", Fault::SlowAnswer(SLOW));
    slow_step(store, step).await;
}

async fn a_release_stock_that_lands_after_the_timeout_returns_the_stock_once(store: Store) {
    slow_step(
        store,
        Step::OrdersToInventory("releaseStock", Fault::Slow(SLOW)),
    )
    .await;
}

async fn a_release_stock_answer_after_the_timeout_returns_the_stock_once(store: Store) {
    let step = Step::OrdersToInventory("releaseStock", Fault::SlowAnswer(SLOW));
    slow_step(store, step).await;
}

// ── payments → orders ────────────────────────────────────────────────────────

async fn a_slow_order_for_payment_charges_nothing_until_retried(store: Store) {
    slow_step(
        store,
        Step::PaymentsToOrders("orderForPayment", Fault::Slow(SLOW)),
    )
    .await;
}

async fn a_mark_order_paid_that_lands_after_the_timeout_pays_the_order_once(store: Store) {
    slow_step(
        store,
        Step::PaymentsToOrders("markOrderPaid", Fault::Slow(SLOW)),
    )
    .await;
}

async fn a_mark_order_paid_answer_after_the_timeout_pays_the_order_once(store: Store) {
    let step = Step::PaymentsToOrders("markOrderPaid", Fault::SlowAnswer(SLOW));
    slow_step(store, step).await;
}

// ── orders → payments ────────────────────────────────────────────────────────

async fn a_refund_request_that_lands_after_the_timeout_still_cancels_the_order(store: Store) {
    let step = Step::OrdersToPayments("refundOrderPayment", Fault::Slow(SLOW));
    slow_step(store, step).await;
}

async fn a_refund_answer_after_the_timeout_still_cancels_the_order(store: Store) {
    let step = Step::OrdersToPayments("refundOrderPayment", Fault::SlowAnswer(SLOW));
    slow_step(store, step).await;
}

// ── payments → provider ──────────────────────────────────────────────────────

async fn a_provider_charge_answering_after_the_deadline_is_finished_once(store: Store) {
    slow_step(store, Step::ProviderCharges).await;
}

async fn a_provider_refund_answering_after_the_deadline_is_finished_once(store: Store) {
    slow_step(store, Step::ProviderRefunds).await;
}

async fn every_step_answering_late_at_once_keeps_the_invariants(store: Store) {
    slow_step(store, Step::Everywhere).await;
}

// ── races with a slow charge ────────────────────────────────────────────────

fn slow_options() -> ShopOptions {
    ShopOptions {
        call_timeout: CALL_TIMEOUT,
        provider_timeout: PROVIDER_DEADLINE,
        creating_timeout: Duration::from_secs(1),
        ..ShopOptions::default()
    }
}

async fn an_order_expiring_while_its_charge_answers_late_is_refunded(store: Store) {
    let options = ShopOptions {
        order_ttl: Duration::from_millis(500),
        ..slow_options()
    };
    let Some((shop, ada)) = shop_with(store, options).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.provider().slow_charges(Some(SLOW_PROVIDER));
    let answer = shop.pay(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert_eq!(shop.sandbox().total_charges(), 1, "the money moved");

    // The order expires while the charge's outcome is unknown to payments.
    eventually("the unpaid order expires", RECOVERY, || async {
        shop.order_ops().sweep().await.expect("the sweep runs");
        shop.order_status(&ada, &order_id).await == "CANCELLED"
    })
    .await;
    clear(&shop);
    shop.settled(RECOVERY).await;
    shop.sweep_until_consistent(RECOVERY).await;
    assert_eq!(shop.order_status(&ada, &order_id).await, "CANCELLED");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(shop.sandbox().net_takings(), 0, "the money is back");
    assert_eq!(shop.stock(SKU).await, STOCK);
}

async fn a_cancel_racing_a_slow_charge_ends_cancelled_and_refunded(store: Store) {
    let Some((shop, ada)) = shop_with(store, slow_options()).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    // The charge answers late but within payments' deadline: payOrder waits.
    shop.provider().slow_charges(Some(SLOW));
    let pay = shop.pay(&ada, &order_id, "tok_visa", "key-1");
    let cancel = async {
        eventually("the provider charged", RECOVERY, || async {
            shop.sandbox().total_charges() == 1
        })
        .await;
        shop.cancel(&ada, &order_id).await
    };
    let (paid, cancelled) = tokio::join!(pay, cancel);
    assert_eq!(
        cancelled["data"]["cancelOrder"]["status"], "CANCELLED",
        "the unpaid order is cancelled at once: {cancelled}"
    );
    assert_eq!(
        paid["data"]["payOrder"]["status"], "REFUNDED",
        "the charge of a cancelled order is given back: {paid}"
    );
    clear(&shop);
    shop.settled(RECOVERY).await;
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.sandbox().total_refunds(), 1);
    assert_eq!(shop.sandbox().net_takings(), 0);
    assert_eq!(shop.stock(SKU).await, STOCK);
}

// ── the repro of issue 15 ────────────────────────────────────────────────────

/// Orders with `CALL_TIMEOUT=1s SWEEP_INTERVAL=1s CREATING_TIMEOUT=3s`, a
/// provider answering refunds after 2 s: the cancel may answer
/// SERVICE_UNAVAILABLE, but the order must end CANCELLED, its payment
/// REFUNDED and its stock back, with one charge and one refund.
async fn a_cancel_whose_refund_answers_after_the_callers_timeout_ends_cancelled_and_refunded(
    store: Store,
) {
    let options = ShopOptions {
        call_timeout: Duration::from_secs(1),
        creating_timeout: Duration::from_secs(3),
        provider_timeout: Duration::from_secs(5),
        ..ShopOptions::default()
    };
    let Some((shop, ada)) = shop_with(store, options).await else {
        return;
    };
    let sweepers = shop.run_sweepers(Duration::from_secs(1));
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    assert_eq!(
        shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await,
        "SUCCEEDED"
    );
    assert_eq!(shop.stock(SKU).await, STOCK - 2);
    shop.provider().slow_refunds(Some(Duration::from_secs(2)));

    let answer = shop.cancel(&ada, &order_id).await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");

    eventually(
        "the order is CANCELLED, its payment REFUNDED and its stock back",
        Duration::from_secs(15),
        || async {
            shop.order_status(&ada, &order_id).await == "CANCELLED"
                && shop.payment_status(&ada, &order_id).await == "REFUNDED"
                && shop.stock(SKU).await == STOCK
        },
    )
    .await;
    assert_eq!(shop.sandbox().total_charges(), 1, "one charge");
    assert_eq!(shop.sandbox().total_refunds(), 1, "one refund");
    drop(sweepers);
    shop.settled(RECOVERY).await;
    shop.assert_invariants().await;
}

on_both_stores!(
    a_reserve_stock_that_lands_after_the_timeout_holds_nothing,
    a_reserve_stock_answer_after_the_timeout_gives_the_stock_back,
    a_commit_stock_that_lands_after_the_timeout_sells_once,
    a_commit_stock_answer_after_the_timeout_sells_once,
    a_release_stock_that_lands_after_the_timeout_returns_the_stock_once,
    a_release_stock_answer_after_the_timeout_returns_the_stock_once,
    a_slow_order_for_payment_charges_nothing_until_retried,
    a_mark_order_paid_that_lands_after_the_timeout_pays_the_order_once,
    a_mark_order_paid_answer_after_the_timeout_pays_the_order_once,
    a_refund_request_that_lands_after_the_timeout_still_cancels_the_order,
    a_refund_answer_after_the_timeout_still_cancels_the_order,
    a_provider_charge_answering_after_the_deadline_is_finished_once,
    a_provider_refund_answering_after_the_deadline_is_finished_once,
    every_step_answering_late_at_once_keeps_the_invariants,
    an_order_expiring_while_its_charge_answers_late_is_refunded,
    a_cancel_racing_a_slow_charge_ends_cancelled_and_refunded,
    a_cancel_whose_refund_answers_after_the_callers_timeout_ends_cancelled_and_refunded,
);
