//! Address books in the embedded store: table `address_books` (user id →
//! JSON record). The version check and the write are one write transaction,
//! and redb runs one writer at a time, so two writers of one book cannot
//! both succeed.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::EmbeddedUserRepository;
use crate::addresses::AddressBook;
use crate::store::{AddressBookRecord, AddressRepository, RepoError, RepoResult};

pub(super) const ADDRESS_BOOKS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("address_books");

fn read(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    user_id: &str,
) -> RepoResult<Option<AddressBookRecord>> {
    let Some(bytes) = table.get(user_id)? else {
        return Ok(None);
    };
    serde_json::from_slice(bytes.value())
        .map(Some)
        .map_err(|e| RepoError::Corrupt(format!("address book {user_id}: {e}")))
}

#[async_trait]
impl AddressRepository for EmbeddedUserRepository {
    async fn address_book(&self, user_id: &str) -> RepoResult<AddressBook> {
        let user_id = user_id.to_owned();
        self.db
            .blocking(move |db| {
                let txn = db.begin_read()?;
                match read(&txn.open_table(ADDRESS_BOOKS)?, &user_id)? {
                    Some(record) => AddressBook::try_from(record),
                    None => Ok(AddressBook::empty(&user_id)),
                }
            })
            .await
    }

    async fn save_address_book(&self, book: &AddressBook) -> RepoResult<bool> {
        let record = AddressBookRecord::next(book)?;
        let expected = book.version;
        self.db
            .blocking(move |db| {
                let txn = db.begin_write()?;
                {
                    let mut books = txn.open_table(ADDRESS_BOOKS)?;
                    let stored = read(&books, &record.user_id)?
                        .map_or(Ok(0), |current| u64::try_from(current.version))
                        .map_err(|_| RepoError::Corrupt("address book: bad version".into()))?;
                    if stored != expected {
                        return Ok(false);
                    }
                    let bytes = serde_json::to_vec(&record).map_err(RepoError::backend)?;
                    books.insert(record.user_id.as_str(), bytes.as_slice())?;
                }
                txn.commit()?;
                Ok(true)
            })
            .await
    }
}
