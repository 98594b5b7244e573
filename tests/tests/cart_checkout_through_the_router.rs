//! The shop flow of issue 22 through the router, on the embedded stores and
//! on MongoDB, with the example operations of `schema/operations/`: browse,
//! add to an anonymous cart, register and merge it, choose shipping, apply a
//! discount code, check out, pay the new total, and see the order (address,
//! shipping, discount, payment) in the order history filtered by status.
//! Every order's total is checked: `total = Σ line subtotals − discount + shipping`.

use std::time::Duration;

use serde_json::{Value, json};
use storefront_e2e::shop::{ADMIN_EMAIL, PASSWORD, Shop, Store};
use storefront_e2e::{Service, listen};
use storefront_router::settings::Subgraph;
use storefront_router::source::{self, SupergraphSource};

const ADD_TO_CART: &str = include_str!("../../schema/operations/AddToCart.graphql");
const CART: &str = include_str!("../../schema/operations/Cart.graphql");
const MERGE_CART: &str = include_str!("../../schema/operations/MergeCart.graphql");
const SHIPPING_METHODS: &str = include_str!("../../schema/operations/ShippingMethods.graphql");
const CHECKOUT: &str = include_str!("../../schema/operations/Checkout.graphql");
const CREATE_DISCOUNT_CODE: &str =
    include_str!("../../schema/operations/CreateDiscountCode.graphql");
const UPDATE_CART_LINE: &str = include_str!("../../schema/operations/UpdateCartLine.graphql");
const PAY_ORDER: &str = include_str!("../../schema/operations/PayOrder.graphql");
const MY_ORDERS: &str = include_str!("../../schema/operations/MyOrders.graphql");
const LOGIN: &str = include_str!("../../schema/operations/Login.graphql");

/// The router over the shop's four subgraphs, served on port 0.
async fn router(shop: &Shop) -> Service {
    let settings = storefront_e2e::router_settings(&shop.users.graphql_url);
    let state = storefront_router::AppState::new(settings).expect("router state");
    let subgraphs = [
        ("users", &shop.users),
        ("inventory", &shop.inventory),
        ("orders", &shop.orders),
        ("payments", &shop.payments),
    ]
    .into_iter()
    .map(|(name, service)| Subgraph::from((name.to_owned(), service.graphql_url.clone())))
    .collect();
    let compose = SupergraphSource::Compose {
        subgraphs,
        poll_interval: Duration::ZERO,
    };
    tokio::time::timeout(Duration::from_secs(30), source::run(state.clone(), compose))
        .await
        .expect("the router composes within 30 s")
        .expect("the subgraphs compose");
    let (listener, url) = listen().await;
    let task = tokio::spawn(storefront_router::run(
        listener,
        state,
        std::future::pending(),
    ));
    Service::new(url, task)
}

fn assert_total_adds_up(order: &Value) {
    let lines: i64 = order["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {order}"))
        .iter()
        .map(|item| item["subtotal"]["amount"].as_i64().expect("a subtotal"))
        .sum();
    let discount = order["discount"]["amount"]["amount"].as_i64().unwrap_or(0);
    let shipping = order["shipping"]["price"]["amount"].as_i64().unwrap_or(0);
    assert_eq!(order["subtotal"]["amount"].as_i64(), Some(lines), "{order}");
    assert_eq!(
        order["total"]["amount"].as_i64(),
        Some(lines - discount + shipping),
        "total = Σ subtotals − discount + shipping: {order}"
    );
}

async fn a_shopper_browses_fills_a_cart_signs_in_checks_out_and_pays(store: Store) {
    let Some(shop) = Shop::start(store).await else {
        return;
    };
    shop.add_product("R22-MUG", 1250, 10).await;
    shop.add_product("R22-TEE", 1999, 5).await;
    let router = router(&shop).await;

    let admin = router
        .data(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": PASSWORD }),
            "login",
        )
        .await;
    let admin = admin["token"].as_str().expect("a token").to_owned();
    let code = json!({ "input": { "code": "WELCOME10", "percentage": 10, "usageLimit": 100 } });
    router
        .data(
            Some(&admin),
            CREATE_DISCOUNT_CODE,
            code,
            "createDiscountCode",
        )
        .await;

    // Anonymous: browse, then fill a cart the client keeps by id.
    let found = router
        .data(
            None,
            "{ products(first: 10, search: \"R22\") { edges { node { sku name } } } }",
            json!({}),
            "products",
        )
        .await;
    assert_eq!(found["edges"].as_array().expect("edges").len(), 2);
    let cart = router
        .data(
            None,
            ADD_TO_CART,
            json!({ "sku": "R22-MUG", "quantity": 2 }),
            "addToCart",
        )
        .await;
    let cart_id = cart["id"].as_str().expect("a cart id").to_owned();
    router
        .data(
            None,
            ADD_TO_CART,
            json!({ "cartId": cart_id, "sku": "R22-TEE", "quantity": 9 }),
            "addToCart",
        )
        .await;
    let cart = router
        .data(None, CART, json!({ "id": cart_id }), "cart")
        .await;
    assert_eq!(
        cart["lines"][0]["product"]["name"], "R22-MUG",
        "the product is federated from inventory"
    );
    assert_eq!(cart["lines"][1]["status"], "INSUFFICIENT_STOCK");
    assert_eq!(cart["readyForCheckout"], false);
    assert_eq!(shop.stock("R22-MUG").await, 10, "a cart reserves nothing");

    // Sign up (tracked by the shop's invariants), log in through the router,
    // merge the anonymous cart, fix the short line.
    let email = format!("cart-{store:?}@shop.test").to_lowercase();
    shop.register(&email).await;
    let login = router
        .data(
            None,
            LOGIN,
            json!({ "email": email, "password": PASSWORD }),
            "login",
        )
        .await;
    let token = login["token"].as_str().expect("a token").to_owned();
    let merged = router
        .data(
            Some(&token),
            MERGE_CART,
            json!({ "cartId": cart_id }),
            "mergeCart",
        )
        .await;
    assert_eq!(merged["lines"].as_array().expect("lines").len(), 2);
    router
        .data(
            Some(&token),
            UPDATE_CART_LINE,
            json!({ "sku": "R22-TEE", "quantity": 1 }),
            "updateCartLine",
        )
        .await;
    let mine = router.data(Some(&token), CART, json!({}), "cart").await;
    assert_eq!(mine["readyForCheckout"], true, "{mine}");
    assert_eq!(mine["subtotal"]["amount"], 2 * 1250 + 1999);

    // Shipping, then checkout with the code.
    let methods = router
        .data(
            Some(&token),
            SHIPPING_METHODS,
            json!({ "country": "US" }),
            "shippingMethods",
        )
        .await;
    let standard = methods
        .as_array()
        .expect("methods")
        .iter()
        .find(|m| m["code"] == "STANDARD")
        .cloned()
        .expect("STANDARD ships to the US");
    let input = json!({ "input": {
        "address": { "name": "Carla", "line1": "5 Elm St", "city": "Portland", "region": "OR", "postalCode": "97201", "country": "US" },
        "shippingMethod": "STANDARD", "discountCode": "welcome10", "idempotencyKey": "checkout-1",
    } });
    let order = router
        .data(Some(&token), CHECKOUT, input.clone(), "checkout")
        .await;
    assert_total_adds_up(&order);
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(
        order["shipping"]["price"], standard["price"],
        "the quoted shipping price"
    );
    assert_eq!(
        order["discount"]["amount"]["amount"],
        (2 * 1250 + 1999) / 10
    );
    assert_eq!(order["items"][0]["product"]["name"], "R22-MUG");
    assert_eq!(order["shippingAddress"]["city"], "Portland");
    let again = router.data(Some(&token), CHECKOUT, input, "checkout").await;
    assert_eq!(
        again["id"], order["id"],
        "the same idempotencyKey is the same order"
    );
    let emptied = router.data(Some(&token), CART, json!({}), "cart").await;
    assert_eq!(emptied["lines"], json!([]));
    assert_eq!(shop.stock("R22-MUG").await, 8);

    // Pay the new total, then find the order in the history by status.
    let order_id = order["id"].as_str().expect("an id");
    let paid = router
        .data(
            Some(&token),
            PAY_ORDER,
            json!({ "orderId": order_id, "paymentToken": "tok_visa", "idempotencyKey": "pay-1" }),
            "payOrder",
        )
        .await;
    assert_eq!(paid["status"], "SUCCEEDED", "{paid}");
    assert_eq!(
        paid["amount"], order["total"],
        "payments charges the checkout's total"
    );
    let history = router
        .data(Some(&token), MY_ORDERS, json!({ "status": "PAID" }), "me")
        .await;
    let edges = history["orders"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{history}");
    let node = &edges[0]["node"];
    assert_eq!(node["id"], order["id"]);
    assert_eq!(node["payment"]["status"], "SUCCEEDED");
    assert_eq!(node["discount"]["code"], "WELCOME10");
    assert_eq!(node["shipping"]["method"], "STANDARD");
    assert_eq!(node["shippingAddress"]["country"], "US");
    assert_eq!(node["total"], order["total"]);
    let pending = router
        .data(
            Some(&token),
            MY_ORDERS,
            json!({ "status": "PENDING_PAYMENT" }),
            "me",
        )
        .await;
    assert_eq!(pending["orders"]["edges"], json!([]));
    shop.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shopper_browses_fills_a_cart_signs_in_checks_out_and_pays_on_the_embedded_stores() {
    a_shopper_browses_fills_a_cart_signs_in_checks_out_and_pays(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shopper_browses_fills_a_cart_signs_in_checks_out_and_pays_on_mongodb() {
    a_shopper_browses_fills_a_cart_signs_in_checks_out_and_pays(Store::Mongo).await;
}
