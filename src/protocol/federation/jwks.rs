//! An upstream's signing keys (its `jwks_uri`, a JWK Set: RFC 7517 §5),
//! as the public keys WebCrypto verifies with, and the choice of the key
//! an ID token names.

use super::FederationError;
use crate::protocol::encoding::{b64url, b64url_decode};
use crate::protocol::jose::SigningAlg;
use crate::protocol::webauthn::{rsa_jwk, PublicKey};
use serde_json::{json, Map, Value};

/// Keys a set may hold before we stop reading it (providers publish a few).
const MAX_KEYS: usize = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamKey {
    pub kid: Option<String>,
    pub key: PublicKey,
}

fn member(jwk: &Map<String, Value>, name: &str) -> Option<Vec<u8>> {
    b64url_decode(jwk.get(name)?.as_str()?)
}

/// A 32-octet coordinate, re-encoded so the JWK WebCrypto sees is the
/// canonical one.
fn octets32(jwk: &Map<String, Value>, name: &str) -> Option<String> {
    member(jwk, name).filter(|b| b.len() == 32).map(|b| b64url(&b))
}

/// One JWK as a key we verify with: RSA (RS256, the modulus 2048 to 4096
/// bits), EC P-256 (ES256), OKP Ed25519 (EdDSA; RFC 8037 §2). Only the
/// public members are kept. `None` for any other key, for one whose `alg`
/// (RFC 7517 §4.4) is not the algorithm its type is used with here, and
/// for one whose `use` is not `sig` (§4.2: encryption keys).
fn usable(jwk: &Map<String, Value>) -> Option<UpstreamKey> {
    if jwk.get("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let (alg, public) = match (text("kty")?, text("crv")) {
        ("RSA", _) => (SigningAlg::RS256, rsa_jwk(&member(jwk, "n")?, &member(jwk, "e")?).ok()?),
        ("EC", Some("P-256")) => (
            SigningAlg::ES256,
            json!({"kty": "EC", "crv": "P-256", "x": octets32(jwk, "x")?, "y": octets32(jwk, "y")?}),
        ),
        ("OKP", Some("Ed25519")) => (
            SigningAlg::EdDSA,
            json!({"kty": "OKP", "crv": "Ed25519", "x": octets32(jwk, "x")?}),
        ),
        _ => return None,
    };
    if jwk.get("alg").is_some_and(|a| a != alg.as_str()) {
        return None;
    }
    Some(UpstreamKey {
        kid: text("kid").map(str::to_owned),
        key: PublicKey { alg, jwk: public },
    })
}

/// Reads a JWK Set: `{"keys": [...]}`. Keys we cannot use are skipped
/// (RFC 7517 §5: "Implementations SHOULD ignore JWKs within a JWK Set that
/// use "kty" (key type) values that are not understood by them"); a set
/// that is not one is a bad response.
pub fn parse_jwks(json: &[u8]) -> Result<Vec<UpstreamKey>, FederationError> {
    let bad = |what: &str| FederationError::BadResponse(format!("JWK set: {what}"));
    let doc: Value = serde_json::from_slice(json).map_err(|_| bad("not JSON"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("keys is not an array"))?;
    Ok(keys
        .iter()
        .take(MAX_KEYS)
        .filter_map(Value::as_object)
        .filter_map(usable)
        .collect())
}

/// The key to verify a token signed with `alg` and naming `kid`: the one
/// with that `kid` (and that algorithm); without a `kid`, the only key
/// for the algorithm, and none when several fit (OIDC Core §10.1: "If
/// there are multiple keys in the referenced JWK Set document, a kid value
/// MUST be provided in the JOSE Header"). `None` with a `kid` may mean
/// the provider rotated: fetch the set again once.
pub fn select_key<'a>(keys: &'a [UpstreamKey], alg: SigningAlg, kid: Option<&str>) -> Option<&'a UpstreamKey> {
    let mut fitting = keys.iter().filter(|k| k.key.alg == alg);
    match kid {
        Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid)),
        None => match (fitting.next(), fitting.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        },
    }
}
