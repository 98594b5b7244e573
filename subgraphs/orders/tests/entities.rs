//! `_entities` for `Order` references: batched into one store call, answered in
//! representation order, null for unknown ids, and only for those who may see them.

mod common;

use std::sync::Arc;

use async_graphql::{Request, Variables};
use common::{CountingRepository, SERVICE_TOKEN, TokenSigner, json_of};
use serde_json::{Value, json};
use storefront_orders::domain::{
    MAX_AMOUNT, Money, Order, OrderItem, OrderLimits, OrderRequest, OrderState, Pricing,
    Transition, now_ms,
};
use storefront_orders::settings::OrdersSettings;
use storefront_orders::store::{EmbeddedOrderRepository, SharedRepository};
use storefront_orders::{AppState, Peers};
use storefront_shared::auth::Role;
use storefront_shared::settings::Secret;

const ENTITIES: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Order { id status total { amount currency } buyer { id } items { product { sku } quantity } } } }";

struct Fixture {
    state: AppState,
    repo: SharedRepository,
    counting: Arc<CountingRepository>,
    signer: TokenSigner,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded: SharedRepository =
        Arc::new(EmbeddedOrderRepository::open(dir.path()).expect("opens"));
    let counting = Arc::new(CountingRepository::new(Arc::clone(&embedded)));
    let signer = TokenSigner::new();
    let peers = Peers {
        inventory_url: "http://127.0.0.1:9/graphql".into(),
        payments_url: "http://127.0.0.1:9/graphql".into(),
    };
    let state = AppState::new(
        counting.clone(),
        &OrdersSettings::default(),
        &peers,
        Secret::new(SERVICE_TOKEN),
        signer.authenticator(),
    )
    .expect("state");
    Fixture {
        state,
        repo: embedded,
        counting,
        signer,
        _dir: dir,
    }
}

/// A PENDING_PAYMENT order of `buyer` stored directly.
async fn pending(repo: &SharedRepository, buyer: &str, amount: i64) -> Order {
    let limits = OrderLimits {
        max_quantity_per_line: 100,
        max_lines: 50,
    };
    let request = OrderRequest::parse([("MUG", 1)], limits).expect("valid");
    let order = Order::intent(buyer, &request, now_ms());
    repo.insert(&order).await.expect("inserts");
    let mut change = Transition::new(OrderState::Creating, OrderState::PendingPayment, now_ms());
    change.pricing = Some(
        Pricing::of(
            vec![OrderItem {
                sku: "MUG".into(),
                quantity: 1,
                unit_price: Money {
                    amount,
                    currency: "USD".into(),
                },
            }],
            MAX_AMOUNT,
        )
        .expect("priced"),
    );
    change.expires_at_ms = Some(now_ms() + 60_000);
    repo.transition(&order.id, &change)
        .await
        .expect("runs")
        .expect("applies")
}

fn representations(ids: &[&str]) -> Value {
    let list: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "__typename": "Order", "id": id }))
        .collect();
    json!({ "representations": list })
}

async fn entities(fixture: &Fixture, ids: &[&str], token: Option<&str>) -> async_graphql::Response {
    let authenticator = fixture.state.authenticator();
    let header = token.map(|t| format!("Bearer {t}"));
    let viewer = authenticator.viewer(header.as_deref()).await;
    let request = Request::new(ENTITIES)
        .variables(Variables::from_json(representations(ids)))
        .data(viewer);
    fixture.state.schema().execute(request).await
}

#[tokio::test]
async fn five_order_references_cost_one_store_call_in_representation_order() {
    let fixture = fixture();
    let mut ids = Vec::new();
    for n in 0..4 {
        let order = pending(&fixture.repo, "ada", 100 + n).await;
        ids.push(order.id.to_string());
    }
    fixture.counting.reset();

    let wanted = [
        ids[3].as_str(),
        ids[1].as_str(),
        "0190c5e4-0000-7000-8000-000000000000",
        ids[0].as_str(),
        ids[2].as_str(),
    ];
    let admin = fixture.signer.token("admin-1", Role::Admin);
    let response = entities(&fixture, &wanted, Some(&admin)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(fixture.counting.calls(), 1, "exactly one store call");
    assert_eq!(fixture.counting.batch_calls(), 1, "and it is find_by_ids");

    let entities = json_of(&response)["data"]["_entities"].clone();
    let got: Vec<Value> = entities
        .as_array()
        .expect("a list")
        .iter()
        .map(|entity| entity["id"].clone())
        .collect();
    let expected = vec![
        json!(ids[3]),
        json!(ids[1]),
        Value::Null,
        json!(ids[0]),
        json!(ids[2]),
    ];
    assert_eq!(got, expected);
    assert_eq!(
        entities[0]["total"],
        json!({ "amount": 103, "currency": "USD" })
    );
    assert_eq!(entities[0]["status"], "PENDING_PAYMENT");
    assert_eq!(entities[0]["buyer"]["id"], "ada");
    assert_eq!(entities[0]["items"][0]["product"]["sku"], "MUG");
}

#[tokio::test]
async fn order_references_are_for_the_buyer_an_admin_or_a_service() {
    let fixture = fixture();
    let order = pending(&fixture.repo, "ada", 100).await;
    let id = order.id.to_string();

    let ada = fixture.signer.token("ada", Role::Customer);
    let own = entities(&fixture, &[&id], Some(&ada)).await;
    assert!(own.errors.is_empty(), "{:?}", own.errors);
    assert_eq!(json_of(&own)["data"]["_entities"][0]["id"], json!(id));

    let bob = fixture.signer.token("bob", Role::Customer);
    let other = entities(&fixture, &[&id], Some(&bob)).await;
    assert_eq!(other.errors.len(), 1, "{:?}", other.errors);
    assert_eq!(
        json_of(&other)["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );

    let authenticator = fixture.state.authenticator();
    let request = Request::new(ENTITIES)
        .variables(Variables::from_json(representations(&[&id])))
        .data(authenticator.viewer(None).await)
        .data(authenticator.service_caller(Some(SERVICE_TOKEN.as_bytes())));
    let service = fixture.state.schema().execute(request).await;
    assert!(service.errors.is_empty(), "{:?}", service.errors);
}

#[tokio::test]
async fn orders_still_being_created_do_not_resolve() {
    let fixture = fixture();
    let limits = OrderLimits {
        max_quantity_per_line: 100,
        max_lines: 50,
    };
    let request = OrderRequest::parse([("MUG", 1)], limits).expect("valid");
    let intent = Order::intent("ada", &request, now_ms());
    fixture.repo.insert(&intent).await.expect("inserts");
    let admin = fixture.signer.token("admin-1", Role::Admin);
    let response = entities(&fixture, &[intent.id.as_str()], Some(&admin)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(json_of(&response)["data"]["_entities"][0], Value::Null);
}
