//! The order flow across services: payment, refund on cancel, expiry, outages
//! of inventory and payments, and the sweeper finishing what they left behind.

mod common;

use std::time::Duration;

use common::{
    Backend, CANCEL, FOR_PAYMENT, MY_ORDERS, ORDER, TestEnv, eventually, json_of, single_error,
};
use serde_json::json;
use storefront_orders::domain::{OrderState, now_ms};
use storefront_orders::settings::OrdersSettings;
use storefront_orders::sweeper::SweepReport;

async fn placed(env: &TestEnv, sku: &str, quantity: i64) -> String {
    let order = env
        .create_ok(&env.customer("ada"), &[(sku, quantity)])
        .await;
    order["id"].as_str().expect("id").to_owned()
}

async fn sweep(env: &TestEnv) -> SweepReport {
    env.state.orders().sweep().await.expect("the sweep runs")
}

async fn mark_order_paid_sells_the_stock_and_is_idempotent_per_payment(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 3).await;

    let before = env.as_service(FOR_PAYMENT, json!({ "id": id })).await;
    let before = json_of(&before)["data"]["orderForPayment"].clone();
    assert_eq!(before["buyerId"], "ada");
    assert_eq!(before["status"], "PENDING_PAYMENT");
    assert_eq!(
        before["total"],
        json!({ "amount": 3750, "currency": "USD" })
    );

    let paid = env.mark_paid(&id, "pay-1").await;
    assert!(paid.errors.is_empty(), "{:?}", paid.errors);
    assert_eq!(json_of(&paid)["data"]["markOrderPaid"]["status"], "PAID");
    assert_eq!(
        env.reservation_status(&id).await.as_deref(),
        Some("Committed")
    );
    let stored = env.stored(&id).await;
    assert!(stored.stock_committed);
    assert_eq!(stored.payment_id.as_deref(), Some("pay-1"));
    assert_eq!(env.stock("MUG").await, 7);

    let again = env.mark_paid(&id, "pay-1").await;
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    let other = env.mark_paid(&id, "pay-2").await;
    assert_eq!(single_error(&other).0, "INVALID_STATE");
    let unknown = env
        .as_service(
            FOR_PAYMENT,
            json!({ "id": "0190c5e4-0000-7000-8000-000000000000" }),
        )
        .await;
    assert!(unknown.errors.is_empty(), "{:?}", unknown.errors);
    assert_eq!(json_of(&unknown)["data"]["orderForPayment"], json!(null));
}

async fn paying_a_cancelled_order_is_invalid_state(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 1).await;
    let cancel = env
        .execute(CANCEL, json!({ "id": id }), Some(&env.customer("ada")))
        .await;
    assert!(cancel.errors.is_empty(), "{:?}", cancel.errors);
    let paid = env.mark_paid(&id, "pay-1").await;
    assert_eq!(single_error(&paid).0, "INVALID_STATE");
    assert_eq!(env.stock("MUG").await, 10);
}

async fn cancelling_a_paid_order_refunds_it_first_then_returns_the_stock(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 2).await;
    assert!(env.mark_paid(&id, "pay-1").await.errors.is_empty());
    let token = env.customer("ada");

    env.payments.switch.down();
    let refused = env.execute(CANCEL, json!({ "id": id }), Some(&token)).await;
    assert_eq!(single_error(&refused).0, "SERVICE_UNAVAILABLE");
    assert_eq!(
        env.stored(&id).await.state,
        OrderState::Refunding,
        "the intent is recorded"
    );
    assert_eq!(
        status_of(&env, &id, &token).await,
        "PAID",
        "not cancelled yet"
    );
    assert_eq!(env.stock("MUG").await, 8);

    env.payments.switch.up();
    let cancel = env.execute(CANCEL, json!({ "id": id }), Some(&token)).await;
    assert!(cancel.errors.is_empty(), "{:?}", cancel.errors);
    assert_eq!(
        json_of(&cancel)["data"]["cancelOrder"]["status"],
        "CANCELLED"
    );
    assert_eq!(env.payments.refunds(), vec![id.clone()]);
    assert_eq!(env.stock("MUG").await, 10, "the sold units are back");
}

async fn status_of(env: &TestEnv, id: &str, token: &str) -> String {
    let order = env.execute(ORDER, json!({ "id": id }), Some(token)).await;
    assert!(order.errors.is_empty(), "{:?}", order.errors);
    json_of(&order)["data"]["order"]["status"]
        .as_str()
        .expect("a status")
        .to_owned()
}

/// A paid order whose cancel asked payments for the refund, which lost its answer.
async fn refunding_after_a_lost_answer(env: &TestEnv, token: &str) -> String {
    env.product("MUG", 1250, 10).await;
    let id = placed(env, "MUG", 2).await;
    assert!(env.mark_paid(&id, "pay-1").await.errors.is_empty());
    env.payments.switch.lose_answers();
    let lost = env.execute(CANCEL, json!({ "id": id }), Some(token)).await;
    assert_eq!(single_error(&lost).0, "SERVICE_UNAVAILABLE");
    env.payments.switch.up();
    assert_eq!(
        env.payments.refunds(),
        vec![id.clone()],
        "payments refunded"
    );
    assert_eq!(env.stored(&id).await.state, OrderState::Refunding);
    assert_eq!(
        status_of(env, &id, token).await,
        "PAID",
        "not cancelled yet"
    );
    assert_eq!(env.stock("MUG").await, 8);
    id
}

async fn a_lost_refund_answer_is_settled_as_cancelled_by_the_sweeper(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    let token = env.customer("ada");
    let id = refunding_after_a_lost_answer(&env, &token).await;

    // Payments telling orders again about the payment that paid it is no change.
    let again = env.mark_paid(&id, "pay-1").await;
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(json_of(&again)["data"]["markOrderPaid"]["status"], "PAID");
    assert_eq!(
        single_error(&env.mark_paid(&id, "pay-2").await).0,
        "INVALID_STATE"
    );
    let for_payment = env.as_service(FOR_PAYMENT, json!({ "id": id })).await;
    assert_eq!(
        json_of(&for_payment)["data"]["orderForPayment"]["status"],
        "PAID",
        "payments must not charge it again"
    );

    let report = sweep(&env).await;
    assert_eq!(report.cancelled, 1, "{report:?}");
    assert_eq!(env.stored(&id).await.state, OrderState::Cancelled);
    assert_eq!(status_of(&env, &id, &token).await, "CANCELLED");
    assert_eq!(env.stock("MUG").await, 10, "the sold units are back");
    assert_eq!(env.payments.refunds(), vec![id.clone()], "no second refund");
    assert!(sweep(&env).await.is_empty(), "nothing left to do");
}

async fn retrying_a_cancel_whose_refund_answer_was_lost_finishes_it(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    let token = env.customer("ada");
    let id = refunding_after_a_lost_answer(&env, &token).await;
    let retry = env.execute(CANCEL, json!({ "id": id }), Some(&token)).await;
    assert!(retry.errors.is_empty(), "{:?}", retry.errors);
    assert_eq!(
        json_of(&retry)["data"]["cancelOrder"]["status"],
        "CANCELLED"
    );
    assert_eq!(env.stored(&id).await.state, OrderState::Cancelled);
    assert_eq!(env.stock("MUG").await, 10);
    assert!(sweep(&env).await.is_empty(), "nothing left to do");
}

async fn a_cancel_whose_refund_failed_is_carried_through_by_the_sweeper_never_back_to_paid(
    backend: Backend,
) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 2).await;
    assert!(env.mark_paid(&id, "pay-1").await.errors.is_empty());
    let token = env.customer("ada");
    env.payments.switch.down();
    let refused = env.execute(CANCEL, json!({ "id": id }), Some(&token)).await;
    assert_eq!(single_error(&refused).0, "SERVICE_UNAVAILABLE");
    assert_eq!(env.stored(&id).await.state, OrderState::Refunding);

    assert!(
        sweep(&env).await.is_empty(),
        "payments cannot confirm the refund"
    );
    assert_eq!(env.stored(&id).await.state, OrderState::Refunding);
    assert_eq!(
        status_of(&env, &id, &token).await,
        "PAID",
        "not cancelled yet"
    );

    // Payments is back: the stored cancel intent is carried through, the
    // refund asked for again, and the order never goes back to PAID.
    env.payments.switch.up();
    let report = sweep(&env).await;
    assert_eq!(report.cancelled, 1, "{report:?}");
    assert_eq!(env.stored(&id).await.state, OrderState::Cancelled);
    assert_eq!(status_of(&env, &id, &token).await, "CANCELLED");
    assert_eq!(env.payments.refunds(), vec![id.clone()]);
    assert_eq!(env.stock("MUG").await, 10, "the sold units are back");
    assert!(sweep(&env).await.is_empty(), "nothing left to do");
}

async fn unpaid_orders_expire_through_the_sweeper_and_release_their_stock(backend: Backend) {
    let settings = OrdersSettings {
        order_ttl: Duration::from_millis(50),
        ..OrdersSettings::default()
    };
    let Some(env) = TestEnv::with(backend, settings).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 4).await;
    assert_eq!(env.stock("MUG").await, 6);

    let deadline = env.stored(&id).await.expires_at_ms.expect("has an expiry");
    eventually("the order's time is up", || async { now_ms() > deadline }).await;
    let for_payment = env.as_service(FOR_PAYMENT, json!({ "id": id })).await;
    assert_eq!(
        json_of(&for_payment)["data"]["orderForPayment"]["status"],
        "CANCELLED",
        "payments must not charge an expired order"
    );
    assert_eq!(
        single_error(&env.mark_paid(&id, "pay-1").await).0,
        "INVALID_STATE"
    );

    let report = sweep(&env).await;
    assert_eq!(report.expired, 1, "{report:?}");
    assert_eq!(env.stock("MUG").await, 10);
    assert_eq!(env.stored(&id).await.state, OrderState::Cancelled);
    assert!(
        sweep(&env).await.is_empty(),
        "a second sweep has nothing to do"
    );
}

async fn inventory_down_is_service_unavailable_and_no_order_appears(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let token = env.customer("ada");
    env.inventory_switch.down();

    let response = env.create(&token, &[("MUG", 1)]).await;
    assert_eq!(single_error(&response).0, "SERVICE_UNAVAILABLE");
    let mine = env.execute(MY_ORDERS, json!({}), Some(&token)).await;
    assert_eq!(json_of(&mine)["data"]["myOrders"]["edges"], json!([]));
    assert_eq!(env.stock("MUG").await, 10);

    // The intent waits, invisible, until inventory confirms nothing is held.
    env.inventory_switch.up();
    let report = sweep(&env).await;
    assert_eq!(report.failed, 1, "{report:?}");
    let mine = env.execute(MY_ORDERS, json!({}), Some(&token)).await;
    assert_eq!(json_of(&mine)["data"]["myOrders"]["edges"], json!([]));
}

async fn a_lost_reservation_answer_is_released_at_once(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    env.inventory_switch.lose_answers();
    let response = env.create(&env.customer("ada"), &[("MUG", 3)]).await;
    // The release's answer is lost too, so the order waits for the sweeper.
    assert_eq!(single_error(&response).0, "SERVICE_UNAVAILABLE");
    env.inventory_switch.up();
    assert_eq!(
        env.stock("MUG").await,
        10,
        "inventory did release the units"
    );
    assert_eq!(sweep(&env).await.failed, 1);
}

async fn a_sale_that_inventory_missed_is_committed_by_the_sweeper(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 2).await;
    env.inventory_switch.down();
    let paid = env.mark_paid(&id, "pay-1").await;
    assert!(paid.errors.is_empty(), "{:?}", paid.errors);
    assert_eq!(json_of(&paid)["data"]["markOrderPaid"]["status"], "PAID");
    assert!(!env.stored(&id).await.stock_committed);

    assert_eq!(sweep(&env).await.committed, 0, "inventory is still down");
    env.inventory_switch.up();
    assert_eq!(sweep(&env).await.committed, 1);
    assert!(env.stored(&id).await.stock_committed);
    assert_eq!(
        env.reservation_status(&id).await.as_deref(),
        Some("Committed")
    );
}

async fn a_cancel_that_could_not_release_is_finished_by_the_sweeper(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 5).await;
    env.inventory_switch.down();
    let cancel = env
        .execute(CANCEL, json!({ "id": id }), Some(&env.customer("ada")))
        .await;
    assert!(cancel.errors.is_empty(), "{:?}", cancel.errors);
    assert_eq!(
        json_of(&cancel)["data"]["cancelOrder"]["status"],
        "CANCELLED"
    );
    assert_eq!(env.stored(&id).await.state, OrderState::Cancelling);
    let again = env
        .execute(CANCEL, json!({ "id": id }), Some(&env.customer("ada")))
        .await;
    assert_eq!(
        single_error(&again).0,
        "INVALID_STATE",
        "it shows as cancelled"
    );

    env.inventory_switch.up();
    assert_eq!(sweep(&env).await.cancelled, 1);
    assert_eq!(env.stock("MUG").await, 10);
    assert_eq!(env.stored(&id).await.state, OrderState::Cancelled);
}

async fn an_abandoned_creation_is_given_up_after_the_timeout(backend: Backend) {
    let settings = OrdersSettings {
        creating_timeout: Duration::from_millis(1),
        ..OrdersSettings::default()
    };
    let Some(env) = TestEnv::with(backend, settings).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    // A crash right after the intent was stored and the stock reserved.
    let id = placed(&env, "MUG", 2).await;
    let order = env.stored(&id).await;
    let mut crashed = order.clone();
    crashed.id = storefront_orders::domain::OrderId::generate();
    crashed.state = OrderState::Creating;
    crashed.pricing = None;
    crashed.updated_at_ms = now_ms() - 10;
    env.repo.insert(&crashed).await.expect("stores the intent");
    let lines = json!([{ "sku": "MUG", "quantity": 3 }]);
    let reserve = "mutation($orderId: ID!, $lines: [StockLineInput!]!) { reserveStock(orderId: $orderId, lines: $lines) { status } }";
    let schema =
        storefront_inventory::AppState::new(env.inventory.clone(), env.signer.authenticator())
            .schema();
    let reserved = schema
        .execute(
            async_graphql::Request::new(reserve)
                .variables(async_graphql::Variables::from_json(
                    json!({ "orderId": crashed.id.as_str(), "lines": lines }),
                ))
                .data(storefront_shared::auth::ServiceCaller(true)),
        )
        .await;
    assert!(reserved.errors.is_empty(), "{:?}", reserved.errors);
    assert_eq!(env.stock("MUG").await, 5);

    let report = sweep(&env).await;
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(
        env.stock("MUG").await,
        8,
        "only the abandoned units came back"
    );
    assert_eq!(
        env.stored(crashed.id.as_str()).await.state,
        OrderState::Failed
    );
    assert_eq!(env.stored(&id).await.state, OrderState::PendingPayment);
}

async fn a_payment_racing_a_cancel_never_keeps_the_money_of_a_cancelled_order(backend: Backend) {
    let Some(env) = TestEnv::with(backend, OrdersSettings::default()).await else {
        return;
    };
    let env = std::sync::Arc::new(env);
    env.product("MUG", 1250, 100).await;
    for round in 0..5 {
        let id = placed(&env, "MUG", 1).await;
        let paying = {
            let env = std::sync::Arc::clone(&env);
            let id = id.clone();
            tokio::spawn(async move { env.mark_paid(&id, &format!("pay-{round}")).await })
        };
        let cancelling = {
            let env = std::sync::Arc::clone(&env);
            let id = id.clone();
            tokio::spawn(async move {
                env.execute(CANCEL, json!({ "id": id }), Some(&env.customer("ada")))
                    .await
            })
        };
        let paid = paying.await.expect("finishes");
        let cancelled = cancelling.await.expect("finishes");
        assert!(cancelled.errors.is_empty(), "{:?}", cancelled.errors);
        assert_eq!(env.stored(&id).await.state, OrderState::Cancelled);
        let refunded = env.payments.refunds().contains(&id);
        if paid.errors.is_empty() {
            assert!(refunded, "a paid order is refunded before it is cancelled");
        } else {
            // Payments refunds on INVALID_STATE itself.
            assert_eq!(single_error(&paid).0, "INVALID_STATE");
            assert!(!refunded);
        }
    }
    assert_eq!(env.stock("MUG").await, 100);
}

/// Runs each case on the embedded stores and on MongoDB (when configured).
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    mark_order_paid_sells_the_stock_and_is_idempotent_per_payment,
    paying_a_cancelled_order_is_invalid_state,
    cancelling_a_paid_order_refunds_it_first_then_returns_the_stock,
    a_lost_refund_answer_is_settled_as_cancelled_by_the_sweeper,
    retrying_a_cancel_whose_refund_answer_was_lost_finishes_it,
    a_cancel_whose_refund_failed_is_carried_through_by_the_sweeper_never_back_to_paid,
    unpaid_orders_expire_through_the_sweeper_and_release_their_stock,
    inventory_down_is_service_unavailable_and_no_order_appears,
    a_lost_reservation_answer_is_released_at_once,
    a_sale_that_inventory_missed_is_committed_by_the_sweeper,
    a_cancel_that_could_not_release_is_finished_by_the_sweeper,
    an_abandoned_creation_is_given_up_after_the_timeout,
    a_payment_racing_a_cancel_never_keeps_the_money_of_a_cancelled_order,
);

#[tokio::test]
async fn the_background_sweeper_expires_orders_on_its_own() {
    let settings = OrdersSettings {
        order_ttl: Duration::from_millis(20),
        ..OrdersSettings::default()
    };
    let env = TestEnv::with_settings(settings).await;
    env.product("MUG", 1250, 10).await;
    let id = placed(&env, "MUG", 3).await;
    let sweeper = storefront_orders::sweeper::spawn_sweeper(
        env.state.orders().clone(),
        Duration::from_millis(20),
    );
    eventually("the expired order is cancelled", || async {
        env.stored(&id).await.state == OrderState::Cancelled
    })
    .await;
    sweeper.abort();
    assert_eq!(env.stock("MUG").await, 10);
}
