//! `@external` key fields: a subgraph that defines a type with an external
//! key field does not own that value, so the planner does not read it there
//! from objects the subgraph found itself (a Fed1-style extension still
//! returns its keys, see `value_types`). Where the object was entered by
//! an entity fetch, the key came in the representation and is returned again.
//! A shared root field goes to the subgraph that resolves its whole selection.

use storefront_router::core::plan::plan_text;

const NODES: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/nodes.graphql")
);
const WAREHOUSE: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/warehouse.graphql")
);

#[test]
fn each_root_field_goes_where_its_whole_selection_resolves() {
    insta::assert_snapshot!(
        plan_text(
            NODES,
            r#"{ person: node(id: "p1") { ... on Person { id name } }
                 post: node(id: "t1") { ... on Post { id title } } }"#,
            None,
        )
        .expect("plans")
    );
}

#[test]
fn a_fragment_on_a_type_whose_id_the_subgraph_does_not_own_goes_elsewhere() {
    let text =
        plan_text(NODES, r#"{ node(id: "p1") { ... on Post { id } } }"#, None).expect("plans");
    assert!(text.contains("Fetch(service: \"posts\")"), "{text}");
    assert!(!text.contains("Fetch(service: \"people\")"), "{text}");
}

#[test]
fn an_id_no_subgraph_can_give_for_every_type_is_a_clear_planning_error() {
    let err = plan_text(NODES, r#"{ node(id: "p1") { id } }"#, None).expect_err("unplannable");
    assert_eq!(
        err.to_string(),
        "cannot plan: Post.id cannot be reached from subgraph people"
    );
}

#[test]
fn an_external_key_of_an_entity_entered_by_its_key_leads_on() {
    insta::assert_snapshot!(
        plan_text(
            WAREHOUSE,
            r#"{ part(id: "1") { name location { aisle label } } }"#,
            None,
        )
        .expect("plans")
    );
}
