//! Sealed values: data the server hands to the browser and must get back
//! unaltered (the pending authorization request in a form's hidden field),
//! and CSRF tokens. HMAC-SHA256 with a server secret; nothing is encrypted,
//! so only data the person may see goes in. Each sealed value carries a
//! random nonce, so no two are alike and each can be used once (its tag
//! names its single-use record).

use super::encoding::{b64url, b64url_decode, ct_eq};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

fn mac(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    for p in parts {
        m.update(&(p.len() as u64).to_be_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    exp: u64,
    purpose: String,
    /// Random, so that two values sealed alike still differ.
    #[serde(default)]
    nonce: String,
    data: T,
}

/// A sealed value, opened.
#[derive(Debug, PartialEq)]
pub struct Opened<T> {
    pub data: T,
    /// Unique to this sealed value (its MAC tag): the name to use it once by.
    pub id: String,
    pub expires_at: u64,
}

/// Seals `data` for `purpose` until `now + ttl`; `nonce` is fresh randomness.
pub fn seal<T: Serialize>(secret: &[u8], purpose: &str, data: T, now: u64, ttl: u64, nonce: &str) -> String {
    let env = Envelope {
        exp: now + ttl,
        purpose: purpose.to_string(),
        nonce: nonce.to_string(),
        data,
    };
    let body = b64url(serde_json::to_string(&env).unwrap_or_default().as_bytes());
    let tag = b64url(&mac(secret, &[b"seal", body.as_bytes()]));
    format!("{body}.{tag}")
}

/// Opens a sealed value: `None` when altered, expired, or sealed for
/// another purpose.
pub fn open<T: DeserializeOwned>(secret: &[u8], purpose: &str, sealed: &str, now: u64) -> Option<Opened<T>> {
    let opened = open_value(secret, purpose, sealed, now)?;
    Some(Opened {
        data: serde_json::from_value(opened.data).ok()?,
        id: opened.id,
        expires_at: opened.expires_at,
    })
}

/// [`open`] up to the data, as JSON: one copy of the envelope's checks and
/// parser in the wasm for every kind of sealed data, not one per kind.
fn open_value(secret: &[u8], purpose: &str, sealed: &str, now: u64) -> Option<Opened<serde_json::Value>> {
    let (body, tag) = sealed.split_once('.')?;
    let expected = b64url(&mac(secret, &[b"seal", body.as_bytes()]));
    if !ct_eq(expected.as_bytes(), tag.as_bytes()) {
        return None;
    }
    let env: Envelope<serde_json::Value> = serde_json::from_slice(&b64url_decode(body)?).ok()?;
    (env.purpose == purpose && now < env.exp).then(|| Opened {
        data: env.data,
        id: tag.to_string(),
        expires_at: env.exp,
    })
}

/// The id a sealed value will have when opened ([`Opened::id`]), read
/// without opening it: a page needs it to derive what it binds to the
/// form it is showing (a passkey challenge).
pub fn sealed_id(sealed: &str) -> Option<&str> {
    sealed.split_once('.').map(|(_, tag)| tag)
}

/// A value only the server can compute from a sealed value's id, for
/// `label`: what must go with a sealed value without being readable in it
/// (the PKCE verifier of a federated sign-in, whose state the upstream sees).
pub fn derive(secret: &[u8], label: &str, id: &str) -> String {
    b64url(&mac(secret, &[b"derive", label.as_bytes(), id.as_bytes()]))
}

/// A CSRF token tying a form (its sealed handle) to the browser that loaded
/// it (a random value in that browser's cookie).
pub fn csrf_token(secret: &[u8], browser_nonce: &str, handle: &str) -> String {
    b64url(&mac(secret, &[b"csrf", browser_nonce.as_bytes(), handle.as_bytes()]))
}

pub fn csrf_matches(secret: &[u8], browser_nonce: &str, handle: &str, presented: &str) -> bool {
    ct_eq(
        csrf_token(secret, browser_nonce, handle).as_bytes(),
        presented.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let s = seal(b"k", "login", vec!["a", "b"], 100, 60, "n1");
        let opened = open::<Vec<String>>(b"k", "login", &s, 159).unwrap();
        assert_eq!(opened.data, vec!["a", "b"]);
        assert_eq!(opened.expires_at, 160);
        assert_eq!(opened.id, s.split_once('.').unwrap().1);
        assert_eq!(sealed_id(&s), Some(opened.id.as_str()));
        assert_eq!(sealed_id("no-tag"), None);
        // The same data sealed with another nonce is another value.
        let t = seal(b"k", "login", vec!["a", "b"], 100, 60, "n2");
        assert_ne!(open::<Vec<String>>(b"k", "login", &t, 159).unwrap().id, opened.id);
        assert!(open::<Vec<String>>(b"k", "login", &s, 160).is_none(), "expired");
        assert!(open::<Vec<String>>(b"k", "consent", &s, 100).is_none(), "other purpose");
        assert!(open::<Vec<String>>(b"other", "login", &s, 100).is_none(), "other key");
        let (body, tag) = s.split_once('.').unwrap();
        let forged = format!("{}.{tag}", b64url(br#"{"exp":999,"purpose":"login","data":["x"]}"#));
        assert!(open::<Vec<String>>(b"k", "login", &forged, 100).is_none());
        assert!(open::<Vec<String>>(b"k", "login", body, 100).is_none());
        assert!(open::<Vec<String>>(b"k", "login", "", 100).is_none());
    }

    #[test]
    fn derived_values_differ_by_label_id_and_key() {
        let d = derive(b"k", "pkce", "id1");
        assert_eq!(d.len(), 43);
        assert_eq!(d, derive(b"k", "pkce", "id1"));
        assert_ne!(d, derive(b"k", "nonce", "id1"));
        assert_ne!(d, derive(b"k", "pkce", "id2"));
        assert_ne!(d, derive(b"j", "pkce", "id1"));
    }

    #[test]
    fn csrf_binds_browser_and_form() {
        let t = csrf_token(b"k", "nonce1", "handle1");
        assert!(csrf_matches(b"k", "nonce1", "handle1", &t));
        assert!(!csrf_matches(b"k", "nonce2", "handle1", &t));
        assert!(!csrf_matches(b"k", "nonce1", "handle2", &t));
        assert!(!csrf_matches(b"k", "nonce1", "handle1", ""));
    }
}
