//! End-to-end tests across Storefront's services: each test starts the
//! services it needs in-process on port 0, with stores of its own, and talks
//! to them over real HTTP.
//!
//! # Layout
//! - this file: starting single services ([`start_users`], [`start_inventory`])
//!   or all four subgraphs ([`start_subgraphs`]), and a small GraphQL client
//!   ([`Service::graphql`]).
//! - [`binaries`]: the workspace's binaries built by cargo, for tests and
//!   benches that run them as processes.
//! - [`shop`]: the whole system ([`shop::Shop`]): all four subgraphs on either
//!   store, wired to each other through fault-injecting proxies
//!   ([`proxy::Proxy`]), with the sweepers at hand; `shop/invariants.rs` checks
//!   the order flow's promises ([`shop::Shop::assert_invariants`]).
//! - `tests/`: one file (or folder, e.g. `fault_injection/`) per cross-service behaviour.
//! - `benches/storefront/`: the storefront's own workload under load, every
//!   service a release binary in a process of its own.

pub mod binaries;
pub mod proxy;
pub mod shop;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use storefront_shared::server::Timeouts;
use storefront_shared::settings::{CommonSettings, Secret, Settings};
use tokio::net::TcpListener;

/// The service credential the test services share.
pub const SERVICE_TOKEN: &str = "e2e-service-token";

/// A service running in this process.
pub struct Service {
    /// Its GraphQL URL.
    pub graphql_url: String,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Service {
    /// A service whose server runs as `task`, answering at `graphql_url`.
    pub fn new(graphql_url: String, task: tokio::task::JoinHandle<std::io::Result<()>>) -> Self {
        Service { graphql_url, task }
    }

    /// Posts a GraphQL request, with `token` as the bearer token if given.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = reqwest::Client::new()
            .post(&self.graphql_url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("the service answers")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// `data.<field>` of a request that must succeed (no `errors`).
    pub async fn data(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        field: &str,
    ) -> Value {
        let answer = self.graphql(token, query, variables).await;
        assert!(answer["errors"].is_null(), "{field}: {answer}");
        answer["data"][field].clone()
    }
}

fn common(data_dir: &Path) -> CommonSettings {
    let mut common = CommonSettings::local(0);
    common.data_dir = data_dir.to_path_buf();
    common.service_token = Some(Secret::new(SERVICE_TOKEN));
    common
}

/// Binds port 0 on the loopback; the listener and its GraphQL URL.
pub async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/graphql", listener.local_addr().expect("addr"));
    (listener, url)
}

/// Starts the users service on an embedded store under `data_dir`.
pub async fn start_users(data_dir: &Path, admin_emails: &[&str]) -> Service {
    let mut common = common(data_dir);
    common.admin_emails = admin_emails.iter().map(|e| e.to_string()).collect();
    let settings = Settings {
        common,
        service: storefront_users::settings::UsersSettings::default(),
    };
    let state = storefront_users::AppState::from_settings(&settings)
        .await
        .expect("users starts");
    let (listener, graphql_url) = listen().await;
    let task = tokio::spawn(storefront_users::run(
        listener,
        state,
        Timeouts::default(),
        std::future::pending(),
    ));
    Service { graphql_url, task }
}

/// Starts the inventory service on an embedded store under `data_dir`, trusting
/// the users service at `users_url`, with the demo catalogue.
pub async fn start_inventory(data_dir: &Path, users_url: &str) -> Service {
    let mut common = common(data_dir);
    common.users_url = users_url.to_owned();
    let service = storefront_inventory::settings::InventorySettings {
        seed_demo_catalogue: true,
        ..Default::default()
    };
    let settings = Settings { common, service };
    let state = storefront_inventory::AppState::from_settings(&settings)
        .await
        .expect("inventory starts");
    let (listener, graphql_url) = listen().await;
    let task = tokio::spawn(storefront_inventory::run(
        listener,
        state,
        Timeouts::default(),
        std::future::pending(),
    ));
    Service { graphql_url, task }
}

/// The four subgraphs, each a [`Service`] on an embedded store under one
/// data directory, pointing at each other; inventory seeds the demo catalogue.
pub struct Subgraphs {
    services: Vec<(&'static str, Service)>,
}

impl Subgraphs {
    /// Each running subgraph's name and GraphQL URL.
    pub fn urls(&self) -> Vec<(String, String)> {
        self.services
            .iter()
            .map(|(name, service)| ((*name).to_owned(), service.graphql_url.clone()))
            .collect()
    }

    /// Stops a subgraph: its port refuses connections from now on.
    pub fn stop(&mut self, name: &str) {
        self.services.retain(|(running, _)| *running != name);
    }
}

/// Router settings that verify tokens as a deployment's router does: keys from
/// the JWKS of the users service answering GraphQL at `users_graphql_url`, its
/// issuer and audience. The storefront's supergraph uses `@authenticated` and
/// `@requiresScopes`, so a router without them answers every protected field
/// with `UNAUTHORIZED_FIELD_OR_TYPE`.
pub fn router_settings(users_graphql_url: &str) -> storefront_router::settings::RouterSettings {
    let mut settings = storefront_router::settings::RouterSettings::default();
    let base = users_graphql_url
        .strip_suffix("/graphql")
        .unwrap_or(users_graphql_url);
    settings.jwt.jwks_urls = vec![format!("{base}/.well-known/jwks.json")];
    settings.jwt.issuers = vec![storefront_shared::auth::ISSUER.to_owned()];
    settings.jwt.audiences = vec![storefront_shared::auth::AUDIENCE.to_owned()];
    settings
}

/// A router state with the supergraph composed from the live `subgraphs`
/// (polling off), verifying tokens with the users service's keys
/// ([`router_settings`]); panics if they do not compose within 30 s.
pub async fn composed_router(subgraphs: &Subgraphs) -> storefront_router::AppState {
    composed_router_with(subgraphs, |_| {}).await
}

/// [`composed_router`], with its settings changed by `configure` first.
pub async fn composed_router_with(
    subgraphs: &Subgraphs,
    configure: impl FnOnce(&mut storefront_router::settings::RouterSettings),
) -> storefront_router::AppState {
    use storefront_router::settings::Subgraph;
    use storefront_router::source::{self, SupergraphSource};
    let users = subgraphs
        .urls()
        .into_iter()
        .find(|(name, _)| name == "users")
        .map(|(_, url)| url)
        .expect("the users subgraph runs");
    let mut settings = router_settings(&users);
    configure(&mut settings);
    let state = storefront_router::AppState::new(settings).expect("router state");
    let source = SupergraphSource::Compose {
        subgraphs: subgraphs.urls().into_iter().map(Subgraph::from).collect(),
        poll_interval: Duration::ZERO,
    };
    tokio::time::timeout(Duration::from_secs(30), source::run(state.clone(), source))
        .await
        .expect("the router composes within 30 s")
        .expect("the subgraphs compose");
    state
}

/// Starts users, orders, payments and inventory (see [`Subgraphs`]).
pub async fn start_subgraphs(data_dir: &Path) -> Subgraphs {
    start_subgraphs_with(data_dir, |_| {}).await
}

/// [`start_subgraphs`], with the settings they share changed by `configure`
/// first (e.g. `ADMIN_EMAILS`).
pub async fn start_subgraphs_with(
    data_dir: &Path,
    configure: impl FnOnce(&mut CommonSettings),
) -> Subgraphs {
    let (users, users_url) = listen().await;
    let (orders, orders_url) = listen().await;
    let (payments, payments_url) = listen().await;
    let (inventory, inventory_url) = listen().await;
    let mut common = common(data_dir);
    configure(&mut common);
    common.users_url = users_url.clone();
    common.orders_url = orders_url.clone();
    common.payments_url = payments_url.clone();
    common.inventory_url = inventory_url.clone();
    let users_state = storefront_users::AppState::from_settings(&Settings {
        common: common.clone(),
        service: Default::default(),
    })
    .await
    .expect("users starts");
    let orders_state = storefront_orders::AppState::from_settings(&Settings {
        common: common.clone(),
        service: Default::default(),
    })
    .await
    .expect("orders starts");
    let payments_state = storefront_payments::AppState::from_settings(&Settings {
        common: common.clone(),
        service: Default::default(),
    })
    .await
    .expect("payments starts");
    let inventory_state = storefront_inventory::AppState::from_settings(&Settings {
        common: common.clone(),
        service: storefront_inventory::settings::InventorySettings {
            seed_demo_catalogue: true,
            ..Default::default()
        },
    })
    .await
    .expect("inventory starts");
    let pending = std::future::pending;
    Subgraphs {
        services: vec![
            (
                "users",
                Service::new(
                    users_url,
                    tokio::spawn(storefront_users::run(
                        users,
                        users_state,
                        Timeouts::default(),
                        pending(),
                    )),
                ),
            ),
            (
                "orders",
                Service::new(
                    orders_url,
                    tokio::spawn(storefront_orders::run(
                        orders,
                        orders_state,
                        Timeouts::default(),
                        pending(),
                    )),
                ),
            ),
            (
                "payments",
                Service::new(
                    payments_url,
                    tokio::spawn(storefront_payments::run(
                        payments,
                        payments_state,
                        Timeouts::default(),
                        pending(),
                    )),
                ),
            ),
            (
                "inventory",
                Service::new(
                    inventory_url,
                    tokio::spawn(storefront_inventory::run(
                        inventory,
                        inventory_state,
                        Timeouts::default(),
                        pending(),
                    )),
                ),
            ),
        ],
    }
}

/// Registers an account and returns its token.
pub async fn register(users: &Service, email: &str) -> String {
    let answer = users
        .graphql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { token } }",
            json!({ "input": { "email": email, "password": "a long password", "name": "Tester" } }),
        )
        .await;
    answer["data"]["register"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("registered {email}: {answer}"))
        .to_owned()
}

/// The `extensions.code` of the first error.
pub fn error_code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {answer}"))
}

/// Polls `check` every 20 ms until it holds; panics naming `what` after `deadline`.
pub async fn eventually<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let give_up = tokio::time::Instant::now() + deadline;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out after {deadline:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Test logs (`RUST_LOG`, errors only by default), captured per test.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
