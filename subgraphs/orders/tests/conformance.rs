//! One suite for every `OrderRepository`: each case runs against the embedded
//! store (a temp dir) and MongoDB (`STOREFRONT_TEST_MONGODB_URI`; skipped
//! locally without it, required in CI).

use std::sync::Arc;

use storefront_orders::domain::{
    LineRequest, MAX_AMOUNT, Money, Order, OrderId, OrderItem, OrderLimits, OrderRequest,
    OrderState, PageRequest, Pricing, Transition, Unfinished, encode_cursor,
};
use storefront_orders::store::{
    EmbeddedOrderRepository, MongoOrderRepository, RepoError, SharedRepository,
};

const LIMITS: OrderLimits = OrderLimits {
    max_quantity_per_line: 100,
    max_lines: 50,
};

fn intent(buyer: &str, at_ms: i64) -> Order {
    let request = OrderRequest::parse([("MUG", 2), ("TEE", 1)], LIMITS).expect("valid");
    Order::intent(buyer, &request, at_ms)
}

fn pricing(order: &Order) -> Pricing {
    let items = order
        .lines
        .iter()
        .map(|LineRequest { sku, quantity }| OrderItem {
            sku: sku.clone(),
            quantity: *quantity,
            unit_price: Money {
                amount: 1250,
                currency: "USD".into(),
            },
        })
        .collect();
    Pricing::of(items, MAX_AMOUNT).expect("priced")
}

/// Inserts an order and moves it to `state` through the real transitions.
async fn stored_in(repo: &SharedRepository, buyer: &str, state: OrderState, at_ms: i64) -> Order {
    let order = intent(buyer, at_ms);
    repo.insert(&order).await.expect("inserts");
    if state == OrderState::Creating {
        return order;
    }
    let path: &[OrderState] = match state {
        OrderState::Aborting => &[OrderState::Aborting],
        OrderState::Failed => &[OrderState::Failed],
        OrderState::PendingPayment => &[OrderState::PendingPayment],
        OrderState::Paid => &[OrderState::PendingPayment, OrderState::Paid],
        OrderState::Refunding => &[
            OrderState::PendingPayment,
            OrderState::Paid,
            OrderState::Refunding,
        ],
        OrderState::Cancelling => &[OrderState::PendingPayment, OrderState::Cancelling],
        OrderState::Cancelled => &[
            OrderState::PendingPayment,
            OrderState::Cancelling,
            OrderState::Cancelled,
        ],
        OrderState::Creating => &[],
    };
    let mut current = order;
    for to in path {
        let mut change = Transition::new(current.state, *to, at_ms);
        if *to == OrderState::PendingPayment {
            change.pricing = Some(pricing(&current));
            change.expires_at_ms = Some(at_ms + 1000);
        }
        current = repo
            .transition(&current.id, &change)
            .await
            .expect("transition runs")
            .expect("transition applies");
    }
    current
}

/// The cases, each over any repository.
mod cases {
    use super::*;

    pub async fn an_inserted_order_round_trips_and_duplicates_conflict(repo: SharedRepository) {
        let order = intent("ada", 1_000);
        repo.insert(&order).await.expect("inserts");
        let found = repo
            .find_by_id(&order.id)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!(found, order, "a round trip keeps every field");
        let error = repo.insert(&order).await.expect_err("the id is taken");
        assert!(matches!(error, RepoError::Conflict), "{error:?}");
        assert!(
            repo.find_by_id(&OrderId::generate())
                .await
                .expect("runs")
                .is_none()
        );
        repo.ping().await.expect("the store answers");
    }

    pub async fn find_by_ids_returns_the_existing_ones(repo: SharedRepository) {
        let a = stored_in(&repo, "ada", OrderState::PendingPayment, 1_000).await;
        let b = stored_in(&repo, "bob", OrderState::Paid, 2_000).await;
        let ids = [b.id.clone(), OrderId::generate(), a.id.clone()];
        let mut found = repo.find_by_ids(&ids).await.expect("finds");
        found.sort_by(|x, y| x.id.cmp(&y.id));
        let mut expected = vec![a, b];
        expected.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(found, expected);
        assert!(repo.find_by_ids(&[]).await.expect("runs").is_empty());
    }

    pub async fn a_transition_applies_only_from_the_expected_state(repo: SharedRepository) {
        let order = intent("ada", 1_000);
        repo.insert(&order).await.expect("inserts");

        let wrong = Transition::new(OrderState::PendingPayment, OrderState::Paid, 2_000);
        assert!(
            repo.transition(&order.id, &wrong)
                .await
                .expect("runs")
                .is_none()
        );

        let mut confirm = Transition::new(OrderState::Creating, OrderState::PendingPayment, 2_000);
        confirm.pricing = Some(pricing(&order));
        confirm.expires_at_ms = Some(5_000);
        let pending = repo
            .transition(&order.id, &confirm)
            .await
            .expect("runs")
            .expect("applies");
        assert_eq!(pending.state, OrderState::PendingPayment);
        assert_eq!(pending.pricing, Some(pricing(&order)));
        assert_eq!(pending.expires_at_ms, Some(5_000));
        assert_eq!(pending.updated_at_ms, 2_000);
        assert_eq!(pending.created_at_ms, 1_000);

        let mut pay = Transition::new(OrderState::PendingPayment, OrderState::Paid, 3_000);
        pay.payment_id = Some("pay-1".into());
        repo.transition(&order.id, &pay)
            .await
            .expect("runs")
            .expect("applies");
        let mut commit = Transition::new(OrderState::Paid, OrderState::Paid, 4_000);
        commit.stock_committed = Some(true);
        let paid = repo
            .transition(&order.id, &commit)
            .await
            .expect("runs")
            .expect("applies");
        assert_eq!(paid.payment_id.as_deref(), Some("pay-1"));
        assert!(paid.stock_committed);
        assert_eq!(paid.pricing, Some(pricing(&order)), "untouched fields stay");
        let stored = repo.find_by_id(&order.id).await.expect("finds");
        assert_eq!(stored, Some(paid));

        let unknown = repo
            .transition(&OrderId::generate(), &commit)
            .await
            .expect("runs");
        assert!(unknown.is_none());
    }

    pub async fn exactly_one_of_twenty_racing_transitions_wins(repo: SharedRepository) {
        let order = stored_in(&repo, "ada", OrderState::PendingPayment, 1_000).await;
        let racers: Vec<_> = (0..20)
            .map(|n| {
                let repo = Arc::clone(&repo);
                let id = order.id.clone();
                tokio::spawn(async move {
                    let to = if n % 2 == 0 {
                        OrderState::Paid
                    } else {
                        OrderState::Cancelling
                    };
                    let change = Transition::new(OrderState::PendingPayment, to, 2_000 + n);
                    repo.transition(&id, &change).await.expect("runs")
                })
            })
            .collect();
        let mut winners = Vec::new();
        for racer in racers {
            if let Some(order) = racer.await.expect("finishes") {
                winners.push(order);
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        let stored = repo.find_by_id(&order.id).await.expect("finds");
        assert_eq!(stored.as_ref(), winners.first());
    }

    pub async fn buyers_pages_hold_only_their_visible_orders_newest_first(repo: SharedRepository) {
        let mut visible = Vec::new();
        for (n, state) in [
            OrderState::PendingPayment,
            OrderState::Creating,
            OrderState::Paid,
            OrderState::Failed,
            OrderState::Cancelling,
            OrderState::Aborting,
            OrderState::Refunding,
            OrderState::Cancelled,
        ]
        .into_iter()
        .enumerate()
        {
            let order = stored_in(&repo, "ada", state, 1_000 + n as i64).await;
            if state.public().is_some() {
                visible.push(order.id);
            }
        }
        stored_in(&repo, "bob", OrderState::PendingPayment, 9_000).await;
        visible.reverse();

        let first = PageRequest::parse(3, None).expect("valid");
        let page = repo.list_by_buyer("ada", &first).await.expect("lists");
        let got: Vec<_> = page.orders.iter().map(|o| o.id.clone()).collect();
        assert_eq!(got, visible[..3]);
        assert!(page.has_next_page);

        let cursor = encode_cursor(&got[2]);
        let next = PageRequest::parse(3, Some(&cursor)).expect("valid");
        let page = repo.list_by_buyer("ada", &next).await.expect("lists");
        let got: Vec<_> = page.orders.iter().map(|o| o.id.clone()).collect();
        assert_eq!(got, visible[3..]);
        assert!(!page.has_next_page);

        let nobody = repo.list_by_buyer("carol", &first).await.expect("lists");
        assert!(nobody.orders.is_empty() && !nobody.has_next_page);
    }

    pub async fn the_sweeper_finds_each_kind_of_unfinished_order(repo: SharedRepository) {
        let creating_old = stored_in(&repo, "ada", OrderState::Creating, 1_000).await;
        let _creating_new = stored_in(&repo, "ada", OrderState::Creating, 50_000).await;
        let aborting = stored_in(&repo, "ada", OrderState::Aborting, 1_000).await;
        let cancelling = stored_in(&repo, "ada", OrderState::Cancelling, 1_000).await;
        let refunding = stored_in(&repo, "ada", OrderState::Refunding, 1_000).await;
        let paid = stored_in(&repo, "ada", OrderState::Paid, 1_000).await;
        let pending = stored_in(&repo, "ada", OrderState::PendingPayment, 1_000).await;
        let _fresh = stored_in(&repo, "ada", OrderState::PendingPayment, 40_000).await;
        stored_in(&repo, "ada", OrderState::Cancelled, 1_000).await;
        stored_in(&repo, "ada", OrderState::Failed, 1_000).await;

        let ids = |orders: Vec<Order>| orders.into_iter().map(|o| o.id).collect::<Vec<_>>();
        let find = |which| {
            let repo = Arc::clone(&repo);
            async move { repo.find_unfinished(which, 10).await.expect("finds") }
        };
        assert_eq!(
            ids(find(Unfinished::CreatingSince(10_000)).await),
            [creating_old.id]
        );
        assert_eq!(ids(find(Unfinished::Aborting).await), [aborting.id]);
        assert_eq!(ids(find(Unfinished::Cancelling).await), [cancelling.id]);
        assert_eq!(
            ids(find(Unfinished::Refunding).await),
            std::slice::from_ref(&refunding.id)
        );
        assert_eq!(
            ids(find(Unfinished::UncommittedPaid).await),
            std::slice::from_ref(&paid.id)
        );
        // Expiry is 1 s after the last change: the old one has expired at 10 s.
        assert_eq!(ids(find(Unfinished::ExpiredAt(10_000)).await), [pending.id]);

        let mut commit = Transition::new(OrderState::Paid, OrderState::Paid, 2_000);
        commit.stock_committed = Some(true);
        repo.transition(&paid.id, &commit).await.expect("runs");
        assert!(find(Unfinished::UncommittedPaid).await.is_empty());
        // A cancel that turns out not to have refunded puts the order back.
        let back = Transition::new(OrderState::Refunding, OrderState::Paid, 3_000);
        let paid_again = repo
            .transition(&refunding.id, &back)
            .await
            .expect("runs")
            .expect("applies");
        assert_eq!(paid_again.state, OrderState::Paid);
        assert!(find(Unfinished::Refunding).await.is_empty());
        assert_eq!(
            ids(find(Unfinished::UncommittedPaid).await),
            [refunding.id],
            "its sale is still to be recorded"
        );
        let limited = repo
            .find_unfinished(Unfinished::ExpiredAt(100_000), 1)
            .await
            .expect("finds");
        assert_eq!(limited.len(), 1, "the limit holds");
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let repo = EmbeddedOrderRepository::open(dir.path()).expect("opens");
                    cases::$case(Arc::new(repo)).await;
                }
            )*
        }

        mod mongo {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = storefront_shared::testing::mongo_database("orders").await else {
                        return;
                    };
                    let repo = MongoOrderRepository::new(db).await.expect("prepares");
                    cases::$case(Arc::new(repo)).await;
                }
            )*
        }
    };
}

conformance!(
    an_inserted_order_round_trips_and_duplicates_conflict,
    find_by_ids_returns_the_existing_ones,
    a_transition_applies_only_from_the_expected_state,
    exactly_one_of_twenty_racing_transitions_wins,
    buyers_pages_hold_only_their_visible_orders_newest_first,
    the_sweeper_finds_each_kind_of_unfinished_order,
);
