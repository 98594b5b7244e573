//! A program under test as a child process — a router, or the in-bench
//! subgraphs: `[taskset -c CPUS] PROGRAM ARGS…` with a clean environment
//! (`PATH`, `HOME` and what its [`Launch`] sets), its stderr in a file, killed
//! when dropped; CPU time and memory from `/proc` ([`crate::procfs`]).

use std::ffi::OsString;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::serve::ListenerExt as _;

use crate::procfs::{self, Memory};

/// How to start a program.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Its whole environment besides `PATH` and `HOME`.
    pub env: Vec<(String, String)>,
    /// Its working directory (default: the bench's).
    pub dir: Option<PathBuf>,
}

/// A running child process; killed when dropped.
pub struct Process {
    child: Child,
    stderr: PathBuf,
    /// Held open: the in-bench subgraphs exit when it closes, so they do not
    /// outlive a bench that was killed.
    _stdin: Option<ChildStdin>,
}

impl Process {
    /// Starts `launch`, pinned to `cpus` (a `taskset -c` list) when given;
    /// its stderr goes to `stderr`, its stdin is a pipe kept open while this
    /// lives.
    pub fn start(launch: &Launch, cpus: Option<&str>, stderr: PathBuf) -> anyhow::Result<Self> {
        let mut command = match cpus {
            Some(cpus) => {
                // taskset execs the program: the child's id stays the program's.
                let mut command = Command::new("taskset");
                command.arg("-c").arg(cpus).arg(&launch.program);
                command
            }
            None => Command::new(&launch.program),
        };
        command
            .args(&launch.args)
            .env_clear()
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(&stderr)
                    .with_context(|| format!("cannot create {}", stderr.display()))?,
            );
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        if let Some(dir) = &launch.dir {
            command.current_dir(dir);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", launch.program.to_string_lossy()))?;
        let stdin = child.stdin.take();
        Ok(Process {
            child,
            stderr,
            _stdin: stdin,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the process has exited, with the end of its stderr.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait().context("cannot poll the process")? {
            Some(status) => bail!("it exited ({status}){}", self.stderr_tail()),
            None => Ok(()),
        }
    }

    /// Its CPU time so far (user + system, all threads, with the processes
    /// it started).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        procfs::tree_cpu_time(self.pid())
    }

    /// Its memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        procfs::tree_memory(self.pid())
    }

    /// How many lines it wrote to stderr, and the last few.
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

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now (the OS picks it; the child binds it next).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr().context("the free port")?.port())
}

/// Starts this bench binary again with `args(port)` (the in-bench
/// subgraphs, serving on 127.0.0.1:`port`), pinned to `cpus`, and waits until
/// it answers `GET /health` — at most `within`.
pub async fn start_serving(
    args: impl FnOnce(u16) -> Vec<OsString>,
    cpus: Option<&str>,
    stderr: PathBuf,
    client: &reqwest::Client,
    within: Duration,
) -> anyhow::Result<(Process, SocketAddr)> {
    let port = free_port()?;
    let launch = Launch {
        program: std::env::current_exe()
            .context("cannot find the bench binary")?
            .into(),
        args: args(port),
        env: Vec::new(),
        dir: None,
    };
    let mut process = Process::start(&launch, cpus, stderr)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + within;
    loop {
        process
            .check_running()
            .context("the in-bench subgraphs did not start")?;
        let healthy = client
            .get(format!("http://{addr}/health"))
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if healthy {
            return Ok((process, addr));
        }
        if Instant::now() > deadline {
            bail!("the in-bench subgraphs did not answer on {addr} within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The child's side of a [`Process`] that serves HTTP: `app()` (built on the
/// runtime) on 127.0.0.1:`port`, with as many workers as the CPUs this process
/// may use (one when pinned to one), until its stdin closes (the parent dropped
/// its [`Process`]) or the server stops.
pub fn serve_until_stdin_closes(
    port: u16,
    app: impl FnOnce() -> axum::Router + Send + 'static,
) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .with_context(|| format!("cannot bind 127.0.0.1:{port}"))?;
            // Without TCP_NODELAY a small answer can wait for the router's delayed ACK.
            let listener = listener.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            let stdin_closed = tokio::task::spawn_blocking(|| {
                let mut buf = [0u8; 64];
                while std::io::stdin().read(&mut buf).is_ok_and(|n| n > 0) {}
            });
            tokio::select! {
                served = axum::serve(listener, app()) => served.context("the subgraph server stopped"),
                _ = stdin_closed => Ok(()),
            }
        })
}
