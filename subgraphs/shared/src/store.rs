//! The two kinds of store: MongoDB (official driver) and the embedded on-disk
//! store (`redb`) used when no `MONGODB_URI` is set.
//!
//! Opening them ([`connect_mongo`], [`open_embedded`]) and what every
//! repository built on them needs: MongoDB error classes ([`is_duplicate_key`],
//! [`is_unavailable`]) and 0/1 [`flag`]s; the [`Embedded`] handle that runs
//! redb work on the blocking pool, with [`embedded_store_errors!`](crate::embedded_store_errors)
//! for the error conversions that work needs; and [`repo_error!`](crate::repo_error),
//! the error type of a repository with the failures every store shares and
//! their one mapping to the client's codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::doc;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
/// The embedded database crate, re-exported for [`embedded_store_errors!`](crate::embedded_store_errors).
pub use redb;

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

/// The server's code for a write that would break a unique index (`_id` included).
pub const DUPLICATE_KEY: i32 = 11000;

/// Whether `error` is a duplicate-key failure (code 11000) of a write, a
/// command or an `insert_many`.
pub fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(e) => e
            .write_errors
            .iter()
            .flatten()
            .any(|e| e.code == DUPLICATE_KEY),
        _ => false,
    }
}

/// Whether `error` means the server cannot be reached right now (no server
/// selected, I/O failure, connection pool cleared) rather than a failed operation.
pub fn is_unavailable(error: &mongodb::error::Error) -> bool {
    matches!(
        error.kind.as_ref(),
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
    )
}

/// A boolean kept as the integer 0 or 1 (`#[serde(with = "flag")]`): the CI's
/// MongoDB-compatible server turns a `$set` boolean into an integer, so the
/// stored type must not matter.
pub mod flag {
    use serde::{Deserialize, Deserializer, Serializer};

    /// The stored form of `value`: 0 or 1.
    pub fn stored(value: bool) -> i32 {
        i32::from(value)
    }

    /// Writes 0 or 1.
    pub fn serialize<S: Serializer>(value: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(stored(*value))
    }

    /// Reads a boolean or an integer (non-zero is true).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Bool(bool),
            Int(i64),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Bool(value) => value,
            Stored::Int(value) => value != 0,
        })
    }
}

/// An open embedded database, shared by a repository's clones. redb is
/// blocking, so work runs on tokio's blocking pool.
#[derive(Clone)]
pub struct Embedded {
    db: Arc<redb::Database>,
}

impl Embedded {
    /// Wraps `db` (see [`open_embedded`]).
    pub fn new(db: redb::Database) -> Self {
        Embedded { db: Arc::new(db) }
    }

    /// Runs `work` on the blocking pool; a task that panicked or was cancelled
    /// becomes an `E` (see [`embedded_store_errors!`](crate::embedded_store_errors)).
    pub async fn blocking<T, E>(
        &self,
        work: impl FnOnce(&redb::Database) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<tokio::task::JoinError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db)).await?
    }
}

/// `From` conversions into a store's error type `$error` for every redb error
/// and for a failed blocking task, each wrapped by `$wrap` (redb errors as
/// `redb::Error`), so `?` works inside [`Embedded::blocking`] work. Used as
/// `storefront_shared::embedded_store_errors!(RepoError, RepoError::backend);`
/// (the caller depends on `tokio`).
#[macro_export]
macro_rules! embedded_store_errors {
    ($error:ty, $wrap:path) => {
        impl From<$crate::store::redb::Error> for $error {
            fn from(error: $crate::store::redb::Error) -> Self {
                $wrap(error)
            }
        }
        impl From<::tokio::task::JoinError> for $error {
            fn from(error: ::tokio::task::JoinError) -> Self {
                $wrap(error)
            }
        }
        $crate::embedded_store_errors!(@redb $error, $wrap,
            $crate::store::redb::TransactionError,
            $crate::store::redb::TableError,
            $crate::store::redb::StorageError,
            $crate::store::redb::CommitError
        );
    };
    (@redb $error:ty, $wrap:path, $($from:ty),*) => {$(
        impl From<$from> for $error {
            fn from(error: $from) -> Self {
                $wrap($crate::store::redb::Error::from(error))
            }
        }
    )*};
}

/// A repository's error type: the variants every store shares — the store is
/// unreachable (`Unavailable`), it failed (`Backend`, with
/// `RepoError::backend` to wrap any error), a record does not read back
/// (`Corrupt`) — after the repository's own unit variants, and the one
/// mapping of them to the client's [`ApiError`](crate::ApiError): each own
/// variant as given, `Unavailable` as SERVICE_UNAVAILABLE ("the `<store>`
/// store is unavailable; `<retry>`", the reason logged), anything else as an
/// internal error (logged in full, masked for the client). The caller
/// depends on `thiserror` and `tracing`.
///
/// ```ignore
/// storefront_shared::repo_error! {
///     /// What a store can fail with.
///     pub enum RepoError in "order" store, retry "try again shortly" {
///         /// An order with this id exists already.
///         #[error("an order with this id already exists")]
///         Conflict => ApiError::internal("an order with this id already exists"),
///     }
/// }
/// ```
#[macro_export]
macro_rules! repo_error {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $store:literal store, retry $retry:literal {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident => $api:expr,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, ::thiserror::Error)]
        $vis enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )*
            /// The store cannot be reached right now.
            #[error("the {} store is unavailable: {}", $store, .0)]
            Unavailable(String),
            /// Anything else the store reported.
            #[error("the {} store failed: {}", $store, .0)]
            Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
            /// A stored record cannot be read back.
            #[error("a stored {} record is invalid: {}", $store, .0)]
            Corrupt(String),
        }

        impl $name {
            /// Wraps any store error.
            pub fn backend(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
                $name::Backend(error.into())
            }
        }

        impl From<$name> for $crate::ApiError {
            fn from(error: $name) -> Self {
                match error {
                    $($name::$variant => $api,)*
                    $name::Unavailable(reason) => {
                        ::tracing::warn!(%reason, concat!($store, " store unavailable"));
                        $crate::ApiError::ServiceUnavailable(
                            concat!("the ", $store, " store is unavailable; ", $retry).into(),
                        )
                    }
                    other => $crate::ApiError::internal(other),
                }
            }
        }
    };
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

    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Flagged {
        #[serde(with = "flag")]
        on: bool,
    }

    #[test]
    fn a_flag_is_stored_as_an_integer_and_read_from_either_form() {
        let stored = serde_json::to_value(Flagged { on: true }).expect("serialises");
        assert_eq!(stored, serde_json::json!({ "on": 1 }));
        for (text, expected) in [
            (r#"{"on":true}"#, true),
            (r#"{"on":false}"#, false),
            (r#"{"on":1}"#, true),
            (r#"{"on":0}"#, false),
        ] {
            let read: Flagged = serde_json::from_str(text).expect("reads");
            assert_eq!(read.on, expected, "{text}");
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("store failed: {0}")]
    struct Failed(Box<dyn std::error::Error + Send + Sync>);

    impl Failed {
        fn wrap(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
            Failed(error.into())
        }
    }

    crate::embedded_store_errors!(Failed, Failed::wrap);

    #[tokio::test]
    async fn embedded_work_runs_with_redb_errors_converted() {
        const TABLE: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("t");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Embedded::new(open_embedded(dir.path()).expect("opens"));
        store
            .blocking(|db| -> Result<(), Failed> {
                let txn = db.begin_write()?;
                txn.open_table(TABLE)?.insert("a", 1)?;
                txn.commit()?;
                Ok(())
            })
            .await
            .expect("writes");
        let read = store
            .blocking(|db| -> Result<Option<u64>, Failed> {
                use redb::ReadableDatabase;
                let txn = db.begin_read()?;
                Ok(txn.open_table(TABLE)?.get("a")?.map(|v| v.value()))
            })
            .await
            .expect("reads");
        assert_eq!(read, Some(1));
        let panicked = store
            .blocking(|_| -> Result<(), Failed> { panic!("boom") })
            .await
            .expect_err("a panic is an error");
        assert!(
            panicked.to_string().starts_with("store failed:"),
            "{panicked}"
        );
    }

    crate::repo_error! {
        /// A demo repository's errors.
        enum DemoError in "demo" store, retry "try again shortly" {
            /// A duplicate.
            #[error("the demo exists already")]
            Taken => crate::ApiError::Conflict("taken".into()),
        }
    }

    #[test]
    fn repository_errors_map_to_the_clients_codes_in_one_way() {
        let code = |error: DemoError| crate::ApiError::from(error).code();
        assert_eq!(code(DemoError::Taken), "CONFLICT");
        let unavailable = crate::ApiError::from(DemoError::Unavailable("timeout".into()));
        assert_eq!(unavailable.code(), "SERVICE_UNAVAILABLE");
        assert_eq!(
            unavailable.message(),
            "the demo store is unavailable; try again shortly"
        );
        assert_eq!(code(DemoError::backend("disk")), "INTERNAL_SERVER_ERROR");
        assert_eq!(
            code(DemoError::Corrupt("x".into())),
            "INTERNAL_SERVER_ERROR"
        );
        assert_eq!(
            DemoError::Corrupt("bad id".into()).to_string(),
            "a stored demo record is invalid: bad id"
        );
    }
}
