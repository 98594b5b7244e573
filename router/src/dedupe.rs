//! Single flight: work identical to work already in progress waits for that
//! work's result instead of being done again. Used for subgraph queries
//! ([`crate::client::SubgraphClient::fetch_shared`]) and, when turned on,
//! for whole client queries ([`crate::pipeline::Engine::execute_shared`]).
//!
//! Only callers that arrive while the work is in flight share it; the next
//! caller after it finished starts afresh, so nothing is cached. The map holds
//! weak handles: work whose every waiter went away (clients that hung up) is
//! dropped, never resumed later by a newcomer.

use std::hash::Hash;
use std::sync::{Arc, Mutex};

use apollo_compiler::collections::HashMap;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared, WeakShared};

type Work<V> = Shared<BoxFuture<'static, V>>;

/// Work in flight by key.
pub struct SingleFlight<K, V: Clone> {
    in_flight: Arc<Mutex<HashMap<K, WeakShared<BoxFuture<'static, V>>>>>,
}

impl<K, V: Clone> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            in_flight: Arc::default(),
        }
    }
}

impl<K, V: Clone> Clone for SingleFlight<K, V> {
    fn clone(&self) -> Self {
        SingleFlight {
            in_flight: self.in_flight.clone(),
        }
    }
}

impl<K, V: Clone> std::fmt::Debug for SingleFlight<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleFlight").finish_non_exhaustive()
    }
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The result of the work in flight under `key`, or of `work()` started
    /// now (and shared with whoever asks for `key` until it finishes).
    pub fn run<F, W>(&self, key: K, work: W) -> Shared<BoxFuture<'static, V>>
    where
        W: FnOnce() -> F,
        F: Future<Output = V> + Send + 'static,
    {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let shared = match in_flight.get(&key).and_then(WeakShared::upgrade) {
            Some(shared) => shared,
            None => {
                let work = work();
                let registry = Arc::downgrade(&self.in_flight);
                let done = key.clone();
                let shared: Work<V> = async move {
                    let value = work.await;
                    if let Some(registry) = registry.upgrade() {
                        registry
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&done);
                    }
                    value
                }
                .boxed()
                .shared();
                if let Some(weak) = shared.downgrade() {
                    // Entries of abandoned work have no strong handle left.
                    in_flight.retain(|_, waiting| waiting.upgrade().is_some());
                    in_flight.insert(key, weak);
                }
                shared
            }
        };
        drop(in_flight);
        shared
    }

    /// The work in flight under `key`, if any (to wait for it without
    /// having what it takes to start it).
    pub fn join(&self, key: &K) -> Option<Shared<BoxFuture<'static, V>>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .and_then(WeakShared::upgrade)
    }

    /// How many keys have work in flight.
    pub fn len(&self) -> usize {
        self.in_flight
            .lock()
            .map(|m| m.values().filter(|w| w.upgrade().is_some()).count())
            .unwrap_or(0)
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn callers_that_arrive_while_work_is_in_flight_share_it() {
        let flights = SingleFlight::<&str, usize>::default();
        let started = Arc::new(AtomicUsize::new(0));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let wait = wait.shared();
        let work = |started: Arc<AtomicUsize>, wait: Shared<_>| {
            move || async move {
                let n = started.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = wait.await;
                n
            }
        };
        let first = flights.run("a", work(started.clone(), wait.clone()));
        let second = flights.run("a", work(started.clone(), wait.clone()));
        let other = flights.run("b", work(started.clone(), wait.clone()));
        assert_eq!(flights.len(), 2);
        release.send(()).expect("waiting");
        let (first, second, other) = tokio::join!(first, second, other);
        assert_eq!(started.load(Ordering::SeqCst), 2, "a ran once, b once");
        assert_eq!(first, second);
        assert_ne!(first, other);
        assert!(flights.is_empty(), "finished work leaves the map");
        // After it finished, the same key runs again.
        let again = flights.run("a", work(started.clone(), wait.clone())).await;
        assert_eq!(again, 3);
    }

    #[tokio::test]
    async fn abandoned_work_is_not_resumed_by_a_newcomer() {
        let flights = SingleFlight::<&str, &str>::default();
        let abandoned = flights.run("a", std::future::pending::<&str>);
        drop(abandoned);
        assert!(flights.is_empty());
        let fresh = flights.run("a", || async { "fresh" }).await;
        assert_eq!(fresh, "fresh");
    }
}
