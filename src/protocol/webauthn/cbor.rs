//! The CBOR in a ceremony (RFC 8949), read with `minicbor`'s decoder: the
//! attestation object (§6.5.4), the credential's COSE key and the
//! authenticator's extension outputs (§6.1). Authenticators encode in CTAP2's
//! canonical form, which has no indefinite lengths; we refuse those, and
//! duplicate map keys, rather than guess what they mean.

use super::WebAuthnError;
use minicbor::data::Type;
use minicbor::Decoder;

/// At most this many entries in any map we read: the largest real one (a
/// COSE key) has five. It bounds the work a hostile map can ask for.
const MAX_MAP_ENTRIES: u64 = 32;

/// Reads the length of a definite-length map no larger than we accept.
pub fn map_len(d: &mut Decoder<'_>, what: &'static str) -> Result<u64, WebAuthnError> {
    match d.map() {
        Ok(Some(n)) if n <= MAX_MAP_ENTRIES => Ok(n),
        _ => Err(WebAuthnError::Malformed(what)),
    }
}

/// A map key, refused when it repeats one already seen.
pub fn unique_key<K: PartialEq + Copy>(seen: &mut Vec<K>, key: K, what: &'static str) -> Result<K, WebAuthnError> {
    if seen.contains(&key) {
        return Err(WebAuthnError::Malformed(what));
    }
    seen.push(key);
    Ok(key)
}

/// Steps over one value, refusing what CTAP2's canonical CBOR (CTAP 2.1
/// §8) and WebAuthn never use: indefinite lengths, tags, floats, simple
/// values other than booleans, integers beyond 64 bits signed.
/// Each round reads at least one byte, so a hostile length runs out of
/// input.
pub fn skip(d: &mut Decoder<'_>, what: &'static str) -> Result<(), WebAuthnError> {
    let bad = WebAuthnError::Malformed(what);
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        let more = match d.datatype().map_err(|_| bad)? {
            Type::Array => d.array().ok().flatten(),
            Type::Map => d.map().ok().flatten().map(|n| n.saturating_mul(2)),
            Type::Bytes => d.bytes().ok().map(|_| 0),
            Type::String => d.str().ok().map(|_| 0),
            Type::Bool => d.bool().ok().map(|_| 0),
            _ => d.i64().ok().map(|_| 0),
        };
        pending = pending.saturating_add(more.ok_or(bad)?);
    }
    Ok(())
}

/// The attestation object's members: `fmt`, `attStmt` (as encoded) and
/// `authData`.
#[derive(Debug)]
pub struct AttestationObject<'a> {
    pub fmt: &'a str,
    pub att_stmt: &'a [u8],
    pub auth_data: &'a [u8],
}

/// §6.5.4: `attObj = { authData: bytes, $$attStmtType }` with `fmt` text and
/// `attStmt` a map; nothing else, nothing after it.
pub fn parse_attestation_object(bytes: &[u8]) -> Result<AttestationObject<'_>, WebAuthnError> {
    let bad = WebAuthnError::Malformed("attestation object");
    let mut d = Decoder::new(bytes);
    let (mut fmt, mut att_stmt, mut auth_data) = (None, None, None);
    let mut seen = Vec::new();
    for _ in 0..map_len(&mut d, "attestation object")? {
        match unique_key(&mut seen, d.str().map_err(|_| bad)?, "attestation object")? {
            "fmt" => fmt = Some(d.str().map_err(|_| bad)?),
            "authData" => auth_data = Some(d.bytes().map_err(|_| bad)?),
            "attStmt" => {
                let start = d.position();
                skip(&mut d, "attestation object")?;
                att_stmt = Some(&bytes[start..d.position()]);
            }
            _ => return Err(bad),
        }
    }
    if d.position() != bytes.len() {
        return Err(WebAuthnError::Malformed("attestation object: trailing bytes"));
    }
    Ok(AttestationObject {
        fmt: fmt.ok_or(bad)?,
        att_stmt: att_stmt.ok_or(bad)?,
        auth_data: auth_data.ok_or(bad)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skips(bytes: &[u8]) -> Result<usize, WebAuthnError> {
        let mut d = Decoder::new(bytes);
        skip(&mut d, "x").map(|()| d.position())
    }

    #[test]
    fn skip_steps_over_definite_values_only() {
        // {1: [h'00', "a"], 2: {3: -1}} then one byte more.
        let nested = [0xa2, 0x01, 0x82, 0x41, 0x00, 0x61, 0x61, 0x02, 0xa1, 0x03, 0x20, 0xff];
        assert_eq!(skips(&nested), Ok(nested.len() - 1));
        for scalar in [
            &[0xf4][..],
            &[0xf5],
            &[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ] {
            assert_eq!(skips(scalar), Ok(scalar.len()));
        }
        let bad = Err(WebAuthnError::Malformed("x"));
        for refused in [
            // Indefinite lengths, at the top and nested.
            &[0x5f, 0x41, 0x00, 0xff][..],
            &[0x7f, 0x61, 0x61, 0xff],
            &[0x9f, 0x01, 0xff],
            &[0xbf, 0x01, 0x02, 0xff],
            &[0xa1, 0x01, 0x9f, 0xff],
            // What CTAP2 canonical CBOR and WebAuthn have no use for.
            &[0xc1, 0x1a, 0, 0, 0, 1],
            &[0xf6],
            &[0xf7],
            &[0xe0],
            &[0xf8, 0x20],
            &[0xf9, 0x3c, 0x00],
            &[0xfa, 0x3f, 0x80, 0, 0],
            &[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            // Reserved, a break alone, truncated, a length past the end, nothing.
            &[0x1c],
            &[0xff],
            &[0x82, 0x01],
            &[0x5a, 0xff, 0xff, 0xff, 0xff],
            &[],
        ] {
            assert_eq!(skips(refused), bad, "{refused:02x?}");
        }
    }

    #[test]
    fn attestation_objects_have_exactly_their_three_members() {
        // {"fmt": "none", "attStmt": {}, "authData": h'0102'}
        let mut ok = vec![0xa3, 0x63];
        ok.extend(b"fmt");
        ok.extend([0x64]);
        ok.extend(b"none");
        ok.extend([0x67]);
        ok.extend(b"attStmt");
        ok.extend([0xa0, 0x68]);
        ok.extend(b"authData");
        ok.extend([0x42, 1, 2]);
        let a = parse_attestation_object(&ok).unwrap();
        assert_eq!((a.fmt, a.att_stmt, a.auth_data), ("none", &[0xa0][..], &[1, 2][..]));
        let mut trailing = ok.clone();
        trailing.push(0);
        assert_eq!(
            parse_attestation_object(&trailing).unwrap_err(),
            WebAuthnError::Malformed("attestation object: trailing bytes")
        );
        // Two members only, a repeated member, an unknown member.
        let mut short = ok.clone();
        short[0] = 0xa2;
        let mut repeated = ok[..ok.len() - 12].to_vec();
        repeated.extend([0x63]);
        repeated.extend(b"fmt");
        repeated.extend([0x64]);
        repeated.extend(b"none");
        let mut unknown = ok.clone();
        unknown[0] = 0xa4;
        unknown.extend([0x61, b'x', 0x00]);
        for bad in [short, repeated, unknown] {
            assert!(parse_attestation_object(&bad).is_err(), "{bad:02x?}");
        }
    }
}
