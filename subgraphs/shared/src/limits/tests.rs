use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use serde_json::Value;

use super::documents;
use super::*;

struct Query;

#[Object]
impl Query {
    async fn a(&self) -> A {
        A
    }

    async fn n(&self) -> i32 {
        1
    }
}

struct A;

#[Object]
impl A {
    async fn a(&self) -> A {
        A
    }

    async fn n(&self) -> i32 {
        2
    }
}

fn schema(limits: &RequestLimits) -> Schema<Query, EmptyMutation, EmptySubscription> {
    apply(
        Schema::build(Query, EmptyMutation, EmptySubscription),
        limits,
    )
    .finish()
}

async fn run(limits: &RequestLimits, request: impl Into<Request>) -> Value {
    let response = schema(limits).execute(request).await;
    serde_json::to_value(&response).expect("a response serialises")
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {response}"))
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_before_it_is_expanded() {
    let response = run(&RequestLimits::default(), documents::fragment_bomb(30)).await;
    assert_eq!(code(&response), codes::QUERY_TOO_COMPLEX, "{response}");
    assert!(response["data"].is_null(), "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("limit is 50000"), "{message}");
}

#[tokio::test]
async fn an_unused_fragment_bomb_is_refused_too() {
    let bomb = documents::fragment_bomb(40).replace("query { ...F0 }", "query { n }");
    let response = run(&RequestLimits::default(), bomb).await;
    assert_eq!(code(&response), codes::QUERY_TOO_COMPLEX, "{response}");
}

#[tokio::test]
async fn a_chain_of_spreads_to_an_unknown_fragment_is_refused() {
    // Nothing to expand, but async-graphql's recursion-depth check would walk
    // 2^29 paths to find that out.
    let bomb = documents::fragment_bomb(30).replace("{ __typename }", "{ ...Missing }");
    let response = run(&RequestLimits::default(), bomb).await;
    assert_eq!(code(&response), codes::VALIDATION_FAILED, "{response}");
}

#[tokio::test]
async fn depth_is_counted_through_fragments() {
    let limits = RequestLimits {
        max_depth: 5,
        ..RequestLimits::default()
    };
    let within = "{ a { ...F } } fragment F on A { a { a { a { n } } } }";
    let response = run(&limits, within).await;
    assert!(response.get("errors").is_none(), "{response}");
    let deeper = "{ a { ...F } } fragment F on A { a { a { a { a { n } } } } }";
    let response = run(&limits, deeper).await;
    assert_eq!(code(&response), codes::BAD_REQUEST, "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert_eq!(
        message,
        "the document is nested 6 levels deep; the limit is 5"
    );
}

#[tokio::test]
async fn deep_nesting_within_the_defaults_executes() {
    let limits = RequestLimits::default();
    let response = run(
        &limits,
        documents::nested_fields("a", "n", limits.max_depth),
    )
    .await;
    assert!(response.get("errors").is_none(), "{response}");
    let response = run(
        &limits,
        documents::nested_fields("a", "n", limits.max_depth + 1),
    )
    .await;
    assert_eq!(code(&response), codes::BAD_REQUEST, "{response}");
}

#[tokio::test]
async fn long_spread_chains_are_refused_by_nesting() {
    let limits = RequestLimits::default();
    let response = run(
        &limits,
        documents::spread_chain(limits.parser_max_recursion + 1),
    )
    .await;
    assert_eq!(code(&response), codes::BAD_REQUEST, "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("fragment spreads"), "{message}");
}

#[tokio::test]
async fn aliases_are_counted() {
    let limits = RequestLimits::default();
    let response = run(&limits, documents::aliases(limits.max_aliases)).await;
    assert!(response.get("errors").is_none(), "{response}");
    let response = run(&limits, documents::aliases(limits.max_aliases + 1)).await;
    assert_eq!(code(&response), codes::BAD_REQUEST, "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert_eq!(message, "the operation has 257 aliases; the limit is 256");
}

#[tokio::test]
async fn root_fields_are_counted() {
    let limits = RequestLimits {
        max_root_fields: 2,
        ..RequestLimits::default()
    };
    let response = run(&limits, "{ n ...F } fragment F on Query { a { n } }").await;
    assert!(response.get("errors").is_none(), "{response}");
    let response = run(&limits, "{ n ...F } fragment F on Query { a { n } x: n }").await;
    assert_eq!(code(&response), codes::BAD_REQUEST, "{response}");
}

#[tokio::test]
async fn too_many_tokens_fail_to_parse() {
    let limits = RequestLimits::default();
    let response = run(&limits, documents::tokens(limits.parser_max_tokens + 1)).await;
    assert_eq!(code(&response), codes::PARSE_FAILED, "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("50000 tokens"), "{message}");
}

#[tokio::test]
async fn deeply_nested_brackets_fail_to_parse_without_reaching_the_parser() {
    let limits = RequestLimits::default();
    // Far deeper than the parser's stack would survive.
    let response = run(&limits, documents::nested_brackets(100_000)).await;
    assert_eq!(code(&response), codes::PARSE_FAILED, "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("brackets"), "{message}");
    // At the limit the parser is reached: it takes the lists (and the
    // schema refuses the argument), but refuses selection sets nested
    // deeper than its own limit (64) by itself.
    let response = run(
        &limits,
        documents::nested_brackets(limits.parser_max_recursion),
    )
    .await;
    assert_eq!(code(&response), codes::VALIDATION_FAILED, "{response}");
    let response = run(
        &limits,
        documents::nested_fields("a", "n", limits.parser_max_recursion),
    )
    .await;
    assert_eq!(code(&response), codes::PARSE_FAILED, "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("recursion limit"), "{message}");
}

#[tokio::test]
async fn syntax_errors_are_parse_failures() {
    let response = run(&RequestLimits::default(), "{ n ").await;
    assert_eq!(code(&response), codes::PARSE_FAILED, "{response}");
    assert!(response["errors"][0]["locations"].is_array(), "{response}");
}

#[tokio::test]
async fn validation_errors_are_validation_failures() {
    for query in [
        "{ nope }",
        "{ a }",
        "query($v: Int) { n }",
        "{ ...A } fragment A on Query { a { ...B } } fragment B on A { ...B }",
    ] {
        let response = run(&RequestLimits::default(), query).await;
        assert_eq!(
            code(&response),
            codes::VALIDATION_FAILED,
            "{query}: {response}"
        );
    }
}

#[tokio::test]
async fn an_unknown_operation_name_is_coded() {
    let request = Request::new("query A { n } query B { n }").operation_name("C");
    let response = run(&RequestLimits::default(), request).await;
    assert_eq!(code(&response), codes::UNKNOWN_OPERATION_NAME, "{response}");
    let response = run(&RequestLimits::default(), "query A { n } query B { n }").await;
    assert_eq!(code(&response), codes::UNKNOWN_OPERATION_NAME, "{response}");
}

#[tokio::test]
async fn async_graphql_limits_are_a_second_line_with_a_code() {
    let limits = RequestLimits {
        max_directives: 1,
        ..RequestLimits::default()
    };
    let response = run(&limits, "{ n @skip(if: false) @include(if: true) }").await;
    assert_eq!(code(&response), codes::BAD_REQUEST, "{response}");
}

#[tokio::test]
async fn a_valid_query_is_answered_untouched() {
    let response = run(&RequestLimits::default(), "{ a { a { n } } n }").await;
    assert_eq!(response["data"]["a"]["a"]["n"], 2, "{response}");
    assert!(response.get("errors").is_none(), "{response}");
}
