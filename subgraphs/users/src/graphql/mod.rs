//! The users subgraph's GraphQL schema (Federation v2): `User @key(fields: "id")`,
//! `me`, `register`, `login`, `changePassword`, `logoutEverywhere`,
//! `updateProfile`, and the entity resolver `find_user_by_id`, batched through
//! a [`DataLoader`] so `_entities` with N users costs one store query; saved
//! addresses ([`addresses`]).
//!
//! Which fields of `User` are public: only `id` (the entity key, which the
//! referencing subgraph already holds). `email`, `name`, `role` and
//! `createdAt` are private: through `_entities` they resolve only for the
//! account's owner, an ADMIN, or a caller with the service credential; anyone
//! else gets UNAUTHENTICATED (no or a bad token) or FORBIDDEN on each of them.
//! The name is private too, because nothing in the API shows one customer
//! another's name and a display name often is a real name. `addresses` is
//! the owner's alone (not even an ADMIN's or another service's: orders asks
//! for one address at checkout with `addressForCheckout`).
//!
//! # Layout
//! - this file: the schema, `User`, the account queries and mutations.
//! - [`addresses`]: `Address`, the address mutations, and the internal
//!   `addressForCheckout`.

pub mod addresses;

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, EmptySubscription, ID, InputObject, MergedObject, Object, Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use storefront_shared::ApiError;
use storefront_shared::auth::{Role, ServiceCaller, Viewer};
use storefront_shared::limits::{self, RequestLimits};

use crate::accounts::{Accounts, Session};
use crate::domain::User;
use crate::store::SharedRepository;

/// Queries.
#[derive(MergedObject, Default)]
pub struct Query(AccountQuery, addresses::InternalQuery);

/// Mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(AccountMutation, addresses::AddressMutation);

/// The executable users schema.
pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over `accounts`, refusing requests beyond `limits`.
pub fn schema(accounts: Accounts, limits: &RequestLimits) -> UsersSchema {
    let loader = DataLoader::new(UserLoader(Arc::clone(accounts.repository())), tokio::spawn);
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .enable_federation()
        .data(accounts)
        .data(loader);
    limits::apply(builder, limits).finish()
}

fn accounts<'a>(ctx: &Context<'a>) -> &'a Accounts {
    ctx.data_unchecked::<Accounts>()
}

/// The caller, as the HTTP endpoint put it in the request; anonymous when absent.
fn viewer<'a>(ctx: &Context<'a>) -> &'a Viewer {
    static ANONYMOUS: Viewer = Viewer::Anonymous;
    ctx.data_opt::<Viewer>().unwrap_or(&ANONYMOUS)
}

/// Whether the request carried the service credential; false when absent.
fn service_caller(ctx: &Context<'_>) -> ServiceCaller {
    ctx.data_opt::<ServiceCaller>()
        .copied()
        .unwrap_or(ServiceCaller(false))
}

/// Whether a `User` in this response may show its private fields.
#[derive(Debug, Clone)]
enum Access {
    /// Its owner, an ADMIN or another service is asking.
    Full,
    /// Anyone else: the private fields answer with this error.
    Denied(ApiError),
}

/// Who may see the private fields of the user `user_id` found by an entity lookup.
fn entity_access(ctx: &Context<'_>, user_id: &str) -> Access {
    if service_caller(ctx).0 {
        return Access::Full;
    }
    match viewer(ctx).require_user() {
        Ok(claims) if claims.is_owner_or_admin(user_id) => Access::Full,
        Ok(_) => Access::Denied(ApiError::Forbidden(
            "only the account's owner or an ADMIN may see a user's email, name, role and createdAt"
                .into(),
        )),
        Err(error) => Access::Denied(error),
    }
}

/// An account as clients see it: `id` is public, the other fields are private
/// (see the module doc).
pub struct UserObject {
    user: User,
    access: Access,
}

impl UserObject {
    /// The caller's own account (from `me`, `register`, `login`, `updateProfile`).
    fn own(user: User) -> Self {
        UserObject {
            user,
            access: Access::Full,
        }
    }

    fn private(&self) -> Result<&User, ApiError> {
        match &self.access {
            Access::Full => Ok(&self.user),
            Access::Denied(error) => Err(error.clone()),
        }
    }
}

/// An account. `id` is public; `email`, `name`, `role` and `createdAt` are shown
/// only to the account's owner, an ADMIN, or another Storefront service.
#[Object(name = "User")]
impl UserObject {
    /// The account's id.
    async fn id(&self) -> ID {
        ID(self.user.id.clone())
    }

    /// The normalised (lower-cased) email address. Private.
    async fn email(&self) -> async_graphql::Result<&str> {
        Ok(self.private()?.email.as_str())
    }

    /// The display name. Private.
    async fn name(&self) -> async_graphql::Result<&str> {
        Ok(&self.private()?.name)
    }

    /// CUSTOMER, or ADMIN. Private.
    async fn role(&self) -> async_graphql::Result<Role> {
        Ok(self.private()?.role)
    }

    /// When the account was created. Private.
    async fn created_at(&self) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.private()?.created_at)
    }

    /// The saved addresses: the default first, then the newest first. Only
    /// the account's owner sees them (FORBIDDEN for anyone else).
    async fn addresses(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<addresses::AddressObject>> {
        let claims = viewer(ctx).require_user()?;
        if claims.sub != self.user.id {
            return Err(ApiError::Forbidden(
                "only the account's owner may see its addresses".into(),
            )
            .into());
        }
        let listed = accounts(ctx).addresses().list(&self.user.id).await?;
        Ok(listed.into_iter().map(addresses::AddressObject).collect())
    }
}

/// What `register` and `login` return.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// The access token: send it as `Authorization: Bearer <token>`.
    token: String,
    /// When the token expires.
    expires_at: DateTime<Utc>,
    /// The signed-in account.
    user: UserObject,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        AuthPayload {
            token: session.token.token,
            expires_at: session.token.expires_at,
            user: UserObject::own(session.user),
        }
    }
}

/// A new account.
#[derive(InputObject)]
pub struct RegisterInput {
    /// The email address (case does not matter).
    email: String,
    /// At least 8 and at most 128 characters, and not the email address.
    password: String,
    /// The display name, 1 to 100 characters.
    name: String,
}

/// The account queries and the entity resolver.
#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The caller's account; null without a token.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserObject>> {
        let user = accounts(ctx).viewer_account(viewer(ctx)).await?;
        Ok(user.map(UserObject::own))
    }

    /// Resolves `User` references for other subgraphs (`_entities`): null for
    /// unknown ids; the private fields only for the account's owner, an ADMIN
    /// or a caller with the service credential.
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<UserObject>> {
        let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
        let user = loader.load_one(id.0).await?;
        Ok(user.map(|user| {
            let access = entity_access(ctx, &user.id);
            UserObject { user, access }
        }))
    }
}

/// The account mutations.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and signs it in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let session = accounts(ctx)
            .register(&input.email, &input.password, &input.name)
            .await?;
        Ok(session.into())
    }

    /// Signs in. An unknown email and a wrong password get the same answer.
    /// After repeated failures for the same account or from the same client,
    /// further attempts must wait: too early, the answer is an error with
    /// code TOO_MANY_REQUESTS and `retryAfter` (seconds) in its extensions.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let client = crate::client::current();
        Ok(accounts(ctx).login(&email, &password, client).await?.into())
    }

    /// Replaces the caller's password. Every token issued before, including the
    /// one that made this call, is revoked — at the users service at once, at
    /// every other service within the revocation bound (`TOKEN_VERSION_CACHE_TTL`,
    /// 5 s by default): log in again.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        accounts(ctx)
            .change_password(viewer(ctx), &current_password, &new_password)
            .await?;
        Ok(true)
    }

    /// Logs the caller out everywhere: every token issued to them so far,
    /// including the one that made this call, is revoked — at the users
    /// service at once, at every other service within the revocation bound
    /// (`TOKEN_VERSION_CACHE_TTL`, 5 s by default). Returns true; log in again
    /// for a new token.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        accounts(ctx).logout_everywhere(viewer(ctx)).await?;
        Ok(true)
    }

    /// Sets the caller's display name.
    #[graphql(directive = storefront_shared::graphql::authenticated::apply())]
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<UserObject> {
        let user = accounts(ctx).update_profile(viewer(ctx), &name).await?;
        Ok(UserObject::own(user))
    }
}

/// Loads users by id in batches, one `find_by_ids` per batch.
pub struct UserLoader(SharedRepository);

impl Loader<String> for UserLoader {
    type Value = User;
    type Error = ApiError;

    async fn load(&self, ids: &[String]) -> Result<HashMap<String, User>, ApiError> {
        let users = self.0.find_by_ids(ids).await.map_err(ApiError::from)?;
        Ok(users.into_iter().map(|u| (u.id.clone(), u)).collect())
    }
}
