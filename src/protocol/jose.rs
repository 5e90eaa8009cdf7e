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

/// The length in octets every signature with `alg` and this key has.
/// RFC 7518 §3.4: an ES256 signature is "a 64-octet sequence" (R and S);
/// RFC 8037 §3.1: an Ed25519 signature is 64 octets; RFC 8017 §8.2.2: an
/// RS256 signature "S is not k octets" → "invalid signature", k being the
/// modulus length (RFC 7518 §6.3.1.1: `n` without leading zero octets).
/// `None` when the key gives no length (an RSA JWK without a readable `n`).
pub fn signature_len(alg: SigningAlg, jwk: &Value) -> Option<usize> {
    match alg {
        SigningAlg::ES256 | SigningAlg::EdDSA => Some(64),
        SigningAlg::RS256 => {
            let n = b64url_decode(jwk["n"].as_str()?)?;
            Some(n.iter().skip_while(|b| **b == 0).count()).filter(|k| *k > 0)
        }
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

/// Splits and decodes a compact JWS (RFC 7515 §7.1: exactly three
/// base64url parts, the first two JSON objects). Anything malformed, or an
/// algorithm we do not sign with (`none` and `HS256` included), is
/// `invalid_token`. RFC 7515 §4.1.11: if `crit` lists extensions "not
/// understood and supported by the recipient, then the JWS is invalid";
/// we support none, so any `crit` is refused.
pub fn parse_jws(token: &str) -> OAuthResult<ParsedJws<'_>> {
    let bad = || OAuthError::new(ErrorCode::InvalidToken, "the token is malformed");
    let object = |part: &str| match serde_json::from_slice(&b64url_decode(part).ok_or_else(bad)?) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad()),
    };
    let (signing_input, sig) = token.rsplit_once('.').ok_or_else(bad)?;
    let (header, payload) = signing_input.split_once('.').ok_or_else(bad)?;
    let header = object(header)?;
    if header.contains_key("crit") {
        return Err(bad());
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(SigningAlg::parse)
        .ok_or_else(bad)?;
    let text = |name: &str| header.get(name).and_then(Value::as_str).map(str::to_string);
    Ok(ParsedJws {
        alg,
        kid: text("kid"),
        typ: text("typ"),
        claims: object(payload)?,
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
        let part = |json: &str| b64url(json.as_bytes());
        let claims = part(r#"{"sub":"u"}"#);
        let with_header = |h: &str| format!("{}.{claims}.AQID", part(h));
        let bad = [
            String::new(),
            "a.b".into(),
            "a.b.c".into(),
            "e30.W10.AA".into(),
            format!("{}.{claims}.", part(r#"{"alg":"none"}"#)),
            with_header(r#"{"alg":"HS256","kid":"k1"}"#),
            with_header(r#"{"alg":"es256","kid":"k1"}"#),
            with_header(r#"{"kid":"k1"}"#),
            with_header(r#"["ES256"]"#),
            with_header(r#""ES256""#),
            with_header(r#"{"alg":"ES256","kid":"k1","crit":["exp"],"exp":1}"#),
            with_header(r#"{"alg":"ES256","kid":"k1","crit":[]}"#),
            format!("{}.{}.AQID", part(r#"{"alg":"ES256"}"#), part("[1]")),
            format!("{}.{}.AQID", part(r#"{"alg":"ES256"}"#), part("not json")),
            // Four and five segments (a JWE has five), and base64url that is not.
            format!("{token}.AQID"),
            format!("{token}.AQID.AQID"),
            token.replacen('.', ".*", 1),
            format!("{}!", token),
            // Padding, and trailing bits that are not zero (non-canonical).
            format!("{token}=="),
            format!("{}.{claims}.AQJ", part(r#"{"alg":"ES256"}"#)),
        ];
        for bad in &bad {
            assert_eq!(parse_jws(bad).unwrap_err().code, ErrorCode::InvalidToken, "{bad}");
        }
        // Header members of the wrong type are absent, not an error.
        let odd = with_header(r#"{"alg":"EdDSA","kid":7,"typ":["JWT"]}"#);
        let odd = parse_jws(&odd).unwrap();
        assert_eq!((odd.alg, odd.kid, odd.typ), (SigningAlg::EdDSA, None, None));
    }

    #[test]
    fn signature_lengths() {
        let rsa = |n: &[u8]| json!({"kty": "RSA", "n": b64url(n), "e": "AQAB"});
        let modulus = vec![0xc5; 256];
        assert_eq!(signature_len(SigningAlg::RS256, &rsa(&modulus)), Some(256));
        // The extra zero octet some libraries prefix (RFC 7518 §6.3.1.1).
        assert_eq!(
            signature_len(SigningAlg::RS256, &rsa(&[&[0], &modulus[..]].concat())),
            Some(256)
        );
        assert_eq!(signature_len(SigningAlg::RS256, &rsa(&modulus[..128])), Some(128));
        assert_eq!(signature_len(SigningAlg::RS256, &rsa(&[0])), None);
        assert_eq!(signature_len(SigningAlg::RS256, &json!({"kty": "RSA", "n": "!"})), None);
        assert_eq!(signature_len(SigningAlg::RS256, &json!({"kty": "RSA"})), None);
        assert_eq!(signature_len(SigningAlg::ES256, &json!({})), Some(64));
        assert_eq!(signature_len(SigningAlg::EdDSA, &json!({})), Some(64));
    }

    #[test]
    fn at_hash_matches_oidc_example() {
        // The left half of SHA-256("abc") (FIPS 180-2 Appendix B.1), base64url.
        assert_eq!(token_hash(SigningAlg::RS256, "abc"), "ungWv48Bz-pBQUDeXa4iIw");
        assert_eq!(token_hash(SigningAlg::EdDSA, "abc").len(), 43);
    }
}
