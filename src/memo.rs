//! Per-isolate caches. `Memo`: the value made for the last key asked about;
//! documents that change only with their inputs (discovery with the issuer,
//! the JWK set with the key ring) are built once, not per request.
//! `TtlCache`: records read from KV, kept for a few seconds each.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::HashMap;

pub struct Memo<K, V>(RefCell<Option<(K, V)>>);

impl<K: PartialEq, V: Clone> Memo<K, V> {
    pub const fn new() -> Self {
        Self(RefCell::new(None))
    }

    /// The value for `key`, made by `make` unless the last key was the same.
    /// The key is compared borrowed and copied only when the value is made.
    pub fn get_or<Q>(&self, key: &Q, make: impl FnOnce(&Q) -> V) -> V
    where
        K: Borrow<Q>,
        Q: PartialEq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some((k, v)) = self.0.borrow().as_ref() {
            if k.borrow() == key {
                return v.clone();
            }
        }
        let v = make(key);
        *self.0.borrow_mut() = Some((key.to_owned(), v.clone()));
        v
    }
}

impl<K: PartialEq, V: Clone> Default for Memo<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Records by key, each kept for `ttl` seconds from when it was read, at
/// most `max` of them: a full cache is emptied, which is simpler than
/// eviction and costs only the reads that refill it.
pub struct TtlCache<V> {
    ttl: u64,
    max: usize,
    entries: RefCell<HashMap<String, (u64, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: u64, max: usize) -> Self {
        Self {
            ttl,
            max,
            entries: RefCell::new(HashMap::new()),
        }
    }

    /// The value read at most `ttl` seconds before `now`.
    pub fn get(&self, key: &str, now: u64) -> Option<V> {
        self.get_with_age(key, now).map(|(_, v)| v)
    }

    /// [`get`](Self::get), with how many seconds ago the value was read:
    /// for callers that keep some values for less than `ttl`.
    pub fn get_with_age(&self, key: &str, now: u64) -> Option<(u64, V)> {
        self.entries
            .borrow()
            .get(key)
            .filter(|(at, _)| now < at + self.ttl)
            .map(|(at, v)| (now.saturating_sub(*at), v.clone()))
    }

    pub fn put(&self, key: &str, now: u64, value: V) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= self.max {
            entries.clear();
        }
        entries.insert(key.to_string(), (now, value));
    }

    pub fn forget(&self, key: &str) {
        self.entries.borrow_mut().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::{Memo, TtlCache};
    use std::cell::Cell;

    #[test]
    fn ttl_cache_keeps_entries_for_their_ttl_and_stays_bounded() {
        let cache = TtlCache::new(30, 2);
        cache.put("a", 100, 1);
        assert_eq!(cache.get("a", 129), Some(1));
        assert_eq!(cache.get_with_age("a", 129), Some((29, 1)));
        assert_eq!(cache.get_with_age("a", 130), None);
        assert_eq!(cache.get("a", 130), None);
        cache.put("b", 100, 2);
        cache.forget("b");
        assert_eq!(cache.get("b", 101), None);
        cache.put("b", 100, 2);
        cache.put("c", 100, 3); // full: emptied first
        assert_eq!(
            (cache.get("a", 101), cache.get("b", 101), cache.get("c", 101)),
            (None, None, Some(3))
        );
    }

    #[test]
    fn makes_once_per_key_change() {
        let made = Cell::new(0);
        let memo: Memo<String, String> = Memo::new();
        let make = |k: &str| {
            made.set(made.get() + 1);
            format!("doc for {k}")
        };
        assert_eq!(memo.get_or("a", make), "doc for a");
        assert_eq!(memo.get_or("a", make), "doc for a");
        assert_eq!(made.get(), 1);
        assert_eq!(memo.get_or("b", make), "doc for b");
        assert_eq!(memo.get_or("a", make), "doc for a");
        assert_eq!(made.get(), 3);
    }
}
