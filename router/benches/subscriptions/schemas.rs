//! The bench's two subgraphs as `async-graphql` schemas:
//!
//! ```graphql
//! # ticker: the subscription's root field
//! type Query { tickerVersion: Int! }
//! type Subscription { ticks(stream: Int!): Tick! }
//! type Tick { stream: Int!  seq: Int!  emittedAtUs: Float!  item: Item! }
//! type Item @key(fields: "id") { id: ID! }
//! # catalog: what every event's entity fetch asks
//! type Query { item(id: ID!): Item }
//! type Item @key(fields: "id") { id: ID!  name: String!  price: Int! }
//! ```
//!
//! `ticks(stream:)` emits one [`Tick`] every `interval` (the first one
//! `interval` after the subscription starts), numbered from 1, stamped with
//! the wall clock in microseconds when the resolver makes it — the start of
//! the latency the client measures. Each event is executed by async-graphql
//! (nothing is memoised) and names an `Item` the router must fetch from
//! `catalog` (`_entities`, executed there too).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};
use futures::Stream;

/// How many distinct items the ticks name (`stream % ITEMS`).
pub const ITEMS: i32 = 100;

/// The name `catalog` gives item `id`: what the client checks to know the
/// entity fetch ran.
pub fn item_name(id: &str) -> String {
    format!("item {id}")
}

/// The price `catalog` gives item `id`.
fn item_price(id: &str) -> i32 {
    id.bytes()
        .fold(7i32, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(i32::from(b))
        })
        .rem_euclid(10_000)
}

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_micros() as f64)
}

pub mod ticker {
    use super::*;

    /// One event.
    #[derive(SimpleObject)]
    pub struct Tick {
        stream: i32,
        seq: i32,
        emitted_at_us: f64,
        item: Item,
    }

    /// The item a tick names; `catalog` owns its other fields.
    #[derive(SimpleObject)]
    pub struct Item {
        id: ID,
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn ticker_version(&self) -> i32 {
            1
        }

        #[graphql(entity)]
        async fn find_item_by_id(&self, id: ID) -> Item {
            Item { id }
        }
    }

    pub struct Subscription {
        pub interval: Duration,
    }

    #[async_graphql::Subscription]
    impl Subscription {
        /// One tick every interval, numbered from 1.
        async fn ticks(&self, stream: i32) -> impl Stream<Item = Tick> {
            let period = self.interval;
            let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            futures::stream::unfold((timer, 0), move |(mut timer, seq)| async move {
                timer.tick().await;
                let seq = seq + 1;
                let tick = Tick {
                    stream,
                    seq,
                    emitted_at_us: now_us(),
                    item: Item {
                        id: ID(stream.rem_euclid(ITEMS).to_string()),
                    },
                };
                Some((tick, (timer, seq)))
            })
        }
    }

    pub type TickerSchema = Schema<Query, EmptyMutation, Subscription>;

    pub fn schema(interval: Duration) -> TickerSchema {
        Schema::build(Query, EmptyMutation, Subscription { interval })
            .enable_federation()
            .enable_subscription_in_federation()
            .finish()
    }
}

pub mod catalog {
    use super::*;

    #[derive(SimpleObject)]
    pub struct Item {
        id: ID,
        name: String,
        price: i32,
    }

    impl Item {
        fn new(id: ID) -> Self {
            Item {
                name: item_name(&id),
                price: item_price(&id),
                id,
            }
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn item(&self, id: ID) -> Option<Item> {
            Some(Item::new(id))
        }

        #[graphql(entity)]
        async fn find_item_by_id(&self, id: ID) -> Item {
            Item::new(id)
        }
    }

    pub type CatalogSchema = Schema<Query, EmptyMutation, EmptySubscription>;

    pub fn schema() -> CatalogSchema {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}
