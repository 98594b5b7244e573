//! The promises of the order flow, checked in the stores and through the APIs
//! of a running [`Shop`].

use std::collections::HashMap;

use storefront_inventory::domain::ReservationStatus;
use storefront_orders::domain::{Order, OrderState, PageRequest, Unfinished};
use storefront_payments::domain::{PaymentState, refund_key};

use super::{Shop, locked};

impl Shop {
    /// Every order of every registered buyer that clients can see.
    async fn visible_orders(&self) -> Vec<Order> {
        let buyers = locked(&self.buyers).clone();
        let repo = self.order_ops.repository();
        let mut orders = Vec::new();
        for buyer in buyers {
            let mut page = PageRequest {
                first: 100,
                after: None,
            };
            loop {
                let found = repo
                    .list_by_buyer(&buyer, &page)
                    .await
                    .expect("orders' store answers");
                page.after = found.orders.last().map(|order| order.id.clone());
                orders.extend(found.orders);
                if !found.has_next_page {
                    break;
                }
            }
        }
        orders
    }

    /// `Err` with the first broken promise of [`Shop::assert_invariants`], if any
    /// (to show that a fault did break something before recovery).
    pub async fn check_invariants(&self) -> Result<(), String> {
        use futures::FutureExt as _;
        match std::panic::AssertUnwindSafe(self.assert_invariants())
            .catch_unwind()
            .await
        {
            Ok(()) => Ok(()),
            Err(panic) => Err(panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a broken invariant".to_owned())),
        }
    }

    /// Asserts the promises of the order flow over everything the test created,
    /// reading the stores and the APIs (call after [`Shop::sweep`]):
    /// - per product, available + reserved + sold = received (initial + restocked),
    ///   `product { stock }` = available, reserved = what unpaid orders hold and
    ///   sold = what paid orders bought;
    /// - every visible order's reservation matches its status, and nothing is
    ///   left half done (CREATING, ABORTING, CANCELLING, an uncommitted sale);
    /// - every SUCCEEDED payment's order is PAID by it, every REFUNDED payment's
    ///   order is CANCELLED, no payment is left PROCESSING or REFUNDING;
    /// - the sandbox charged each order at most once, charged exactly the
    ///   SUCCEEDED and REFUNDED payments, refunded exactly the REFUNDED ones, and
    ///   made no charge or refund that payments has no record of;
    /// - the provider's net takings equal the sum of the PAID orders' totals.
    pub async fn assert_invariants(&self) {
        let orders = self.visible_orders().await;
        let repo = self.order_ops.repository();
        let far_future = storefront_orders::domain::now_ms() + 3_600_000;
        for which in [
            Unfinished::CreatingSince(far_future),
            Unfinished::Aborting,
            Unfinished::Cancelling,
            Unfinished::UncommittedPaid,
        ] {
            let left = repo
                .find_unfinished(which, 100)
                .await
                .expect("orders' store answers");
            assert!(
                left.is_empty(),
                "orders left half done ({which:?}): {left:?}"
            );
        }

        let mut reserved: HashMap<String, i64> = HashMap::new();
        let mut sold: HashMap<String, i64> = HashMap::new();
        for order in &orders {
            let id = order.id.as_str();
            let reservation = self.reservation(id).await;
            let held = match order.state {
                OrderState::PendingPayment => {
                    assert_eq!(
                        reservation,
                        Some(ReservationStatus::Reserved),
                        "the unpaid order {id} holds its stock"
                    );
                    &mut reserved
                }
                OrderState::Paid => {
                    assert_eq!(
                        reservation,
                        Some(ReservationStatus::Committed),
                        "the paid order {id} bought its stock"
                    );
                    &mut sold
                }
                OrderState::Cancelled => {
                    assert!(
                        matches!(reservation, None | Some(ReservationStatus::Released)),
                        "the cancelled order {id} holds nothing, but its reservation is {reservation:?}"
                    );
                    continue;
                }
                other => panic!("order {id} is visible in state {other:?}"),
            };
            for line in &order.lines {
                *held.entry(line.sku.clone()).or_default() += line.quantity;
            }
        }

        let skus = locked(&self.skus).clone();
        for sku in &skus {
            let product = self.product(sku).await;
            assert_eq!(
                product.available + product.reserved + product.sold,
                product.received,
                "every unit of {sku} is available, reserved or sold: {product:?}"
            );
            assert_eq!(
                product.reserved,
                reserved.get(sku).copied().unwrap_or(0),
                "{sku}: reserved units are exactly those of unpaid orders: {product:?}"
            );
            assert_eq!(
                product.sold,
                sold.get(sku).copied().unwrap_or(0),
                "{sku}: sold units are exactly those of paid orders: {product:?}"
            );
            assert_eq!(
                self.stock(sku).await,
                product.available,
                "{sku}: product {{ stock }} shows the available units"
            );
        }

        let by_id: HashMap<&str, &Order> = orders
            .iter()
            .map(|order| (order.id.as_str(), order))
            .collect();
        let ids: Vec<String> = orders
            .iter()
            .map(|order| order.id.as_str().to_owned())
            .collect();
        let payments = self
            .payment_ops
            .repository()
            .payments_for_orders(&ids)
            .await
            .expect("payments' store answers");
        let mut charges_per_order: HashMap<&str, usize> = HashMap::new();
        let mut charges = 0;
        let mut refunds = 0;
        for payment in &payments {
            let order = by_id
                .get(payment.order_id.as_str())
                .unwrap_or_else(|| panic!("payment {} is for an order nobody can see", payment.id));
            let charged = self.sandbox.charges_for(&payment.id);
            let refunded = self.sandbox.refunds_for(&refund_key(&payment.id));
            charges += charged;
            refunds += refunded;
            *charges_per_order.entry(order.id.as_str()).or_default() += charged;
            assert_eq!(
                charged,
                usize::from(payment.state.was_charged()),
                "the sandbox charged payment {} ({:?}) {charged} times",
                payment.id,
                payment.state
            );
            assert_eq!(
                refunded,
                usize::from(payment.state == PaymentState::Refunded),
                "the sandbox refunded payment {} ({:?}) {refunded} times",
                payment.id,
                payment.state
            );
            match payment.state {
                PaymentState::Processing | PaymentState::Refunding => {
                    panic!("payment {} is left {:?}", payment.id, payment.state)
                }
                PaymentState::Succeeded => {
                    assert_eq!(
                        (order.state, order.payment_id.as_deref()),
                        (OrderState::Paid, Some(payment.id.as_str())),
                        "the SUCCEEDED payment {} paid its order {}",
                        payment.id,
                        order.id
                    );
                    assert!(
                        payment.order_notified,
                        "orders knows of payment {}",
                        payment.id
                    );
                }
                PaymentState::Refunded => assert_eq!(
                    order.state,
                    OrderState::Cancelled,
                    "the REFUNDED payment {}'s order {} is CANCELLED",
                    payment.id,
                    order.id
                ),
                PaymentState::Declined => {}
            }
        }
        for order in &orders {
            let id = order.id.as_str();
            let charged = charges_per_order.get(id).copied().unwrap_or(0);
            assert!(charged <= 1, "order {id} was charged {charged} times");
            if order.state == OrderState::Paid {
                assert_eq!(charged, 1, "the paid order {id} was charged once");
            }
        }
        assert_eq!(
            self.sandbox.total_charges(),
            charges,
            "every charge the sandbox made is a recorded payment of a visible order"
        );
        assert_eq!(
            self.sandbox.total_refunds(),
            refunds,
            "every refund the sandbox made is of a recorded payment of a visible order"
        );
        let paid_totals: i64 = orders
            .iter()
            .filter(|order| order.state == OrderState::Paid)
            .filter_map(|order| order.pricing.as_ref())
            .map(|pricing| pricing.total.amount)
            .sum();
        assert_eq!(
            self.sandbox.net_takings(),
            paid_totals,
            "the provider's net takings are the sum of the PAID orders' totals"
        );
    }
}
