//! A line per round, then per router the medians over its rounds, its memory
//! and, with a baseline, the ratios: RPS current ÷ baseline and router CPU per
//! request baseline ÷ current (above 1: the current router is better).

use std::fmt::Write as _;
use std::time::Duration;

use crate::services::{Memory, SUBGRAPHS};

/// One measured round against one router.
#[derive(Debug, Clone)]
pub struct Round {
    /// Right answers in the window.
    pub requests: u64,
    /// Wrong answers and failed requests in the window.
    pub errors: u64,
    /// The window's length.
    pub elapsed: Duration,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// CPU time in the window: the router's, then each of [`SUBGRAPHS`].
    pub cpu: [Duration; 5],
}

impl Round {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// CPU milliseconds per right answer of process `i` (0: the router).
    fn cpu_ms_per_request(&self, i: usize) -> f64 {
        if self.requests == 0 {
            return f64::INFINITY;
        }
        self.cpu[i].as_secs_f64() * 1000.0 / self.requests as f64
    }

    fn all_cpu_ms_per_request(&self) -> f64 {
        (0..self.cpu.len())
            .map(|i| self.cpu_ms_per_request(i))
            .sum()
    }

    /// `1234 req  246.8 RPS  p50 …  p99 …  CPU ms/req router … users … (all …)  errors 0`.
    pub fn line(&self) -> String {
        figures(
            self.requests,
            self.rps(),
            self.p50,
            self.p99,
            |i| self.cpu_ms_per_request(i),
            self.all_cpu_ms_per_request(),
            self.errors,
        )
    }
}

fn figures(
    requests: u64,
    rps: f64,
    p50: Duration,
    p99: Duration,
    cpu: impl Fn(usize) -> f64,
    all: f64,
    errors: u64,
) -> String {
    let mut line = format!(
        "{requests:>6} req {rps:>7.1} RPS  p50 {:>6.2} ms  p99 {:>6.2} ms  CPU ms/req: router {:.3}",
        millis(p50),
        millis(p99),
        cpu(0)
    );
    for (i, name) in SUBGRAPHS.iter().enumerate() {
        let _ = write!(line, " {name} {:.3}", cpu(i + 1));
    }
    let _ = write!(line, " (all {all:.3})  errors {errors}");
    line
}

/// All rounds of one router, and its memory after them.
pub struct RouterResult {
    /// `current` or `baseline`.
    pub label: &'static str,
    /// Its rounds.
    pub rounds: Vec<Round>,
    /// Its memory after the last round.
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

    /// Wrong answers and failed requests over all rounds.
    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(|round| round.errors).sum()
    }

    fn summary(&self) -> String {
        let median_ms = |value: fn(&Round) -> Duration| {
            Duration::from_secs_f64(self.median(|r| value(r).as_secs_f64()))
        };
        let line = figures(
            self.median(|r| r.requests as f64) as u64,
            self.median(Round::rps),
            median_ms(|r| r.p50),
            median_ms(|r| r.p99),
            |i| self.median(|r| r.cpu_ms_per_request(i)),
            self.median(Round::all_cpu_ms_per_request),
            self.errors(),
        );
        let memory = match self.memory {
            Some(memory) => format!(
                "router RSS {:.1} MiB (peak {:.1} MiB)",
                memory.now_kib as f64 / 1024.0,
                memory.peak_kib as f64 / 1024.0
            ),
            None => "router RSS unknown".to_owned(),
        };
        format!("{:<8} {line}\n         {memory}\n", self.label)
    }
}

/// The medians of every router (with more than one round: "median of N"),
/// and with a baseline the ratios.
pub fn summary(results: &[RouterResult]) -> String {
    let mut out = String::new();
    let rounds = results.first().map_or(0, |r| r.rounds.len());
    if rounds > 1 {
        let _ = writeln!(out, "medians of {rounds} rounds:");
    }
    for result in results {
        out.push_str(&result.summary());
    }
    if let [baseline, current] = results {
        let _ = writeln!(
            out,
            "ratios (above 1: the current router is better): RPS current/baseline {:.2}, router CPU/req baseline/current {:.2}, p50 baseline/current {:.2}",
            current.median(Round::rps) / baseline.median(Round::rps),
            baseline.median(|r| r.cpu_ms_per_request(0))
                / current.median(|r| r.cpu_ms_per_request(0)),
            baseline.median(|r| r.p50.as_secs_f64()) / current.median(|r| r.p50.as_secs_f64()),
        );
    }
    out
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
