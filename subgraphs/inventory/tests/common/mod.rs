//! Helpers shared by the inventory's integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use storefront_inventory::domain::NewProduct;
use storefront_inventory::store::InventoryStore;
use storefront_inventory::store::embedded::EmbeddedStore;
use storefront_inventory::store::mongo::MongoStore;
use storefront_shared::auth::{AUDIENCE, Authenticator, Claims, ISSUER, KeySet, Role};
use storefront_shared::settings::Secret;
use tempfile::TempDir;

/// The service credential the test apps accept.
pub const SERVICE_TOKEN: &str = "test-service-token";

/// An embedded store in a fresh temporary directory (kept alive by the returned guard).
pub async fn embedded_store() -> (TempDir, Arc<EmbeddedStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_embedded_in(&dir).await;
    (dir, store)
}

/// Opens the embedded store under `dir/inventory`.
pub async fn open_embedded_in(dir: &TempDir) -> Arc<EmbeddedStore> {
    let db = storefront_shared::store::open_embedded(&dir.path().join("inventory"))
        .expect("opens the embedded store");
    Arc::new(
        EmbeddedStore::new(db)
            .await
            .expect("prepares the embedded store"),
    )
}

/// A MongoDB store on a fresh database, or `None` when no test server is configured.
pub async fn mongo_store() -> Option<(mongodb::Database, Arc<MongoStore>)> {
    let db = storefront_shared::testing::mongo_database("inventory").await?;
    let store = MongoStore::new(db.clone())
        .await
        .expect("prepares the MongoDB store");
    Some((db, Arc::new(store)))
}

/// A valid product.
pub fn product(sku: &str, name: &str, price: i64, stock: i64) -> NewProduct {
    NewProduct::parse(sku, name, &format!("About {name}."), price, "USD", stock)
        .expect("valid test product")
}

/// Adds products to a store.
pub async fn add(store: &dyn InventoryStore, products: &[(&str, &str, i64, i64)]) {
    for (sku, name, price, stock) in products {
        store
            .insert(product(sku, name, *price, *stock))
            .await
            .expect("inserts the test product");
    }
}

/// Signs user tokens the way the users service does, with a key the test apps trust.
pub struct TokenSigner {
    key: EncodingKey,
}

impl TokenSigner {
    const KID: &'static str = "test-key";

    /// A fresh Ed25519 key pair: the signer and an authenticator that trusts it.
    pub fn new() -> (TokenSigner, Authenticator) {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().expect("encodes the private key");
        let mut keys = KeySet::default();
        keys.insert(
            Self::KID,
            DecodingKey::from_ed_der(&signing.verifying_key().to_bytes()),
        );
        let authenticator = Authenticator::new(Arc::new(keys), Secret::new(SERVICE_TOKEN));
        (
            TokenSigner {
                key: EncodingKey::from_ed_der(der.as_bytes()),
            },
            authenticator,
        )
    }

    /// A current token for a user with `role`.
    pub fn token(&self, role: Role) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: format!("user-{role:?}"),
            role,
            iat: now,
            exp: now + 600,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: uuid::Uuid::new_v4().to_string(),
            ver: 0,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(Self::KID.into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("signs the token")
    }
}
