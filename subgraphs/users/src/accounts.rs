//! What the users service does: register, log in, change the password, log
//! out everywhere, update the profile, and find the caller's account. The GraphQL layer is a
//! thin shell around these; every outcome is an [`ApiResult`].

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use storefront_shared::auth::{Claims, Role, Viewer};
use storefront_shared::{ApiError, ApiResult};

use crate::addresses::Addresses;
use crate::client::client_key;
use crate::domain::{DisplayName, Email, MAX_EMAIL_CHARS, Password, User};
use crate::passwords;
use crate::settings::LoginThrottleSettings;
use crate::store::{RepoError, SharedRepository};
use crate::throttle::{LoginThrottle, Throttled};
use crate::tokens::{IssuedToken, TokenIssuer};

/// The one message for every failed login: an unknown email and a wrong
/// password must look the same.
pub const INVALID_CREDENTIALS: &str = "invalid email or password";
/// The message for a token issued before the last password change.
pub const REVOKED_TOKEN: &str = "this token was revoked; log in again";

/// A signed-in account: its token and the account.
#[derive(Debug, Clone)]
pub struct Session {
    /// The access token.
    pub token: IssuedToken,
    /// The account.
    pub user: User,
}

/// The users service's operations over a store and a token issuer.
#[derive(Clone)]
pub struct Accounts {
    repo: SharedRepository,
    addresses: Addresses,
    tokens: Arc<TokenIssuer>,
    admin_emails: Arc<HashSet<Email>>,
    throttle: LoginThrottle,
}

/// Why a login failed: the usual API error, or too early after failures.
#[derive(Debug, Clone)]
pub enum LoginError {
    /// Wrong credentials (UNAUTHENTICATED) or a failure of the service.
    Api(ApiError),
    /// Throttled (`TOO_MANY_REQUESTS`, see [`crate::throttle`]).
    Throttled(Throttled),
}

impl From<ApiError> for LoginError {
    fn from(error: ApiError) -> Self {
        LoginError::Api(error)
    }
}

impl From<RepoError> for LoginError {
    fn from(error: RepoError) -> Self {
        LoginError::Api(error.into())
    }
}

impl From<LoginError> for async_graphql::Error {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::Api(error) => error.into(),
            LoginError::Throttled(throttled) => throttled.into(),
        }
    }
}

impl Accounts {
    /// Accounts in `repo`, tokens from `tokens`; `admin_emails` register as ADMIN.
    pub fn new(
        repo: SharedRepository,
        tokens: Arc<TokenIssuer>,
        admin_emails: impl IntoIterator<Item = Email>,
    ) -> Self {
        Accounts {
            addresses: Addresses::new(Arc::clone(&repo) as _),
            repo,
            tokens,
            admin_emails: Arc::new(admin_emails.into_iter().collect()),
            throttle: LoginThrottle::new(LoginThrottleSettings::default()),
        }
    }

    /// These accounts with logins throttled by `settings`.
    pub fn with_login_throttle(mut self, settings: LoginThrottleSettings) -> Self {
        self.throttle = LoginThrottle::new(settings);
        self
    }

    /// The store.
    pub fn repository(&self) -> &SharedRepository {
        &self.repo
    }

    /// Users' saved addresses, in the same store.
    pub fn addresses(&self) -> &Addresses {
        &self.addresses
    }

    /// The token issuer.
    pub fn tokens(&self) -> &TokenIssuer {
        &self.tokens
    }

    /// Creates an account and signs it in.
    pub async fn register(&self, email: &str, password: &str, name: &str) -> ApiResult<Session> {
        let email = Email::parse(email).map_err(bad_input)?;
        let password = Password::parse(password, &email).map_err(bad_input)?;
        let name = DisplayName::parse(name).map_err(bad_input)?;
        // Cheap early answer; the store's unique email is what really decides.
        if self.repo.find_by_email(&email).await?.is_some() {
            return Err(RepoError::Conflict.into());
        }
        let hash = passwords::hash(&password)
            .await
            .map_err(ApiError::internal)?;
        let role = if self.admin_emails.contains(&email) {
            Role::Admin
        } else {
            Role::Customer
        };
        let user = User::new(email, name, role, hash);
        self.repo.insert(&user).await?;
        tracing::info!(user_id = %user.id, ?role, "registered a new account");
        self.session(user)
    }

    /// Signs in with an email and a password, from the client at `client`
    /// (if known), throttled per account and per client address
    /// ([`crate::throttle`]): too early after failures, the answer is
    /// [`LoginError::Throttled`] and the password is not even checked.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Session, LoginError> {
        let parsed = Email::parse(email);
        // What the throttle counts as the account; bounded, whatever was sent.
        let account = match &parsed {
            Ok(email) => email.as_str().to_owned(),
            Err(_) => email
                .trim()
                .to_lowercase()
                .chars()
                .take(MAX_EMAIL_CHARS)
                .collect(),
        };
        let address = client_key(client);
        self.throttle
            .begin(&account, &address)
            .map_err(LoginError::Throttled)?;
        let user = match parsed {
            Ok(email) => self.repo.find_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            // Spend the same time as a real check, then give the same answer.
            passwords::verify_dummy(password)
                .await
                .map_err(ApiError::internal)?;
            return Err(ApiError::Unauthenticated(INVALID_CREDENTIALS.into()).into());
        };
        let matches = passwords::verify(password, &user.password_hash)
            .await
            .map_err(ApiError::internal)?;
        if !matches {
            return Err(ApiError::Unauthenticated(INVALID_CREDENTIALS.into()).into());
        }
        self.throttle.succeeded(&account, &address);
        Ok(self.session(user)?)
    }

    /// The caller's account: `None` for anonymous callers, UNAUTHENTICATED for a
    /// rejected or revoked token.
    pub async fn viewer_account(&self, viewer: &Viewer) -> ApiResult<Option<User>> {
        match viewer {
            Viewer::Anonymous => Ok(None),
            _ => self.current_user(viewer).await.map(Some),
        }
    }

    /// The caller's account, checking the token is of its current generation.
    pub async fn current_user(&self, viewer: &Viewer) -> ApiResult<User> {
        let claims = viewer.require_user()?;
        let user = self.repo.find_by_id(&claims.sub).await?.ok_or_else(|| {
            ApiError::Unauthenticated("the account of this token no longer exists".into())
        })?;
        check_generation(claims, &user)?;
        Ok(user)
    }

    /// Replaces the password after checking the current one; revokes every
    /// token issued before.
    pub async fn change_password(
        &self,
        viewer: &Viewer,
        current_password: &str,
        new_password: &str,
    ) -> ApiResult<()> {
        let user = self.current_user(viewer).await?;
        let new_password = Password::parse(new_password, &user.email).map_err(bad_input)?;
        let matches = passwords::verify(current_password, &user.password_hash)
            .await
            .map_err(ApiError::internal)?;
        if !matches {
            return Err(ApiError::BadUserInput(
                "currentPassword is not your current password".into(),
            ));
        }
        if new_password.expose() == current_password {
            return Err(ApiError::BadUserInput(
                "the new password must differ from the current one".into(),
            ));
        }
        let hash = passwords::hash(&new_password)
            .await
            .map_err(ApiError::internal)?;
        let updated = self
            .repo
            .update_password(&user.id, &hash, user.token_version)
            .await?;
        match updated {
            Some(user) => {
                tracing::info!(user_id = %user.id, "password changed; older tokens revoked");
                Ok(())
            }
            // Changed concurrently by another request: this token is now stale.
            None => Err(ApiError::Unauthenticated(REVOKED_TOKEN.into())),
        }
    }

    /// Revokes every token of the caller issued so far, the one that made
    /// this call included: every service refuses them within the revocation
    /// bound (see `storefront_shared::auth::revocation`).
    pub async fn logout_everywhere(&self, viewer: &Viewer) -> ApiResult<()> {
        let user = self.current_user(viewer).await?;
        match self
            .repo
            .revoke_tokens(&user.id, user.token_version)
            .await?
        {
            Some(user) => {
                tracing::info!(user_id = %user.id, "logged out everywhere; older tokens revoked");
                Ok(())
            }
            // Revoked concurrently by another request: this token is stale too.
            None => Err(ApiError::Unauthenticated(REVOKED_TOKEN.into())),
        }
    }

    /// Sets the caller's display name.
    pub async fn update_profile(&self, viewer: &Viewer, name: &str) -> ApiResult<User> {
        let user = self.current_user(viewer).await?;
        let name = DisplayName::parse(name).map_err(bad_input)?;
        self.repo
            .update_name(&user.id, &name)
            .await?
            .ok_or_else(|| ApiError::NotFound("your account no longer exists".into()))
    }

    fn session(&self, user: User) -> ApiResult<Session> {
        let token = self.tokens.issue(&user).map_err(ApiError::internal)?;
        Ok(Session { token, user })
    }
}

fn check_generation(claims: &Claims, user: &User) -> ApiResult<()> {
    if claims.ver == user.token_version {
        Ok(())
    } else {
        Err(ApiError::Unauthenticated(REVOKED_TOKEN.into()))
    }
}

fn bad_input(error: crate::domain::ValidationError) -> ApiError {
    ApiError::BadUserInput(error.to_string())
}
