//! The one-command local run (`cargo run --release` from the repository
//! root): the whole Storefront on one machine, with nothing installed but Rust.
//!
//! The four subgraphs and the router run in one process on their usual ports
//! (router 4000, users 4001, orders 4002, payments 4003, inventory 4004), each
//! with its embedded store under `DATA_DIR` (default `./data`), talking to each
//! other over real HTTP exactly as separate processes do. The demo catalogue is
//! seeded on first start, `ADMIN_EMAILS` (default `admin@example.com`) names who
//! becomes ADMIN on registering, the router shows query plans on request (for
//! the playground) and answers browsers on local origins (CORS for
//! [`LOCAL_CORS_ORIGINS`] unless `CORS_ORIGINS` is set), and Ctrl-C or SIGTERM
//! stops everything cleanly. It listens on the loopback interface only
//! ([`LOCAL_BIND_ADDRESS`]) unless `BIND_ADDRESS` says otherwise: the local
//! run uses the marked local-development service credential, which must not
//! open internal operations to the network. `PORT_BASE` moves the usual ports to
//! `PORT_BASE`..`PORT_BASE + 4` (router first), e.g. for the playground's
//! browser test.
//!
//! # Layout
//! - [`launch`]: settings per service, binding all five ports, starting the
//!   services; [`Storefront`] stops them together.
//! - `main.rs`: the `storefront` binary around it.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use storefront_shared::server;
use storefront_shared::settings::{self, ServiceSettings, Settings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Who becomes ADMIN in the local run when `ADMIN_EMAILS` is not set.
pub const DEFAULT_ADMIN: &str = "admin@example.com";

/// The browser origins the local run's router allows when `CORS_ORIGINS` is
/// not set: `http://localhost`, `http://127.0.0.1` and `http://[::1]` on any
/// port (a frontend's dev server, e.g. `http://localhost:5173`).
pub const LOCAL_CORS_ORIGINS: [&str; 3] =
    ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

/// Where the local run listens when `BIND_ADDRESS` is not set.
pub const LOCAL_BIND_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Where the local run listens; port 0 lets the OS choose (tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// The router.
    pub router: u16,
    /// The users subgraph.
    pub users: u16,
    /// The orders subgraph.
    pub orders: u16,
    /// The payments subgraph.
    pub payments: u16,
    /// The inventory subgraph.
    pub inventory: u16,
}

impl Default for Ports {
    /// The usual ports, 4000–4004.
    fn default() -> Self {
        Ports {
            router: storefront_router::settings::DEFAULT_PORT,
            users: storefront_users::DEFAULT_PORT,
            orders: storefront_orders::DEFAULT_PORT,
            payments: storefront_payments::DEFAULT_PORT,
            inventory: storefront_inventory::DEFAULT_PORT,
        }
    }
}

impl Ports {
    /// `base` for the router and the next four for users, orders, payments
    /// and inventory (the usual layout, moved).
    pub fn from_base(base: u16) -> anyhow::Result<Self> {
        let port = |offset: u16| {
            base.checked_add(offset)
                .filter(|_| base != 0)
                .with_context(|| format!("PORT_BASE {base} leaves no room for five ports"))
        };
        Ok(Ports {
            router: port(0)?,
            users: port(1)?,
            orders: port(2)?,
            payments: port(3)?,
            inventory: port(4)?,
        })
    }

    /// Every port chosen by the OS.
    pub fn any() -> Self {
        Ports {
            router: 0,
            users: 0,
            orders: 0,
            payments: 0,
            inventory: 0,
        }
    }
}

/// What the local run overrides in the settings every binary reads.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// The ports.
    pub ports: Ports,
    /// Overrides `DATA_DIR`.
    pub data_dir: Option<PathBuf>,
}

/// The running Storefront.
pub struct Storefront {
    /// The router's base URL, e.g. `http://127.0.0.1:4000`.
    pub router_url: String,
    /// Where the embedded stores live.
    pub data_dir: PathBuf,
    /// Who becomes ADMIN on registering.
    pub admin_emails: Vec<String>,
    /// Each subgraph's name and GraphQL URL.
    pub subgraphs: Vec<(&'static str, String)>,
    /// Each service's name and the address it listens on.
    pub listening: Vec<(&'static str, SocketAddr)>,
    tasks: JoinSet<anyhow::Result<()>>,
    stop: watch::Sender<bool>,
}

struct Bound<S> {
    settings: Settings<S>,
    listener: TcpListener,
}

/// Loads a service's settings as its binary would (file-less, environment),
/// binds its port, and returns both.
async fn bind<S: ServiceSettings>(
    name: &str,
    port: u16,
    launch: &Launch,
) -> anyhow::Result<Bound<S>> {
    let mut settings = settings::load::<S>(port, None)?;
    settings.common.port = port;
    if std::env::var_os("BIND_ADDRESS").is_none() {
        settings.common.bind_address = LOCAL_BIND_ADDRESS;
    }
    if let Some(dir) = &launch.data_dir {
        settings.common.data_dir = dir.clone();
    }
    if settings.common.admin_emails.is_empty() {
        settings.common.admin_emails = vec![DEFAULT_ADMIN.to_owned()];
    }
    let addr = SocketAddr::new(settings.common.bind_address, port);
    let listener = server::bind(addr)
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot start {name}"))?;
    Ok(Bound { settings, listener })
}

fn graphql_url(listener: &TcpListener) -> anyhow::Result<String> {
    let port = listener.local_addr()?.port();
    Ok(format!("http://127.0.0.1:{port}/graphql"))
}

/// Binds all five ports (so a taken one stops the run before anything starts),
/// points the services at each other, and starts them.
pub async fn launch(launch: Launch) -> anyhow::Result<Storefront> {
    use storefront_inventory::settings::InventorySettings;
    use storefront_orders::settings::OrdersSettings;
    use storefront_payments::settings::PaymentsSettings;
    use storefront_router::settings::RouterSettings;
    use storefront_users::settings::UsersSettings;

    let ports = match std::env::var("PORT_BASE") {
        Ok(base) if launch.ports == Ports::default() => {
            let base = base
                .trim()
                .parse::<u16>()
                .with_context(|| format!("PORT_BASE must be a port number, not {base:?}"))?;
            Ports::from_base(base)?
        }
        _ => launch.ports,
    };
    let mut users = bind::<UsersSettings>("users", ports.users, &launch).await?;
    let mut orders = bind::<OrdersSettings>("orders", ports.orders, &launch).await?;
    let mut payments = bind::<PaymentsSettings>("payments", ports.payments, &launch).await?;
    let mut inventory = bind::<InventorySettings>("inventory", ports.inventory, &launch).await?;
    let mut router = bind::<RouterSettings>("router", ports.router, &launch).await?;

    let urls = [
        graphql_url(&users.listener)?,
        graphql_url(&orders.listener)?,
        graphql_url(&payments.listener)?,
        graphql_url(&inventory.listener)?,
    ];
    for common in [
        &mut users.settings.common,
        &mut orders.settings.common,
        &mut payments.settings.common,
        &mut inventory.settings.common,
        &mut router.settings.common,
    ] {
        [
            common.users_url,
            common.orders_url,
            common.payments_url,
            common.inventory_url,
        ] = urls.clone();
    }
    inventory.settings.service.seed_demo_catalogue = true;
    // Login throttling counts the client the router names in X-Forwarded-For
    // (everything listens on the loopback; the router replaces what a
    // client sends), unless the environment says otherwise.
    if std::env::var_os("TRUST_FORWARDED_FOR").is_none() {
        users.settings.service.trust_forwarded_for = true;
    }
    router.settings.service.expose_query_plan = true;
    // The router checks tokens itself with the users service's keys (the
    // subgraphs still do too).
    let jwt = &mut router.settings.service.jwt;
    if !jwt.enabled() {
        jwt.jwks_urls = vec![format!(
            "http://127.0.0.1:{}/.well-known/jwks.json",
            users.listener.local_addr()?.port()
        )];
        jwt.issuers = vec![storefront_shared::auth::ISSUER.to_owned()];
        jwt.audiences = vec![storefront_shared::auth::AUDIENCE.to_owned()];
    }
    if router.settings.service.cors_origins.is_empty() {
        router.settings.service.cors_origins = LOCAL_CORS_ORIGINS.map(str::to_owned).to_vec();
    }

    let router_url = format!("http://127.0.0.1:{}", router.listener.local_addr()?.port());
    let listening = vec![
        ("users", users.listener.local_addr()?),
        ("orders", orders.listener.local_addr()?),
        ("payments", payments.listener.local_addr()?),
        ("inventory", inventory.listener.local_addr()?),
        ("router", router.listener.local_addr()?),
    ];
    let data_dir = router.settings.common.data_dir.clone();
    let admin_emails = router.settings.common.admin_emails.clone();
    let (stop, stopped) = watch::channel(false);
    let shutdown = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let mut tasks = JoinSet::new();
    spawn(
        &mut tasks,
        "users",
        storefront_users::serve(users.settings, users.listener, shutdown()),
    );
    spawn(
        &mut tasks,
        "inventory",
        storefront_inventory::serve(inventory.settings, inventory.listener, shutdown()),
    );
    spawn(
        &mut tasks,
        "orders",
        storefront_orders::serve(orders.settings, orders.listener, shutdown()),
    );
    spawn(
        &mut tasks,
        "payments",
        storefront_payments::serve(payments.settings, payments.listener, shutdown()),
    );
    spawn(
        &mut tasks,
        "router",
        storefront_router::serve(router.settings, router.listener, shutdown()),
    );
    let [users_url, orders_url, payments_url, inventory_url] = urls;
    Ok(Storefront {
        router_url,
        data_dir,
        admin_emails,
        subgraphs: vec![
            ("users", users_url),
            ("orders", orders_url),
            ("payments", payments_url),
            ("inventory", inventory_url),
        ],
        listening,
        tasks,
        stop,
    })
}

impl Storefront {
    /// Runs until `signal` resolves or a service fails, then stops every service
    /// and waits for them to finish their in-flight requests.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        let failure = tokio::select! {
            () = signal => None,
            Some(ended) = self.tasks.join_next() => Some(ended),
        };
        let _ = self.stop.send(true);
        if let Some(ended) = failure {
            self.tasks.shutdown().await;
            return Err(match ended {
                Ok(Err(error)) => error,
                Ok(Ok(())) => anyhow::anyhow!("a service stopped unexpectedly"),
                Err(panic) => anyhow::anyhow!("a service crashed: {panic}"),
            });
        }
        while let Some(ended) = self.tasks.join_next().await {
            if let Ok(Err(error)) = ended {
                return Err(error);
            }
        }
        Ok(())
    }
}

fn spawn(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    name: &'static str,
    service: impl Future<Output = anyhow::Result<()>> + Send + 'static,
) {
    tasks.spawn(async move { service.await.with_context(|| format!("{name} failed")) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_base_moves_the_five_ports_in_the_usual_order() {
        let ports = Ports::from_base(5000).expect("room for five ports");
        assert_eq!(
            [
                ports.router,
                ports.users,
                ports.orders,
                ports.payments,
                ports.inventory
            ],
            [5000, 5001, 5002, 5003, 5004]
        );
        assert_eq!(
            Ports::from_base(storefront_router::settings::DEFAULT_PORT).expect("valid"),
            Ports::default()
        );
        assert!(Ports::from_base(65533).is_err());
        assert!(Ports::from_base(0).is_err());
    }
}
