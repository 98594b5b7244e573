//! The router in front of a [`Shop`]: the router composing the four
//! subgraphs, each reached through a [`Proxy`] of its own so a test can count
//! the requests the router sends to every subgraph; and the catalogue helpers
//! the flow tests seed it with (categories, products in categories).
//! The proxies speak HTTP only: a test that subscribes through the router
//! names the subgraphs' WebSocket URLs in `[service.subscriptions]`
//! ([`Shop::routed_with`]).
//!
//! ```text
//! test client ──▶ router ──▶ Proxy(users)     ──▶ users
//!                        ├─▶ Proxy(inventory) ──▶ inventory
//!                        ├─▶ Proxy(orders)    ──▶ orders
//!                        └─▶ Proxy(payments)  ──▶ payments
//! ```

use std::time::Duration;

use serde_json::{Value, json};
use storefront_router::settings::Subgraph;
use storefront_router::source::{self, SupergraphSource};

use super::{Shop, locked};
use crate::proxy::Proxy;
use crate::{Service, listen};

/// The router over a [`Shop`], with a counting proxy before each subgraph.
pub struct Routed {
    /// The router.
    pub router: Service,
    /// What the router calls users through.
    pub users: Proxy,
    /// What the router calls inventory through.
    pub inventory: Proxy,
    /// What the router calls orders through.
    pub orders: Proxy,
    /// What the router calls payments through.
    pub payments: Proxy,
}

impl Routed {
    /// Requests the router has sent to each subgraph so far, as
    /// `[users, inventory, orders, payments]`.
    pub fn subgraph_requests(&self) -> [usize; 4] {
        [
            self.users.forwarded(),
            self.inventory.forwarded(),
            self.orders.forwarded(),
            self.payments.forwarded(),
        ]
    }
}

impl Shop {
    /// Starts the router (verifying tokens with the users service's keys:
    /// [`crate::router_settings`]) composing this shop's four subgraphs, each behind a [`Proxy`] that counts what the router sends it.
    pub async fn routed(&self) -> Routed {
        self.routed_with(|_| {}).await
    }

    /// [`Shop::routed`], with the router's settings changed by `configure`
    /// first (e.g. subgraph timeouts, `[service.subscriptions]`).
    pub async fn routed_with(
        &self,
        configure: impl FnOnce(&mut storefront_router::settings::RouterSettings),
    ) -> Routed {
        let mut proxies = Vec::new();
        for service in [&self.users, &self.inventory, &self.orders, &self.payments] {
            let (listener, url) = listen().await;
            proxies.push(Proxy::start(listener, url, &service.graphql_url));
        }
        let subgraphs = ["users", "inventory", "orders", "payments"]
            .into_iter()
            .zip(&proxies)
            .map(|(name, proxy)| Subgraph::from((name.to_owned(), proxy.graphql_url.clone())))
            .collect();
        // Tokens verified with the users service's keys, as a deployment's router does.
        let mut settings = crate::router_settings(&self.users.graphql_url);
        configure(&mut settings);
        let state = storefront_router::AppState::new(settings).expect("router state");
        let compose = SupergraphSource::Compose {
            subgraphs,
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
        let mut proxies = proxies.into_iter();
        let mut next = || proxies.next().expect("four proxies");
        Routed {
            router: Service::new(url, task),
            users: next(),
            inventory: next(),
            orders: next(),
            payments: next(),
        }
    }

    /// The ADMIN's bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Creates a category (as the ADMIN), under `parent` if given.
    pub async fn add_category(&self, slug: &str, name: &str, parent: Option<&str>) {
        let answer = self
            .inventory
            .graphql(
                Some(&self.admin_token),
                "mutation($input: CreateCategoryInput!) { createCategory(input: $input) { slug } }",
                json!({ "input": { "slug": slug, "name": name, "parent": parent } }),
            )
            .await;
        assert_eq!(
            answer["data"]["createCategory"]["slug"], slug,
            "created category {slug}: {answer}"
        );
    }

    /// Creates a product named `name` in `categories` (as the ADMIN); covered
    /// by [`Shop::assert_invariants`].
    pub async fn add_product_in(
        &self,
        sku: &str,
        name: &str,
        price: i64,
        stock: i64,
        categories: &[&str],
    ) {
        let input = json!({
            "sku": sku, "name": name, "description": "An end-to-end catalogue product.",
            "price": price, "currency": "USD", "stock": stock, "categories": categories,
            "images": [{ "url": format!("https://img.shop.test/{sku}.jpg"), "altText": name }],
        });
        let answer: Value = self
            .inventory
            .graphql(
                Some(&self.admin_token),
                "mutation($input: CreateProductInput!) { createProduct(input: $input) { sku stock } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(
            answer["data"]["createProduct"]["stock"], stock,
            "created {sku}: {answer}"
        );
        locked(&self.skus).push(sku.to_owned());
    }
}
