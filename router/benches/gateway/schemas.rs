//! The four subgraphs of the graphql-gateways-benchmark workload as
//! `async-graphql` schemas of the benchmark's shape (its types, fields, keys,
//! `@external`, `@requires` and `@provides`, its extensions of `Query`,
//! `Product` and `User`) over [`crate::data`], so a router gets from them the
//! answers the benchmark's own subgraphs give:
//!
//! ```graphql
//! # accounts
//! extend type Query { me: User  user(id: ID!): User  users: [User] }
//! type User @key(fields: "id") { id: ID!  name: String  username: String  birthday: Int }
//! # inventory
//! extend type Product @key(fields: "upc") {
//!   upc: String! @external  weight: Int @external  price: Int @external  inStock: Boolean
//!   shippingEstimate: Int @requires(fields: "price weight")
//! }
//! # products
//! extend type Query { topProducts(first: Int = 5): [Product] }
//! type Product @key(fields: "upc") { upc: String!  name: String  price: Int  weight: Int }
//! # reviews
//! type Review @key(fields: "id") { id: ID!  body: String  product: Product  author: User @provides(fields: "username") }
//! extend type User @key(fields: "id") { id: ID! @external  username: String @external  reviews: [Review] }
//! extend type Product @key(fields: "upc") { upc: String! @external  reviews: [Review] }
//! ```

use async_graphql::{
    ComplexObject, EmptyMutation, EmptySubscription, ID, MaybeUndefined, Object, Schema,
    SimpleObject,
};

use crate::data;

/// A subgraph's schema.
pub type SubgraphSchema<Q> = Schema<Q, EmptyMutation, EmptySubscription>;

fn federated<Q: async_graphql::ObjectType + 'static>(query: Q) -> SubgraphSchema<Q> {
    Schema::build(query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

pub mod accounts {
    use super::*;

    #[derive(SimpleObject)]
    pub struct User {
        id: ID,
        name: Option<String>,
        username: Option<String>,
        birthday: Option<i32>,
    }

    impl From<&data::User> for User {
        fn from(user: &data::User) -> Self {
            User {
                id: ID(user.id.into()),
                name: Some(user.name.into()),
                username: Some(user.username.into()),
                birthday: Some(user.birthday),
            }
        }
    }

    pub struct Query;

    #[Object(extends)]
    impl Query {
        async fn me(&self) -> Option<User> {
            Some(data::AUTHOR.into())
        }

        async fn user(&self, id: ID) -> Option<User> {
            data::user_by_id(&id).map(User::from)
        }

        async fn users(&self) -> Option<Vec<Option<User>>> {
            Some(data::USERS.iter().map(|u| Some(u.into())).collect())
        }

        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> Option<User> {
            data::user_by_id(&id).map(User::from)
        }
    }

    pub fn schema() -> SubgraphSchema<Query> {
        federated(Query)
    }
}

pub mod inventory {
    use super::*;

    #[derive(SimpleObject)]
    #[graphql(extends, complex)]
    pub struct Product {
        #[graphql(external)]
        upc: String,
        #[graphql(external)]
        weight: Option<i64>,
        #[graphql(external)]
        price: Option<i64>,
        in_stock: Option<bool>,
    }

    #[ComplexObject]
    impl Product {
        #[graphql(requires = "price weight")]
        async fn shipping_estimate(&self) -> Option<i64> {
            data::SHIPPING_ESTIMATE
        }
    }

    pub struct Query;

    #[Object(extends)]
    impl Query {
        /// The representation must carry the `@requires` fields `price` and
        /// `weight` (a router that leaves them out gets an error, not the
        /// right answer); like the benchmark's, this subgraph answers from the
        /// key alone.
        #[graphql(entity)]
        async fn find_product_by_upc(
            &self,
            #[graphql(key)] upc: String,
            price: MaybeUndefined<i64>,
            weight: MaybeUndefined<i64>,
        ) -> async_graphql::Result<Option<Product>> {
            if price.is_undefined() || weight.is_undefined() {
                return Err(format!(
                    "the representation of Product {upc} lacks the price and weight that shippingEstimate @requires"
                )
                .into());
            }
            Ok(data::product_by_upc(&upc).map(|p| Product {
                upc: p.upc.into(),
                weight: None,
                price: None,
                in_stock: Some(p.in_stock),
            }))
        }
    }

    pub fn schema() -> SubgraphSchema<Query> {
        federated(Query)
    }
}

pub mod products {
    use super::*;

    #[derive(SimpleObject)]
    pub struct Product {
        upc: String,
        name: Option<String>,
        price: Option<i64>,
        weight: Option<i64>,
    }

    impl From<&data::Product> for Product {
        fn from(p: &data::Product) -> Self {
            Product {
                upc: p.upc.into(),
                name: Some(p.name.into()),
                price: Some(p.price),
                weight: Some(p.weight),
            }
        }
    }

    pub struct Query;

    #[Object(extends)]
    impl Query {
        async fn top_products(
            &self,
            #[graphql(default = 5)] first: Option<i32>,
        ) -> Option<Vec<Option<Product>>> {
            let first = first.unwrap_or(data::TOP_PRODUCTS_DEFAULT).max(0);
            Some(
                data::PRODUCTS
                    .iter()
                    .take(usize::try_from(first).unwrap_or(0))
                    .map(|p| Some(p.into()))
                    .collect(),
            )
        }

        #[graphql(entity)]
        async fn find_product_by_upc(&self, upc: String) -> Option<Product> {
            data::product_by_upc(&upc).map(Product::from)
        }
    }

    pub fn schema() -> SubgraphSchema<Query> {
        federated(Query)
    }
}

pub mod reviews {
    use super::*;

    #[derive(SimpleObject)]
    #[graphql(complex)]
    pub struct Review {
        id: ID,
        body: Option<String>,
        product: Option<Product>,
    }

    impl From<&data::Review> for Review {
        fn from(r: &data::Review) -> Self {
            Review {
                id: ID(r.id.into()),
                body: Some(r.body.into()),
                product: Some(Product {
                    upc: r.product_upc.into(),
                }),
            }
        }
    }

    #[ComplexObject]
    impl Review {
        #[graphql(provides = "username")]
        async fn author(&self) -> Option<User> {
            Some(User {
                id: ID(data::AUTHOR.id.into()),
                username: Some(data::AUTHOR.username.into()),
            })
        }
    }

    #[derive(SimpleObject)]
    #[graphql(extends, complex)]
    pub struct User {
        #[graphql(external)]
        id: ID,
        #[graphql(external)]
        username: Option<String>,
    }

    #[ComplexObject]
    impl User {
        async fn reviews(&self) -> Option<Vec<Option<Review>>> {
            Some(
                data::reviews_of_user()
                    .iter()
                    .map(|r| Some(r.into()))
                    .collect(),
            )
        }
    }

    #[derive(SimpleObject)]
    #[graphql(extends, complex)]
    pub struct Product {
        #[graphql(external)]
        upc: String,
    }

    #[ComplexObject]
    impl Product {
        async fn reviews(&self) -> Option<Vec<Option<Review>>> {
            Some(
                data::reviews_of_product(&self.upc)
                    .map(|r| Some(r.into()))
                    .collect(),
            )
        }
    }

    pub struct Query;

    #[Object(extends)]
    impl Query {
        #[graphql(entity)]
        async fn find_review_by_id(&self, id: ID) -> Option<Review> {
            data::review_by_id(&id).map(Review::from)
        }

        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> User {
            User {
                id,
                username: Some(data::REVIEWS_ENTITY_USERNAME.into()),
            }
        }

        #[graphql(entity)]
        async fn find_product_by_upc(&self, upc: String) -> Product {
            Product { upc }
        }
    }

    pub fn schema() -> SubgraphSchema<Query> {
        federated(Query)
    }
}
