//! What `/proc` says about a process and the processes it started (so a
//! router behind a wrapper that forks is still measured whole): CPU time
//! (`utime + stime`, all threads) and memory (`VmHWM`, `VmRSS`); and pinning
//! this process to CPUs with `taskset`.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// Memory, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// The peak resident set (`VmHWM`), summed over the process tree.
    pub peak_kib: u64,
    /// The resident set now (`VmRSS`), summed over the process tree.
    pub now_kib: u64,
}

/// The CPU time so far of `pid` and every live process under it.
pub fn tree_cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let mut total = cpu_time(pid)?;
    for child in descendants(pid) {
        // A descendant may exit between the listing and the read.
        total += cpu_time(child).unwrap_or_default();
    }
    Ok(total)
}

/// The memory now of `pid` and every live process under it.
pub fn tree_memory(pid: u32) -> anyhow::Result<Memory> {
    let mut total = memory(pid)?;
    for child in descendants(pid) {
        let memory = memory(child).unwrap_or_default();
        total.peak_kib += memory.peak_kib;
        total.now_kib += memory.now_kib;
    }
    Ok(total)
}

/// This process's CPU time so far.
pub fn own_cpu_time() -> anyhow::Result<Duration> {
    cpu_time(std::process::id())
}

/// The CPU time so far of `pid` alone (`utime + stime` from
/// `/proc/<pid>/stat`, all threads).
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let fields = stat_fields(pid)?;
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .and_then(|f| f.parse().ok())
            .with_context(|| format!("unexpected /proc/{pid}/stat"))
    };
    // Counted from the state (field 3): utime is field 14, stime field 15.
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_secs_f64(
        total as f64 / clock_ticks_per_second() as f64,
    ))
}

/// The fields of `/proc/<pid>/stat` after the command name (which is in
/// parentheses and may hold spaces), from the state on.
fn stat_fields(pid: u32) -> anyhow::Result<Vec<String>> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unexpected {path}"))?;
    Ok(after_name.split_whitespace().map(str::to_owned).collect())
}

/// The memory now of `pid` alone.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
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

/// The live processes under `pid` (children, their children, ...).
fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| {
            let fields = stat_fields(child).ok()?;
            // The parent's id is field 4.
            Some((child, fields.get(1)?.parse().ok()?))
        })
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(child, _) in parents.iter().filter(|(_, p)| *p == parent) {
            found.push(child);
            frontier.push(child);
        }
    }
    found
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
