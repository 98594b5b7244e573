//! One suite for every `PaymentRepository`: each case runs against the embedded
//! store (a temp dir) and MongoDB (`STOREFRONT_TEST_MONGODB_URI`; skipped
//! locally without it, required in CI).

mod common;

use std::sync::Arc;

use common::payment;
use storefront_payments::domain::{IdempotencyRecord, PaymentState};
use storefront_payments::store::{
    Change, Condition, EmbeddedPaymentRepository, GuardClaim, MongoPaymentRepository,
    SharedRepository,
};

fn key_record(id: &str, fingerprint: &str, payment_id: &str) -> IdempotencyRecord {
    IdempotencyRecord {
        id: id.into(),
        fingerprint: fingerprint.into(),
        payment_id: payment_id.into(),
        created_at_ms: 1_000,
    }
}

/// The cases, each over any repository.
mod cases {
    use super::*;

    pub async fn an_idempotency_key_is_recorded_once_and_the_first_record_wins(
        repo: SharedRepository,
    ) {
        let first = key_record("buyer-1:k1", "fp-a", "pay-1");
        assert_eq!(
            repo.record_idempotency_key(&first).await.expect("runs"),
            None
        );
        let clash = key_record("buyer-1:k1", "fp-b", "pay-2");
        let existing = repo.record_idempotency_key(&clash).await.expect("runs");
        assert_eq!(
            existing,
            Some(first.clone()),
            "the stored record is unchanged"
        );
        let other_buyer = key_record("buyer-2:k1", "fp-b", "pay-3");
        assert_eq!(
            repo.record_idempotency_key(&other_buyer)
                .await
                .expect("runs"),
            None
        );
    }

    pub async fn exactly_one_of_twenty_concurrent_key_records_wins(repo: SharedRepository) {
        let attempts: Vec<_> = (0..20)
            .map(|n| {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move {
                    let record = key_record("buyer-1:race", "fp", &format!("pay-{n}"));
                    repo.record_idempotency_key(&record).await
                })
            })
            .collect();
        let mut winners = 0;
        let mut seen = Vec::new();
        for attempt in attempts {
            match attempt.await.expect("task finishes").expect("runs") {
                None => winners += 1,
                Some(existing) => seen.push(existing.payment_id),
            }
        }
        assert_eq!(winners, 1);
        seen.dedup();
        assert_eq!(seen.len(), 1, "every loser saw the one winner: {seen:?}");
    }

    pub async fn a_payment_is_inserted_once_and_read_back_whole(repo: SharedRepository) {
        let p = payment("pay-1", "order-1", PaymentState::Processing, 1_000);
        assert!(repo.insert_payment(&p).await.expect("inserts"));
        let again = payment("pay-1", "order-1", PaymentState::Succeeded, 2_000);
        assert!(!repo.insert_payment(&again).await.expect("runs"));
        let found = repo.find_payment("pay-1").await.expect("runs");
        assert_eq!(found, Some(p), "a round trip keeps every field");
        assert_eq!(repo.find_payment("nope").await.expect("runs"), None);
        repo.ping().await.expect("the store answers");
    }

    pub async fn updates_apply_only_while_the_condition_holds(repo: SharedRepository) {
        let mut p = payment("pay-1", "order-1", PaymentState::Processing, 1_000);
        p.lease_until_ms = 5_000;
        p.order_notified = false;
        repo.insert_payment(&p).await.expect("inserts");

        let take_over = Condition {
            lease_ended_before_ms: Some(4_000),
            ..Condition::state(PaymentState::Processing)
        };
        let change = Change {
            lease_until_ms: Some(9_000),
            next_attempt: true,
            updated_at_ms: 4_000,
            ..Change::default()
        };
        assert_eq!(
            repo.update_payment("pay-1", &take_over, &change)
                .await
                .expect("runs"),
            None,
            "the lease has not ended yet"
        );
        let take_over = Condition {
            lease_ended_before_ms: Some(6_000),
            ..take_over
        };
        let owned = repo
            .update_payment("pay-1", &take_over, &change)
            .await
            .expect("runs")
            .expect("the lease had ended");
        assert_eq!((owned.attempt, owned.lease_until_ms), (2, 9_000));

        let stale_attempt = Condition {
            attempt: Some(1),
            ..Condition::state(PaymentState::Processing)
        };
        let settle = Change {
            state: Some(PaymentState::Succeeded),
            provider_reference: Some("ch_1".into()),
            lease_until_ms: Some(0),
            updated_at_ms: 7_000,
            ..Change::default()
        };
        assert_eq!(
            repo.update_payment("pay-1", &stale_attempt, &settle)
                .await
                .expect("runs"),
            None
        );
        let settled = repo
            .update_payment(
                "pay-1",
                &Condition::state(PaymentState::Processing),
                &settle,
            )
            .await
            .expect("runs")
            .expect("settles");
        assert_eq!(settled.state, PaymentState::Succeeded);
        assert_eq!(settled.provider_reference.as_deref(), Some("ch_1"));
        assert_eq!(settled.updated_at_ms, 7_000);

        let notify = Condition {
            order_notified: Some(false),
            ..Condition::state(PaymentState::Succeeded)
        };
        let notified = Change {
            order_notified: Some(true),
            updated_at_ms: 8_000,
            ..Change::default()
        };
        let done = repo
            .update_payment("pay-1", &notify, &notified)
            .await
            .expect("runs");
        assert!(done.expect("notifies").order_notified);
        assert_eq!(
            repo.update_payment("pay-1", &notify, &notified)
                .await
                .expect("runs"),
            None,
            "a second notification finds nothing to change"
        );
        assert_eq!(
            repo.update_payment("nope", &notify, &notified)
                .await
                .expect("runs"),
            None
        );
    }

    pub async fn exactly_one_of_twenty_concurrent_settlements_wins(repo: SharedRepository) {
        let p = payment("pay-1", "order-1", PaymentState::Processing, 1_000);
        repo.insert_payment(&p).await.expect("inserts");
        let attempts: Vec<_> = (0..20)
            .map(|n| {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move {
                    let state = if n % 2 == 0 {
                        PaymentState::Succeeded
                    } else {
                        PaymentState::Declined
                    };
                    let change = Change {
                        state: Some(state),
                        updated_at_ms: 2_000 + n,
                        ..Change::default()
                    };
                    repo.update_payment(
                        "pay-1",
                        &Condition::state(PaymentState::Processing),
                        &change,
                    )
                    .await
                })
            })
            .collect();
        let mut won = Vec::new();
        for attempt in attempts {
            if let Some(p) = attempt.await.expect("finishes").expect("runs") {
                won.push(p);
            }
        }
        assert_eq!(won.len(), 1);
        let stored = repo
            .find_payment("pay-1")
            .await
            .expect("runs")
            .expect("exists");
        assert_eq!(stored, won[0]);
    }

    pub async fn the_order_guard_admits_one_payment_at_a_time(repo: SharedRepository) {
        assert_eq!(
            repo.claim_order("order-1", "pay-1", "")
                .await
                .expect("runs"),
            GuardClaim::Claimed
        );
        assert_eq!(
            repo.claim_order("order-1", "pay-1", "")
                .await
                .expect("runs"),
            GuardClaim::Claimed,
            "claiming again is fine"
        );
        match repo
            .claim_order("order-1", "pay-2", "")
            .await
            .expect("runs")
        {
            GuardClaim::HeldBy { holder, since_ms } => {
                assert_eq!(holder, "pay-1");
                assert!(since_ms > 0);
            }
            other => panic!("expected HeldBy, got {other:?}"),
        }
        assert!(!repo.release_order("order-1", "pay-2").await.expect("runs"));
        // A stale holder can be taken over by naming it.
        assert_eq!(
            repo.claim_order("order-1", "pay-2", "pay-1")
                .await
                .expect("runs"),
            GuardClaim::Claimed
        );
        assert!(repo.release_order("order-1", "pay-2").await.expect("runs"));
        assert!(!repo.release_order("order-1", "pay-2").await.expect("runs"));
        assert_eq!(
            repo.claim_order("order-1", "pay-3", "")
                .await
                .expect("runs"),
            GuardClaim::Claimed,
            "a released guard is free again"
        );
        assert_eq!(
            repo.claim_order("order-2", "pay-4", "")
                .await
                .expect("runs"),
            GuardClaim::Claimed,
            "guards are per order"
        );
    }

    pub async fn exactly_one_of_twenty_concurrent_guard_claims_wins(repo: SharedRepository) {
        let attempts: Vec<_> = (0..20)
            .map(|n| {
                let repo = Arc::clone(&repo);
                tokio::spawn(
                    async move { repo.claim_order("order-1", &format!("pay-{n}"), "").await },
                )
            })
            .collect();
        let mut claimed = 0;
        for attempt in attempts {
            if attempt.await.expect("finishes").expect("runs") == GuardClaim::Claimed {
                claimed += 1;
            }
        }
        assert_eq!(claimed, 1);
    }

    pub async fn payments_are_listed_by_order_oldest_first_and_found_by_ids(
        repo: SharedRepository,
    ) {
        for (id, order, at) in [
            ("pay-3", "order-1", 3_000),
            ("pay-1", "order-1", 1_000),
            ("pay-2", "order-2", 2_000),
            ("pay-4", "order-3", 4_000),
        ] {
            let p = payment(id, order, PaymentState::Declined, at);
            repo.insert_payment(&p).await.expect("inserts");
        }
        let listed = repo
            .payments_for_orders(&["order-1".into(), "order-2".into(), "order-9".into()])
            .await
            .expect("runs");
        let ids: Vec<_> = listed.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["pay-1", "pay-2", "pay-3"]);
        let found = repo
            .find_payments(&["pay-4".into(), "nope".into(), "pay-1".into()])
            .await
            .expect("runs");
        let mut ids: Vec<_> = found.iter().map(|p| p.id.clone()).collect();
        ids.sort();
        assert_eq!(ids, ["pay-1", "pay-4"]);
        assert!(
            repo.payments_for_orders(&[])
                .await
                .expect("runs")
                .is_empty()
        );
        assert!(repo.find_payments(&[]).await.expect("runs").is_empty());
    }

    pub async fn the_sweeper_sees_unnotified_stale_processing_and_unleased_refunding_payments(
        repo: SharedRepository,
    ) {
        let mut unnotified = payment("pay-1", "order-1", PaymentState::Succeeded, 1_000);
        unnotified.order_notified = false;
        let notified = payment("pay-2", "order-2", PaymentState::Succeeded, 1_000);
        let stale = payment("pay-3", "order-3", PaymentState::Processing, 1_000);
        let mut leased = payment("pay-4", "order-4", PaymentState::Processing, 1_000);
        leased.lease_until_ms = 99_000;
        let young = payment("pay-5", "order-5", PaymentState::Processing, 50_000);
        // A refund asked for whose answer nobody waits for any more, however young.
        let refunding = payment("pay-6", "order-6", PaymentState::Refunding, 50_000);
        let mut refund_leased = payment("pay-7", "order-7", PaymentState::Refunding, 1_000);
        refund_leased.lease_until_ms = 99_000;
        let refunded = payment("pay-8", "order-8", PaymentState::Refunded, 1_000);
        for p in [
            &unnotified,
            &notified,
            &stale,
            &leased,
            &young,
            &refunding,
            &refund_leased,
            &refunded,
        ] {
            repo.insert_payment(p).await.expect("inserts");
        }
        let due = repo
            .payments_needing_attention(10_000, 60_000)
            .await
            .expect("runs");
        let mut ids: Vec<_> = due.iter().map(|p| p.id.clone()).collect();
        ids.sort();
        assert_eq!(ids, ["pay-1", "pay-3", "pay-6"]);
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
                    let repo = EmbeddedPaymentRepository::open(dir.path()).expect("opens");
                    cases::$case(Arc::new(repo)).await;
                }
            )*
        }

        mod mongodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = storefront_shared::testing::mongo_database("payments").await else {
                        return;
                    };
                    let repo = MongoPaymentRepository::new(db.clone()).await.expect("prepares");
                    cases::$case(Arc::new(repo)).await;
                    // Best effort: the server is shared by every test run.
                    let _ = db.drop().await;
                }
            )*
        }
    };
}

conformance!(
    an_idempotency_key_is_recorded_once_and_the_first_record_wins,
    exactly_one_of_twenty_concurrent_key_records_wins,
    a_payment_is_inserted_once_and_read_back_whole,
    updates_apply_only_while_the_condition_holds,
    exactly_one_of_twenty_concurrent_settlements_wins,
    the_order_guard_admits_one_payment_at_a_time,
    exactly_one_of_twenty_concurrent_guard_claims_wins,
    payments_are_listed_by_order_oldest_first_and_found_by_ids,
    the_sweeper_sees_unnotified_stale_processing_and_unleased_refunding_payments,
);

#[tokio::test]
async fn embedded_payments_survive_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = payment("pay-1", "order-1", PaymentState::Succeeded, 1_000);
    {
        let repo = EmbeddedPaymentRepository::open(dir.path()).expect("opens");
        repo.insert_payment(&p).await.expect("inserts");
        repo.claim_order("order-1", "pay-1", "")
            .await
            .expect("claims");
    }
    let reopened = EmbeddedPaymentRepository::open(dir.path()).expect("reopens");
    use storefront_payments::store::PaymentRepository;
    assert_eq!(reopened.find_payment("pay-1").await.expect("runs"), Some(p));
    assert!(matches!(
        reopened
            .claim_order("order-1", "pay-2", "")
            .await
            .expect("runs"),
        GuardClaim::HeldBy { .. }
    ));
}
