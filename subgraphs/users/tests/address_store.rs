//! One suite for every `AddressRepository` (the embedded store in a temp dir
//! and MongoDB at `STOREFRONT_TEST_MONGODB_URI`; skipped locally without it,
//! required in CI): the versioned write, and the address rules of
//! `Addresses` holding under concurrent requests on each store.

use std::collections::HashSet;
use std::sync::Arc;

use storefront_shared::ApiError;
use storefront_shared::address::{AddressInput, PostalAddress};
use storefront_users::addresses::{AddressBook, Addresses, MAX_ADDRESSES_PER_USER, SavedAddress};
use storefront_users::store::{
    AddressRepository, EmbeddedUserRepository, MongoUserRepository, SharedRepository,
};

fn input(name: &str) -> AddressInput {
    AddressInput {
        name: name.into(),
        line1: "1 Infinite Loop".into(),
        line2: Some("Building 3".into()),
        city: "Cupertino".into(),
        region: Some("CA".into()),
        postal_code: Some("95014".into()),
        country: "us".into(),
        phone: None,
    }
}

fn saved(id: &str, created_at_ms: i64) -> SavedAddress {
    SavedAddress {
        id: id.into(),
        address: PostalAddress::parse(input(id)).expect("valid"),
        created_at_ms,
    }
}

/// The cases, each over any repository.
mod cases {
    use super::*;

    pub async fn a_written_book_reads_back_whole_at_the_next_version(repo: SharedRepository) {
        let empty = repo.address_book("u1").await.expect("reads");
        assert_eq!(empty, AddressBook::empty("u1"));

        let mut book = empty.clone();
        book.add(saved("a", 1_700_000_000_123), false)
            .expect("adds");
        let mut second = saved("b", 1_700_000_000_456);
        second.address.line2 = None;
        second.address.phone = Some("+1 408 555 0100".into());
        book.add(second, true).expect("adds");
        assert!(repo.save_address_book(&book).await.expect("writes"));

        let stored = repo.address_book("u1").await.expect("reads");
        assert_eq!(stored.version, 1);
        assert_eq!(stored.default_id.as_deref(), Some("b"));
        assert_eq!(stored.addresses, book.addresses, "every field round-trips");

        let mut next = stored.clone();
        next.delete("b").expect("deletes");
        assert!(repo.save_address_book(&next).await.expect("writes"));
        let stored = repo.address_book("u1").await.expect("reads");
        assert_eq!(stored.version, 2);
        assert_eq!(stored.default_id.as_deref(), Some("a"));
        assert_eq!(stored.addresses.len(), 1);
        assert_eq!(
            repo.address_book("u2").await.expect("reads"),
            AddressBook::empty("u2"),
            "another user's book is separate"
        );
    }

    pub async fn a_write_from_a_stale_version_changes_nothing(repo: SharedRepository) {
        let mut first = AddressBook::empty("u1");
        first.add(saved("a", 1), false).expect("adds");
        assert!(repo.save_address_book(&first).await.expect("writes"));

        // Another writer that also read version 0.
        let mut stale = AddressBook::empty("u1");
        stale.add(saved("x", 2), false).expect("adds");
        assert!(!repo.save_address_book(&stale).await.expect("runs"));

        let mut current = repo.address_book("u1").await.expect("reads");
        let mut behind = current.clone();
        current.add(saved("b", 3), false).expect("adds");
        assert!(repo.save_address_book(&current).await.expect("writes"));
        behind.set_default("a").expect("sets");
        assert!(!repo.save_address_book(&behind).await.expect("runs"));

        let stored = repo.address_book("u1").await.expect("reads");
        let ids: Vec<_> = stored.addresses.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(stored.version, 2);
    }

    pub async fn of_twenty_concurrent_first_writes_exactly_one_wins(repo: SharedRepository) {
        let writes: Vec<_> = (0..20)
            .map(|n| {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move {
                    let mut book = AddressBook::empty("racer");
                    book.add(saved(&format!("a{n}"), n), false).expect("adds");
                    repo.save_address_book(&book).await.expect("runs")
                })
            })
            .collect();
        let mut won = 0;
        for write in writes {
            if write.await.expect("task finishes") {
                won += 1;
            }
        }
        assert_eq!(won, 1);
        let stored = repo.address_book("racer").await.expect("reads");
        assert_eq!((stored.version, stored.addresses.len()), (1, 1));
    }

    pub async fn concurrent_adds_stop_exactly_at_the_cap_with_one_default(repo: SharedRepository) {
        let addresses = Addresses::new(Arc::clone(&repo) as Arc<dyn AddressRepository>);
        let extra = 10;
        let adds: Vec<_> = (0..MAX_ADDRESSES_PER_USER + extra)
            .map(|n| {
                let addresses = addresses.clone();
                tokio::spawn(async move {
                    addresses
                        .add("busy", input(&format!("Recipient {n}")), n % 7 == 0)
                        .await
                })
            })
            .collect();
        let (mut saved, mut refused) = (0, 0);
        for add in adds {
            match add.await.expect("task finishes") {
                Ok(_) => saved += 1,
                Err(ApiError::BadUserInput(message)) => {
                    assert!(message.contains("at most 50"), "{message}");
                    refused += 1;
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((saved, refused), (MAX_ADDRESSES_PER_USER, extra));
        let listed = addresses.list("busy").await.expect("lists");
        assert_eq!(listed.len(), MAX_ADDRESSES_PER_USER);
        assert_eq!(listed.iter().filter(|a| a.is_default).count(), 1);
        assert!(listed[0].is_default, "the default is listed first");
        let ids: HashSet<_> = listed.iter().map(|a| a.saved.id.clone()).collect();
        assert_eq!(
            ids.len(),
            MAX_ADDRESSES_PER_USER,
            "no lost or doubled write"
        );
    }

    pub async fn concurrent_deletes_and_default_changes_keep_one_default(repo: SharedRepository) {
        let addresses = Addresses::new(Arc::clone(&repo) as Arc<dyn AddressRepository>);
        let mut ids = Vec::new();
        for n in 0..12 {
            let view = addresses
                .add("owner", input(&format!("R{n}")), false)
                .await
                .expect("adds");
            ids.push(view.saved.id);
        }
        let tasks: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| {
                let addresses = addresses.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    if n % 2 == 0 {
                        addresses.delete("owner", &id).await.map(drop)
                    } else {
                        addresses.set_default("owner", &id).await.map(drop)
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task finishes").expect("succeeds");
        }
        let listed = addresses.list("owner").await.expect("lists");
        assert_eq!(listed.len(), 6, "the odd ones are left");
        assert_eq!(listed.iter().filter(|a| a.is_default).count(), 1);
        // Nobody else sees or changes them.
        assert!(
            addresses
                .find("intruder", &listed[0].saved.id)
                .await
                .expect("runs")
                .is_none()
        );
        let error = addresses
            .delete("intruder", &listed[0].saved.id)
            .await
            .expect_err("not theirs");
        assert!(matches!(error, ApiError::NotFound(_)), "{error:?}");
        assert_eq!(addresses.list("owner").await.expect("lists").len(), 6);
    }
}

/// Runs each named case against both stores, as `embedded::<case>` and `mongodb::<case>`.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let repo = EmbeddedUserRepository::open(dir.path()).expect("opens");
                    cases::$case(Arc::new(repo)).await;
                }
            )*
        }

        mod mongodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(db) = storefront_shared::testing::mongo_database("users").await else {
                        return;
                    };
                    let repo = MongoUserRepository::new(db.clone()).await.expect("prepares");
                    cases::$case(Arc::new(repo)).await;
                    // Best effort: the server is shared by every test run.
                    let _ = db.drop().await;
                }
            )*
        }
    };
}

conformance!(
    a_written_book_reads_back_whole_at_the_next_version,
    a_write_from_a_stale_version_changes_nothing,
    of_twenty_concurrent_first_writes_exactly_one_wins,
    concurrent_adds_stop_exactly_at_the_cap_with_one_default,
    concurrent_deletes_and_default_changes_keep_one_default,
);

#[tokio::test]
async fn embedded_address_books_survive_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut book = AddressBook::empty("u1");
    book.add(saved("a", 1), false).expect("adds");
    {
        let repo = EmbeddedUserRepository::open(dir.path()).expect("opens");
        assert!(repo.save_address_book(&book).await.expect("writes"));
    }
    let reopened = EmbeddedUserRepository::open(dir.path()).expect("reopens");
    let stored = reopened.address_book("u1").await.expect("reads");
    assert_eq!((stored.version, stored.addresses), (1, book.addresses));
}
