//! Storage behind small traits. Clients and users live in Workers KV
//! (eventually consistent, changed rarely); grants and signing keys live in
//! Durable Objects. The in-memory implementations mirror the platform ones so
//! grants and endpoints logic can be tested on the host.

use crate::protocol::client::ClientRecord;
use crate::protocol::user::UserRecord;
use async_trait::async_trait;

pub mod memory;

#[cfg(target_arch = "wasm32")]
pub mod keys;
#[cfg(target_arch = "wasm32")]
pub mod kv;
#[cfg(target_arch = "wasm32")]
pub mod webcrypto;

/// A storage or platform failure. Its text is logged, never sent to clients
/// (they get a generic `server_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A record kept in KV under `PREFIX` + its key. KV suits these: they change
/// rarely and may take a minute to reach other locations.
pub trait Record: Clone + serde::Serialize + serde::de::DeserializeOwned {
    const PREFIX: &'static str;
    fn key(&self) -> &str;
}

impl Record for ClientRecord {
    const PREFIX: &'static str = "client:";
    fn key(&self) -> &str {
        &self.client_id
    }
}

impl Record for UserRecord {
    const PREFIX: &'static str = "user:";
    fn key(&self) -> &str {
        &self.username
    }
}

#[async_trait(?Send)]
pub trait RecordStore<R: Record> {
    async fn get(&self, key: &str) -> StoreResult<Option<R>>;
    async fn put(&self, record: &R) -> StoreResult<()>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
}

/// PBKDF2-HMAC-SHA256, done natively by the platform (WebCrypto) because
/// 100,000 iterations in wasm would cost far more CPU.
#[async_trait(?Send)]
pub trait PasswordHasher {
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> StoreResult<Vec<u8>>;
}
