//! The MongoDB store: collections `users` and `address_books` (see
//! [`addresses`]) in the service's database.
//!
//! `_id` is the user id string (never an ObjectId), timestamps are integer
//! milliseconds, and a unique index on `email` (created at start) makes a
//! duplicate registration fail with error 11000, which becomes
//! [`RepoError::Conflict`]. Updates are single-document and atomic; nothing
//! here needs transactions, `$lookup` or Decimal128.

mod addresses;

pub use addresses::ADDRESS_BOOKS;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::error::Error as MongoError;
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use storefront_shared::auth::Role;
use storefront_shared::store::{is_duplicate_key, is_unavailable};

use super::{AddressBookRecord, RepoError, RepoResult, UserRecord, UserRepository};
use crate::domain::{DisplayName, Email, PasswordHash, User};

/// The collection that holds the accounts.
pub const COLLECTION: &str = "users";

/// Accounts in MongoDB.
#[derive(Clone)]
pub struct MongoUserRepository {
    db: Database,
    users: Collection<UserRecord>,
    address_books: Collection<AddressBookRecord>,
}

impl MongoUserRepository {
    /// Uses the `users` collection of `db`, creating the unique email index.
    pub async fn new(db: Database) -> RepoResult<Self> {
        let users = db.collection::<UserRecord>(COLLECTION);
        let index = IndexModel::builder()
            .keys(doc! { "email": 1 })
            .options(
                IndexOptions::builder()
                    .unique(true)
                    .name("email_unique".to_owned())
                    .build(),
            )
            .build();
        users.create_index(index).await.map_err(from_mongo)?;
        let address_books = db.collection::<AddressBookRecord>(ADDRESS_BOOKS);
        Ok(MongoUserRepository {
            db,
            users,
            address_books,
        })
    }

    async fn update_one_returning(
        &self,
        filter: Document,
        update: Document,
    ) -> RepoResult<Option<User>> {
        self.users
            .find_one_and_update(filter, update)
            .return_document(ReturnDocument::After)
            .await
            .map_err(from_mongo)?
            .map(User::try_from)
            .transpose()
    }
}

fn from_mongo(error: MongoError) -> RepoError {
    if is_unavailable(&error) {
        RepoError::Unavailable(error.to_string())
    } else {
        RepoError::backend(error)
    }
}

#[async_trait]
impl UserRepository for MongoUserRepository {
    async fn insert(&self, user: &User) -> RepoResult<()> {
        match self.users.insert_one(UserRecord::from(user)).await {
            Ok(_) => Ok(()),
            Err(error) if is_duplicate_key(&error) => Err(RepoError::Conflict),
            Err(error) => Err(from_mongo(error)),
        }
    }

    async fn find_by_id(&self, id: &str) -> RepoResult<Option<User>> {
        self.users
            .find_one(doc! { "_id": id })
            .await
            .map_err(from_mongo)?
            .map(User::try_from)
            .transpose()
    }

    async fn find_by_ids(&self, ids: &[String]) -> RepoResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let records: Vec<UserRecord> = self
            .users
            .find(doc! { "_id": { "$in": ids } })
            .await
            .map_err(from_mongo)?
            .try_collect()
            .await
            .map_err(from_mongo)?;
        records.into_iter().map(User::try_from).collect()
    }

    async fn find_by_email(&self, email: &Email) -> RepoResult<Option<User>> {
        self.users
            .find_one(doc! { "email": email.as_str() })
            .await
            .map_err(from_mongo)?
            .map(User::try_from)
            .transpose()
    }

    async fn update_name(&self, id: &str, name: &DisplayName) -> RepoResult<Option<User>> {
        self.update_one_returning(
            doc! { "_id": id },
            doc! { "$set": { "name": name.as_str() } },
        )
        .await
    }

    async fn update_password(
        &self,
        id: &str,
        hash: &PasswordHash,
        expected_version: u32,
    ) -> RepoResult<Option<User>> {
        self.update_one_returning(
            doc! { "_id": id, "token_version": i64::from(expected_version) },
            doc! {
                "$set": { "password_hash": hash.as_str() },
                "$inc": { "token_version": 1_i64 },
            },
        )
        .await
    }

    async fn revoke_tokens(&self, id: &str, expected_version: u32) -> RepoResult<Option<User>> {
        self.update_one_returning(
            doc! { "_id": id, "token_version": i64::from(expected_version) },
            doc! { "$inc": { "token_version": 1_i64 } },
        )
        .await
    }

    async fn set_role(&self, id: &str, role: Role) -> RepoResult<Option<User>> {
        let role = mongodb::bson::to_bson(&role).map_err(RepoError::backend)?;
        self.update_one_returning(doc! { "_id": id }, doc! { "$set": { "role": role } })
            .await
    }

    async fn ping(&self) -> RepoResult<()> {
        storefront_shared::store::ping(&self.db)
            .await
            .map_err(from_mongo)
    }
}
