//! The internal stock operations and batched entity resolution, executed against the
//! schema directly.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::{Caller, RESERVE, code, harness, message};

#[tokio::test]
async fn internal_operations_need_the_service_credential() {
    let h = harness().await;
    let reserve = json!({ "orderId": "o-1", "lines": [{ "sku": "MUG-1", "quantity": 1 }] });
    for caller in [Caller::Anonymous, Caller::Customer, Caller::Admin] {
        assert_eq!(
            code(&h.execute(caller, RESERVE, reserve.clone()).await),
            "UNAUTHENTICATED"
        );
        for op in ["releaseStock", "commitStock"] {
            let query = format!("mutation {{ {op}(orderId: \"o-1\") {{ status }} }}");
            assert_eq!(
                code(&h.execute(caller, &query, json!({})).await),
                "UNAUTHENTICATED",
                "{op}"
            );
        }
    }
    let mug = h
        .execute(
            Caller::Anonymous,
            "{ product(sku: \"MUG-1\") { stock } }",
            json!({}),
        )
        .await;
    assert_eq!(mug["data"]["product"]["stock"], 10, "nothing was reserved");
}

#[tokio::test]
async fn the_orders_service_reserves_commits_and_releases_stock() {
    let h = harness().await;
    let stock = |sku: &'static str| {
        let query = format!("{{ product(sku: \"{sku}\") {{ stock }} }}");
        let h = &h;
        async move {
            h.execute(Caller::Anonymous, &query, json!({})).await["data"]["product"]["stock"]
                .as_i64()
        }
    };
    let lines = json!([{ "sku": "mug-1", "quantity": 2 }, { "sku": "TEE-1", "quantity": 1 }, { "sku": "MUG-1", "quantity": 1 }]);
    let reserved = h
        .execute(
            Caller::Service,
            RESERVE,
            json!({ "orderId": "o-1", "lines": lines }),
        )
        .await;
    assert_eq!(
        reserved["data"]["reserveStock"],
        json!({ "orderId": "o-1", "status": "RESERVED", "lines": [
            { "sku": "MUG-1", "quantity": 3, "unitPrice": { "amount": 1250, "currency": "USD" } },
            { "sku": "TEE-1", "quantity": 1, "unitPrice": { "amount": 2900, "currency": "USD" } },
        ] }),
        "{reserved}"
    );
    assert_eq!(
        stock("MUG-1").await,
        Some(7),
        "reserved units are not in stock"
    );
    let again = h
        .execute(
            Caller::Service,
            RESERVE,
            json!({ "orderId": "o-1", "lines": lines }),
        )
        .await;
    assert_eq!(again["data"], reserved["data"], "idempotent");
    let other = json!({ "orderId": "o-1", "lines": [{ "sku": "MUG-1", "quantity": 1 }] });
    assert_eq!(
        code(&h.execute(Caller::Service, RESERVE, other).await),
        "CONFLICT"
    );

    let short = h.execute(Caller::Service, RESERVE, json!({ "orderId": "o-2", "lines": [{ "sku": "MUG-1", "quantity": 1 }, { "sku": "CAP-1", "quantity": 4 }] })).await;
    assert_eq!(code(&short), "INSUFFICIENT_STOCK");
    assert!(message(&short).contains("CAP-1"), "{short}");
    assert_eq!(short["errors"][0]["extensions"]["sku"], "CAP-1");
    assert_eq!(stock("MUG-1").await, Some(7), "nothing stays reserved");
    let unknown = h
        .execute(
            Caller::Service,
            RESERVE,
            json!({ "orderId": "o-3", "lines": [{ "sku": "GHOST", "quantity": 1 }] }),
        )
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND");
    assert!(message(&unknown).contains("GHOST"));
    for bad in [json!([]), json!([{ "sku": "MUG-1", "quantity": 0 }])] {
        let response = h
            .execute(
                Caller::Service,
                RESERVE,
                json!({ "orderId": "o-4", "lines": bad }),
            )
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT");
    }

    let commit = "mutation { commitStock(orderId: \"o-1\") { status } }";
    assert_eq!(
        h.execute(Caller::Service, commit, json!({})).await["data"]["commitStock"]["status"],
        "COMMITTED"
    );
    assert_eq!(stock("MUG-1").await, Some(7));
    let release = "mutation { releaseStock(orderId: \"o-1\") { status } }";
    assert_eq!(
        h.execute(Caller::Service, release, json!({})).await["data"]["releaseStock"]["status"],
        "RELEASED"
    );
    assert_eq!(
        stock("MUG-1").await,
        Some(10),
        "a cancelled sale returns its units"
    );
    let reserve_again = h
        .execute(
            Caller::Service,
            RESERVE,
            json!({ "orderId": "o-1", "lines": lines }),
        )
        .await;
    assert_eq!(code(&reserve_again), "INVALID_STATE");
    assert_eq!(
        code(
            &h.execute(
                Caller::Service,
                "mutation { commitStock(orderId: \"o-9\") { status } }",
                json!({})
            )
            .await
        ),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn entities_resolve_many_products_with_one_store_call_in_representation_order() {
    let h = harness().await;
    let query = "query($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on Product { sku name stock } }
    }";
    let representations: Vec<Value> = ["TEE-1", "MUG-1", "GHOST", "SOCK-1", "CAP-1"]
        .iter()
        .map(|sku| json!({ "__typename": "Product", "sku": sku }))
        .collect();
    let response = h
        .execute(
            Caller::Anonymous,
            query,
            json!({ "representations": representations }),
        )
        .await;
    let entities = response["data"]["_entities"].as_array().expect("entities");
    let found: Vec<Value> = entities.iter().map(|e| e["sku"].clone()).collect();
    assert_eq!(
        found,
        [
            json!("TEE-1"),
            json!("MUG-1"),
            Value::Null,
            json!("SOCK-1"),
            json!("CAP-1")
        ],
        "{response}"
    );
    assert_eq!(entities[2], Value::Null, "unknown skus resolve to null");
    assert_eq!(
        h.counting.get_many_calls.load(Ordering::SeqCst),
        1,
        "one batched store call"
    );
    assert_eq!(h.counting.get_calls.load(Ordering::SeqCst), 0);
}
