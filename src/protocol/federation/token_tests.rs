//! JWK sets and ID tokens, end to end on the host: tokens signed with real
//! keys (RustCrypto, dev-dependencies) are parsed, their key selected from
//! a JWK set, their signature verified by `HostVerifier` (what WebCrypto
//! does on the platform), and only then their claims checked.

use super::id_token::{parse_id_token, Expected};
use super::jwks::{parse_jwks, select_key, UpstreamKey};
use super::FederationError;
use crate::protocol::encoding::{b64url, b64url_decode};
use crate::protocol::jose::SigningAlg;
use crate::store::host_crypto::HostVerifier;
use crate::store::SignatureVerifier;
use base64::Engine;
use futures::executor::block_on;
use serde_json::{json, Map, Value};

const ISSUER: &str = "https://upstream.example";
const CLIENT: &str = "our-client";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: u64 = 1_700_000_000;

/// A 2048-bit RSA key made with `openssl genrsa 2048` for these tests only.
const RSA_PKCS8_B64: &str = include_str!("../../../tests/fixtures/federation/rs256-test-key.pkcs8.b64");

fn rsa_key() -> rsa::RsaPrivateKey {
    use rsa::pkcs8::DecodePrivateKey;
    let der = base64::engine::general_purpose::STANDARD
        .decode(RSA_PKCS8_B64.trim())
        .unwrap();
    rsa::RsaPrivateKey::from_pkcs8_der(&der).unwrap()
}

fn ec_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap()
}

fn ed_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[9; 32])
}

/// The public JWK of each test key, as a provider publishes it.
fn public_jwk(alg: SigningAlg) -> Value {
    match alg {
        SigningAlg::RS256 => {
            use rsa::traits::PublicKeyParts;
            let k = rsa_key();
            json!({"kty": "RSA", "n": b64url(&k.n().to_bytes_be()), "e": b64url(&k.e().to_bytes_be())})
        }
        SigningAlg::ES256 => {
            let point = ec_key().verifying_key().to_encoded_point(false);
            json!({"kty": "EC", "crv": "P-256", "x": b64url(point.x().unwrap()), "y": b64url(point.y().unwrap())})
        }
        SigningAlg::EdDSA => json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(ed_key().verifying_key().as_bytes())}),
    }
}

fn sign(alg: SigningAlg, data: &[u8]) -> Vec<u8> {
    match alg {
        SigningAlg::RS256 => {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(data);
            rsa_key().sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap()
        }
        SigningAlg::ES256 => {
            use p256::ecdsa::signature::Signer;
            let sig: p256::ecdsa::Signature = ec_key().sign(data);
            sig.to_bytes().to_vec()
        }
        SigningAlg::EdDSA => {
            use ed25519_dalek::Signer;
            ed_key().sign(data).to_bytes().to_vec()
        }
    }
}

/// A compact JWS of `claims` with `header`, signed with the test key of
/// `alg` (whatever the header says).
fn jws(alg: SigningAlg, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature = sign(alg, input.as_bytes());
    format!("{input}.{}", b64url(&signature))
}

fn claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "248289761001", "aud": CLIENT, "nonce": NONCE,
        "iat": NOW - 10, "exp": NOW + 300, "email": "jane@example.com",
    })
}

fn token(alg: SigningAlg, claims: &Value) -> String {
    jws(alg, &json!({"alg": alg.as_str(), "kid": alg.as_str()}), claims)
}

/// The provider's JWK set: one key per algorithm, each with its `kid`.
fn key_set() -> Vec<UpstreamKey> {
    let keys: Vec<Value> = SigningAlg::ALL
        .iter()
        .map(|alg| {
            let mut jwk = public_jwk(*alg);
            jwk["kid"] = alg.as_str().into();
            jwk["use"] = "sig".into();
            jwk
        })
        .collect();
    parse_jwks(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
}

const ALL_ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

fn expected(allowed_algs: &[String]) -> Expected<'_> {
    Expected {
        issuer: ISSUER,
        client_id: CLIENT,
        nonce: NONCE,
        allowed_algs,
        now: NOW,
    }
}

/// What the callback does: parse → select the key → verify → check.
fn accept(jwt: &str, expected: &Expected) -> Result<Map<String, Value>, FederationError> {
    let token = parse_id_token(jwt)?;
    let keys = key_set();
    let key = select_key(&keys, token.alg, token.kid.as_deref())
        .ok_or_else(|| FederationError::InvalidIdToken("no key".into()))?;
    if !block_on(HostVerifier.verify(&key.key, &token.signing_input, &token.signature)).unwrap() {
        return Err(FederationError::InvalidIdToken("signature".into()));
    }
    token.check(expected)
}

fn all_algs() -> Vec<String> {
    ALL_ALGS.iter().map(|a| a.to_string()).collect()
}

#[test]
fn signed_id_tokens_verify_and_pass_for_every_algorithm() {
    let algs = all_algs();
    for alg in SigningAlg::ALL {
        let claims = accept(&token(alg, &claims()), &expected(&algs)).unwrap();
        assert_eq!(claims["sub"], "248289761001", "{alg:?}");
        assert_eq!(claims["email"], "jane@example.com");
        // The time claims were checked and are not handed on.
        assert!(!claims.contains_key("exp") && !claims.contains_key("iat"));
    }
}

#[test]
fn rs256_is_the_default_when_discovery_lists_no_algorithm() {
    assert!(accept(&token(SigningAlg::RS256, &claims()), &expected(&[])).is_ok());
    for alg in [SigningAlg::ES256, SigningAlg::EdDSA] {
        let e = accept(&token(alg, &claims()), &expected(&[])).unwrap_err();
        assert!(
            matches!(e, FederationError::InvalidIdToken(ref w) if w.contains("alg")),
            "{e:?}"
        );
    }
    let only_es = vec!["ES256".to_string()];
    assert!(accept(&token(SigningAlg::RS256, &claims()), &expected(&only_es)).is_err());
}

#[test]
fn each_claim_is_checked() {
    let algs = all_algs();
    let with = |changes: Value| {
        let mut c = claims();
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::Null => c.as_object_mut().unwrap().remove(k),
                v => c.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        accept(&token(SigningAlg::ES256, &c), &expected(&algs))
    };
    let refused: &[(Value, &str)] = &[
        (json!({"iss": "https://other.example"}), "iss"),
        (json!({"iss": "https://upstream.example/"}), "iss"),
        (json!({"iss": null}), "iss"),
        (json!({"aud": "someone-else"}), "aud"),
        (json!({"aud": ["someone-else", "another"]}), "aud"),
        (json!({"aud": [CLIENT, 7]}), "aud"),
        (json!({"aud": null}), "aud"),
        (json!({"aud": [CLIENT, "another"]}), "azp"),
        (json!({"aud": [CLIENT, "another"], "azp": "another"}), "azp"),
        (json!({"azp": "another"}), "azp"),
        (json!({"exp": NOW - 61}), "exp"),
        (json!({"exp": null}), "exp"),
        (json!({"exp": "soon"}), "claims"),
        (json!({"iat": NOW + 61}), "iat"),
        (json!({"iat": null}), "iat"),
        (json!({"nbf": NOW + 120}), "nbf"),
        (json!({"nonce": "n-0S6_WzA2Mk"}), "nonce"),
        (json!({"nonce": ""}), "nonce"),
        (json!({"nonce": null}), "nonce"),
        (json!({"sub": ""}), "sub"),
        (json!({"sub": 42}), "sub"),
        (json!({"sub": "x".repeat(256)}), "sub"),
        (json!({"sub": null}), "sub"),
    ];
    for (changes, what) in refused {
        match with(changes.clone()) {
            Err(FederationError::InvalidIdToken(why)) => assert!(why.contains(what), "{changes}: {why}"),
            other => panic!("{changes}: {other:?}"),
        }
    }
    let accepted = [
        json!({"aud": [CLIENT]}),
        json!({"aud": [CLIENT, "another"], "azp": CLIENT}),
        json!({"azp": CLIENT}),
        // Within the minute of leeway on either side.
        json!({"exp": NOW - 59}),
        json!({"iat": NOW + 59}),
        json!({"nbf": NOW + 59}),
        json!({"sub": "x".repeat(255)}),
    ];
    for changes in accepted {
        assert!(with(changes.clone()).is_ok(), "{changes}");
    }
}

#[test]
fn unsigned_hmac_and_unknown_algorithms_are_refused_at_parsing() {
    let payload = b64url(claims().to_string().as_bytes());
    let unsigned = format!("{}.{payload}.", b64url(br#"{"alg":"none"}"#));
    let hmac = jws(SigningAlg::RS256, &json!({"alg": "HS256"}), &claims());
    let ps = jws(SigningAlg::RS256, &json!({"alg": "PS256", "kid": "RS256"}), &claims());
    let lower = jws(SigningAlg::ES256, &json!({"alg": "es256", "kid": "ES256"}), &claims());
    let crit = jws(
        SigningAlg::ES256,
        &json!({"alg": "ES256", "kid": "ES256", "crit": ["exp"], "exp": 1}),
        &claims(),
    );
    let good = token(SigningAlg::ES256, &claims());
    let malformed = [
        String::new(),
        "a.b".into(),
        format!("{good}.AQID"),
        format!("{good}=="),
        good.replacen('.', ".*", 1),
        format!("{}.{}.AQID", b64url(br#"{"alg":"ES256"}"#), b64url(b"[1]")),
        format!("{}.{}.AQID", b64url(br#"["ES256"]"#), payload),
    ];
    for bad in [unsigned, hmac, ps, lower, crit].iter().chain(&malformed) {
        assert!(
            matches!(parse_id_token(bad), Err(FederationError::InvalidIdToken(_))),
            "{bad}"
        );
    }
}

#[test]
fn a_token_whose_signature_does_not_verify_is_refused() {
    let algs = all_algs();
    let good = token(SigningAlg::ES256, &claims());
    let (input, _) = good.rsplit_once('.').unwrap();
    // Claims changed after signing.
    let mut changed = claims();
    changed["sub"] = "someone-else".into();
    let forged_claims = format!(
        "{}.{}.{}",
        input.split('.').next().unwrap(),
        b64url(changed.to_string().as_bytes()),
        good.rsplit_once('.').unwrap().1
    );
    // Signed by the EdDSA key, but naming the ES256 one.
    let other_key = jws(SigningAlg::EdDSA, &json!({"alg": "ES256", "kid": "ES256"}), &claims());
    // A key the set does not have.
    let unknown_kid = jws(SigningAlg::ES256, &json!({"alg": "ES256", "kid": "rotated"}), &claims());
    for bad in [forged_claims, other_key, unknown_kid] {
        assert!(accept(&bad, &expected(&algs)).is_err(), "{bad}");
    }
}

#[test]
fn parsing_keeps_what_the_verifier_needs() {
    let jwt = token(SigningAlg::ES256, &claims());
    let t = parse_id_token(&jwt).unwrap();
    assert_eq!((t.alg, t.kid.as_deref()), (SigningAlg::ES256, Some("ES256")));
    assert_eq!(t.signing_input, jwt.rsplit_once('.').unwrap().0.as_bytes());
    // ES256 signatures travel as raw r || s (RFC 7518 §3.4), which is what
    // WebCrypto verifies: no DER conversion in between.
    assert_eq!(t.signature, b64url_decode(jwt.rsplit_once('.').unwrap().1).unwrap());
    assert_eq!(t.signature.len(), 64);
}

fn rsa_jwk_of_bits(bits: usize) -> Value {
    let mut n = vec![0xff; bits.div_ceil(8)];
    n[0] >>= (8 - bits % 8) % 8;
    json!({"kty": "RSA", "n": b64url(&n), "e": "AQAB"})
}

#[test]
fn jwks_keep_usable_signing_keys_only() {
    let ec = public_jwk(SigningAlg::ES256);
    let with = |extra: Value| {
        let mut k = ec.clone();
        k.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        k
    };
    let set = json!({"keys": [
        with(json!({"kid": "ec", "d": "c2VjcmV0", "alg": "ES256"})),
        rsa_jwk_of_bits(2048),
        rsa_jwk_of_bits(1024),
        with(json!({"kid": "enc", "use": "enc"})),
        with(json!({"kid": "mismatch", "alg": "RS256"})),
        {"kty": "EC", "crv": "P-384", "x": b64url(&[1; 48]), "y": b64url(&[2; 48])},
        {"kty": "EC", "crv": "P-256", "x": b64url(&[1; 31]), "y": b64url(&[2; 32])},
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "OKP", "crv": "X25519", "x": b64url(&[1; 32])},
        public_jwk(SigningAlg::EdDSA),
        "not a key",
    ]});
    let keys = parse_jwks(set.to_string().as_bytes()).unwrap();
    let summary: Vec<(Option<&str>, SigningAlg)> = keys.iter().map(|k| (k.kid.as_deref(), k.key.alg)).collect();
    assert_eq!(
        summary,
        [
            (Some("ec"), SigningAlg::ES256),
            (None, SigningAlg::RS256),
            (None, SigningAlg::EdDSA)
        ]
    );
    // Public members only: no `d`, no `alg`, `kid` or `use`.
    assert_eq!(keys[0].key.jwk, ec);
    for bad in [&b"not json"[..], br#"{"keys": {}}"#, br#"[]"#] {
        assert!(matches!(parse_jwks(bad), Err(FederationError::BadResponse(_))));
    }
    assert_eq!(parse_jwks(br#"{"keys": []}"#).unwrap(), vec![]);
}

#[test]
fn keys_are_selected_by_kid_or_when_only_one_fits() {
    let key = |kid: Option<&str>, alg: SigningAlg| UpstreamKey {
        kid: kid.map(str::to_owned),
        key: crate::protocol::webauthn::PublicKey {
            alg,
            jwk: public_jwk(alg),
        },
    };
    let keys = [
        key(Some("a"), SigningAlg::ES256),
        key(Some("b"), SigningAlg::ES256),
        key(Some("r"), SigningAlg::RS256),
        key(None, SigningAlg::EdDSA),
    ];
    let kid_of = |alg, kid| select_key(&keys, alg, kid).map(|k| k.kid.clone());
    assert_eq!(kid_of(SigningAlg::ES256, Some("b")), Some(Some("b".into())));
    assert_eq!(kid_of(SigningAlg::ES256, Some("r")), None, "kid of another algorithm");
    assert_eq!(kid_of(SigningAlg::ES256, Some("z")), None, "unknown kid");
    assert_eq!(kid_of(SigningAlg::ES256, None), None, "two keys fit, no kid");
    assert_eq!(
        kid_of(SigningAlg::RS256, None),
        Some(Some("r".into())),
        "the only RSA key"
    );
    assert_eq!(kid_of(SigningAlg::EdDSA, None), Some(None));
    assert_eq!(
        kid_of(SigningAlg::EdDSA, Some("e")),
        None,
        "a kid the key does not carry"
    );
}
