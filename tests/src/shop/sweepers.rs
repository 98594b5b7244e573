//! Finishing what faults left in flight: the services' sweepers, run once
//! ([`Shop::sweep`]) or in the background as the binaries run them
//! ([`Shop::run_sweepers`]), and waiting until slowed requests have landed
//! ([`Shop::settled`]).

use std::time::Duration;

use tokio::task::JoinHandle;

use super::Shop;

/// The orders and payments sweepers running in the background; stopped when dropped.
pub struct Sweepers(Vec<JoinHandle<()>>);

impl Drop for Sweepers {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl Shop {
    /// Runs every service's sweep once, in the order that lets each finish
    /// what the others started: inventory, orders, payments, then orders and
    /// inventory again.
    pub async fn sweep(&self) {
        self.stock.sweep().await.expect("the inventory sweep runs");
        self.order_ops.sweep().await.expect("the orders sweep runs");
        self.payment_ops
            .sweep()
            .await
            .expect("the payments sweep runs");
        self.order_ops.sweep().await.expect("the orders sweep runs");
        self.stock.sweep().await.expect("the inventory sweep runs");
    }

    /// Starts the orders and payments sweepers every `interval`, as the
    /// binaries run them (`SWEEP_INTERVAL`).
    pub fn run_sweepers(&self, interval: Duration) -> Sweepers {
        Sweepers(vec![
            storefront_orders::sweeper::spawn_sweeper(self.order_ops.clone(), interval),
            storefront_payments::sweeper::spawn_sweeper(self.payment_ops.clone(), interval),
        ])
    }

    /// Waits until no slowed request or provider call is still on its way
    /// (panics after `deadline`).
    pub async fn settled(&self, deadline: Duration) {
        crate::eventually("slowed requests have landed", deadline, || async {
            self.orders_to_inventory.in_flight() == 0
                && self.orders_to_payments.in_flight() == 0
                && self.payments_to_orders.in_flight() == 0
                && self.services_to_users.in_flight() == 0
                && self.provider.in_flight() == 0
        })
        .await;
    }

    /// Runs [`Shop::sweep`] until [`Shop::assert_invariants`] holds, as the
    /// sweepers would every interval; panics with the last broken promise after
    /// `deadline`.
    pub async fn sweep_until_consistent(&self, deadline: Duration) {
        let give_up = tokio::time::Instant::now() + deadline;
        loop {
            self.sweep().await;
            match self.check_invariants().await {
                Ok(()) => return,
                Err(broken) => assert!(
                    tokio::time::Instant::now() < give_up,
                    "still broken after {deadline:?} of sweeping: {broken}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
