//! Where accounts live: one [`UserRepository`] trait, two stores.
//!
//! - [`mongo::MongoUserRepository`]: MongoDB, database `users`, collections
//!   `users` and `address_books`.
//! - [`embedded::EmbeddedUserRepository`]: `redb` at `DATA_DIR/users/store.redb`,
//!   for runs without `MONGODB_URI`.
//!
//! Each store implements [`UserRepository`] (accounts) and
//! [`AddressRepository`] (saved addresses: one versioned book per user,
//! written whole with a version check). Both pass the same conformance suite
//! (`tests/conformance.rs`, `tests/address_store.rs`).

pub mod embedded;
pub mod mongo;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use storefront_shared::ApiError;
use storefront_shared::auth::Role;

use crate::addresses::{AddressBook, SavedAddress};
use crate::domain::{DisplayName, Email, PasswordHash, User};

pub use embedded::EmbeddedUserRepository;
pub use mongo::MongoUserRepository;

storefront_shared::repo_error! {
    /// What a store can fail with (with the failures every store shares:
    /// `Unavailable`, `Backend`, `Corrupt`).
    pub enum RepoError in "user" store, retry "try again shortly" {
        /// An account with this email already exists.
        #[error("an account with this email already exists")]
        Conflict => ApiError::Conflict("an account with this email already exists".into()),
    }
}

/// Shorthand for store results.
pub type RepoResult<T> = Result<T, RepoError>;

/// Accounts, by id and by email, and (as an [`AddressRepository`]) their
/// saved addresses.
#[async_trait]
pub trait UserRepository: AddressRepository + Send + Sync {
    /// Stores a new account; [`RepoError::Conflict`] when its email is taken.
    async fn insert(&self, user: &User) -> RepoResult<()>;

    /// The account with this id.
    async fn find_by_id(&self, id: &str) -> RepoResult<Option<User>>;

    /// The accounts with these ids, in one store query; missing ids are left out
    /// and the order is unspecified.
    async fn find_by_ids(&self, ids: &[String]) -> RepoResult<Vec<User>>;

    /// The account with this (normalised) email.
    async fn find_by_email(&self, email: &Email) -> RepoResult<Option<User>>;

    /// Sets the display name; the updated account, or `None` if there is no such id.
    async fn update_name(&self, id: &str, name: &DisplayName) -> RepoResult<Option<User>>;

    /// Sets the password hash and bumps the token generation, in one atomic step,
    /// only while the generation is still `expected_version`. The updated account,
    /// or `None` when there is no such id or the generation has moved on.
    async fn update_password(
        &self,
        id: &str,
        hash: &PasswordHash,
        expected_version: u32,
    ) -> RepoResult<Option<User>>;

    /// Bumps the token generation (every token issued before is revoked),
    /// only while it is still `expected_version`. The updated account, or
    /// `None` when there is no such id or the generation has moved on.
    async fn revoke_tokens(&self, id: &str, expected_version: u32) -> RepoResult<Option<User>>;

    /// Sets the role; the updated account, or `None` if there is no such id.
    async fn set_role(&self, id: &str, role: Role) -> RepoResult<Option<User>>;

    /// Whether the store answers (for `/ready`).
    async fn ping(&self) -> RepoResult<()>;
}

/// A shared repository handle.
pub type SharedRepository = Arc<dyn UserRepository>;

/// Users' saved addresses: one [`AddressBook`] per user, read whole and
/// written whole only if nobody wrote it in between.
#[async_trait]
pub trait AddressRepository: Send + Sync {
    /// The address book of `user_id`; an empty one (version 0) if it has
    /// never been written.
    async fn address_book(&self, user_id: &str) -> RepoResult<AddressBook>;

    /// Writes `book` as version `book.version + 1`, only if the stored
    /// version is still `book.version` (0: no book stored yet). `false`,
    /// changing nothing, when another write came first.
    async fn save_address_book(&self, book: &AddressBook) -> RepoResult<bool>;
}

/// An address book as both stores keep it: `_id` is the user id, the version
/// an integer, timestamps integer milliseconds, and no booleans (the
/// default is named by `default_id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AddressBookRecord {
    #[serde(rename = "_id")]
    pub user_id: String,
    pub version: i64,
    pub default_id: Option<String>,
    pub addresses: Vec<SavedAddress>,
}

impl AddressBookRecord {
    /// `book` as it is stored once written: at the next version.
    pub fn next(book: &AddressBook) -> RepoResult<Self> {
        let version = i64::try_from(book.version)
            .ok()
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| RepoError::backend("address book version overflow"))?;
        Ok(AddressBookRecord {
            user_id: book.user_id.clone(),
            version,
            default_id: book.default_id.clone(),
            addresses: book.addresses.clone(),
        })
    }
}

impl TryFrom<AddressBookRecord> for AddressBook {
    type Error = RepoError;

    fn try_from(record: AddressBookRecord) -> Result<Self, Self::Error> {
        let version = u64::try_from(record.version).map_err(|_| {
            RepoError::Corrupt(format!("address book {}: bad version", record.user_id))
        })?;
        Ok(AddressBook {
            user_id: record.user_id,
            version,
            default_id: record.default_id,
            addresses: record.addresses,
        })
    }
}

/// An account as both stores keep it: ids are strings, timestamps integer
/// milliseconds (the CI's MongoDB-compatible server mangles `$set` dates).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    #[serde(rename = "_id")]
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub token_version: i64,
    pub created_at_ms: i64,
}

impl From<&User> for UserRecord {
    fn from(user: &User) -> Self {
        UserRecord {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            role: user.role,
            password_hash: user.password_hash.as_str().to_owned(),
            token_version: i64::from(user.token_version),
            created_at_ms: user.created_at.timestamp_millis(),
        }
    }
}

impl TryFrom<UserRecord> for User {
    type Error = RepoError;

    fn try_from(record: UserRecord) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| RepoError::Corrupt(format!("user {}: {what}", record.id));
        let email = Email::parse(&record.email).map_err(|e| corrupt(&e.to_string()))?;
        let token_version =
            u32::try_from(record.token_version).map_err(|_| corrupt("bad token_version"))?;
        let created_at = DateTime::from_timestamp_millis(record.created_at_ms)
            .ok_or_else(|| corrupt("bad created_at_ms"))?;
        Ok(User {
            id: record.id,
            email,
            name: record.name,
            role: record.role,
            password_hash: PasswordHash::new(record.password_hash),
            token_version,
            created_at,
        })
    }
}
