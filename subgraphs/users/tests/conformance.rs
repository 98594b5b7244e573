//! One suite for every `UserRepository`: each case runs against the embedded
//! store (a temp dir) and MongoDB (`STOREFRONT_TEST_MONGODB_URI`; skipped
//! locally without it, required in CI).

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::user;
use storefront_shared::auth::Role;
use storefront_users::domain::{DisplayName, Email, PasswordHash};
use storefront_users::store::{
    EmbeddedUserRepository, MongoUserRepository, RepoError, SharedRepository, UserRepository,
};

/// The cases, each over any repository.
mod cases {
    use super::*;

    pub async fn finds_an_inserted_user_by_id_and_by_email(repo: SharedRepository) {
        let ada = user("ada@example.com", "Ada");
        repo.insert(&ada).await.expect("inserts");

        let by_id = repo
            .find_by_id(&ada.id)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!(by_id, ada, "a round trip keeps every field");
        let email = Email::parse("ADA@example.com").expect("valid");
        let by_email = repo
            .find_by_email(&email)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!(by_email, ada);

        assert!(repo.find_by_id("no-such-id").await.expect("runs").is_none());
        let unknown = Email::parse("bob@example.com").expect("valid");
        assert!(repo.find_by_email(&unknown).await.expect("runs").is_none());
        repo.ping().await.expect("the store answers");
    }

    pub async fn a_duplicate_email_is_a_conflict(repo: SharedRepository) {
        repo.insert(&user("ada@example.com", "Ada"))
            .await
            .expect("inserts");
        let again = user("ada@example.com", "Another Ada");
        let error = repo.insert(&again).await.expect_err("the email is taken");
        assert!(matches!(error, RepoError::Conflict), "{error:?}");
        assert!(
            repo.find_by_id(&again.id).await.expect("runs").is_none(),
            "the losing insert left nothing behind"
        );
    }

    pub async fn exactly_one_of_twenty_concurrent_registrations_wins(repo: SharedRepository) {
        let attempts: Vec<_> = (0..20)
            .map(|n| {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move {
                    repo.insert(&user("race@example.com", &format!("Racer {n}")))
                        .await
                })
            })
            .collect();
        let mut won = 0;
        let mut conflicts = 0;
        for attempt in attempts {
            match attempt.await.expect("task finishes") {
                Ok(()) => won += 1,
                Err(RepoError::Conflict) => conflicts += 1,
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!((won, conflicts), (1, 19));
        let email = Email::parse("race@example.com").expect("valid");
        assert!(repo.find_by_email(&email).await.expect("runs").is_some());
    }

    pub async fn find_by_ids_returns_the_existing_ones_and_skips_missing(repo: SharedRepository) {
        let users: Vec<_> = (0..3)
            .map(|n| user(&format!("u{n}@example.com"), &format!("User {n}")))
            .collect();
        for u in &users {
            repo.insert(u).await.expect("inserts");
        }
        let ids = vec![
            users[2].id.clone(),
            "missing-1".to_owned(),
            users[0].id.clone(),
            "missing-2".to_owned(),
        ];
        let found = repo.find_by_ids(&ids).await.expect("finds");
        let found: HashSet<_> = found.into_iter().map(|u| u.id).collect();
        let expected: HashSet<_> = [users[2].id.clone(), users[0].id.clone()].into();
        assert_eq!(found, expected);
        assert!(repo.find_by_ids(&[]).await.expect("runs").is_empty());
    }

    pub async fn update_name_changes_only_the_name(repo: SharedRepository) {
        let ada = user("ada@example.com", "Ada");
        repo.insert(&ada).await.expect("inserts");
        let name = DisplayName::parse("Countess Lovelace").expect("valid");
        let updated = repo
            .update_name(&ada.id, &name)
            .await
            .expect("updates")
            .expect("exists");
        assert_eq!(updated.name, "Countess Lovelace");
        assert_eq!(updated.email, ada.email);
        assert_eq!(updated.token_version, ada.token_version);
        assert_eq!(updated.created_at, ada.created_at);
        let stored = repo
            .find_by_id(&ada.id)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!(stored, updated);
        assert!(
            repo.update_name("no-such-id", &name)
                .await
                .expect("runs")
                .is_none()
        );
    }

    pub async fn update_password_sets_the_hash_and_bumps_the_version(repo: SharedRepository) {
        let ada = user("ada@example.com", "Ada");
        repo.insert(&ada).await.expect("inserts");
        let hash = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA");
        let updated = repo
            .update_password(&ada.id, &hash, 0)
            .await
            .expect("updates")
            .expect("matched");
        assert_eq!(updated.password_hash, hash);
        assert_eq!(updated.token_version, 1);
        assert_eq!(updated.name, ada.name);
        let stored = repo
            .find_by_id(&ada.id)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!(stored.token_version, 1);
        assert_eq!(stored.password_hash, hash);

        // A stale expected version changes nothing.
        let other = PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$b3RoZXI$b3RoZXI");
        assert!(
            repo.update_password(&ada.id, &other, 0)
                .await
                .expect("runs")
                .is_none()
        );
        let stored = repo
            .find_by_id(&ada.id)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!((stored.token_version, stored.password_hash), (1, hash));
        assert!(
            repo.update_password("no-such-id", &other, 0)
                .await
                .expect("runs")
                .is_none()
        );
    }

    pub async fn revoke_tokens_bumps_only_the_version(repo: SharedRepository) {
        let ada = user("ada@example.com", "Ada");
        repo.insert(&ada).await.expect("inserts");
        let updated = repo
            .revoke_tokens(&ada.id, 0)
            .await
            .expect("updates")
            .expect("matched");
        assert_eq!(updated.token_version, 1);
        assert_eq!(updated.password_hash, ada.password_hash);
        let stored = repo
            .find_by_id(&ada.id)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!(stored.token_version, 1);
        // A stale expected version, or an unknown id, changes nothing.
        assert!(
            repo.revoke_tokens(&ada.id, 0)
                .await
                .expect("runs")
                .is_none()
        );
        assert!(
            repo.revoke_tokens("no-such-id", 0)
                .await
                .expect("runs")
                .is_none()
        );
        let stored = repo.find_by_id(&ada.id).await.expect("finds");
        assert_eq!(stored.map(|u| u.token_version), Some(1));
    }

    pub async fn set_role_promotes_and_keeps_the_rest(repo: SharedRepository) {
        let ada = user("ada@example.com", "Ada");
        repo.insert(&ada).await.expect("inserts");
        let promoted = repo
            .set_role(&ada.id, Role::Admin)
            .await
            .expect("updates")
            .expect("matched");
        assert_eq!(promoted.role, Role::Admin);
        let stored = repo
            .find_by_id(&ada.id)
            .await
            .expect("finds")
            .expect("exists");
        assert_eq!(stored.role, Role::Admin);
        assert_eq!((stored.name, stored.email), (ada.name, ada.email));
        assert!(
            repo.set_role("no-such-id", Role::Admin)
                .await
                .expect("runs")
                .is_none()
        );
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
    finds_an_inserted_user_by_id_and_by_email,
    a_duplicate_email_is_a_conflict,
    exactly_one_of_twenty_concurrent_registrations_wins,
    find_by_ids_returns_the_existing_ones_and_skips_missing,
    update_name_changes_only_the_name,
    update_password_sets_the_hash_and_bumps_the_version,
    revoke_tokens_bumps_only_the_version,
    set_role_promotes_and_keeps_the_rest,
);

#[tokio::test]
async fn embedded_users_survive_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ada = user("ada@example.com", "Ada");
    {
        let repo = EmbeddedUserRepository::open(dir.path()).expect("opens");
        repo.insert(&ada).await.expect("inserts");
    }
    let reopened = EmbeddedUserRepository::open(dir.path()).expect("reopens");
    let found = reopened
        .find_by_id(&ada.id)
        .await
        .expect("finds")
        .expect("survived the restart");
    assert_eq!(found, ada);
    let again = reopened
        .insert(&user("ada@example.com", "Ada again"))
        .await
        .expect_err("the email index survived too");
    assert!(matches!(again, RepoError::Conflict), "{again:?}");
}
