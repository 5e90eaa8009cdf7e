//! The runtime's WebCrypto (`crypto.subtle`), which runs natively: RSA, ECDSA
//! and Ed25519 signing and PBKDF2 cost a fraction of their wasm equivalents
//! (numbers in bench/README.md). Imported keys are cached per isolate, so a
//! JWK is parsed and imported once, not on every signature.

use super::{PasswordHasher, StoreError, StoreResult};
use async_trait::async_trait;
use wasm_bindgen::prelude::*;

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

async function importKey(alg, kid, jwkJson, usage) {
  const id = usage + "\u0000" + alg + "\u0000" + kid;
  let key = keys.get(id);
  if (!key) {
    const jwk = JSON.parse(jwkJson);
    if (usage === "verify") for (const m of PRIVATE) delete jwk[m];
    else for (const m of ["key_ops", "ext"]) delete jwk[m];
    key = await crypto.subtle.importKey("jwk", jwk, ALGS[alg].imp, false, [usage]);
    keys.set(id, key);
  }
  return key;
}

export async function generate_jwk(alg) {
  const pair = await crypto.subtle.generateKey(ALGS[alg].gen, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  delete jwk.key_ops;
  delete jwk.ext;
  return JSON.stringify(jwk);
}

export async function sign(alg, kid, jwkJson, data) {
  const key = await importKey(alg, kid, jwkJson, "sign");
  return new Uint8Array(await crypto.subtle.sign(ALGS[alg].op, key, data));
}

export async function verify(alg, kid, jwkJson, data, signature) {
  const key = await importKey(alg, kid, jwkJson, "verify");
  return await crypto.subtle.verify(ALGS[alg].op, key, signature, data);
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
    #[wasm_bindgen(catch, js_name = sign)]
    async fn js_sign(alg: &str, kid: &str, jwk: &str, data: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = verify)]
    async fn js_verify(alg: &str, kid: &str, jwk: &str, data: &[u8], sig: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = pbkdf2_sha256)]
    async fn js_pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> Result<JsValue, JsValue>;
}

fn js_err(what: &str, e: JsValue) -> StoreError {
    StoreError(format!("webcrypto {what}: {e:?}"))
}

fn to_bytes(v: JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(&v).to_vec()
}

/// Generates a private JWK (with its public members) for `alg`.
pub async fn generate_jwk(alg: &str) -> StoreResult<String> {
    let v = js_generate_jwk(alg).await.map_err(|e| js_err("generateKey", e))?;
    v.as_string()
        .ok_or_else(|| StoreError("webcrypto generateKey: not a string".into()))
}

pub async fn sign(alg: &str, kid: &str, private_jwk: &str, data: &[u8]) -> StoreResult<Vec<u8>> {
    js_sign(alg, kid, private_jwk, data)
        .await
        .map(to_bytes)
        .map_err(|e| js_err("sign", e))
}

pub async fn verify(alg: &str, kid: &str, jwk: &str, data: &[u8], sig: &[u8]) -> StoreResult<bool> {
    let v = js_verify(alg, kid, jwk, data, sig)
        .await
        .map_err(|e| js_err("verify", e))?;
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
