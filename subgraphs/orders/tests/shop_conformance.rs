//! One suite for the shop part of both stores (`ShopRepository`): carts saved
//! by compare-and-set, discount uses claimed and given back exactly once per
//! order, checkout attempts stored once. Each case runs on the embedded store
//! and on MongoDB (`STOREFRONT_TEST_MONGODB_URI`; skipped locally without it).

use std::sync::Arc;

use storefront_orders::cart::{Cart, CartId};
use storefront_orders::discount::{DiscountInput, NewDiscountCode};
use storefront_orders::domain::LineRequest;
use storefront_orders::store::{
    CheckoutRecord, EmbeddedOrderRepository, MongoOrderRepository, RepoError, SharedRepository,
};

mod cases {
    use super::*;

    fn cart(id: &CartId, version: i64, updated_at_ms: i64) -> Cart {
        let mut cart = Cart::empty(id, updated_at_ms);
        cart.lines.push(LineRequest {
            sku: "MUG".into(),
            quantity: 2,
        });
        cart.version = version;
        cart
    }

    pub async fn a_cart_is_saved_only_over_the_version_it_was_read_at(repo: SharedRepository) {
        let id = CartId::generate();
        let first = cart(&id, 1, 1_000);
        assert!(repo.save_cart(&first).await.expect("runs"));
        assert!(
            !repo.save_cart(&first).await.expect("runs"),
            "a second version 1 is a lost race"
        );
        let found = repo
            .find_cart(&id.as_string())
            .await
            .expect("runs")
            .expect("stored");
        assert_eq!(found, first, "a round trip keeps every field");
        let second = cart(&id, 2, 2_000);
        assert!(repo.save_cart(&second).await.expect("runs"));
        assert!(!repo.save_cart(&second).await.expect("runs"));
        assert!(
            !repo.save_cart(&cart(&id, 4, 3_000)).await.expect("runs"),
            "a version skipped is refused"
        );
        assert!(!repo.delete_cart(&id.as_string(), 1).await.expect("runs"));
        assert!(repo.delete_cart(&id.as_string(), 2).await.expect("runs"));
        assert!(
            repo.find_cart(&id.as_string())
                .await
                .expect("runs")
                .is_none()
        );
    }

    pub async fn only_stale_anonymous_carts_are_swept(repo: SharedRepository) {
        let stale = CartId::generate();
        let fresh = CartId::generate();
        let user = CartId::of_user("ada");
        for (id, at) in [(&stale, 1_000), (&fresh, 9_000), (&user, 1_000)] {
            assert!(repo.save_cart(&cart(id, 1, at)).await.expect("runs"));
        }
        assert_eq!(repo.delete_stale_carts(5_000, 10).await.expect("runs"), 1);
        assert!(
            repo.find_cart(&stale.as_string())
                .await
                .expect("runs")
                .is_none()
        );
        assert!(
            repo.find_cart(&fresh.as_string())
                .await
                .expect("runs")
                .is_some()
        );
        assert!(
            repo.find_cart(&user.as_string())
                .await
                .expect("runs")
                .is_some(),
            "a user's cart never expires"
        );
    }

    fn code(limit: Option<i64>) -> storefront_orders::discount::DiscountCode {
        NewDiscountCode::parse(
            DiscountInput {
                code: "save10".into(),
                percent: Some(10),
                usage_limit: limit,
                ..DiscountInput::default()
            },
            1_000,
        )
        .expect("valid")
        .0
    }

    pub async fn discount_uses_are_claimed_once_per_order_up_to_the_limit(repo: SharedRepository) {
        repo.insert_discount(&code(Some(2))).await.expect("inserts");
        let error = repo.insert_discount(&code(None)).await.expect_err("exists");
        assert!(matches!(error, RepoError::DiscountExists), "{error:?}");

        assert!(repo.claim_discount("SAVE10", "o1").await.expect("runs"));
        assert!(
            repo.claim_discount("SAVE10", "o1").await.expect("runs"),
            "claiming again for the same order holds the same use"
        );
        assert!(repo.claim_discount("SAVE10", "o2").await.expect("runs"));
        assert!(!repo.claim_discount("SAVE10", "o3").await.expect("runs"));
        let found = repo
            .find_discount("SAVE10")
            .await
            .expect("runs")
            .expect("exists");
        assert_eq!(found.used, 2);

        assert!(repo.release_discount("SAVE10", "o1").await.expect("runs"));
        assert!(
            !repo.release_discount("SAVE10", "o1").await.expect("runs"),
            "a use is given back once"
        );
        assert!(!repo.release_discount("SAVE10", "o3").await.expect("runs"));
        assert!(repo.claim_discount("SAVE10", "o3").await.expect("runs"));
        assert!(!repo.claim_discount("SAVE10", "o4").await.expect("runs"));

        let off = repo
            .deactivate_discount("SAVE10")
            .await
            .expect("runs")
            .expect("exists");
        assert!(!off.active);
        assert_eq!(off.used, 2);
        assert!(repo.release_discount("SAVE10", "o2").await.expect("runs"));
        assert!(
            !repo.claim_discount("SAVE10", "o5").await.expect("runs"),
            "an inactive code is not claimed"
        );
        assert!(repo.claim_discount("NOPE", "o1").await.is_ok_and(|c| !c));
        let listed = repo.list_discounts().await.expect("runs");
        assert_eq!(listed.len(), 1);
        assert!(!listed[0].active);
        assert_eq!(listed[0].used, 1);
    }

    pub async fn exactly_the_limit_of_forty_racing_claims_win(repo: SharedRepository) {
        repo.insert_discount(&code(Some(7))).await.expect("inserts");
        let claims: Vec<_> = (0..40)
            .map(|n| {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move {
                    repo.claim_discount("SAVE10", &format!("order-{n}"))
                        .await
                        .expect("runs")
                })
            })
            .collect();
        let mut won = 0;
        for claim in claims {
            if claim.await.expect("finishes") {
                won += 1;
            }
        }
        assert_eq!(won, 7);
        let found = repo
            .find_discount("SAVE10")
            .await
            .expect("runs")
            .expect("exists");
        assert_eq!(found.used, 7);
    }

    pub async fn a_checkout_attempt_is_stored_once_and_renewed_by_compare_and_set(
        repo: SharedRepository,
    ) {
        let record = CheckoutRecord {
            id: "ada:key-1".into(),
            fingerprint: "f".into(),
            order_id: "o1".into(),
            created_at_ms: 1_000,
        };
        assert!(
            repo.find_checkout("ada:key-1")
                .await
                .expect("runs")
                .is_none()
        );
        assert!(repo.insert_checkout(&record).await.expect("runs").is_none());
        assert_eq!(
            repo.find_checkout("ada:key-1").await.expect("runs"),
            Some(record.clone())
        );
        let again = CheckoutRecord {
            order_id: "o2".into(),
            ..record.clone()
        };
        assert_eq!(
            repo.insert_checkout(&again).await.expect("runs"),
            Some(record.clone())
        );
        assert!(
            !repo
                .renew_checkout("ada:key-1", "o9", "o3")
                .await
                .expect("runs")
        );
        assert!(
            repo.renew_checkout("ada:key-1", "o1", "o3")
                .await
                .expect("runs")
        );
        let renewed = repo.insert_checkout(&again).await.expect("runs");
        assert_eq!(renewed.map(|r| r.order_id).as_deref(), Some("o3"));
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
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
    a_cart_is_saved_only_over_the_version_it_was_read_at,
    only_stale_anonymous_carts_are_swept,
    discount_uses_are_claimed_once_per_order_up_to_the_limit,
    exactly_the_limit_of_forty_racing_claims_win,
    a_checkout_attempt_is_stored_once_and_renewed_by_compare_and_set,
);
