//! Revoked tokens: a token whose `ver` is older than its user's current token
//! generation is refused by every service, not only by the users service.
//!
//! The users service bumps a user's token generation on `changePassword` and
//! `logoutEverywhere`, and publishes the current one at
//! `GET /.well-known/token-versions/<userId>` (beside its JWKS, for callers
//! with the service credential only). The other services ask for it through
//! [`HttpTokenVersions`] and keep the answer per user in a
//! [`CachedRevocation`]:
//!
//! - **Bound.** While the users service answers, a revoked token is refused
//!   everywhere at most `TOKEN_VERSION_CACHE_TTL` (default 5 s) after the
//!   change, because no cached generation is trusted for longer.
//! - **Users down (availability over a hard stop, but bounded).** When the
//!   generation cannot be fetched, the last one learnt is still used while it
//!   is younger than `TOKEN_VERSION_GRACE` (default 5 min); older, or never
//!   learnt, the token is refused with SERVICE_UNAVAILABLE (fail closed). So
//!   during an outage of the users service a revocation takes effect at most
//!   the grace after the last successful check. A failed fetch is not retried
//!   for [`FAILURE_BACKOFF`], so an unreachable users service does not cost
//!   every request a connection attempt.
//! - **Monotone.** Generations only grow, so a token older than the cached
//!   generation is refused at once (no fetch), and a token newer than it
//!   raises the cached generation (a newer token proves the change).
//!
//! # Layout
//! - [`RevocationCheck`]: what the [`super::Authenticator`] asks after a
//!   token's signature and expiry check out.
//! - [`TokenVersions`]: where current generations come from;
//!   [`HttpTokenVersions`] asks the users service over HTTP.
//! - [`CachedRevocation`]: the per-user cache with the bounds above.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Claims, SERVICE_TOKEN_HEADER, TokenError};
use crate::settings::Secret;

/// Where the users service publishes a user's token generation: this path,
/// then `/<userId>` (percent-encoded), at the origin of `USERS_URL`.
pub const TOKEN_VERSIONS_PATH: &str = "/.well-known/token-versions";
/// How long after a failed fetch the users service is not asked again for
/// the same user.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(1);
/// Users whose generation is cached at most; above it, entries older than the
/// grace are dropped (and, should that not be enough, all of them).
pub const MAX_CACHED_USERS: usize = 100_000;

/// The body of `GET /.well-known/token-versions/<userId>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenVersion {
    /// The user.
    pub user_id: String,
    /// The user's current token generation: tokens with a lower `ver` are revoked.
    pub token_version: u32,
}

/// Decides whether a genuine, unexpired token has been revoked since.
#[async_trait]
pub trait RevocationCheck: Send + Sync + 'static {
    /// `Ok` when the token is of its user's current generation;
    /// [`TokenError::Revoked`] when it is older (or the account is gone);
    /// [`TokenError::RevocationUnknown`] when that cannot be told right now.
    async fn check(&self, claims: &Claims) -> Result<(), TokenError>;
}

/// A source of users' current token generations.
#[async_trait]
pub trait TokenVersions: Send + Sync + 'static {
    /// The user's current generation; `None` when there is no such account.
    async fn current_version(&self, user_id: &str) -> Result<Option<u32>, String>;
}

/// Asks the users service (`GET /.well-known/token-versions/<userId>` with the
/// service credential).
pub struct HttpTokenVersions {
    base: reqwest::Url,
    http: reqwest::Client,
    service_token: Secret,
}

impl HttpTokenVersions {
    /// A source for the users service at `users_graphql_url`.
    pub fn for_users_url(users_graphql_url: &str, service_token: Secret) -> Result<Self, String> {
        let url = reqwest::Url::parse(users_graphql_url)
            .map_err(|e| format!("USERS_URL `{users_graphql_url}` is not a URL: {e}"))?;
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(format!("USERS_URL `{users_graphql_url}` has no host"));
        }
        let base = url
            .join(&format!("{TOKEN_VERSIONS_PATH}/"))
            .map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpTokenVersions {
            base,
            http,
            service_token,
        })
    }

    fn url_for(&self, user_id: &str) -> Result<reqwest::Url, String> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| "the users URL cannot have a path".to_owned())?
            .pop_if_empty()
            .push(user_id);
        Ok(url)
    }
}

#[async_trait]
impl TokenVersions for HttpTokenVersions {
    async fn current_version(&self, user_id: &str) -> Result<Option<u32>, String> {
        let response = self
            .http
            .get(self.url_for(user_id)?)
            .header(SERVICE_TOKEN_HEADER, self.service_token.expose())
            .send()
            .await
            .map_err(|e| format!("users service token versions: {e}"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body: TokenVersion = response
            .error_for_status()
            .map_err(|e| format!("users service token versions: {e}"))?
            .json()
            .await
            .map_err(|e| format!("users service token versions: {e}"))?;
        Ok(Some(body.token_version))
    }
}

/// What is known of one user's generation.
#[derive(Debug, Clone, Copy, Default)]
struct Known {
    /// The generation (a lower bound of the current one), and when it was
    /// last confirmed by the source; `None` before any answer.
    confirmed: Option<(Option<u32>, Instant)>,
    /// When the last fetch failed, if it did after the last confirmation.
    failed_at: Option<Instant>,
}

/// Per-user cached generations from a [`TokenVersions`] source, with the
/// bounds of the module doc. One fetch per user at a time: requests for the
/// same user wait for the fetch in flight.
pub struct CachedRevocation {
    source: Arc<dyn TokenVersions>,
    ttl: Duration,
    grace: Duration,
    users: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Known>>>>,
}

impl CachedRevocation {
    /// Trusts a fetched generation for `ttl`, and for `grace` when the
    /// source cannot be reached.
    pub fn new(source: Arc<dyn TokenVersions>, ttl: Duration, grace: Duration) -> Self {
        CachedRevocation {
            source,
            ttl,
            grace: grace.max(ttl),
            users: Mutex::new(HashMap::new()),
        }
    }

    fn users(&self) -> MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<Known>>>> {
        match self.users.lock() {
            Ok(users) => users,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn slot(&self, user_id: &str) -> Arc<tokio::sync::Mutex<Known>> {
        let mut users = self.users();
        if let Some(slot) = users.get(user_id) {
            return Arc::clone(slot);
        }
        if users.len() >= MAX_CACHED_USERS {
            let grace = self.grace;
            users.retain(|_, slot| match slot.try_lock() {
                Ok(known) => known.confirmed.is_some_and(|(_, at)| at.elapsed() < grace),
                Err(_) => true,
            });
            if users.len() >= MAX_CACHED_USERS {
                users.clear();
            }
        }
        let slot = Arc::new(tokio::sync::Mutex::new(Known::default()));
        users.insert(user_id.to_owned(), Arc::clone(&slot));
        slot
    }
}

/// The verdict on a token of generation `ver` when the current one is (at
/// least) `known`.
fn judge(known: Option<u32>, ver: u32) -> Result<(), TokenError> {
    match known {
        None => Err(TokenError::Revoked),
        Some(current) if ver < current => Err(TokenError::Revoked),
        Some(_) => Ok(()),
    }
}

#[async_trait]
impl RevocationCheck for CachedRevocation {
    async fn check(&self, claims: &Claims) -> Result<(), TokenError> {
        let slot = self.slot(&claims.sub);
        let mut known = slot.lock().await;
        if let Some((version, at)) = known.confirmed {
            // Generations only grow: older than a known one is final.
            if version.is_some_and(|current| claims.ver < current) {
                return Err(TokenError::Revoked);
            }
            if at.elapsed() < self.ttl {
                if let Some(current) = version {
                    // A newer token proves the generation moved on.
                    known.confirmed = Some((Some(current.max(claims.ver)), at));
                }
                return judge(version, claims.ver);
            }
        }
        let recently_failed = known
            .failed_at
            .is_some_and(|at| at.elapsed() < FAILURE_BACKOFF);
        let fetched = if recently_failed {
            Err("the users service did not answer a moment ago".to_owned())
        } else {
            self.source.current_version(&claims.sub).await
        };
        match fetched {
            Ok(version) => {
                *known = Known {
                    confirmed: Some((version, Instant::now())),
                    failed_at: None,
                };
                judge(version, claims.ver)
            }
            Err(reason) => {
                if !recently_failed {
                    known.failed_at = Some(Instant::now());
                    tracing::warn!(%reason, "cannot check whether a token was revoked");
                }
                match known.confirmed {
                    Some((version, at)) if at.elapsed() < self.grace => judge(version, claims.ver),
                    _ => Err(TokenError::RevocationUnknown(reason)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AUDIENCE, ISSUER, Role};
    use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

    /// A source whose generation and availability the test sets.
    #[derive(Default)]
    struct FakeVersions {
        version: AtomicU32,
        down: AtomicBool,
        fetches: AtomicUsize,
    }

    #[async_trait]
    impl TokenVersions for FakeVersions {
        async fn current_version(&self, user_id: &str) -> Result<Option<u32>, String> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err("down".into());
            }
            Ok((user_id == "u1").then(|| self.version.load(Ordering::SeqCst)))
        }
    }

    fn claims(sub: &str, ver: u32) -> Claims {
        Claims {
            sub: sub.into(),
            role: Role::Customer,
            iat: 0,
            exp: 0,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: "j".into(),
            ver,
        }
    }

    fn cache(source: &Arc<FakeVersions>, ttl: u64, grace: u64) -> CachedRevocation {
        CachedRevocation::new(
            Arc::clone(source) as Arc<dyn TokenVersions>,
            Duration::from_secs(ttl),
            Duration::from_secs(grace),
        )
    }

    #[tokio::test]
    async fn a_token_older_than_the_current_generation_is_revoked() {
        let source = Arc::new(FakeVersions::default());
        source.version.store(2, Ordering::SeqCst);
        let revocation = cache(&source, 5, 300);
        assert_eq!(revocation.check(&claims("u1", 2)).await, Ok(()));
        assert_eq!(
            revocation.check(&claims("u1", 1)).await,
            Err(TokenError::Revoked)
        );
        assert_eq!(
            revocation.check(&claims("nobody", 0)).await,
            Err(TokenError::Revoked),
            "the account is gone"
        );
    }

    #[tokio::test]
    async fn a_fresh_entry_answers_without_asking_and_a_stale_one_asks_again() {
        let source = Arc::new(FakeVersions::default());
        let revocation = cache(&source, 0, 300);
        assert_eq!(revocation.check(&claims("u1", 0)).await, Ok(()));
        source.version.store(1, Ordering::SeqCst);
        // A zero TTL: every check asks, so the bump is seen at once.
        assert_eq!(
            revocation.check(&claims("u1", 0)).await,
            Err(TokenError::Revoked)
        );
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);

        let cached = cache(&source, 60, 300);
        assert_eq!(cached.check(&claims("u1", 1)).await, Ok(()));
        assert_eq!(cached.check(&claims("u1", 1)).await, Ok(()));
        assert_eq!(source.fetches.load(Ordering::SeqCst), 3, "one more fetch");
    }

    #[tokio::test]
    async fn a_newer_token_raises_the_cached_generation() {
        let source = Arc::new(FakeVersions::default());
        let revocation = cache(&source, 60, 300);
        assert_eq!(revocation.check(&claims("u1", 0)).await, Ok(()));
        // The password changed; the new token arrives before the entry expires.
        assert_eq!(revocation.check(&claims("u1", 1)).await, Ok(()));
        assert_eq!(
            revocation.check(&claims("u1", 0)).await,
            Err(TokenError::Revoked)
        );
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn with_the_source_down_a_known_generation_holds_for_the_grace_only() {
        let source = Arc::new(FakeVersions::default());
        source.down.store(true, Ordering::SeqCst);
        let never_learnt = cache(&source, 0, 300);
        assert!(matches!(
            never_learnt.check(&claims("u1", 0)).await,
            Err(TokenError::RevocationUnknown(_))
        ));

        let revocation = cache(&source, 0, 300);
        source.down.store(false, Ordering::SeqCst);
        assert_eq!(revocation.check(&claims("u1", 0)).await, Ok(()));
        source.down.store(true, Ordering::SeqCst);
        assert_eq!(
            revocation.check(&claims("u1", 0)).await,
            Ok(()),
            "within the grace"
        );

        let no_grace = cache(&source, 0, 0);
        source.down.store(false, Ordering::SeqCst);
        assert_eq!(no_grace.check(&claims("u1", 0)).await, Ok(()));
        source.down.store(true, Ordering::SeqCst);
        assert!(matches!(
            no_grace.check(&claims("u1", 0)).await,
            Err(TokenError::RevocationUnknown(_))
        ));
    }

    #[tokio::test]
    async fn a_failed_fetch_is_not_repeated_at_once() {
        let source = Arc::new(FakeVersions::default());
        source.down.store(true, Ordering::SeqCst);
        let revocation = cache(&source, 0, 300);
        for _ in 0..5 {
            assert!(revocation.check(&claims("u1", 0)).await.is_err());
        }
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_url_names_the_user_at_the_users_origin() {
        let source =
            HttpTokenVersions::for_users_url("http://users:4001/graphql", Secret::new("s"))
                .expect("valid");
        assert_eq!(
            source.url_for("a/b c").expect("url").as_str(),
            "http://users:4001/.well-known/token-versions/a%2Fb%20c"
        );
        assert!(HttpTokenVersions::for_users_url("nope", Secret::new("s")).is_err());
    }
}
