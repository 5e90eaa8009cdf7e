//! Secrets we store and must read back (upstream client secrets, Apple
//! signing keys, kept upstream tokens), encrypted with AES-256-GCM through
//! WebCrypto; the key that seals authorization codes, derived from the same
//! storage key; and the ES256 signature of Apple's client secret.
//!
//! The storage key is 32 random bytes the key-ring object makes once and
//! keeps (src/durable/keyring.rs), whether or not `SIGNING_KEYS` is set:
//! derived from those, it would change when the admin replaces them, and
//! every stored secret would be lost. For the same reason it is never
//! rotated, neither with the signing keys nor after a compromise. It is
//! imported once per isolate as a non-extractable key and never published
//! or logged.
//!
//! Each seal has a fresh random 96-bit IV (one key, random IVs: NIST SP
//! 800-38D §8.3 allows 2^32 encryptions, far more than an admin stores),
//! and its `context` ("idp:github:client_secret") as the additional
//! authenticated data, so a ciphertext moved to another field or record
//! does not open.

use super::keys::ask_keyring;
use super::webcrypto::{js_err, to_bytes};
use super::{StoreError, StoreResult};
use crate::protocol::encoding::{b64url_decode, sha256};
use crate::protocol::sealed_code::CodeKey;
use crate::protocol::sealed_secret::{SealedSecret, IV_LEN};
use wasm_bindgen::prelude::*;
use worker::Env;

#[wasm_bindgen(inline_js = r#"
let storageKey = null;

export function has_storage_key() {
  return storageKey !== null;
}

// importKey copies `raw` before it returns, as encrypt and decrypt copy their
// inputs, so views of wasm memory are safe in these three.
export async function set_storage_key(raw) {
  storageKey = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function aes_seal(iv, aad, plaintext) {
  return new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, storageKey, plaintext));
}

// null when the tag does not verify: altered, sealed for another context, or
// under another key.
export async function aes_open(iv, aad, ciphertext) {
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, storageKey, ciphertext));
  } catch (e) {
    if (e && e.name === "OperationError") return null;
    throw e;
  }
}

// Imported private keys by the SHA-256 of their DER, for this isolate only;
// a handful of providers at most, so a full map is simply emptied.
const ecKeys = new Map();

export async function es256_sign(id, der, input) {
  // Copied now: wasm memory may grow (and detach this view) during the await.
  input = input.slice();
  let key = ecKeys.get(id);
  if (!key) {
    try {
      key = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    } catch (e) {
      throw "not a PKCS#8 ECDSA P-256 private key (" + (e && e.message) + ")";
    }
    if (ecKeys.size >= 16) ecKeys.clear();
    ecKeys.set(id, key);
  }
  return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, input));
}
"#)]
extern "C" {
    fn has_storage_key() -> bool;
    #[wasm_bindgen(catch)]
    async fn set_storage_key(raw: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(catch)]
    async fn aes_seal(iv: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn aes_open(iv: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn es256_sign(id: &str, der: &[u8], input: &[u8]) -> Result<JsValue, JsValue>;
}

/// Imports the storage key into this isolate the first time it is needed.
/// (Two first requests at once both import it: the same key, harmlessly.)
async fn ensure_storage_key(env: &Env) -> StoreResult<()> {
    if has_storage_key() {
        return Ok(());
    }
    let raw = storage_key(env).await?;
    set_storage_key(&raw).await.map_err(|e| js_err("importKey", e))
}

thread_local! {
    /// The code key, derived once per isolate.
    static CODE_KEY: std::cell::RefCell<Option<CodeKey>> = const { std::cell::RefCell::new(None) };
}

/// The key that seals authorization codes (protocol/sealed_code.rs),
/// derived from the storage key: like it, the same in every isolate and
/// kept when the signing keys are replaced or rotated, so a code sealed a
/// moment before a rotation still opens.
pub async fn code_key(env: &Env) -> StoreResult<CodeKey> {
    if let Some(key) = CODE_KEY.with(|k| k.borrow().clone()) {
        return Ok(key);
    }
    let key = CodeKey::derive(&storage_key(env).await?);
    CODE_KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
    Ok(key)
}

/// The storage key's 32 bytes, from the key ring.
async fn storage_key(env: &Env) -> StoreResult<Vec<u8>> {
    let encoded = ask_keyring(env, "/storage-key")
        .await?
        .text()
        .await
        .map_err(|e| StoreError(format!("key ring: {e}")))?;
    b64url_decode(&encoded)
        .filter(|k| k.len() == 32)
        .ok_or_else(|| StoreError("key ring: the storage key is not 32 bytes of base64url".into()))
}

/// Encrypts `plaintext` for storage in the field named by `context`.
pub async fn seal_secret(env: &Env, plaintext: &str, context: &str) -> StoreResult<String> {
    ensure_storage_key(env).await?;
    let iv = crate::random::bytes::<IV_LEN>();
    let ciphertext = aes_seal(&iv, context.as_bytes(), plaintext.as_bytes())
        .await
        .map_err(|e| js_err("encrypt", e))?;
    Ok(SealedSecret {
        iv,
        ciphertext: to_bytes(ciphertext),
    }
    .format())
}

/// The secret sealed by [`seal_secret`] with the same `context`; `None`
/// when `sealed` is not one of ours, was altered, or was sealed for
/// another context.
pub async fn open_secret(env: &Env, sealed: &str, context: &str) -> StoreResult<Option<String>> {
    let Some(parts) = SealedSecret::parse(sealed) else {
        return Ok(None);
    };
    ensure_storage_key(env).await?;
    let opened = aes_open(&parts.iv, context.as_bytes(), &parts.ciphertext)
        .await
        .map_err(|e| js_err("decrypt", e))?;
    if opened.is_null() {
        return Ok(None);
    }
    // Only `seal_secret`'s UTF-8 gets past the tag.
    Ok(String::from_utf8(to_bytes(opened)).ok())
}

/// The ES256 signature of `signing_input` (JWS: raw r‖s, 64 bytes, which
/// is WebCrypto's form) with a PKCS#8 P-256 private key, such as Apple's
/// `.p8` key that signs its client secret. A key WebCrypto will not import
/// is an `Err` saying so.
pub async fn sign_es256_pkcs8(pkcs8_der: &[u8], signing_input: &[u8]) -> StoreResult<Vec<u8>> {
    let id = crate::protocol::encoding::b64url(&sha256(pkcs8_der));
    es256_sign(&id, pkcs8_der, signing_input)
        .await
        .map(to_bytes)
        .map_err(|e| {
            StoreError(format!(
                "ES256 signing key: {}",
                e.as_string().unwrap_or_else(|| format!("{e:?}"))
            ))
        })
}
