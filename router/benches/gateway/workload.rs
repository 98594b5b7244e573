//! The operation every request sends (the benchmark's `TestQuery`: users and
//! top products, their reviews, the reviewed products, their reviews' authors
//! and those authors' reviews, through nested fragments) and the response it
//! must get, worked out here from [`crate::data`] by following the query — not
//! by asking a router — so a router that answers wrongly does not score.

use serde_json::{Map, Value, json};

use crate::data;

/// The benchmark's query text.
pub const QUERY: &str = include_str!("../../tests/fixtures/plan/gateway-test-query.graphql");

/// The request body every request posts (as the benchmark's k6 script: the query alone).
pub fn request_body() -> Vec<u8> {
    json!({ "query": QUERY }).to_string().into_bytes()
}

/// The response [`QUERY`] must get.
pub fn expected_response() -> Value {
    let users: Vec<Value> = data::USERS
        .iter()
        .map(|u| {
            let reviews = data::reviews_of_user()
                .iter()
                .map(|r| {
                    let product = data::product_by_upc(r.product_upc).map(|p| {
                        let reviews = data::reviews_of_product(p.upc)
                            .map(|r| with(review(r), "author", author()))
                            .collect();
                        with(product(p), "reviews", Value::Array(reviews))
                    });
                    with(review(r), "product", product.unwrap_or(Value::Null))
                })
                .collect();
            with(user(u), "reviews", Value::Array(reviews))
        })
        .collect();
    let top_products: Vec<Value> = data::PRODUCTS
        .iter()
        .take(data::TOP_PRODUCTS_DEFAULT as usize)
        .map(|p| {
            let reviews = data::reviews_of_product(p.upc)
                .map(|r| with(review(r), "author", author()))
                .collect();
            with(product(p), "reviews", Value::Array(reviews))
        })
        .collect();
    json!({ "data": { "users": users, "topProducts": top_products } })
}

/// `author { ...User reviews { ...Review product { ...Product } } }`.
fn author() -> Value {
    let reviews = data::reviews_of_user()
        .iter()
        .map(|r| {
            let product = data::product_by_upc(r.product_upc)
                .map(product)
                .unwrap_or(Value::Null);
            with(review(r), "product", product)
        })
        .collect();
    with(user(data::AUTHOR), "reviews", Value::Array(reviews))
}

fn user(u: &data::User) -> Value {
    json!({ "id": u.id, "username": u.username, "name": u.name })
}

fn review(r: &data::Review) -> Value {
    json!({ "id": r.id, "body": r.body })
}

fn product(p: &data::Product) -> Value {
    json!({
        "inStock": p.in_stock,
        "name": p.name,
        "price": p.price,
        "shippingEstimate": data::SHIPPING_ESTIMATE,
        "upc": p.upc,
        "weight": p.weight,
    })
}

/// `object` with `value` at `key` as well.
fn with(mut object: Value, key: &str, value: Value) -> Value {
    if let Value::Object(map) = &mut object {
        map.insert(key.to_owned(), value);
    }
    object
}

/// The first place `actual` differs from `expected` (`data.users[0].name:
/// expected "x", got "y"`), or `None` when they are equal.
pub fn first_difference(expected: &Value, actual: &Value) -> Option<String> {
    difference("", expected, actual)
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
            "{}: expected {}, got {}",
            if path.is_empty() { "response" } else { path },
            shorten(expected),
            shorten(actual)
        )),
    }
}

fn object_difference(path: &str, e: &Map<String, Value>, a: &Map<String, Value>) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    if let Some(extra) = a.keys().find(|k| !e.contains_key(*k)) {
        return Some(format!(
            "{}: not expected, got {}",
            join(extra),
            shorten(&a[extra])
        ));
    }
    e.iter().find_map(|(key, e)| match a.get(key) {
        Some(a) => difference(&join(key), e, a),
        None => Some(format!("{}: missing", join(key))),
    })
}

fn shorten(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
