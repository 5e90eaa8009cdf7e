//! The key-ring Durable Object: the single place signing keys are generated
//! and rotated, so every isolate worldwide sees the same ring.
//!
//! Rotation is lazy: whoever asks for the ring after a key has signed for
//! `KEY_ROTATION_INTERVAL` triggers its replacement. A replaced key stays
//! published until every token it can have signed has expired.
//!
//! It also keeps the storage key (store/secrets.rs): 32 random bytes that
//! encrypt the secrets we store and must read back. That key is not part of
//! the ring and is never rotated: not when the ring rotates, not after a
//! compromise (`forget_retired`), not when the admin replaces `SIGNING_KEYS`
//! (it lives here, not derived from them): a new one would leave every
//! stored secret unreadable. It is never published (JWKS is made from the
//! ring's signing keys only) and never logged.

use crate::config::Config;
use crate::platform::{config_from_env, now_secs};
use crate::protocol::jose::SigningAlg;
use crate::protocol::keys::{KeyRing as Ring, SigningKey};
use crate::store::{keys::cache_ttl, webcrypto};
use std::cell::RefCell;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// The object's storage entries: the ring, and the storage key (base64url).
const RING_ENTRY: &str = "ring";
const SECRETS_KEY_ENTRY: &str = "secrets_key";

/// Why the ring is being brought up to date.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rotation {
    /// A read: only keys that have signed for the whole interval are replaced.
    WhenDue,
    /// Every key replaced now; the old ones stay published for their grace.
    Scheduled,
    /// Every key replaced now and the old ones unpublished at once, with a
    /// new form secret: a suspected compromise.
    Compromise,
}

#[durable_object]
pub struct KeyRing {
    state: State,
    env: Env,
    ring: RefCell<Option<Ring>>,
}

impl KeyRing {
    async fn load(&self) -> Result<Ring> {
        if let Some(r) = self.ring.borrow().clone() {
            return Ok(r);
        }
        let stored: Option<Ring> = self.state.storage().get(RING_ENTRY).await?;
        Ok(stored.unwrap_or_default())
    }

    async fn generate(algs: &[SigningAlg], now: u64) -> Result<Vec<SigningKey>> {
        let mut keys = Vec::with_capacity(algs.len());
        for alg in algs {
            let jwk = webcrypto::generate_jwk(alg.as_str())
                .await
                .map_err(|e| worker::Error::RustError(e.0))?;
            keys.push(SigningKey::from_private_jwk(&jwk, now).map_err(worker::Error::RustError)?);
        }
        Ok(keys)
    }

    /// Brings the ring up to date and stores it. Key generation awaits
    /// WebCrypto, which can let another request in; that request may rotate
    /// too, so the new keys are installed only onto the latest ring and only
    /// for algorithms still due.
    async fn refresh(&self, config: &Config, now: u64, rotation: Rotation) -> Result<Ring> {
        let interval = config.key_rotation_interval;
        let force = rotation != Rotation::WhenDue;
        let before = self.load().await?;
        let due = if force {
            SigningAlg::ALL.to_vec()
        } else {
            before.due(now, interval)
        };
        let fresh = Self::generate(&due, now).await?;
        let mut ring = self.load().await?;
        let still_due = if force {
            SigningAlg::ALL.to_vec()
        } else {
            ring.due(now, interval)
        };
        for key in fresh.into_iter().filter(|k| still_due.contains(&k.alg)) {
            ring.install(key, now);
        }
        ring.prune(now, config.max_signed_token_ttl() + cache_ttl(config));
        if rotation == Rotation::Compromise {
            ring.forget_retired(crate::random::token());
        }
        if ring.form_secret.is_empty() {
            ring.form_secret = crate::random::token();
        }
        if ring != before {
            self.state.storage().put(RING_ENTRY, &ring).await?;
        }
        *self.ring.borrow_mut() = Some(ring.clone());
        Ok(ring)
    }

    /// The storage key, made the first time it is asked for and then kept
    /// for good (see the module comment: never rotated). Between the read
    /// and the write there is no `await` but on this object's own storage,
    /// which lets no other request in, so two first asks agree.
    async fn secrets_key(&self) -> Result<String> {
        let storage = self.state.storage();
        if let Some(key) = storage.get::<String>(SECRETS_KEY_ENTRY).await? {
            return Ok(key);
        }
        let key = crate::random::token();
        storage.put(SECRETS_KEY_ENTRY, &key).await?;
        Ok(key)
    }
}

impl DurableObject for KeyRing {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            ring: RefCell::new(None),
        }
    }

    /// `GET /keys` returns the ring (private keys: this object is reachable
    /// only from our own worker), `/rotate` forces a new key per algorithm,
    /// `/rotate-compromised` does so and forgets the old keys at once.
    /// `/storage-key` returns the storage key alone, touching no signing key
    /// (with `SIGNING_KEYS` set, the ring here is never made).
    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path() == "/storage-key" {
            return Response::ok(self.secrets_key().await?);
        }
        let config = config_from_env(&self.env).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let rotation = match req.path().as_str() {
            "/rotate" => Rotation::Scheduled,
            "/rotate-compromised" => Rotation::Compromise,
            _ => Rotation::WhenDue,
        };
        let ring = self.refresh(&config, now_secs(), rotation).await?;
        Response::from_json(&ring)
    }
}
