//! Containers that a router clone shares with the router it came from, so that a delta's changes cost what they
//! touch rather than the size of the Gateway.
//!
//! Each splits its contents into pieces behind `Arc`s: a clone copies the piece pointers only, and a change copies
//! (on write) the one piece it touches. With 50,000 vhosts a touched piece holds about 200 of them.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::hash::{FxHashMap, FxHasher};

/// Number of shards of a [`ShardedMap`].
const SHARDS: usize = 256;

/// A hash map in [`SHARDS`] copy-on-write shards, chosen by the key's hash.
#[derive(Debug, Clone)]
pub struct ShardedMap<K, V> {
    shards: Vec<Arc<FxHashMap<K, V>>>,
    len: usize,
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| Arc::default()).collect(), len: 0 }
    }
}

fn shard_of<Q: Hash + ?Sized>(key: &Q) -> usize {
    let mut hasher = FxHasher::default();
    key.hash(&mut hasher);
    // The multiply leaves its best-mixed bits at the top.
    usize::try_from(hasher.finish() >> 56).unwrap_or(0) % SHARDS
}

impl<K: Hash + Eq + Clone, V: Clone> ShardedMap<K, V> {
    /// The value of `key`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.shards[shard_of(key)].get(key)
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = Arc::make_mut(&mut self.shards[shard_of(&key)]).insert(key, value);
        self.len += usize::from(old.is_none());
        old
    }

    /// Removes `key`, returning its value; copies no shard when the key is absent.
    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let shard = &mut self.shards[shard_of(key)];
        if !shard.contains_key(key) {
            return None;
        }
        let old = Arc::make_mut(shard).remove(key);
        self.len -= usize::from(old.is_some());
        old
    }

    /// Whether the map is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|shard| shard.iter())
    }
}

/// Entries per chunk of a [`ChunkedVec`].
const CHUNK: usize = 256;

/// A vector in copy-on-write chunks of [`CHUNK`] entries.
#[derive(Debug, Clone, Default)]
pub struct ChunkedVec<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T: Clone> ChunkedVec<T> {
    /// The entry at `index`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    /// The entry at `index`, to change.
    ///
    /// # Panics
    ///
    /// When `index` is out of bounds, as a slice does.
    pub fn get_mut(&mut self, index: usize) -> &mut T {
        &mut Arc::make_mut(&mut self.chunks[index / CHUNK])[index % CHUNK]
    }

    /// Appends an entry.
    pub fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => Arc::make_mut(chunk).push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(Arc::new(chunk));
            }
        }
        self.len += 1;
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_shares_what_neither_changes_and_sees_none_of_the_other_s_changes() {
        let mut map: ShardedMap<String, u32> = ShardedMap::default();
        for i in 0..1000 {
            map.insert(format!("k{i}"), i);
        }
        let mut copy = map.clone();
        assert_eq!(copy.insert("k1".into(), 7), Some(1));
        assert_eq!(copy.remove("k2"), Some(2));
        assert_eq!(copy.remove("absent"), None);
        assert_eq!(
            (map.get("k1"), map.get("k2"), copy.get("k1"), copy.get("k2")),
            (Some(&1), Some(&2), Some(&7), None)
        );
        assert_eq!((map.len, copy.len), (1000, 999));
        let shared = map.shards.iter().zip(&copy.shards).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert!(shared >= SHARDS - 2, "only the touched shards were copied ({shared} shared)");
        assert!(!map.is_empty() && ShardedMap::<String, u32>::default().is_empty());

        let mut vec = ChunkedVec::default();
        for i in 0..1000 {
            vec.push(i);
        }
        let mut copy = vec.clone();
        *copy.get_mut(300) = 0;
        copy.push(1000);
        assert_eq!(
            (vec.get(300), copy.get(300), vec.get(1000), copy.get(1000)),
            (Some(&300), Some(&0), None, Some(&1000))
        );
        assert_eq!((vec.len(), copy.len()), (1000, 1001));
        assert!(Arc::ptr_eq(&vec.chunks[0], &copy.chunks[0]) && !Arc::ptr_eq(&vec.chunks[1], &copy.chunks[1]));
    }
}
