//! One router's figures as a block of lines, and the routers side by side.

use std::fmt::Write as _;
use std::time::Duration;

use crate::load::Outcome;
use crate::procfs::Memory;

/// What a round measured.
pub struct Inputs {
    pub label: String,
    pub subscriptions: usize,
    pub sockets: usize,
    /// Subscriptions that had their first event before the warm-up.
    pub started: usize,
    /// From the first socket to the last first event.
    pub subscribed_in: Duration,
    /// The measured window.
    pub elapsed: Duration,
    /// Events the clients received in the window.
    pub window_events: u64,
    pub router_cpu: Duration,
    pub subgraphs_cpu: Duration,
    pub client_cpu: Duration,
    /// The router's memory before any socket, and at the window's end.
    pub idle: Memory,
    pub loaded: Memory,
    pub outcome: Outcome,
    pub stderr_lines: usize,
    pub stderr_tail: String,
}

/// A round's figures.
pub struct Figures {
    inputs: Inputs,
    pub errors: u64,
    p50: Option<Duration>,
    p99: Option<Duration>,
    max: Option<Duration>,
}

impl Figures {
    pub fn new(mut inputs: Inputs) -> Self {
        inputs.outcome.latencies_us.sort_unstable();
        let latencies = &inputs.outcome.latencies_us;
        let at = |q: f64| -> Option<Duration> {
            let last = latencies.len().checked_sub(1)?;
            let index = ((last as f64) * q).round() as usize;
            Some(Duration::from_micros(u64::from(latencies[index.min(last)])))
        };
        let (p50, p99, max) = (at(0.50), at(0.99), at(1.0));
        let errors = inputs.outcome.errors
            + inputs.outcome.lost
            + inputs.outcome.out_of_order
            + inputs.outcome.silent;
        Figures {
            inputs,
            errors,
            p50,
            p99,
            max,
        }
    }

    fn per_event(&self, cpu: Duration) -> Option<Duration> {
        (self.inputs.window_events > 0).then(|| cpu.div_f64(self.inputs.window_events as f64))
    }

    /// KiB of router RSS per subscription above idle.
    fn rss_per_subscription_kib(&self) -> f64 {
        let grown = self
            .inputs
            .loaded
            .now_kib
            .saturating_sub(self.inputs.idle.now_kib);
        grown as f64 / self.inputs.subscriptions.max(1) as f64
    }

    /// The lines printed after a router's round.
    pub fn block(&self) -> String {
        let i = &self.inputs;
        let o = &i.outcome;
        let secs = i.elapsed.as_secs_f64();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}: {}/{} subscriptions over {} sockets had events (all first events within {:.1?})",
            i.label, i.started, i.subscriptions, i.sockets, i.subscribed_in
        );
        let _ = writeln!(
            out,
            "  window {secs:.1} s: {} events delivered ({:.0}/s); whole run: {} events, {} lost, {} out of order, {} silent subscriptions, {} errors",
            i.window_events,
            i.window_events as f64 / secs,
            o.events,
            o.lost,
            o.out_of_order,
            o.silent,
            o.errors
        );
        if let Some(error) = &o.first_error {
            let _ = writeln!(out, "  first error: {error}");
        }
        let _ = writeln!(
            out,
            "  latency subgraph event -> client receipt: p50 {}, p99 {}, max {}",
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        );
        let _ = writeln!(
            out,
            "  router CPU: {} per event ({:.0}% of a core); RSS idle {:.1} MiB, loaded {:.1} MiB (peak {:.1} MiB) = {:.1} KiB per subscription",
            us(self.per_event(i.router_cpu)),
            i.router_cpu.as_secs_f64() / secs * 100.0,
            i.idle.now_kib as f64 / 1024.0,
            i.loaded.now_kib as f64 / 1024.0,
            i.loaded.peak_kib as f64 / 1024.0,
            self.rss_per_subscription_kib()
        );
        let _ = write!(
            out,
            "  subgraphs CPU {} per event ({:.0}% of a core); load client CPU {} per event ({:.0}% of a core)",
            us(self.per_event(i.subgraphs_cpu)),
            i.subgraphs_cpu.as_secs_f64() / secs * 100.0,
            us(self.per_event(i.client_cpu)),
            i.client_cpu.as_secs_f64() / secs * 100.0,
        );
        if i.stderr_lines > 0 {
            let _ = write!(
                out,
                "\n  the router wrote {} line(s) to stderr; the last:\n{}",
                i.stderr_lines, i.stderr_tail
            );
        }
        out
    }
}

/// The routers side by side.
pub fn table(results: &[Figures]) -> String {
    let mut out = String::from(
        "\n| router | subscriptions | events/s | router CPU per event | router RSS per subscription | p50 | p99 | lost | out of order | errors |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let i = &r.inputs;
        let _ = writeln!(
            out,
            "| {} | {}/{} | {:.0} | {} | {:.1} KiB | {} | {} | {} | {} | {} |",
            i.label,
            i.started,
            i.subscriptions,
            i.window_events as f64 / i.elapsed.as_secs_f64(),
            us(r.per_event(i.router_cpu)),
            r.rss_per_subscription_kib(),
            ms(r.p50),
            ms(r.p99),
            i.outcome.lost,
            i.outcome.out_of_order,
            i.outcome.errors + i.outcome.silent,
        );
    }
    out
}

fn ms(value: Option<Duration>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0),
    )
}

fn us(value: Option<Duration>) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.1} µs", d.as_secs_f64() * 1e6),
    )
}
