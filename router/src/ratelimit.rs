//! Rate limits at the router: a token bucket per client and one for the
//! whole router, checked right after authentication and before anything is
//! planned or fetched. Over a limit the request is answered `429 Too Many
//! Requests` with `Retry-After` (whole seconds) and a GraphQL error with
//! code `TOO_MANY_REQUESTS` and `extensions.retryAfter`, whatever the
//! `Accept`.
//!
//! Who a client is ([`ClientKey`]): the verified token's `sub`, else the
//! client address ([`crate::client_address`]; an IPv6 address counts by its
//! /64 network, which one client usually holds whole). The key is taken only
//! from a token that verified, so forged tokens never get a bucket of their
//! own: a request whose token fails authentication is charged to its
//! address's bucket (and answered 429 instead of 401 once that is empty).
//!
//! Costs: one token per operation, so a client batch of n operations takes
//! n tokens from both buckets at once, or none (the whole batch is refused);
//! batching does not multiply a client's rate. The settings refuse a
//! `batching.max_operations` larger than the per-client burst (such a batch
//! could never run). A request refused by the global bucket is not charged to
//! its client.
//!
//! Memory: per-client buckets live in a fixed number of LRU shards holding
//! `max_clients` buckets in all. A bucket that has refilled is the same as
//! none, so idle clients are dropped first; when the table is full of
//! active clients the least recently seen one is dropped (it starts afresh
//! with a full bucket if it comes back). A flood of distinct addresses thus
//! costs at most `max_clients` entries.
//!
//! # Layout
//! - [`RateLimitSettings`]: the settings (`[service.rate_limit]`).
//! - [`ClientKey`]: who a bucket belongs to.
//! - [`RateLimiter`]: the buckets, [`RateLimiter::check`].
//! - [`RateLimited`]: the refusal, as a [`StageError`].
//!
//! Time is tokio's clock ([`Instant`]); [`RateLimiter::check_at`] takes it
//! as an argument, so the tests drive it by hand.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lru::LruCache;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::auth::Identity;
use crate::pipeline::error::StageError;
use crate::response::{GraphqlError, codes};

/// How many shards the per-client table is split into (fewer waits on one lock).
const SHARDS: usize = 16;
/// How many idle (refilled) buckets one check may drop from its shard.
const IDLE_DROPS_PER_CHECK: usize = 2;

/// Rate limits (`[service.rate_limit]`, `RATE_LIMIT_*`). Off by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Whether requests are rate-limited at all (`RATE_LIMIT_ENABLED`).
    pub enabled: bool,
    /// Operations per second each client's bucket refills at
    /// (`RATE_LIMIT_PER_CLIENT_RATE`, may be fractional, e.g. `0.5`); `0`:
    /// no per-client limit.
    pub per_client_rate: f64,
    /// How many operations a client may send at once after being idle: its
    /// bucket's size (`RATE_LIMIT_PER_CLIENT_BURST`, at least 1).
    pub per_client_burst: u32,
    /// Operations per second the router as a whole accepts
    /// (`RATE_LIMIT_GLOBAL_RATE`); `0` (the default): no global limit.
    pub global_rate: f64,
    /// The global bucket's size (`RATE_LIMIT_GLOBAL_BURST`).
    pub global_burst: u32,
    /// The most clients whose buckets are kept (`RATE_LIMIT_MAX_CLIENTS`);
    /// beyond it the least recently seen client is forgotten.
    pub max_clients: usize,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            enabled: false,
            per_client_rate: 10.0,
            per_client_burst: 50,
            global_rate: 0.0,
            global_burst: 1000,
            max_clients: 100_000,
        }
    }
}

/// Settings that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateLimitError {
    /// A rate below zero, or not a number.
    #[error("rate_limit.{0} must be a number of operations per second, 0 or more")]
    Rate(&'static str),
    /// A bucket of size 0 for a rate above 0.
    #[error("rate_limit.{0} must be at least 1")]
    Burst(&'static str),
    /// No room for any client.
    #[error("rate_limit.max_clients must be at least 1")]
    MaxClients,
    /// A batch could be larger than a client's bucket.
    #[error(
        "batching.max_operations ({batch}) is larger than rate_limit.{which} ({burst}): such a \
         batch could never run; lower the one or raise the other"
    )]
    BatchLargerThanBurst {
        /// Which burst setting.
        which: &'static str,
        /// `batching.max_operations`.
        batch: usize,
        /// `rate_limit.per_client_burst`.
        burst: u32,
    },
}

/// Who a per-client bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A verified token's `sub`.
    Subject(Box<str>),
    /// An IPv4 client address.
    V4(Ipv4Addr),
    /// An IPv6 client's /64 network (its top 64 bits).
    V6(u64),
    /// No address could be told (not served from a socket): all share one.
    Unknown,
}

impl ClientKey {
    /// The caller's `sub` when a verified token names one, else `address`.
    pub fn of(identity: Option<&Identity>, address: Option<IpAddr>) -> Self {
        match identity
            .and_then(|i| i.claims.get("sub"))
            .and_then(Value::as_str)
        {
            Some(sub) if !sub.is_empty() => ClientKey::Subject(sub.into()),
            _ => ClientKey::address(address),
        }
    }

    /// The key of a client address.
    pub fn address(address: Option<IpAddr>) -> Self {
        match address.map(|a| a.to_canonical()) {
            Some(IpAddr::V4(v4)) => ClientKey::V4(v4),
            Some(IpAddr::V6(v6)) => {
                let network = u128::from(v6) >> 64;
                ClientKey::V6(u64::try_from(network).unwrap_or(u64::MAX))
            }
            None => ClientKey::Unknown,
        }
    }
}

/// A request refused by a rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateLimited {
    /// This client's bucket is empty.
    #[error("too many requests from this client; retry in {} s", retry_seconds(*retry_after))]
    Client {
        /// How long until the bucket holds enough again.
        retry_after: Duration,
    },
    /// The router's bucket is empty.
    #[error("the router is handling too many requests; retry in {} s", retry_seconds(*retry_after))]
    Global {
        /// How long until the bucket holds enough again.
        retry_after: Duration,
    },
}

impl RateLimited {
    /// `Retry-After`: the wait in whole seconds, rounded up, at least 1.
    pub fn retry_after_seconds(&self) -> u64 {
        match self {
            RateLimited::Client { retry_after } | RateLimited::Global { retry_after } => {
                retry_seconds(*retry_after)
            }
        }
    }

    /// The `limit` label of the rejection metric.
    pub fn limit(&self) -> &'static str {
        match self {
            RateLimited::Client { .. } => "client",
            RateLimited::Global { .. } => "global",
        }
    }
}

fn retry_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

impl StageError for RateLimited {
    fn code(&self) -> &'static str {
        codes::TOO_MANY_REQUESTS
    }

    fn status(&self) -> u16 {
        429
    }

    fn always_status(&self) -> bool {
        true
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        let mut error = GraphqlError::new(self.to_string(), self.code());
        error
            .extensions
            .insert("retryAfter".into(), self.retry_after_seconds().into());
        vec![error]
    }
}

/// A rate and a bucket size.
#[derive(Debug, Clone, Copy)]
struct Limit {
    rate: f64,
    burst: f64,
}

impl Limit {
    fn new(
        rate: f64,
        burst: u32,
        names: (&'static str, &'static str),
    ) -> Result<Option<Self>, RateLimitError> {
        if !rate.is_finite() || rate < 0.0 {
            return Err(RateLimitError::Rate(names.0));
        }
        if rate == 0.0 {
            return Ok(None);
        }
        if burst == 0 {
            return Err(RateLimitError::Burst(names.1));
        }
        Ok(Some(Limit {
            rate,
            burst: f64::from(burst),
        }))
    }
}

/// One token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(limit: Limit, now: Instant) -> Self {
        Bucket {
            tokens: limit.burst,
            at: now,
        }
    }

    /// The bucket as it is at `now`.
    fn refilled(self, limit: Limit, now: Instant) -> Self {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        Bucket {
            tokens: (self.tokens + elapsed * limit.rate).min(limit.burst),
            at: now.max(self.at),
        }
    }

    /// `Err(wait)` when `cost` tokens are not there yet.
    fn check(&self, limit: Limit, cost: f64) -> Result<(), Duration> {
        if self.tokens >= cost {
            return Ok(());
        }
        let wait = (cost - self.tokens) / limit.rate;
        Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX))
    }
}

struct Global {
    limit: Limit,
    bucket: Mutex<Bucket>,
}

struct PerClient {
    limit: Limit,
    shards: Box<[Mutex<LruCache<ClientKey, Bucket>>]>,
    hasher: RandomState,
}

/// The router's buckets. Off (every check passes) when the settings say so.
pub struct RateLimiter {
    per_client: Option<PerClient>,
    global: Option<Global>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("tracked", &self.tracked())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain numbers behind, still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RateLimiter {
    /// The buckets `settings` describe, for batches of at most
    /// `max_batch` operations (0 when batching is off).
    pub fn new(settings: &RateLimitSettings, max_batch: usize) -> Result<Self, RateLimitError> {
        if !settings.enabled {
            return Ok(RateLimiter {
                per_client: None,
                global: None,
            });
        }
        let client = Limit::new(
            settings.per_client_rate,
            settings.per_client_burst,
            ("per_client_rate", "per_client_burst"),
        )?;
        let global = Limit::new(
            settings.global_rate,
            settings.global_burst,
            ("global_rate", "global_burst"),
        )?;
        let bursts = [
            (client, "per_client_burst", settings.per_client_burst),
            (global, "global_burst", settings.global_burst),
        ];
        for (limit, which, burst) in bursts {
            if limit.is_some() && max_batch > burst as usize {
                return Err(RateLimitError::BatchLargerThanBurst {
                    which,
                    batch: max_batch,
                    burst,
                });
            }
        }
        if settings.max_clients == 0 {
            return Err(RateLimitError::MaxClients);
        }
        let per_shard = NonZeroUsize::new(settings.max_clients.div_ceil(SHARDS).max(1))
            .unwrap_or(NonZeroUsize::MIN);
        let now = Instant::now();
        Ok(RateLimiter {
            per_client: client.map(|limit| PerClient {
                limit,
                shards: (0..SHARDS)
                    .map(|_| Mutex::new(LruCache::new(per_shard)))
                    .collect(),
                hasher: RandomState::new(),
            }),
            global: global.map(|limit| Global {
                limit,
                bucket: Mutex::new(Bucket::full(limit, now)),
            }),
        })
    }

    /// Whether any limit applies.
    pub fn is_enabled(&self) -> bool {
        self.per_client.is_some() || self.global.is_some()
    }

    /// Takes `operations` tokens from `client`'s bucket and the global one,
    /// or none when either lacks them.
    pub fn check(&self, client: &ClientKey, operations: usize) -> Result<(), RateLimited> {
        self.check_at(client, operations, Instant::now())
    }

    /// [`RateLimiter::check`] at `now`.
    pub fn check_at(
        &self,
        client: &ClientKey,
        operations: usize,
        now: Instant,
    ) -> Result<(), RateLimited> {
        let cost = operations as f64;
        let mut shard = self.per_client.as_ref().map(|per_client| {
            let index = (per_client.hasher.hash_one(client) as usize) % per_client.shards.len();
            (per_client.limit, lock(&per_client.shards[index]))
        });
        let client_bucket = match &mut shard {
            Some((limit, table)) => {
                let bucket = table
                    .get(client)
                    .map_or(Bucket::full(*limit, now), |b| b.refilled(*limit, now));
                bucket
                    .check(*limit, cost)
                    .map_err(|retry_after| RateLimited::Client { retry_after })?;
                Some(bucket)
            }
            None => None,
        };
        if let Some(global) = &self.global {
            let mut bucket = lock(&global.bucket);
            let refilled = bucket.refilled(global.limit, now);
            refilled
                .check(global.limit, cost)
                .map_err(|retry_after| RateLimited::Global { retry_after })?;
            *bucket = Bucket {
                tokens: refilled.tokens - cost,
                at: refilled.at,
            };
        }
        if let (Some((limit, table)), Some(bucket)) = (&mut shard, client_bucket) {
            drop_idle(table, *limit, now);
            table.put(
                client.clone(),
                Bucket {
                    tokens: bucket.tokens - cost,
                    at: bucket.at,
                },
            );
        }
        Ok(())
    }

    /// How many clients have a bucket (for tests and the metrics).
    pub fn tracked(&self) -> usize {
        self.per_client.as_ref().map_or(0, |per_client| {
            per_client
                .shards
                .iter()
                .map(|shard| lock(shard).len())
                .sum()
        })
    }
}

/// Drops up to [`IDLE_DROPS_PER_CHECK`] least recently seen buckets of
/// `table` that have refilled (the same as no bucket).
fn drop_idle(table: &mut LruCache<ClientKey, Bucket>, limit: Limit, now: Instant) {
    for _ in 0..IDLE_DROPS_PER_CHECK {
        match table.peek_lru() {
            Some((_, bucket)) if bucket.refilled(limit, now).tokens >= limit.burst => {
                table.pop_lru();
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests;
