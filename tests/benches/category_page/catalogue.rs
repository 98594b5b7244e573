//! The category page's data, seeded through the router's public API: an ADMIN
//! creates a category of [`PRODUCTS`] products (prices with ties, every sixth
//! one out of stock) under names unique to this run, so a MongoDB that keeps
//! an earlier run's data serves the same page. Then the request every load
//! request sends (`schema/operations/CategoryPage.graphql`: in stock, a price
//! range, cheapest first, [`PAGE`] products) and a check of its answer against
//! what was seeded; and the router's `/metrics` counters the bench reads.

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use storefront_e2e::shop::PASSWORD;

use crate::services::ADMIN_EMAIL;

/// The query every request sends.
pub const QUERY: &str = include_str!("../../../schema/operations/CategoryPage.graphql");
/// Products in the benched category.
pub const PRODUCTS: usize = 150;
/// Products on a page.
pub const PAGE: usize = 24;
/// The price range the page keeps, in minor units.
const PRICE_MIN: i64 = 1000;
const PRICE_MAX: i64 = 4500;

const REGISTER: &str = include_str!("../../../schema/operations/Register.graphql");
const LOGIN: &str = include_str!("../../../schema/operations/Login.graphql");
const CREATE_PRODUCT: &str = include_str!("../../../schema/operations/CreateProduct.graphql");

/// A seeded product.
struct Product {
    sku: String,
    price: i64,
    stock: i64,
}

/// What was seeded, and the token the load sends.
pub struct Seeded {
    /// The category's slug.
    pub slug: String,
    /// The ADMIN's token (the page needs none; every request carries one).
    pub token: String,
    products: Vec<Product>,
}

/// Seeds the category through the router at `url` (its GraphQL URL); `run`
/// makes the names unique (digits).
pub async fn seed(client: &reqwest::Client, url: &str, run: &str) -> anyhow::Result<Seeded> {
    let api = Api { client, url };
    let token = api.admin_token().await?;
    let slug = format!("bench-{run}");
    api.call(
        Some(&token),
        "mutation($input: CreateCategoryInput!) { createCategory(input: $input) { slug } }",
        json!({ "input": { "slug": slug, "name": "Bench category" } }),
    )
    .await
    .context("creating the category")?;
    let mut products = Vec::with_capacity(PRODUCTS);
    for i in 0..PRODUCTS {
        let product = Product {
            sku: format!("CP{run}-{i:03}"),
            price: 300 + ((i as i64 * 37) % 50) * 100,
            stock: if i % 6 == 0 { 0 } else { 5 + i as i64 % 20 },
        };
        let input = json!({ "input": {
            "sku": product.sku, "name": format!("Bench product {i:03}"),
            "description": "A product of the category-page bench.",
            "price": product.price, "currency": "USD", "stock": product.stock,
            "categories": [slug],
            "images": [{ "url": format!("https://img.bench.test/{i}.jpg"), "altText": "A product" }],
        } });
        api.call(Some(&token), CREATE_PRODUCT, input)
            .await
            .with_context(|| format!("creating {}", product.sku))?;
        products.push(product);
    }
    Ok(Seeded {
        slug,
        token,
        products,
    })
}

impl Seeded {
    /// The request body of the page with `first` products.
    pub fn request_body(&self, first: usize) -> Vec<u8> {
        json!({
            "query": QUERY,
            "operationName": "CategoryPage",
            "variables": {
                "slug": self.slug, "first": first, "sort": "PRICE_ASC",
                "filter": { "inStock": true, "priceMin": PRICE_MIN, "priceMax": PRICE_MAX },
            },
        })
        .to_string()
        .into_bytes()
    }

    /// Fails unless `answer` is the page of `first` products the seed gives:
    /// the right skus in order, their stock, and the totalCount.
    pub fn check(&self, answer: &Value, first: usize) -> anyhow::Result<()> {
        let mut kept: Vec<&Product> = self
            .products
            .iter()
            .filter(|p| p.stock > 0 && (PRICE_MIN..=PRICE_MAX).contains(&p.price))
            .collect();
        kept.sort_by(|a, b| (a.price, &a.sku).cmp(&(b.price, &b.sku)));
        let products = &answer["data"]["category"]["products"];
        if answer.get("errors").is_some() || products["totalCount"] != kept.len() {
            bail!("expected totalCount {}: {answer}", kept.len());
        }
        let edges = products["edges"].as_array().context("no edges")?;
        let expected: Vec<(&str, i64)> = kept
            .iter()
            .take(first)
            .map(|p| (p.sku.as_str(), p.stock))
            .collect();
        let got: Vec<(&str, i64)> = edges
            .iter()
            .map(|e| {
                let node = &e["node"];
                (
                    node["sku"].as_str().unwrap_or(""),
                    node["stock"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        if got != expected {
            bail!("expected the products {expected:?}, got {got:?}");
        }
        Ok(())
    }
}

struct Api<'a> {
    client: &'a reqwest::Client,
    url: &'a str,
}

impl Api<'_> {
    /// Posts an operation; its `data`, or an error when the answer has errors.
    async fn call(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .post(self.url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer: Value = request
            .send()
            .await
            .context("the request failed")?
            .json()
            .await
            .context("the answer is not JSON")?;
        if answer.get("errors").is_some() || answer["data"].is_null() {
            bail!("the router answered {answer}");
        }
        Ok(answer["data"].clone())
    }

    /// The ADMIN's token: registered, or logged in when an earlier run on the
    /// same MongoDB registered it.
    async fn admin_token(&self) -> anyhow::Result<String> {
        let credentials = json!({ "email": ADMIN_EMAIL, "password": PASSWORD });
        let input = json!({ "input": { "email": ADMIN_EMAIL, "password": PASSWORD, "name": "Bench Admin" } });
        let data = match self.call(None, REGISTER, input).await {
            Ok(data) => data["register"].clone(),
            Err(_) => self
                .call(None, LOGIN, credentials)
                .await
                .context("neither registering nor logging in the ADMIN")?["login"]
                .clone(),
        };
        Ok(data["token"]
            .as_str()
            .context("the ADMIN has no token")?
            .to_owned())
    }
}

/// The router's counters that the bench reads from its `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// `router_subgraph_fetches_total` by subgraph.
    pub fetches: BTreeMap<String, u64>,
    /// `router_http_requests_total` of queries, every status.
    pub queries: u64,
}

impl Counters {
    /// Reads the router's `/metrics` at `addr`.
    pub async fn read(
        client: &reqwest::Client,
        addr: std::net::SocketAddr,
    ) -> anyhow::Result<Self> {
        let text = client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .context("reading the router's /metrics")?
            .text()
            .await
            .context("reading the router's /metrics")?;
        Ok(Self::parse(&text))
    }

    fn parse(text: &str) -> Self {
        let mut counters = Counters::default();
        for line in text.lines() {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let value = value as u64;
            if let Some(labels) = series.strip_prefix("router_subgraph_fetches_total{") {
                if let Some(name) = label(labels, "subgraph") {
                    *counters.fetches.entry(name.to_owned()).or_default() += value;
                }
            } else if let Some(labels) = series.strip_prefix("router_http_requests_total{")
                && label(labels, "kind") == Some("query")
            {
                counters.queries += value;
            }
        }
        counters
    }

    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            fetches: self
                .fetches
                .iter()
                .map(|(name, n)| {
                    let before = earlier.fetches.get(name).copied().unwrap_or(0);
                    (name.clone(), n - before)
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
            queries: self.queries - earlier.queries,
        }
    }

    /// `inventory 1.00` per query, for every subgraph fetched.
    pub fn per_query(&self) -> String {
        if self.fetches.is_empty() {
            return "none".to_owned();
        }
        self.fetches
            .iter()
            .map(|(name, n)| format!("{name} {:.2}", *n as f64 / self.queries.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The value of `name="…"` in a label set `a="x",b="y"}`.
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = &labels[start..];
    Some(&rest[..rest.find('"')?])
}
