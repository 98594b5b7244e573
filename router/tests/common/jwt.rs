//! Test tokens: keys generated per test (Ed25519, P-256, RSA), their JWKs,
//! signed tokens, and a JWKS server on port 0 that counts its fetches.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A private key, its algorithm and its public JWK.
#[derive(Clone)]
pub struct Signer {
    /// The signing key.
    pub key: EncodingKey,
    /// The algorithm it signs with.
    pub alg: Algorithm,
    /// The public key as a JWK (with `kid`).
    pub jwk: Value,
    /// The key id.
    pub kid: String,
}

impl Signer {
    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519(kid: &str) -> Self {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().unwrap();
        Signer {
            key: EncodingKey::from_ed_der(der.as_bytes()),
            alg: Algorithm::EdDSA,
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid,
                "x": b64(&signing.verifying_key().to_bytes()),
            }),
            kid: kid.into(),
        }
    }

    /// A fresh P-256 key (ES256).
    pub fn es256(kid: &str) -> Self {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let point = secret.public_key().to_encoded_point(false);
        Signer {
            key: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            alg: Algorithm::ES256,
            jwk: json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
            }),
            kid: kid.into(),
        }
    }

    /// A fresh 2048-bit RSA key (RS256).
    pub fn rs256(kid: &str) -> Self {
        use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = private.to_pkcs1_pem(LineEnding::LF).unwrap();
        Signer {
            key: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            alg: Algorithm::RS256,
            jwk: json!({
                "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                "n": b64(&private.n().to_bytes_be()), "e": b64(&private.e().to_bytes_be()),
            }),
            kid: kid.into(),
        }
    }

    /// `claims` signed with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// `claims` signed with this key, `kid` in the header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims valid for ten minutes from the Storefront's issuer for its audience.
pub fn claims(sub: &str, extra: Value) -> Value {
    let mut claims = json!({
        "sub": sub, "iss": "storefront-users", "aud": "storefront",
        "iat": now(), "exp": now() + 600,
    });
    if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        claims.extend(extra);
    }
    claims
}

/// A JWKS document of `signers`' public keys.
pub fn jwks(signers: &[&Signer]) -> Value {
    json!({ "keys": signers.iter().map(|s| s.jwk.clone()).collect::<Vec<_>>() })
}

/// A JWKS endpoint on port 0 serving a document that tests may replace, and
/// counting its fetches.
pub struct JwksServer {
    /// The JWKS URL.
    pub url: String,
    fetches: Arc<AtomicUsize>,
    document: Arc<Mutex<Value>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl JwksServer {
    /// Serves `document` at `/.well-known/jwks.json`.
    pub async fn start(document: Value) -> Self {
        Self::start_on(0, document).await
    }

    /// As [`JwksServer::start`], on `port` of 127.0.0.1.
    pub async fn start_on(port: u16, document: Value) -> Self {
        let fetches = Arc::new(AtomicUsize::new(0));
        let document = Arc::new(Mutex::new(document));
        let (counter, served) = (fetches.clone(), document.clone());
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().clone();
                async move { axum::Json(body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        JwksServer {
            url,
            fetches,
            document,
            task,
        }
    }

    /// How many times the JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Serves `document` from now on.
    pub fn replace(&self, document: Value) {
        *self.document.lock().unwrap() = document;
    }
}
