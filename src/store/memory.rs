//! In-memory stores for host tests. They keep the platform semantics that
//! matter to callers: values are copies (no shared mutation), and a deleted
//! key reads as absent.

use super::{GrantStore, Listed, ObjectStore, Record, RecordList, RecordStore, StoreResult};
use crate::protocol::grant::{apply, Grant, GrantOp, GrantReply};
use crate::protocol::object::Machine;
use async_trait::async_trait;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// Kept in key order, as KV lists them.
pub struct MemoryStore<R>(RefCell<BTreeMap<String, R>>);

impl<R> Default for MemoryStore<R> {
    fn default() -> Self {
        Self(RefCell::new(BTreeMap::new()))
    }
}

#[async_trait(?Send)]
impl<R: Record> RecordStore<R> for MemoryStore<R> {
    async fn get(&self, key: &str) -> StoreResult<Option<R>> {
        Ok(self.0.borrow().get(key).cloned())
    }
    async fn put(&self, record: &R) -> StoreResult<()> {
        self.0.borrow_mut().insert(record.key().to_string(), record.clone());
        Ok(())
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.0.borrow_mut().remove(key);
        Ok(())
    }
}

/// Pages of at most two keys, so that host tests follow cursors as they
/// must on KV (whose pages may be short too); the cursor is the last key.
#[async_trait(?Send)]
impl<R: Record> RecordList<R> for MemoryStore<R> {
    async fn keys(
        &self,
        start: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> StoreResult<(Vec<Listed>, Option<String>)> {
        let records = self.0.borrow();
        let after = |(k, _): &(&String, &R)| cursor.as_ref().is_none_or(|c| *k > c);
        let mut matching = records.iter().filter(|(k, _)| k.starts_with(start)).filter(after);
        let page: Vec<Listed> = matching
            .by_ref()
            .take(limit.min(2))
            .map(|(k, r)| Listed {
                key: k.clone(),
                metadata: r.metadata(),
            })
            .collect();
        let next = matching.next().and(page.last().map(|l| l.key.clone()));
        Ok((page, next))
    }
}

/// Grants in memory: the same `apply` the Durable Object runs, so the
/// host tests exercise the real decision code.
#[derive(Default)]
pub struct MemoryGrants {
    grants: RefCell<HashMap<String, Option<Grant>>>,
}

#[cfg(test)]
impl MemoryGrants {
    /// How many grants are stored.
    pub fn stored(&self) -> usize {
        self.grants.borrow().values().filter(|g| g.is_some()).count()
    }
}

#[async_trait(?Send)]
impl GrantStore for MemoryGrants {
    fn new_id(&self) -> StoreResult<String> {
        Ok(crate::random::id())
    }

    async fn apply(&self, id: &str, op: GrantOp, now: u64) -> StoreResult<GrantReply> {
        let mut grants = self.grants.borrow_mut();
        let slot = grants.entry(id.to_string()).or_default();
        Ok(apply(slot, op, now))
    }
}

/// Named objects in memory, running the same `Machine` as the platform's.
pub struct MemoryObjects<M: Machine>(RefCell<HashMap<String, Option<M::State>>>);

impl<M: Machine> Default for MemoryObjects<M> {
    fn default() -> Self {
        Self(RefCell::new(HashMap::new()))
    }
}

impl<M: Machine> MemoryObjects<M> {
    pub fn state(&self, name: &str) -> Option<M::State> {
        self.0.borrow().get(name).cloned().flatten()
    }
}

#[async_trait(?Send)]
impl<M: Machine> ObjectStore<M> for MemoryObjects<M> {
    async fn apply(&self, name: &str, op: M::Op, now: u64) -> StoreResult<M::Reply> {
        let mut objects = self.0.borrow_mut();
        Ok(M::apply(objects.entry(name.to_string()).or_default(), op, now))
    }
}
