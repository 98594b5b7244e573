//! The schema the orders subgraph serves: it must equal the committed
//! `schema/orders.graphql`, and must have every name API.md promises.

mod common;

use std::path::PathBuf;

use async_graphql::SDLExportOptions;
use common::{TestEnv, json_of};
use serde_json::json;

const REFRESH: &str = "UPDATE_SCHEMA=1 cargo test -p storefront-orders --test schema";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/orders.graphql")
}

/// The federation SDL that `_service { sdl }` returns (what the router composes).
async fn served_sdl(env: &TestEnv) -> String {
    let response = env.execute("{ _service { sdl } }", json!({}), None).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    json_of(&response)["data"]["_service"]["sdl"]
        .as_str()
        .expect("sdl string")
        .to_owned()
}

#[tokio::test]
async fn served_sdl_matches_the_committed_schema_file() {
    let sdl = served_sdl(&TestEnv::new().await).await;
    let path = committed_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &sdl).expect("writes schema/orders.graphql");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema/orders.graphql is out of date with the orders subgraph.\n\
         If the change is intended, refresh it with:\n    {REFRESH}\n\
         and commit the result.\n--- served SDL ---\n{sdl}"
    );
}

#[tokio::test]
async fn served_sdl_equals_the_exported_federation_sdl() {
    let env = TestEnv::new().await;
    let exported = env
        .state
        .schema()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive());
    assert_eq!(served_sdl(&env).await, exported);
}

/// The text of `type Name ... { ... }` (or `input`/`enum`), with spaces collapsed.
fn block(sdl: &str, keyword: &str, name: &str) -> String {
    let start = sdl
        .find(&format!("{keyword} {name} "))
        .or_else(|| sdl.find(&format!("{keyword} {name}\n")))
        .unwrap_or_else(|| panic!("the SDL has no {keyword} {name}:\n{sdl}"));
    let rest = &sdl[start..];
    let end = rest.find('}').map_or(rest.len(), |i| i + 1);
    rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_has(block: &str, needle: &str) {
    assert!(block.contains(needle), "expected `{needle}` in:\n{block}");
}

/// The field line of `field` in a collapsed block, up to the next field.
fn field<'a>(block: &'a str, field: &str) -> &'a str {
    let start = block
        .find(&format!(" {field}"))
        .unwrap_or_else(|| panic!("no field {field} in {block}"));
    &block[start..]
}

#[tokio::test]
async fn the_schema_has_every_orders_name_and_type_api_md_promises() {
    let sdl = served_sdl(&TestEnv::new().await).await;
    assert!(
        sdl.contains("https://specs.apollo.dev/federation/v2"),
        "Federation v2 link is missing:\n{sdl}"
    );
    assert!(sdl.contains("scalar DateTime"), "{sdl}");

    let status = block(&sdl, "enum", "OrderStatus");
    for value in ["PENDING_PAYMENT", "PAID", "CANCELLED"] {
        assert_has(&status, value);
    }

    let order = block(&sdl, "type", "Order");
    assert_has(&order, r#"@key(fields: "id")"#);
    for line in [
        "id: ID!",
        "buyer: User!",
        "items: [OrderItem!]!",
        "status: OrderStatus!",
        "total: Money!",
        "createdAt: DateTime!",
    ] {
        assert_has(&order, line);
    }
    assert!(
        !order.contains("payment"),
        "Order.payment belongs to payments"
    );

    let item = block(&sdl, "type", "OrderItem");
    for line in [
        "product: Product!",
        "quantity: Int!",
        "unitPrice: Money!",
        "subtotal: Money!",
    ] {
        assert_has(&item, line);
    }
    assert_has(&block(&sdl, "type", "OrderEdge"), "cursor: String!");
    assert_has(&block(&sdl, "type", "OrderEdge"), "node: Order!");
    let connection = block(&sdl, "type", "OrderConnection");
    assert_has(&connection, "edges: [OrderEdge!]!");
    assert_has(&connection, "pageInfo: PageInfo!");
    let input = block(&sdl, "input", "OrderItemInput");
    assert_has(&input, "sku: ID!");
    assert_has(&input, "quantity: Int!");

    let money = block(&sdl, "type", "Money");
    assert_has(&money, "@shareable");
    assert_has(&money, "amount: Int!");
    assert_has(&money, "currency: String!");
    let page_info = block(&sdl, "type", "PageInfo");
    assert_has(&page_info, "@shareable");
    assert_has(&page_info, "hasNextPage: Boolean!");
    assert_has(&page_info, "endCursor: String");

    let user = block(&sdl, "type", "User");
    assert_has(&user, r#"@key(fields: "id")"#);
    assert_has(
        &user,
        "orders(first: Int = 20, after: String): OrderConnection!",
    );
    let product = block(&sdl, "type", "Product");
    assert_has(&product, r#"@key(fields: "sku", resolvable: false)"#);
    assert_has(&product, "sku: ID!");

    let query = block(&sdl, "type", "Query");
    assert_has(&query, "order(id: ID!): Order");
    assert!(
        !query.contains("order(id: ID!): Order!"),
        "order is nullable"
    );
    assert_has(
        &query,
        "myOrders(first: Int = 20, after: String): OrderConnection!",
    );
    let mutation = block(&sdl, "type", "Mutation");
    assert_has(&mutation, "createOrder(items: [OrderItemInput!]!): Order!");
    assert_has(&mutation, "cancelOrder(id: ID!): Order!");
}

#[tokio::test]
async fn internal_operations_are_inaccessible() {
    let sdl = served_sdl(&TestEnv::new().await).await;
    let query = block(&sdl, "type", "Query");
    assert!(
        field(&query, "orderForPayment(id: ID!): PayableOrder").contains("@inaccessible"),
        "{query}"
    );
    let mutation = block(&sdl, "type", "Mutation");
    assert!(
        field(
            &mutation,
            "markOrderPaid(orderId: ID!, paymentId: ID!): Order!"
        )
        .starts_with(" markOrderPaid(orderId: ID!, paymentId: ID!): Order! @inaccessible"),
        "{mutation}"
    );
    assert_has(&block(&sdl, "type", "PayableOrder"), "@inaccessible");
}
