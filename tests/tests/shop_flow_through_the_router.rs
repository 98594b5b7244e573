//! Issue 22's done criterion as one client of the router sees it, on the
//! embedded stores and on MongoDB: browse a category, filter and sort it a
//! page at a time (every cursor page fits: no duplicate, no gap), fill an
//! anonymous cart, register, log in and merge it, save an address, list the
//! shipping methods, an ADMIN creates a discount code, check out with the
//! saved address and the code, pay with `tok_visa`, and find the order in
//! `me { orders }` with its address, shipping, discount and payment. The
//! total adds up (`Σ line subtotals − discount + shipping`) and the stock of
//! exactly the ordered products went down by exactly the ordered quantities.
//!
//! The router reaches every subgraph through a counting proxy; the category
//! page's test checks that the router sends the same number of subgraph
//! requests whatever the page size (batched, not one per product).

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};
use storefront_e2e::Service;
use storefront_e2e::shop::{ADMIN_EMAIL, PASSWORD, Shop, Store};

const CATEGORIES: &str = include_str!("../../schema/operations/Categories.graphql");
const CATEGORY_PAGE: &str = include_str!("../../schema/operations/CategoryPage.graphql");
const ADD_TO_CART: &str = include_str!("../../schema/operations/AddToCart.graphql");
const CART: &str = include_str!("../../schema/operations/Cart.graphql");
const MERGE_CART: &str = include_str!("../../schema/operations/MergeCart.graphql");
const ADD_ADDRESS: &str = include_str!("../../schema/operations/AddAddress.graphql");
const SHIPPING_METHODS: &str = include_str!("../../schema/operations/ShippingMethods.graphql");
const CREATE_DISCOUNT_CODE: &str =
    include_str!("../../schema/operations/CreateDiscountCode.graphql");
const CHECKOUT: &str = include_str!("../../schema/operations/Checkout.graphql");
const PAY_ORDER: &str = include_str!("../../schema/operations/PayOrder.graphql");
const LOGIN: &str = include_str!("../../schema/operations/Login.graphql");

/// The order history with everything the flow checks on an order.
const HISTORY: &str = "query { me { orders(first: 10) { edges { node {
    id status
    items { product { sku name } quantity unitPrice { amount currency } subtotal { amount currency } }
    subtotal { amount currency }
    discount { code amount { amount currency } }
    shipping { method name price { amount currency } }
    total { amount currency }
    shippingAddress { name line1 line2 city region postalCode country }
    payment { status amount { amount currency } }
} } } } }";

/// Products in the `kitchen` category.
const KITCHEN: usize = 30;

/// A kitchen product as seeded.
#[derive(Debug, Clone)]
struct Seeded {
    sku: String,
    name: String,
    price: i64,
    stock: i64,
}

/// The kitchen catalogue: names in another order than skus, prices with ties
/// (ten prices, three products each), every fifth product out of stock.
fn kitchen() -> Vec<Seeded> {
    (0..KITCHEN)
        .map(|i| Seeded {
            sku: format!("E2E-K{i:02}"),
            name: format!("Kitchen item {:02}", (i * 11) % KITCHEN),
            price: 500 + ((i as i64 * 7) % 10) * 250,
            stock: if i % 5 == 0 { 0 } else { 3 + (i as i64 % 4) },
        })
        .collect()
}

fn amount(money: &Value) -> i64 {
    money["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("an amount: {money}"))
}

fn assert_total_adds_up(order: &Value) {
    let lines: i64 = order["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items: {order}"))
        .iter()
        .map(|item| {
            let subtotal = amount(&item["subtotal"]);
            assert_eq!(
                subtotal,
                amount(&item["unitPrice"]) * item["quantity"].as_i64().expect("a quantity"),
                "a line's subtotal is its unit price × quantity: {item}"
            );
            subtotal
        })
        .sum();
    let discount = amount(&order["discount"]["amount"]);
    let shipping = amount(&order["shipping"]["price"]);
    assert_eq!(amount(&order["subtotal"]), lines, "{order}");
    assert_eq!(
        amount(&order["total"]),
        lines - discount + shipping,
        "total = Σ subtotals − discount + shipping: {order}"
    );
}

/// Seeds the catalogue through inventory as the ADMIN: `home` › `kitchen`
/// (the kitchen products) and `garden` (two products that must never show
/// in the kitchen's listing).
async fn seed_catalogue(shop: &Shop) -> Vec<Seeded> {
    shop.add_category("home", "Home", None).await;
    shop.add_category("kitchen", "Kitchen", Some("home")).await;
    shop.add_category("garden", "Garden", None).await;
    let products = kitchen();
    for product in &products {
        shop.add_product_in(
            &product.sku,
            &product.name,
            product.price,
            product.stock,
            &["kitchen"],
        )
        .await;
    }
    shop.add_product_in("E2E-G01", "Garden hose", 1000, 5, &["garden"])
        .await;
    shop.add_product_in("E2E-G02", "Garden rake", 1500, 5, &["garden"])
        .await;
    products
}

/// Pages through `kitchen` with `filter` and `sort`, `first` at a time,
/// following `endCursor`; the skus in the order listed, and the totalCount.
async fn list_kitchen(router: &Service, filter: &Value, sort: &str, first: usize) -> Vec<String> {
    let mut skus = Vec::new();
    let mut after: Option<String> = None;
    for _page in 0..=KITCHEN {
        let variables = json!({
            "slug": "kitchen", "first": first, "after": after, "filter": filter, "sort": sort,
        });
        let category = router
            .data(None, CATEGORY_PAGE, variables, "category")
            .await;
        let products = &category["products"];
        let edges = products["edges"].as_array().expect("edges");
        assert!(edges.len() <= first, "{products}");
        for edge in edges {
            let node = &edge["node"];
            assert_eq!(
                node["inStock"],
                node["stock"].as_i64().expect("a stock") > 0,
                "{node}"
            );
            skus.push(node["sku"].as_str().expect("a sku").to_owned());
        }
        let total = products["totalCount"].as_u64().expect("a totalCount") as usize;
        if products["pageInfo"]["hasNextPage"] == false {
            assert_eq!(skus.len(), total, "every page together is the totalCount");
            return skus;
        }
        assert_eq!(edges.len(), first, "a page that is not the last is full");
        after = Some(
            products["pageInfo"]["endCursor"]
                .as_str()
                .expect("an endCursor")
                .to_owned(),
        );
    }
    panic!("the listing never ended: {skus:?}");
}

/// What `list_kitchen` must give, from the seed.
fn expected_listing(products: &[Seeded], sort: &str, min: i64, max: i64) -> Vec<String> {
    let mut kept: Vec<&Seeded> = products
        .iter()
        .filter(|p| p.stock > 0 && p.price >= min && p.price <= max)
        .collect();
    match sort {
        "PRICE_ASC" => kept.sort_by(|a, b| (a.price, &a.sku).cmp(&(b.price, &b.sku))),
        "PRICE_DESC" => kept.sort_by(|a, b| (b.price, &b.sku).cmp(&(a.price, &a.sku))),
        "NAME" => kept
            .sort_by(|a, b| (a.name.to_lowercase(), &a.sku).cmp(&(b.name.to_lowercase(), &b.sku))),
        other => panic!("no expectation for {other}"),
    }
    kept.into_iter().map(|p| p.sku.clone()).collect()
}

async fn the_whole_shop_flow(store: Store) {
    let Some(shop) = Shop::start(store).await else {
        return;
    };
    let products = seed_catalogue(&shop).await;
    let routed = shop.routed().await;
    let router = &routed.router;

    // Browse: the navigation, then the kitchen filtered and sorted, a page at a time.
    let tree = router.data(None, CATEGORIES, json!({}), "categories").await;
    let home = tree
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["slug"] == "home")
        .unwrap_or_else(|| panic!("home is top-level: {tree}"));
    assert_eq!(
        home["children"],
        json!([{ "slug": "kitchen", "name": "Kitchen", "productCount": KITCHEN }]),
        "{tree}"
    );
    let (min, max) = (750, 2250);
    let filter = json!({ "inStock": true, "priceMin": min, "priceMax": max });
    let mut by_price = Vec::new();
    for sort in ["PRICE_ASC", "PRICE_DESC", "NAME"] {
        let expected = expected_listing(&products, sort, min, max);
        assert!(expected.len() > 8, "the filter keeps several pages");
        for first in [4, 7] {
            let listed = list_kitchen(router, &filter, sort, first).await;
            let distinct: HashSet<&String> = listed.iter().collect();
            assert_eq!(distinct.len(), listed.len(), "no duplicate: {listed:?}");
            assert_eq!(listed, expected, "{sort}, {first} a page: no gap, in order");
        }
        if sort == "PRICE_ASC" {
            by_price = expected;
        }
    }

    // An anonymous shopper fills a cart the client keeps by id: the two
    // cheapest of the listing and a third, 2 + 1 + 3 units.
    let wanted: Vec<(String, i64)> = vec![
        (by_price[0].clone(), 2),
        (by_price[1].clone(), 1),
        (by_price[by_price.len() - 1].clone(), 3),
    ];
    let mut cart_id: Option<String> = None;
    for (sku, quantity) in &wanted {
        let cart = router
            .data(
                None,
                ADD_TO_CART,
                json!({ "cartId": cart_id, "sku": sku, "quantity": quantity }),
                "addToCart",
            )
            .await;
        cart_id = Some(cart["id"].as_str().expect("a cart id").to_owned());
    }
    let cart_id = cart_id.expect("a cart");
    let anonymous = router
        .data(None, CART, json!({ "id": cart_id }), "cart")
        .await;
    assert_eq!(anonymous["readyForCheckout"], true, "{anonymous}");
    let price_of = |sku: &str| {
        products
            .iter()
            .find(|p| p.sku == sku)
            .map(|p| p.price)
            .expect("a seeded sku")
    };
    let subtotal: i64 = wanted.iter().map(|(sku, q)| price_of(sku) * q).sum();
    assert_eq!(amount(&anonymous["subtotal"]), subtotal, "{anonymous}");

    // Register, log in through the router, merge the anonymous cart.
    let email = format!("flow-{store:?}@shop.test").to_lowercase();
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
    let merged_lines: BTreeMap<String, i64> = merged["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| {
            (
                line["product"]["sku"].as_str().expect("a sku").to_owned(),
                line["quantity"].as_i64().expect("a quantity"),
            )
        })
        .collect();
    assert_eq!(
        merged_lines,
        wanted.iter().cloned().collect::<BTreeMap<_, _>>(),
        "the anonymous lines are the user's now: {merged}"
    );

    // A saved address, and the shipping methods to its country.
    let saved = router.data(Some(&token),
        ADD_ADDRESS,
        json!({ "input": { "name": "Flo Shopper", "line1": "12 Market St", "line2": "Apt 3", "city": "Seattle", "region": "WA", "postalCode": "98101", "country": "us" } }),
        "addAddress",
    )
    .await;
    assert_eq!(saved["isDefault"], true, "{saved}");
    assert_eq!(saved["country"], "US", "{saved}");
    let address_id = saved["id"].as_str().expect("an address id").to_owned();
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
        .unwrap_or_else(|| panic!("STANDARD ships to the US: {methods}"));

    // An ADMIN creates a code; the buyer cannot.
    let admin = router
        .data(
            None,
            LOGIN,
            json!({ "email": ADMIN_EMAIL, "password": PASSWORD }),
            "login",
        )
        .await;
    let admin = admin["token"].as_str().expect("a token").to_owned();
    let code = json!({ "input": { "code": "flow15", "percentage": 15, "minimumSubtotal": 1000, "usageLimit": 5 } });
    let refused = router
        .graphql(Some(&token), CREATE_DISCOUNT_CODE, code.clone())
        .await;
    // The router refuses it (`@requiresScopes`) before orders would (FORBIDDEN).
    assert_eq!(
        storefront_e2e::error_code(&refused),
        "UNAUTHORIZED_FIELD_OR_TYPE",
        "{refused}"
    );
    let created = router
        .data(
            Some(&admin),
            CREATE_DISCOUNT_CODE,
            code,
            "createDiscountCode",
        )
        .await;
    assert_eq!(created["code"], "FLOW15", "{created}");

    // Check out with the saved address, STANDARD and the code; pay.
    let mut stock_before = BTreeMap::new();
    for sku in products
        .iter()
        .map(|p| p.sku.as_str())
        .chain(["E2E-G01", "E2E-G02"])
    {
        stock_before.insert(sku.to_owned(), shop.stock(sku).await);
    }
    let order = router.data(Some(&token),
        CHECKOUT,
        json!({ "input": { "shippingAddressId": address_id, "shippingMethod": "STANDARD", "discountCode": "Flow15", "idempotencyKey": "flow-checkout-1" } }),
        "checkout",
    )
    .await;
    assert_eq!(order["status"], "PENDING_PAYMENT", "{order}");
    assert_total_adds_up(&order);
    assert_eq!(amount(&order["subtotal"]), subtotal, "{order}");
    assert_eq!(order["discount"]["code"], "FLOW15", "{order}");
    assert_eq!(amount(&order["discount"]["amount"]), subtotal * 15 / 100);
    assert_eq!(order["shipping"]["price"], standard["price"], "as quoted");
    let emptied = router.data(Some(&token), CART, json!({}), "cart").await;
    assert_eq!(emptied["lines"], json!([]), "the order took the cart");
    let order_id = order["id"].as_str().expect("an order id").to_owned();
    let paid = router.data(Some(&token),
        PAY_ORDER,
        json!({ "orderId": order_id, "paymentToken": "tok_visa", "idempotencyKey": "flow-pay-1" }),
        "payOrder",
    )
    .await;
    assert_eq!(paid["status"], "SUCCEEDED", "{paid}");
    assert_eq!(
        paid["amount"], order["total"],
        "the checkout's total is charged"
    );
    assert_eq!(paid["order"]["status"], "PAID", "{paid}");

    // The order in the history, with everything it was given.
    let history = router.data(Some(&token), HISTORY, json!({}), "me").await;
    let edges = history["orders"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{history}");
    let node = &edges[0]["node"];
    assert_eq!(node["id"], order_id.as_str());
    assert_eq!(node["status"], "PAID");
    assert_total_adds_up(node);
    assert_eq!(node["total"], order["total"]);
    assert_eq!(node["discount"], order["discount"]);
    assert_eq!(node["shipping"]["method"], "STANDARD");
    assert_eq!(node["shipping"]["price"], standard["price"]);
    assert_eq!(
        node["shippingAddress"],
        json!({ "name": "Flo Shopper", "line1": "12 Market St", "line2": "Apt 3", "city": "Seattle", "region": "WA", "postalCode": "98101", "country": "US" }),
        "the saved address, snapshotted"
    );
    assert_eq!(node["payment"]["status"], "SUCCEEDED");
    assert_eq!(node["payment"]["amount"], order["total"]);
    let ordered: BTreeMap<String, i64> = node["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["product"]["sku"].as_str().expect("a sku").to_owned(),
                item["quantity"].as_i64().expect("a quantity"),
            )
        })
        .collect();
    assert_eq!(ordered, wanted.iter().cloned().collect::<BTreeMap<_, _>>());

    // Stock: down by exactly the ordered quantities, nothing else touched.
    for (sku, before) in &stock_before {
        let expected = before - ordered.get(sku).copied().unwrap_or(0);
        assert_eq!(shop.stock(sku).await, expected, "the stock of {sku}");
    }
    shop.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_shop_flow_passes_through_the_router_on_the_embedded_stores() {
    the_whole_shop_flow(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_shop_flow_passes_through_the_router_on_mongodb() {
    the_whole_shop_flow(Store::Mongo).await;
}

/// What the router sends each subgraph for one request, as
/// `[users, inventory, orders, payments]`.
async fn requests_for(
    routed: &storefront_e2e::shop::Routed,
    token: Option<&str>,
    query: &str,
    variables: Value,
    field: &str,
) -> (Value, [usize; 4]) {
    let before = routed.subgraph_requests();
    let answer = routed.router.data(token, query, variables, field).await;
    let after = routed.subgraph_requests();
    let mut sent = [0; 4];
    for (slot, (a, b)) in sent.iter_mut().zip(after.iter().zip(before)) {
        *slot = a - b;
    }
    (answer, sent)
}

async fn subgraph_requests_per_page(store: Store) {
    let Some(shop) = Shop::start(store).await else {
        return;
    };
    seed_catalogue(&shop).await;
    let routed = shop.routed().await;

    // The category page: everything it asks is inventory's, one request.
    let mut counts = Vec::new();
    for first in [1, 6, 24] {
        let variables = json!({ "slug": "kitchen", "first": first, "sort": "PRICE_ASC" });
        let (category, sent) =
            requests_for(&routed, None, CATEGORY_PAGE, variables, "category").await;
        let edges = category["products"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), first, "{category}");
        counts.push(sent);
    }
    assert_eq!(
        counts,
        vec![[0, 1, 0, 0]; 3],
        "one inventory request per page, whatever its size"
    );

    // A cart (orders) with its lines' products (inventory): batched, so the
    // same requests for 1 line as for 12.
    let mut cart_id: Option<String> = None;
    let mut counts = Vec::new();
    for (i, product) in kitchen()
        .iter()
        .filter(|p| p.stock > 0)
        .take(12)
        .enumerate()
    {
        let cart = routed
            .router
            .data(
                None,
                ADD_TO_CART,
                json!({ "cartId": cart_id, "sku": product.sku, "quantity": 1 }),
                "addToCart",
            )
            .await;
        cart_id = Some(cart["id"].as_str().expect("a cart id").to_owned());
        if i == 0 || i == 11 {
            let (cart, sent) =
                requests_for(&routed, None, CART, json!({ "id": cart_id }), "cart").await;
            assert_eq!(cart["lines"].as_array().expect("lines").len(), i + 1);
            counts.push(sent);
        }
    }
    assert_eq!(counts[0], counts[1], "1 line and 12 lines: {counts:?}");
    assert_eq!(
        counts[1],
        [0, 1, 1, 0],
        "one orders request, one inventory request (the lines' products, batched)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_category_page_and_a_cart_cost_the_same_subgraph_requests_whatever_their_size_on_the_embedded_stores()
 {
    subgraph_requests_per_page(Store::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_category_page_and_a_cart_cost_the_same_subgraph_requests_whatever_their_size_on_mongodb()
{
    subgraph_requests_per_page(Store::Mongo).await;
}
