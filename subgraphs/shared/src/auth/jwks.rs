//! The users service's public keys, fetched from its JWKS at the origin of
//! `USERS_URL`, cached, and fetched again (at most once per
//! [`JWKS_REFRESH_INTERVAL`]) when a token names an unknown key id.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;

use super::{Claims, JWKS_REFRESH_INTERVAL, KeySet, TokenError, TokenVerifier};

/// Verifies tokens with the keys the users service publishes as a JWKS.
pub struct JwksVerifier {
    url: String,
    http: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// When the JWKS was last fetched. Held across a fetch, so requests that
    /// meet the same unknown key id wait for the fetch in flight.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksVerifier {
    /// A verifier for the users service at `users_graphql_url` (its JWKS is at that origin).
    pub fn for_users_url(users_graphql_url: &str) -> Result<Self, String> {
        let url = jwks_url(users_graphql_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(JwksVerifier {
            url,
            http,
            keys: RwLock::new(Arc::new(KeySet::default())),
            last_fetch: tokio::sync::Mutex::new(None),
        })
    }

    fn current(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Fetches the JWKS so that `kid` may become known: not at all when a fetch
    /// this caller waited for already brought it, and at most once per
    /// [`JWKS_REFRESH_INTERVAL`] otherwise (unknown key ids cannot make this
    /// service hammer the users service).
    async fn refresh_for(&self, kid: &str) -> Result<(), TokenError> {
        let mut last = self.last_fetch.lock().await;
        if self.current().contains(kid) {
            return Ok(());
        }
        if last.is_some_and(|at| at.elapsed() < JWKS_REFRESH_INTERVAL) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let jwks: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| TokenError::KeysUnavailable(format!("users service JWKS: {e}")))?
            .json()
            .await
            .map_err(|e| TokenError::KeysUnavailable(format!("users service JWKS: {e}")))?;
        let fresh = Arc::new(KeySet::from_jwks(&jwks));
        tracing::debug!(url = %self.url, keys = fresh.keys.len(), "fetched JWKS");
        match self.keys.write() {
            Ok(mut keys) => *keys = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }
}

#[async_trait]
impl TokenVerifier for JwksVerifier {
    async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match self.current().check(token) {
            Ok(claims) => return Ok(claims),
            Err(Some(error)) => return Err(error),
            Err(None) => {}
        }
        // `check` found a well-formed header naming a key id that is not cached.
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.unwrap_or_default();
        if let Err(error) = self.refresh_for(&kid).await {
            tracing::warn!(%error, "could not fetch the users service's JWKS");
            return Err(error);
        }
        self.current()
            .check(token)
            .map_err(|e| e.unwrap_or(TokenError::BadSignature))
    }
}

/// `http://host:port/anything` → `http://host:port/.well-known/jwks.json`.
pub fn jwks_url(users_graphql_url: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(users_graphql_url)
        .map_err(|e| format!("USERS_URL `{users_graphql_url}` is not a URL: {e}"))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(format!("USERS_URL `{users_graphql_url}` has no host"));
    }
    url.join("/.well-known/jwks.json")
        .map(String::from)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tests::{claims, keypair, sign};
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::EncodingKey;

    /// Serves `jwks` after a delay and counts the fetches.
    async fn slow_jwks_server(
        jwks: serde_json::Value,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fetches);
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let counter = Arc::clone(&counter);
                let jwks = jwks.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    axum::Json(jwks)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/graphql"), fetches)
    }

    #[tokio::test]
    async fn requests_arriving_during_the_first_jwks_fetch_wait_for_it() {
        use base64::Engine as _;
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().expect("encodes");
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(signing.verifying_key().to_bytes());
        let jwks = serde_json::json!({ "keys": [{
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "k1", "x": x
        }] });
        let (users_url, fetches) = slow_jwks_server(jwks).await;
        let verifier = Arc::new(JwksVerifier::for_users_url(&users_url).expect("verifier"));
        let token = sign(
            &EncodingKey::from_ed_der(der.as_bytes()),
            "k1",
            &claims(600),
        );

        let checks: Vec<_> = (0..20)
            .map(|_| {
                let verifier = Arc::clone(&verifier);
                let token = token.clone();
                tokio::spawn(async move { verifier.verify(&token).await })
            })
            .collect();
        for check in checks {
            assert_eq!(check.await.expect("task").expect("verified").sub, "u1");
        }
        assert_eq!(
            fetches.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "one JWKS fetch"
        );

        // An unknown key id right after: at most one more fetch, and rejected.
        let (forger, _) = keypair();
        let forged = sign(&forger, "k2", &claims(600));
        assert_eq!(
            verifier.verify(&forged).await,
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verifier.verify(&forged).await,
            Err(TokenError::BadSignature)
        );
        assert!(
            fetches.load(std::sync::atomic::Ordering::SeqCst) <= 2,
            "rate-limited"
        );
    }

    #[test]
    fn jwks_url_is_at_the_users_origin() {
        assert_eq!(
            jwks_url("http://users:4001/graphql").expect("valid"),
            "http://users:4001/.well-known/jwks.json"
        );
        assert!(jwks_url("not a url").is_err());
    }
}
