//! Verification keys: from JWKS URLs (cached, fetched again on a schedule and
//! when a token names an unknown key id, never more often than the minimum
//! refetch interval per URL) and from JWKS files read at start.
//!
//! # Layout
//! - [`Key`]: one usable public key, its id and the algorithms it may verify.
//! - [`KeyStore`]: every source's keys; [`KeyStore::refresh_for`] is the one
//!   rate-limited fetch path.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// How soon a JWKS URL whose last fetch failed may be fetched again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Why the keys could not be loaded at start.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// A key file could not be read or is not a JWKS.
    #[error("JWT key file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client for JWKS fetches could not be built.
    #[error("the JWKS HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A JWKS URL is not an http(s) URL.
    #[error("JWKS URL `{0}` is not an http(s) URL")]
    Url(String),
}

/// One verification key.
#[derive(Clone)]
pub struct Key {
    /// Its `kid`, if the JWK has one.
    pub kid: Option<String>,
    /// The algorithms it may verify: the JWK's `alg`, or its family's.
    pub algorithms: Vec<Algorithm>,
    /// The key itself.
    pub key: DecodingKey,
}

impl Key {
    /// A key from a JWK; `None` for symmetric (`oct`) keys, encryption keys
    /// and keys this library cannot use.
    fn from_jwk(jwk: &Jwk) -> Option<Key> {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return None;
        }
        let key = DecodingKey::from_jwk(jwk).ok()?;
        let family = key.family();
        if family == jsonwebtoken::AlgorithmFamily::Hmac {
            // Never HMAC: a published key is public, so anyone could sign.
            return None;
        }
        let algorithms = match jwk.common.key_algorithm.and_then(algorithm_of) {
            Some(alg) if family.algorithms().contains(&alg) => vec![alg],
            Some(_) => return None,
            None if jwk.common.key_algorithm.is_some() => return None,
            None => family.algorithms().to_vec(),
        };
        Some(Key {
            kid: jwk.common.key_id.clone(),
            algorithms,
            key,
        })
    }
}

/// The signing algorithm a JWK's `alg` names, if it is one.
fn algorithm_of(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The usable keys of a JWKS.
pub fn keys_of(jwks: &JwkSet) -> Vec<Key> {
    jwks.keys.iter().filter_map(Key::from_jwk).collect()
}

/// One JWKS URL and what was last fetched from it.
struct Remote {
    url: String,
    keys: RwLock<Arc<Vec<Key>>>,
    /// When it was last fetched (or tried) and whether that brought keys.
    /// Held across a fetch, so callers that need the same fetch wait for
    /// the one in flight.
    last_fetch: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

/// Every key the router verifies tokens with.
pub struct KeyStore {
    remotes: Vec<Remote>,
    files: Vec<Key>,
    http: reqwest::Client,
    min_refetch: Duration,
}

impl KeyStore {
    /// A store of the keys in `files` (read now) and of `urls` (fetched
    /// later, with `timeout` per fetch, at most once per `min_refetch`).
    pub fn new(
        urls: &[String],
        files: &[std::path::PathBuf],
        timeout: Duration,
        min_refetch: Duration,
    ) -> Result<Self, KeysError> {
        let mut file_keys = Vec::new();
        for path in files {
            let error = |reason: String| KeysError::File {
                path: path.display().to_string(),
                reason,
            };
            let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
            let jwks: JwkSet =
                serde_json::from_str(&text).map_err(|e| error(format!("not a JWKS: {e}")))?;
            let keys = keys_of(&jwks);
            if keys.is_empty() {
                return Err(error("no usable public signing key".into()));
            }
            file_keys.extend(keys);
        }
        for url in urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(KeysError::Url(url.clone()));
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout)
            .build()?;
        Ok(KeyStore {
            remotes: urls
                .iter()
                .map(|url| Remote {
                    url: url.clone(),
                    keys: RwLock::new(Arc::new(Vec::new())),
                    last_fetch: tokio::sync::Mutex::new(None),
                })
                .collect(),
            files: file_keys,
            http,
            min_refetch,
        })
    }

    /// Every key known now, files first.
    pub fn current(&self) -> Vec<Key> {
        let mut keys = self.files.clone();
        for remote in &self.remotes {
            keys.extend(remote.current().iter().cloned());
        }
        keys
    }

    /// Whether a key with this id is known.
    fn knows(&self, kid: &str) -> bool {
        self.files.iter().any(|k| k.kid.as_deref() == Some(kid))
            || self
                .remotes
                .iter()
                .any(|r| r.current().iter().any(|k| k.kid.as_deref() == Some(kid)))
    }

    /// Fetches the JWKS URLs so that `kid` (if any) may become known: not
    /// when it is known already (perhaps by a fetch this caller waited for),
    /// and each URL at most once per minimum refetch interval.
    pub async fn refresh_for(&self, kid: Option<&str>) {
        for remote in &self.remotes {
            let mut last = remote.last_fetch.lock().await;
            if kid.is_some_and(|kid| self.knows(kid)) {
                return;
            }
            if !self.may_fetch(*last, self.min_refetch) {
                continue;
            }
            let fetched = remote.fetch(&self.http).await;
            *last = Some((Instant::now(), fetched));
        }
    }

    /// Whether a URL last fetched at `last` may be fetched again, `wait`
    /// after a fetch that brought keys; after a failed one (the host was not
    /// up yet, say) already after [`RETRY_AFTER_FAILURE`] (or `wait`, if
    /// shorter), so a freshly started router soon learns its keys and a
    /// host that is down still sees at most one fetch a second.
    fn may_fetch(&self, last: Option<(Instant, bool)>, wait: Duration) -> bool {
        match last {
            None => true,
            Some((at, true)) => at.elapsed() >= wait,
            Some((at, false)) => at.elapsed() >= wait.min(RETRY_AFTER_FAILURE),
        }
    }

    /// Fetches every JWKS URL whose keys are older than `age` (and were not
    /// fetched within the minimum refetch interval): the scheduled refresh.
    pub async fn refresh_older_than(&self, age: Duration) {
        for remote in &self.remotes {
            let mut last = remote.last_fetch.lock().await;
            if !self.may_fetch(*last, age.max(self.min_refetch)) {
                continue;
            }
            let fetched = remote.fetch(&self.http).await;
            *last = Some((Instant::now(), fetched));
        }
    }

    /// Whether keys come from any URL (so a refresher is worth running).
    pub fn has_remotes(&self) -> bool {
        !self.remotes.is_empty()
    }
}

impl Remote {
    fn current(&self) -> Arc<Vec<Key>> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// One fetch; on failure the keys fetched before stay in use. Whether
    /// it brought a JWKS.
    async fn fetch(&self, http: &reqwest::Client) -> bool {
        let fetched = async {
            http.get(&self.url)
                .send()
                .await?
                .error_for_status()?
                .json::<JwkSet>()
                .await
        }
        .await;
        match fetched {
            Ok(jwks) => {
                let fresh = Arc::new(keys_of(&jwks));
                tracing::debug!(url = %self.url, keys = fresh.len(), "fetched JWKS");
                match self.keys.write() {
                    Ok(mut keys) => *keys = fresh,
                    Err(poisoned) => *poisoned.into_inner() = fresh,
                }
                true
            }
            Err(error) => {
                tracing::warn!(url = %self.url, %error, "could not fetch a JWKS; keeping the keys fetched before");
                false
            }
        }
    }
}
