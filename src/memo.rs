//! A one-entry memo for per-isolate caches: the value made for the last key
//! asked about. Documents that change only with their inputs (discovery with
//! the issuer, the JWK set with the key ring) are built once, not per request.

use std::borrow::Borrow;
use std::cell::RefCell;

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

#[cfg(test)]
mod tests {
    use super::Memo;
    use std::cell::Cell;

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
