//! Estimates against composed supergraphs: Apollo Router's documented
//! examples (docs/source/routing/security/demand-control.mdx, "Calculating
//! cost") with their published figures first, then each rule.

use serde_json::json;

use super::*;
use crate::core::compose::{SubgraphSdl, compose};

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize", "@external", "@requires"])"#;

fn supergraph_of(subgraphs: &[(&str, &str)]) -> Supergraph {
    let inputs: Vec<SubgraphSdl> = subgraphs
        .iter()
        .map(|(name, sdl)| SubgraphSdl {
            name: (*name).to_owned(),
            url: format!("http://{name}.local/graphql"),
            sdl: format!("{LINK}\n{sdl}"),
        })
        .collect();
    let composed = compose(&inputs).expect("the test schema composes");
    Supergraph::parse(&composed.supergraph_sdl).expect("the router loads it")
}

fn supergraph(sdl: &str) -> Supergraph {
    supergraph_of(&[("a", sdl)])
}

fn cost_with(
    supergraph: &Supergraph,
    query: &str,
    variables: serde_json::Value,
    list_size: u32,
) -> Result<i64, CostError> {
    let document =
        ExecutableDocument::parse_and_validate(&supergraph.api_schema, query, "query.graphql")
            .expect("the test operation is valid");
    let operation = document.operations.get(None).expect("one operation");
    let variables = variables.as_object().cloned().unwrap_or_default();
    estimate(supergraph, &document, operation, &variables, list_size)
}

fn cost(supergraph: &Supergraph, query: &str) -> i64 {
    cost_with(supergraph, query, json!({}), 10).expect("estimated")
}

/// The schema of Apollo's "Calculating cost" examples; `address` is the
/// `Address` type's definition (with or without `@cost`).
fn books(address: &str) -> Supergraph {
    supergraph(&format!(
        r#"
        type Query {{
          book(id: ID): Book
          bestsellers: [Book] @listSize(assumedSize: 5)
          newestAdditions(after: ID, limit: Int!): [Book] @listSize(slicingArguments: ["limit"])
        }}
        type Book {{ title: String author: Author publisher: Publisher }}
        type Author {{ name: String }}
        type Publisher {{ name: String address: Address }}
        {address}
        "#
    ))
}

const BOOK_FIELDS: &str = "title author { name } publisher { name address { zipCode } }";

#[test]
fn apollo_doc_book_query_costs_4_with_default_weights() {
    // "Using these defaults, the following operation would have a cost of 4."
    let books = books("type Address { zipCode: Int! }");
    assert_eq!(
        cost(
            &books,
            &format!("query BookQuery {{ book(id: 1) {{ {BOOK_FIELDS} }} }}")
        ),
        4
    );
}

#[test]
fn apollo_doc_book_query_costs_8_with_address_weighing_5() {
    // "This increases the cost of `BookQuery` from 4 to 8."
    let books = books("type Address @cost(weight: 5) { zipCode: Int! }");
    assert_eq!(
        cost(
            &books,
            &format!("query BookQuery {{ book(id: 1) {{ {BOOK_FIELDS} }} }}")
        ),
        8
    );
}

#[test]
fn apollo_doc_bestsellers_query_costs_40_with_assumed_size_5() {
    // "With this schema, the following query has a cost of 40."
    let books = books("type Address @cost(weight: 5) { zipCode: Int! }");
    assert_eq!(
        cost(
            &books,
            &format!("query BestsellersQuery {{ bestsellers {{ {BOOK_FIELDS} }} }}")
        ),
        40
    );
}

#[test]
fn apollo_doc_newest_additions_costs_24_for_3_books_and_56_for_7() {
    // "The router will estimate the cost of this query as 24. If the limit
    // was increased to 7, then the cost would increase to 56."
    let books = books("type Address @cost(weight: 5) { zipCode: Int! }");
    let query = |limit: u32| {
        format!("query NewestAdditions {{ newestAdditions(limit: {limit}) {{ {BOOK_FIELDS} }} }}")
    };
    assert_eq!(cost(&books, &query(3)), 24);
    assert_eq!(cost(&books, &query(7)), 56);
}

#[test]
fn a_mutation_costs_10_more_than_its_fields() {
    let sg = supergraph(
        "type Query { n: Int } type Mutation { add(name: String): Item! } type Item { id: ID! }",
    );
    assert_eq!(cost(&sg, "mutation { add(name: \"x\") { id } }"), 11);
    assert_eq!(cost(&sg, "mutation { a: add { id } b: add { id } }"), 12);
}

#[test]
fn scalars_and_enums_are_free_and_lists_without_a_size_take_the_default() {
    let sg = supergraph(
        "type Query { tags: [String] kind: Kind items: [Item] } enum Kind { A } type Item { id: ID }",
    );
    assert_eq!(cost(&sg, "{ tags kind }"), 0);
    assert_eq!(cost(&sg, "{ items { id } }"), 10);
    assert_eq!(
        cost_with(&sg, "{ items { id } }", json!({}), 25).expect("estimated"),
        25
    );
}

#[test]
fn interfaces_and_unions_weigh_1_and_fragments_are_walked() {
    let sg = supergraph(
        r#"
        type Query { node: Node result: Result }
        interface Node { id: ID! }
        type Book implements Node { id: ID! author: Author }
        type Author { name: String }
        union Result = Book | Author
        "#,
    );
    assert_eq!(cost(&sg, "{ node { id } }"), 1);
    assert_eq!(cost(&sg, "{ node { ... on Book { author { name } } } }"), 2);
    assert_eq!(
        cost(
            &sg,
            "{ result { ...B } } fragment B on Book { author { name } }"
        ),
        2
    );
}

#[test]
fn aliases_count_each_time_and_skipped_fields_cost_nothing() {
    let sg = supergraph("type Query { book(id: ID): Book } type Book { title: String }");
    assert_eq!(
        cost(&sg, "{ a: book(id: 1) { title } b: book(id: 2) { title } }"),
        2
    );
    assert_eq!(
        cost(
            &sg,
            "{ a: book { title } b: book @skip(if: true) { title } }"
        ),
        1
    );
    let query =
        "query ($with: Boolean!) { a: book { title } b: book @include(if: $with) { title } }";
    assert_eq!(
        cost_with(&sg, query, json!({"with": false}), 10).expect("estimated"),
        1
    );
    assert_eq!(
        cost_with(&sg, query, json!({"with": true}), 10).expect("estimated"),
        2
    );
}

#[test]
fn cost_on_fields_arguments_scalars_enums_and_input_fields_is_added() {
    let sg = supergraph(
        r#"
        type Query {
          search(text: String @cost(weight: 3), filter: Filter, sort: Sort): Result @cost(weight: 4)
          price: Money
        }
        type Result { n: Int }
        scalar Money @cost(weight: 2)
        enum Sort @cost(weight: 5) { ASC DESC }
        input Filter { tag: String @cost(weight: 7) limit: Int }
        "#,
    );
    assert_eq!(cost(&sg, "{ search { n } }"), 4);
    assert_eq!(cost(&sg, "{ search(text: \"x\") { n } }"), 7);
    assert_eq!(cost(&sg, "{ price }"), 2);
    assert_eq!(cost(&sg, "{ search(sort: ASC) { n } }"), 9);
    // An input object weighs 1 plus its fields.
    assert_eq!(
        cost(&sg, "{ search(filter: {tag: \"a\", limit: 2}) { n } }"),
        12
    );
    let query = "query ($f: Filter) { search(filter: $f) { n } }";
    assert_eq!(
        cost_with(&sg, query, json!({"f": {"tag": "a"}}), 10).expect("estimated"),
        12
    );
    assert_eq!(
        cost_with(&sg, query, json!({"f": null}), 10).expect("estimated"),
        4
    );
}

const CONNECTION: &str = r#"
    type Query {
      products(first: Int = 20, last: Int, after: String): ProductConnection!
        @listSize(slicingArguments: ["first", "last"], sizedFields: ["edges"])
      search(limit: Int, pageSize: Int): [Product!]!
        @listSize(slicingArguments: ["limit", "pageSize"], requireOneSlicingArgument: false, assumedSize: 30)
    }
    type ProductConnection { edges: [ProductEdge!]! pageInfo: PageInfo! }
    type ProductEdge { cursor: String! node: Product! }
    type PageInfo { hasNextPage: Boolean! }
    type Product { sku: ID! name: String! }
"#;

#[test]
fn sized_fields_take_the_slicing_argument_of_their_connection() {
    let sg = supergraph(CONNECTION);
    let query = "{ products(first: 5) { edges { node { name } } pageInfo { hasNextPage } } }";
    // 1 connection + 5 × (edge + node) + pageInfo
    assert_eq!(cost(&sg, query), 12);
    let query = "query ($n: Int) { products(first: $n) { edges { node { name } } } }";
    assert_eq!(
        cost_with(&sg, query, json!({"n": 50}), 10).expect("estimated"),
        101
    );
}

#[test]
fn a_slicing_argument_default_counts_as_given() {
    let sg = supergraph(CONNECTION);
    assert_eq!(cost(&sg, "{ products { edges { node { name } } } }"), 41);
}

#[test]
fn two_slicing_arguments_are_refused_when_one_is_required() {
    let sg = supergraph(CONNECTION);
    // `first` has a default, so giving `last` makes two, as in Apollo Router.
    let error = cost_with(
        &sg,
        "{ products(last: 3) { edges { cursor } } }",
        json!({}),
        10,
    )
    .expect_err("two slicing arguments");
    assert_eq!(
        error,
        CostError::SlicingArguments {
            coordinate: "Query.products".into(),
            expected: "first, last".into(),
            found: 2,
        }
    );
}

#[test]
fn no_slicing_argument_is_refused_when_one_is_required() {
    let sg = supergraph(
        r#"type Query { items(first: Int): [Item] @listSize(slicingArguments: ["first"]) } type Item { id: ID }"#,
    );
    assert!(matches!(
        cost_with(&sg, "{ items { id } }", json!({}), 10),
        Err(CostError::SlicingArguments { found: 0, .. })
    ));
    assert_eq!(cost(&sg, "{ items(first: 3) { id } }"), 3);
}

#[test]
fn without_require_one_the_largest_slicing_argument_or_the_assumed_size_wins() {
    let sg = supergraph(CONNECTION);
    assert_eq!(cost(&sg, "{ search(limit: 3, pageSize: 8) { sku } }"), 8);
    assert_eq!(cost(&sg, "{ search { sku } }"), 30);
}

#[test]
fn a_field_with_requires_adds_what_it_requires() {
    let sg = supergraph_of(&[
        (
            "a",
            r#"type Query { book: Book } type Book @key(fields: "id") { id: ID! author: Author } type Author { name: String }"#,
        ),
        (
            "b",
            r#"type Book @key(fields: "id") { id: ID! author: Author @external blurb: String @requires(fields: "author { name }") } type Author { name: String @external }"#,
        ),
    ]);
    // book (1) + what blurb requires: author (1)
    assert_eq!(cost(&sg, "{ book { blurb } }"), 2);
}

#[test]
fn a_supergraph_composed_by_apollo_is_read_with_its_weights_and_sizes() {
    // The supergraph @apollo/composition made of the `cost_directives` case
    // (`Product @cost(weight: 5)`, `price @cost(weight: 2)`,
    // `topProducts @listSize(assumedSize: 10) @cost(weight: 2)`,
    // `products @listSize(slicingArguments: ["first", "last"], sizedFields: ["edges"])`).
    let sdl =
        include_str!("../../../tests/apollo-composition/cases/cost_directives/apollo.graphql");
    let sg = Supergraph::parse(sdl).expect("the router loads Apollo's supergraph");
    assert_eq!(sg.cost.of_type("Product"), Some(5));
    assert_eq!(
        sg.cost
            .list_size("Query", "products")
            .map(|l| l.require_one_slicing_argument),
        Some(true)
    );
    // 10 × topProducts' own weight 2 (it overrides Product's 5), price's 2
    // each, `limit: 3` is no slicing argument there.
    assert_eq!(cost(&sg, "{ topProducts(limit: 3) { price } }"), 40);
    // 1 connection + 4 × (edge 1 + node 5 + price 2) + search's @cost(weight: 3)
    assert_eq!(
        cost(
            &sg,
            r#"{ products(first: 4, search: "x") { edges { node { price } } } }"#
        ),
        36
    );
}
