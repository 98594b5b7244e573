//! The storefront's `@authenticated` and `@requiresScopes` fields, enforced by
//! the router with the users service's tokens: every subgraph sits behind a
//! counting proxy ([`Proxy`]), so each test can tell which subgraph a request
//! reached. A customer's ADMIN operation is refused at the router (HTTP 403,
//! `UNAUTHORIZED_FIELD_OR_TYPE`) and never reaches its subgraph; an ADMIN's
//! goes through; an anonymous caller's protected field is `null` with that
//! error while the rest of the operation runs; a forged token is HTTP 401
//! before any subgraph is called. The subgraphs keep their own checks
//! (defence in depth): a customer calling inventory directly is `FORBIDDEN`.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use storefront_e2e::proxy::Proxy;
use storefront_e2e::{
    Service, Subgraphs, init_logs, listen, router_settings, start_subgraphs_with,
};
use storefront_router::settings::Subgraph;
use storefront_router::source::{self, SupergraphSource};

const ADMIN: &str = "boss@shop.test";
const CUSTOMER: &str = "shopper@shop.test";

const CREATE_PRODUCT: &str = "mutation($input: CreateProductInput!) {
    createProduct(input: $input) { sku name }
}";

/// The four subgraphs (with [`ADMIN`] as an admin email), each behind a
/// proxy that counts what reaches it, and a router composed from the
/// proxies that verifies tokens with the users service's keys.
struct Stack {
    router: Service,
    proxies: Vec<(String, Proxy)>,
    subgraphs: Subgraphs,
}

impl Stack {
    async fn start(dir: &std::path::Path) -> Stack {
        init_logs();
        let subgraphs = start_subgraphs_with(dir, |common| {
            common.admin_emails = vec![ADMIN.to_owned()];
        })
        .await;
        let mut proxies = Vec::new();
        for (name, url) in subgraphs.urls() {
            let (listener, proxy_url) = listen().await;
            proxies.push((name, Proxy::start(listener, proxy_url, &url)));
        }
        let users = url_of(&subgraphs, "users");
        // The router fetches the JWKS from users directly: only GraphQL
        // requests pass the proxies.
        let state =
            storefront_router::AppState::new(router_settings(&users)).expect("router state");
        let compose = SupergraphSource::Compose {
            subgraphs: proxies
                .iter()
                .map(|(name, proxy)| Subgraph::from((name.clone(), proxy.graphql_url.clone())))
                .collect(),
            poll_interval: Duration::ZERO,
        };
        tokio::time::timeout(Duration::from_secs(30), source::run(state.clone(), compose))
            .await
            .expect("the router composes within 30 s")
            .expect("the subgraphs compose");
        let (listener, url) = listen().await;
        let task = tokio::spawn(storefront_router::run(
            listener,
            state,
            std::future::pending(),
        ));
        Stack {
            router: Service::new(url, task),
            proxies,
            subgraphs,
        }
    }

    /// The proxy in front of subgraph `name`.
    fn proxy(&self, name: &str) -> &Proxy {
        &self
            .proxies
            .iter()
            .find(|(running, _)| running == name)
            .unwrap_or_else(|| panic!("no {name} proxy"))
            .1
    }

    /// How many requests reached each subgraph so far, by name.
    fn forwarded(&self) -> Vec<(String, usize)> {
        self.proxies
            .iter()
            .map(|(name, proxy)| (name.clone(), proxy.forwarded()))
            .collect()
    }

    /// Registers `email` through the router; its token.
    async fn register(&self, email: &str) -> String {
        storefront_e2e::register(&self.router, email).await
    }

    /// Posts `query` to the router with `authorization` as the header's
    /// value, accepting `application/graphql-response+json` (so a refused
    /// request has a 4xx status); the HTTP status and the JSON answer.
    async fn post(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        post(&self.router.graphql_url, authorization, query, variables).await
    }
}

fn url_of(subgraphs: &Subgraphs, name: &str) -> String {
    subgraphs
        .urls()
        .into_iter()
        .find(|(running, _)| running == name)
        .map(|(_, url)| url)
        .unwrap_or_else(|| panic!("no {name} subgraph"))
}

async fn post(
    url: &str,
    authorization: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON answer");
    (status, body)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn product_input(sku: &str) -> Value {
    json!({ "input": {
        "sku": sku, "name": "Router-guarded mug", "description": "Stoneware.",
        "price": 1200, "currency": "USD", "stock": 5,
    } })
}

/// Every error's `extensions.code`.
fn codes(answer: &Value) -> Vec<&str> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_customers_create_product_is_refused_at_the_router_and_never_reaches_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let customer = stack.register(CUSTOMER).await;
    let before = stack.forwarded();

    let (status, answer) = stack
        .post(
            Some(&bearer(&customer)),
            CREATE_PRODUCT,
            product_input("MUG-X1"),
        )
        .await;

    assert_eq!(status, 403, "{answer}");
    assert_eq!(codes(&answer), ["UNAUTHORIZED_FIELD_OR_TYPE"], "{answer}");
    assert_eq!(
        answer["errors"][0]["path"],
        json!(["createProduct"]),
        "{answer}"
    );
    // A client accepting only `application/json` gets the same refusal (as 200).
    let answer = stack
        .router
        .graphql(Some(&customer), CREATE_PRODUCT, product_input("MUG-X1"))
        .await;
    assert_eq!(codes(&answer), ["UNAUTHORIZED_FIELD_OR_TYPE"], "{answer}");
    assert_eq!(
        stack.forwarded(),
        before,
        "no subgraph, inventory included, saw the refused mutation"
    );
    // Nothing was created: inventory does not know the sku.
    let (_, lookup) = stack
        .post(None, "{ product(sku: \"MUG-X1\") { sku } }", json!({}))
        .await;
    assert_eq!(lookup["data"]["product"], Value::Null, "{lookup}");

    // Defence in depth: inventory itself refuses the customer too.
    let inventory = url_of(&stack.subgraphs, "inventory");
    let (_, direct) = post(
        &inventory,
        Some(&bearer(&customer)),
        CREATE_PRODUCT,
        product_input("MUG-X1"),
    )
    .await;
    assert_eq!(codes(&direct), ["FORBIDDEN"], "{direct}");
}

#[tokio::test]
async fn a_customers_admin_discount_operations_never_reach_orders() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let customer = stack.register(CUSTOMER).await;
    let orders_before = stack.proxy("orders").forwarded();

    let (status, answer) = stack
        .post(
            Some(&bearer(&customer)),
            "{ discountCodes { code } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(codes(&answer), ["UNAUTHORIZED_FIELD_OR_TYPE"], "{answer}");

    let (status, answer) = stack
        .post(
            Some(&bearer(&customer)),
            "mutation { createDiscountCode(input: { code: \"FREE100\", percentage: 100 }) { code } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(codes(&answer), ["UNAUTHORIZED_FIELD_OR_TYPE"], "{answer}");
    assert_eq!(stack.proxy("orders").forwarded(), orders_before);
}

#[tokio::test]
async fn an_admins_create_product_goes_through_to_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let admin = stack.register(ADMIN).await;
    let inventory_before = stack.proxy("inventory").forwarded();

    let (status, answer) = stack
        .post(
            Some(&bearer(&admin)),
            CREATE_PRODUCT,
            product_input("MUG-X2"),
        )
        .await;

    assert_eq!(status, 200, "{answer}");
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(answer["data"]["createProduct"]["sku"], "MUG-X2", "{answer}");
    assert!(stack.proxy("inventory").forwarded() > inventory_before);
}

#[tokio::test]
async fn an_anonymous_me_is_null_with_an_unauthorized_error_and_users_is_not_asked() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let users_before = stack.proxy("users").forwarded();

    // Next to a public field: the rest runs, `me` is null with the error.
    let (status, answer) = stack
        .post(
            None,
            "{ me { id email } products(first: 1) { edges { node { sku } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["me"], Value::Null, "{answer}");
    assert!(
        answer["data"]["products"]["edges"][0]["node"]["sku"].is_string(),
        "{answer}"
    );
    assert_eq!(codes(&answer), ["UNAUTHORIZED_FIELD_OR_TYPE"], "{answer}");
    assert_eq!(answer["errors"][0]["path"], json!(["me"]), "{answer}");

    // Alone: nothing is left to fetch, so the anonymous caller gets 401.
    let (status, answer) = stack.post(None, "{ me { id } }", json!({})).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(codes(&answer), ["UNAUTHORIZED_FIELD_OR_TYPE"], "{answer}");

    assert_eq!(stack.proxy("users").forwarded(), users_before);
}

#[tokio::test]
async fn a_signed_in_customer_reads_me_through_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let customer = stack.register(CUSTOMER).await;

    let (status, answer) = stack
        .post(Some(&bearer(&customer)), "{ me { email } }", json!({}))
        .await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["me"]["email"], CUSTOMER, "{answer}");
}

#[tokio::test]
async fn a_forged_token_is_refused_with_401_before_any_subgraph_is_called() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let customer = stack.register(CUSTOMER).await;
    let admin = stack.register(ADMIN).await;
    // The ADMIN's claims (scope "customer admin") under the customer's
    // signature: what a customer would try to become an ADMIN.
    let parts: Vec<&str> = customer.split('.').collect();
    let admin_claims = admin.split('.').nth(1).expect("a JWT has claims");
    let forged = format!("{}.{}.{}", parts[0], admin_claims, parts[2]);
    let before = stack.forwarded();

    for query in [
        "{ products(first: 1) { edges { node { sku } } } }",
        "{ me { id } }",
    ] {
        let (status, answer) = stack.post(Some(&bearer(&forged)), query, json!({})).await;
        assert_eq!(status, 401, "{answer}");
        assert_eq!(codes(&answer), ["UNAUTHENTICATED"], "{answer}");
    }
    let (status, answer) = stack
        .post(
            Some(&bearer(&forged)),
            CREATE_PRODUCT,
            product_input("MUG-X3"),
        )
        .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(codes(&answer), ["UNAUTHENTICATED"], "{answer}");

    assert_eq!(stack.forwarded(), before, "no subgraph was called");
}
