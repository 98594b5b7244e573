//! The sweeper loop every service of the order flow runs: now, then every
//! `interval`, one sweep that finishes or compensates what a crash or an
//! outage left half done (orders, payments and inventory each say what one
//! sweep does; this is only the loop and its log lines).
//!
//! # Layout
//! - [`spawn_sweeper`]: the loop, as a task.
//! - [`SweepReport`]: what a sweep reports, so the loop knows when it did nothing.
//! - [`SWEEP_INTERVAL_ENV`] and [`settle_old_interval`]: the one name of the
//!   setting, and what becomes of a deprecated one (payments'
//!   `PAYMENTS_SWEEP_INTERVAL`, inventory's `RECOVERY_INTERVAL`).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

/// The environment variable every service reads its sweeper's period from
/// (the `sweep_interval` key of its `[service]` settings).
pub const SWEEP_INTERVAL_ENV: &str = "SWEEP_INTERVAL";

/// Settles a sweeper period read under a deprecated name `old_name` (an
/// environment variable or a settings key, kept working for a while):
/// `old` is used unless the new name is set too — `SWEEP_INTERVAL` in the
/// environment (`new_in_env`) or a `sweep_interval` other than its
/// `default` — in which case the new one wins and `old` is ignored. Returns
/// the warning to log at start-up, `None` when the old name was not used.
pub fn settle_old_interval(
    interval: &mut Duration,
    old: Option<Duration>,
    default: Duration,
    new_in_env: bool,
    old_name: &str,
) -> Option<String> {
    let old = old?;
    if new_in_env || *interval != default {
        return Some(format!(
            "{old_name} is deprecated and ignored, since {SWEEP_INTERVAL_ENV} \
             (sweep_interval) is set too; remove it"
        ));
    }
    *interval = old;
    Some(format!(
        "{old_name} is deprecated: rename it to {SWEEP_INTERVAL_ENV} (sweep_interval in \
         [service]); its value ({}) is used for now",
        humantime_serde::re::humantime::format_duration(old)
    ))
}

/// What one sweep did.
pub trait SweepReport: fmt::Debug {
    /// Whether the sweep found nothing to do.
    fn is_empty(&self) -> bool;
}

/// A count of what a sweep touched.
impl SweepReport for usize {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

/// Runs `sweep` now and then every `interval` (a late tick is delayed, never
/// bunched), logging what each sweep did under `name`: `debug` when it found
/// nothing, `info` with its report when it did something, `warn` when it
/// failed (the next tick tries again). Ends when the task is aborted.
pub fn spawn_sweeper<F, Fut, R, E>(
    interval: Duration,
    name: &'static str,
    mut sweep: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<R, E>> + Send,
    R: SweepReport,
    E: fmt::Debug,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep().await {
                Ok(report) if report.is_empty() => {
                    tracing::debug!(sweeper = name, "sweep: nothing to do");
                }
                Ok(report) => tracing::info!(sweeper = name, ?report, "sweep finished work"),
                Err(error) => {
                    tracing::warn!(sweeper = name, ?error, "sweep failed; retrying later");
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const DEFAULT: Duration = Duration::from_secs(30);

    #[test]
    fn an_old_name_alone_still_sets_the_interval_with_a_warning() {
        let mut interval = DEFAULT;
        let warning = settle_old_interval(
            &mut interval,
            Some(Duration::from_secs(5)),
            DEFAULT,
            false,
            "RECOVERY_INTERVAL",
        )
        .expect("a warning");
        assert_eq!(interval, Duration::from_secs(5));
        assert!(
            warning.contains("RECOVERY_INTERVAL is deprecated"),
            "{warning}"
        );
        assert!(warning.contains("SWEEP_INTERVAL"), "{warning}");
        assert!(warning.contains("5s"), "{warning}");
    }

    #[test]
    fn the_new_name_wins_over_an_old_one() {
        let old = Some(Duration::from_secs(5));
        let mut interval = DEFAULT;
        let warning =
            settle_old_interval(&mut interval, old, DEFAULT, true, "OLD").expect("a warning");
        assert_eq!(
            interval, DEFAULT,
            "SWEEP_INTERVAL set to the default still wins"
        );
        assert!(warning.contains("ignored"), "{warning}");
        let mut interval = Duration::from_secs(1);
        settle_old_interval(&mut interval, old, DEFAULT, false, "OLD").expect("a warning");
        assert_eq!(
            interval,
            Duration::from_secs(1),
            "a file's sweep_interval wins"
        );
    }

    #[test]
    fn no_old_name_no_warning() {
        let mut interval = Duration::from_secs(1);
        assert_eq!(
            settle_old_interval(&mut interval, None, DEFAULT, false, "OLD"),
            None
        );
        assert_eq!(interval, Duration::from_secs(1));
    }

    #[tokio::test]
    async fn sweeps_again_every_interval_even_after_a_failure() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        let sweeper = spawn_sweeper(Duration::from_millis(10), "test", move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move { if run == 0 { Err("store down") } else { Ok(run) } }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the sweeper stopped after {} sweeps",
                runs.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sweeper.abort();
        assert!(sweeper.await.expect_err("aborted").is_cancelled());
    }
}
