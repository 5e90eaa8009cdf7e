//! The signing key ring: which key signs for each algorithm, which keys are
//! published, and when a key is replaced. Generation is the caller's job
//! (WebCrypto); this module only decides.

use super::encoding::{b64url, sha256};
use super::error::{invalid_request, OAuthResult};
use super::jose::{jwk_alg, public_jwk, signature_len, thumbprint, SigningAlg};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `POST /admin/keys/rotate` body: `{"reason": "scheduled"}` (the default:
/// old keys stay published for their grace period) or `{"reason":
/// "compromise"}` (old keys unpublished at once). True for a compromise.
pub fn parse_rotation_reason(body: &Value) -> OAuthResult<bool> {
    let reason = match body {
        Value::Object(obj) => obj.get("reason"),
        _ => return Err(invalid_request("the request body must be a JSON object")),
    };
    match reason.and_then(Value::as_str) {
        None if reason.is_none_or(Value::is_null) => Ok(false),
        Some("scheduled") => Ok(false),
        Some("compromise") => Ok(true),
        _ => Err(invalid_request("reason must be \"scheduled\" or \"compromise\"")),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// The private JWK as JSON text, with `kid`, `alg` and `use` set.
    pub jwk: String,
    pub created_at: u64,
    /// When a newer key took over signing; the key stays published a while
    /// longer so tokens it signed still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
}

impl SigningKey {
    /// Wraps a freshly generated private JWK: its `kid` is its RFC 7638
    /// thumbprint, so the same key always has the same id.
    pub fn from_private_jwk(jwk_json: &str, now: u64) -> Result<Self, String> {
        let mut jwk: Value = serde_json::from_str(jwk_json).map_err(|e| format!("not a JWK: {e}"))?;
        if jwk.get("d").is_none() {
            return Err("a signing key must be a private JWK (with `d`)".into());
        }
        let alg = jwk_alg(&jwk).ok_or("the JWK is not for RS256, ES256 or EdDSA")?;
        let kid = match jwk["kid"].as_str() {
            Some(kid) => kid.to_string(),
            None => thumbprint(&jwk).ok_or("the JWK lacks its public members")?,
        };
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        Ok(Self {
            kid,
            alg,
            jwk: jwk.to_string(),
            created_at: now,
            retired_at: None,
        })
    }

    /// Whether `signature` is as long as every signature of this key is
    /// ([`signature_len`]). A signature of any other length is invalid
    /// before any cryptography, and is never handed to WebCrypto, which
    /// throws on some wrong lengths instead of answering "not valid".
    pub fn fits(&self, signature: &[u8]) -> bool {
        let jwk = serde_json::from_str(&self.jwk).unwrap_or(Value::Null);
        signature_len(self.alg, &jwk) == Some(signature.len())
    }

    pub fn public_jwk(&self) -> Value {
        serde_json::from_str(&self.jwk)
            .map(|v| public_jwk(&v))
            .unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyRing {
    pub keys: Vec<SigningKey>,
    /// The HMAC key for sealed form fields and CSRF tokens (`handle`).
    #[serde(default)]
    pub form_secret: String,
}

impl KeyRing {
    /// Parses a `SIGNING_KEYS` secret: a JWK set of private keys. The first
    /// key of each algorithm signs; the others are published for
    /// verification (keys being phased out). All three algorithms are
    /// required, because clients may pick any of them.
    pub fn from_jwk_set(json: &str, now: u64) -> Result<Self, String> {
        let set: Value = serde_json::from_str(json).map_err(|e| format!("SIGNING_KEYS is not JSON: {e}"))?;
        let keys = set["keys"]
            .as_array()
            .ok_or("SIGNING_KEYS must be a JWK set: {\"keys\": [...]}")?;
        // The form secret follows from the signing keys: as secret as they
        // are, and the same in every isolate without being stored.
        let mut ring = KeyRing {
            keys: Vec::new(),
            form_secret: b64url(&sha256(format!("form-secret\0{json}").as_bytes())),
        };
        for (i, k) in keys.iter().enumerate() {
            let mut key =
                SigningKey::from_private_jwk(&k.to_string(), now).map_err(|e| format!("SIGNING_KEYS key {i}: {e}"))?;
            if ring.current(key.alg).is_some() {
                key.retired_at = Some(now);
            }
            ring.keys.push(key);
        }
        match SigningAlg::ALL.into_iter().find(|a| ring.current(*a).is_none()) {
            Some(missing) => Err(format!("SIGNING_KEYS has no {} key", missing.as_str())),
            None => Ok(ring),
        }
    }

    /// The key that signs for `alg`: the newest one not retired.
    pub fn current(&self, alg: SigningAlg) -> Option<&SigningKey> {
        self.keys
            .iter()
            .filter(|k| k.alg == alg && k.retired_at.is_none())
            .max_by_key(|k| k.created_at)
    }

    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Algorithms that need a new key: none yet, or the current one has
    /// signed for `interval` seconds.
    pub fn due(&self, now: u64, interval: u64) -> Vec<SigningAlg> {
        SigningAlg::ALL
            .into_iter()
            .filter(|a| {
                self.current(*a)
                    .is_none_or(|k| k.created_at.saturating_add(interval) <= now)
            })
            .collect()
    }

    /// Makes `key` the signing key for its algorithm, retiring the previous one.
    pub fn install(&mut self, key: SigningKey, now: u64) {
        for k in self
            .keys
            .iter_mut()
            .filter(|k| k.alg == key.alg && k.retired_at.is_none())
        {
            k.retired_at = Some(now);
        }
        self.keys.push(key);
    }

    /// After a suspected compromise (with new current keys installed): the
    /// retired keys go at once, unpublished, so nothing they signed verifies
    /// any more, and the form secret is replaced, so no form or CSRF token
    /// sealed before can be trusted either.
    pub fn forget_retired(&mut self, new_form_secret: String) {
        self.keys.retain(|k| k.retired_at.is_none());
        self.form_secret = new_form_secret;
    }

    /// Drops retired keys once nothing they signed can still be valid.
    pub fn prune(&mut self, now: u64, keep_retired_for: u64) {
        self.keys
            .retain(|k| k.retired_at.is_none_or(|r| r.saturating_add(keep_retired_for) > now));
    }

    /// When the next key is due, for scheduling.
    pub fn next_rotation(&self, interval: u64) -> Option<u64> {
        SigningAlg::ALL
            .into_iter()
            .filter_map(|a| self.current(a))
            .map(|k| k.created_at + interval)
            .min()
    }

    /// RFC 7517 JWK set of every published key, public members only.
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(SigningKey::public_jwk).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(alg: SigningAlg, x: &str, now: u64) -> SigningKey {
        let jwk = match alg {
            SigningAlg::RS256 => json!({"kty":"RSA","n":x,"e":"AQAB","d":"secret"}),
            SigningAlg::ES256 => json!({"kty":"EC","crv":"P-256","x":x,"y":"y","d":"secret"}),
            SigningAlg::EdDSA => json!({"kty":"OKP","crv":"Ed25519","x":x,"d":"secret"}),
        };
        SigningKey::from_private_jwk(&jwk.to_string(), now).unwrap()
    }

    fn full_ring(now: u64) -> KeyRing {
        let mut ring = KeyRing::default();
        for a in SigningAlg::ALL {
            ring.install(key(a, "k0", now), now);
        }
        ring
    }

    #[test]
    fn new_ring_needs_every_algorithm() {
        assert_eq!(KeyRing::default().due(0, 100), SigningAlg::ALL.to_vec());
        assert!(full_ring(0).due(99, 100).is_empty());
        assert_eq!(full_ring(0).due(100, 100), SigningAlg::ALL.to_vec());
    }

    #[test]
    fn rotation_keeps_previous_key_published_until_pruned() {
        let mut ring = full_ring(0);
        let old = ring.current(SigningAlg::ES256).unwrap().kid.clone();
        ring.install(key(SigningAlg::ES256, "k1", 100), 100);
        assert_ne!(ring.current(SigningAlg::ES256).unwrap().kid, old);
        ring.prune(150, 60);
        assert!(ring.find(&old).is_some(), "retired key still published");
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 4);
        ring.prune(160, 60);
        assert!(ring.find(&old).is_none());
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_compromise_unpublishes_retired_keys_and_replaces_the_form_secret() {
        let mut ring = full_ring(0);
        ring.form_secret = "old".into();
        let old = ring.current(SigningAlg::ES256).unwrap().kid.clone();
        for a in SigningAlg::ALL {
            ring.install(key(a, "k1", 100), 100);
        }
        ring.forget_retired("new".into());
        assert!(ring.find(&old).is_none());
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 3);
        assert!(SigningAlg::ALL.into_iter().all(|a| ring.current(a).is_some()));
        assert_eq!(ring.form_secret, "new");
    }

    #[test]
    fn rotation_reasons() {
        let compromised = |body: Value| parse_rotation_reason(&body).unwrap();
        assert!(!compromised(json!({})));
        assert!(!compromised(json!({"reason": null})));
        assert!(!compromised(json!({"reason": "scheduled"})));
        assert!(compromised(json!({"reason": "compromise"})));
        for bad in [json!({"reason": "oops"}), json!({"reason": 1}), json!([])] {
            assert!(parse_rotation_reason(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jwks_never_carries_private_members() {
        let jwks = full_ring(0).jwks().to_string();
        assert!(!jwks.contains("secret") && !jwks.contains("\"d\""));
        for k in full_ring(0).jwks()["keys"].as_array().unwrap() {
            assert!(k["kid"].is_string() && k["alg"].is_string());
            assert_eq!(k["use"], "sig");
        }
    }

    #[test]
    fn from_private_jwk_rejects_public_and_unknown_keys() {
        assert!(SigningKey::from_private_jwk(r#"{"kty":"OKP","crv":"Ed25519","x":"x"}"#, 0).is_err());
        assert!(SigningKey::from_private_jwk(r#"{"kty":"EC","crv":"P-521","x":"x","y":"y","d":"d"}"#, 0).is_err());
        assert!(SigningKey::from_private_jwk("nope", 0).is_err());
    }

    #[test]
    fn jwk_set_secret_needs_all_algorithms_and_keeps_extra_keys_published() {
        let keys: Vec<Value> = [
            SigningAlg::RS256,
            SigningAlg::ES256,
            SigningAlg::EdDSA,
            SigningAlg::ES256,
        ]
        .iter()
        .enumerate()
        .map(|(i, a)| serde_json::from_str(&key(*a, &format!("x{i}"), 0).jwk).unwrap())
        .collect();
        let ring = KeyRing::from_jwk_set(&json!({ "keys": keys }).to_string(), 0).unwrap();
        assert_eq!(ring.keys.len(), 4);
        assert_eq!(ring.current(SigningAlg::ES256).unwrap().kid, ring.keys[1].kid);
        assert_eq!(ring.form_secret.len(), 43);
        let partial = json!({ "keys": &keys[..2] }).to_string();
        assert_eq!(
            KeyRing::from_jwk_set(&partial, 0).unwrap_err(),
            "SIGNING_KEYS has no EdDSA key"
        );
        assert!(KeyRing::from_jwk_set("{}", 0).is_err());
    }

    #[test]
    fn signatures_must_fit_the_key() {
        let rsa = key(SigningAlg::RS256, &b64url(&[0xc5; 256]), 0);
        assert!(rsa.fits(&[0; 256]));
        for len in [0, 1, 64, 255, 257, 512] {
            assert!(!rsa.fits(&vec![0; len]), "{len}");
        }
        for alg in [SigningAlg::ES256, SigningAlg::EdDSA] {
            let k = key(alg, "x", 0);
            assert!(k.fits(&[0; 64]));
            // 72: a DER-encoded ECDSA signature, a common mistake.
            for len in [0, 32, 63, 65, 72, 128, 256] {
                assert!(!k.fits(&vec![0; len]), "{alg:?} {len}");
            }
        }
        // An RSA key whose modulus cannot be read fits nothing.
        assert!(!key(SigningAlg::RS256, "!", 0).fits(&[0; 256]));
    }

    #[test]
    fn next_rotation_is_the_earliest_due_key() {
        let mut ring = full_ring(0);
        ring.install(key(SigningAlg::RS256, "k1", 50), 50);
        assert_eq!(ring.next_rotation(100), Some(100));
    }
}
