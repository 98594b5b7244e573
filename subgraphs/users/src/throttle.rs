//! Login throttling: online password guessing made slow, without letting an
//! attacker lock a real user out for long.
//!
//! Every login attempt is counted, before its password is checked, against
//! three counters (each with its own number of free failures, see
//! [`LoginThrottleSettings`]):
//! - the account (the normalised email) **and** the client address: one
//!   source guessing one account;
//! - the account from every address: guessing spread over many addresses;
//! - the client address over every account: one password sprayed over many
//!   accounts. An IPv6 address counts by its /64 network, which one
//!   client usually has whole ([`crate::client::client_key`]).
//!
//! Beyond a counter's free failures, each further attempt must wait
//! `base_delay · 2^(n-1)` after the previous counted one (n = failures beyond
//! the free ones), at most `max_delay`. An attempt that comes too early is
//! refused at once, before any password hashing, with `TOO_MANY_REQUESTS`
//! and a `retryAfter` in seconds, and does not count. A successful login
//! resets the account's counter for that address (the owner's own typos),
//! not the account's over all addresses (else every login of the owner
//! would hand a distributed attack fresh free guesses) nor the address's
//! (logging in to one's own account must not reset spraying). It also makes
//! the address known for the account (below). Failures are forgotten
//! `window` after the last one. Unknown emails count exactly as known ones,
//! so the answers reveal nothing.
//!
//! Why a real user is not locked out: an attacker at one address slows only
//! that address's attempts (the owner, elsewhere, is counted apart). Guessing
//! from many addresses (beyond `free_failures_per_account`) delays the
//! account, but not from an address the owner has logged in from within
//! [`KNOWN_ADDRESS_TTL`]: attempts from a known (account, address) pair skip
//! the account's own counter (they still count per pair and per address).
//! An owner on a new address waits at most `max_delay` per attempt, though
//! while many addresses keep guessing they race the attackers for each slot;
//! everything is forgotten one `window` after the attack stops.
//!
//! State is in this process's memory, bounded by `max_tracked` entries (the
//! oldest failure is forgotten first), and as many known addresses. Replicas of the users service
//! throttle separately, so N replicas allow N times the rate.
//!
//! # Layout
//! - [`LoginThrottle`]: the counters and [`LoginThrottle::begin`] /
//!   [`LoginThrottle::succeeded`].
//! - [`Throttled`]: the refusal, with its GraphQL error.
//! - what counts as one client address: [`crate::client::client_key`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::time::Instant;

use crate::settings::LoginThrottleSettings;

/// How long an address a user logged in from stays known for their account.
pub const KNOWN_ADDRESS_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The `extensions.code` of a throttled login.
pub const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";

/// A login refused because it came too early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// How long until an attempt will be checked again.
    pub retry_after: Duration,
}

impl Throttled {
    /// `retry_after` in whole seconds, rounded up (at least 1).
    pub fn retry_after_seconds(&self) -> u64 {
        let whole = self.retry_after.as_secs();
        let seconds = if self.retry_after.subsec_nanos() > 0 {
            whole + 1
        } else {
            whole
        };
        seconds.max(1)
    }
}

impl From<Throttled> for async_graphql::Error {
    fn from(throttled: Throttled) -> Self {
        let seconds = throttled.retry_after_seconds();
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", TOO_MANY_REQUESTS);
        extensions.set("retryAfter", seconds);
        async_graphql::Error {
            message: format!("too many failed logins; try again in {seconds} s"),
            source: None,
            extensions: Some(extensions),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counter {
    AccountFrom(String, String),
    Account(String),
    Address(String),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
    blocked_until: Instant,
}

/// The login counters of this process. Cheap to clone (shared).
#[derive(Clone)]
pub struct LoginThrottle {
    settings: Arc<LoginThrottleSettings>,
    entries: Arc<Mutex<HashMap<Counter, Entry>>>,
    /// (account, address) pairs of successful logins, and when.
    known: Arc<Mutex<HashMap<(String, String), Instant>>>,
}

impl LoginThrottle {
    /// Counters under `settings`.
    pub fn new(settings: LoginThrottleSettings) -> Self {
        LoginThrottle {
            settings: Arc::new(settings),
            entries: Arc::new(Mutex::new(HashMap::new())),
            known: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Counts an attempt to log in to `account` (the normalised email) from
    /// `address` (see [`client_key`]), as a failure until
    /// [`LoginThrottle::succeeded`] says otherwise; refused, counting
    /// nothing, while any of its counters says wait.
    pub fn begin(&self, account: &str, address: &str) -> Result<(), Throttled> {
        self.begin_at(account, address, Instant::now())
    }

    /// [`LoginThrottle::begin`] at the time `now`.
    pub fn begin_at(&self, account: &str, address: &str, now: Instant) -> Result<(), Throttled> {
        if !self.settings.enabled {
            return Ok(());
        }
        let known = self.is_known(account, address, now);
        let counters = self.counters(account, address, known);
        let mut entries = self.lock();
        let mut wait = Duration::ZERO;
        for (counter, _) in &counters {
            if let Some(entry) = self.live(&entries, counter, now) {
                wait = wait.max(entry.blocked_until.saturating_duration_since(now));
            }
        }
        if !wait.is_zero() {
            return Err(Throttled { retry_after: wait });
        }
        for (counter, free) in counters {
            let failures = self
                .live(&entries, &counter, now)
                .map_or(0, |entry| entry.failures)
                .saturating_add(1);
            let blocked_until = now + self.delay(failures, free);
            if !entries.contains_key(&counter) {
                self.make_room(&mut entries, now);
            }
            entries.insert(
                counter,
                Entry {
                    failures,
                    last: now,
                    blocked_until,
                },
            );
        }
        Ok(())
    }

    /// The attempt begun for `account` from `address` had the right
    /// password: the account's failures from that address start afresh (not
    /// the account's over all addresses, which would hand a distributed
    /// attack fresh guesses at every login of the owner, nor the address's).
    /// The address becomes known for the account for [`KNOWN_ADDRESS_TTL`].
    pub fn succeeded(&self, account: &str, address: &str) {
        self.succeeded_at(account, address, Instant::now());
    }

    /// [`LoginThrottle::succeeded`] at the time `now`.
    pub fn succeeded_at(&self, account: &str, address: &str, now: Instant) {
        if !self.settings.enabled {
            return;
        }
        self.lock().remove(&Counter::AccountFrom(
            account.to_owned(),
            address.to_owned(),
        ));
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pair = (account.to_owned(), address.to_owned());
        if !known.contains_key(&pair) && known.len() >= self.settings.max_tracked {
            known.retain(|_, at| now.saturating_duration_since(*at) < KNOWN_ADDRESS_TTL);
            while known.len() >= self.settings.max_tracked.max(1) {
                let Some(oldest) = known
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(pair, _)| pair.clone())
                else {
                    break;
                };
                known.remove(&oldest);
            }
        }
        known.insert(pair, now);
    }

    /// Whether `account` was logged in to from `address` within [`KNOWN_ADDRESS_TTL`].
    fn is_known(&self, account: &str, address: &str, now: Instant) -> bool {
        let known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .get(&(account.to_owned(), address.to_owned()))
            .is_some_and(|at| now.saturating_duration_since(*at) < KNOWN_ADDRESS_TTL)
    }

    /// How many entries are tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    /// The counters an attempt counts against: all three, or, from an
    /// address known for the account, all but the account's own.
    fn counters(&self, account: &str, address: &str, known: bool) -> Vec<(Counter, u32)> {
        let s = &self.settings;
        let mut counters = vec![
            (
                Counter::AccountFrom(account.to_owned(), address.to_owned()),
                s.free_failures_per_account_and_address,
            ),
            (
                Counter::Account(account.to_owned()),
                s.free_failures_per_account,
            ),
            (
                Counter::Address(address.to_owned()),
                s.free_failures_per_address,
            ),
        ];
        if known {
            counters.retain(|(counter, _)| !matches!(counter, Counter::Account(_)));
        }
        counters
    }

    /// The entry of `counter`, unless its last failure is older than the window.
    fn live(
        &self,
        entries: &HashMap<Counter, Entry>,
        counter: &Counter,
        now: Instant,
    ) -> Option<Entry> {
        entries
            .get(counter)
            .copied()
            .filter(|entry| now.saturating_duration_since(entry.last) < self.settings.window)
    }

    /// The wait after the `failures`-th failure of a counter with `free` free ones.
    fn delay(&self, failures: u32, free: u32) -> Duration {
        let Some(beyond) = failures.checked_sub(free).filter(|n| *n > 0) else {
            return Duration::ZERO;
        };
        let factor = 2_u32.saturating_pow(beyond - 1);
        self.settings
            .base_delay
            .saturating_mul(factor)
            .min(self.settings.max_delay)
    }

    /// Below `max_tracked` entries: forgets expired ones, then the oldest.
    fn make_room(&self, entries: &mut HashMap<Counter, Entry>, now: Instant) {
        if entries.len() < self.settings.max_tracked {
            return;
        }
        let window = self.settings.window;
        entries.retain(|_, entry| now.saturating_duration_since(entry.last) < window);
        while entries.len() >= self.settings.max_tracked.max(1) {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, entry)| entry.last)
                .map(|(counter, _)| counter.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Counter, Entry>> {
        // A panic while holding the lock leaves plain counters behind, still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LoginThrottleSettings {
        LoginThrottleSettings {
            enabled: true,
            window: Duration::from_secs(15 * 60),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            free_failures_per_account_and_address: 3,
            free_failures_per_account: 6,
            free_failures_per_address: 10,
            max_tracked: 1000,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn fail_freely(
        throttle: &LoginThrottle,
        account: &str,
        address: &str,
        times: u32,
        now: Instant,
    ) {
        for n in 0..times {
            throttle
                .begin_at(account, address, now)
                .unwrap_or_else(|t| panic!("attempt {n} refused: {t:?}"));
        }
    }

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_the_cap() {
        let throttle = LoginThrottle::new(settings());
        let mut now = Instant::now();
        fail_freely(&throttle, "ada@example.com", "10.0.0.1", 3, now);
        // The 4th is checked, and makes the next wait 1 s.
        throttle
            .begin_at("ada@example.com", "10.0.0.1", now)
            .expect("4th");
        let mut expected = Vec::new();
        let mut seen = Vec::new();
        for step in 0..9 {
            let refused = throttle
                .begin_at("ada@example.com", "10.0.0.1", now)
                .expect_err("too early");
            seen.push(refused.retry_after.as_secs());
            expected.push(60.min(1 << step));
            now += refused.retry_after;
            throttle
                .begin_at("ada@example.com", "10.0.0.1", now)
                .expect("on time");
        }
        assert_eq!(seen, expected, "1, 2, 4, ... capped at 60 s");
    }

    #[test]
    fn refused_attempts_do_not_count_or_extend_the_wait() {
        let throttle = LoginThrottle::new(settings());
        let now = Instant::now();
        fail_freely(&throttle, "ada@example.com", "10.0.0.1", 4, now);
        for n in 0..50 {
            let refused = throttle
                .begin_at(
                    "ada@example.com",
                    "10.0.0.1",
                    now + Duration::from_millis(n * 10),
                )
                .expect_err("too early");
            assert!(refused.retry_after <= secs(1));
        }
        throttle
            .begin_at("ada@example.com", "10.0.0.1", now + secs(1))
            .expect("the wait did not grow");
    }

    #[test]
    fn one_attackers_address_does_not_delay_the_owner_elsewhere() {
        let throttle = LoginThrottle::new(settings());
        let now = Instant::now();
        fail_freely(&throttle, "ada@example.com", "203.0.113.9", 4, now);
        assert!(
            throttle
                .begin_at("ada@example.com", "203.0.113.9", now)
                .is_err()
        );
        throttle
            .begin_at("ada@example.com", "198.51.100.7", now)
            .expect("the owner, at another address, is not held up");
        throttle.succeeded("ada@example.com", "198.51.100.7");
    }

    #[test]
    fn guessing_from_many_addresses_delays_the_account_at_most_the_cap() {
        let throttle = LoginThrottle::new(settings());
        let mut now = Instant::now();
        for n in 0..7 {
            throttle
                .begin_at("ada@example.com", &format!("10.0.1.{n}"), now)
                .expect("free per account");
        }
        let refused = throttle
            .begin_at("ada@example.com", "192.0.2.1", now)
            .expect_err("the account now waits");
        assert!(refused.retry_after <= secs(60));
        // However long the attack, the owner's next try is never further off than the cap.
        for n in 0..40 {
            now += secs(60);
            throttle
                .begin_at("ada@example.com", &format!("10.0.2.{n}"), now)
                .expect("one guess per cap");
            let refused = throttle
                .begin_at("ada@example.com", "192.0.2.1", now)
                .expect_err("still waiting");
            assert!(refused.retry_after <= secs(60));
        }
    }

    #[test]
    fn an_owner_at_a_known_address_is_not_delayed_by_guessing_from_many() {
        let throttle = LoginThrottle::new(settings());
        let now = Instant::now();
        throttle
            .begin_at("ada@example.com", "198.51.100.7", now)
            .expect("first login");
        throttle.succeeded_at("ada@example.com", "198.51.100.7", now);
        // With the owner's own attempt, 7 on the account: it now waits.
        for n in 0..6 {
            throttle
                .begin_at("ada@example.com", &format!("10.0.1.{n}"), now)
                .expect("free per account");
        }
        assert!(
            throttle
                .begin_at("ada@example.com", "192.0.2.1", now)
                .is_err(),
            "a new address waits"
        );
        throttle
            .begin_at("ada@example.com", "198.51.100.7", now)
            .expect("the owner's known address does not");
        // Known, but still counted per pair: guessing from there is delayed too.
        fail_freely(&throttle, "ada@example.com", "198.51.100.7", 3, now);
        assert!(
            throttle
                .begin_at("ada@example.com", "198.51.100.7", now)
                .is_err()
        );
        // Forgotten after a while.
        let later = now + KNOWN_ADDRESS_TTL + secs(1);
        assert!(!throttle.is_known("ada@example.com", "198.51.100.7", later));
    }

    #[test]
    fn spraying_one_address_over_many_accounts_is_delayed() {
        let throttle = LoginThrottle::new(settings());
        let now = Instant::now();
        for n in 0..11 {
            throttle
                .begin_at(&format!("user{n}@example.com"), "10.9.9.9", now)
                .expect("free per address");
        }
        let refused = throttle
            .begin_at("another@example.com", "10.9.9.9", now)
            .expect_err("the address waits");
        assert_eq!(refused.retry_after, secs(1));
        throttle
            .begin_at("another@example.com", "10.9.9.10", now)
            .expect("other addresses are not");
    }

    #[test]
    fn success_does_not_hand_a_distributed_attack_fresh_guesses() {
        let throttle = LoginThrottle::new(settings());
        let now = Instant::now();
        for n in 0..7 {
            throttle
                .begin_at("ada@example.com", &format!("10.0.1.{n}"), now)
                .expect("free per account");
        }
        throttle.succeeded_at("ada@example.com", "10.0.1.0", now);
        assert!(
            throttle
                .begin_at("ada@example.com", "10.0.3.1", now)
                .is_err(),
            "the account-wide counter stays"
        );
    }

    #[test]
    fn success_resets_the_accounts_failures_from_that_address_only() {
        let throttle = LoginThrottle::new(settings());
        let now = Instant::now();
        fail_freely(&throttle, "ada@example.com", "10.0.0.1", 3, now);
        throttle.succeeded("ada@example.com", "10.0.0.1");
        fail_freely(&throttle, "ada@example.com", "10.0.0.1", 4, now);
        assert!(
            throttle
                .begin_at("ada@example.com", "10.0.0.1", now)
                .is_err()
        );

        let throttle = LoginThrottle::new(settings());
        for n in 0..10 {
            throttle
                .begin_at(&format!("victim{n}@example.com"), "10.9.9.9", now)
                .expect("free");
        }
        throttle
            .begin_at("mine@example.com", "10.9.9.9", now)
            .expect("11th");
        throttle.succeeded("mine@example.com", "10.9.9.9");
        assert!(
            throttle
                .begin_at("victim0@example.com", "10.9.9.9", now)
                .is_err(),
            "a login to one's own account does not reset spraying"
        );
    }

    #[test]
    fn failures_are_forgotten_a_window_after_the_last() {
        let throttle = LoginThrottle::new(settings());
        let now = Instant::now();
        fail_freely(&throttle, "ada@example.com", "10.0.0.1", 4, now);
        assert!(
            throttle
                .begin_at("ada@example.com", "10.0.0.1", now)
                .is_err()
        );
        fail_freely(
            &throttle,
            "ada@example.com",
            "10.0.0.1",
            4,
            now + secs(15 * 60),
        );
    }

    #[test]
    fn disabled_throttling_never_refuses() {
        let throttle = LoginThrottle::new(LoginThrottleSettings {
            enabled: false,
            ..settings()
        });
        fail_freely(
            &throttle,
            "ada@example.com",
            "10.0.0.1",
            100,
            Instant::now(),
        );
        assert_eq!(throttle.tracked(), 0);
    }

    #[test]
    fn the_table_stays_within_its_bound() {
        let throttle = LoginThrottle::new(LoginThrottleSettings {
            max_tracked: 30,
            free_failures_per_address: 1000,
            ..settings()
        });
        let mut now = Instant::now();
        for n in 0..100 {
            throttle
                .begin_at(&format!("u{n}@example.com"), "10.0.0.1", now)
                .expect("free");
            now += Duration::from_millis(10);
        }
        assert!(throttle.tracked() <= 30, "{}", throttle.tracked());
    }

    #[test]
    fn the_error_says_when_to_retry() {
        let error: async_graphql::Error = Throttled {
            retry_after: Duration::from_millis(1500),
        }
        .into();
        let extensions = error.extensions.expect("extensions");
        assert_eq!(
            extensions.get("code").map(ToString::to_string).as_deref(),
            Some("\"TOO_MANY_REQUESTS\"")
        );
        assert_eq!(
            extensions
                .get("retryAfter")
                .map(ToString::to_string)
                .as_deref(),
            Some("2")
        );
        assert!(error.message.contains("2 s"), "{}", error.message);
    }
}
