//! The credential public key: a COSE_Key (RFC 9052 §7, RFC 9053) in the
//! authenticator data, turned into a JWK that WebCrypto imports. We accept
//! the three algorithms we offer in `pubKeyCredParams` and nothing else.

use super::cbor::{map_len, skip, unique_key};
use super::WebAuthnError;
use crate::protocol::encoding::b64url;
use crate::protocol::jose::SigningAlg;
use minicbor::data::Type;
use minicbor::Decoder;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The COSE algorithm identifiers a page offers as `pubKeyCredParams`, most
/// preferred first: EdDSA (-8), ES256 (-7), RS256 (-257, for Windows Hello).
pub const COSE_ALGORITHMS: [i64; 3] = [-8, -7, -257];

/// A credential's public key, as stored: its algorithm and its public JWK
/// (RFC 7517: `kty` and the key members only), ready for
/// `crypto.subtle.importKey("jwk", …)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicKey {
    pub alg: SigningAlg,
    pub jwk: Value,
}

/// RSA moduli we accept, in bits: at least what RFC 8812 §2 asks ("A key of
/// size 2048 bits or larger MUST be used"), at most what anyone uses.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

// COSE labels (RFC 9052 §7.1, RFC 9053 §7.1–7.2, RFC 8230 §4).
const KTY: i64 = 1;
const ALG: i64 = 3;

fn bad(what: &'static str) -> WebAuthnError {
    WebAuthnError::UnsupportedKey(what)
}

/// Reads one COSE_Key map from `d` (leaving `d` after it) and checks it
/// fits its algorithm: ES256 "kty EC2, crv P-256" with 32-octet
/// uncompressed coordinates (RFC 9053 §7.1.1), EdDSA "kty OKP, crv Ed25519"
/// with a 32-octet `x` (RFC 8037 §2), RS256 "kty RSA" with `n` and `e`
/// (RFC 8230 §4). Labels we do not use are stepped over.
pub fn parse_cose_key(d: &mut Decoder<'_>) -> Result<PublicKey, WebAuthnError> {
    let malformed = WebAuthnError::Malformed("credential public key");
    let (mut kty, mut alg, mut crv) = (None, None, None);
    // The byte strings under labels -1, -2, -3: (n, e) for RSA, (x, y) at
    // -2 and -3 for EC2 and OKP, whose -1 is the integer `crv`.
    let mut octets: [Option<&[u8]>; 3] = [None; 3];
    let mut seen = Vec::new();
    for _ in 0..map_len(d, "credential public key")? {
        if matches!(d.datatype(), Ok(Type::String)) {
            // A text label (RFC 9052 §7: `label = int / tstr`) is none of ours.
            d.str().map_err(|_| malformed)?;
            skip(d, "credential public key")?;
            continue;
        }
        let label = unique_key(&mut seen, d.i64().map_err(|_| malformed)?, "credential public key")?;
        match (label, d.datatype().map_err(|_| malformed)?) {
            (-3..=-1, Type::Bytes) => octets[(-label - 1) as usize] = Some(d.bytes().map_err(|_| malformed)?),
            (KTY | ALG | -1, _) => {
                let v = Some(d.i64().map_err(|_| malformed)?);
                match label {
                    KTY => kty = v,
                    ALG => alg = v,
                    _ => crv = v,
                }
            }
            _ => skip(d, "credential public key")?,
        }
    }
    let member = |i: usize, len: Option<usize>| match octets[i] {
        Some(b) if len.is_none_or(|l| b.len() == l) => Ok(b),
        _ => Err(bad("a key member is missing or has the wrong length")),
    };
    // kty EC2 = 2, OKP = 1, RSA = 3; crv P-256 = 1, Ed25519 = 6.
    match (alg, kty, crv) {
        (Some(-7), Some(2), Some(1)) => Ok(PublicKey {
            alg: SigningAlg::ES256,
            jwk: jwk(
                &[("kty", "EC"), ("crv", "P-256")],
                &[("x", member(1, Some(32))?), ("y", member(2, Some(32))?)],
            ),
        }),
        (Some(-8), Some(1), Some(6)) => Ok(PublicKey {
            alg: SigningAlg::EdDSA,
            jwk: jwk(&[("kty", "OKP"), ("crv", "Ed25519")], &[("x", member(1, Some(32))?)]),
        }),
        (Some(-257), Some(3), None) => Ok(PublicKey {
            alg: SigningAlg::RS256,
            jwk: rsa_jwk(member(0, None)?, member(1, None)?)?,
        }),
        (Some(-7 | -8 | -257), _, _) => Err(bad("its key type or curve does not fit its algorithm")),
        (Some(_), _, _) => Err(bad("its algorithm is not one of ES256, EdDSA, RS256")),
        (None, _, _) => Err(malformed),
    }
}

/// A JWK from its text members and its binary ones (base64url). One loop
/// rather than a `json!` per key type: it is smaller in the wasm.
fn jwk(text: &[(&str, &str)], binary: &[(&str, &[u8])]) -> Value {
    let mut members = Map::new();
    for (k, v) in text {
        members.insert(k.to_string(), Value::String(v.to_string()));
    }
    for (k, v) in binary {
        members.insert(k.to_string(), Value::String(b64url(v)));
    }
    Value::Object(members)
}

/// RFC 7518 §6.3.1: `n` and `e` as unsigned big-endian integers without
/// leading zero octets; the modulus between 2048 and 4096 bits, the public
/// exponent odd and above 1 (RFC 8017 §3.1), in at most 32 bits (what
/// WebCrypto implementations accept). Upstream JWKS keys (federation) pass
/// the same rule.
pub(crate) fn rsa_jwk(n: &[u8], e: &[u8]) -> Result<Value, WebAuthnError> {
    let n: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
    let bits = n.first().map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
    if !RSA_BITS.contains(&bits) {
        return Err(bad("the RSA modulus is not 2048 to 4096 bits"));
    }
    let exponent = match e {
        [first, ..] if *first != 0 && e.len() <= 4 => e.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)),
        _ => 0,
    };
    if exponent < 3 || exponent % 2 == 0 {
        return Err(bad("the RSA exponent is not usable"));
    }
    Ok(jwk(&[("kty", "RSA")], &[("n", &n), ("e", e)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minicbor::Encoder;
    use serde_json::json;

    /// A COSE key map from (label, value) pairs; values are CBOR already.
    fn cose(entries: &[(i64, Vec<u8>)]) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        e.map(entries.len() as u64).unwrap();
        let mut out = e.into_writer();
        for (label, value) in entries {
            let mut e = Encoder::new(Vec::new());
            e.i64(*label).unwrap();
            out.extend(e.into_writer());
            out.extend(value);
        }
        out
    }

    fn int(v: i64) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        e.i64(v).unwrap();
        e.into_writer()
    }

    fn bstr(b: &[u8]) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        e.bytes(b).unwrap();
        e.into_writer()
    }

    fn parse(bytes: &[u8]) -> Result<PublicKey, WebAuthnError> {
        let mut d = Decoder::new(bytes);
        let key = parse_cose_key(&mut d)?;
        assert_eq!(d.position(), bytes.len(), "reads the whole map");
        Ok(key)
    }

    fn ec2(alg: i64, crv: i64, x: usize, y: Vec<u8>) -> Vec<u8> {
        cose(&[
            (1, int(2)),
            (3, int(alg)),
            (-1, int(crv)),
            (-2, bstr(&vec![1; x])),
            (-3, y),
        ])
    }

    #[test]
    fn es256_keys() {
        let key = parse(&ec2(-7, 1, 32, bstr(&[2; 32]))).unwrap();
        assert_eq!(key.alg, SigningAlg::ES256);
        assert_eq!(
            key.jwk,
            json!({"kty": "EC", "crv": "P-256", "x": b64url(&[1; 32]), "y": b64url(&[2; 32])})
        );
        let unsupported = |e: Result<PublicKey, WebAuthnError>| matches!(e, Err(WebAuthnError::UnsupportedKey(_)));
        assert!(unsupported(parse(&ec2(-7, 2, 32, bstr(&[2; 32])))), "P-384");
        assert!(unsupported(parse(&ec2(-7, 1, 31, bstr(&[2; 32])))), "short x");
        assert!(unsupported(parse(&ec2(-7, 1, 32, bstr(&[2; 33])))), "long y");
        // A compressed point: `y` is the sign bit (RFC 9053 §7.1.1).
        assert!(unsupported(parse(&ec2(-7, 1, 32, vec![0xf5]))), "compressed");
        assert!(unsupported(parse(&ec2(-35, 2, 48, bstr(&[2; 48])))), "ES384");
        // kty OKP with ES256.
        let mismatched = cose(&[
            (1, int(1)),
            (3, int(-7)),
            (-1, int(1)),
            (-2, bstr(&[1; 32])),
            (-3, bstr(&[2; 32])),
        ]);
        assert!(unsupported(parse(&mismatched)));
    }

    #[test]
    fn eddsa_keys() {
        let okp = |kty, crv, x: usize| cose(&[(1, int(kty)), (3, int(-8)), (-1, int(crv)), (-2, bstr(&vec![9; x]))]);
        let key = parse(&okp(1, 6, 32)).unwrap();
        assert_eq!(
            (key.alg, key.jwk),
            (
                SigningAlg::EdDSA,
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(&[9; 32])})
            )
        );
        for bad in [okp(1, 7, 57), okp(1, 4, 32), okp(2, 6, 32), okp(1, 6, 31)] {
            assert!(matches!(parse(&bad), Err(WebAuthnError::UnsupportedKey(_))));
        }
    }

    #[test]
    fn rs256_keys() {
        let rsa = |n: &[u8], e: &[u8]| cose(&[(1, int(3)), (3, int(-257)), (-1, bstr(n)), (-2, bstr(e))]);
        let n = [&[0xc0][..], &[0x11; 255]].concat();
        let key = parse(&rsa(&n, &[1, 0, 1])).unwrap();
        assert_eq!(key.alg, SigningAlg::RS256);
        assert_eq!(key.jwk, json!({"kty": "RSA", "n": b64url(&n), "e": "AQAB"}));
        // A leading zero octet is dropped, as the JWK form wants.
        let padded = parse(&rsa(&[&[0][..], &n].concat(), &[3])).unwrap();
        assert_eq!(padded.jwk["n"], b64url(&n));
        let n_bits = |bits: usize| {
            let mut n = vec![0xff; bits.div_ceil(8)];
            n[0] >>= (8 - bits % 8) % 8;
            n
        };
        assert!(parse(&rsa(&n_bits(4096), &[1, 0, 1])).is_ok());
        for (n, e) in [
            (n_bits(2047), vec![1, 0, 1]),
            (n_bits(4097), vec![1, 0, 1]),
            (n.clone(), vec![1, 0, 0]),
            (n.clone(), vec![1]),
            (n.clone(), vec![]),
            (n.clone(), vec![0, 1, 0, 1]),
            (n.clone(), vec![1, 0, 0, 0, 1]),
        ] {
            assert!(
                matches!(parse(&rsa(&n, &e)), Err(WebAuthnError::UnsupportedKey(_))),
                "{e:?}"
            );
        }
    }

    #[test]
    fn maps_are_read_strictly() {
        let good = ec2(-7, 1, 32, bstr(&[2; 32]));
        // Labels we do not use, integer and text, are stepped over.
        let mut extra = cose(&[
            (1, int(2)),
            (3, int(-7)),
            (-1, int(1)),
            (-2, bstr(&[1; 32])),
            (-3, bstr(&[2; 32])),
            (2, bstr(b"kid")),
            (-70000, int(1)),
        ]);
        extra[0] += 1;
        extra.extend([0x63, b'x', b'y', b'z', 0x80]);
        assert_eq!(parse(&extra), parse(&good));
        let malformed = Err(WebAuthnError::Malformed("credential public key"));
        // A repeated label, a missing alg, a text alg, not a map.
        let repeated = cose(&[
            (1, int(2)),
            (3, int(-7)),
            (1, int(2)),
            (-1, int(1)),
            (-2, bstr(&[1; 32])),
            (-3, bstr(&[2; 32])),
        ]);
        let no_alg = cose(&[(1, int(2)), (-1, int(1)), (-2, bstr(&[1; 32])), (-3, bstr(&[2; 32]))]);
        let text_alg = cose(&[(1, int(2)), (3, vec![0x62, b'E', b'S'])]);
        for bad in [repeated, no_alg, text_alg, vec![0x80], vec![0xbf, 0xff]] {
            assert_eq!(parse(&bad), malformed, "{bad:02x?}");
        }
        // Every truncation fails without a panic.
        for end in 0..good.len() {
            assert!(parse_cose_key(&mut Decoder::new(&good[..end])).is_err(), "{end}");
        }
    }
}
