//! `@fromContext` arguments: the field is fetched through its key with the
//! argument as a variable, whose value each entity takes from the nearest
//! enclosing object that sets the context (entities under different values
//! go in separate requests).

use crate::common::{FakeSubgraph, query, serving};
use serde_json::{Value, json};
use storefront_router::core::plan::plan_text;

const CONTEXT: &str = include_str!("../fixtures/plan/context.graphql");

#[test]
fn a_contextual_argument_is_a_variable_of_an_entity_fetch() {
    let text = plan_text(CONTEXT, "{ t { u { field } } }", None).expect("plans");
    insta::assert_snapshot!(text);
    // The context field is selected on the enclosing `T`, and the field
    // goes through `_entities` even though `a` also returned `u`.
    assert!(text.contains("prop"), "{text}");
    assert!(text.contains("field(a: $sf_context_"), "{text}");
    assert_eq!(text.matches("Fetch(service: \"a\")").count(), 2, "{text}");
}

#[test]
fn the_argument_is_not_part_of_the_api() {
    let error =
        plan_text(CONTEXT, "{ t { u { field(a: \"x\") } } }", None).expect_err("no argument");
    assert!(
        error
            .to_string()
            .contains("the argument `a` is not supported by `U.field`"),
        "{error}"
    );
}

/// The value of the (one) context variable a subgraph request carries.
fn context_value(body: &Value) -> Value {
    body["variables"]
        .as_object()
        .and_then(|v| v.iter().find(|(name, _)| name.starts_with("sf_context_")))
        .map_or(Value::Null, |(_, value)| value.clone())
}

/// Subgraph `a`: `ts` answers two `T`s with different `prop`s sharing `U` 1;
/// `_entities` answers `field` as the length of the variable's value times
/// ten plus the id, so each answer shows which context it got.
fn answer_a(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap_or_default();
    if query.contains("_entities") {
        let context = context_value(body);
        let length = context.as_str().map_or(0, str::len) as i64;
        let entities: Vec<Value> = body["variables"]["representations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let id: i64 = r["id"].as_str().and_then(|i| i.parse().ok()).unwrap_or(0);
                json!({ "__typename": "U", "field": length * 10 + id })
            })
            .collect();
        return json!({ "data": { "_entities": entities } });
    }
    json!({ "data": { "ts": [
        { "prop": "xy", "us": [{ "__typename": "U", "id": "1" }, { "__typename": "U", "id": "2" }] },
        { "prop": "xyz", "us": [{ "__typename": "U", "id": "1" }] }
    ] } })
}

#[tokio::test]
async fn each_entity_gets_the_value_of_its_own_enclosing_object() {
    let a = FakeSubgraph::start(answer_a).await;
    let b = FakeSubgraph::start(|_: &Value| json!({ "data": {} })).await;
    let state = serving(CONTEXT, &[("a", &a.url), ("b", &b.url)]);
    let answered = query(&state, "{ ts { prop us { id field } } }", json!({})).await;
    assert_eq!(
        answered.body,
        json!({ "data": { "ts": [
            { "prop": "xy", "us": [{ "id": "1", "field": 21 }, { "id": "2", "field": 22 }] },
            { "prop": "xyz", "us": [{ "id": "1", "field": 31 }] }
        ] } })
    );
    let received = a.received();
    let mut entity_calls: Vec<(Value, Value)> = received
        .iter()
        .filter(|r| {
            r.body["query"]
                .as_str()
                .unwrap_or_default()
                .contains("_entities")
        })
        .map(|r| {
            (
                context_value(&r.body),
                r.body["variables"]["representations"].clone(),
            )
        })
        .collect();
    entity_calls.sort_by_key(|(context, _)| context.to_string());
    assert_eq!(
        entity_calls,
        vec![
            (
                json!("xy"),
                json!([{ "__typename": "U", "id": "1" }, { "__typename": "U", "id": "2" }])
            ),
            (json!("xyz"), json!([{ "__typename": "U", "id": "1" }])),
        ]
    );
    assert!(b.received().is_empty(), "b was called");
}

#[test]
fn a_context_set_on_an_interface_is_read_from_each_implementation() {
    let sdl = include_str!("../fixtures/plan/context-interface.graphql");
    let text = plan_text(
        sdl,
        "{ nodes { ... on P { child { tag } } ... on Q { child { tag size } } } }",
        None,
    )
    .expect("plans");
    insta::assert_snapshot!(text);
    // `label` is read under both type conditions; both feed one variable.
    assert_eq!(text.matches("label").count(), 2, "{text}");
    assert_eq!(text.matches("tag(l: $sf_context_0)").count(), 1, "{text}");
}

/// `t` comes from `b`; `T.prop` (the context) and `U.field` from `a`.
#[tokio::test]
async fn the_context_value_may_come_from_another_fetch_first() {
    let sdl = include_str!("../fixtures/plan/context-cross.graphql");
    let text = plan_text(sdl, "{ t { u { field } } }", None).expect("plans");
    insta::assert_snapshot!(text);
    let a = FakeSubgraph::start(|body: &Value| {
        let representations = body["variables"]["representations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let entities: Vec<Value> = representations
            .iter()
            .map(|r| match r["__typename"].as_str() {
                Some("T") => json!({ "__typename": "T", "prop": "hello" }),
                _ => {
                    let context = context_value(body).as_str().map_or(-1, |s| s.len() as i64);
                    json!({ "__typename": "U", "field": context })
                }
            })
            .collect();
        json!({ "data": { "_entities": entities } })
    })
    .await;
    let b = FakeSubgraph::start(|_: &Value| {
        json!({ "data": { "t": { "__typename": "T", "id": "t1", "u": { "__typename": "U", "id": "u1" } } } })
    })
    .await;
    let state = serving(sdl, &[("a", &a.url), ("b", &b.url)]);
    let answered = query(&state, "{ t { u { field } } }", json!({})).await;
    assert_eq!(
        answered.body,
        json!({ "data": { "t": { "u": { "field": 5 } } } })
    );
    assert_eq!(a.received().len(), 2, "T.prop first, then U.field");
}

/// Our composition of the fixture's two subgraphs plans contextual fields as
/// Apollo's supergraph does.
#[test]
fn our_composition_serves_contexts_like_apollos_supergraph() {
    use storefront_router::core::compose::{SubgraphSdl, compose};
    let subgraph = |name: &str, sdl: &str| SubgraphSdl {
        name: name.to_owned(),
        url: format!("http://{name}.local/graphql"),
        sdl: sdl.to_owned(),
    };
    let composed = compose(&[
        subgraph(
            "a",
            r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key", "@context", "@fromContext"])
               type Query { t: T! ts: [T!]! }
               type T @key(fields: "id") @context(name: "context") { id: ID! u: U! us: [U!]! prop: String! }
               type U @key(fields: "id") { id: ID! field(a: String @fromContext(field: "$context { prop }")): Int! }"#,
        ),
        subgraph(
            "b",
            r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key"])
               type Query { a: Int! }
               type U @key(fields: "id") { id: ID! name: String }"#,
        ),
    ])
    .expect("composes");
    for operation in [
        "{ t { u { field } } }",
        "{ ts { prop us { id name field } } }",
    ] {
        assert_eq!(
            plan_text(&composed.supergraph_sdl, operation, None).expect("plans ours"),
            plan_text(CONTEXT, operation, None).expect("plans Apollo's"),
            "{operation}"
        );
    }
}
