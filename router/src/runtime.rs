//! The tokio runtime the `router` binary runs on.
//!
//! With one CPU to run on (a container limited to one core, or a process
//! pinned to one), a work-stealing scheduler has nobody to steal from: its
//! cross-thread wake-ups and atomics are pure cost. The router then runs on
//! a current-thread runtime, as thread-per-core servers do. Requests that
//! reach the same step together also stay together there, so more of their
//! identical subgraph fetches are shared (`dedupe_subgraph_fetches`).
//! Otherwise it is tokio's multi-thread runtime with one worker per CPU.
//!
//! `TOKIO_WORKER_THREADS`, which tokio reads for its worker count, sets the
//! count here too (so `TOKIO_WORKER_THREADS=1` asks for the current-thread
//! runtime on a bigger machine).
//!
//! # Layout
//! - [`workers`]: how many threads to run on.
//! - [`build`]: the runtime for that count.

use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

/// The environment variable tokio reads for its worker count.
pub const WORKERS_VARIABLE: &str = "TOKIO_WORKER_THREADS";

/// How many worker threads to run: `TOKIO_WORKER_THREADS` when it is a
/// positive number, else the CPUs this process may run on.
pub fn workers(variable: Option<&str>) -> NonZeroUsize {
    variable
        .and_then(|text| text.trim().parse::<NonZeroUsize>().ok())
        .or_else(|| std::thread::available_parallelism().ok())
        .unwrap_or(NonZeroUsize::MIN)
}

/// A runtime with I/O and time for `workers` threads: current-thread for
/// one, multi-thread otherwise.
pub fn build(workers: NonZeroUsize) -> std::io::Result<Runtime> {
    let mut builder = if workers.get() == 1 {
        Builder::new_current_thread()
    } else {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(workers.get());
        builder
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests {
    use tokio::runtime::RuntimeFlavor;

    use super::*;

    fn count(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).expect("test counts are positive")
    }

    #[test]
    fn one_worker_runs_on_a_current_thread_runtime() {
        let runtime = build(count(1)).expect("builds");
        assert_eq!(
            runtime.handle().runtime_flavor(),
            RuntimeFlavor::CurrentThread
        );
        // Blocking work (planning a new document) still has its own threads.
        let planned = runtime.block_on(async { tokio::task::spawn_blocking(|| 6 * 7).await });
        assert_eq!(planned.expect("joins"), 42);
    }

    #[test]
    fn more_workers_run_on_a_multi_thread_runtime_of_that_size() {
        let runtime = build(count(3)).expect("builds");
        assert_eq!(
            runtime.handle().runtime_flavor(),
            RuntimeFlavor::MultiThread
        );
        assert_eq!(runtime.metrics().num_workers(), 3);
    }

    #[test]
    fn the_variable_sets_the_count_and_bad_values_fall_back_to_the_cpus() {
        assert_eq!(workers(Some("1")), count(1));
        assert_eq!(workers(Some(" 4 ")), count(4));
        let cpus = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
        assert_eq!(workers(Some("0")), cpus);
        assert_eq!(workers(Some("many")), cpus);
        assert_eq!(workers(None), cpus);
    }
}
