//! Figures for the router's hot paths: planning (cold and cached) on the
//! Storefront supergraph, and merging + formatting a large response (1,000
//! orders from `orders`, their products from `inventory` and their payments
//! from `payments`), and parsing a large `_entities` answer.
#![allow(clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use storefront_router::AppState;
use storefront_router::client::SubgraphResponse;
use storefront_router::core::plan::{PathElement, RequiresSelection};
use storefront_router::execute::data::Data;
use storefront_router::execute::entities::collect;
use storefront_router::execute::merge::merge_entities;
use storefront_router::pipeline::format::Formatter;
use storefront_router::settings::RouterSettings;

const SUPERGRAPH: &str = include_str!("../tests/fixtures/apollo-supergraph.graphql");
const ORDERS_QUERY: &str = "{ myOrders(first: 1000) { edges { cursor node { id status items { quantity product { name price { amount currency } } } payment { status amount { amount currency } } } } } }";
const ORDERS: usize = 1000;

fn state() -> AppState {
    let state = AppState::new(RouterSettings::default()).unwrap();
    state.install_sdl(SUPERGRAPH).unwrap();
    state
}

fn planning(c: &mut Criterion) {
    let state = state();
    let engine = state.engine().unwrap();
    let mut n = 0u64;
    c.bench_function("plan/cold (parse, validate, limits, plan)", |b| {
        b.iter(|| {
            n += 1;
            // A new comment makes a new cache key.
            let query = format!("{ORDERS_QUERY} # {n}");
            engine.prepare(&query, None).unwrap()
        })
    });
    engine.prepare(ORDERS_QUERY, None).unwrap();
    c.bench_function("plan/cached", |b| {
        b.iter(|| engine.prepare(ORDERS_QUERY, None).unwrap())
    });
}

fn key(type_name: &str, field: &str) -> Vec<RequiresSelection> {
    let leaf = |name: &str| RequiresSelection::Field {
        name: name.into(),
        alias: None,
        selections: vec![],
    };
    vec![RequiresSelection::InlineFragment {
        type_condition: type_name.into(),
        selections: vec![leaf("__typename"), leaf(field)],
    }]
}

fn path(text: &str) -> Vec<PathElement> {
    text.split('.')
        .map(|step| match step {
            "@" => PathElement::List,
            key => PathElement::Key(key.into()),
        })
        .collect()
}

fn merging(c: &mut Criterion) {
    let state = state();
    let engine = state.engine().unwrap();
    let prepared = engine.prepare(ORDERS_QUERY, None).unwrap();
    let schema = &engine.supergraph.schema;
    let api = &engine.supergraph.api_schema;

    let edges: Vec<Value> = (0..ORDERS)
        .map(|i| {
            json!({ "cursor": format!("c{i}"), "node": { "__typename": "Order", "id": format!("o{i}"), "status": "PAID",
                "items": [{ "quantity": 1, "product": { "__typename": "Product", "sku": format!("SKU-{}", i % 100) } }] } })
        })
        .collect();
    let root = Data::from(json!({ "myOrders": { "edges": edges } }));
    let products: Vec<Data> = (0..100)
        .map(|i| Data::from(json!({ "name": format!("Product {i}"), "price": { "amount": 100 + i, "currency": "USD" } })))
        .collect();
    let payments: Vec<Data> = (0..ORDERS)
        .map(|i| Data::from(json!({ "payment": { "status": "SUCCEEDED", "amount": { "amount": i, "currency": "USD" } } })))
        .collect();
    let product_path = path("myOrders.edges.@.node.items.@.product");
    let order_path = path("myOrders.edges.@.node");
    let product_key = key("Product", "sku");
    let order_key = key("Order", "id");

    c.bench_function("merge+format/1000 orders over 3 subgraphs", |b| {
        b.iter_batched(
            || (root.clone(), products.clone(), payments.clone()),
            |(mut data, products, payments)| {
                let batch = collect(schema, &data, &product_path, &product_key);
                assert_eq!(batch.representations.len(), 100);
                merge_entities(&mut data, &product_path, products, &batch.origins);
                let batch = collect(schema, &data, &order_path, &order_key);
                merge_entities(&mut data, &order_path, payments, &batch.origins);
                let Data::Object(data) = data else {
                    unreachable!()
                };
                let operation = prepared.document.operations.get(None).unwrap();
                let variables = Map::new();
                let mut formatter = Formatter::new(api, &prepared.document, &variables, &[], false);
                let mut output = Vec::new();
                formatter.format_operation(operation, &data, &mut output);
                output
            },
            BatchSize::SmallInput,
        )
    });
}

/// An `_entities` answer of 500 products, each with five reviews: the
/// shape of the gateway benchmark's answers (a few keys repeated in every
/// object, short ids and names, long review bodies).
fn entities_answer() -> Vec<u8> {
    let entities: Vec<Value> = (0..500)
        .map(|i| {
            let reviews: Vec<Value> = (0..5)
                .map(|r| json!({ "__typename": "Review", "id": format!("{i}-{r}"),
                    "body": format!("Review {r} of product {i}: it does what it says, and the box was intact."),
                    "author": { "__typename": "User", "id": format!("u{}", (i + r) % 20) } }))
                .collect();
            json!({ "__typename": "Product", "upc": format!("{i}"), "name": format!("Product {i}"),
                "price": 100 + i, "weight": 5, "inStock": i % 3 != 0, "reviews": reviews })
        })
        .collect();
    serde_json::to_vec(&json!({ "data": { "_entities": entities } })).unwrap()
}

fn parsing(c: &mut Criterion) {
    let answer = entities_answer();
    c.bench_function(
        "parse/_entities answer of 500 products with 5 reviews each",
        |b| {
            b.iter_batched(
                || answer.clone(),
                |answer| SubgraphResponse::parse(answer).unwrap(),
                BatchSize::SmallInput,
            )
        },
    );
}

criterion_group!(benches, planning, merging, parsing);
criterion_main!(benches);
