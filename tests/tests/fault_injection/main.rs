//! Faults at each step boundary of the order flow, injected by the proxies
//! between the real services: a service that is down (nothing done), one
//! that does the work but whose answer is lost, and (in `slow.rs`) one that
//! answers or works past the caller's timeout. After each fault the service
//! comes back, the sweepers and recoveries run, and the order flow's
//! invariants must hold (see `Shop::assert_invariants`): stock adds up, every
//! SUCCEEDED payment's order is PAID, every REFUNDED payment's order is
//! CANCELLED, nothing is charged twice, the provider's net takings are the
//! PAID orders' totals, no visible order lacks its reservation.
//!
//! # Layout
//! - this file: services down and answers lost, step by step; the
//!   `on_both_stores!` macro (embedded stores, and MongoDB when configured).
//! - `slow.rs`: slow answers at every cross-service step, and the slow-refund
//!   repro of issue 15.

use std::time::Duration;

use storefront_e2e::error_code;
use storefront_e2e::eventually;
use storefront_e2e::proxy::Fault;
use storefront_e2e::shop::{Buyer, Shop, ShopOptions, Store};
use storefront_inventory::domain::ReservationStatus;
use storefront_orders::domain::OrderState;
use storefront_payments::domain::PaymentState;

const SKU: &str = "E2E-MUG";
const STOCK: i64 = 10;

/// A shop with one product of [`STOCK`] units and one customer.
async fn shop_with(store: Store, options: ShopOptions) -> Option<(Shop, Buyer)> {
    let shop = Shop::start_with(store, options).await?;
    shop.add_product(SKU, 1250, STOCK).await;
    let ada = shop.register("ada@shop.test").await;
    Some((shop, ada))
}

async fn shop(store: Store) -> Option<(Shop, Buyer)> {
    shop_with(store, ShopOptions::default()).await
}

/// A shop whose sweeps treat in-flight work as abandoned at once, as they do
/// once `creating_timeout` has passed after a crash.
async fn shop_after_the_grace_period(store: Store) -> Option<(Shop, Buyer)> {
    let options = ShopOptions {
        creating_timeout: std::time::Duration::ZERO,
        ..ShopOptions::default()
    };
    shop_with(store, options).await
}

/// Asserts that the invariants are broken now (the fault did something).
async fn assert_broken(shop: &Shop, why: &str) {
    let broken = shop.check_invariants().await;
    assert!(
        broken.is_err(),
        "{why}: the invariants should not hold before recovery"
    );
}

// ── createOrder: orders → inventory reserveStock ─────────────────────────────

async fn inventory_down_during_create_order_places_nothing(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    shop.orders_to_inventory.set(Fault::Down);
    let answer = shop.create_order(&ada, &[(SKU, 2)]).await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert!(shop.orders_to_inventory.injected() >= 1);
    // The intent could not even be released: it waits ABORTING for the sweeper.
    assert_broken(&shop, "an aborted order waits for its release").await;

    shop.orders_to_inventory.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.stock(SKU).await, STOCK);

    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    assert_eq!(shop.stock(SKU).await, STOCK - 2);
    assert_eq!(shop.order_status(&ada, &order_id).await, "PENDING_PAYMENT");
    shop.assert_invariants().await;
}

async fn a_lost_reserve_answer_gives_the_stock_back_and_shows_no_order(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    shop.orders_to_inventory
        .set_for("reserveStock", Fault::LoseAnswer);
    let answer = shop.create_order(&ada, &[(SKU, 3)]).await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert_eq!(shop.orders_to_inventory.injected(), 1);
    // Orders released what inventory had reserved at once.
    assert_eq!(shop.stock(SKU).await, STOCK);

    shop.orders_to_inventory.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
}

async fn a_lost_reserve_and_release_answer_is_finished_by_the_sweeper(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    shop.orders_to_inventory.set(Fault::LoseAnswer);
    let answer = shop.create_order(&ada, &[(SKU, 3)]).await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert_eq!(
        shop.orders_to_inventory.injected(),
        2,
        "reserve and release"
    );
    assert_broken(&shop, "the aborted order is not marked FAILED yet").await;

    shop.orders_to_inventory.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.stock(SKU).await, STOCK);
}

// ── payOrder: payments → orders orderForPayment / markOrderPaid ──────────────

async fn orders_down_when_payments_checks_the_order_charges_nothing(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 1)]).await;
    shop.payments_to_orders.set(Fault::Down);
    let answer = shop.pay(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert_eq!(shop.sandbox().total_charges(), 0);

    shop.payments_to_orders.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    shop.assert_invariants().await;
}

async fn a_lost_mark_order_paid_answer_is_finished_by_the_payments_sweep(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.payments_to_orders
        .set_for("markOrderPaid", Fault::LoseAnswer);
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(shop.payments_to_orders.injected(), 1);
    // Orders did the work; payments does not know it yet.
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_broken(&shop, "payments has not heard that orders knows").await;

    shop.payments_to_orders.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(shop.stock(SKU).await, STOCK - 2);
    assert_eq!(shop.product(SKU).await.sold, 2);
}

async fn orders_down_after_the_charge_is_finished_by_the_payments_sweep(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.payments_to_orders
        .set_for("markOrderPaid", Fault::Down);
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(shop.order_status(&ada, &order_id).await, "PENDING_PAYMENT");
    assert_broken(&shop, "a SUCCEEDED payment's order is not PAID yet").await;

    shop.payments_to_orders.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "SUCCEEDED");
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(shop.product(SKU).await.sold, 2);
}

async fn a_charge_for_an_order_that_expired_while_orders_was_down_is_refunded(store: Store) {
    let options = ShopOptions {
        order_ttl: Duration::from_secs(1),
        ..ShopOptions::default()
    };
    let Some((shop, ada)) = shop_with(store, options).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.payments_to_orders
        .set_for("markOrderPaid", Fault::Down);
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");

    eventually(
        "the unpaid order expires",
        Duration::from_secs(10),
        || async {
            shop.order_ops().sweep().await.expect("the sweep runs");
            shop.stored_order(&order_id).await.state == OrderState::Cancelled
        },
    )
    .await;
    shop.payments_to_orders.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.order_status(&ada, &order_id).await, "CANCELLED");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(shop.stock(SKU).await, STOCK);
}

async fn a_charge_for_an_order_cancelled_while_orders_could_not_be_told_is_refunded(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.payments_to_orders
        .set_for("markOrderPaid", Fault::Down);
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");
    // The customer gives up on the order before payments could tell orders.
    let cancelled = shop.cancel(&ada, &order_id).await;
    assert_eq!(
        cancelled["data"]["cancelOrder"]["status"], "CANCELLED",
        "{cancelled}"
    );
    assert_broken(&shop, "a SUCCEEDED payment's order is CANCELLED").await;

    shop.payments_to_orders.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(shop.stock(SKU).await, STOCK);
}

async fn a_timed_out_charge_that_is_never_retried_is_finished_by_the_payments_sweep(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    let answer = shop.pay(&ada, &order_id, "tok_timeout", "key-1").await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert_eq!(
        shop.payments_of(&order_id).await[0].state,
        PaymentState::Processing
    );
    assert_broken(&shop, "a payment is left PROCESSING").await;

    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "SUCCEEDED");
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
}

// ── markOrderPaid: orders → inventory commitStock ────────────────────────────

async fn a_lost_commit_answer_is_finished_by_the_orders_sweep(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.orders_to_inventory
        .set_for("commitStock", Fault::LoseAnswer);
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(shop.orders_to_inventory.injected(), 1);
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(
        shop.reservation(&order_id).await,
        Some(ReservationStatus::Committed)
    );
    assert!(!shop.stored_order(&order_id).await.stock_committed);
    assert_broken(&shop, "orders has not recorded the sale").await;

    shop.orders_to_inventory.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert!(shop.stored_order(&order_id).await.stock_committed);
    assert_eq!(shop.product(SKU).await.sold, 2);
}

async fn inventory_down_during_commit_is_finished_by_the_orders_sweep(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.orders_to_inventory.set_for("commitStock", Fault::Down);
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(
        shop.reservation(&order_id).await,
        Some(ReservationStatus::Reserved)
    );
    assert_broken(&shop, "the paid order's stock is still only reserved").await;

    shop.orders_to_inventory.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(
        shop.reservation(&order_id).await,
        Some(ReservationStatus::Committed)
    );
}

async fn cancelling_a_paid_order_whose_sale_was_not_recorded_returns_the_stock_once(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.orders_to_inventory
        .set_for("commitStock", Fault::LoseAnswer);
    let status = shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await;
    assert_eq!(status, "SUCCEEDED");
    shop.orders_to_inventory.pass();
    // Cancelled before the sweeper recorded the sale.
    let cancelled = shop.cancel(&ada, &order_id).await;
    assert_eq!(
        cancelled["data"]["cancelOrder"]["status"], "CANCELLED",
        "{cancelled}"
    );
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.stock(SKU).await, STOCK);
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
}

// ── cancelOrder: orders → payments refundOrderPayment, → inventory releaseStock

async fn payments_down_during_the_cancel_of_a_paid_order_is_finished_once_it_is_back(store: Store) {
    let Some((shop, ada)) = shop_after_the_grace_period(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    assert_eq!(
        shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await,
        "SUCCEEDED"
    );
    shop.orders_to_payments.set(Fault::Down);
    let answer = shop.cancel(&ada, &order_id).await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "SUCCEEDED");
    shop.sweep().await;
    assert_eq!(
        shop.stored_order(&order_id).await.state,
        OrderState::Refunding,
        "the cancel intent waits while payments is down"
    );

    // The stored cancel intent is carried through once payments is back: the
    // order is never put back to PAID.
    shop.orders_to_payments.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.order_status(&ada, &order_id).await, "CANCELLED");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(shop.stock(SKU).await, STOCK);
    let again = shop.cancel(&ada, &order_id).await;
    assert_eq!(error_code(&again), "INVALID_STATE", "{again}");
}

/// Cancels a paid order while the answer of `refundOrderPayment` is lost: the
/// refund happened, the client is told the order is not cancelled.
async fn cancel_losing_the_refund_answer(shop: &Shop, ada: &Buyer) -> String {
    let order_id = shop.place_order(ada, &[(SKU, 2)]).await;
    assert_eq!(
        shop.pay_status(ada, &order_id, "tok_visa", "key-1").await,
        "SUCCEEDED"
    );
    shop.orders_to_payments
        .set_for("refundOrderPayment", Fault::LoseAnswer);
    let answer = shop.cancel(ada, &order_id).await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    assert_eq!(shop.orders_to_payments.injected(), 1);
    shop.orders_to_payments.pass();
    order_id
}

async fn retrying_a_cancel_whose_refund_answer_was_lost_finishes_it(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = cancel_losing_the_refund_answer(&shop, &ada).await;
    let again = shop.cancel(&ada, &order_id).await;
    assert_eq!(
        again["data"]["cancelOrder"]["status"], "CANCELLED",
        "{again}"
    );
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(shop.stock(SKU).await, STOCK);
    let refunds: usize = shop
        .payments_of(&order_id)
        .await
        .iter()
        .map(|p| {
            shop.sandbox()
                .refunds_for(&storefront_payments::domain::refund_key(&p.id))
        })
        .sum();
    assert_eq!(refunds, 1, "refunded once");
}

async fn a_sweep_finishes_a_cancel_whose_refund_answer_was_lost_at_once(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = cancel_losing_the_refund_answer(&shop, &ada).await;
    // Asking payments for the same refund again is safe at any time, so the
    // sweep needs no grace period: it never reads a status to decide from.
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.order_status(&ada, &order_id).await, "CANCELLED");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(shop.sandbox().total_refunds(), 1, "refunded once");
    let answer = shop.cancel(&ada, &order_id).await;
    assert_eq!(error_code(&answer), "INVALID_STATE", "{answer}");
}

async fn a_lost_refund_answer_ends_with_the_order_cancelled_after_recovery(store: Store) {
    let Some((shop, ada)) = shop_after_the_grace_period(store).await else {
        return;
    };
    let order_id = cancel_losing_the_refund_answer(&shop, &ada).await;
    shop.sweep().await;
    let payments = shop.payments_of(&order_id).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(
        payments[0].state,
        PaymentState::Refunded,
        "the money went back"
    );
    // The money is back with the customer, so the order must not stay PAID with
    // its stock sold: no retry of the client may be needed for that.
    shop.assert_invariants().await;
}

async fn a_lost_release_answer_during_cancel_is_finished_by_the_sweeper(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 3)]).await;
    shop.orders_to_inventory
        .set_for("releaseStock", Fault::LoseAnswer);
    let answer = shop.cancel(&ada, &order_id).await;
    assert_eq!(
        answer["data"]["cancelOrder"]["status"], "CANCELLED",
        "{answer}"
    );
    assert_eq!(shop.orders_to_inventory.injected(), 1);
    assert_eq!(
        shop.stored_order(&order_id).await.state,
        OrderState::Cancelling
    );
    assert_eq!(shop.stock(SKU).await, STOCK, "inventory did release");
    assert_broken(&shop, "the cancel is not recorded as finished").await;

    shop.orders_to_inventory.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(
        shop.stored_order(&order_id).await.state,
        OrderState::Cancelled
    );
    assert_eq!(shop.stock(SKU).await, STOCK, "released once");
}

async fn inventory_down_during_the_cancel_of_a_paid_order_is_finished_by_the_sweeper(store: Store) {
    let Some((shop, ada)) = shop(store).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 3)]).await;
    assert_eq!(
        shop.pay_status(&ada, &order_id, "tok_visa", "key-1").await,
        "SUCCEEDED"
    );
    shop.orders_to_inventory
        .set_for("releaseStock", Fault::Down);
    let answer = shop.cancel(&ada, &order_id).await;
    assert_eq!(
        answer["data"]["cancelOrder"]["status"], "CANCELLED",
        "{answer}"
    );
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(shop.stock(SKU).await, STOCK - 3, "not returned yet");
    assert_broken(&shop, "the sold units are not returned yet").await;

    shop.orders_to_inventory.pass();
    shop.sweep().await;
    shop.assert_invariants().await;
    assert_eq!(shop.stock(SKU).await, STOCK);
    assert_eq!(shop.product(SKU).await.sold, 0);
}

/// Runs each case on the embedded stores and on MongoDB (when configured).
macro_rules! on_both_stores {
    ($($(#[$attr:meta])* $case:ident),* $(,)?) => {
        mod embedded {
            $(
                $(#[$attr])*
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Store::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                $(#[$attr])*
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Store::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    inventory_down_during_create_order_places_nothing,
    a_lost_reserve_answer_gives_the_stock_back_and_shows_no_order,
    a_lost_reserve_and_release_answer_is_finished_by_the_sweeper,
    orders_down_when_payments_checks_the_order_charges_nothing,
    a_lost_mark_order_paid_answer_is_finished_by_the_payments_sweep,
    orders_down_after_the_charge_is_finished_by_the_payments_sweep,
    a_charge_for_an_order_that_expired_while_orders_was_down_is_refunded,
    a_charge_for_an_order_cancelled_while_orders_could_not_be_told_is_refunded,
    a_timed_out_charge_that_is_never_retried_is_finished_by_the_payments_sweep,
    a_lost_commit_answer_is_finished_by_the_orders_sweep,
    inventory_down_during_commit_is_finished_by_the_orders_sweep,
    cancelling_a_paid_order_whose_sale_was_not_recorded_returns_the_stock_once,
    payments_down_during_the_cancel_of_a_paid_order_is_finished_once_it_is_back,
    retrying_a_cancel_whose_refund_answer_was_lost_finishes_it,
    a_lost_refund_answer_ends_with_the_order_cancelled_after_recovery,
    a_sweep_finishes_a_cancel_whose_refund_answer_was_lost_at_once,
    a_lost_release_answer_during_cancel_is_finished_by_the_sweeper,
    inventory_down_during_the_cancel_of_a_paid_order_is_finished_by_the_sweeper,
);

mod slow;
