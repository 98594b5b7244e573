//! Rounds → one line each, then per router the medians over its rounds and,
//! with a baseline, the ratios: CPU per request baseline ÷ current (above 1:
//! the current router needs less CPU) and RPS current ÷ baseline (above 1:
//! the current router serves more).

use std::fmt::Write as _;
use std::time::Duration;

use crate::process::Memory;

/// One measured round of one router.
#[derive(Debug, Clone)]
pub struct Round {
    /// Right answers in the window.
    pub requests: u64,
    /// Wrong answers and failed requests in the window.
    pub errors: u64,
    /// The window's length.
    pub elapsed: Duration,
    /// The router's CPU time in the window.
    pub router_cpu: Duration,
    /// The bench process's (load generator and subgraphs) CPU time in the window.
    pub client_cpu: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

impl Round {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Router CPU milliseconds per right answer.
    pub fn cpu_ms_per_request(&self) -> f64 {
        if self.requests == 0 {
            return f64::INFINITY;
        }
        self.router_cpu.as_secs_f64() * 1000.0 / self.requests as f64
    }

    /// One line: `1234 req  123.4 rps  4.31 ms CPU/req (router 99% of a CPU) ...`.
    pub fn line(&self) -> String {
        let share = |cpu: Duration| 100.0 * cpu.as_secs_f64() / self.elapsed.as_secs_f64();
        format!(
            "{:>7} req {:>8.1} rps {:>7.3} ms CPU/req  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}  (CPU used: router {:.0}%, load+subgraphs {:.0}%)",
            self.requests,
            self.rps(),
            self.cpu_ms_per_request(),
            millis(self.p50),
            millis(self.p99),
            self.errors,
            share(self.router_cpu),
            share(self.client_cpu),
        )
    }
}

/// All rounds of one router, and its memory after them.
pub struct RouterResult {
    pub label: &'static str,
    pub rounds: Vec<Round>,
    pub memory: Option<Memory>,
}

impl RouterResult {
    fn median(&self, value: impl Fn(&Round) -> f64) -> f64 {
        let mut values: Vec<f64> = self.rounds.iter().map(value).collect();
        values.sort_by(f64::total_cmp);
        match values.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        }
    }

    pub fn rps(&self) -> f64 {
        self.median(Round::rps)
    }

    pub fn cpu_ms_per_request(&self) -> f64 {
        self.median(Round::cpu_ms_per_request)
    }

    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(|r| r.errors).sum()
    }
}

/// The summary table: a column per router, and a ratio column with two.
pub fn summary(results: &[RouterResult]) -> String {
    let mut out = String::new();
    let mut header = format!("{:<26}", "median over rounds");
    for result in results {
        let _ = write!(header, "{:>14}", result.label);
    }
    let compare = results.len() == 2;
    if compare {
        let _ = write!(header, "{:>10}", "ratio");
    }
    let _ = writeln!(out, "{header}");
    type Row<'a> = (
        &'a str,
        &'a dyn Fn(&RouterResult) -> f64,
        usize,
        Option<bool>,
    );
    // (name, value, decimals, ratio: Some(true) = current ÷ baseline, Some(false) = baseline ÷ current)
    let rows: [Row; 7] = [
        ("RPS", &|r| r.rps(), 1, Some(true)),
        (
            "router CPU ms/request",
            &|r| r.cpu_ms_per_request(),
            3,
            Some(false),
        ),
        (
            "latency p50 ms",
            &|r| r.median(|x| millis(x.p50)),
            2,
            Some(false),
        ),
        (
            "latency p99 ms",
            &|r| r.median(|x| millis(x.p99)),
            2,
            Some(false),
        ),
        ("router RSS peak MiB", &|r| mib(r, |m| m.peak_kib), 1, None),
        ("router RSS now MiB", &|r| mib(r, |m| m.now_kib), 1, None),
        ("errors (all rounds)", &|r| r.errors() as f64, 0, None),
    ];
    for (name, value, decimals, ratio) in rows {
        let mut line = format!("{name:<26}");
        for result in results {
            let _ = write!(line, "{:>14.*}", decimals, value(result));
        }
        if let (true, Some(current_over_baseline)) = (compare, ratio) {
            let (baseline, current) = (value(&results[0]), value(&results[1]));
            let ratio = if current_over_baseline {
                current / baseline
            } else {
                baseline / current
            };
            let _ = write!(line, "{ratio:>9.2}x");
        }
        let _ = writeln!(out, "{line}");
    }
    if compare {
        let _ = writeln!(
            out,
            "ratios: RPS current ÷ baseline; CPU/request and latencies baseline ÷ current (above 1: current is better)"
        );
    }
    out
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(result: &RouterResult, kib: impl Fn(&Memory) -> u64) -> f64 {
    result
        .memory
        .as_ref()
        .map_or(f64::NAN, |m| kib(m) as f64 / 1024.0)
}
