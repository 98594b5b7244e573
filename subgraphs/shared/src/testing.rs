//! Helpers for the subgraphs' tests (feature `testing`).
//!
//! MongoDB-backed tests read `STOREFRONT_TEST_MONGODB_URI` (CI starts a
//! MongoDB-compatible server and sets it). Each call returns a fresh database
//! with a unique name, so tests never share data. Without the variable the
//! MongoDB half of a test is skipped with a message on stderr, except under
//! `CI`, where a missing server is a failure.

use crate::settings::Secret;
use crate::store::connect_mongo;

/// The environment variable naming the MongoDB server for tests.
pub const TEST_MONGODB_URI: &str = "STOREFRONT_TEST_MONGODB_URI";

/// A fresh, uniquely named database on the test server, or `None` (skip) locally without one.
///
/// # Panics
/// When `CI` is set and no server is configured or it cannot be reached: CI must
/// run the MongoDB half of every conformance suite.
#[allow(clippy::panic)]
pub async fn mongo_database(prefix: &str) -> Option<mongodb::Database> {
    let Ok(uri) = std::env::var(TEST_MONGODB_URI) else {
        if std::env::var_os("CI").is_some() {
            panic!("{TEST_MONGODB_URI} is not set, but CI must run the MongoDB tests");
        }
        eprintln!("skipping the MongoDB half of this test: set {TEST_MONGODB_URI} (see README)");
        return None;
    };
    let name = format!("{prefix}_{}", uuid_like_suffix());
    match connect_mongo(&Secret::new(uri), &name).await {
        Ok(db) => Some(db),
        Err(error) => panic!("{TEST_MONGODB_URI} is set but unusable: {error}"),
    }
}

fn uuid_like_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
