//! Signing keys as the worker sees them: the key-ring Durable Object's ring
//! (or the `SIGNING_KEYS` secret), cached per isolate so a request signs
//! without a round trip, and the WebCrypto calls that sign and verify.

use super::webcrypto;
use super::{StoreError, StoreResult};
use crate::config::Config;
use crate::memo::Memo;
use crate::protocol::jose::{attach_signature, parse_jws, signing_input, SigningAlg};
use crate::protocol::keys::KeyRing;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use worker::Env;

/// How long an isolate uses its copy of the ring before asking again. A key
/// retired by rotation stays published this much longer than the tokens it
/// signed, since a stale copy may still sign with it.
pub fn cache_ttl(config: &Config) -> u64 {
    300.min(config.key_rotation_interval / 2).max(1)
}

thread_local! {
    static CACHE: RefCell<Option<(u64, Rc<KeyRing>)>> = const { RefCell::new(None) };
    /// The published JWK set of the ring in `CACHE`, serialised.
    static JWKS: Memo<Rc<KeyRing>, Rc<str>> = const { Memo::new() };
    /// Tokens this isolate has verified, by the SHA-256 of the token: a
    /// resource server sees the same access token many times, and an ECDSA
    /// or RSA verification costs more than the rest of the request.
    static VERIFIED: RefCell<HashMap<[u8; 32], Verified>> = RefCell::new(HashMap::new());
}

/// Bounds the verified-token cache (entries hold the token's claims).
const VERIFIED_MAX: usize = 1024;

#[derive(Clone)]
struct Verified {
    kid: String,
    alg: SigningAlg,
    typ: String,
    claims: Map<String, Value>,
}

/// Forgets this isolate's copy (after a forced rotation).
pub fn invalidate() {
    CACHE.with(|c| c.borrow_mut().take());
}

fn keyring_err(e: worker::Error) -> StoreError {
    StoreError(format!("key ring: {e}"))
}

/// Asks the key-ring object (src/durable/keyring.rs) for `path`; its
/// answers carry private keys, and only this worker can reach it.
pub(super) async fn ask_keyring(env: &Env, path: &str) -> StoreResult<worker::Response> {
    let stub = env
        .durable_object("KEYRING")
        .map_err(keyring_err)?
        .id_from_name("keyring")
        .map_err(keyring_err)?
        .get_stub()
        .map_err(keyring_err)?;
    let resp = stub
        .fetch_with_str(&format!("https://keyring{path}"))
        .await
        .map_err(keyring_err)?;
    if resp.status_code() != 200 {
        return Err(StoreError(format!("key ring answered {}", resp.status_code())));
    }
    Ok(resp)
}

async fn fetch_ring(env: &Env, config: &Config, now: u64, path: &str) -> StoreResult<KeyRing> {
    if let Some(secret) = &config.signing_keys {
        return KeyRing::from_jwk_set(secret, now).map_err(StoreError);
    }
    ask_keyring(env, path)
        .await?
        .json::<KeyRing>()
        .await
        .map_err(keyring_err)
}

/// The ring, from this isolate's cache when fresh enough.
pub async fn ring(env: &Env, config: &Config, now: u64) -> StoreResult<Rc<KeyRing>> {
    let ttl = if config.signing_keys.is_some() {
        u64::MAX
    } else {
        cache_ttl(config)
    };
    if let Some(r) = CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(at, _)| now < at.saturating_add(ttl))
            .map(|(_, r)| r.clone())
    }) {
        return Ok(r);
    }
    let fresh = Rc::new(fetch_ring(env, config, now, "/keys").await?);
    CACHE.with(|c| *c.borrow_mut() = Some((now, fresh.clone())));
    Ok(fresh)
}

/// How many more seconds this isolate's copy of the ring stays fresh (none
/// when it has none): how long a copy of its JWK set may be served as is.
pub fn fresh_for(config: &Config, now: u64) -> u64 {
    let ttl = if config.signing_keys.is_some() {
        u64::MAX
    } else {
        cache_ttl(config)
    };
    CACHE.with(|c| {
        c.borrow()
            .as_ref()
            .map_or(0, |(at, _)| at.saturating_add(ttl).saturating_sub(now))
    })
}

/// Asks the key ring to rotate every algorithm now, then drops the cached
/// copy. (Tokens this isolate verified with keys a compromise removed are
/// not trusted from its cache: that needs their key still in the ring.)
pub async fn rotate(env: &Env, config: &Config, now: u64, compromised: bool) -> StoreResult<KeyRing> {
    let path = if compromised { "/rotate-compromised" } else { "/rotate" };
    let r = fetch_ring(env, config, now, path).await?;
    invalidate();
    Ok(r)
}

/// Signs `claims` as a compact JWS with the current key for `alg`.
pub async fn sign_jwt(
    env: &Env,
    config: &Config,
    now: u64,
    alg: SigningAlg,
    typ: &str,
    claims: &Value,
) -> StoreResult<String> {
    let ring = ring(env, config, now).await?;
    let key = ring
        .current(alg)
        .ok_or_else(|| StoreError(format!("no {} key", alg.as_str())))?;
    let input = signing_input(alg, &key.kid, typ, claims);
    let sig = webcrypto::sign(alg.as_str(), &key.kid, &key.jwk, input.as_bytes()).await?;
    Ok(attach_signature(&input, &sig))
}

/// The JWK set to publish (`/jwks.json`), serialised once per ring.
pub async fn jwks_json(env: &Env, config: &Config, now: u64) -> StoreResult<Rc<str>> {
    let ring = ring(env, config, now).await?;
    Ok(JWKS.with(|j| j.get_or(&ring, |r| r.jwks().to_string().into())))
}

fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A token verified before, provided its key is still in the ring.
fn verified_before(ring: &KeyRing, digest: &[u8; 32]) -> Option<(String, Map<String, Value>)> {
    let v = VERIFIED.with(|c| c.borrow().get(digest).cloned())?;
    ring.find(&v.kid).filter(|k| k.alg == v.alg).map(|_| (v.typ, v.claims))
}

fn remember_verified(digest: [u8; 32], v: Verified, now: u64) {
    VERIFIED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= VERIFIED_MAX {
            // Expired tokens first; if all are live, start over.
            c.retain(|_, v| v.claims.get("exp").and_then(Value::as_u64).is_some_and(|exp| exp > now));
            if c.len() >= VERIFIED_MAX {
                c.clear();
            }
        }
        c.insert(digest, v);
    });
}

/// Verifies a JWS we issued; `None` when it is malformed, its key is not
/// ours (any more), or the signature fails. Claims are not checked here.
pub async fn verify_jwt(
    env: &Env,
    config: &Config,
    now: u64,
    token: &str,
) -> StoreResult<Option<(String, Map<String, Value>)>> {
    let ring = ring(env, config, now).await?;
    let digest = token_digest(token);
    if let Some(hit) = verified_before(&ring, &digest) {
        return Ok(Some(hit));
    }
    let Ok(jws) = parse_jws(token) else {
        return Ok(None);
    };
    let Some(kid) = jws.kid.as_deref() else {
        return Ok(None);
    };
    let Some(key) = ring.find(kid).filter(|k| k.alg == jws.alg) else {
        return Ok(None);
    };
    if !webcrypto::verify(key, jws.signing_input.as_bytes(), &jws.signature).await? {
        return Ok(None);
    }
    let verified = Verified {
        kid: kid.to_string(),
        alg: jws.alg,
        typ: jws.typ.unwrap_or_default(),
        claims: jws.claims,
    };
    remember_verified(digest, verified.clone(), now);
    Ok(Some((verified.typ, verified.claims)))
}

/// The platform signer: current keys from the ring, signatures by WebCrypto.
pub struct PlatformSigner<'a> {
    pub env: &'a Env,
    pub config: &'a Config,
    pub now: u64,
}

#[async_trait::async_trait(?Send)]
impl super::TokenSigner for PlatformSigner<'_> {
    async fn sign(&self, alg: SigningAlg, typ: &str, claims: &Value) -> StoreResult<String> {
        sign_jwt(self.env, self.config, self.now, alg, typ, claims).await
    }
}
