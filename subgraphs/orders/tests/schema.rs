//! The schema the orders subgraph serves: it must equal the committed
//! `schema/orders.graphql`, and must have every name API.md promises.

mod common;

use async_graphql::SDLExportOptions;
use common::{TestEnv, json_of};
use serde_json::json;
use storefront_shared::testing::{assert_has, assert_schema_file_is_current, sdl_block as block};

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
    assert_schema_file_is_current("orders", &sdl);
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
        "orders(first: Int = 20, after: String, status: OrderStatus): OrderConnection!",
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
        "myOrders(first: Int = 20, after: String, status: OrderStatus): OrderConnection!",
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
