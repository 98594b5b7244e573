//! A selection whose every field `@skip`/`@include` removes: GraphQL
//! execution gives an empty object there (`{}`), and `null` only where the
//! subgraph's value is null. Our subgraphs' engine (async-graphql) answers
//! `null` for an object with no field selected, so the router must never
//! send it such a selection (it adds `__typename`, which the client does not
//! see).
//!
//! # Layout
//! - this file: answers through the router on the Storefront supergraph, per
//!   shape (root field, nested object, list items, an entity field from
//!   another subgraph, a fetch skipped whole), each with literal and
//!   variable conditions.
//! - `subgraphs`: the four subgraphs as small async-graphql schemas.

#![allow(clippy::unwrap_used)]

mod subgraphs;

use crate::common::{SUPERGRAPH, query, serving};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use storefront_router::{AppState, app};
use subgraphs::{Served, serve};
use tower::ServiceExt;

/// The four subgraphs (`me` signed in or not) and a router serving them.
struct Storefront {
    users: Served,
    orders: Served,
    payments: Served,
    inventory: Served,
    router: AppState,
}

impl Storefront {
    async fn start(signed_in: bool) -> Self {
        let users = serve(subgraphs::users::schema(signed_in)).await;
        let orders = serve(subgraphs::orders::schema()).await;
        let payments = serve(subgraphs::payments::schema()).await;
        let inventory = serve(subgraphs::inventory::schema()).await;
        let router = serving(
            &SUPERGRAPH,
            &[
                ("users", &users.url),
                ("orders", &orders.url),
                ("payments", &payments.url),
                ("inventory", &inventory.url),
            ],
        );
        Storefront {
            users,
            orders,
            payments,
            inventory,
            router,
        }
    }

    /// The response body of `q` with `variables`.
    async fn ask(&self, q: &str, variables: Value) -> Value {
        query(&self.router, q, variables).await.body
    }

    /// Every document the subgraphs received.
    fn documents(&self) -> Vec<String> {
        [&self.users, &self.orders, &self.payments, &self.inventory]
            .iter()
            .flat_map(|s| s.queries())
            .collect()
    }
}

#[tokio::test]
async fn async_graphql_answers_null_for_an_object_whose_fields_are_all_skipped() {
    // The subgraph behaviour the router works around (async-graphql 7.2):
    // a non-null object with nothing selected comes back as `null`.
    let schema = subgraphs::inventory::schema();
    let answer = schema
        .execute("{ products { pageInfo { hasNextPage @skip(if: true) } } }")
        .await;
    assert!(answer.errors.is_empty(), "{:?}", answer.errors);
    assert_eq!(
        answer.data.into_json().unwrap(),
        json!({ "products": { "pageInfo": null } })
    );
}

#[tokio::test]
async fn a_nested_object_whose_fields_are_all_skipped_is_an_empty_object() {
    let sf = Storefront::start(true).await;
    let literal = sf
        .ask(
            "{ products { pageInfo { hasNextPage @skip(if: true) } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        literal,
        json!({ "data": { "products": { "pageInfo": {} } } })
    );
    let money = sf
        .ask(
            "{ order(id: \"o1\") { total { currency @skip(if: true) amount @include(if: false) } } }",
            json!({}),
        )
        .await;
    assert_eq!(money, json!({ "data": { "order": { "total": {} } } }));
    let q = "query($s: Boolean!) { products { pageInfo { hasNextPage @skip(if: $s) } } }";
    let skipped = sf.ask(q, json!({ "s": true })).await;
    assert_eq!(
        skipped,
        json!({ "data": { "products": { "pageInfo": {} } } })
    );
    let kept = sf.ask(q, json!({ "s": false })).await;
    assert_eq!(
        kept,
        json!({ "data": { "products": { "pageInfo": { "hasNextPage": false } } } })
    );
}

#[tokio::test]
async fn a_root_field_whose_fields_are_all_skipped_is_an_empty_object() {
    let sf = Storefront::start(true).await;
    let literal = sf
        .ask(
            "{ products { edges @skip(if: true) { cursor } pageInfo @include(if: false) { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(literal, json!({ "data": { "products": {} } }));
    let q = "query($s: Boolean!, $i: Boolean!) { products { edges @skip(if: $s) { cursor } ... @include(if: $i) { pageInfo { endCursor } } } }";
    let skipped = sf.ask(q, json!({ "s": true, "i": false })).await;
    assert_eq!(skipped, json!({ "data": { "products": {} } }));
    let half = sf.ask(q, json!({ "s": true, "i": true })).await;
    assert_eq!(
        half,
        json!({ "data": { "products": { "pageInfo": { "endCursor": "p2" } } } })
    );
}

#[tokio::test]
async fn a_nullable_root_field_is_an_empty_object_or_null_as_the_subgraph_answers() {
    let signed_in = Storefront::start(true).await;
    let signed_out = Storefront::start(false).await;
    let q = "query($s: Boolean!) { me { name @skip(if: $s) } }";
    for (literal, variables) in [
        ("{ me { name @skip(if: true) } }", json!({})),
        (q, json!({ "s": true })),
    ] {
        let present = signed_in.ask(literal, variables.clone()).await;
        assert_eq!(present, json!({ "data": { "me": {} } }));
        let absent = signed_out.ask(literal, variables).await;
        assert_eq!(absent, json!({ "data": { "me": null } }));
    }
    let kept = signed_in.ask(q, json!({ "s": false })).await;
    assert_eq!(kept, json!({ "data": { "me": { "name": "Ada" } } }));
}

#[tokio::test]
async fn list_items_whose_fields_are_all_skipped_are_empty_objects() {
    let sf = Storefront::start(true).await;
    let literal = sf
        .ask(
            "{ products { edges { node { name @skip(if: true) } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        literal,
        json!({ "data": { "products": { "edges": [{ "node": {} }, { "node": {} }] } } })
    );
    let q = "query($s: Boolean!) { products { edges { cursor @skip(if: $s) } } }";
    let skipped = sf.ask(q, json!({ "s": true })).await;
    assert_eq!(
        skipped,
        json!({ "data": { "products": { "edges": [{}, {}] } } })
    );
    let kept = sf.ask(q, json!({ "s": false })).await;
    assert_eq!(
        kept,
        json!({ "data": { "products": { "edges": [{ "cursor": "p1" }, { "cursor": "p2" }] } } })
    );
}

#[tokio::test]
async fn an_entity_field_whose_fields_are_all_skipped_is_an_empty_object() {
    let sf = Storefront::start(true).await;
    let literal = sf
        .ask(
            "{ me { orders { edges @skip(if: true) { __typename } } } }",
            json!({}),
        )
        .await;
    assert_eq!(literal, json!({ "data": { "me": { "orders": {} } } }));
    let q = "query($id: ID!, $s: Boolean!) { order(id: $id) { payment { status @skip(if: $s) } } }";
    let paid = sf.ask(q, json!({ "id": "o1", "s": true })).await;
    assert_eq!(paid, json!({ "data": { "order": { "payment": {} } } }));
    let unpaid = sf.ask(q, json!({ "id": "o2", "s": true })).await;
    assert_eq!(unpaid, json!({ "data": { "order": { "payment": null } } }));
    let kept = sf.ask(q, json!({ "id": "o1", "s": false })).await;
    assert_eq!(
        kept,
        json!({ "data": { "order": { "payment": { "status": "SUCCEEDED" } } } })
    );
    let items = sf
        .ask(
            "query($s: Boolean!) { me { orders { edges { node { status @skip(if: $s) } } } } }",
            json!({ "s": true }),
        )
        .await;
    assert_eq!(
        items,
        json!({ "data": { "me": { "orders": { "edges": [{ "node": {} }, { "node": {} }] } } } })
    );
}

#[tokio::test]
async fn a_fetch_skipped_whole_leaves_an_empty_object() {
    let sf = Storefront::start(true).await;
    let literal = sf
        .ask(
            "{ order(id: \"o1\") { payment @skip(if: true) { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(literal, json!({ "data": { "order": {} } }));
    assert!(sf.payments.queries().is_empty(), "payments was called");
    let q = "query($s: Boolean!) { order(id: \"o1\") { total { currency @skip(if: $s) } payment @skip(if: $s) { id } } }";
    let skipped = sf.ask(q, json!({ "s": true })).await;
    assert_eq!(skipped, json!({ "data": { "order": { "total": {} } } }));
    assert!(sf.payments.queries().is_empty(), "payments was called");
    let kept = sf.ask(q, json!({ "s": false })).await;
    assert_eq!(
        kept,
        json!({ "data": { "order": { "total": { "currency": "EUR" }, "payment": { "id": "pay1" } } } })
    );
    let q = "query($s: Boolean!) { me { orders @skip(if: $s) { pageInfo { hasNextPage } } } }";
    let before = sf.orders.queries().len();
    let skipped = sf.ask(q, json!({ "s": true })).await;
    assert_eq!(skipped, json!({ "data": { "me": {} } }));
    assert_eq!(sf.orders.queries().len(), before, "orders was called");
    let kept = sf.ask(q, json!({ "s": false })).await;
    assert_eq!(
        kept,
        json!({ "data": { "me": { "orders": { "pageInfo": { "hasNextPage": false } } } } })
    );
}

#[tokio::test]
async fn skipped_selections_keep_the_client_field_order_and_send_valid_documents() {
    let sf = Storefront::start(true).await;
    let body = json!({
        "query": "query($s: Boolean!) { products { pageInfo { hasNextPage @skip(if: $s) } edges { cursor @skip(if: $s) node { sku } } } }",
        "variables": { "s": true },
    });
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app(sf.router.clone()).oneshot(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        String::from_utf8(bytes.to_vec()).unwrap(),
        r#"{"data":{"products":{"pageInfo":{},"edges":[{"node":{"sku":"p1"}},{"node":{"sku":"p2"}}]}}}"#
    );
    let documents = sf.documents();
    assert_eq!(documents.len(), 1, "{documents:?}");
    assert!(
        !documents[0].contains("{ }") && !documents[0].contains("{}"),
        "{documents:?}"
    );
}
