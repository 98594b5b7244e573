//! Fragments, aliases, `@skip`/`@include`, `__typename` and variables.

use crate::fixtures::{SHOP, shop_plan as plan};
use storefront_router::core::plan::{PlanNode, Planner};
use storefront_router::core::supergraph::Supergraph;

/// The subgraph operations of a plan, in plan order.
fn operations(operation: &str, name: Option<&str>) -> Vec<(String, String, Vec<String>)> {
    let supergraph = Supergraph::parse(SHOP).expect("supergraph");
    let document = apollo_compiler::ExecutableDocument::parse_and_validate(
        &supergraph.api_schema,
        operation,
        "op.graphql",
    )
    .expect("valid");
    let plan = Planner::new(std::sync::Arc::new(supergraph))
        .plan(&document, name)
        .expect("plans");
    let mut out = Vec::new();
    fn walk(node: &PlanNode, out: &mut Vec<(String, String, Vec<String>)>) {
        match node {
            PlanNode::Fetch(f) => out.push((
                f.subgraph.clone(),
                f.operation.clone(),
                f.variable_usages.clone(),
            )),
            PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
                nodes.iter().for_each(|n| walk(n, out))
            }
            PlanNode::Flatten(f) => walk(&f.node, out),
        }
    }
    if let Some(node) = &plan.node {
        walk(node, &mut out);
    }
    out
}

#[test]
fn named_and_inline_fragments_are_flattened_into_subgraph_selections() {
    insta::assert_snapshot!(plan(
        "query { topProducts { ...P ... on Product { inStock } } } fragment P on Product { upc name reviews { body } }"
    ));
}

#[test]
fn aliases_are_kept_as_response_keys_in_every_subgraph() {
    insta::assert_snapshot!(plan(
        "{ best: topProducts(first: 1) { title: name stock: inStock notes: reviews { text: body } } }"
    ));
}

#[test]
fn skip_and_include_are_kept_with_their_variables() {
    insta::assert_snapshot!(plan(
        "query($withStock: Boolean!, $noName: Boolean!) { topProducts { name @skip(if: $noName) ... @include(if: $withStock) { inStock } } }"
    ));
}

#[test]
fn typename_is_kept_at_every_level() {
    insta::assert_snapshot!(plan(
        "{ __typename topProducts { __typename kind: __typename inStock reviews { __typename } } }"
    ));
}

#[test]
fn fetches_declare_only_the_variables_they_use() {
    let ops = operations(
        "query Top($n: Int = 3, $upc: String!, $id: ID!) { topProducts(first: $n) { upc } product(upc: $upc) { inStock } user(id: $id) { id } }",
        Some("Top"),
    );
    insta::assert_debug_snapshot!(ops);
}

#[test]
fn picks_the_named_operation() {
    let ops = operations("query A { me { id } } query B { shippingZones }", Some("B"));
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].0, "shipping");
    assert_eq!(ops[0].1, "query B__shipping__0 { shippingZones }");
}

#[test]
fn entity_fetches_take_representations() {
    let ops = operations("{ me { reviews { id } } }", None);
    assert_eq!(
        ops[1].1,
        "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { reviews { id } } } }"
    );
}

#[test]
fn a_client_alias_on_the_key_field_itself_is_harmless() {
    let ops = operations("{ me { id reviews { body } } }", None);
    assert_eq!(ops[0].1, "{ me { id __typename } }");
}

#[test]
fn entity_fetches_declare_the_variables_of_conditions_they_repeat() {
    let ops = operations(
        "query($withStock: Boolean!) { topProducts { upc ... @include(if: $withStock) { inStock } } }",
        None,
    );
    assert_eq!(ops[0].2, Vec::<String>::new(), "{:?}", ops[0]);
    assert_eq!(ops[1].0, "inventory");
    assert_eq!(ops[1].2, ["withStock"]);
    assert!(
        ops[1]
            .1
            .starts_with("query($representations: [_Any!]!, $withStock: Boolean!)"),
        "{}",
        ops[1].1
    );
}

#[test]
fn planning_the_same_operation_twice_gives_the_same_plan() {
    let operation = "{ topProducts { name inStock shippingEstimate reviews { author { name } } } }";
    assert_eq!(plan(operation), plan(operation));
}
