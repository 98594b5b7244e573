//! Rounds → one line each; then, per dedupe mode, a table with a column per
//! router (medians over its rounds) and a column per other router with the
//! ratio current ÷ that router, for every figure (RPS above 1: the current
//! router serves more; CPU, latency and memory below 1: it needs less).

use std::fmt::Write as _;
use std::time::Duration;

use crate::procfs::Memory;
use crate::routers::CURRENT;
use crate::settings::DedupeMode;

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
    /// The subgraphs' CPU time in the window, when known.
    pub subgraphs_cpu: Option<Duration>,
    /// The bench process's (the load generator's) CPU time in the window.
    pub client_cpu: Duration,
    /// GraphQL requests the subgraphs got in the window, when known.
    pub fetches: Option<u64>,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

impl Round {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// `total` per right answer.
    fn per_request(&self, total: f64) -> f64 {
        if self.requests == 0 {
            return f64::NAN;
        }
        total / self.requests as f64
    }

    /// Router CPU milliseconds per right answer.
    pub fn cpu_ms_per_request(&self) -> f64 {
        self.per_request(millis(self.router_cpu))
    }

    /// Subgraph CPU milliseconds per right answer.
    pub fn subgraphs_cpu_ms_per_request(&self) -> f64 {
        self.subgraphs_cpu
            .map_or(f64::NAN, |cpu| self.per_request(millis(cpu)))
    }

    /// Subgraph requests per right answer.
    pub fn fetches_per_request(&self) -> f64 {
        self.fetches
            .map_or(f64::NAN, |fetches| self.per_request(fetches as f64))
    }

    /// One line: requests, RPS, CPU per request, latency, errors, CPU shares.
    pub fn line(&self) -> String {
        let share = |cpu: Duration| 100.0 * cpu.as_secs_f64() / self.elapsed.as_secs_f64();
        let subgraphs = match self.subgraphs_cpu {
            Some(cpu) => format!(
                "  subgraphs {:.3} ms CPU/req ({:.0}%)",
                self.subgraphs_cpu_ms_per_request(),
                share(cpu)
            ),
            None => String::new(),
        };
        let fetches = match self.fetches {
            Some(_) => format!("  {:.1} fetches/req", self.fetches_per_request()),
            None => String::new(),
        };
        format!(
            "{:>7} req {:>8.1} rps  router {:>6.3} ms CPU/req ({:.0}%){subgraphs}{fetches}  p50 {:.2} ms  p99 {:.2} ms  errors {}  (load generator {:.0}%)",
            self.requests,
            self.rps(),
            self.cpu_ms_per_request(),
            share(self.router_cpu),
            millis(self.p50),
            millis(self.p99),
            self.errors,
            share(self.client_cpu),
        )
    }
}

/// All rounds of one router in one mode, and its memory after them.
pub struct RouterResult {
    pub label: String,
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

    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(|r| r.errors).sum()
    }
}

/// A figure of the table: its name, how to get it, its decimals, and whether
/// it gets a ratio.
struct Row {
    name: &'static str,
    value: fn(&RouterResult) -> f64,
    decimals: usize,
    ratio: bool,
}

const ROWS: [Row; 9] = [
    Row {
        name: "RPS",
        value: |r| r.median(Round::rps),
        decimals: 1,
        ratio: true,
    },
    Row {
        name: "router CPU ms/request",
        value: |r| r.median(Round::cpu_ms_per_request),
        decimals: 3,
        ratio: true,
    },
    Row {
        name: "subgraphs CPU ms/request",
        value: |r| r.median(Round::subgraphs_cpu_ms_per_request),
        decimals: 3,
        ratio: true,
    },
    Row {
        name: "subgraph fetches/request",
        value: |r| r.median(Round::fetches_per_request),
        decimals: 2,
        ratio: true,
    },
    Row {
        name: "latency p50 ms",
        value: |r| r.median(|x| millis(x.p50)),
        decimals: 2,
        ratio: true,
    },
    Row {
        name: "latency p99 ms",
        value: |r| r.median(|x| millis(x.p99)),
        decimals: 2,
        ratio: true,
    },
    Row {
        name: "router RSS peak MiB",
        value: |r| mib(r, |m| m.peak_kib),
        decimals: 1,
        ratio: true,
    },
    Row {
        name: "router RSS now MiB",
        value: |r| mib(r, |m| m.now_kib),
        decimals: 1,
        ratio: false,
    },
    Row {
        name: "errors (all rounds)",
        value: |r| r.errors() as f64,
        decimals: 0,
        ratio: false,
    },
];

/// The table of one mode.
pub fn summary(mode: DedupeMode, results: &[RouterResult]) -> String {
    let mut out = String::new();
    let current = results.iter().find(|r| r.label == CURRENT);
    let others: Vec<&RouterResult> = match current {
        Some(_) => results.iter().filter(|r| r.label != CURRENT).collect(),
        None => Vec::new(),
    };
    // A column is as wide as its heading and a space, at least 12.
    let width = |heading: &str| (heading.chars().count() + 2).max(12);
    let ratio_heading = |other: &RouterResult| format!("{CURRENT}÷{}", other.label);
    let mut header = format!("{:<26}", format!("dedupe {}", mode.name()));
    for result in results {
        let _ = write!(header, "{:>1$}", result.label, width(&result.label));
    }
    for other in &others {
        let heading = ratio_heading(other);
        let _ = write!(header, "{heading:>0$}", width(&heading));
    }
    let _ = writeln!(out, "{header}");
    for row in &ROWS {
        let values: Vec<f64> = results.iter().map(|r| (row.value)(r)).collect();
        if values.iter().all(|v| v.is_nan()) {
            continue;
        }
        let mut line = format!("{:<26}", row.name);
        for (value, result) in values.iter().zip(results) {
            let text = number(*value, row.decimals);
            let _ = write!(line, "{text:>0$}", width(&result.label));
        }
        if let (Some(current), true) = (current, row.ratio) {
            let ours = (row.value)(current);
            for other in &others {
                let ratio = ours / (row.value)(other);
                let text = if ratio.is_finite() {
                    format!("{ratio:.2}x")
                } else {
                    "-".to_owned()
                };
                let _ = write!(line, "{text:>0$}", width(&ratio_heading(other)));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The note under the tables.
pub const RATIO_NOTE: &str = "ratios are current ÷ the other router: RPS above 1 means current serves more; CPU, latency and RSS below 1 mean it needs less";

fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        "-".to_owned()
    } else {
        format!("{value:.decimals$}")
    }
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
