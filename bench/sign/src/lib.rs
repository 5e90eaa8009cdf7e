//! jwt-compact's RS256, ES256 and EdDSA compiled to wasm, for `run.mjs`.
//!
//! A [`Signer`] is made once from a private and a public JWK (parsed and, for
//! RSA, precomputed once, as a worker would cache an imported key); its
//! `sign_n` / `verify_n` run the whole JWT operation N times inside wasm so
//! that JS can time N signatures with one `performance.now()` pair:
//!
//! - sign: serialize header + claims (serde_json), base64url, sign, base64url
//!   the signature (jwt-compact's `AlgorithmExt::token`);
//! - verify: split and base64-decode the token, check the signature,
//!   deserialize the claims (`UntrustedToken::new` + `Validator::validate`).
//!
//! `encode_n` does the sign path with a no-op signature: what the worker
//! does in wasm anyway (build the signing input) before it hands the bytes
//! to WebCrypto, so run.mjs can show that part separately.

// A build with fewer than all algorithms (`run.sh --sizes`) leaves some unused.
#![cfg_attr(not(all(feature = "rs256", feature = "es256", feature = "eddsa")), allow(unused))]

use std::borrow::Cow;
use std::hint::black_box;

#[cfg(feature = "eddsa")]
use jwt_compact::alg::Ed25519;
#[cfg(feature = "es256")]
use jwt_compact::alg::Es256;
#[cfg(feature = "rs256")]
use jwt_compact::alg::{Rsa, RsaPrivateKey, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::prelude::*;
use jwt_compact::{Algorithm, AlgorithmSignature};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// RFC 9068 access-token claims as src/protocol/token.rs builds them; `exp`
/// and `iat` are jwt-compact's own `Claims` fields (numbers in the JSON).
#[derive(Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    sub: String,
    client_id: String,
    jti: String,
    scope: String,
    auth_time: u64,
    gid: String,
}

fn typical_claims() -> Claims<AccessClaims> {
    let now: u64 = 1_763_900_000;
    let at = |t: u64| chrono::DateTime::from_timestamp(t as i64, 0);
    let mut claims = Claims::new(AccessClaims {
        iss: "https://auth.example.com".into(),
        aud: "https://api.example.com".into(),
        sub: "user-8f14e45fceea167a5a36dedd4bea2543".into(),
        client_id: "client-c9f0f895fb98ab9159f51fd0297e236d".into(),
        jti: "Qx7bZ1rV9kLmN3pT5wYc8A".into(),
        scope: "openid profile email offline_access".into(),
        auth_time: now - 30,
        gid: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
    });
    claims.expiration = at(now + 3600);
    claims.issued_at = at(now);
    claims
}

fn header() -> Header {
    Header::empty()
        .with_key_id("kTLwE5wQ2o0fGZ4nS3vVbA")
        .with_token_type("at+jwt")
}

fn err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// A jwt-compact key from a JWK (JSON).
fn key<K>(json: &str) -> Result<K, JsError>
where
    K: for<'a, 'b> TryFrom<&'a JsonWebKey<'b>, Error = jwt_compact::jwk::JwkError>,
{
    let jwk: JsonWebKey<'_> = serde_json::from_str(json).map_err(err)?;
    K::try_from(&jwk).map_err(err)
}

/// A signature-free algorithm: `encode_n` times the JSON + base64 work alone.
struct Nop(&'static str);
struct NopSig;
impl AlgorithmSignature for NopSig {
    fn try_from_slice(_: &[u8]) -> anyhow::Result<Self> {
        Ok(NopSig)
    }
    fn as_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&[])
    }
}
impl Algorithm for Nop {
    type SigningKey = ();
    type VerifyingKey = ();
    type Signature = NopSig;
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(self.0)
    }
    fn sign(&self, _: &(), _: &[u8]) -> NopSig {
        NopSig
    }
    fn verify_signature(&self, _: &NopSig, _: &(), _: &[u8]) -> bool {
        true
    }
}

enum Keys {
    #[cfg(feature = "rs256")]
    Rs256(RsaPrivateKey, RsaPublicKey),
    #[cfg(feature = "es256")]
    Es256(p256::ecdsa::SigningKey, p256::ecdsa::VerifyingKey),
    #[cfg(feature = "eddsa")]
    EdDsa(ed25519_compact::SecretKey, ed25519_compact::PublicKey),
    /// `alg` "none": encode only (what every build has; the `--sizes` baseline).
    None,
}

#[wasm_bindgen]
pub struct Signer {
    keys: Keys,
    header: Header,
    claims: Claims<AccessClaims>,
    /// A token made at construction, the input of `verify_n`.
    token: String,
}

fn make<A: Algorithm>(alg: &A, h: &Header, c: &Claims<AccessClaims>, k: &A::SigningKey) -> Result<String, JsError> {
    alg.token(h, c, k).map_err(err)
}

fn check<A: Algorithm>(alg: &A, vk: &A::VerifyingKey, token: &str) -> Result<(), JsError> {
    let untrusted = UntrustedToken::new(token).map_err(err)?;
    let t = alg.validator::<AccessClaims>(vk).validate(&untrusted).map_err(err)?;
    black_box(t);
    Ok(())
}

#[wasm_bindgen]
impl Signer {
    /// `alg`: "RS256" | "ES256" | "EdDSA" (or "none", JWKs ignored); the JWKs as node's
    /// `KeyObject.export({ format: "jwk" })` writes them.
    #[wasm_bindgen(constructor)]
    pub fn new(alg: &str, private_jwk: &str, public_jwk: &str) -> Result<Signer, JsError> {
        let keys = match alg {
            #[cfg(feature = "rs256")]
            "RS256" => Keys::Rs256(key(private_jwk)?, key(public_jwk)?),
            #[cfg(feature = "es256")]
            "ES256" => Keys::Es256(key(private_jwk)?, key(public_jwk)?),
            #[cfg(feature = "eddsa")]
            "EdDSA" => Keys::EdDsa(key(private_jwk)?, key(public_jwk)?),
            "none" => Keys::None,
            other => return Err(JsError::new(&format!("alg {other} not built in"))),
        };
        let mut s = Signer {
            keys,
            header: header(),
            claims: typical_claims(),
            token: String::new(),
        };
        s.token = s.token()?;
        Ok(s)
    }

    /// One freshly signed token.
    pub fn token(&self) -> Result<String, JsError> {
        let (h, c) = (&self.header, &self.claims);
        match &self.keys {
            #[cfg(feature = "rs256")]
            Keys::Rs256(k, _) => make(&Rsa::rs256(), h, c, k),
            #[cfg(feature = "es256")]
            Keys::Es256(k, _) => make(&Es256, h, c, k),
            #[cfg(feature = "eddsa")]
            Keys::EdDsa(k, _) => make(&Ed25519, h, c, k),
            Keys::None => make(&Nop("none"), h, c, &()),
        }
    }

    /// Whether `token` (from anywhere, e.g. WebCrypto) verifies under the public key.
    pub fn verify(&self, token: &str) -> bool {
        match &self.keys {
            #[cfg(feature = "rs256")]
            Keys::Rs256(_, k) => check(&Rsa::rs256(), k, token),
            #[cfg(feature = "es256")]
            Keys::Es256(_, k) => check(&Es256, k, token),
            #[cfg(feature = "eddsa")]
            Keys::EdDsa(_, k) => check(&Ed25519, k, token),
            Keys::None => Ok::<(), JsError>(()),
        }
        .is_ok()
    }

    /// Signs the claims `n` times (a fresh token each time).
    pub fn sign_n(&self, n: u32) -> Result<(), JsError> {
        for _ in 0..n {
            black_box(self.token()?);
        }
        Ok(())
    }

    /// Verifies the construction-time token `n` times.
    pub fn verify_n(&self, n: u32) -> Result<(), JsError> {
        for _ in 0..n {
            let t = black_box(self.token.as_str());
            match &self.keys {
                #[cfg(feature = "rs256")]
                Keys::Rs256(_, k) => check(&Rsa::rs256(), k, t)?,
                #[cfg(feature = "es256")]
                Keys::Es256(_, k) => check(&Es256, k, t)?,
                #[cfg(feature = "eddsa")]
                Keys::EdDsa(_, k) => check(&Ed25519, k, t)?,
                Keys::None => return Err(JsError::new("no algorithm built in")),
            }
        }
        Ok(())
    }

    /// Builds the signing input `n` times with a no-op signature: the
    /// JSON + base64url part of `sign_n`, without the cryptography.
    pub fn encode_n(&self, n: u32) -> Result<(), JsError> {
        let alg = Nop(match self.keys {
            #[cfg(feature = "rs256")]
            Keys::Rs256(..) => "RS256",
            #[cfg(feature = "es256")]
            Keys::Es256(..) => "ES256",
            #[cfg(feature = "eddsa")]
            Keys::EdDsa(..) => "EdDSA",
            Keys::None => "none",
        });
        for _ in 0..n {
            black_box(make(&alg, &self.header, &self.claims, &())?);
        }
        Ok(())
    }
}
