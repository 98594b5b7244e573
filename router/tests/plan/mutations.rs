//! Mutations run in order; consecutive root fields of one subgraph share a fetch.

use crate::fixtures::shop_plan as plan;

#[test]
fn mutations_of_different_subgraphs_run_in_sequence() {
    insta::assert_snapshot!(plan(
        "mutation { updateName(name: \"a\") { id } addReview(upc: \"1\", body: \"b\") { id } logout }"
    ));
}

#[test]
fn consecutive_mutations_of_one_subgraph_share_a_fetch() {
    insta::assert_snapshot!(plan(
        "mutation { updateName(name: \"a\") { id } logout addReview(upc: \"1\", body: \"b\") { id } deleteReview(id: \"2\") }"
    ));
}

#[test]
fn entity_fetches_of_a_mutation_run_before_the_next_mutation() {
    insta::assert_snapshot!(plan(
        "mutation { addReview(upc: \"1\", body: \"b\") { product { name inStock } } updateName(name: \"a\") { name } }"
    ));
}
