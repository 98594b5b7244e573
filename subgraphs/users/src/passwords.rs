//! Password hashing with argon2id (default parameters), off the async
//! runtime: hashing takes tens of milliseconds of CPU and ~19 MiB of memory
//! on purpose, so at most one hash per CPU runs at a time and the rest wait.

use std::sync::LazyLock;

use argon2::password_hash::{
    self, PasswordHash as PhcHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Argon2, Params};
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

use crate::domain::{Password, PasswordHash};

/// Hashing could not be done.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// argon2 refused the input or a stored hash is not a PHC string.
    #[error("password hashing failed: {0}")]
    Hash(#[from] password_hash::Error),
    /// The blocking task was cancelled or panicked.
    #[error("the password hashing task did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The limiter was closed (never happens while the process runs).
    #[error("password hashing is shut down")]
    Closed(#[from] tokio::sync::AcquireError),
}

/// One hash at a time per CPU: a burst of logins queues instead of taking
/// hundreds of blocking threads and their memory.
static HASHING_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    Semaphore::new(cpus)
});

/// Runs `work` on the blocking pool once a hashing slot is free.
async fn in_slot<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
) -> Result<T, HashError> {
    let _slot = HASHING_SLOTS.acquire().await?;
    tokio::task::spawn_blocking(work).await?
}

/// The hasher every account uses: argon2id v0x13 with default parameters.
fn argon2() -> Argon2<'static> {
    Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        Params::default(),
    )
}

fn hash_now(password: &str) -> Result<PasswordHash, password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    let phc = argon2().hash_password(password.as_bytes(), &salt)?;
    Ok(PasswordHash::new(phc.to_string()))
}

/// A hash of a random password, made with the same parameters as real ones.
/// Unknown emails are checked against it so a failed login takes as long
/// whether or not the account exists.
static DUMMY_HASH: LazyLock<Option<PasswordHash>> = LazyLock::new(|| {
    let random = uuid::Uuid::new_v4().to_string();
    hash_now(&random).ok()
});

/// Makes the dummy hash now (start-up), so the first failed login is not slower.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

/// Hashes a new password (argon2id, random salt).
pub async fn hash(password: &Password) -> Result<PasswordHash, HashError> {
    let password = password.expose().to_owned();
    in_slot(move || Ok(hash_now(&password)?)).await
}

/// Whether `password` matches `hash`. A hash that cannot be parsed is an error, not a mismatch.
pub async fn verify(password: &str, hash: &PasswordHash) -> Result<bool, HashError> {
    let password = password.to_owned();
    let hash = hash.clone();
    in_slot(move || verify_now(&password, &hash)).await
}

fn verify_now(password: &str, hash: &PasswordHash) -> Result<bool, HashError> {
    let parsed = PhcHash::new(hash.as_str())?;
    match argon2().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// Spends the time of a real verification and answers `false`: for logins
/// with an email that has no account.
pub async fn verify_dummy(password: &str) -> Result<bool, HashError> {
    let password = password.to_owned();
    in_slot(move || match DUMMY_HASH.as_ref() {
        Some(hash) => verify_now(&password, hash).map(|_| false),
        None => Ok(false),
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Email;

    fn password(raw: &str) -> Password {
        let email = Email::parse("ada@example.com").expect("valid");
        Password::parse(raw, &email).expect("valid password")
    }

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hashed = hash(&password("correct horse")).await.expect("hashes");
        assert!(hashed.as_str().starts_with("$argon2id$v=19$"), "{hashed:?}");
        assert!(verify("correct horse", &hashed).await.expect("verifies"));
        assert!(!verify("wrong horse!", &hashed).await.expect("verifies"));
    }

    #[tokio::test]
    async fn the_same_password_gets_a_different_salt_each_time() {
        let first = hash(&password("correct horse")).await.expect("hashes");
        let second = hash(&password("correct horse")).await.expect("hashes");
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn the_dummy_hash_costs_what_a_real_one_costs() {
        let real = hash(&password("correct horse")).await.expect("hashes");
        let dummy = DUMMY_HASH.as_ref().expect("dummy hash is made");
        let params = |h: &PasswordHash| {
            let parsed = PhcHash::new(h.as_str()).expect("phc");
            (parsed.algorithm.to_string(), parsed.params.to_string())
        };
        assert_eq!(params(dummy), params(&real));
        assert!(!verify_dummy("correct horse").await.expect("runs"));
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_mismatch() {
        let result = verify("anything", &PasswordHash::new("not a phc string")).await;
        assert!(result.is_err());
    }
}
