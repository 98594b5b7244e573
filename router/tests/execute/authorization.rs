//! `@authenticated`, `@requiresScopes` and `@policy` enforced at the router,
//! on the supergraph Apollo's composition builds from
//! `tests/apollo-composition/cases/auth_directives`, with the real planner
//! and fake subgraphs that record every request: what the caller may not
//! see is answered null with `UNAUTHORIZED_FIELD_OR_TYPE` at its path and
//! never requested from a subgraph; an operation left empty is refused.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::common::jwt::{Signer, claims, jwks};
use crate::common::*;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::{AuthorizationSettings, JwtSettings, RouterSettings};

const SUPERGRAPH: &str = include_str!("../apollo-composition/cases/auth_directives/apollo.graphql");

struct Shop {
    state: AppState,
    users: FakeSubgraph,
    inventory: FakeSubgraph,
    signer: Signer,
    _keys: tempfile::TempDir,
}

fn users_answer(_: &Value) -> Value {
    json!({ "data": {
        "me": { "id": "u1", "name": "Ann", "email": "ann@example.com" },
        "publicUser": { "id": "u2", "name": "Bob", "email": "bob@example.com" },
        "updateProfile": { "id": "u1", "name": "Ann" },
    } })
}

fn inventory_answer(_: &Value) -> Value {
    json!({ "data": {
        "products": [{ "sku": "p1", "name": "Pen", "cost": 3 }],
        "report": { "total": 42 },
        "createProduct": { "sku": "p2", "name": "Pad", "cost": 1 },
    } })
}

async fn shop(authorization: AuthorizationSettings) -> Shop {
    let signer = Signer::ed25519("k1");
    let keys = tempfile::tempdir().unwrap();
    let path = keys.path().join("jwks.json");
    std::fs::write(&path, jwks(&[&signer]).to_string()).unwrap();
    let users = FakeSubgraph::start(users_answer).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let settings = RouterSettings {
        jwt: JwtSettings {
            key_files: vec![path.display().to_string()],
            ..JwtSettings::default()
        },
        authorization,
        expose_query_plan: true,
        ..RouterSettings::default()
    };
    let state = serving_with(
        settings,
        SUPERGRAPH,
        &[("users", &users.url), ("inventory", &inventory.url)],
    );
    Shop {
        state,
        users,
        inventory,
        signer,
        _keys: keys,
    }
}

fn policies() -> AuthorizationSettings {
    let rule = |claim: &str, values: &[&str]| {
        BTreeMap::from([(
            claim.to_owned(),
            values.iter().map(|v| json!(v)).collect::<Vec<_>>(),
        )])
    };
    AuthorizationSettings {
        policies: BTreeMap::from([
            ("staff".to_owned(), rule("role", &["STAFF", "ADMIN"])),
            ("finance".to_owned(), rule("dept", &["finance"])),
        ]),
        ..AuthorizationSettings::default()
    }
}

impl Shop {
    fn token(&self, extra: Value) -> String {
        self.signer.sign(&claims("u1", extra))
    }

    async fn run(&self, query: &str, token: Option<&str>) -> Answered {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("accept", "application/graphql-response+json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        post(&self.state, json!({ "query": query }), &headers).await
    }

    /// Every operation text the subgraph received.
    fn sent(subgraph: &FakeSubgraph) -> Vec<String> {
        subgraph
            .received()
            .iter()
            .map(|r| r.body["query"].as_str().unwrap_or_default().to_owned())
            .collect()
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

#[tokio::test]
async fn an_anonymous_caller_gets_null_for_authenticated_fields_which_are_never_fetched() {
    let shop = shop(AuthorizationSettings::default()).await;
    let answer = shop
        .run("{ products { sku name } me { id name } }", None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["data"]["me"], Value::Null);
    assert_eq!(
        answer.body["data"]["products"],
        json!([{ "sku": "p1", "name": "Pen" }])
    );
    assert_eq!(unauthorized_paths(&answer), [json!(["me"])]);
    assert_eq!(
        answer.body["errors"][0]["message"],
        "Unauthorized field or type"
    );
    assert!(
        shop.users.received().is_empty(),
        "users was never asked for `me`"
    );
    assert_eq!(Shop::sent(&shop.inventory).len(), 1);

    // With a valid token the same operation reaches users.
    let token = shop.token(json!({}));
    let answer = shop
        .run("{ products { sku name } me { id name } }", Some(&token))
        .await;
    assert_eq!(
        answer.body["data"]["me"],
        json!({ "id": "u1", "name": "Ann" })
    );
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    assert_eq!(shop.users.received().len(), 1);
}

#[tokio::test]
async fn a_customer_cannot_create_products_and_inventory_never_sees_the_mutation() {
    let shop = shop(AuthorizationSettings::default()).await;
    let customer = shop.token(json!({ "scope": "profile:read" }));
    let answer = shop
        .run(
            "mutation { createProduct(sku: \"p2\") { sku } }",
            Some(&customer),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.get("data").is_none());
    assert_eq!(unauthorized_paths(&answer), [json!(["createProduct"])]);
    let anonymous = shop
        .run("mutation { createProduct(sku: \"p2\") { sku } }", None)
        .await;
    assert_eq!(anonymous.status, 401);
    assert!(
        shop.inventory.received().is_empty(),
        "never reached inventory"
    );

    let admin = shop.token(json!({ "scope": "openid admin" }));
    let answer = shop
        .run(
            "mutation { createProduct(sku: \"p2\") { sku } }",
            Some(&admin),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["data"]["createProduct"]["sku"], "p2");
    assert_eq!(shop.inventory.received().len(), 1);
}

#[tokio::test]
async fn scopes_are_alternatives_of_sets_read_from_the_scope_claim() {
    let shop = shop(AuthorizationSettings::default()).await;
    let query = "{ publicUser(id: \"u2\") { name email } }";
    for (scope, allowed) in [
        ("profile:read email:read", true),
        ("email:read profile:read other", true),
        ("admin", true),
        ("profile:read", false),
        ("", false),
    ] {
        let token = shop.token(json!({ "scope": scope }));
        let answer = shop.run(query, Some(&token)).await;
        let sent = Shop::sent(&shop.users);
        let last = sent.last().unwrap();
        if allowed {
            assert_eq!(
                answer.body["data"]["publicUser"]["email"], "bob@example.com",
                "{scope}"
            );
            assert!(last.contains("email"), "{scope}: {last}");
        } else {
            // `email: String!`: its null reaches the nullable `publicUser`.
            assert_eq!(
                answer.body["data"],
                json!({ "publicUser": null }),
                "{scope}"
            );
            assert_eq!(
                unauthorized_paths(&answer),
                [json!(["publicUser", "email"])]
            );
            assert_eq!(
                answer.body["errors"].as_array().unwrap().len(),
                1,
                "{scope}"
            );
            assert!(
                !last.contains("email"),
                "{scope}: email was fetched: {last}"
            );
        }
    }
}

#[tokio::test]
async fn the_scope_claim_name_is_configurable_and_may_be_an_array() {
    let shop = shop(AuthorizationSettings {
        scope_claim: "scp".into(),
        ..AuthorizationSettings::default()
    })
    .await;
    let token = shop.token(json!({ "scp": ["profile:read", "email:read"], "scope": "" }));
    let answer = shop
        .run("{ publicUser(id: \"u2\") { email } }", Some(&token))
        .await;
    assert_eq!(
        answer.body["data"]["publicUser"]["email"], "bob@example.com",
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn policies_are_decided_by_the_settings_rules_over_the_token_claims() {
    let shop = shop(policies()).await;
    // `report` needs the `staff` policy and its type `@authenticated`.
    let staff = shop.token(json!({ "role": "STAFF" }));
    let answer = shop.run("{ report { total } }", Some(&staff)).await;
    assert_eq!(
        answer.body["data"]["report"]["total"], 42,
        "{}",
        answer.body
    );
    let customer = shop.token(json!({ "role": "CUSTOMER" }));
    let answer = shop
        .run("{ report { total } products { sku } }", Some(&customer))
        .await;
    assert_eq!(answer.body["data"]["report"], Value::Null);
    assert_eq!(unauthorized_paths(&answer), [json!(["report"])]);
    let last = Shop::sent(&shop.inventory).pop().unwrap();
    assert!(!last.contains("report"), "{last}");

    // `cost` needs (staff and finance) or admin; no rule names `admin`, so
    // that alternative never holds.
    let query = "{ products { sku cost } }";
    let staff_only = shop.token(json!({ "role": "STAFF" }));
    let answer = shop.run(query, Some(&staff_only)).await;
    assert_eq!(unauthorized_paths(&answer), [json!(["products", "cost"])]);
    // `cost: Int!` nulls the whole (non-null) list and so `data`; the
    // authorization error explains it, with no second error.
    assert_eq!(answer.body["data"], Value::Null, "{}", answer.body);
    assert_eq!(answer.body["errors"].as_array().map(Vec::len), Some(1));
    let last = Shop::sent(&shop.inventory).pop().unwrap();
    assert!(!last.contains("cost"), "{last}");
    let finance = shop.token(json!({ "role": ["STAFF"], "dept": "finance" }));
    let answer = shop.run(query, Some(&finance)).await;
    assert_eq!(
        answer.body["data"]["products"][0]["cost"], 3,
        "{}",
        answer.body
    );
    let last = Shop::sent(&shop.inventory).pop().unwrap();
    assert!(last.contains("cost"), "{last}");
}

#[tokio::test]
async fn the_plan_of_a_filtered_operation_leaves_the_removed_fields_out() {
    let shop = shop(AuthorizationSettings::default()).await;
    let body =
        json!({ "query": "{ products { sku } me { id } }", "extensions": { "queryPlan": true } });
    let answer = post(&shop.state, body.clone(), &[]).await;
    let plan = answer.body["extensions"]["queryPlan"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!plan.contains("me"), "{plan}");
    let token = shop.token(json!({}));
    let bearer = format!("Bearer {token}");
    let answer = post(&shop.state, body, &[("authorization", &bearer)]).await;
    let plan = answer.body["extensions"]["queryPlan"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(plan.contains("me"), "{plan}");
}

#[tokio::test]
async fn protected_scalars_enums_and_interfaces_are_removed_where_they_are_returned() {
    const SDL: &str =
        include_str!("../apollo-composition/cases/auth_on_interfaces_scalars_enums/apollo.graphql");
    let a = FakeSubgraph::start(|_| {
        json!({ "data": {
            "items": [{ "id": "i1", "price": "3.50", "grade": "A" }],
            "node": { "__typename": "Invoice", "id": "n1", "amount": 9 },
        } })
    })
    .await;
    let state = serving_with(RouterSettings::default(), SDL, &[("a", &a.url)]);
    let answer = post(
        &state,
        json!({ "query": "{ items { id price grade } }" }),
        &[],
    )
    .await;
    assert_eq!(
        answer.body["data"],
        json!({ "items": [{ "id": "i1", "price": null, "grade": null }] }),
        "{}",
        answer.body
    );
    assert_eq!(
        unauthorized_paths(&answer),
        [json!(["items", "price"]), json!(["items", "grade"])]
    );
    let sent = a.received()[0].body["query"].as_str().unwrap().to_owned();
    assert!(!sent.contains("price") && !sent.contains("grade"), "{sent}");

    // `Node` takes `@authenticated` from its implementation `Invoice`: an
    // anonymous `node` leaves nothing to run.
    let answer = post(
        &state,
        json!({ "query": "{ node(id: \"n1\") { id } }" }),
        &[("accept", "application/graphql-response+json")],
    )
    .await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(unauthorized_paths(&answer), [json!(["node"])]);
    assert_eq!(a.received().len(), 1, "no request for `node`");
}

/// A policy service on port 0 that grants `staff` to tokens with
/// `role: STAFF`, answering after `delay`, and records what it was asked.
async fn policy_service(
    delay: std::time::Duration,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use std::sync::{Arc, Mutex};
    let asked = Arc::new(Mutex::new(Vec::new()));
    let recorded = asked.clone();
    let app = axum::Router::new().route(
        "/decide",
        axum::routing::post(move |body: axum::Json<Value>| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(body.0.clone());
                tokio::time::sleep(delay).await;
                let staff = body.0["claims"]["role"] == "STAFF";
                axum::Json(json!({ "policies": { "staff": staff, "finance": false } }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/decide", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, asked)
}

#[tokio::test]
async fn the_policy_service_decides_policies_without_rules_once_per_request_and_fails_closed() {
    use storefront_router::settings::PolicyServiceSettings;
    let (url, asked) = policy_service(std::time::Duration::ZERO).await;
    let shop = shop(AuthorizationSettings {
        policy_service: Some(PolicyServiceSettings {
            url,
            timeout: std::time::Duration::from_millis(300),
        }),
        ..AuthorizationSettings::default()
    })
    .await;
    let query = "{ report { total } products { sku } }";
    let staff = shop.token(json!({ "role": "STAFF" }));
    let answer = shop.run(query, Some(&staff)).await;
    assert_eq!(
        answer.body["data"]["report"]["total"], 42,
        "{}",
        answer.body
    );
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);
    // `cost` needs (staff and finance) or admin: the service denies both.
    let answer = shop.run("{ products { cost } }", Some(&staff)).await;
    assert_eq!(unauthorized_paths(&answer), [json!(["products", "cost"])]);
    {
        let asked = asked.lock().unwrap();
        assert_eq!(asked.len(), 2, "one decision per request");
        assert_eq!(asked[0]["policies"], json!({ "staff": null }));
        assert_eq!(
            asked[1]["policies"],
            json!({ "admin": null, "finance": null, "staff": null })
        );
        assert_eq!(asked[0]["claims"]["role"], "STAFF");
    }
    let customer = shop.token(json!({ "role": "CUSTOMER" }));
    let answer = shop.run(query, Some(&customer)).await;
    assert_eq!(answer.body["data"]["report"], Value::Null);
    // Anonymous callers hold no policy, and operations without policies
    // need no decision: the service is not asked.
    shop.run(query, None).await;
    shop.run("{ products { sku } }", Some(&customer)).await;
    assert_eq!(asked.lock().unwrap().len(), 3);

    let (slow_url, _) = policy_service(std::time::Duration::from_secs(2)).await;
    let slow = self::shop(AuthorizationSettings {
        policy_service: Some(PolicyServiceSettings {
            url: slow_url,
            timeout: std::time::Duration::from_millis(200),
        }),
        ..AuthorizationSettings::default()
    })
    .await;
    let staff = slow.token(json!({ "role": "STAFF" }));
    let started = std::time::Instant::now();
    let answer = slow
        .run("{ report { total } products { sku } }", Some(&staff))
        .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(
        answer.body["data"]["report"],
        Value::Null,
        "a late answer denies"
    );
    assert_eq!(unauthorized_paths(&answer), [json!(["report"])]);
    let sent = Shop::sent(&slow.inventory).pop().unwrap();
    assert!(!sent.contains("report"), "{sent}");
}
