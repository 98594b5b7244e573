//! The embedded store: `redb` at `DATA_DIR/users/store.redb`.
//!
//! Tables: `users` (id → JSON record), `users_by_email` (email → id), and
//! `address_books` (user id → JSON record, see [`addresses`]).
//! Every mutation is one write transaction, and redb runs one writer at a
//! time, so the email check and the insert cannot interleave. redb is
//! blocking, so every call runs in `spawn_blocking`.

mod addresses;

use std::path::Path;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use storefront_shared::auth::Role;
use storefront_shared::store::Embedded;

use super::{RepoError, RepoResult, UserRecord, UserRepository};
use crate::domain::{DisplayName, Email, PasswordHash, User};

const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const USERS_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");

storefront_shared::embedded_store_errors!(RepoError, RepoError::backend);

/// Accounts in an embedded `redb` database.
#[derive(Clone)]
pub struct EmbeddedUserRepository {
    db: Embedded,
}

impl EmbeddedUserRepository {
    /// Uses `db` (see `storefront_shared::store::open_embedded`), creating the tables.
    pub fn new(db: Database) -> RepoResult<Self> {
        let txn = db.begin_write()?;
        txn.open_table(USERS)?;
        txn.open_table(USERS_BY_EMAIL)?;
        txn.open_table(addresses::ADDRESS_BOOKS)?;
        txn.commit()?;
        Ok(EmbeddedUserRepository {
            db: Embedded::new(db),
        })
    }

    /// Opens (or creates) `dir/store.redb`.
    pub fn open(dir: &Path) -> RepoResult<Self> {
        let db = storefront_shared::store::open_embedded(dir).map_err(RepoError::backend)?;
        Self::new(db)
    }

    /// Reads, changes and writes back one account in a single write transaction.
    async fn modify(
        &self,
        id: &str,
        change: impl FnOnce(&mut UserRecord) -> bool + Send + 'static,
    ) -> RepoResult<Option<User>> {
        let id = id.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                let updated = {
                    let mut users = txn.open_table(USERS)?;
                    let Some(mut record) = read(&users, &id)? else {
                        return Ok(None);
                    };
                    if !change(&mut record) {
                        return Ok(None);
                    }
                    users.insert(id.as_str(), encode(&record)?.as_slice())?;
                    record
                };
                txn.commit()?;
                User::try_from(updated).map(Some)
            })
            .await
    }
}

fn encode(record: &UserRecord) -> RepoResult<Vec<u8>> {
    serde_json::to_vec(record).map_err(RepoError::backend)
}

fn read(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> RepoResult<Option<UserRecord>> {
    let Some(bytes) = table.get(id)? else {
        return Ok(None);
    };
    serde_json::from_slice(bytes.value())
        .map(Some)
        .map_err(|e| RepoError::Corrupt(format!("user {id}: {e}")))
}

fn read_user(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> RepoResult<Option<User>> {
    read(table, id)?.map(User::try_from).transpose()
}

#[async_trait]
impl UserRepository for EmbeddedUserRepository {
    async fn insert(&self, user: &User) -> RepoResult<()> {
        let record = UserRecord::from(user);
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut by_email = txn.open_table(USERS_BY_EMAIL)?;
                    if by_email.get(record.email.as_str())?.is_some() {
                        return Err(RepoError::Conflict);
                    }
                    let mut users = txn.open_table(USERS)?;
                    if users.get(record.id.as_str())?.is_some() {
                        return Err(RepoError::backend(format!(
                            "user id {} is already taken",
                            record.id
                        )));
                    }
                    users.insert(record.id.as_str(), encode(&record)?.as_slice())?;
                    by_email.insert(record.email.as_str(), record.id.as_str())?;
                }
                txn.commit()?;
                Ok(())
            })
            .await
    }

    async fn find_by_id(&self, id: &str) -> RepoResult<Option<User>> {
        let id = id.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                read_user(&txn.open_table(USERS)?, &id)
            })
            .await
    }

    async fn find_by_ids(&self, ids: &[String]) -> RepoResult<Vec<User>> {
        let ids = ids.to_vec();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let users = txn.open_table(USERS)?;
                let mut found = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(user) = read_user(&users, id)? {
                        found.push(user);
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn find_by_email(&self, email: &Email) -> RepoResult<Option<User>> {
        let email = email.as_str().to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                let by_email = txn.open_table(USERS_BY_EMAIL)?;
                let Some(id) = by_email.get(email.as_str())? else {
                    return Ok(None);
                };
                read_user(&txn.open_table(USERS)?, id.value())
            })
            .await
    }

    async fn update_name(&self, id: &str, name: &DisplayName) -> RepoResult<Option<User>> {
        let name = name.as_str().to_owned();
        self.modify(id, move |record| {
            record.name = name;
            true
        })
        .await
    }

    async fn update_password(
        &self,
        id: &str,
        hash: &PasswordHash,
        expected_version: u32,
    ) -> RepoResult<Option<User>> {
        let hash = hash.as_str().to_owned();
        self.modify(id, move |record| {
            if record.token_version != i64::from(expected_version) {
                return false;
            }
            record.password_hash = hash;
            record.token_version += 1;
            true
        })
        .await
    }

    async fn revoke_tokens(&self, id: &str, expected_version: u32) -> RepoResult<Option<User>> {
        self.modify(id, move |record| {
            if record.token_version != i64::from(expected_version) {
                return false;
            }
            record.token_version += 1;
            true
        })
        .await
    }

    async fn set_role(&self, id: &str, role: Role) -> RepoResult<Option<User>> {
        self.modify(id, move |record| {
            record.role = role;
            true
        })
        .await
    }

    async fn ping(&self) -> RepoResult<()> {
        self.db
            .blocking(|db| {
                let txn = db.begin_read()?;
                txn.open_table(USERS)?;
                Ok(())
            })
            .await
    }
}
