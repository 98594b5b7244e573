//! Helpers for the users subgraph's integration tests.
#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Response, Variables};
use async_trait::async_trait;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use storefront_shared::auth::{Authenticator, ServiceCaller, Viewer};
use storefront_shared::settings::Secret;
use storefront_users::AppState;
use storefront_users::addresses::AddressBook;
use storefront_users::domain::{DisplayName, Email, PasswordHash, User};
use storefront_users::store::{
    AddressRepository, EmbeddedUserRepository, RepoResult, SharedRepository, UserRepository,
};
use storefront_users::tokens::TokenIssuer;

use storefront_shared::testing::Counting;
pub use storefront_shared::testing::{response_json as json, single_error};

/// A users service over a fresh embedded store, with a known signing key.
pub struct TestService {
    pub state: AppState,
    pub key: SigningKey,
    pub repo: SharedRepository,
    _dir: tempfile::TempDir,
}

impl TestService {
    pub fn new() -> Self {
        Self::with_admins(&[])
    }

    pub fn with_admins(admins: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo: SharedRepository =
            Arc::new(EmbeddedUserRepository::open(dir.path()).expect("embedded store opens"));
        Self::over(repo, admins, dir)
    }

    pub fn over(repo: SharedRepository, admins: &[&str], dir: tempfile::TempDir) -> Self {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let issuer = TokenIssuer::new(&key, Duration::from_secs(3600)).expect("issuer");
        let admins = admins
            .iter()
            .map(|e| Email::parse(e).expect("valid admin email"))
            .collect();
        let state = AppState::new(Arc::clone(&repo), issuer, admins, Secret::new("svc"));
        TestService {
            state,
            key,
            repo,
            _dir: dir,
        }
    }

    /// Runs `query` against the schema directly, as the caller with `token` (if any).
    pub async fn execute(&self, query: &str, variables: Value, token: Option<&str>) -> Response {
        let viewer = self.viewer(token).await;
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(viewer);
        self.state.schema().execute(request).await
    }

    /// Runs `query` as another Storefront service (with the service credential).
    pub async fn execute_as_service(&self, query: &str, variables: Value) -> Response {
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(Viewer::Anonymous)
            .data(ServiceCaller(true));
        self.state.schema().execute(request).await
    }

    /// The viewer the HTTP endpoint would make of `token`.
    pub async fn viewer(&self, token: Option<&str>) -> Viewer {
        let authenticator: Authenticator = self.state.authenticator();
        let header = token.map(|t| format!("Bearer {t}"));
        authenticator.viewer(header.as_deref()).await
    }

    /// Registers an account and returns its token.
    pub async fn register(&self, email: &str, password: &str, name: &str) -> Response {
        self.execute(
            REGISTER,
            serde_json::json!({ "input": { "email": email, "password": password, "name": name } }),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.execute(
            LOGIN,
            serde_json::json!({ "email": email, "password": password }),
            None,
        )
        .await
    }
}

pub const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { token expiresAt user { id email name role createdAt } } }";
pub const LOGIN: &str = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token expiresAt user { id email role } } }";
pub const ME: &str = "{ me { id email name role createdAt } }";

/// `data.<field>.token` of a successful register/login.
pub fn token_of(response: &Response, field: &str) -> String {
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    json(response)["data"][field]["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// A user straight into a store, without hashing (the hash is not a real one).
pub fn user(email: &str, name: &str) -> User {
    User::new(
        Email::parse(email).expect("valid email"),
        DisplayName::parse(name).expect("valid name"),
        storefront_shared::auth::Role::Customer,
        PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
    )
}

/// Counts every call that reaches the wrapped repository.
pub struct CountingRepository(Counting<SharedRepository>);

impl CountingRepository {
    pub fn new(inner: SharedRepository) -> Self {
        CountingRepository(Counting::new(inner))
    }
}

impl std::ops::Deref for CountingRepository {
    type Target = Counting<SharedRepository>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[async_trait]
impl AddressRepository for CountingRepository {
    async fn address_book(&self, user_id: &str) -> RepoResult<AddressBook> {
        self.count().address_book(user_id).await
    }

    async fn save_address_book(&self, book: &AddressBook) -> RepoResult<bool> {
        self.count().save_address_book(book).await
    }
}

#[async_trait]
impl UserRepository for CountingRepository {
    async fn insert(&self, user: &User) -> RepoResult<()> {
        self.count().insert(user).await
    }

    async fn find_by_id(&self, id: &str) -> RepoResult<Option<User>> {
        self.count().find_by_id(id).await
    }

    async fn find_by_ids(&self, ids: &[String]) -> RepoResult<Vec<User>> {
        self.count_batch().find_by_ids(ids).await
    }

    async fn find_by_email(&self, email: &Email) -> RepoResult<Option<User>> {
        self.count().find_by_email(email).await
    }

    async fn update_name(&self, id: &str, name: &DisplayName) -> RepoResult<Option<User>> {
        self.count().update_name(id, name).await
    }

    async fn update_password(
        &self,
        id: &str,
        hash: &PasswordHash,
        expected_version: u32,
    ) -> RepoResult<Option<User>> {
        self.count()
            .update_password(id, hash, expected_version)
            .await
    }

    async fn revoke_tokens(&self, id: &str, expected_version: u32) -> RepoResult<Option<User>> {
        self.count().revoke_tokens(id, expected_version).await
    }

    async fn set_role(
        &self,
        id: &str,
        role: storefront_shared::auth::Role,
    ) -> RepoResult<Option<User>> {
        self.count().set_role(id, role).await
    }

    async fn ping(&self) -> RepoResult<()> {
        self.count().ping().await
    }
}
