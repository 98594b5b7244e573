//! The shop through the orders schema, with a real inventory, on both stores:
//! carts (anonymous and signed in, merged at login, flagged lines), shipping
//! methods, ADMIN discount codes, checkout (totals that add up, idempotency,
//! failures that give everything back), order history by status, and the
//! saved-address path through a stand-in users service.

mod common;

use common::{Backend, FOR_PAYMENT, TestEnv, json_of, single_error};
use serde_json::{Value, json};
use storefront_orders::checkout::CheckoutTerms;
use storefront_orders::discount::DiscountTerms;
use storefront_orders::domain::{Order, OrderLimits, OrderRequest, OrderState, now_ms};
use storefront_orders::settings::OrdersSettings;
use storefront_shared::address::{AddressInput, PostalAddress};

pub const CART_FIELDS: &str = "id totalQuantity subtotal { amount currency } readyForCheckout expiresAt lines { product { sku } quantity unitPrice { amount currency } subtotal { amount currency } status availableQuantity }";
const ORDER_FIELDS: &str = "id status subtotal { amount currency } total { amount currency } shipping { method name price { amount currency } } discount { code amount { amount currency } } shippingAddress { name line1 city postalCode country } items { product { sku } quantity subtotal { amount } }";

fn add_to_cart() -> String {
    format!(
        "mutation($cartId: ID, $sku: ID!, $quantity: Int!) {{ addToCart(cartId: $cartId, sku: $sku, quantity: $quantity) {{ {CART_FIELDS} }} }}"
    )
}

fn cart_query() -> String {
    format!("query($id: ID) {{ cart(id: $id) {{ {CART_FIELDS} }} }}")
}

fn checkout_mutation() -> String {
    format!("mutation($input: CheckoutInput!) {{ checkout(input: $input) {{ {ORDER_FIELDS} }} }}")
}

const CREATE_CODE: &str = "mutation($input: DiscountCodeInput!) { createDiscountCode(input: $input) { code percentage amount { amount currency } usageLimit timesUsed active } }";
const CODES: &str = "{ discountCodes { code timesUsed active } }";

/// Runs `query` and returns `data.<field>`, failing on any error.
async fn ok(
    env: &TestEnv,
    query: &str,
    variables: Value,
    token: Option<&str>,
    field: &str,
) -> Value {
    let response = env.execute(query, variables, token).await;
    assert!(response.errors.is_empty(), "{field}: {:?}", response.errors);
    json_of(&response)["data"][field].clone()
}

async fn code_of(env: &TestEnv, query: &str, variables: Value, token: Option<&str>) -> String {
    let response = env.execute(query, variables, token).await;
    single_error(&response).0
}

async fn add(env: &TestEnv, token: Option<&str>, cart: Option<&str>, sku: &str, n: i64) -> Value {
    ok(
        env,
        &add_to_cart(),
        json!({ "cartId": cart, "sku": sku, "quantity": n }),
        token,
        "addToCart",
    )
    .await
}

fn address() -> Value {
    json!({ "name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield", "region": "IL", "postalCode": "62701", "country": "us" })
}

fn checkout_input(key: &str, code: Option<&str>) -> Value {
    json!({ "input": { "address": address(), "shippingMethod": "standard", "discountCode": code, "idempotencyKey": key } })
}

async fn create_code(env: &TestEnv, input: Value) -> Value {
    ok(
        env,
        CREATE_CODE,
        json!({ "input": input }),
        Some(&env.admin()),
        "createDiscountCode",
    )
    .await
}

async fn times_used(env: &TestEnv, code: &str) -> i64 {
    let codes = ok(env, CODES, json!({}), Some(&env.admin()), "discountCodes").await;
    codes
        .as_array()
        .expect("codes")
        .iter()
        .find(|c| c["code"] == code)
        .and_then(|c| c["timesUsed"].as_i64())
        .expect("the code is listed")
}

/// Asserts `total = Σ line subtotals − discount + shipping` for an order's JSON.
pub fn assert_total_adds_up(order: &Value) {
    let lines: i64 = order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["subtotal"]["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(order["subtotal"]["amount"].as_i64(), Some(lines), "{order}");
    let discount = order["discount"]["amount"]["amount"].as_i64().unwrap_or(0);
    let shipping = order["shipping"]["price"]["amount"].as_i64().unwrap_or(0);
    assert_eq!(
        order["total"]["amount"].as_i64(),
        Some(lines - discount + shipping),
        "total = Σ subtotals − discount + shipping: {order}"
    );
}

async fn env(backend: Backend) -> Option<TestEnv> {
    TestEnv::with(backend, OrdersSettings::default()).await
}

async fn anonymous_carts_show_current_prices_and_flag_what_cannot_be_bought(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    env.product("TEE", 2000, 1).await;
    env.product("OUT", 500, 0).await;
    let cart = add(&env, None, None, "mug", 2).await;
    let id = cart["id"].as_str().expect("id").to_owned();
    assert!(
        !id.starts_with("user:"),
        "an anonymous cart has a random id"
    );
    assert!(cart["expiresAt"].is_string(), "an anonymous cart expires");
    add(&env, None, Some(&id), "TEE", 3).await;
    add(&env, None, Some(&id), "OUT", 1).await;
    let unknown = code_of(
        &env,
        &add_to_cart(),
        json!({ "cartId": id, "sku": "GHOST", "quantity": 1 }),
        None,
    )
    .await;
    assert_eq!(unknown, "NOT_FOUND");

    let cart = ok(&env, &cart_query(), json!({ "id": id }), None, "cart").await;
    let statuses: Vec<_> = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["product"]["sku"].as_str().expect("sku"),
                l["status"].as_str().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("MUG", "AVAILABLE"),
            ("TEE", "INSUFFICIENT_STOCK"),
            ("OUT", "OUT_OF_STOCK")
        ]
    );
    assert_eq!(cart["lines"][1]["availableQuantity"], 1);
    assert_eq!(
        cart["lines"][0]["subtotal"],
        json!({ "amount": 2500, "currency": "USD" })
    );
    assert_eq!(
        cart["subtotal"],
        json!({ "amount": 9000, "currency": "USD" })
    );
    assert_eq!(cart["totalQuantity"], 6);
    assert_eq!(cart["readyForCheckout"], false);
    assert_eq!(env.stock("MUG").await, 10, "a cart never reserves stock");

    let by_anyone = ok(
        &env,
        &cart_query(),
        json!({ "id": id }),
        Some(&env.customer("bob")),
        "cart",
    )
    .await;
    assert_eq!(
        by_anyone["id"], id,
        "an anonymous cart is whoever holds its id"
    );
}

async fn a_users_cart_is_theirs_alone_and_bad_input_is_refused(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    let ada = env.customer("ada");
    let bob = env.customer("bob");
    let empty = ok(&env, &cart_query(), json!({}), Some(&ada), "cart").await;
    assert_eq!(empty["id"], "user:ada");
    assert_eq!(empty["lines"], json!([]));
    assert_eq!(empty["subtotal"], Value::Null);
    assert_eq!(
        ok(&env, &cart_query(), json!({}), None, "cart").await,
        Value::Null,
        "an anonymous shopper without a cart id has none"
    );
    add(&env, Some(&ada), None, "MUG", 2).await;
    let others = [
        (
            cart_query(),
            json!({ "id": "user:ada" }),
            Some(bob.as_str()),
        ),
        (cart_query(), json!({ "id": "user:ada" }), None),
        (cart_query(), json!({ "id": uuid_like() }), None),
        (
            add_to_cart(),
            json!({ "cartId": "user:ada", "sku": "MUG", "quantity": 1 }),
            Some(bob.as_str()),
        ),
        (
            add_to_cart(),
            json!({ "cartId": "user:ada", "sku": "MUG", "quantity": 1 }),
            None,
        ),
    ];
    for (query, variables, token) in others {
        assert_eq!(
            code_of(&env, &query, variables.clone(), token).await,
            "NOT_FOUND",
            "{variables}"
        );
    }
    let mine = ok(&env, &cart_query(), json!({}), Some(&ada), "cart").await;
    assert_eq!(
        mine["lines"][0]["quantity"], 2,
        "another user's attempts changed nothing"
    );

    for quantity in [0, -1, 101] {
        let code = code_of(
            &env,
            &add_to_cart(),
            json!({ "sku": "MUG", "quantity": quantity }),
            Some(&ada),
        )
        .await;
        assert_eq!(code, "BAD_USER_INPUT", "quantity {quantity}");
    }
    let too_many = code_of(
        &env,
        &add_to_cart(),
        json!({ "sku": "MUG", "quantity": 99 }),
        Some(&ada),
    )
    .await;
    assert_eq!(
        too_many, "BAD_USER_INPUT",
        "2 + 99 is past the per-line maximum"
    );
    assert_eq!(
        code_of(&env, &cart_query(), json!({ "id": "guess" }), None).await,
        "BAD_USER_INPUT"
    );

    let update = "mutation($sku: ID!, $quantity: Int!) { updateCartLine(sku: $sku, quantity: $quantity) { lines { product { sku } quantity } } }";
    let missing = code_of(
        &env,
        update,
        json!({ "sku": "TEE", "quantity": 1 }),
        Some(&ada),
    )
    .await;
    assert_eq!(missing, "NOT_FOUND");
    let updated = ok(
        &env,
        update,
        json!({ "sku": "MUG", "quantity": 5 }),
        Some(&ada),
        "updateCartLine",
    )
    .await;
    assert_eq!(updated["lines"][0]["quantity"], 5);
    let negative = code_of(
        &env,
        update,
        json!({ "sku": "MUG", "quantity": -1 }),
        Some(&ada),
    )
    .await;
    assert_eq!(negative, "BAD_USER_INPUT");
    let remove = "mutation($sku: ID!) { removeFromCart(sku: $sku) { lines { quantity } } }";
    let removed = ok(
        &env,
        remove,
        json!({ "sku": "MUG" }),
        Some(&ada),
        "removeFromCart",
    )
    .await;
    assert_eq!(removed["lines"], json!([]));
}

fn uuid_like() -> String {
    "0191e4a2-0000-4000-8000-000000000000".into()
}

async fn an_anonymous_cart_merges_into_the_users_cart_once_adding_up_capped(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    env.product("MUG", 100, 500).await;
    env.product("TEE", 200, 500).await;
    let ada = env.customer("ada");
    let anonymous = add(&env, None, None, "MUG", 60).await;
    let id = anonymous["id"].as_str().expect("id").to_owned();
    add(&env, None, Some(&id), "TEE", 1).await;
    add(&env, Some(&ada), None, "MUG", 70).await;

    let merge = format!("mutation($id: ID!) {{ mergeCart(cartId: $id) {{ {CART_FIELDS} }} }}");
    let merged = ok(&env, &merge, json!({ "id": id }), Some(&ada), "mergeCart").await;
    assert_eq!(merged["id"], "user:ada");
    let lines: Vec<_> = merged["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["product"]["sku"].clone(), l["quantity"].clone()))
        .collect();
    assert_eq!(
        lines,
        [(json!("MUG"), json!(100)), (json!("TEE"), json!(1))],
        "60 + 70 capped at 100"
    );
    assert_eq!(
        code_of(&env, &cart_query(), json!({ "id": id }), None).await,
        "NOT_FOUND",
        "the anonymous cart is gone"
    );
    let again = ok(&env, &merge, json!({ "id": id }), Some(&ada), "mergeCart").await;
    assert_eq!(again["totalQuantity"], 101, "merging again adds nothing");
    assert_eq!(
        code_of(&env, &merge, json!({ "id": id }), None).await,
        "UNAUTHENTICATED"
    );

    // A signed-in shopper presenting an anonymous cart id gets it merged.
    let other = add(&env, None, None, "TEE", 2).await;
    let other_id = other["id"].as_str().expect("id").to_owned();
    let mine = add(&env, Some(&ada), Some(&other_id), "TEE", 1).await;
    assert_eq!(mine["id"], "user:ada");
    assert_eq!(mine["totalQuantity"], 104);
}

async fn shipping_methods_come_from_the_rate_table(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    env.product("MUG", 1000, 50).await;
    let ada = env.customer("ada");
    add(&env, Some(&ada), None, "MUG", 2).await;
    let query = "query($country: String!) { shippingMethods(country: $country) { code name price { amount currency } } }";
    let us = ok(
        &env,
        query,
        json!({ "country": "us" }),
        Some(&ada),
        "shippingMethods",
    )
    .await;
    assert_eq!(us[0]["code"], "STANDARD");
    assert_eq!(
        us[0]["price"],
        json!({ "amount": 700, "currency": "USD" }),
        "5.00 + 2 × 1.00"
    );
    assert_eq!(us[1]["code"], "EXPRESS");
    add(&env, Some(&ada), None, "MUG", 3).await;
    let free = ok(
        &env,
        query,
        json!({ "country": "US" }),
        Some(&ada),
        "shippingMethods",
    )
    .await;
    assert_eq!(free[0]["price"]["amount"], 0, "free from a 50.00 subtotal");
    let de = ok(
        &env,
        query,
        json!({ "country": "DE" }),
        Some(&ada),
        "shippingMethods",
    )
    .await;
    assert_eq!(de.as_array().expect("methods").len(), 1);
    assert_eq!(de[0]["code"], "INTERNATIONAL");
    assert_eq!(
        code_of(&env, query, json!({ "country": "XX" }), Some(&ada)).await,
        "BAD_USER_INPUT"
    );
}

async fn discount_codes_are_managed_by_admins(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    let input = json!({ "code": "save10", "percentage": 10, "usageLimit": 5 });
    let forbidden = code_of(
        &env,
        CREATE_CODE,
        json!({ "input": input }),
        Some(&env.customer("ada")),
    )
    .await;
    assert_eq!(forbidden, "FORBIDDEN");
    let created = create_code(&env, input.clone()).await;
    assert_eq!(created["code"], "SAVE10");
    assert_eq!(created["percentage"], 10);
    assert_eq!(created["timesUsed"], 0);
    assert_eq!(
        code_of(
            &env,
            CREATE_CODE,
            json!({ "input": input }),
            Some(&env.admin())
        )
        .await,
        "CONFLICT"
    );
    let both = json!({ "code": "BOTH", "percentage": 10, "amount": 100, "currency": "USD" });
    assert_eq!(
        code_of(
            &env,
            CREATE_CODE,
            json!({ "input": both }),
            Some(&env.admin())
        )
        .await,
        "BAD_USER_INPUT"
    );
    create_code(
        &env,
        json!({ "code": "FIVE", "amount": 500, "currency": "usd" }),
    )
    .await;
    let codes = ok(&env, CODES, json!({}), Some(&env.admin()), "discountCodes").await;
    assert_eq!(codes.as_array().expect("codes").len(), 2);
    let deactivate =
        "mutation($code: String!) { deactivateDiscountCode(code: $code) { code active } }";
    let off = ok(
        &env,
        deactivate,
        json!({ "code": "save10" }),
        Some(&env.admin()),
        "deactivateDiscountCode",
    )
    .await;
    assert_eq!(off["active"], false);
    assert_eq!(
        code_of(
            &env,
            deactivate,
            json!({ "code": "NOPE" }),
            Some(&env.admin())
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(
        code_of(&env, CODES, json!({}), Some(&env.customer("ada"))).await,
        "FORBIDDEN"
    );
}

async fn checkout_places_an_order_whose_total_adds_up_and_empties_the_cart(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    env.product("MUG", 1250, 10).await;
    env.product("TEE", 1999, 10).await;
    create_code(&env, json!({ "code": "SAVE10", "percentage": 10 })).await;
    let ada = env.customer("ada");
    add(&env, Some(&ada), None, "MUG", 2).await;
    add(&env, Some(&ada), None, "TEE", 1).await;

    let order = ok(
        &env,
        &checkout_mutation(),
        checkout_input("key-1", Some("save10")),
        Some(&ada),
        "checkout",
    )
    .await;
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(
        order["subtotal"],
        json!({ "amount": 4499, "currency": "USD" })
    );
    assert_eq!(
        order["discount"],
        json!({ "code": "SAVE10", "amount": { "amount": 449, "currency": "USD" } })
    );
    assert_eq!(order["shipping"]["method"], "STANDARD");
    assert_eq!(order["shipping"]["price"]["amount"], 800, "5.00 + 3 × 1.00");
    assert_eq!(order["total"]["amount"], 4499 - 449 + 800);
    assert_total_adds_up(&order);
    assert_eq!(order["shippingAddress"]["country"], "US");
    assert_eq!(order["shippingAddress"]["postalCode"], "62701");
    assert_eq!(env.stock("MUG").await, 8, "the stock is reserved");
    let cart = ok(&env, &cart_query(), json!({}), Some(&ada), "cart").await;
    assert_eq!(
        cart["lines"],
        json!([]),
        "the cart is emptied once the order exists"
    );
    assert_eq!(times_used(&env, "SAVE10").await, 1);

    // Payments charges the new total.
    let id = order["id"].as_str().expect("id");
    let payable = env.as_service(FOR_PAYMENT, json!({ "id": id })).await;
    assert_eq!(
        json_of(&payable)["data"]["orderForPayment"]["total"],
        order["total"]
    );

    // The same key is the same order; with other arguments it is CONFLICT.
    let again = ok(
        &env,
        &checkout_mutation(),
        checkout_input("key-1", Some("SAVE10")),
        Some(&ada),
        "checkout",
    )
    .await;
    assert_eq!(again["id"], order["id"]);
    assert_eq!(env.stock("MUG").await, 8);
    assert_eq!(times_used(&env, "SAVE10").await, 1);
    let other = code_of(
        &env,
        &checkout_mutation(),
        checkout_input("key-1", None),
        Some(&ada),
    )
    .await;
    assert_eq!(other, "CONFLICT");
    // Another buyer's same key is another checkout (here: an empty cart).
    let bob = code_of(
        &env,
        &checkout_mutation(),
        checkout_input("key-1", None),
        Some(&env.customer("bob")),
    )
    .await;
    assert_eq!(bob, "BAD_USER_INPUT");

    // Order history: by status, newest first.
    add(&env, Some(&ada), None, "MUG", 1).await;
    let second = ok(
        &env,
        &checkout_mutation(),
        checkout_input("key-2", None),
        Some(&ada),
        "checkout",
    )
    .await;
    assert_total_adds_up(&second);
    assert_eq!(second["discount"], Value::Null);
    env.mark_paid(id, "pay-1").await;
    let history = "query($status: OrderStatus) { myOrders(status: $status) { edges { node { id status total { amount } } } } }";
    let all = ok(&env, history, json!({}), Some(&ada), "myOrders").await;
    let ids: Vec<_> = all["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].clone())
        .collect();
    assert_eq!(
        ids,
        [second["id"].clone(), order["id"].clone()],
        "newest first"
    );
    let paid = ok(
        &env,
        history,
        json!({ "status": "PAID" }),
        Some(&ada),
        "myOrders",
    )
    .await;
    assert_eq!(paid["edges"].as_array().expect("edges").len(), 1);
    assert_eq!(paid["edges"][0]["node"]["id"], order["id"]);
    let pending = ok(
        &env,
        history,
        json!({ "status": "PENDING_PAYMENT" }),
        Some(&ada),
        "myOrders",
    )
    .await;
    assert_eq!(pending["edges"][0]["node"]["id"], second["id"]);
}

async fn a_failed_checkout_keeps_the_cart_and_gives_the_code_back(backend: Backend) {
    let Some(env) = env(backend).await else {
        return;
    };
    env.product("MUG", 1250, 3).await;
    create_code(
        &env,
        json!({ "code": "ONCE", "amount": 500, "currency": "USD", "usageLimit": 1 }),
    )
    .await;
    let ada = env.customer("ada");
    add(&env, Some(&ada), None, "MUG", 5).await;
    let short = code_of(
        &env,
        &checkout_mutation(),
        checkout_input("k1", Some("ONCE")),
        Some(&ada),
    )
    .await;
    assert_eq!(short, "INSUFFICIENT_STOCK");
    assert_eq!(env.stock("MUG").await, 3, "nothing stays reserved");
    assert_eq!(times_used(&env, "ONCE").await, 0, "the use is given back");
    let cart = ok(&env, &cart_query(), json!({}), Some(&ada), "cart").await;
    assert_eq!(cart["lines"][0]["quantity"], 5, "the cart is kept");

    // The same key tried again after fixing the cart is a new attempt.
    let update = "mutation { updateCartLine(sku: \"MUG\", quantity: 3) { totalQuantity } }";
    ok(&env, update, json!({}), Some(&ada), "updateCartLine").await;
    let order = ok(
        &env,
        &checkout_mutation(),
        checkout_input("k1", Some("ONCE")),
        Some(&ada),
        "checkout",
    )
    .await;
    assert_eq!(order["discount"]["amount"]["amount"], 500);
    assert_total_adds_up(&order);

    // Exhausted, expired, unknown, inactive codes; an empty cart; no buyer.
    env.product("TEE", 100, 100).await;
    let bob = env.customer("bob");
    add(&env, Some(&bob), None, "TEE", 1).await;
    create_code(
        &env,
        json!({ "code": "OLD", "percentage": 5, "endsAt": "2020-01-01T00:00:00Z" }),
    )
    .await;
    create_code(
        &env,
        json!({ "code": "BIG", "percentage": 5, "minimumSubtotal": 100000 }),
    )
    .await;
    for (code, expected) in [
        ("ONCE", "BAD_USER_INPUT"),
        ("OLD", "BAD_USER_INPUT"),
        ("BIG", "BAD_USER_INPUT"),
        ("NOPE", "NOT_FOUND"),
    ] {
        let error = code_of(
            &env,
            &checkout_mutation(),
            checkout_input(&format!("b-{code}"), Some(code)),
            Some(&bob),
        )
        .await;
        assert_eq!(error, expected, "{code}");
    }
    assert_eq!(env.stock("TEE").await, 100);
    let nowhere = json!({ "input": { "address": address(), "shippingMethod": "INTERNATIONAL", "idempotencyKey": "b-x" } });
    assert_eq!(
        code_of(&env, &checkout_mutation(), nowhere, Some(&bob)).await,
        "BAD_USER_INPUT"
    );
    // A checkout refused before anything was stored can be corrected under the same key.
    let corrected = json!({ "input": { "address": address(), "shippingMethod": "STANDARD", "idempotencyKey": "b-x" } });
    let placed = ok(
        &env,
        &checkout_mutation(),
        corrected,
        Some(&bob),
        "checkout",
    )
    .await;
    assert_total_adds_up(&placed);
    add(&env, Some(&bob), None, "TEE", 1).await;
    let both = json!({ "input": { "address": address(), "shippingAddressId": "a1", "shippingMethod": "STANDARD", "idempotencyKey": "b-y" } });
    assert_eq!(
        code_of(&env, &checkout_mutation(), both, Some(&bob)).await,
        "BAD_USER_INPUT"
    );
    let bad_address = json!({ "input": { "address": { "name": "B", "line1": "x", "city": "y", "country": "US" }, "shippingMethod": "STANDARD", "idempotencyKey": "b-z" } });
    assert_eq!(
        code_of(&env, &checkout_mutation(), bad_address, Some(&bob)).await,
        "BAD_USER_INPUT",
        "a US address needs a ZIP code"
    );
    assert_eq!(
        code_of(
            &env,
            &checkout_mutation(),
            checkout_input("c", None),
            Some(&env.customer("carol"))
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        code_of(&env, &checkout_mutation(), checkout_input("c", None), None).await,
        "UNAUTHENTICATED"
    );
    let saved = json!({ "input": { "shippingAddressId": "a1", "shippingMethod": "STANDARD", "idempotencyKey": "b-s" } });
    assert_eq!(
        code_of(&env, &checkout_mutation(), saved, Some(&bob)).await,
        "SERVICE_UNAVAILABLE",
        "without a users service a saved address cannot be read"
    );
}

async fn a_saved_address_comes_from_users_and_only_the_buyers(backend: Backend) {
    let Some(mut env) = env(backend).await else {
        return;
    };
    let users = common::fakes::FakeUsers::start().await;
    env.use_users(&users.url);
    env.product("MUG", 1000, 10).await;
    let ada = env.customer("ada");
    add(&env, Some(&ada), None, "MUG", 1).await;
    let input = |id: &str, key: &str| json!({ "input": { "shippingAddressId": id, "shippingMethod": "INTERNATIONAL", "idempotencyKey": key } });
    assert_eq!(
        code_of(
            &env,
            &checkout_mutation(),
            input("bobs-address", "k1"),
            Some(&ada)
        )
        .await,
        "NOT_FOUND",
        "another user's address"
    );
    let order = ok(
        &env,
        &checkout_mutation(),
        input("adas-address", "k2"),
        Some(&ada),
        "checkout",
    )
    .await;
    assert_eq!(order["shippingAddress"]["name"], "Ada Lovelace");
    assert_eq!(order["shippingAddress"]["city"], "London");
    assert_total_adds_up(&order);
}

async fn a_checkout_cut_off_after_claiming_its_code_gives_it_back_through_the_sweeper(
    backend: Backend,
) {
    let settings = OrdersSettings {
        creating_timeout: std::time::Duration::ZERO,
        ..OrdersSettings::default()
    };
    let Some(env) = TestEnv::with(backend, settings).await else {
        return;
    };
    env.product("MUG", 1000, 10).await;
    create_code(
        &env,
        json!({ "code": "ONE", "percentage": 50, "usageLimit": 1 }),
    )
    .await;

    // A checkout that stored its intent and claimed the code, then crashed.
    let request = OrderRequest::parse(
        [("MUG", 2)],
        OrderLimits {
            max_quantity_per_line: 100,
            max_lines: 50,
        },
    )
    .expect("valid");
    let mut order = Order::intent("ada", &request, now_ms() - 10);
    order.checkout = Some(CheckoutTerms {
        cart_id: "user:ada".into(),
        shipping_method: "STANDARD".into(),
        address: PostalAddress::parse(AddressInput {
            name: "Ada".into(),
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            postal_code: Some("62701".into()),
            country: "US".into(),
            ..AddressInput::default()
        })
        .expect("valid"),
        discount: Some(DiscountTerms {
            code: "ONE".into(),
            percent: Some(50),
            amount: None,
        }),
    });
    env.repo.insert(&order).await.expect("inserts");
    assert!(
        env.repo
            .claim_discount("ONE", order.id.as_str())
            .await
            .expect("claims")
    );
    assert_eq!(times_used(&env, "ONE").await, 1);

    let report = env.state.orders().sweep().await.expect("the sweep runs");
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(
        env.stored(order.id.as_str()).await.state,
        OrderState::Failed
    );
    assert_eq!(times_used(&env, "ONE").await, 0, "the use is given back");
    assert_eq!(env.stock("MUG").await, 10);

    // The code is usable again.
    let ada = env.customer("ada");
    add(&env, Some(&ada), None, "MUG", 4).await;
    let placed = ok(
        &env,
        &checkout_mutation(),
        checkout_input("k1", Some("ONE")),
        Some(&ada),
        "checkout",
    )
    .await;
    assert_eq!(placed["discount"]["amount"]["amount"], 2000);
    assert_total_adds_up(&placed);
    assert_eq!(times_used(&env, "ONE").await, 1);
}

macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    anonymous_carts_show_current_prices_and_flag_what_cannot_be_bought,
    a_users_cart_is_theirs_alone_and_bad_input_is_refused,
    an_anonymous_cart_merges_into_the_users_cart_once_adding_up_capped,
    shipping_methods_come_from_the_rate_table,
    discount_codes_are_managed_by_admins,
    checkout_places_an_order_whose_total_adds_up_and_empties_the_cart,
    a_failed_checkout_keeps_the_cart_and_gives_the_code_back,
    a_saved_address_comes_from_users_and_only_the_buyers,
    a_checkout_cut_off_after_claiming_its_code_gives_it_back_through_the_sweeper,
);
