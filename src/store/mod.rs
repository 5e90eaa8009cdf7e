//! Storage behind small traits. Clients and users live in Workers KV
//! (eventually consistent, changed rarely); grants and signing keys live in
//! Durable Objects. The in-memory implementations mirror the platform ones so
//! grants and endpoints logic can be tested on the host.

use crate::protocol::client::ClientRecord;
use crate::protocol::federation::provider::ProviderSet;
use crate::protocol::federation::request::KeptTokensRecord;
use crate::protocol::grant::{GrantOp, GrantReply};
use crate::protocol::session::{ConsentRecord, SessionRecord, UserSession};
use crate::protocol::token::RevokedAccessToken;
use crate::protocol::user::{EmailIndex, UserRecord, UserRevocation};
use async_trait::async_trait;

pub mod memory;

#[cfg(test)]
pub mod host_crypto;

#[cfg(target_arch = "wasm32")]
pub mod client_document;
#[cfg(target_arch = "wasm32")]
pub mod durable;
#[cfg(target_arch = "wasm32")]
pub mod keys;
#[cfg(target_arch = "wasm32")]
pub mod kv;
#[cfg(target_arch = "wasm32")]
pub mod secrets;
#[cfg(target_arch = "wasm32")]
pub mod upstream;
#[cfg(target_arch = "wasm32")]
pub mod webcrypto;

/// A storage or platform failure. Its text is logged, never sent to clients
/// (they get a generic `temporarily_unavailable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A store failure reaches the client as a bare 503
/// `temporarily_unavailable` with `Retry-After`: the object or namespace
/// could not be reached, nothing was used up, and the same request may be
/// sent again. The detail goes to the log.
impl From<StoreError> for crate::protocol::error::OAuthError {
    fn from(e: StoreError) -> Self {
        crate::log::error(&format!("store error: {e}"));
        crate::protocol::error::temporarily_unavailable()
    }
}

/// A record kept in KV under `PREFIX` + its key. KV suits these: they change
/// rarely and may take a minute to reach other locations.
pub trait Record: Clone + serde::Serialize + serde::de::DeserializeOwned {
    const PREFIX: &'static str;
    fn key(&self) -> &str;
    /// When the store may forget the record (unix seconds).
    fn expires_at(&self) -> Option<u64> {
        None
    }
    /// What a listing shows of the record without reading it (KV metadata,
    /// written with every put): short labels only, see [`labels`].
    fn metadata(&self) -> Option<serde_json::Value> {
        None
    }
}

/// KV metadata of at most 1024 bytes: each label cut to this many
/// characters leaves room for a few.
const LABEL_MAX: usize = 120;

/// The metadata object of `pairs` (the absent ones left out), each value
/// cut to [`LABEL_MAX`] characters so that the whole stays within KV's
/// 1024-byte limit.
pub fn labels(pairs: &[(&str, Option<&str>)]) -> Option<serde_json::Value> {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .filter_map(|(k, v)| {
            Some((
                (*k).to_owned(),
                (*v)?.chars().take(LABEL_MAX).collect::<String>().into(),
            ))
        })
        .collect();
    Some(map.into())
}

impl Record for SessionRecord {
    const PREFIX: &'static str = "session:";
    fn key(&self) -> &str {
        &self.key
    }
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

impl Record for UserSession {
    const PREFIX: &'static str = "user_session:";
    fn key(&self) -> &str {
        &self.key
    }
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

impl Record for ConsentRecord {
    const PREFIX: &'static str = "consent:";
    fn key(&self) -> &str {
        &self.key
    }
}

impl Record for ClientRecord {
    const PREFIX: &'static str = "client:";
    fn key(&self) -> &str {
        &self.client_id
    }
    /// A self-registered client not yet used lapses; any other stays.
    fn expires_at(&self) -> Option<u64> {
        self.self_registered.and_then(|s| s.unused_until)
    }
    /// What the console's list of clients shows: the name and the
    /// authentication method (searched, like the id), and when the client
    /// was registered (a number, so a search for digits does not find it).
    fn metadata(&self) -> Option<serde_json::Value> {
        let m = &self.metadata;
        let mut shown = labels(&[
            ("name", m.client_name.as_deref()),
            ("method", Some(m.token_endpoint_auth_method.as_str())),
        ])?;
        shown["created"] = self.client_id_issued_at.into();
        Some(shown)
    }
}

impl Record for RevokedAccessToken {
    const PREFIX: &'static str = "revoked_at:";
    fn key(&self) -> &str {
        &self.jti
    }
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

impl Record for UserRecord {
    const PREFIX: &'static str = "user:";
    fn key(&self) -> &str {
        &self.username
    }
    /// The console's list of users shows, and searches, these.
    fn metadata(&self) -> Option<serde_json::Value> {
        let email = self.claims.get("email").and_then(serde_json::Value::as_str);
        labels(&[("name", self.name()), ("email", email)])
    }
}

impl Record for EmailIndex {
    const PREFIX: &'static str = "user_email:";
    fn key(&self) -> &str {
        &self.key
    }
}

impl Record for UserRevocation {
    const PREFIX: &'static str = "deleted_user:";
    fn key(&self) -> &str {
        &self.sub
    }
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
}

impl Record for KeptTokensRecord {
    const PREFIX: &'static str = "idp_tokens:";
    fn key(&self) -> &str {
        &self.key
    }
}

impl Record for crate::protocol::audit::AuditEntry {
    const PREFIX: &'static str = "audit:";
    fn key(&self) -> &str {
        &self.key
    }
    fn expires_at(&self) -> Option<u64> {
        Some(self.expires_at)
    }
    fn metadata(&self) -> Option<serde_json::Value> {
        let fields = self.labels();
        let pairs: Vec<(&str, Option<&str>)> = fields.iter().map(|(k, v)| (*k, v.as_deref())).collect();
        labels(&pairs)
    }
}

/// Every upstream provider, in one record: the login page shows them all.
impl Record for ProviderSet {
    const PREFIX: &'static str = "config:";
    fn key(&self) -> &str {
        ProviderSet::KEY
    }
}

/// Workers KV refuses keys longer than this many bytes (UTF-8).
pub const KV_KEY_MAX: usize = 512;

/// The KV key of the record `key` under `prefix`, or `None` when KV could
/// not hold it: no such record exists, so a lookup is simply a miss. Keys
/// come from requests (paths, client ids, usernames) and may be any length.
pub fn kv_key(prefix: &str, key: &str) -> Option<String> {
    (prefix.len() + key.len() <= KV_KEY_MAX).then(|| format!("{prefix}{key}"))
}

#[async_trait(?Send)]
pub trait RecordStore<R: Record> {
    async fn get(&self, key: &str) -> StoreResult<Option<R>>;
    async fn put(&self, record: &R) -> StoreResult<()>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
}

/// A key as a listing finds it, with the metadata stored with it (absent
/// for records written before they had any).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub key: String,
    pub metadata: Option<serde_json::Value>,
}

/// Records found by how their keys begin (KV `list`: keys in order, a page
/// at a time, each page ending with a cursor when more may follow).
#[async_trait(?Send)]
pub trait RecordList<R: Record>: RecordStore<R> {
    /// Up to `limit` keys (without `R::PREFIX`) that begin with `start`,
    /// from `cursor` on, and the cursor of the next page, if any. A page may
    /// hold fewer keys than `limit` and still have a next one.
    async fn keys(
        &self,
        start: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> StoreResult<(Vec<Listed>, Option<String>)>;
}

pub mod listing;

/// The first `max` records whose keys begin with `start`, following the
/// pages; `true` when there are more than that.
pub async fn find<R: Record>(store: &dyn RecordList<R>, start: &str, max: usize) -> StoreResult<(Vec<R>, bool)> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        // One more than wanted tells whether there are more.
        let (keys, next) = store.keys(start, cursor, max + 1 - found.len()).await?;
        for Listed { key, .. } in keys {
            if found.len() == max {
                return Ok((found, true));
            }
            // Gone since it was listed: not found.
            if let Some(record) = store.get(&key).await? {
                found.push(record);
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok((found, false)),
        }
    }
}

/// PBKDF2-HMAC-SHA256, done natively by the platform (WebCrypto) because
/// 100,000 iterations in wasm would cost far more CPU.
#[async_trait(?Send)]
pub trait PasswordHasher {
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> StoreResult<Vec<u8>>;
}

/// Grants, one per authorization. Each operation on one grant runs
/// atomically with respect to every other (`protocol::grant::apply`); ids are
/// opaque and carried inside codes and refresh tokens.
#[async_trait(?Send)]
pub trait GrantStore {
    /// The id of a grant not stored yet: the name its object will have
    /// once something (a code's first redemption) stores it.
    fn new_id(&self) -> StoreResult<String>;
    async fn apply(&self, id: &str, op: GrantOp, now: u64) -> StoreResult<GrantReply>;
}

/// Objects named by what they are about (a sign-in throttle per account,
/// a single-use record per form), each applying its `Machine` atomically.
#[async_trait(?Send)]
pub trait ObjectStore<M: crate::protocol::object::Machine> {
    async fn apply(&self, name: &str, op: M::Op, now: u64) -> StoreResult<M::Reply>;
}

/// Signs JWTs with the current key for an algorithm (WebCrypto and the key
/// ring on the platform; a transparent fake in host tests).
#[async_trait(?Send)]
pub trait TokenSigner {
    async fn sign(
        &self,
        alg: crate::protocol::jose::SigningAlg,
        typ: &str,
        claims: &serde_json::Value,
    ) -> StoreResult<String>;
}

/// Verifies a passkey's signature with its stored public key (WebCrypto on
/// the platform; RustCrypto in host tests). `signature` is in WebCrypto's
/// form (`protocol::webauthn::signature_for_webcrypto`). `Ok(false)` for a
/// signature that does not verify, and for a key the platform will not
/// import (a registration cannot prove its key is usable: it carries no
/// signature); `Err` only when the platform fails.
#[async_trait(?Send)]
pub trait SignatureVerifier {
    async fn verify(
        &self,
        key: &crate::protocol::webauthn::PublicKey,
        data: &[u8],
        signature: &[u8],
    ) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::memory::MemoryStore;
    use super::*;
    use futures::executor::block_on;

    fn consent(sub: &str, client: &str) -> ConsentRecord {
        ConsentRecord {
            key: ConsentRecord::key_for(sub, client),
            scopes: vec!["openid".into()],
            granted_at: 1,
            client_name: None,
        }
    }

    #[test]
    fn find_follows_the_pages_and_stops_at_the_bound() {
        let store = MemoryStore::default();
        for client in ["c1", "c2", "c3", "c4", "c5"] {
            block_on(store.put(&consent("alice", client))).unwrap();
        }
        block_on(store.put(&consent("alicia", "c1"))).unwrap();
        block_on(store.put(&consent("bob", "c1"))).unwrap();
        let keys = |found: Vec<ConsentRecord>| found.into_iter().map(|c| c.key).collect::<Vec<_>>();
        // The memory store's pages hold two keys, so five take three pages.
        let (all, more) = block_on(find(&store, &ConsentRecord::keys_of("alice"), 10)).unwrap();
        assert_eq!(keys(all), ["alice:c1", "alice:c2", "alice:c3", "alice:c4", "alice:c5"]);
        assert!(!more);
        let (some, more) = block_on(find(&store, "alice:", 3)).unwrap();
        assert_eq!(keys(some), ["alice:c1", "alice:c2", "alice:c3"]);
        assert!(more);
        let (exact, more) = block_on(find(&store, "alice:", 5)).unwrap();
        assert_eq!((exact.len(), more), (5, false));
        assert_eq!(block_on(find(&store, "carol:", 5)).unwrap(), (vec![], false));
    }

    #[test]
    fn clients_are_listed_by_name_or_id_with_their_method_and_date() {
        use crate::grants::testing::client;
        let store = MemoryStore::default();
        let mut named = client(serde_json::json!({"redirect_uris": ["https://rp.example/cb"], "client_name": "Shop"}));
        named.client_id_issued_at = 1_764_633_600;
        let mut public = client(
            serde_json::json!({"redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "none"}),
        );
        public.client_id = "client-2".into();
        block_on(store.put(&named)).unwrap();
        block_on(store.put(&public)).unwrap();
        let page = |q| block_on(listing::page(&store, q, None)).unwrap().unwrap().rows;
        let rows = page("SHOP");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0],
            (
                "client-1".into(),
                serde_json::json!({"name": "Shop", "method": "client_secret_basic", "created": 1_764_633_600})
            )
        );
        assert_eq!(
            page("client-2")[0].1,
            serde_json::json!({"method": "none", "created": 0})
        );
        assert!(page("1764").is_empty(), "the date is not searched");
    }

    #[test]
    fn kv_keys_longer_than_kv_allows_are_none() {
        assert_eq!(kv_key("client:", "abc").as_deref(), Some("client:abc"));
        let fits = "x".repeat(KV_KEY_MAX - "user:".len());
        assert_eq!(kv_key("user:", &fits).map(|k| k.len()), Some(KV_KEY_MAX));
        assert_eq!(kv_key("user:", &format!("{fits}x")), None);
        // Counted in UTF-8 bytes, as KV counts them.
        assert_eq!(kv_key("user:", &"é".repeat(254)), None);
    }
}
