//! A router binary under test, run as a child process:
//! `[taskset -c CPUS] ROUTER serve --supergraph FILE` with `PORT`,
//! `BIND_ADDRESS=127.0.0.1` and `RUST_LOG=warn` (options every router version
//! has), plus any extra environment it is given (`BENCH_CURRENT_ENV`), and
//! what `/proc` says about it: CPU time (`utime + stime`, all
//! threads) and memory (`VmHWM`, `VmRSS`). Also the CPU affinity and CPU time of
//! the bench process itself.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long a router may take to answer `/health` after it is started.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// A running router; killed when dropped.
pub struct RouterProcess {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

/// A router's memory, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// The peak resident set (`VmHWM`).
    pub peak_kib: u64,
    /// The resident set now (`VmRSS`).
    pub now_kib: u64,
}

impl RouterProcess {
    /// Starts `binary` on a free port with `supergraph`, pinned to `cpus`
    /// (a `taskset -c` list) when given; its stderr goes to `stderr`.
    pub fn start(
        binary: &Path,
        supergraph: &Path,
        cpus: Option<&str>,
        env: &[(String, String)],
        stderr: PathBuf,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = match cpus {
            Some(cpus) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cpus).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .arg("serve")
            .arg("--supergraph")
            .arg(supergraph)
            .env_clear()
            .env("PORT", port.to_string())
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(&stderr)
                    .with_context(|| format!("cannot create {}", stderr.display()))?,
            );
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        Ok(RouterProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stderr,
        })
    }

    /// Waits until `/health` answers 200 (polling, within [`START_DEADLINE`]).
    pub async fn wait_until_healthy(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("http://{}/health", self.addr);
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().context("cannot poll the router")? {
                bail!(
                    "the router exited ({status}) before it was healthy{}",
                    self.stderr_tail()
                );
            }
            let healthy = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the router did not answer {url} within {START_DEADLINE:?}{}",
                    self.stderr_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails when the router has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait().context("cannot poll the router")? {
            Some(status) => bail!("the router exited ({status}){}", self.stderr_tail()),
            None => Ok(()),
        }
    }

    /// Where the router listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The router's CPU time so far (user + system, all threads).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_time(&format!("/proc/{}/stat", self.child.id()))
    }

    /// The router's memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.child.id());
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {name} in {path}"))
        };
        Ok(Memory {
            peak_kib: field("VmHWM:")?,
            now_kib: field("VmRSS:")?,
        })
    }

    /// How many lines the router wrote to stderr, and the last few.
    pub fn stderr_summary(&self) -> (usize, String) {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n");
        (lines.len(), tail)
    }

    fn stderr_tail(&self) -> String {
        let (_, tail) = self.stderr_summary();
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends:\n{tail}")
        }
    }
}

impl Drop for RouterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now (the OS picks it; the router binds it next).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr().context("the free port")?.port())
}

/// This process's CPU time so far (user + system, all threads).
pub fn own_cpu_time() -> anyhow::Result<Duration> {
    cpu_time("/proc/self/stat")
}

/// `utime + stime` from a `/proc/<pid>/stat` file.
fn cpu_time(path: &str) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    // Fields after the command name (which is in parentheses and may hold
    // spaces): state is field 3, utime field 14, stime field 15.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unexpected {path}"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("unexpected {path}"))
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_secs_f64(
        total as f64 / clock_ticks_per_second() as f64,
    ))
}

/// `getconf CLK_TCK` (the unit of `/proc/<pid>/stat` times), read once.
fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|&ticks| ticks > 0)
            .unwrap_or(100)
    })
}

/// Pins this process (all its threads so far, and every thread it starts
/// later) to `cpus` with `taskset`. Call it before starting a runtime.
pub fn pin_self(cpus: &str) -> anyhow::Result<()> {
    let output = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .output()
        .context("cannot run taskset (util-linux)")?;
    if !output.status.success() {
        bail!(
            "taskset -c {cpus} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
