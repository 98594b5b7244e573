//! Helpers shared by the inventory's integration tests.
#![allow(dead_code, unused_imports)]

use std::sync::Arc;

use storefront_inventory::domain::NewProduct;
use storefront_inventory::store::InventoryStore;
use storefront_inventory::store::embedded::EmbeddedStore;
use storefront_inventory::store::mongo::MongoStore;
use storefront_shared::auth::{Authenticator, Role};
use tempfile::TempDir;

/// The service credential the test apps accept.
pub use storefront_shared::testing::SERVICE_TOKEN;

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

/// Signs tokens for one user per role (`user-Admin`, `user-Customer`), with a
/// key the test apps trust.
pub struct TokenSigner(storefront_shared::testing::TokenSigner);

impl TokenSigner {
    /// A fresh key pair: the signer and an authenticator that trusts it.
    pub fn new() -> (TokenSigner, Authenticator) {
        let signer = storefront_shared::testing::TokenSigner::new();
        let authenticator = signer.authenticator();
        (TokenSigner(signer), authenticator)
    }

    /// A current token for a user with `role`.
    pub fn token(&self, role: Role) -> String {
        self.0.token(&format!("user-{role:?}"), role)
    }
}
