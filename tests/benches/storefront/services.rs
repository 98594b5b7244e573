//! The Storefront's five binaries as child processes: built by cargo from
//! this workspace (release), the four subgraphs each on its own embedded
//! store (`DATA_DIR` a folder of its own in a temp dir), every one on a free
//! loopback port, pointing at each other over HTTP; and what `/proc` says
//! about each: CPU time (`utime + stime`, all threads) and memory. The
//! category-page bench (`benches/category_page/`) starts them on MongoDB too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use storefront_e2e::SERVICE_TOKEN;

/// The subgraphs, in the order the report shows them.
pub const SUBGRAPHS: [&str; 4] = ["users", "orders", "payments", "inventory"];
/// Where every service and the router find each of [`SUBGRAPHS`].
const URL_VARIABLES: [&str; 4] = ["USERS_URL", "ORDERS_URL", "PAYMENTS_URL", "INVENTORY_URL"];

/// The email that registers as ADMIN (to create the products).
pub const ADMIN_EMAIL: &str = "admin@bench.test";

/// How long a process may take to answer `/ready` after it is started.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Builds the five binaries with cargo (release, into the target directory
/// this bench runs from, so they are the working tree's); the folder they are in.
pub fn build_binaries() -> anyhow::Result<PathBuf> {
    storefront_e2e::binaries::build(&[
        ("storefront-router", "router"),
        ("storefront-users", "users"),
        ("storefront-orders", "orders"),
        ("storefront-payments", "payments"),
        ("storefront-inventory", "inventory"),
    ])
}

/// A running child process; killed when dropped.
pub struct Process {
    name: String,
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

pub use crate::procfs::Memory;

impl Process {
    /// Starts `binary` with `args` and only the environment given (plus
    /// `PORT`, `BIND_ADDRESS=127.0.0.1` and `RUST_LOG=warn`); stderr goes
    /// to `<logs>/<name>.stderr`.
    pub fn start(
        name: &str,
        binary: &Path,
        args: &[&str],
        port: u16,
        env: &[(&str, String)],
        logs: &Path,
    ) -> anyhow::Result<Self> {
        let stderr = logs.join(format!("{name}.stderr"));
        let file = std::fs::File::create(&stderr)
            .with_context(|| format!("cannot create {}", stderr.display()))?;
        let child = Command::new(binary)
            .args(args)
            .env_clear()
            .env("PORT", port.to_string())
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        Ok(Process {
            name: name.to_owned(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stderr,
        })
    }

    /// Its name in the report.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its GraphQL URL.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until `/ready` answers 200 (polling, within [`START_DEADLINE`]).
    pub async fn wait_until_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("http://{}/ready", self.addr);
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            self.check_running()?;
            let ready = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|answer| answer.status().is_success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not answer {url} within {START_DEADLINE:?}{}",
                    self.name,
                    self.stderr_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails when the process has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self
            .child
            .try_wait()
            .context("cannot poll a child process")?
        {
            Some(status) => bail!("{} exited ({status}){}", self.name, self.stderr_tail()),
            None => Ok(()),
        }
    }

    /// Its CPU time so far (user + system, all threads).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        crate::procfs::cpu_time(self.child.id())
    }

    /// Its memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        crate::procfs::memory(self.child.id())
    }

    /// How many lines it wrote to stderr, and the last few.
    pub fn stderr_summary(&self) -> (usize, String) {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        (
            lines.len(),
            lines[lines.len().saturating_sub(5)..].join("\n"),
        )
    }

    fn stderr_tail(&self) -> String {
        match self.stderr_summary() {
            (0, _) => String::new(),
            (_, tail) => format!("; its stderr ends:\n{tail}"),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The four subgraphs, running; their data lives in `dir` until dropped.
pub struct Subgraphs {
    /// users, orders, payments, inventory (as [`SUBGRAPHS`]).
    pub processes: Vec<Process>,
    /// The environment a router needs to find them (`USERS_URL`, ...) and to
    /// verify tokens with users' keys (`JWT_JWKS_URLS`, `JWT_ISSUERS`,
    /// `JWT_AUDIENCES`).
    pub router_env: Vec<(&'static str, String)>,
    // Declared last: dropped after the processes are killed.
    dir: tempfile::TempDir,
}

impl Subgraphs {
    /// Starts the four subgraphs from `bin_dir` on their embedded stores and
    /// waits until each is ready.
    pub async fn start(bin_dir: &Path, client: &reqwest::Client) -> anyhow::Result<Self> {
        Self::start_with(bin_dir, client, &[]).await
    }

    /// Starts the four subgraphs from `bin_dir` with `extra` in every one's
    /// environment (e.g. `MONGODB_URI` for the MongoDB stores) and waits
    /// until each is ready.
    pub async fn start_with(
        bin_dir: &Path,
        client: &reqwest::Client,
        extra: &[(&'static str, String)],
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
        let ports = free_ports(SUBGRAPHS.len())?;
        let urls: Vec<(&'static str, String)> = URL_VARIABLES
            .into_iter()
            .zip(&ports)
            .map(|(var, port)| (var, format!("http://127.0.0.1:{port}/graphql")))
            .collect();
        let mut processes = Vec::new();
        for (name, port) in SUBGRAPHS.iter().zip(ports) {
            let data_dir = dir.path().join(name);
            std::fs::create_dir(&data_dir)
                .with_context(|| format!("cannot create {}", data_dir.display()))?;
            let mut env = urls.clone();
            env.extend([
                ("DATA_DIR", data_dir.display().to_string()),
                ("SERVICE_TOKEN", SERVICE_TOKEN.to_owned()),
                ("ADMIN_EMAILS", ADMIN_EMAIL.to_owned()),
                ("SEED_DEMO_CATALOGUE", "false".to_owned()),
            ]);
            env.extend(extra.iter().cloned());
            let binary = bin_dir.join(name);
            processes.push(Process::start(name, &binary, &[], port, &env, dir.path())?);
        }
        for process in &mut processes {
            process.wait_until_ready(client).await?;
        }
        // The router verifies tokens with the users service's keys, as a
        // deployment's does: the supergraph's `@authenticated` and
        // `@requiresScopes` fields need them.
        let mut router_env = urls.clone();
        let users = urls[0].1.strip_suffix("/graphql").unwrap_or(&urls[0].1);
        router_env.extend([
            ("JWT_JWKS_URLS", format!("{users}/.well-known/jwks.json")),
            ("JWT_ISSUERS", storefront_shared::auth::ISSUER.to_owned()),
            (
                "JWT_AUDIENCES",
                storefront_shared::auth::AUDIENCE.to_owned(),
            ),
        ]);
        Ok(Subgraphs {
            processes,
            router_env,
            dir,
        })
    }

    /// Starts `binary` as a router (`router serve`, composing from the four
    /// subgraphs once, no polling) and waits until it has a supergraph.
    pub async fn start_router(
        &self,
        label: &str,
        binary: &Path,
        client: &reqwest::Client,
    ) -> anyhow::Result<Process> {
        if !binary.is_file() {
            bail!("the {label} router {} does not exist", binary.display());
        }
        let port = free_ports(1)?[0];
        let mut env = self.router_env.clone();
        env.push(("POLL_INTERVAL", "0s".to_owned()));
        let mut router = Process::start(
            &format!("{label} router"),
            binary,
            &["serve"],
            port,
            &env,
            self.dir.path(),
        )?;
        router.wait_until_ready(client).await?;
        Ok(router)
    }

    /// Fails when a subgraph has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        self.processes
            .iter_mut()
            .try_for_each(Process::check_running)
    }
}

/// `n` distinct ports nothing listens on now (the OS picks them; the
/// services bind them next).
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr().context("a free port")?.port()))
        .collect()
}
