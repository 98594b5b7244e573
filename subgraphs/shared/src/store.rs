//! Opening the two kinds of store: MongoDB (official driver) and the embedded
//! on-disk store (`redb`) used when no `MONGODB_URI` is set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mongodb::bson::doc;
use mongodb::options::ClientOptions;

use crate::settings::Secret;

/// A store could not be opened; the message says what to check.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `MONGODB_URI` is not a valid connection string.
    #[error("MONGODB_URI is not a valid MongoDB connection string: {0}")]
    BadUri(String),
    /// The server did not answer.
    #[error("cannot reach MongoDB (check MONGODB_URI and that the server is up): {0}")]
    Unreachable(String),
    /// The data directory cannot be created or written.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The embedded database file cannot be opened.
    #[error("cannot open the embedded store {path}: {reason}")]
    Embedded {
        /// The database file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Connects to MongoDB and checks that the server answers, within a few seconds.
pub async fn connect_mongo(uri: &Secret, database: &str) -> Result<mongodb::Database, StoreError> {
    let mut options = ClientOptions::parse(uri.expose())
        .await
        .map_err(|e| StoreError::BadUri(e.kind.to_string()))?;
    if options.server_selection_timeout.is_none() {
        options.server_selection_timeout = Some(Duration::from_secs(5));
    }
    if options.connect_timeout.is_none() {
        options.connect_timeout = Some(Duration::from_secs(5));
    }
    if options.app_name.is_none() {
        options.app_name = Some(format!("storefront-{database}"));
    }
    let client = mongodb::Client::with_options(options)
        .map_err(|e| StoreError::BadUri(e.kind.to_string()))?;
    let db = client.database(database);
    ping(&db)
        .await
        .map_err(|e| StoreError::Unreachable(e.kind.to_string()))?;
    Ok(db)
}

/// Asks the server to answer; used by `/ready`.
pub async fn ping(db: &mongodb::Database) -> mongodb::error::Result<()> {
    db.run_command(doc! { "ping": 1 }).await.map(|_| ())
}

/// Opens (or creates) the embedded store file `store.redb` in `dir`.
pub fn open_embedded(dir: &Path) -> Result<redb::Database, StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join("store.redb");
    redb::Database::create(&path).map_err(|e| {
        let reason = match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                "it is already open in another process (is this service running twice with the same DATA_DIR?)".to_string()
            }
            other => other.to_string(),
        };
        StoreError::Embedded { path, reason }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_store_is_created_under_the_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let service_dir = dir.path().join("users");
        let db = open_embedded(&service_dir).expect("opens");
        drop(db);
        assert!(service_dir.join("store.redb").is_file());
    }

    #[tokio::test]
    async fn a_bad_uri_is_reported_as_such() {
        let error = connect_mongo(&Secret::new("postgres://nope"), "users")
            .await
            .expect_err("not a mongodb uri");
        assert!(matches!(error, StoreError::BadUri(_)), "{error}");
    }
}
