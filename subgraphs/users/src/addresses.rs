//! A user's saved addresses: add, update, delete, choose the default, and the
//! lookup the orders service makes at checkout.
//!
//! A user's addresses are one [`AddressBook`], read and written whole by the
//! store with a version check (compare and swap): every change reads the
//! book, applies itself, and writes it back only if nobody wrote in between,
//! else tries again. So every rule below holds under concurrent requests on
//! both stores, without transactions:
//! - at most [`MAX_ADDRESSES_PER_USER`] addresses (BAD_USER_INPUT beyond);
//! - exactly one default while there is any address: the first address
//!   becomes the default, `makeDefault`/`setDefaultAddress` move it, and
//!   deleting the default promotes the newest remaining address (a checkout
//!   page always has one to preselect, as Shopify's customer addresses do);
//! - an address is its owner's only: another user's address id is NOT_FOUND,
//!   exactly like an id that never existed, so ids reveal nothing.
//!
//! # Layout
//! - [`AddressBook`], [`SavedAddress`]: the domain, with its pure rules.
//! - [`Addresses`]: the operations over the store, returning `ApiResult`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use storefront_shared::address::{AddressInput, PostalAddress};
use storefront_shared::{ApiError, ApiResult};

use crate::domain::now_millis;
use crate::store::AddressRepository;

/// The most addresses one user may save.
pub const MAX_ADDRESSES_PER_USER: usize = 50;
/// How often one change is tried against concurrent writers before CONFLICT.
pub const MAX_ATTEMPTS: usize = 100;

/// One saved address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAddress {
    /// A UUID (v7) string.
    pub id: String,
    /// The validated address.
    pub address: PostalAddress,
    /// When it was added, in milliseconds since the epoch.
    pub created_at_ms: i64,
}

/// A user's addresses, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressBook {
    /// The owner.
    pub user_id: String,
    /// How many times the book was written; 0 for a book never written.
    pub version: u64,
    /// The id of the default address; `None` only when there is no address.
    pub default_id: Option<String>,
    /// The addresses, oldest first.
    pub addresses: Vec<SavedAddress>,
}

impl AddressBook {
    /// An empty book of `user_id`, never written.
    pub fn empty(user_id: &str) -> Self {
        AddressBook {
            user_id: user_id.to_owned(),
            ..AddressBook::default()
        }
    }

    /// The address `id`, if this book has it.
    pub fn get(&self, id: &str) -> Option<&SavedAddress> {
        self.addresses.iter().find(|saved| saved.id == id)
    }

    /// Whether `id` is the default address.
    pub fn is_default(&self, id: &str) -> bool {
        self.default_id.as_deref() == Some(id)
    }

    /// The addresses as a client lists them: the default first, then the
    /// newest first.
    pub fn listed(&self) -> Vec<&SavedAddress> {
        let mut listed: Vec<&SavedAddress> = self.addresses.iter().collect();
        listed.sort_by(|a, b| {
            self.is_default(&b.id)
                .cmp(&self.is_default(&a.id))
                .then(b.created_at_ms.cmp(&a.created_at_ms))
                .then(b.id.cmp(&a.id))
        });
        listed
    }

    /// Adds `saved`; it becomes the default when asked or when it is the
    /// first. BAD_USER_INPUT when the book is full.
    pub fn add(&mut self, saved: SavedAddress, make_default: bool) -> ApiResult<()> {
        if self.addresses.len() >= MAX_ADDRESSES_PER_USER {
            return Err(ApiError::BadUserInput(format!(
                "you can save at most {MAX_ADDRESSES_PER_USER} addresses; delete one first"
            )));
        }
        if make_default || self.default_id.is_none() {
            self.default_id = Some(saved.id.clone());
        }
        self.addresses.push(saved);
        Ok(())
    }

    /// Replaces the fields of the address `id`; its id and default flag stay.
    pub fn update(&mut self, id: &str, address: PostalAddress) -> ApiResult<()> {
        let saved = self
            .addresses
            .iter_mut()
            .find(|saved| saved.id == id)
            .ok_or_else(|| not_found(id))?;
        saved.address = address;
        Ok(())
    }

    /// Removes the address `id`; if it was the default, the newest remaining
    /// address becomes the default.
    pub fn delete(&mut self, id: &str) -> ApiResult<()> {
        let index = self
            .addresses
            .iter()
            .position(|saved| saved.id == id)
            .ok_or_else(|| not_found(id))?;
        self.addresses.remove(index);
        if self.is_default(id) {
            self.default_id = self
                .addresses
                .iter()
                .max_by(|a, b| a.created_at_ms.cmp(&b.created_at_ms).then(a.id.cmp(&b.id)))
                .map(|newest| newest.id.clone());
        }
        Ok(())
    }

    /// Makes the address `id` the default.
    pub fn set_default(&mut self, id: &str) -> ApiResult<()> {
        if self.get(id).is_none() {
            return Err(not_found(id));
        }
        self.default_id = Some(id.to_owned());
        Ok(())
    }
}

/// The one answer for an address that does not exist and for another user's.
fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("you have no saved address with id {id}"))
}

/// A saved address and whether it is its owner's default, as operations
/// return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressView {
    /// The address.
    pub saved: SavedAddress,
    /// Whether it is the default.
    pub is_default: bool,
}

impl AddressView {
    fn of(book: &AddressBook, id: &str) -> ApiResult<Self> {
        let saved = book.get(id).cloned().ok_or_else(|| not_found(id))?;
        Ok(AddressView {
            is_default: book.is_default(id),
            saved,
        })
    }
}

/// The address operations over a store. The owner is always an account the
/// caller has already been authenticated as.
#[derive(Clone)]
pub struct Addresses {
    repo: Arc<dyn AddressRepository>,
}

impl Addresses {
    /// Address books in `repo`.
    pub fn new(repo: Arc<dyn AddressRepository>) -> Self {
        Addresses { repo }
    }

    /// The addresses of `user_id`: the default first, then the newest first.
    pub async fn list(&self, user_id: &str) -> ApiResult<Vec<AddressView>> {
        let book = self.repo.address_book(user_id).await?;
        Ok(book
            .listed()
            .into_iter()
            .map(|saved| AddressView {
                is_default: book.is_default(&saved.id),
                saved: saved.clone(),
            })
            .collect())
    }

    /// The address `address_id` if it is `user_id`'s (for checkout).
    pub async fn find(&self, user_id: &str, address_id: &str) -> ApiResult<Option<SavedAddress>> {
        let book = self.repo.address_book(user_id).await?;
        Ok(book.get(address_id).cloned())
    }

    /// Validates `input` and saves it for `user_id`.
    pub async fn add(
        &self,
        user_id: &str,
        input: AddressInput,
        make_default: bool,
    ) -> ApiResult<AddressView> {
        let address = PostalAddress::parse(input)?;
        let id = uuid::Uuid::now_v7().to_string();
        let created_at_ms = now_millis().timestamp_millis();
        let book = self
            .change(user_id, |book| {
                let saved = SavedAddress {
                    id: id.clone(),
                    address: address.clone(),
                    created_at_ms,
                };
                book.add(saved, make_default)
            })
            .await?;
        tracing::info!(user_id, address_id = %id, "saved an address");
        AddressView::of(&book, &id)
    }

    /// Validates `input` and replaces the address `address_id` of `user_id` with it.
    pub async fn update(
        &self,
        user_id: &str,
        address_id: &str,
        input: AddressInput,
    ) -> ApiResult<AddressView> {
        let address = PostalAddress::parse(input)?;
        let book = self
            .change(user_id, |book| book.update(address_id, address.clone()))
            .await?;
        AddressView::of(&book, address_id)
    }

    /// Deletes the address `address_id` of `user_id`.
    pub async fn delete(&self, user_id: &str, address_id: &str) -> ApiResult<()> {
        self.change(user_id, |book| book.delete(address_id))
            .await
            .map(drop)
    }

    /// Makes the address `address_id` the default of `user_id`.
    pub async fn set_default(&self, user_id: &str, address_id: &str) -> ApiResult<AddressView> {
        let book = self
            .change(user_id, |book| book.set_default(address_id))
            .await?;
        AddressView::of(&book, address_id)
    }

    /// Reads the book, applies `apply`, and writes it back if nobody wrote
    /// in between; tries again otherwise. The book as written.
    async fn change(
        &self,
        user_id: &str,
        mut apply: impl FnMut(&mut AddressBook) -> ApiResult<()>,
    ) -> ApiResult<AddressBook> {
        for _ in 0..MAX_ATTEMPTS {
            let mut book = self.repo.address_book(user_id).await?;
            apply(&mut book)?;
            if self.repo.save_address_book(&book).await? {
                book.version += 1;
                return Ok(book);
            }
        }
        Err(ApiError::Conflict(
            "your addresses are being changed by other requests at the same time; try again".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(name: &str) -> PostalAddress {
        PostalAddress::parse(AddressInput {
            name: name.into(),
            line1: "1 Main St".into(),
            city: "Springfield".into(),
            postal_code: Some("12345".into()),
            country: "US".into(),
            ..AddressInput::default()
        })
        .expect("valid")
    }

    fn saved(id: &str, created_at_ms: i64) -> SavedAddress {
        SavedAddress {
            id: id.into(),
            address: address(id),
            created_at_ms,
        }
    }

    #[test]
    fn the_first_address_becomes_the_default_and_later_ones_only_when_asked() {
        let mut book = AddressBook::empty("u");
        book.add(saved("a", 1), false).expect("adds");
        assert_eq!(book.default_id.as_deref(), Some("a"));
        book.add(saved("b", 2), false).expect("adds");
        assert_eq!(book.default_id.as_deref(), Some("a"));
        book.add(saved("c", 3), true).expect("adds");
        assert_eq!(book.default_id.as_deref(), Some("c"));
    }

    #[test]
    fn the_book_refuses_more_than_the_cap() {
        let mut book = AddressBook::empty("u");
        for n in 0..MAX_ADDRESSES_PER_USER {
            book.add(saved(&format!("a{n}"), n as i64), false)
                .expect("under the cap");
        }
        let error = book.add(saved("one-more", 99), true).expect_err("full");
        assert!(matches!(error, ApiError::BadUserInput(_)), "{error:?}");
        assert_eq!(book.addresses.len(), MAX_ADDRESSES_PER_USER);
        assert_eq!(book.default_id.as_deref(), Some("a0"));
    }

    #[test]
    fn deleting_the_default_promotes_the_newest_remaining_address() {
        let mut book = AddressBook::empty("u");
        book.add(saved("old", 1), false).expect("adds");
        book.add(saved("newest", 3), false).expect("adds");
        book.add(saved("middle", 2), false).expect("adds");
        book.delete("old").expect("deletes");
        assert_eq!(book.default_id.as_deref(), Some("newest"));
        // Deleting another address leaves the default alone.
        book.delete("middle").expect("deletes");
        assert_eq!(book.default_id.as_deref(), Some("newest"));
        book.delete("newest").expect("deletes");
        assert_eq!(book.default_id, None, "no address, no default");
    }

    #[test]
    fn unknown_ids_are_not_found_for_every_change() {
        let mut book = AddressBook::empty("u");
        book.add(saved("a", 1), false).expect("adds");
        for error in [
            book.update("x", address("x")).expect_err("update"),
            book.delete("x").expect_err("delete"),
            book.set_default("x").expect_err("set default"),
        ] {
            assert!(matches!(error, ApiError::NotFound(_)), "{error:?}");
        }
        assert_eq!(book.addresses.len(), 1);
        assert_eq!(book.default_id.as_deref(), Some("a"));
    }

    #[test]
    fn updating_keeps_the_id_and_the_default() {
        let mut book = AddressBook::empty("u");
        book.add(saved("a", 1), false).expect("adds");
        book.update("a", address("Renamed")).expect("updates");
        assert_eq!(book.get("a").expect("kept").address.name, "Renamed");
        assert!(book.is_default("a"));
    }

    #[test]
    fn listing_puts_the_default_first_then_the_newest() {
        let mut book = AddressBook::empty("u");
        book.add(saved("a", 1), false).expect("adds");
        book.add(saved("b", 2), false).expect("adds");
        book.add(saved("c", 3), false).expect("adds");
        book.set_default("b").expect("sets");
        let ids: Vec<_> = book.listed().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
    }
}
