//! The schema the payments subgraph serves: it must equal the committed
//! `schema/payments.graphql`, and must have every name API.md promises.

mod common;

use async_graphql::SDLExportOptions;
use common::{TestService, json};
use serde_json::json;
use storefront_shared::testing::{assert_has, assert_schema_file_is_current, sdl_block as block};

/// The federation SDL that `_service { sdl }` returns (what the router composes).
async fn served_sdl() -> String {
    let service = TestService::new().await;
    let response = service
        .execute("{ _service { sdl } }", json!({}), None)
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    json(&response)["data"]["_service"]["sdl"]
        .as_str()
        .expect("sdl string")
        .to_owned()
}

#[tokio::test]
async fn served_sdl_matches_the_committed_schema_file() {
    let sdl = served_sdl().await;
    assert_schema_file_is_current("payments", &sdl);
}

#[tokio::test]
async fn served_sdl_equals_the_exported_federation_sdl() {
    let service = TestService::new().await;
    let exported = service
        .state
        .schema()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive());
    assert_eq!(served_sdl().await, exported);
}

#[tokio::test]
async fn the_schema_has_every_payments_name_and_type_api_md_promises() {
    let sdl = served_sdl().await;
    assert!(sdl.contains("scalar DateTime"), "{sdl}");

    let status = block(&sdl, "enum", "PaymentStatus");
    for value in ["SUCCEEDED", "DECLINED", "REFUNDED"] {
        assert_has(&status, value);
    }
    assert!(!status.contains("PROCESSING"), "PROCESSING is internal");

    let payment = block(&sdl, "type", "Payment");
    assert_has(&payment, r#"@key(fields: "id")"#);
    for field in [
        "id: ID!",
        "order: Order!",
        "amount: Money!",
        "status: PaymentStatus!",
        "providerReference: String",
        "createdAt: DateTime!",
    ] {
        assert_has(&payment, field);
    }
    assert!(!payment.contains("providerReference: String!"));

    let money = block(&sdl, "type", "Money");
    assert_has(&money, "@shareable");
    assert_has(&money, "amount: Int!");
    assert_has(&money, "currency: String!");

    let order = block(&sdl, "type", "Order");
    assert_has(&order, r#"@key(fields: "id")"#);
    assert_has(&order, "id: ID!");
    assert_has(&order, "payment: Payment");
    assert!(
        !order.contains("payment: Payment!"),
        "Order.payment must be nullable"
    );

    let mutation = block(&sdl, "type", "Mutation");
    assert_has(
        &mutation,
        "payOrder(orderId: ID!, paymentToken: String!, idempotencyKey: String!): Payment!",
    );
    assert_has(
        &mutation,
        "refundOrderPayment(orderId: ID!): RefundResult! @inaccessible",
    );
    let refund = block(&sdl, "type", "RefundResult");
    assert_has(&refund, "@inaccessible");
    assert_has(&refund, "refunded: Boolean!");

    assert!(
        sdl.contains("https://specs.apollo.dev/federation/v2"),
        "Federation v2 link is missing:\n{sdl}"
    );
}
