//! The users subgraph: accounts, credentials and access tokens.
//!
//! It owns `User @key(fields: "id")`, signs EdDSA access tokens for
//! `register`/`login`, publishes the public key at `/.well-known/jwks.json`
//! for every other service, and verifies its own tokens with that key (no
//! HTTP to itself), also checking the token generation that `changePassword`
//! and `logoutEverywhere` bump. It publishes each user's generation at
//! `/.well-known/token-versions/<userId>` (service credential only) so that
//! the other services refuse revoked tokens too. `users create-admin` creates
//! or promotes an ADMIN in the same store ([`admin`]).
//!
//! ```text
//! POST /graphql ─ shared endpoint (Viewer from the token) ─ graphql ─ accounts ─┬─ passwords (argon2id)
//!                                                                               ├─ tokens (Ed25519 JWT)
//!                                                                               └─ store (MongoDB | redb)
//! ```
//!
//! # Layout
//! - [`settings`]: the `[service]` settings (`token_ttl`, the signing key).
//! - [`domain`]: the account and its validated values (`Email::parse`, ...).
//! - [`passwords`]: argon2id hashing off the async runtime.
//! - [`tokens`]: the signing key, issuing tokens (with their `scope`), the JWKS.
//! - [`accounts`]: the operations, returning `ApiResult`.
//! - [`addresses`]: users' saved addresses (one versioned book per user).
//! - [`throttle`]: login throttling per account and per client address;
//!   [`client`]: the client address of a request (peer, or a trusted
//!   `X-Forwarded-For`).
//! - [`revocation`]: token generations, checked here and published to the
//!   other services.
//! - [`admin`]: the `users create-admin` command.
//! - [`graphql`]: the federated schema, which `User` fields are public, and
//!   the batched entity resolver.
//! - [`store`]: the `UserRepository` trait and its MongoDB and embedded stores.
//! - this file: [`AppState`], [`app`] (the HTTP routes) and [`run`].

pub mod accounts;
pub mod addresses;
pub mod admin;
pub mod client;
pub mod domain;
pub mod graphql;
pub mod passwords;
pub mod revocation;
pub mod settings;
pub mod store;
pub mod throttle;
pub mod tokens;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use storefront_shared::auth::Authenticator;
use storefront_shared::limits::RequestLimits;
use storefront_shared::server;
use storefront_shared::settings::{CommonSettings, Secret, Settings};
use tokio::net::TcpListener;

use crate::accounts::Accounts;
use crate::domain::Email;
use crate::revocation::StoreRevocation;
use crate::settings::{LoginThrottleSettings, UsersSettings};
use crate::store::{EmbeddedUserRepository, MongoUserRepository, SharedRepository};
use crate::tokens::TokenIssuer;

/// The name of this service: its database, and its folder under `DATA_DIR`.
pub const SERVICE: &str = "users";
/// The port the users service listens on by default.
pub const DEFAULT_PORT: u16 = 4001;

/// Everything a running users service needs.
#[derive(Clone)]
pub struct AppState {
    accounts: Accounts,
    service_token: Secret,
    limits: RequestLimits,
    trust_forwarded_for: bool,
}

impl AppState {
    /// A state over `repo`, signing with `tokens`; `admin_emails` register as ADMIN.
    pub fn new(
        repo: SharedRepository,
        tokens: TokenIssuer,
        admin_emails: Vec<Email>,
        service_token: Secret,
    ) -> Self {
        AppState {
            accounts: Accounts::new(repo, Arc::new(tokens), admin_emails),
            service_token,
            limits: RequestLimits::default(),
            trust_forwarded_for: false,
        }
    }

    /// This state with logins throttled by `settings` (the defaults otherwise).
    pub fn with_login_throttle(mut self, settings: LoginThrottleSettings) -> Self {
        self.accounts = self.accounts.with_login_throttle(settings);
        self
    }

    /// This state taking the client address of a request from
    /// `X-Forwarded-For` when `trust` (from the peer address otherwise).
    pub fn trusting_forwarded_for(mut self, trust: bool) -> Self {
        self.trust_forwarded_for = trust;
        self
    }

    /// This state with other GraphQL request limits (the default ones otherwise).
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Opens the store the settings name and loads (or creates) the signing key.
    pub async fn from_settings(settings: &Settings<UsersSettings>) -> anyhow::Result<Self> {
        let common = &settings.common;
        let admin_emails = common
            .admin_emails
            .iter()
            .map(|raw| Email::parse(raw).context("ADMIN_EMAILS has an invalid entry"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let repo = open_repository(common).await?;
        let service_dir = common.service_dir(SERVICE);
        tokio::task::spawn_blocking(passwords::warm_up)
            .await
            .context("cannot prepare password hashing")?;
        let key = tokens::load_signing_key(&settings.service, &service_dir)?;
        let issuer = TokenIssuer::new(&key, settings.service.token_ttl)?;
        tracing::info!(kid = issuer.kid(), ttl = ?issuer.ttl(), "token signing key ready");
        let throttle = &settings.service.login_throttle;
        if !throttle.enabled {
            tracing::warn!("login throttling is off (LOGIN_THROTTLE_ENABLED=false)");
        }
        Ok(
            AppState::new(repo, issuer, admin_emails, common.service_token())
                .with_limits(common.limits.clone())
                .with_login_throttle(throttle.clone())
                .trusting_forwarded_for(settings.service.trust_forwarded_for),
        )
    }

    /// The operations this service offers.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The GraphQL schema over this state, with its request limits.
    pub fn schema(&self) -> graphql::UsersSchema {
        graphql::schema(self.accounts.clone(), &self.limits)
    }

    /// Verifies this service's own tokens with its own key set, and their
    /// generation against the store.
    pub fn authenticator(&self) -> Authenticator {
        let keys = self.accounts.tokens().key_set();
        let revocation = StoreRevocation(Arc::clone(self.accounts.repository()));
        Authenticator::new(Arc::new(keys), self.service_token.clone())
            .with_revocation(Arc::new(revocation))
    }
}

/// Opens the store the settings name: MongoDB at `MONGODB_URI`, else the
/// embedded store under `DATA_DIR/users/`.
pub async fn open_repository(common: &CommonSettings) -> anyhow::Result<SharedRepository> {
    let repo: SharedRepository = match &common.mongodb_uri {
        Some(uri) => {
            let db = storefront_shared::store::connect_mongo(uri, SERVICE).await?;
            let repo = MongoUserRepository::new(db)
                .await
                .context("cannot prepare the MongoDB users collection")?;
            tracing::info!("storing users in MongoDB");
            Arc::new(repo)
        }
        None => {
            let service_dir = common.service_dir(SERVICE);
            let repo = EmbeddedUserRepository::open(&service_dir)?;
            tracing::info!(dir = %service_dir.display(), "storing users in the embedded store");
            Arc::new(repo)
        }
    };
    Ok(repo)
}

/// The HTTP routes: `POST /graphql`, `GET /health`, `GET /ready`,
/// `GET /.well-known/jwks.json` and `GET /.well-known/token-versions/{userId}`.
pub fn app(state: AppState) -> Router {
    let jwks = state.accounts.tokens().jwks();
    let repository = Arc::clone(state.accounts.repository());
    let ready = server::readiness(move || {
        let repository = Arc::clone(&repository);
        async move { repository.ping().await }
    });
    Router::new()
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let jwks = jwks.clone();
                async move {
                    (
                        [(header::CACHE_CONTROL, "public, max-age=300")],
                        axum::Json(jwks),
                    )
                        .into_response()
                }
            }),
        )
        .merge(revocation::routes(
            Arc::clone(state.accounts.repository()),
            state.authenticator(),
        ))
        .merge(client::layer(
            server::subgraph(
                state.schema(),
                state.authenticator(),
                ready,
                state.limits.max_body_bytes,
            ),
            state.trust_forwarded_for,
        ))
}

/// Serves [`app`] on `listener` with `timeouts` (against slow clients) until
/// `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    timeouts: server::Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "users subgraph listening; GraphQL at /graphql");
    }
    server::serve(listener, app(state), timeouts, shutdown).await
}

/// The whole life of the service binary: build the state from `settings`
/// (opening its store), start its background work, and serve on `listener`
/// until `shutdown` resolves.
pub async fn serve(
    settings: Settings<UsersSettings>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::from_settings(&settings).await?;
    run(listener, state, settings.common.timeouts(), shutdown)
        .await
        .context("the server stopped with an error")
}
