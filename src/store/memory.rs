//! In-memory stores for host tests. They keep the platform semantics that
//! matter to callers: values are copies (no shared mutation), and a deleted
//! key reads as absent.

use super::{Record, RecordStore, StoreResult};
use async_trait::async_trait;
use std::cell::RefCell;
use std::collections::HashMap;

pub struct MemoryStore<R>(RefCell<HashMap<String, R>>);

impl<R> Default for MemoryStore<R> {
    fn default() -> Self {
        Self(RefCell::new(HashMap::new()))
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
