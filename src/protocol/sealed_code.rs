//! The authorization code as the pending grant itself: `/authorize` seals
//! the grant it would have stored (client, `sub`, scopes, claims, how the
//! person signed in, nonce, `sid`, redirect URI, PKCE challenge, expiry)
//! into the code, and stores nothing. The grant's Durable Object is made by
//! the first redemption, at the token endpoint, named by the grant id the
//! code carries in the clear; a replay or a concurrent redemption reaches
//! that same object, which lets exactly one win (protocol/grant.rs).
//!
//! The code is `<grant id>.<b64url(nonce ‖ ciphertext ‖ tag)>`: the sealed
//! grant is XChaCha20-Poly1305 under the code key, with the grant id in the
//! additional data, so its holder can neither read it (it names the
//! person's claims) nor alter it, nor move it under another grant id. The
//! nonce is 192 random bits: one key can seal any number of codes.

use super::encoding::{b64url, b64url_decode, secret_hash};
use super::grant::Grant;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// What the code key is derived for, so that it is never the same as the
/// key it comes from (the key ring's storage key, kept for other uses).
const KEY_LABEL: &[u8] = b"edge-oidc authorization code sealing v1";
const AAD_LABEL: &str = "edge-oidc code v1:";

/// The key that seals codes: 32 bytes derived from a key-ring secret.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl CodeKey {
    /// HMAC-SHA256 of the label under `secret`: a PRF output, so the code
    /// key says nothing of `secret` and no other use of `secret` meets it.
    pub fn derive(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(KEY_LABEL);
        Self(mac.finalize().into_bytes().into())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }
}

fn aad(grant_id: &str) -> String {
    format!("{AAD_LABEL}{grant_id}")
}

/// The sealed part of the code for `grant`, to be joined to `grant_id`.
/// `nonce` is fresh randomness. The code's own hash is not sealed (it is
/// the hash of this very text): [`open`] puts it in.
pub fn seal(key: &CodeKey, grant_id: &str, grant: &Grant, nonce: [u8; NONCE_LEN]) -> String {
    // A Grant is plain data: it always serializes.
    let plaintext = serde_json::to_vec(grant).unwrap_or_default();
    let aad = aad(grant_id);
    // Encryption fails only for messages beyond 256 GiB.
    let ciphertext = key
        .cipher()
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: aad.as_bytes(),
            },
        )
        .unwrap_or_default();
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    b64url(&sealed)
}

/// Whether `secret` (a code's part after the dot) is a sealed grant rather
/// than the 256-bit secret of a code stored whole by an earlier release.
/// Such codes' secrets are 43 characters; the shortest sealed one is longer.
pub fn is_sealed(secret: &str) -> bool {
    secret.len() > 43
}

/// The pending grant of a code sealed by [`seal`] for `grant_id`, with the
/// code's hash in its binding; `None` when it is not one of ours for that
/// grant id, or was altered.
pub fn open(key: &CodeKey, grant_id: &str, sealed: &str) -> Option<Grant> {
    let bytes = b64url_decode(sealed)?;
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let aad = aad(grant_id);
    let plaintext = key
        .cipher()
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: aad.as_bytes(),
            },
        )
        .ok()?;
    let mut grant: Grant = serde_json::from_slice(&plaintext).ok()?;
    grant.code.as_mut()?.hash = secret_hash(sealed);
    Some(grant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::grant::CodeBinding;
    use serde_json::json;

    fn grant() -> Grant {
        Grant {
            client_id: "client-1".into(),
            sub: "user-1".into(),
            scopes: vec!["openid".into(), "email".into()],
            claims: json!({"email": "a@example.com"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            auth_time: 990,
            amr: vec!["pwd".into()],
            acr: None,
            idp: None,
            nonce: Some("n-0S6".into()),
            sid: Some("sid-1".into()),
            resources: Vec::new(),
            created_at: 1000,
            code: Some(CodeBinding {
                hash: String::new(),
                redirect_uri: "https://rp.example/cb".into(),
                code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
                expires_at: 1060,
                used: false,
            }),
            refresh: None,
            tokens_valid_until: 0,
            revoked: false,
        }
    }

    fn key() -> CodeKey {
        CodeKey::derive(b"a key-ring secret of thirty-two!")
    }

    #[test]
    fn opens_what_it_sealed_with_the_code_hash_in_place() {
        let sealed = seal(&key(), "g1", &grant(), [7; NONCE_LEN]);
        let opened = open(&key(), "g1", &sealed).unwrap();
        let mut expected = grant();
        expected.code.as_mut().unwrap().hash = secret_hash(&sealed);
        assert_eq!(opened, expected);
        assert!(is_sealed(&sealed));
    }

    #[test]
    fn the_holder_cannot_read_it() {
        let sealed = seal(&key(), "g1", &grant(), [7; NONCE_LEN]);
        let bytes = b64url_decode(&sealed).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for visible in ["a@example.com", "user-1", "client-1", "rp.example", "openid"] {
            assert!(!text.contains(visible), "{visible} is readable");
        }
    }

    #[test]
    fn refuses_another_grant_id_key_or_any_altered_byte() {
        let sealed = seal(&key(), "g1", &grant(), [7; NONCE_LEN]);
        assert_eq!(open(&key(), "g2", &sealed), None);
        assert_eq!(open(&CodeKey::derive(b"another secret"), "g1", &sealed), None);
        let bytes = b64url_decode(&sealed).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 1;
            assert_eq!(open(&key(), "g1", &b64url(&altered)), None, "byte {i} altered");
        }
        assert_eq!(open(&key(), "g1", &sealed[..sealed.len() - 1]), None);
        assert_eq!(open(&key(), "g1", "not base64url!"), None);
        assert_eq!(open(&key(), "g1", ""), None);
    }

    #[test]
    fn two_seals_of_one_grant_differ() {
        let a = seal(&key(), "g1", &grant(), [1; NONCE_LEN]);
        let b = seal(&key(), "g1", &grant(), [2; NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn a_stored_code_secret_is_not_taken_for_a_sealed_one() {
        assert!(!is_sealed("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
    }

    #[test]
    fn the_code_key_is_not_its_secret() {
        let secret = [9u8; 32];
        assert_ne!(CodeKey::derive(&secret).0, secret);
    }
}
