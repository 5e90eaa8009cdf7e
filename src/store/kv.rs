//! Workers KV implementation of [`RecordStore`].

use super::{Record, RecordStore, StoreError, StoreResult};
use async_trait::async_trait;
use worker::kv::KvStore;

pub struct KvRecords(pub KvStore);

fn kv_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("kv: {e}"))
}

#[async_trait(?Send)]
impl<R: Record> RecordStore<R> for KvRecords {
    async fn get(&self, key: &str) -> StoreResult<Option<R>> {
        let text = self
            .0
            .get(&format!("{}{key}", R::PREFIX))
            .text()
            .await
            .map_err(kv_err)?;
        text.map(|t| serde_json::from_str(&t).map_err(kv_err)).transpose()
    }

    async fn put(&self, record: &R) -> StoreResult<()> {
        let json = serde_json::to_string(record).map_err(kv_err)?;
        let mut put = self
            .0
            .put(&format!("{}{}", R::PREFIX, record.key()), json)
            .map_err(kv_err)?;
        if let Some(at) = record.expires_at() {
            // KV refuses expirations under 60 s away; the record carries its
            // own expiry and is checked on read, so a late purge is harmless.
            put = put.expiration(at.max(crate::platform::now_secs() + 120));
        }
        put.execute().await.map_err(kv_err)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.0.delete(&format!("{}{key}", R::PREFIX)).await.map_err(kv_err)
    }
}
