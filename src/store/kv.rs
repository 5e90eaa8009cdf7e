//! Workers KV implementation of [`RecordStore`].

use super::{kv_key, Listed, Record, RecordList, RecordStore, StoreError, StoreResult};
use async_trait::async_trait;
use worker::kv::KvStore;
use worker::Env;

pub struct KvRecords(pub KvStore);

fn kv_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("kv: {e}"))
}

impl KvRecords {
    /// The `OIDC_KV` namespace (a call into JavaScript: fetch it when needed).
    pub fn bind(env: &Env) -> StoreResult<Self> {
        env.kv("OIDC_KV").map(Self).map_err(kv_err)
    }
}

// The KV calls, once: each record type's `RecordStore` is only its JSON
// on top, so the awaits are not compiled again per type.
impl KvRecords {
    async fn get_text(&self, prefix: &str, key: &str) -> StoreResult<Option<String>> {
        let Some(key) = kv_key(prefix, key) else {
            return Ok(None);
        };
        self.0.get(&key).text().await.map_err(kv_err)
    }

    async fn put_json(
        &self,
        prefix: &str,
        key: &str,
        json: &str,
        expires_at: Option<u64>,
        metadata: Option<serde_json::Value>,
    ) -> StoreResult<()> {
        let key = kv_key(prefix, key).ok_or_else(|| kv_err("the key is too long"))?;
        // The JSON's UTF-8 bytes, which `get(..).text()` reads back as the
        // same text: `KvStore::put` would first run the string through
        // serde_wasm_bindgen's serializer to arrive at the same value.
        let mut put = self.0.put_bytes(&key, json.as_bytes()).map_err(kv_err)?;
        if let Some(at) = expires_at {
            // KV refuses expirations under 60 s away; the record carries its
            // own expiry and is checked on read, so a late purge is harmless.
            put = put.expiration(at.max(crate::platform::now_secs() + 120));
        }
        if let Some(metadata) = metadata {
            put = put.metadata(metadata).map_err(kv_err)?;
        }
        put.execute().await.map_err(kv_err)
    }

    async fn delete_key(&self, prefix: &str, key: &str) -> StoreResult<()> {
        match kv_key(prefix, key) {
            Some(key) => self.0.delete(&key).await.map_err(kv_err),
            None => Ok(()),
        }
    }

    async fn list_keys(
        &self,
        prefix: &str,
        start: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> StoreResult<(Vec<Listed>, Option<String>)> {
        let mut list = self
            .0
            .list()
            .prefix(format!("{prefix}{start}"))
            .limit(limit.clamp(1, LIST_MAX) as u64);
        if let Some(c) = cursor {
            list = list.cursor(c);
        }
        let page = list.execute().await.map_err(kv_err)?;
        let keys = page
            .keys
            .into_iter()
            .filter_map(|k| {
                Some(Listed {
                    key: k.name.strip_prefix(prefix)?.to_owned(),
                    metadata: k.metadata,
                })
            })
            .collect();
        Ok((keys, page.cursor.filter(|_| !page.list_complete)))
    }
}

#[async_trait(?Send)]
impl<R: Record> RecordStore<R> for KvRecords {
    async fn get(&self, key: &str) -> StoreResult<Option<R>> {
        let text = self.get_text(R::PREFIX, key).await?;
        text.map(|t| serde_json::from_str(&t).map_err(kv_err)).transpose()
    }

    async fn put(&self, record: &R) -> StoreResult<()> {
        let json = serde_json::to_string(record).map_err(kv_err)?;
        self.put_json(R::PREFIX, record.key(), &json, record.expires_at(), record.metadata())
            .await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.delete_key(R::PREFIX, key).await
    }
}

/// KV lists at most 1000 keys a call.
const LIST_MAX: usize = 1000;

#[async_trait(?Send)]
impl<R: Record> RecordList<R> for KvRecords {
    async fn keys(
        &self,
        start: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> StoreResult<(Vec<Listed>, Option<String>)> {
        self.list_keys(R::PREFIX, start, cursor, limit).await
    }
}
