//! Change events for subscriptions, delivered to subscribers on every replica
//! of a service.
//!
//! A service publishes an event right after the store write it describes; a
//! subscription listens on an [`EventBus`] (a `tokio::sync::broadcast`
//! channel per process). How an event reaches the other processes depends
//! on the store:
//!
//! - embedded store ([`EventBus::in_process`]): one process owns the store,
//!   so the channel is the whole story; delivery is immediate.
//! - MongoDB ([`EventBus::outbox`]): the event is also inserted into an
//!   events collection (the outbox: `_id` a time-ordered UUID v7, `at_ms`,
//!   `created` as a date for the TTL index, `payload` as JSON text). Every
//!   process polls that collection, from its start, every [`OutboxSettings::poll_interval`]
//!   for events of the last [`OutboxSettings::lookback`] and fans the ones
//!   it has not delivered yet out to its own channel. Events published by
//!   this process go to its channel at once (and are remembered, so the poll
//!   does not deliver them twice). Old events are removed by a TTL index and
//!   by the poller itself (servers without TTL monitors, such as nx-27017).
//!
//! Change streams are not used: a standalone MongoDB server has none, and
//! polling one indexed collection works on every MongoDB-compatible server.
//! The outbox write follows the store write (no multi-document transactions
//! here): should the process die between the two, subscribers on other
//! replicas miss that one event; subscribers re-read the current state when
//! they fall behind, so they never stay wrong past the next event.
//!
//! # Layout
//! - [`EventBus`]: publish and subscribe; [`OutboxSettings`]: the poller's tuning.
//! - `Outbox` (private): the events collection, its indexes and the poll loop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::TryStreamExt as _;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;

/// How many events a process buffers for a subscriber that is slow to read;
/// past it the subscriber is told it lagged (and re-reads the state it watches).
pub const CHANNEL_CAPACITY: usize = 1024;

/// The name of the events collection in a service's database.
pub const EVENTS_COLLECTION: &str = "events";

/// What may travel as an event.
pub trait Event: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> Event for T {}

/// How the outbox is polled and kept small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxSettings {
    /// How often every process reads new events (the delay of an event
    /// between replicas is at most about this).
    pub poll_interval: Duration,
    /// How far back each poll looks, so an event written late (a slow
    /// insert, a writer's clock behind) is still delivered once.
    pub lookback: Duration,
    /// How long events are kept.
    pub retention: Duration,
    /// The most events one poll reads (it reads again at once when full).
    pub batch: usize,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            poll_interval: Duration::from_millis(100),
            lookback: Duration::from_secs(2),
            retention: Duration::from_secs(10 * 60),
            batch: 500,
        }
    }
}

/// Where events of type `T` are published and subscribed to. Cheap to clone.
pub struct EventBus<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for EventBus<T> {
    fn clone(&self) -> Self {
        EventBus {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<T> {
    sender: broadcast::Sender<T>,
    outbox: Option<Outbox>,
}

struct Outbox {
    events: Collection<Document>,
    settings: OutboxSettings,
    /// Ids delivered to this process's channel, with their `at_ms`.
    seen: Mutex<HashMap<String, i64>>,
}

impl<T: Event> EventBus<T> {
    /// Events that stay in this process (the embedded store).
    pub fn in_process() -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        EventBus {
            inner: Arc::new(Inner {
                sender,
                outbox: None,
            }),
        }
    }

    /// Events that also travel through `events` (a MongoDB collection that
    /// every replica of the service polls), creating its indexes and starting
    /// this process's poll (a task that ends when the bus is dropped).
    pub async fn outbox(
        events: Collection<Document>,
        settings: OutboxSettings,
    ) -> mongodb::error::Result<Self> {
        let retention = settings.retention;
        let indexes = [
            IndexModel::builder()
                .keys(doc! { "at_ms": 1 })
                .options(IndexOptions::builder().name("at".to_owned()).build())
                .build(),
            IndexModel::builder()
                .keys(doc! { "created": 1 })
                .options(
                    IndexOptions::builder()
                        .name("ttl".to_owned())
                        .expire_after(retention)
                        .build(),
                )
                .build(),
        ];
        for index in indexes {
            events.create_index(index).await?;
        }
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        let inner = Arc::new(Inner {
            sender,
            outbox: Some(Outbox {
                events,
                settings,
                seen: Mutex::new(HashMap::new()),
            }),
        });
        // Polled from the start, not from the first subscriber: what the first
        // polls find happened before anyone here listened, and reaches no one.
        tokio::spawn(poll(Arc::downgrade(&inner)));
        Ok(EventBus { inner })
    }

    /// How many receivers this process has (subscriptions listening now).
    pub fn subscribers(&self) -> usize {
        self.inner.sender.receiver_count()
    }

    /// Whether events travel between processes (through the outbox).
    pub fn is_shared(&self) -> bool {
        self.inner.outbox.is_some()
    }

    /// Publishes `event` to this process's subscribers and, with an outbox,
    /// to every other replica's. Never fails the write it follows: an outbox
    /// that cannot be written is logged.
    pub async fn publish(&self, event: T) {
        if let Some(outbox) = &self.inner.outbox {
            match serde_json::to_string(&event) {
                Ok(payload) => {
                    let id = uuid::Uuid::now_v7().to_string();
                    let at_ms = now_ms();
                    outbox.remember(&id, at_ms);
                    let record = doc! {
                        "_id": &id,
                        "at_ms": at_ms,
                        "created": DateTime::from_millis(at_ms),
                        "payload": payload,
                    };
                    if let Err(error) = outbox.events.insert_one(record).await {
                        tracing::warn!(%error, "cannot write a change event to the outbox; other replicas miss it");
                    }
                }
                Err(error) => tracing::error!(%error, "cannot encode a change event"),
            }
        }
        // No subscriber in this process is not an error.
        let _ = self.inner.sender.send(event);
    }

    /// A receiver of every event this process delivers from now on: those
    /// it publishes and, with an outbox, those the poll finds.
    pub fn subscribe(&self) -> broadcast::Receiver<T> {
        self.inner.sender.subscribe()
    }
}

impl Outbox {
    /// Marks `id` as delivered; `false` when it was already.
    fn remember(&self, id: &str, at_ms: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(id.to_owned(), at_ms).is_none()
    }

    fn forget_before(&self, at_ms: i64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, at| *at >= at_ms);
    }

    /// The events at or after `from_ms`, oldest first, at most one batch.
    async fn read(&self, from_ms: i64) -> mongodb::error::Result<Vec<Document>> {
        let limit = i64::try_from(self.settings.batch).unwrap_or(i64::MAX);
        self.events
            .find(doc! { "at_ms": { "$gte": from_ms } })
            .sort(doc! { "at_ms": 1, "_id": 1 })
            .limit(limit)
            .await?
            .try_collect()
            .await
    }
}

/// How many polls pass between two removals of expired events.
const CLEANUP_EVERY: u32 = 600;

/// The poll loop of one process: runs while its [`EventBus`] exists.
async fn poll<T: Event>(bus: Weak<Inner<T>>) {
    let mut polls: u32 = 0;
    let mut from_ms: Option<i64> = None;
    loop {
        let Some(inner) = bus.upgrade() else { return };
        let Some(outbox) = &inner.outbox else { return };
        let settings = outbox.settings;
        let lookback = millis(settings.lookback);
        let floor = from_ms.unwrap_or_else(|| now_ms() - lookback);
        let mut full = false;
        match outbox.read(floor).await {
            Ok(events) => {
                full = events.len() >= settings.batch;
                let last_at = events.last().and_then(|event| event.get_i64("at_ms").ok());
                for event in events {
                    deliver(&inner.sender, outbox, &event);
                }
                // A full batch: read on from its last time, at once (but
                // never stay on one millisecond holding a whole batch).
                from_ms = match last_at {
                    Some(at) if full && at > floor => Some(at),
                    Some(at) if full => Some(at + 1),
                    _ => None,
                };
            }
            Err(error) => tracing::warn!(%error, "cannot read the outbox of change events"),
        }
        outbox.forget_before(now_ms() - 2 * lookback);
        polls = polls.wrapping_add(1);
        if polls.is_multiple_of(CLEANUP_EVERY) {
            let before = now_ms() - millis(settings.retention);
            if let Err(error) = outbox
                .events
                .delete_many(doc! { "at_ms": { "$lt": before } })
                .await
            {
                tracing::warn!(%error, "cannot remove old change events");
            }
        }
        drop(inner);
        if !full {
            tokio::time::sleep(settings.poll_interval).await;
        }
    }
}

fn deliver<T: Event>(sender: &broadcast::Sender<T>, outbox: &Outbox, event: &Document) {
    let (Ok(id), Ok(at_ms), Ok(payload)) = (
        event.get_str("_id"),
        event.get_i64("at_ms"),
        event.get_str("payload"),
    ) else {
        tracing::warn!("skipping a malformed change event in the outbox");
        return;
    };
    if !outbox.remember(id, at_ms) {
        return;
    }
    match serde_json::from_str::<T>(payload) {
        Ok(event) => {
            let _ = sender.send(event);
        }
        Err(error) => tracing::warn!(%error, id, "skipping a change event that does not decode"),
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_process_bus_delivers_to_every_subscriber_in_order() {
        let bus = EventBus::<u32>::in_process();
        let mut first = bus.subscribe();
        let mut second = bus.subscribe();
        bus.publish(1).await;
        bus.publish(2).await;
        for receiver in [&mut first, &mut second] {
            assert_eq!(receiver.recv().await.expect("event"), 1);
            assert_eq!(receiver.recv().await.expect("event"), 2);
        }
        assert!(!bus.is_shared());
    }

    #[tokio::test]
    async fn a_subscriber_only_sees_events_published_after_it_subscribed() {
        let bus = EventBus::<u32>::in_process();
        bus.publish(1).await;
        let mut receiver = bus.subscribe();
        bus.publish(2).await;
        assert_eq!(receiver.recv().await.expect("event"), 2);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_it_lagged() {
        let bus = EventBus::<usize>::in_process();
        let mut receiver = bus.subscribe();
        for n in 0..CHANNEL_CAPACITY + 5 {
            bus.publish(n).await;
        }
        assert!(matches!(
            receiver.recv().await,
            Err(broadcast::error::RecvError::Lagged(5))
        ));
    }
}
