//! The data, seeded through the router's public API with the committed example
//! operations (`schema/operations/`): an ADMIN creates the products, a buyer
//! registers and places [`ORDERS`] orders of one to three lines, pays most of
//! them with the sandbox's succeeding card and some with its declined one, and
//! leaves the rest unpaid. Then the query every request sends
//! (`OrderHistory.graphql`) and the answer it must get, worked out from what
//! was seeded — not by asking a router — so a wrong answer does not score.

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};
use storefront_e2e::shop::PASSWORD;

use crate::services::ADMIN_EMAIL;

/// The query every request sends.
pub const QUERY: &str = include_str!("OrderHistory.graphql");
/// The buyer's orders.
pub const ORDERS: usize = 50;
/// The products the orders are made of.
const PRODUCTS: usize = 8;
/// Every product's stock before the orders.
const INITIAL_STOCK: i64 = 10_000;
const CURRENCY: &str = "USD";
const BUYER_NAME: &str = "Ada Lovelace";
const BUYER_EMAIL: &str = "ada@bench.test";

const REGISTER: &str = include_str!("../../../schema/operations/Register.graphql");
const CREATE_PRODUCT: &str = include_str!("../../../schema/operations/CreateProduct.graphql");
const CREATE_ORDER: &str = include_str!("../../../schema/operations/CreateOrder.graphql");
const PAY_ORDER: &str = include_str!("../../../schema/operations/PayOrder.graphql");

/// The request body every request posts.
pub fn request_body() -> Vec<u8> {
    json!({
        "query": QUERY,
        "operationName": "OrderHistory",
        "variables": { "first": ORDERS },
    })
    .to_string()
    .into_bytes()
}

struct Product {
    sku: String,
    name: String,
    price: i64,
}

fn products() -> Vec<Product> {
    (0..PRODUCTS)
        .map(|j| Product {
            sku: format!("BENCH-{:02}", j + 1),
            name: format!("Bench product {}", j + 1),
            price: 499 + 250 * j as i64,
        })
        .collect()
}

/// How order `i` is paid.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Card {
    Succeeds,
    Declined,
    Unpaid,
}

fn card(i: usize) -> Card {
    match i % 10 {
        3 => Card::Declined,
        7 => Card::Unpaid,
        _ => Card::Succeeds,
    }
}

/// Order `i`'s lines: `(product index, quantity)`, one to three distinct products.
fn lines(i: usize) -> Vec<(usize, i64)> {
    (0..1 + i % 3)
        .map(|k| ((i + 3 * k) % PRODUCTS, 1 + ((i + k) % 3) as i64))
        .collect()
}

/// What the API answered while seeding: the ids and timestamps it chose.
struct Placed {
    id: String,
    created_at: Value,
    lines: Vec<(usize, i64)>,
    card: Card,
    payment_id: Option<String>,
}

/// The seeded data; [`Seeded::expected_response`] is what the query must get.
pub struct Seeded {
    /// The buyer's bearer token.
    pub token: String,
    buyer_id: String,
    products: Vec<Product>,
    orders: Vec<Placed>,
}

/// Seeds everything through the router at `url` (its GraphQL URL).
pub async fn seed(client: &reqwest::Client, url: &str) -> anyhow::Result<Seeded> {
    let api = Api { client, url };
    let admin = api.register(ADMIN_EMAIL, "Bench Admin").await?;
    let products = products();
    for product in &products {
        let input = json!({ "input": {
            "sku": product.sku, "name": product.name, "description": "A product of the storefront bench.",
            "price": product.price, "currency": CURRENCY, "stock": INITIAL_STOCK,
        } });
        api.call(Some(&admin.0), CREATE_PRODUCT, input)
            .await
            .with_context(|| format!("creating {}", product.sku))?;
    }
    let (token, buyer_id) = api.register(BUYER_EMAIL, BUYER_NAME).await?;
    let mut orders = Vec::with_capacity(ORDERS);
    for i in 0..ORDERS {
        let lines = lines(i);
        let items: Vec<Value> = lines
            .iter()
            .map(|&(p, quantity)| json!({ "sku": products[p].sku, "quantity": quantity }))
            .collect();
        let order = api
            .call(Some(&token), CREATE_ORDER, json!({ "items": items }))
            .await
            .with_context(|| format!("placing order {i}"))?;
        let order = &order["createOrder"];
        let total: i64 = lines.iter().map(|&(p, q)| products[p].price * q).sum();
        if order["status"] != "PENDING_PAYMENT" || order["total"]["amount"] != total {
            bail!("order {i} was placed as {order}, not PENDING_PAYMENT for {total}");
        }
        let id = order["id"].as_str().context("an order id")?.to_owned();
        let card = card(i);
        let payment_id = match card {
            Card::Unpaid => None,
            Card::Succeeds | Card::Declined => Some(
                api.pay(&token, &id, card, total)
                    .await
                    .with_context(|| format!("paying order {i}"))?,
            ),
        };
        orders.push(Placed {
            id,
            created_at: order["createdAt"].clone(),
            lines,
            card,
            payment_id,
        });
    }
    Ok(Seeded {
        token,
        buyer_id,
        products,
        orders,
    })
}

struct Api<'a> {
    client: &'a reqwest::Client,
    url: &'a str,
}

impl Api<'_> {
    /// Posts an operation; its `data`, or an error when the answer has errors.
    async fn call(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .post(self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer: Value = request
            .send()
            .await
            .context("the request failed")?
            .json()
            .await
            .context("the answer is not JSON")?;
        if answer.get("errors").is_some() || answer["data"].is_null() {
            bail!("the router answered {answer}");
        }
        Ok(answer["data"].clone())
    }

    /// Registers an account; its token and id.
    async fn register(&self, email: &str, name: &str) -> anyhow::Result<(String, String)> {
        let input = json!({ "input": { "email": email, "password": PASSWORD, "name": name } });
        let data = self
            .call(None, REGISTER, input)
            .await
            .with_context(|| format!("registering {email}"))?;
        let payload = &data["register"];
        match (payload["token"].as_str(), payload["user"]["id"].as_str()) {
            (Some(token), Some(id)) => Ok((token.to_owned(), id.to_owned())),
            _ => bail!("registering {email} answered {data}"),
        }
    }

    /// Pays an order with `card`; the payment's id.
    async fn pay(
        &self,
        token: &str,
        order: &str,
        card: Card,
        total: i64,
    ) -> anyhow::Result<String> {
        let (payment_token, status, order_status) = match card {
            Card::Declined => ("tok_chargeDeclined", "DECLINED", "PENDING_PAYMENT"),
            _ => ("tok_visa", "SUCCEEDED", "PAID"),
        };
        let variables = json!({
            "orderId": order, "paymentToken": payment_token, "idempotencyKey": format!("bench-{order}"),
        });
        let data = self.call(Some(token), PAY_ORDER, variables).await?;
        let payment = &data["payOrder"];
        if payment["status"] != status
            || payment["amount"]["amount"] != total
            || payment["order"]["status"] != order_status
        {
            bail!(
                "payOrder answered {payment}, not {status} for {total} with the order {order_status}"
            );
        }
        Ok(payment["id"].as_str().context("a payment id")?.to_owned())
    }
}

fn money(amount: i64) -> Value {
    json!({ "amount": amount, "currency": CURRENCY })
}

impl Seeded {
    /// The answer [`QUERY`] must get.
    pub fn expected_response(&self) -> Value {
        let buyer = json!({ "id": self.buyer_id, "name": BUYER_NAME, "email": BUYER_EMAIL });
        let mut stock = vec![INITIAL_STOCK; self.products.len()];
        for order in &self.orders {
            // Paid lines are sold, unpaid ones reserved: neither is in stock.
            for &(p, quantity) in &order.lines {
                stock[p] -= quantity;
            }
        }
        let product = |p: usize| {
            let product = &self.products[p];
            json!({
                "sku": product.sku, "name": product.name, "price": money(product.price),
                "stock": stock[p], "inStock": stock[p] > 0,
            })
        };
        let mut orders: Vec<&Placed> = self.orders.iter().collect();
        // Newest first: order ids are UUID v7, which sort by creation.
        orders.sort_by(|a, b| b.id.cmp(&a.id));
        let edges: Vec<Value> = orders
            .into_iter()
            .map(|order| {
                let items: Vec<Value> = order
                    .lines
                    .iter()
                    .map(|&(p, quantity)| {
                        let price = self.products[p].price;
                        json!({
                            "quantity": quantity, "unitPrice": money(price),
                            "subtotal": money(price * quantity), "product": product(p),
                        })
                    })
                    .collect();
                let total: i64 = order
                    .lines
                    .iter()
                    .map(|&(p, q)| self.products[p].price * q)
                    .sum();
                let (status, payment_status) = match order.card {
                    Card::Succeeds => ("PAID", "SUCCEEDED"),
                    Card::Declined | Card::Unpaid => ("PENDING_PAYMENT", "DECLINED"),
                };
                let payment = match &order.payment_id {
                    Some(id) => {
                        json!({ "id": id, "status": payment_status, "amount": money(total) })
                    }
                    None => Value::Null,
                };
                json!({ "node": {
                    "id": order.id, "status": status, "createdAt": order.created_at,
                    "total": money(total), "items": items, "payment": payment, "buyer": buyer,
                } })
            })
            .collect();
        json!({ "data": { "me": {
            "id": self.buyer_id, "name": BUYER_NAME, "email": BUYER_EMAIL,
            "orders": { "edges": edges, "pageInfo": { "hasNextPage": false } },
        } } })
    }
}

/// Where `actual` first differs from `expected`, as `path: expected …, got …`.
pub fn first_difference(expected: &Value, actual: &Value) -> Option<String> {
    difference("response", expected, actual)
}

fn difference(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => object_difference(path, e, a),
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (e, a))| difference(&format!("{path}[{i}]"), e, a)),
        _ if expected == actual => None,
        _ => Some(format!(
            "{path}: expected {}, got {}",
            shorten(expected),
            shorten(actual)
        )),
    }
}

fn object_difference(path: &str, e: &Map<String, Value>, a: &Map<String, Value>) -> Option<String> {
    if let Some(extra) = a.keys().find(|key| !e.contains_key(*key)) {
        return Some(format!(
            "{path}.{extra}: not expected, got {}",
            shorten(&a[extra])
        ));
    }
    e.iter().find_map(|(key, e)| match a.get(key) {
        Some(a) => difference(&format!("{path}.{key}"), e, a),
        None => Some(format!("{path}.{key}: missing")),
    })
}

fn shorten(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}
