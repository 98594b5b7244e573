//! Requirements on the fields of an `@interfaceObject`, enforced at the
//! router on the supergraph Apollo's composition builds from
//! `tests/apollo-composition/cases/auth_interface_object_fields`: subgraph
//! `a` owns the interface `Item` and its implementations `Book` and `Film`,
//! subgraph `b` adds `price` (`@requiresScopes(scopes: [["pricing"]])`) and
//! `stock` (`@policy(policies: [["staff"]])`) to every `Item` as an
//! `@interfaceObject`. Composition puts each requirement on `Item`'s field
//! and on `Book`'s and `Film`'s, so the field is protected whether it is
//! asked through the interface or through a concrete type, and `b` is never
//! asked for what the caller may not see.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::common::jwt::{Signer, claims, jwks};
use crate::common::*;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::{AuthorizationSettings, JwtSettings, RouterSettings};

const SUPERGRAPH: &str =
    include_str!("../apollo-composition/cases/auth_interface_object_fields/apollo.graphql");

struct Catalog {
    state: AppState,
    a: FakeSubgraph,
    b: FakeSubgraph,
    signer: Signer,
    _keys: tempfile::TempDir,
}

/// `a` resolves `items` (and `Item` entities, with their concrete type).
fn a_answer(body: &Value) -> Value {
    if let Some(representations) = body["variables"]["representations"].as_array() {
        let entities: Vec<Value> = representations
            .iter()
            .map(|r| {
                let book = r["id"] == "b1";
                json!({
                    "__typename": if book { "Book" } else { "Film" },
                    "id": r["id"],
                    "name": if book { "Dune" } else { "Alien" },
                })
            })
            .collect();
        return json!({ "data": { "_entities": entities } });
    }
    json!({ "data": { "items": [
        { "__typename": "Book", "id": "b1", "name": "Dune", "pages": 412 },
        { "__typename": "Film", "id": "f1", "name": "Alien", "minutes": 117 },
    ] } })
}

/// `b` resolves `featured` and `price`/`stock` of any `Item`.
fn b_answer(body: &Value) -> Value {
    if let Some(representations) = body["variables"]["representations"].as_array() {
        let entities: Vec<Value> = representations
            .iter()
            .map(|r| json!({ "__typename": "Item", "id": r["id"], "price": 7, "stock": 3 }))
            .collect();
        return json!({ "data": { "_entities": entities } });
    }
    json!({ "data": { "featured": { "__typename": "Item", "id": "b1", "price": 7, "stock": 3 } } })
}

async fn catalog() -> Catalog {
    let signer = Signer::ed25519("k1");
    let keys = tempfile::tempdir().unwrap();
    let path = keys.path().join("jwks.json");
    std::fs::write(&path, jwks(&[&signer]).to_string()).unwrap();
    let a = FakeSubgraph::start(a_answer).await;
    let b = FakeSubgraph::start(b_answer).await;
    let staff = BTreeMap::from([("role".to_owned(), vec![json!("STAFF")])]);
    let settings = RouterSettings {
        jwt: JwtSettings {
            key_files: vec![path.display().to_string()],
            ..JwtSettings::default()
        },
        authorization: AuthorizationSettings {
            policies: BTreeMap::from([("staff".to_owned(), staff)]),
            ..AuthorizationSettings::default()
        },
        ..RouterSettings::default()
    };
    let state = serving_with(settings, SUPERGRAPH, &[("a", &a.url), ("b", &b.url)]);
    Catalog {
        state,
        a,
        b,
        signer,
        _keys: keys,
    }
}

impl Catalog {
    async fn run(&self, query: &str, claims_extra: Option<Value>) -> Answered {
        let bearer =
            claims_extra.map(|extra| format!("Bearer {}", self.signer.sign(&claims("u1", extra))));
        let mut headers = vec![("accept", "application/graphql-response+json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        post(&self.state, json!({ "query": query }), &headers).await
    }
}

fn unauthorized_paths(answer: &Answered) -> Vec<Value> {
    answer.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE")
        .map(|e| e["path"].clone())
        .collect()
}

#[test]
fn composition_puts_the_interface_object_fields_requirements_on_the_interface_and_its_implementations()
 {
    let scoped = "price: Int @requiresScopes(scopes: [[\"pricing\"]])";
    let policed = "stock: Int @policy(policies: [[\"staff\"]])";
    for ty in ["Book", "Film"] {
        let block = SUPERGRAPH
            .split(&format!("type {ty} implements Item"))
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .unwrap();
        assert!(
            block.contains(scoped) && block.contains(policed),
            "{ty}: {block}"
        );
    }
    let ours = compose_inline(
        "",
        &[
            (
                "a",
                include_str!("../apollo-composition/cases/auth_interface_object_fields/a.graphql"),
            ),
            (
                "b",
                include_str!("../apollo-composition/cases/auth_interface_object_fields/b.graphql"),
            ),
        ],
    );
    assert!(ours.contains(scoped) && ours.contains(policed), "{ours}");
}

#[tokio::test]
async fn an_interface_object_field_is_protected_through_the_interface_and_never_fetched() {
    let catalog = catalog().await;
    let answer = catalog.run("{ items { name price } }", None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["data"],
        json!({ "items": [{ "name": "Dune", "price": null }, { "name": "Alien", "price": null }] })
    );
    assert_eq!(unauthorized_paths(&answer), [json!(["items", "price"])]);
    assert!(
        catalog.b.received().is_empty(),
        "b was never asked for price"
    );
    assert_eq!(catalog.a.received().len(), 1);

    // A token without the scope is refused the same way.
    let answer = catalog
        .run(
            "{ items { name price } }",
            Some(json!({ "scope": "other" })),
        )
        .await;
    assert_eq!(unauthorized_paths(&answer), [json!(["items", "price"])]);
    assert!(catalog.b.received().is_empty());

    let answer = catalog
        .run(
            "{ items { name price } }",
            Some(json!({ "scope": "pricing" })),
        )
        .await;
    assert_eq!(
        answer.body["data"],
        json!({ "items": [{ "name": "Dune", "price": 7 }, { "name": "Alien", "price": 7 }] }),
        "{}",
        answer.body
    );
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    assert_eq!(catalog.b.received().len(), 1);
}

#[tokio::test]
async fn an_interface_object_field_is_protected_through_a_concrete_type() {
    let catalog = catalog().await;
    let answer = catalog
        .run("{ items { name ... on Book { pages price } } }", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["data"],
        json!({ "items": [{ "name": "Dune", "pages": 412, "price": null }, { "name": "Alien" }] })
    );
    assert_eq!(unauthorized_paths(&answer), [json!(["items", "price"])]);
    assert!(
        catalog.b.received().is_empty(),
        "b was never asked for price"
    );

    let answer = catalog
        .run(
            "{ items { ... on Film { stock } } }",
            Some(json!({ "role": "STAFF" })),
        )
        .await;
    assert_eq!(
        answer.body["data"],
        json!({ "items": [{}, { "stock": 3 }] }),
        "{}",
        answer.body
    );
    assert_eq!(catalog.b.received().len(), 1);
}

#[tokio::test]
async fn an_operation_left_with_only_protected_interface_object_fields_is_refused() {
    let catalog = catalog().await;
    let answer = catalog
        .run(
            "{ featured { stock } }",
            Some(json!({ "role": "CUSTOMER" })),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(unauthorized_paths(&answer), [json!(["featured", "stock"])]);
    assert!(catalog.b.received().is_empty());

    let answer = catalog
        .run("{ featured { stock } }", Some(json!({ "role": "STAFF" })))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["data"], json!({ "featured": { "stock": 3 } }));
}
