//! Host-test doubles: a signer whose tokens can be read back, and fixtures.

use crate::protocol::acr::password_amr;
use crate::protocol::client::{parse_client_metadata, ClientRecord};
use crate::protocol::encoding::{b64url, secret_hash};
use crate::protocol::jose::{attach_signature, parse_jws, signing_input, SigningAlg};
use crate::protocol::session::SessionRecord;
use crate::protocol::user::{PasswordHash, UserRecord, UserRevocation};
use crate::store::memory::MemoryStore;
use crate::store::{RecordStore, StoreError, StoreResult, TokenSigner};
use async_trait::async_trait;
use serde_json::{json, Map, Value};

/// Signs with a fixed tag; tests decode the claims with `claims_of`.
pub struct FakeSigner;

#[async_trait(?Send)]
impl TokenSigner for FakeSigner {
    async fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> StoreResult<String> {
        Ok(attach_signature(&signing_input(alg, "test-kid", typ, claims), b"fake"))
    }
}

/// A store or signer that cannot be reached, as a KV namespace or the key
/// ring can fail: every call is a `StoreError`.
pub struct Unreachable;

fn unreachable<T>() -> StoreResult<T> {
    Err(StoreError("unreachable (test)".into()))
}

#[async_trait(?Send)]
impl TokenSigner for Unreachable {
    async fn sign(&self, _: SigningAlg, _: &str, _: &Value) -> StoreResult<String> {
        unreachable()
    }
}

#[async_trait(?Send)]
impl RecordStore<UserRevocation> for Unreachable {
    async fn get(&self, _: &str) -> StoreResult<Option<UserRevocation>> {
        unreachable()
    }
    async fn put(&self, _: &UserRevocation) -> StoreResult<()> {
        unreachable()
    }
    async fn delete(&self, _: &str) -> StoreResult<()> {
        unreachable()
    }
}

/// (alg, typ, claims) of a token from [`FakeSigner`].
pub fn claims_of(token: &str) -> (SigningAlg, String, Map<String, Value>) {
    let jws = parse_jws(token).expect("a JWS");
    (jws.alg, jws.typ.unwrap_or_default(), jws.claims)
}

pub fn client(metadata: Value) -> ClientRecord {
    let metadata = parse_client_metadata(&metadata).expect("valid metadata");
    ClientRecord {
        client_id: "client-1".into(),
        client_secret_hash: metadata
            .token_endpoint_auth_method
            .is_confidential()
            .then(|| secret_hash("s3cret")),
        registration_access_token_hash: secret_hash("rat"),
        client_id_issued_at: 0,
        self_registered: None,
        metadata,
    }
}

pub fn confidential_client() -> ClientRecord {
    client(json!({"redirect_uris": ["https://rp.example/cb"], "grant_types": ["authorization_code", "refresh_token"]}))
}

pub fn user() -> UserRecord {
    let mut claims = Map::new();
    claims.insert("email".into(), json!("alice@example.com"));
    claims.insert("name".into(), json!("Alice"));
    UserRecord {
        username: "alice".into(),
        sub: "sub-alice".into(),
        password: Some(PasswordHash {
            alg: "pbkdf2-sha256".into(),
            iterations: 1,
            salt: b64url(b"s"),
            hash: b64url(b"h"),
        }),
        claims,
        created_at: 0,
        updated_at: 0,
        session_epoch: 0,
        links: Vec::new(),
        admin: false,
    }
}

pub fn session(auth_time: u64) -> SessionRecord {
    SessionRecord {
        key: "sid-hash".into(),
        username: "alice".into(),
        sub: "sub-alice".into(),
        auth_time,
        expires_at: auth_time + 3600,
        epoch: 0,
        amr: password_amr(),
        idp: None,
    }
}

/// Deleted users' tombstones: none, or the fixture `user()`'s.
pub fn deleted_users(user_deleted: bool) -> MemoryStore<UserRevocation> {
    revocations(user_deleted.then(|| UserRevocation::deletion(&user().sub, 0, u64::MAX)))
}

/// The fixture `user()`'s grants revoked for sign-ins at or before `before`.
pub fn revoked_grants(before: u64) -> MemoryStore<UserRevocation> {
    revocations(Some(UserRevocation::revoke_all(None, &user().sub, before, 1 << 40)))
}

/// The fixture `user()`'s consent to `client_id` withdrawn at `at`.
pub fn withdrawn(client_id: &str, at: u64) -> MemoryStore<UserRevocation> {
    revocations(Some(UserRevocation::withdraw(
        None,
        &user().sub,
        client_id,
        at,
        1 << 40,
    )))
}

fn revocations(revocation: Option<UserRevocation>) -> MemoryStore<UserRevocation> {
    let store = MemoryStore::default();
    if let Some(r) = revocation {
        futures::executor::block_on(store.put(&r)).unwrap();
    }
    store
}

/// The key the tests seal codes with.
pub fn code_key() -> crate::protocol::sealed_code::CodeKey {
    crate::protocol::sealed_code::CodeKey::derive(b"the tests' key-ring secret")
}
