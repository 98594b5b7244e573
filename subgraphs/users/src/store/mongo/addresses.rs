//! Address books in MongoDB: collection `address_books`, one document per
//! user (`_id` = the user id). The first write inserts the document (a
//! concurrent first write loses on the duplicate `_id`); later writes replace
//! it with a filter on the version they read, so only one of two concurrent
//! writers matches. Single-document operations only: no transactions.

use async_trait::async_trait;
use mongodb::bson::doc;

use super::{MongoUserRepository, from_mongo};
use crate::addresses::AddressBook;
use crate::store::{AddressBookRecord, AddressRepository, RepoResult};
use storefront_shared::store::is_duplicate_key;

/// The collection that holds the address books.
pub const ADDRESS_BOOKS: &str = "address_books";

#[async_trait]
impl AddressRepository for MongoUserRepository {
    async fn address_book(&self, user_id: &str) -> RepoResult<AddressBook> {
        match self
            .address_books
            .find_one(doc! { "_id": user_id })
            .await
            .map_err(from_mongo)?
        {
            Some(record) => AddressBook::try_from(record),
            None => Ok(AddressBook::empty(user_id)),
        }
    }

    async fn save_address_book(&self, book: &AddressBook) -> RepoResult<bool> {
        let record = AddressBookRecord::next(book)?;
        if book.version == 0 {
            return match self.address_books.insert_one(&record).await {
                Ok(_) => Ok(true),
                Err(error) if is_duplicate_key(&error) => Ok(false),
                Err(error) => Err(from_mongo(error)),
            };
        }
        let expected = record.version - 1;
        let replaced = self
            .address_books
            .replace_one(
                doc! { "_id": record.user_id.as_str(), "version": expected },
                &record,
            )
            .await
            .map_err(from_mongo)?;
        Ok(replaced.matched_count == 1)
    }
}
