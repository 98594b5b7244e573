//! The orders API as clients use it, against a real inventory: placing,
//! reading, listing and cancelling orders, and who may do what.

mod common;

use common::{CANCEL, FOR_PAYMENT, MARK_PAID, MY_ORDERS, ORDER, TestEnv, json_of, single_error};
use serde_json::{Value, json};

#[tokio::test]
async fn create_order_reserves_stock_and_snapshots_prices() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    env.product("TEE", 1999, 5).await;
    let token = env.customer("ada");

    let order = env
        .create_ok(&token, &[("mug", 2), ("TEE", 1), ("MUG", 1)])
        .await;

    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(order["buyer"]["id"], "ada");
    let created =
        chrono::DateTime::parse_from_rfc3339(order["createdAt"].as_str().expect("createdAt"))
            .expect("RFC 3339");
    let expires =
        chrono::DateTime::parse_from_rfc3339(order["expiresAt"].as_str().expect("expiresAt"))
            .expect("RFC 3339");
    assert_eq!(
        (expires - created).num_minutes(),
        30,
        "the default order_ttl"
    );
    assert_eq!(
        order["total"],
        json!({ "amount": 3 * 1250 + 1999, "currency": "USD" })
    );
    let items = order["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "repeated skus are merged: {items:?}");
    assert_eq!(items[0]["product"]["sku"], "MUG");
    assert_eq!(items[0]["quantity"], 3);
    assert_eq!(
        items[0]["unitPrice"],
        json!({ "amount": 1250, "currency": "USD" })
    );
    assert_eq!(
        items[0]["subtotal"],
        json!({ "amount": 3750, "currency": "USD" })
    );
    assert_eq!(items[1]["product"]["sku"], "TEE");
    assert_eq!(env.stock("MUG").await, 7);
    assert_eq!(env.stock("TEE").await, 4);

    let id = order["id"].as_str().expect("id");
    assert_eq!(
        env.reservation_status(id).await.as_deref(),
        Some("Reserved")
    );
    let read = env.execute(ORDER, json!({ "id": id }), Some(&token)).await;
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(json_of(&read)["data"]["order"]["total"]["amount"], 5749);
}

#[tokio::test]
async fn insufficient_stock_names_the_sku_and_leaves_nothing_reserved() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    env.product("TEE", 1999, 1).await;
    let token = env.customer("ada");

    let response = env.create(&token, &[("MUG", 2), ("TEE", 2)]).await;

    let (code, message) = single_error(&response);
    assert_eq!(code, "INSUFFICIENT_STOCK");
    assert!(message.contains("TEE"), "{message}");
    assert_eq!(json_of(&response)["errors"][0]["extensions"]["sku"], "TEE");
    assert_eq!(env.stock("MUG").await, 10, "the other line is not held");
    assert_eq!(env.stock("TEE").await, 1);
    let mine = env.execute(MY_ORDERS, json!({}), Some(&token)).await;
    assert_eq!(json_of(&mine)["data"]["myOrders"]["edges"], json!([]));
}

#[tokio::test]
async fn empty_orders_and_bad_quantities_are_bad_user_input() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10_000).await;
    let token = env.customer("ada");
    let cases: [&[(&str, i64)]; 6] = [
        &[],
        &[("MUG", 0)],
        &[("MUG", -3)],
        &[("MUG", 101)],
        &[("MUG", 2_000_000_000)],
        &[("   ", 1)],
    ];
    for lines in cases {
        let response = env.create(&token, lines).await;
        let (code, message) = single_error(&response);
        assert_eq!(code, "BAD_USER_INPUT", "{lines:?}: {message}");
    }
    let too_many: Vec<(String, i64)> = (0..51).map(|n| (format!("SKU-{n}"), 1)).collect();
    let lines: Vec<(&str, i64)> = too_many.iter().map(|(s, q)| (s.as_str(), *q)).collect();
    let (code, _) = single_error(&env.create(&token, &lines).await);
    assert_eq!(code, "BAD_USER_INPUT");
    assert_eq!(env.stock("MUG").await, 10_000);
}

#[tokio::test]
async fn an_unknown_sku_is_not_found() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    let response = env
        .create(&env.customer("ada"), &[("MUG", 1), ("NOPE", 1)])
        .await;
    let (code, message) = single_error(&response);
    assert_eq!(code, "NOT_FOUND");
    assert!(message.contains("NOPE"), "{message}");
    assert_eq!(env.stock("MUG").await, 10);
}

#[tokio::test]
async fn placing_an_order_needs_a_logged_in_user() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    let response = env
        .execute(
            common::CREATE,
            json!({ "items": [{ "sku": "MUG", "quantity": 1 }] }),
            None,
        )
        .await;
    assert_eq!(single_error(&response).0, "UNAUTHENTICATED");
    let forged = env
        .execute(
            common::CREATE,
            json!({ "items": [{ "sku": "MUG", "quantity": 1 }] }),
            Some("not-a-token"),
        )
        .await;
    assert_eq!(single_error(&forged).0, "UNAUTHENTICATED");
    assert_eq!(env.stock("MUG").await, 10);
}

#[tokio::test]
async fn another_users_order_is_forbidden_but_an_admin_may_see_it() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    let order = env.create_ok(&env.customer("ada"), &[("MUG", 1)]).await;
    let id = order["id"].clone();
    let bob = env.customer("bob");

    let read = env.execute(ORDER, json!({ "id": id }), Some(&bob)).await;
    assert_eq!(single_error(&read).0, "FORBIDDEN");
    let cancel = env.execute(CANCEL, json!({ "id": id }), Some(&bob)).await;
    assert_eq!(single_error(&cancel).0, "FORBIDDEN");
    assert_eq!(env.stock("MUG").await, 9, "bob's cancel released nothing");

    let admin = env
        .execute(ORDER, json!({ "id": id }), Some(&env.admin()))
        .await;
    assert!(admin.errors.is_empty(), "{:?}", admin.errors);
    assert_eq!(json_of(&admin)["data"]["order"]["buyer"]["id"], "ada");
}

#[tokio::test]
async fn unknown_order_ids_are_not_found_and_malformed_ones_bad_input() {
    let env = TestEnv::new().await;
    let token = env.customer("ada");
    let unknown = env
        .execute(
            ORDER,
            json!({ "id": "0190c5e4-0000-7000-8000-000000000000" }),
            Some(&token),
        )
        .await;
    assert_eq!(single_error(&unknown).0, "NOT_FOUND");
    let malformed = env
        .execute(ORDER, json!({ "id": "not-an-id" }), Some(&token))
        .await;
    assert_eq!(single_error(&malformed).0, "BAD_USER_INPUT");
    let anonymous = env.execute(ORDER, json!({ "id": "not-an-id" }), None).await;
    assert_eq!(single_error(&anonymous).0, "UNAUTHENTICATED");
}

#[tokio::test]
async fn cancel_releases_the_stock_and_a_second_cancel_is_invalid_state() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    let token = env.customer("ada");
    let order = env.create_ok(&token, &[("MUG", 4)]).await;
    let id = order["id"].as_str().expect("id").to_owned();
    assert_eq!(env.stock("MUG").await, 6);

    let cancel = env.execute(CANCEL, json!({ "id": id }), Some(&token)).await;
    assert!(cancel.errors.is_empty(), "{:?}", cancel.errors);
    assert_eq!(
        json_of(&cancel)["data"]["cancelOrder"]["status"],
        "CANCELLED"
    );
    assert_eq!(env.stock("MUG").await, 10);
    assert_eq!(
        env.reservation_status(&id).await.as_deref(),
        Some("Released")
    );

    let again = env.execute(CANCEL, json!({ "id": id }), Some(&token)).await;
    assert_eq!(single_error(&again).0, "INVALID_STATE");
    assert_eq!(env.stock("MUG").await, 10);
}

#[tokio::test]
async fn an_admin_may_cancel_anyones_order() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    let order = env.create_ok(&env.customer("ada"), &[("MUG", 2)]).await;
    let cancel = env
        .execute(CANCEL, json!({ "id": order["id"] }), Some(&env.admin()))
        .await;
    assert!(cancel.errors.is_empty(), "{:?}", cancel.errors);
    assert_eq!(env.stock("MUG").await, 10);
}

fn ids(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn my_orders_pages_through_the_callers_orders_newest_first() {
    let env = TestEnv::new().await;
    env.product("MUG", 100, 100).await;
    let ada = env.customer("ada");
    let mut placed = Vec::new();
    for _ in 0..5 {
        let order = env.create_ok(&ada, &[("MUG", 1)]).await;
        placed.push(order["id"].as_str().expect("id").to_owned());
    }
    env.create_ok(&env.customer("bob"), &[("MUG", 1)]).await;
    placed.reverse();

    let first = env
        .execute(MY_ORDERS, json!({ "first": 2 }), Some(&ada))
        .await;
    let first = json_of(&first)["data"]["myOrders"].clone();
    assert_eq!(ids(&first), placed[..2]);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);

    let rest = env
        .execute(
            MY_ORDERS,
            json!({ "first": 10, "after": first["pageInfo"]["endCursor"] }),
            Some(&ada),
        )
        .await;
    let rest = json_of(&rest)["data"]["myOrders"].clone();
    assert_eq!(ids(&rest), placed[2..]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    let bad = env
        .execute(MY_ORDERS, json!({ "first": 0 }), Some(&ada))
        .await;
    assert_eq!(single_error(&bad).0, "BAD_USER_INPUT");
    let bad_cursor = env
        .execute(MY_ORDERS, json!({ "after": "nope" }), Some(&ada))
        .await;
    assert_eq!(single_error(&bad_cursor).0, "BAD_USER_INPUT");
}

const USER_ORDERS: &str = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id orders(first: 5) { edges { node { id buyer { id } } } } } } }";

#[tokio::test]
async fn user_orders_are_for_that_user_or_an_admin_only() {
    let env = TestEnv::new().await;
    env.product("MUG", 100, 10).await;
    let order = env.create_ok(&env.customer("ada"), &[("MUG", 1)]).await;
    let reps = json!({ "reps": [{ "__typename": "User", "id": "ada" }] });

    let own = env
        .execute(USER_ORDERS, reps.clone(), Some(&env.customer("ada")))
        .await;
    assert!(own.errors.is_empty(), "{:?}", own.errors);
    let edges = json_of(&own)["data"]["_entities"][0]["orders"]["edges"].clone();
    assert_eq!(edges[0]["node"]["id"], order["id"]);

    let admin = env
        .execute(USER_ORDERS, reps.clone(), Some(&env.admin()))
        .await;
    assert!(admin.errors.is_empty(), "{:?}", admin.errors);

    let bob = env
        .execute(USER_ORDERS, reps, Some(&env.customer("bob")))
        .await;
    assert_eq!(single_error(&bob).0, "FORBIDDEN");
}

#[tokio::test]
async fn internal_operations_need_the_service_credential() {
    let env = TestEnv::new().await;
    env.product("MUG", 100, 10).await;
    let token = env.customer("ada");
    let order = env.create_ok(&token, &[("MUG", 1)]).await;
    let vars = json!({ "orderId": order["id"], "paymentId": "pay-1" });

    for caller in [None, Some(token.as_str()), Some(&env.admin())] {
        let paid = env.execute(MARK_PAID, vars.clone(), caller).await;
        assert_eq!(single_error(&paid).0, "UNAUTHENTICATED");
        let read = env
            .execute(FOR_PAYMENT, json!({ "id": order["id"] }), caller)
            .await;
        assert_eq!(single_error(&read).0, "UNAUTHENTICATED");
    }
    assert_eq!(
        env.stored(order["id"].as_str().expect("id"))
            .await
            .payment_id,
        None
    );
}

async fn post(
    app: axum::Router,
    body: Value,
    headers: &[(&str, &str)],
) -> (axum::http::StatusCode, Value) {
    let mut request =
        axum::http::Request::post("/graphql").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(axum::body::Body::from(body.to_string()))
        .expect("request");
    storefront_shared::testing::send(app, request).await
}

#[tokio::test]
async fn http_callers_are_known_by_their_token_and_service_credential() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    let app = storefront_orders::app(env.state.clone());
    let bearer = format!("Bearer {}", env.customer("ada"));
    let create = json!({
        "query": common::CREATE,
        "variables": { "items": [{ "sku": "MUG", "quantity": 2 }] },
    });
    let (status, body) = post(app.clone(), create, &[("authorization", &bearer)]).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    let id = body["data"]["createOrder"]["id"].clone();
    assert!(id.is_string(), "{body}");

    let for_payment = json!({ "query": FOR_PAYMENT, "variables": { "id": id } });
    let (_, body) = post(
        app.clone(),
        for_payment.clone(),
        &[(
            storefront_shared::auth::SERVICE_TOKEN_HEADER,
            common::SERVICE_TOKEN,
        )],
    )
    .await;
    assert_eq!(
        body["data"]["orderForPayment"]["total"]["amount"], 2500,
        "{body}"
    );
    let (_, body) = post(
        app.clone(),
        for_payment,
        &[(storefront_shared::auth::SERVICE_TOKEN_HEADER, "wrong")],
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    for probe in ["/health", "/ready"] {
        use tower::ServiceExt;
        let response = app
            .clone()
            .oneshot(
                axum::http::Request::get(probe)
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert_eq!(response.status(), axum::http::StatusCode::OK, "{probe}");
    }
}

#[tokio::test]
async fn mixed_currencies_are_bad_input_and_release_what_was_reserved() {
    let env = TestEnv::new().await;
    env.product("MUG", 1250, 10).await;
    env.product_in("CUP", 900, "EUR", 10).await;
    let token = env.customer("ada");
    let response = env.create(&token, &[("MUG", 1), ("CUP", 2)]).await;
    let (code, message) = single_error(&response);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("currency"), "{message}");
    assert_eq!(env.stock("MUG").await, 10);
    assert_eq!(env.stock("CUP").await, 10);
    let mine = env.execute(MY_ORDERS, json!({}), Some(&token)).await;
    assert_eq!(json_of(&mine)["data"]["myOrders"]["edges"], json!([]));
}

#[tokio::test]
async fn a_total_above_the_money_range_is_bad_input_and_releases_the_stock() {
    // 22 × 100,000,000 cents is 2.2e9, past what `Money.amount` (Int) carries:
    // it used to be stored, shown and charged as 2,147,483,647.
    let env = TestEnv::new().await;
    env.product("TV", 100_000_000, 50).await;
    let token = env.customer("ada");

    let response = env.create(&token, &[("TV", 22)]).await;

    let (code, message) = single_error(&response);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("2147483647"), "{message}");
    assert_eq!(env.stock("TV").await, 50, "nothing stays reserved");
    let mine = env.execute(MY_ORDERS, json!({}), Some(&token)).await;
    assert_eq!(json_of(&mine)["data"]["myOrders"]["edges"], json!([]));

    // 21 units fit, and their total is shown exactly.
    let order = env.create_ok(&token, &[("TV", 21)]).await;
    assert_eq!(order["total"]["amount"], 2_100_000_000_i64);
    assert_eq!(env.stock("TV").await, 29);
}

#[tokio::test]
async fn a_configured_max_order_total_is_enforced() {
    let settings = storefront_orders::settings::OrdersSettings {
        max_order_total: 10_000,
        ..Default::default()
    };
    let env = TestEnv::with_settings(settings).await;
    env.product("MUG", 1250, 10).await;
    let token = env.customer("ada");

    let at_limit = env.create_ok(&token, &[("MUG", 8)]).await;
    assert_eq!(at_limit["total"]["amount"], 10_000);
    assert_eq!(env.stock("MUG").await, 2);
    env.product("TEE", 10_001, 1).await;
    let response = env.create(&token, &[("TEE", 1)]).await;
    let (code, message) = single_error(&response);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("10000"), "{message}");
    assert_eq!(env.stock("TEE").await, 1);
}

#[test]
fn a_max_order_total_outside_the_money_range_stops_start_up() {
    use storefront_orders::flow::Policy;
    use storefront_orders::settings::OrdersSettings;
    for bad in [0, -1, 2_147_483_648] {
        let settings = OrdersSettings {
            max_order_total: bad,
            ..Default::default()
        };
        let error = Policy::try_from(&settings).expect_err("refused");
        assert!(error.to_string().contains("max_order_total"), "{error}");
    }
    let settings = OrdersSettings {
        max_quantity_per_line: u32::MAX,
        ..Default::default()
    };
    assert!(Policy::try_from(&settings).is_err());
    assert!(Policy::try_from(&OrdersSettings::default()).is_ok());
    let mut broken = OrdersSettings::default();
    broken.shipping.methods[0].zone = "NOWHERE".into();
    let error = Policy::try_from(&broken).expect_err("refused");
    assert!(error.to_string().contains("NOWHERE"), "{error}");
}
