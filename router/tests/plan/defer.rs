//! `@defer` (issue 21): declared in the API schema and validated per the
//! incremental delivery RFC (graphql-js's `DeferStreamDirectiveLabel`,
//! `DeferStreamDirectiveOnRootField`, `DeferStreamDirectiveOnValidOperations`).
//! With `@defer` stripped (a client without incremental delivery) a deferred
//! fragment plans, fetches and answers exactly like a plain one. With it
//! kept, the plan splits into a primary part and one node per deferred
//! fragment: snapshots per case at the end (`Defer { Primary, Deferred }`).

#![allow(clippy::unwrap_used)]

use crate::common::{FakeSubgraph, SUPERGRAPH, post, query, serving};
use serde_json::{Value, json};
use storefront_router::core::plan::plan_text;

/// Every `(message, code)` of a request's errors.
fn errors(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["message"].as_str().unwrap_or_default().to_owned(),
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn failed(message: &str) -> Vec<(String, String)> {
    vec![(message.to_owned(), "GRAPHQL_VALIDATION_FAILED".to_owned())]
}

const DUPLICATE_LABEL: &str = "Value for arguments \"defer(label:)\" and \"stream(label:)\" must be unique across all Defer/Stream directive usages.";
const VARIABLE_LABEL: &str = "Argument \"@defer(label:)\" must be a static string.";
const ROOT_MUTATION: &str = "Defer directive cannot be used on root mutation type.";
const ROOT_SUBSCRIPTION: &str = "Defer directive cannot be used on root subscription type.";
const IN_SUBSCRIPTION: &str = "Defer directive not supported on subscription operations. Disable `@defer` by setting the `if` argument to `false`.";

#[tokio::test]
async fn introspection_shows_defer_on_fragments_and_no_stream() {
    let state = serving(&SUPERGRAPH, &[]);
    let answer = query(
        &state,
        "{ __schema { directives { name locations isRepeatable \
         args { name defaultValue type { kind name ofType { name } } } } } }",
        json!({}),
    )
    .await;
    let directives = answer.body["data"]["__schema"]["directives"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = directives
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert!(!names.contains(&"stream"), "{names:?}");
    let defer = directives
        .iter()
        .find(|d| d["name"] == "defer")
        .unwrap_or_else(|| panic!("no @defer in {names:?}"));
    assert_eq!(
        defer,
        &json!({
            "name": "defer",
            "locations": ["FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
            "isRepeatable": false,
            "args": [
                { "name": "if", "defaultValue": "true",
                  "type": { "kind": "NON_NULL", "name": null, "ofType": { "name": "Boolean" } } },
                { "name": "label", "defaultValue": null,
                  "type": { "kind": "SCALAR", "name": "String", "ofType": null } }
            ]
        })
    );
}

#[tokio::test]
async fn stream_is_an_unknown_directive() {
    let state = serving(&SUPERGRAPH, &[]);
    let answer = query(
        &state,
        "{ products { edges @stream(initialCount: 1) { cursor } } }",
        json!({}),
    )
    .await;
    let errors = errors(&answer.body);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].1, "GRAPHQL_VALIDATION_FAILED");
    assert!(errors[0].0.contains("@stream"), "{errors:?}");
}

#[tokio::test]
async fn defer_labels_must_be_unique_in_the_document() {
    let state = serving(&SUPERGRAPH, &[]);
    let same_field = "{ me { ... @defer(label: \"a\") { id } ... @defer(label: \"a\") { name } } }";
    let answer = query(&state, same_field, json!({})).await;
    assert_eq!(errors(&answer.body), failed(DUPLICATE_LABEL));
    assert!(answer.body.get("data").is_none());
    // Across operations too (graphql-js checks the document), whichever runs.
    let two_operations = "query A { me { ... @defer(label: \"a\") { id } } } \
                          query B { me { ...N @defer(label: \"a\") } } fragment N on User { name }";
    let answer = post(
        &state,
        json!({ "query": two_operations, "operationName": "A" }),
        &[],
    )
    .await;
    assert_eq!(errors(&answer.body), failed(DUPLICATE_LABEL));
    // Different labels, or none, are fine.
    let fine = "{ me { ... @defer(label: \"a\") { id } ... @defer(label: \"b\") { name } ... @defer { email } ... @defer { role } } }";
    let answer = query(&state, fine, json!({})).await;
    assert!(
        errors(&answer.body)
            .iter()
            .all(|(_, code)| code != "GRAPHQL_VALIDATION_FAILED"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_defer_label_must_be_a_string_literal_not_a_variable() {
    let state = serving(&SUPERGRAPH, &[]);
    let answer = query(
        &state,
        "query($l: String) { me { ... @defer(label: $l) { id } } }",
        json!({ "l": "a" }),
    )
    .await;
    assert_eq!(errors(&answer.body), failed(VARIABLE_LABEL));
}

#[tokio::test]
async fn defer_on_the_root_of_a_mutation_or_subscription_is_refused() {
    let state = serving(&SUPERGRAPH, &[]);
    let mutation = "mutation { ... @defer { updateProfile(name: \"Ada\") { id } } }";
    let answer = query(&state, mutation, json!({})).await;
    assert_eq!(errors(&answer.body), failed(ROOT_MUTATION));
    // Through a named fragment on the root type as well.
    let spread =
        "mutation { ...M @defer } fragment M on Mutation { updateProfile(name: \"Ada\") { id } }";
    let answer = query(&state, spread, json!({})).await;
    assert_eq!(errors(&answer.body), failed(ROOT_MUTATION));
    // Even disabled: the rule is about where it stands, not whether it applies.
    let subscription =
        "subscription { ... @defer(if: false) { stockChanged(skus: [\"p1\"]) { sku } } }";
    let answer = query(&state, subscription, json!({})).await;
    assert_eq!(errors(&answer.body), failed(ROOT_SUBSCRIPTION));
    // Below the root of a mutation it is allowed.
    let below = "mutation { updateProfile(name: \"Ada\") { id ... @defer { name } } }";
    let answer = query(&state, below, json!({})).await;
    assert!(
        errors(&answer.body)
            .iter()
            .all(|(_, code)| code != "GRAPHQL_VALIDATION_FAILED"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn defer_in_a_subscription_must_be_disabled_with_if_false_or_a_variable() {
    let state = serving(&SUPERGRAPH, &[]);
    for enabled in [
        "subscription { stockChanged(skus: [\"p1\"]) { sku ... @defer { stock } } }",
        "subscription { stockChanged(skus: [\"p1\"]) { sku ... @defer(if: true) { stock } } }",
        "subscription { stockChanged(skus: [\"p1\"]) { sku ...S @defer(label: \"s\") } } \
         fragment S on Product { stock }",
    ] {
        let answer = query(&state, enabled, json!({})).await;
        assert_eq!(errors(&answer.body), failed(IN_SUBSCRIPTION), "{enabled}");
    }
    // Disabled, or under a selection `@skip`/`@include` may remove: valid,
    // so the request gets as far as asking for a streaming transport.
    for disabled in [
        "subscription { stockChanged(skus: [\"p1\"]) { sku ... @defer(if: false) { stock } } }",
        "subscription($d: Boolean!) { stockChanged(skus: [\"p1\"]) { sku ... @defer(if: $d) { stock } } }",
        "subscription($i: Boolean!) { stockChanged(skus: [\"p1\"]) { sku ... @include(if: $i) { ... @defer { stock } } } }",
    ] {
        let answer = query(&state, disabled, json!({ "d": true, "i": true })).await;
        let codes: Vec<String> = errors(&answer.body).into_iter().map(|(_, c)| c).collect();
        assert_eq!(codes, ["BAD_REQUEST"], "{disabled}: {}", answer.body);
    }
}

fn answer_orders(_: &Value) -> Value {
    json!({ "data": { "order": { "__typename": "Order", "id": "o1", "status": "PAID" } } })
}

fn answer_payments(_: &Value) -> Value {
    json!({ "data": { "_entities": [{ "__typename": "Order", "payment": { "id": "pay1", "status": "SUCCEEDED" } }] } })
}

const PLAIN: &str = "{ order(id: \"o1\") { status payment { id status } } }";

/// The same selections as [`PLAIN`], deferred in every way a client may write.
const DEFERRED: [&str; 5] = [
    "{ order(id: \"o1\") { status ... @defer { payment { id status } } } }",
    "query { order(id: \"o1\") { status ...P @defer(label: \"payment\") } } \
     fragment P on Order { payment { id ...S @defer } } fragment S on Payment { status }",
    "{ order(id: \"o1\") { status ... on Order @defer(if: false) { payment { id status } } } }",
    "query($d: Boolean! = true) { order(id: \"o1\") { status ... @defer(if: $d) { payment { id status } } } }",
    "query($d: Boolean! = false) { order(id: \"o1\") { status ... @defer(if: $d) { payment { id status } } } }",
];

#[test]
fn a_deferred_fragment_plans_like_a_plain_one() {
    let plain = plan_text(&SUPERGRAPH, PLAIN, None).expect("plans");
    for deferred in DEFERRED {
        let plan = plan_text(&SUPERGRAPH, deferred, None).expect("plans");
        assert_eq!(plan, plain, "{deferred}");
        assert!(!plan.contains("defer"), "{plan}");
    }
}

#[tokio::test]
async fn a_deferred_query_from_a_client_without_multipart_is_answered_whole() {
    let orders = FakeSubgraph::start(answer_orders).await;
    let payments = FakeSubgraph::start(answer_payments).await;
    let state = serving(
        &SUPERGRAPH,
        &[("orders", &orders.url), ("payments", &payments.url)],
    );
    let expected = json!({ "data": { "order": { "status": "PAID", "payment": { "id": "pay1", "status": "SUCCEEDED" } } } });
    assert_eq!(query(&state, PLAIN, json!({})).await.body, expected);
    for deferred in DEFERRED {
        // A client that does not accept the incremental multipart format
        // gets the whole answer as JSON (`router/tests/defer` covers those
        // that do).
        let answer = post(
            &state,
            json!({ "query": deferred }),
            &[(
                "accept",
                "application/graphql-response+json,application/json;q=0.9",
            )],
        )
        .await;
        assert_eq!(answer.status, 200, "{deferred}");
        assert_eq!(answer.body, expected, "{deferred}");
        let media = answer.headers["content-type"].to_str().unwrap_or_default();
        assert!(
            media.starts_with("application/graphql-response+json"),
            "{deferred}: {media}"
        );
    }
    for received in orders.received().iter().chain(&payments.received()) {
        let sent = received.body["query"].as_str().unwrap_or_default();
        assert!(!sent.contains("defer"), "a subgraph was sent {sent}");
    }
    assert_eq!(orders.received().len(), 1 + DEFERRED.len());
    assert_eq!(payments.received().len(), 1 + DEFERRED.len());
}

// Plans with `@defer` kept (a client that accepts incremental delivery).

use crate::fixtures::SHOP;
use storefront_router::core::plan::{PlanNode, Planner, plan_text_deferred};

const MEDIA: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/media.graphql")
);

/// The printed plan with defers kept; no subgraph operation carries `@defer`.
fn deferred_plan(supergraph: &str, operation: &str, variables: Value) -> String {
    let variables = variables.as_object().cloned().unwrap_or_default();
    let plan = plan_text_deferred(supergraph, operation, None, &variables).expect("plans");
    assert!(!plan.contains("@defer"), "{plan}");
    plan
}

fn shop(operation: &str) -> String {
    deferred_plan(SHOP, operation, json!({}))
}

#[test]
fn a_deferred_entity_jump_is_fetched_only_by_the_deferred_node() {
    insta::assert_snapshot!(deferred_plan(
        &SUPERGRAPH,
        "{ order(id: \"o1\") { status ... @defer(label: \"payment\") { payment { id status } } } }",
        json!({}),
    ));
}

#[test]
fn nested_defers_fetch_in_their_own_nodes_after_their_parent() {
    insta::assert_snapshot!(shop(
        "{ me { name ... @defer(label: \"reviews\") { reviews { body \
         product { name ... @defer(label: \"stock\") { inStock } } } } } }"
    ));
}

#[test]
fn a_defer_inside_a_list_applies_at_every_item() {
    insta::assert_snapshot!(shop(
        "{ topProducts { name ... @defer(label: \"stock\") { inStock reviews { body author { name } } } } }"
    ));
}

const IF_VARIABLE: &str =
    "query($d: Boolean!) { topProducts { name ... @defer(if: $d) { inStock } } }";

#[test]
fn defer_if_a_false_variable_plans_a_plain_fragment() {
    let plan = deferred_plan(SHOP, IF_VARIABLE, json!({ "d": false }));
    let stripped = plan_text(SHOP, IF_VARIABLE, None).expect("plans");
    assert_eq!(plan, stripped);
    insta::assert_snapshot!(plan);
}

#[test]
fn defer_if_a_true_variable_defers() {
    insta::assert_snapshot!(deferred_plan(SHOP, IF_VARIABLE, json!({ "d": true })));
}

#[test]
fn a_deferred_field_that_requires_others_reads_local_inputs_in_the_primary_fetch() {
    // `price` comes with the products fetch; `weight` (inventory) is only
    // needed for the deferred `shippingEstimate`, so the deferred node
    // fetches it first.
    insta::assert_snapshot!(shop(
        "{ topProducts { name ... @defer { shippingEstimate } } }"
    ));
}

#[test]
fn defers_under_an_interface_keep_their_type_condition() {
    insta::assert_snapshot!(deferred_plan(
        MEDIA,
        "{ search(text: \"x\") { id ... on Book @defer(label: \"book\") { pages } ... @defer { title rating } } }",
        json!({}),
    ));
}

#[test]
fn defers_under_a_union_jump_per_member() {
    insta::assert_snapshot!(deferred_plan(
        MEDIA,
        "{ anything(text: \"x\") { ... on Author { name } ... on Movie @defer { duration } } }",
        json!({}),
    ));
}

#[test]
fn a_deferred_fragment_keeps_its_include_and_its_fetch_is_conditional() {
    insta::assert_snapshot!(deferred_plan(
        SHOP,
        "query($i: Boolean!, $s: Boolean!) { topProducts { name \
         ... @include(if: $i) @defer(label: \"stock\") { inStock } \
         ... @defer @skip(if: $s) { reviews { body } } } }",
        json!({ "i": true, "s": false }),
    ));
}

#[test]
fn a_deferred_fragment_the_current_subgraph_resolves_needs_no_fetch_of_its_own() {
    let plan = shop("{ topProducts { upc ... @defer(label: \"details\") { name price } } }");
    assert!(
        plan.contains(
            "Deferred(id: 0, label: \"details\", path: \"topProducts.@\", parent: primary) {},"
        ),
        "{plan}"
    );
    insta::assert_snapshot!(plan);
}

#[test]
fn a_defer_below_a_mutation_root_field_fetches_after_the_mutation() {
    insta::assert_snapshot!(shop(
        "mutation { updateName(name: \"Ada\") { id ... @defer { reviews { body product { name inStock } } } } }"
    ));
}

#[test]
fn a_defer_at_the_root_of_a_query_gets_root_fetches_of_its_own() {
    insta::assert_snapshot!(shop(
        "{ me { name } ... @defer(label: \"top\") { topProducts { name ... @defer { inStock } } } }"
    ));
}

#[test]
fn deferred_and_primary_fetches_to_one_place_stay_apart() {
    // `inStock` outside and inside the fragment: one inventory fetch each
    // (the primary one is not waited for by, nor merged with, the deferred one).
    insta::assert_snapshot!(shop(
        "{ topProducts { inStock ... @defer { category: discount } } }"
    ));
}

#[test]
fn deferred_nodes_record_id_label_parent_path_and_type_condition() {
    let supergraph =
        storefront_router::core::supergraph::Supergraph::parse(MEDIA).expect("supergraph");
    let document = apollo_compiler::ExecutableDocument::parse_and_validate(
        &supergraph.api_schema,
        "{ library { pick { id ... on Book @defer(label: \"b\") { pages ... @defer { rating } } } } }",
        "q.graphql",
    )
    .expect("valid");
    let planner = Planner::new(std::sync::Arc::new(supergraph));
    let plan = planner
        .plan_deferred(&document, None, &Default::default())
        .expect("plans");
    let summary: Vec<_> = plan
        .deferred
        .iter()
        .map(|d| {
            (
                d.id,
                d.label.as_deref(),
                d.parent,
                storefront_router::core::plan::path_text(&d.path),
                d.type_condition.as_deref(),
                matches!(d.node, Some(PlanNode::Flatten(_))),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                0,
                Some("b"),
                None,
                "library.pick".to_owned(),
                Some("Book"),
                true
            ),
            (1, None, Some(0), "library.pick".to_owned(), None, true),
        ]
    );
    // Stripped, the same operation has no deferred nodes.
    assert!(
        planner
            .plan(&document, None)
            .expect("plans")
            .deferred
            .is_empty()
    );
}

#[test]
fn a_subscription_is_planned_with_defer_stripped() {
    let operation = "subscription($d: Boolean!) { stockChanged(skus: [\"p1\"]) { sku ... @defer(if: $d) { stock } } }";
    let variables = json!({ "d": true })
        .as_object()
        .cloned()
        .unwrap_or_default();
    let deferred = plan_text_deferred(&SUPERGRAPH, operation, None, &variables).expect("plans");
    assert_eq!(
        deferred,
        plan_text(&SUPERGRAPH, operation, None).expect("plans")
    );
    assert!(deferred.contains("Subscription {"), "{deferred}");
    assert!(!deferred.contains("Defer"), "{deferred}");
}

#[test]
fn a_deferred_leaf_the_primary_part_fetches_already_is_not_fetched_again() {
    let plan = shop("{ topProducts { inStock ... @defer { inStock name } } }");
    assert_eq!(
        plan.matches("Fetch(service: \"inventory\")").count(),
        1,
        "{plan}"
    );
    assert!(
        plan.contains("Deferred(id: 0, path: \"topProducts.@\", parent: primary) {},"),
        "{plan}"
    );
    // Under a condition of its own it is fetched in the deferred node.
    let conditional = deferred_plan(
        SHOP,
        "query($i: Boolean!) { topProducts { inStock ... @defer @include(if: $i) { inStock } } }",
        json!({ "i": true }),
    );
    assert_eq!(
        conditional.matches("Fetch(service: \"inventory\"").count(),
        2,
        "{conditional}"
    );
}

#[test]
fn operation_names_number_fetches_on_from_the_primary_part_into_deferred_ones() {
    let supergraph =
        storefront_router::core::supergraph::Supergraph::parse(SHOP).expect("supergraph");
    let document = apollo_compiler::ExecutableDocument::parse_and_validate(
        &supergraph.api_schema,
        "query Named { me { name ... @defer { reviews { body } } } }",
        "q.graphql",
    )
    .expect("valid");
    let plan = Planner::new(std::sync::Arc::new(supergraph))
        .plan_deferred(&document, None, &Default::default())
        .expect("plans");
    let name = |node: Option<&PlanNode>| match node {
        Some(PlanNode::Fetch(fetch)) => fetch.operation_name.clone(),
        Some(PlanNode::Flatten(flatten)) => match flatten.node.as_ref() {
            PlanNode::Fetch(fetch) => fetch.operation_name.clone(),
            _ => None,
        },
        _ => None,
    };
    assert_eq!(
        name(plan.node.as_ref()).as_deref(),
        Some("Named__accounts__0")
    );
    assert_eq!(
        name(plan.deferred[0].node.as_ref()).as_deref(),
        Some("Named__reviews__1")
    );
}
