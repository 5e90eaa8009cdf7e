//! JOSE values: signing algorithms (RFC 7518) and JWK handling (RFC 7517).

use serde::{Deserialize, Serialize};

/// The ID token / access token signing algorithms we offer. RS256 is the one
/// OIDC Core §15.1 requires every provider to support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SigningAlg {
    #[default]
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::RS256, SigningAlg::ES256, SigningAlg::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

use super::encoding::{b64url, b64url_decode, sha256};
use super::error::{ErrorCode, OAuthError, OAuthResult};
use serde_json::{json, Map, Value};

/// The members of a JWK that are public, by key type (RFC 7518 §6). Building
/// the public key from an allowlist means a private member (`d`, `p`, `q`,
/// `dp`, `dq`, `qi`, `oth`, or one we have never heard of) cannot leak.
fn public_members(kty: &str) -> &'static [&'static str] {
    match kty {
        "RSA" => &["kty", "n", "e"],
        "EC" => &["kty", "crv", "x", "y"],
        "OKP" => &["kty", "crv", "x"],
        _ => &[],
    }
}

/// The public half of a JWK, with `kid`, `alg` and `use` kept.
pub fn public_jwk(jwk: &Value) -> Value {
    let kty = jwk["kty"].as_str().unwrap_or_default();
    let mut out = Map::new();
    for m in public_members(kty).iter().chain(&["kid", "alg", "use"]) {
        if let Some(v) = jwk.get(*m) {
            out.insert((*m).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required public members in
/// lexicographic order, which `public_members` lists them in. Used as `kid`
/// so a key's id follows from the key itself.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let kty = jwk["kty"].as_str()?;
    let members = public_members(kty);
    if members.is_empty() {
        return None;
    }
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_string(), Value::String(jwk.get(*m)?.as_str()?.to_string()));
    }
    // serde_json's Map is ordered by key, which is the order RFC 7638 wants.
    Some(b64url(&sha256(Value::Object(canonical).to_string().as_bytes())))
}

/// The algorithm a JWK is for, from `alg` or else from its key type.
pub fn jwk_alg(jwk: &Value) -> Option<SigningAlg> {
    if let Some(alg) = jwk["alg"].as_str() {
        return SigningAlg::parse(alg);
    }
    match (jwk["kty"].as_str()?, jwk["crv"].as_str()) {
        ("RSA", _) => Some(SigningAlg::RS256),
        ("EC", Some("P-256")) => Some(SigningAlg::ES256),
        ("OKP", Some("Ed25519")) => Some(SigningAlg::EdDSA),
        _ => None,
    }
}

/// `header.payload` of a compact JWS (RFC 7515 §7.1), ready to sign.
pub fn signing_input(alg: SigningAlg, kid: &str, typ: &str, claims: &Value) -> String {
    let header = json!({ "alg": alg.as_str(), "kid": kid, "typ": typ });
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

pub fn attach_signature(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", b64url(signature))
}

/// A compact JWS taken apart, not yet verified.
#[derive(Debug)]
pub struct ParsedJws<'a> {
    pub alg: SigningAlg,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub claims: Map<String, Value>,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Splits and decodes a compact JWS. Anything malformed, or an algorithm we
/// do not sign with (`none` included), is `invalid_token`.
pub fn parse_jws(token: &str) -> OAuthResult<ParsedJws<'_>> {
    let bad = || OAuthError::new(ErrorCode::InvalidToken, "the token is malformed");
    let (signing_input, sig) = token.rsplit_once('.').ok_or_else(bad)?;
    let (header, payload) = signing_input.split_once('.').ok_or_else(bad)?;
    let header: Value = serde_json::from_slice(&b64url_decode(header).ok_or_else(bad)?).map_err(|_| bad())?;
    let claims: Value = serde_json::from_slice(&b64url_decode(payload).ok_or_else(bad)?).map_err(|_| bad())?;
    let alg = header["alg"].as_str().and_then(SigningAlg::parse).ok_or_else(bad)?;
    Ok(ParsedJws {
        alg,
        kid: header["kid"].as_str().map(str::to_string),
        typ: header["typ"].as_str().map(str::to_string),
        claims: match claims {
            Value::Object(m) => m,
            _ => return Err(bad()),
        },
        signing_input,
        signature: b64url_decode(sig).ok_or_else(bad)?,
    })
}

/// OIDC Core §3.1.3.6 `at_hash`: the left half of the hash of the access
/// token, with the hash of the ID token's algorithm. For EdDSA (Ed25519)
/// that hash is SHA-512, as other providers and RP libraries do.
pub fn token_hash(alg: SigningAlg, token: &str) -> String {
    use sha2::{Digest, Sha512};
    match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => b64url(&sha256(token.as_bytes())[..16]),
        SigningAlg::EdDSA => b64url(&Sha512::digest(token.as_bytes())[..32]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_jwk_drops_private_members() {
        let rsa = json!({"kty":"RSA","n":"n","e":"AQAB","d":"d","p":"p","q":"q","dp":"1","dq":"2","qi":"3",
                         "kid":"k","alg":"RS256","use":"sig","x-secret":"s"});
        assert_eq!(
            public_jwk(&rsa),
            json!({"kty":"RSA","n":"n","e":"AQAB","kid":"k","alg":"RS256","use":"sig"})
        );
        let okp = json!({"kty":"OKP","crv":"Ed25519","x":"x","d":"d"});
        assert_eq!(public_jwk(&okp), json!({"kty":"OKP","crv":"Ed25519","x":"x"}));
        assert_eq!(public_jwk(&json!({"kty":"oct","k":"secret"})), json!({}));
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"
        });
        assert_eq!(thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn jwk_alg_from_alg_or_curve() {
        assert_eq!(jwk_alg(&json!({"kty":"EC","crv":"P-256"})), Some(SigningAlg::ES256));
        assert_eq!(jwk_alg(&json!({"kty":"OKP","crv":"Ed25519"})), Some(SigningAlg::EdDSA));
        assert_eq!(jwk_alg(&json!({"kty":"RSA","alg":"RS256"})), Some(SigningAlg::RS256));
        assert_eq!(jwk_alg(&json!({"kty":"RSA","alg":"PS256"})), None);
        assert_eq!(jwk_alg(&json!({"kty":"EC","crv":"P-384"})), None);
    }

    #[test]
    fn jws_round_trip_and_rejections() {
        let input = signing_input(SigningAlg::ES256, "k1", "at+jwt", &json!({"sub": "u"}));
        let token = attach_signature(&input, &[1, 2, 3]);
        let p = parse_jws(&token).unwrap();
        assert_eq!(
            (p.alg, p.kid.as_deref(), p.typ.as_deref()),
            (SigningAlg::ES256, Some("k1"), Some("at+jwt"))
        );
        assert_eq!(p.claims["sub"], "u");
        assert_eq!(p.signing_input, input);
        assert_eq!(p.signature, vec![1, 2, 3]);
        let none = format!("{}.{}.", b64url(br#"{"alg":"none"}"#), b64url(br#"{"sub":"u"}"#));
        for bad in ["", "a.b", "a.b.c", &none, "e30.W10.AA"] {
            assert_eq!(parse_jws(bad).unwrap_err().code, ErrorCode::InvalidToken, "{bad}");
        }
    }

    #[test]
    fn at_hash_matches_oidc_example() {
        // The left half of SHA-256("abc") (FIPS 180-2 Appendix B.1), base64url.
        assert_eq!(token_hash(SigningAlg::RS256, "abc"), "ungWv48Bz-pBQUDeXa4iIw");
        assert_eq!(token_hash(SigningAlg::EdDSA, "abc").len(), 43);
    }
}
