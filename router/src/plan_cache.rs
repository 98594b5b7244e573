//! The plan cache: prepared operations by a SHA-256 of (document, operation
//! name), bounded by an estimate of their size in bytes and by a count. No
//! query text is kept as a key; the entry's own document is counted.

use std::sync::Arc;

use lru::LruCache;
use sha2::{Digest, Sha256};

/// A cache key: SHA-256 of the document and the operation name.
pub type Key = [u8; 32];

/// The key of (`query`, `operation_name`); the two parts cannot run into
/// each other (the query's length comes first).
pub fn key(query: &str, operation_name: Option<&str>) -> Key {
    let mut hash = Sha256::new();
    hash.update((query.len() as u64).to_le_bytes());
    hash.update(query.as_bytes());
    match operation_name {
        Some(name) => {
            hash.update([1]);
            hash.update(name.as_bytes());
        }
        None => hash.update([0]),
    }
    hash.finalize().into()
}

/// Least-recently-used entries with their estimated sizes.
pub struct PlanCache<T: ?Sized> {
    entries: LruCache<Key, (Arc<T>, usize)>,
    bytes: usize,
    max_bytes: usize,
    max_entries: usize,
}

impl<T: ?Sized> PlanCache<T> {
    /// A cache of at most `max_entries` entries and `max_bytes` bytes.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        PlanCache {
            entries: LruCache::unbounded(),
            bytes: 0,
            max_bytes,
            max_entries: max_entries.max(1),
        }
    }

    /// The entry of `key`, now the most recently used.
    pub fn get(&mut self, key: &Key) -> Option<Arc<T>> {
        self.entries.get(key).map(|(value, _)| value.clone())
    }

    /// Caches `value` of estimated size `bytes`, evicting the least recently
    /// used entries to stay within both bounds. A value larger than the whole
    /// budget is not cached.
    pub fn insert(&mut self, key: Key, value: Arc<T>, bytes: usize) {
        if bytes > self.max_bytes {
            return;
        }
        if let Some((_, old)) = self.entries.put(key, (value, bytes)) {
            self.bytes -= old;
        }
        self.bytes += bytes;
        while self.bytes > self.max_bytes || self.entries.len() > self.max_entries {
            match self.entries.pop_lru() {
                Some((_, (_, size))) => self.bytes -= size,
                None => break,
            }
        }
    }

    /// How many entries are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The estimated size of every entry, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_entries_to_stay_under_the_byte_budget() {
        let mut cache = PlanCache::new(100, 1000);
        cache.insert(key("a", None), Arc::new(1), 400);
        cache.insert(key("b", None), Arc::new(2), 400);
        assert!(cache.get(&key("a", None)).is_some());
        cache.insert(key("c", None), Arc::new(3), 400);
        assert_eq!(cache.bytes(), 800);
        assert!(
            cache.get(&key("b", None)).is_none(),
            "b was least recently used"
        );
        assert!(cache.get(&key("a", None)).is_some());
        cache.insert(key("huge", None), Arc::new(4), 1001);
        assert!(cache.get(&key("huge", None)).is_none());
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn the_count_bounds_too_and_replacing_keeps_the_account() {
        let mut cache = PlanCache::new(2, 1000);
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            cache.insert(key(name, None), Arc::new(i), 10);
        }
        assert_eq!((cache.len(), cache.bytes()), (2, 20));
        cache.insert(key("c", None), Arc::new(9), 30);
        assert_eq!((cache.len(), cache.bytes()), (2, 40));
    }

    #[test]
    fn keys_tell_operation_names_apart() {
        assert_ne!(key("q", None), key("q", Some("")));
        assert_ne!(key("q", Some("A")), key("q", Some("B")));
        assert_eq!(key("q", Some("A")), key("q", Some("A")));
    }
}
