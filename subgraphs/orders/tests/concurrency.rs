//! Many buyers at once never oversell: 100 concurrent orders of one unit against
//! a stock of 30 give exactly 30 orders and a stock of 0, on both stores.

mod common;

use std::sync::Arc;

use common::{Backend, TestEnv, json_of};
use storefront_orders::settings::OrdersSettings;
use storefront_shared::auth::Role;

const BUYERS: usize = 100;
const STOCK: i64 = 30;

async fn hundred_buyers_for_thirty_units(env: TestEnv) {
    let env = Arc::new(env);
    env.product("HOT", 500, STOCK).await;
    let attempts: Vec<_> = (0..BUYERS)
        .map(|n| {
            let env = Arc::clone(&env);
            tokio::spawn(async move {
                let token = env.signer.token(&format!("buyer-{n}"), Role::Customer);
                env.create(&token, &[("HOT", 1)]).await
            })
        })
        .collect();
    let mut placed = 0;
    let mut short = 0;
    for attempt in attempts {
        let response = attempt.await.expect("the task finishes");
        match response.errors.first() {
            None => placed += 1,
            Some(_) => {
                let code = json_of(&response)["errors"][0]["extensions"]["code"].clone();
                assert_eq!(code, "INSUFFICIENT_STOCK", "{:?}", response.errors);
                short += 1;
            }
        }
    }
    assert_eq!((placed, short), (30, 70));
    assert_eq!(env.stock("HOT").await, 0);

    let admin = env.admin();
    let mut visible = 0;
    for n in 0..BUYERS {
        let query = format!(
            "{{ _entities(representations: [{{ __typename: \"User\", id: \"buyer-{n}\" }}]) {{ ... on User {{ orders {{ edges {{ node {{ status }} }} }} }} }} }}"
        );
        let response = env
            .execute(&query, serde_json::json!({}), Some(&admin))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let edges = json_of(&response)["data"]["_entities"][0]["orders"]["edges"].clone();
        visible += edges.as_array().expect("edges").len();
    }
    assert_eq!(visible, 30, "exactly the placed orders are visible");
}

fn settings() -> OrdersSettings {
    OrdersSettings {
        call_timeout: std::time::Duration::from_secs(60),
        ..OrdersSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_orders_never_oversell_on_the_embedded_stores() {
    let env = TestEnv::with(Backend::Embedded, settings())
        .await
        .expect("embedded stores");
    hundred_buyers_for_thirty_units(env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_orders_never_oversell_on_mongodb() {
    let Some(env) = TestEnv::with(Backend::Mongo, settings()).await else {
        return;
    };
    hundred_buyers_for_thirty_units(env).await;
}
