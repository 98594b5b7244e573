//! The users subgraph's GraphQL schema (Federation v2): `User @key(fields: "id")`,
//! `me`, `register`, `login`, `changePassword`, `updateProfile`, and the entity
//! resolver `find_user_by_id`, batched through a [`DataLoader`] so `_entities`
//! with N users costs one store query.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, EmptySubscription, ID, InputObject, Object, Schema, SimpleObject};
use chrono::{DateTime, Utc};
use storefront_shared::ApiError;
use storefront_shared::auth::{Role, Viewer};
use storefront_shared::limits::{self, RequestLimits};

use crate::accounts::{Accounts, Session};
use crate::domain::User;
use crate::store::SharedRepository;

/// The executable users schema.
pub type UsersSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over `accounts`, refusing requests beyond `limits`.
pub fn schema(accounts: Accounts, limits: &RequestLimits) -> UsersSchema {
    let loader = DataLoader::new(UserLoader(Arc::clone(accounts.repository())), tokio::spawn);
    let builder = Schema::build(Query, Mutation, EmptySubscription)
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

/// An account, as clients see it.
#[Object]
impl User {
    /// The account's id.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The normalised (lower-cased) email address.
    async fn email(&self) -> &str {
        self.email.as_str()
    }

    /// The display name.
    async fn name(&self) -> &str {
        &self.name
    }

    /// CUSTOMER, or ADMIN.
    async fn role(&self) -> Role {
        self.role
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
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
    user: User,
}

impl From<Session> for AuthPayload {
    fn from(session: Session) -> Self {
        AuthPayload {
            token: session.token.token,
            expires_at: session.token.expires_at,
            user: session.user,
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

/// Queries.
pub struct Query;

#[Object]
impl Query {
    /// The caller's account; null without a token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(accounts(ctx).viewer_account(viewer(ctx)).await?)
    }

    /// Resolves `User` references for other subgraphs (`_entities`).
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
        loader.load_one(id.0).await.map_err(Into::into)
    }
}

/// Mutations.
pub struct Mutation;

#[Object]
impl Mutation {
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
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(accounts(ctx).login(&email, &password).await?.into())
    }

    /// Replaces the caller's password. Every token issued before, including the
    /// one that made this call, stops working at the users service: log in again.
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

    /// Sets the caller's display name.
    async fn update_profile(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<User> {
        Ok(accounts(ctx).update_profile(viewer(ctx), &name).await?)
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
