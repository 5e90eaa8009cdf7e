//! Host tests' passkey signature verifier, on RustCrypto (dev-dependencies:
//! none of it reaches the wasm). It takes what WebCrypto takes (a public
//! JWK, ECDSA as `r || s`) and answers as the platform verifier does:
//! `false` for a key that does not import.

use super::{SignatureVerifier, StoreResult};
use crate::protocol::encoding::b64url_decode;
use crate::protocol::jose::SigningAlg;
use crate::protocol::webauthn::PublicKey;
use async_trait::async_trait;
use serde_json::Value;

pub struct HostVerifier;

fn member(jwk: &Value, name: &str) -> Option<Vec<u8>> {
    b64url_decode(jwk[name].as_str()?)
}

fn es256(jwk: &Value, data: &[u8], signature: &[u8]) -> Option<bool> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    let coordinate = |name| {
        let b = member(jwk, name)?;
        (b.len() == 32).then(|| p256::FieldBytes::clone_from_slice(&b))
    };
    let point = p256::EncodedPoint::from_affine_coordinates(&coordinate("x")?, &coordinate("y")?, false);
    let key = VerifyingKey::from_encoded_point(&point).ok()?;
    let signature = Signature::from_slice(signature).ok()?;
    Some(key.verify(data, &signature).is_ok())
}

fn ed25519(jwk: &Value, data: &[u8], signature: &[u8]) -> Option<bool> {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let key = VerifyingKey::from_bytes(&member(jwk, "x")?.try_into().ok()?).ok()?;
    let signature = Signature::from_slice(signature).ok()?;
    Some(key.verify(data, &signature).is_ok())
}

fn rs256(jwk: &Value, data: &[u8], signature: &[u8]) -> Option<bool> {
    use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
    use sha2::{Digest, Sha256};
    let int = |name| member(jwk, name).map(|b| BigUint::from_bytes_be(&b));
    let key = RsaPublicKey::new(int("n")?, int("e")?).ok()?;
    let digest = Sha256::digest(data);
    Some(key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature).is_ok())
}

#[async_trait(?Send)]
impl SignatureVerifier for HostVerifier {
    async fn verify(&self, key: &PublicKey, data: &[u8], signature: &[u8]) -> StoreResult<bool> {
        let check = match key.alg {
            SigningAlg::ES256 => es256,
            SigningAlg::EdDSA => ed25519,
            SigningAlg::RS256 => rs256,
        };
        Ok(check(&key.jwk, data, signature).unwrap_or(false))
    }
}
