//! The runtime's WebCrypto (`crypto.subtle`), which runs natively: RSA, ECDSA
//! and Ed25519 signing and PBKDF2 cost a fraction of their wasm equivalents
//! (numbers in bench/README.md). Imported keys are cached per isolate, so a
//! JWK is parsed and imported once, not on every signature.

use super::{PasswordHasher, SignatureVerifier, StoreError, StoreResult};
use crate::protocol::jose::signature_len;
use crate::protocol::keys::SigningKey;
use crate::protocol::webauthn::PublicKey;
use async_trait::async_trait;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
const ALGS = {
  RS256: { gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
           imp: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, op: { name: "RSASSA-PKCS1-v1_5" } },
  ES256: { gen: { name: "ECDSA", namedCurve: "P-256" }, imp: { name: "ECDSA", namedCurve: "P-256" },
           op: { name: "ECDSA", hash: "SHA-256" } },
  EdDSA: { gen: { name: "Ed25519" }, imp: { name: "Ed25519" }, op: { name: "Ed25519" } },
};
const PRIVATE = ["d", "p", "q", "dp", "dq", "qi", "oth", "key_ops", "ext"];
const keys = new Map();
const keyId = (usage, alg, kid) => usage + "\u0000" + alg + "\u0000" + kid;

export async function import_key(usage, alg, kid, jwkJson) {
  const jwk = JSON.parse(jwkJson);
  if (usage === "verify") for (const m of PRIVATE) delete jwk[m];
  else for (const m of ["key_ops", "ext"]) delete jwk[m];
  keys.set(keyId(usage, alg, kid), await crypto.subtle.importKey("jwk", jwk, ALGS[alg].imp, false, [usage]));
}

export async function generate_jwk(alg) {
  const pair = await crypto.subtle.generateKey(ALGS[alg].gen, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  delete jwk.key_ops;
  delete jwk.ext;
  return JSON.stringify(jwk);
}

// With an imported key, WebCrypto's own promise; null until the key is imported.
// (WebCrypto copies `data` before returning, so a view of wasm memory is safe.)
export function sign(alg, kid, data) {
  const key = keys.get(keyId("sign", alg, kid));
  return key ? crypto.subtle.sign(ALGS[alg].op, key, data) : null;
}

export function verify(alg, kid, data, signature) {
  const key = keys.get(keyId("verify", alg, kid));
  return key ? crypto.subtle.verify(ALGS[alg].op, key, signature, data) : null;
}

// A passkey's key, imported for this one check: keys of people signing in
// are too many to keep per isolate. A key WebCrypto refuses to import
// ("DataError": a point off the curve, say) verifies nothing.
export async function verify_public_jwk(alg, jwkJson, data, signature) {
  let key;
  try {
    key = await crypto.subtle.importKey("jwk", JSON.parse(jwkJson), ALGS[alg].imp, false, ["verify"]);
  } catch (e) {
    if (e && e.name === "DataError") return false;
    throw e;
  }
  return crypto.subtle.verify(ALGS[alg].op, key, signature, data);
}

export async function pbkdf2_sha256(password, salt, iterations) {
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}
"#)]
extern "C" {
    #[wasm_bindgen(catch, js_name = generate_jwk)]
    async fn js_generate_jwk(alg: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    async fn import_key(usage: &str, alg: &str, kid: &str, jwk: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_name = sign)]
    fn js_sign(alg: &str, kid: &str, data: &[u8]) -> Result<Option<js_sys::Promise>, JsValue>;
    #[wasm_bindgen(catch, js_name = verify)]
    fn js_verify(alg: &str, kid: &str, data: &[u8], sig: &[u8]) -> Result<Option<js_sys::Promise>, JsValue>;
    #[wasm_bindgen(catch)]
    async fn verify_public_jwk(alg: &str, jwk: &str, data: &[u8], sig: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = pbkdf2_sha256)]
    async fn js_pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> Result<JsValue, JsValue>;
}

pub(super) fn js_err(what: &str, e: JsValue) -> StoreError {
    StoreError(format!("webcrypto {what}: {e:?}"))
}

pub(super) fn to_bytes(v: JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(&v).to_vec()
}

/// Generates a private JWK (with its public members) for `alg`.
pub async fn generate_jwk(alg: &str) -> StoreResult<String> {
    let v = js_generate_jwk(alg).await.map_err(|e| js_err("generateKey", e))?;
    v.as_string()
        .ok_or_else(|| StoreError("webcrypto generateKey: not a string".into()))
}

/// Runs `op` with the key imported for `usage`, importing it first the
/// first time this isolate sees it. Once imported, a signature is one call
/// and one promise: the JWK is not passed again.
async fn with_key(
    usage: &str,
    alg: &str,
    kid: &str,
    jwk: &str,
    op: impl Fn() -> Result<Option<js_sys::Promise>, JsValue>,
) -> StoreResult<JsValue> {
    let promise = match op().map_err(|e| js_err(usage, e))? {
        Some(p) => p,
        None => {
            import_key(usage, alg, kid, jwk)
                .await
                .map_err(|e| js_err("importKey", e))?;
            op().map_err(|e| js_err(usage, e))?
                .ok_or_else(|| StoreError(format!("webcrypto {usage}: key not imported")))?
        }
    };
    JsFuture::from(promise).await.map_err(|e| js_err(usage, e))
}

pub async fn sign(alg: &str, kid: &str, private_jwk: &str, data: &[u8]) -> StoreResult<Vec<u8>> {
    with_key("sign", alg, kid, private_jwk, || js_sign(alg, kid, data))
        .await
        .map(to_bytes)
}

/// Whether `sig` is `key`'s signature of `data`. A signature of the wrong
/// length ([`SigningKey::fits`]) is invalid without asking WebCrypto, which
/// rejects some (Ed25519: "Invalid Ed25519 signature length") instead of
/// answering false; any other rejection is a platform failure.
pub async fn verify(key: &SigningKey, data: &[u8], sig: &[u8]) -> StoreResult<bool> {
    if !key.fits(sig) {
        return Ok(false);
    }
    let (alg, kid) = (key.alg.as_str(), key.kid.as_str());
    let v = with_key("verify", alg, kid, &key.jwk, || js_verify(alg, kid, data, sig)).await?;
    Ok(v.as_bool() == Some(true))
}

pub struct WebCryptoHasher;

#[async_trait(?Send)]
impl PasswordHasher for WebCryptoHasher {
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> StoreResult<Vec<u8>> {
        js_pbkdf2(password, salt, iterations)
            .await
            .map(to_bytes)
            .map_err(|e| js_err("deriveBits", e))
    }
}

/// Passkey signatures: ECDSA P-256 with SHA-256, Ed25519, and
/// RSASSA-PKCS1-v1_5 with SHA-256, by the runtime.
pub struct WebCryptoVerifier;

#[async_trait(?Send)]
impl SignatureVerifier for WebCryptoVerifier {
    /// A signature of the wrong length is invalid without asking WebCrypto
    /// (as in [`verify`]).
    async fn verify(&self, key: &PublicKey, data: &[u8], signature: &[u8]) -> StoreResult<bool> {
        if signature_len(key.alg, &key.jwk) != Some(signature.len()) {
            return Ok(false);
        }
        let v = verify_public_jwk(key.alg.as_str(), &key.jwk.to_string(), data, signature)
            .await
            .map_err(|e| js_err("verify", e))?;
        Ok(v.as_bool() == Some(true))
    }
}
