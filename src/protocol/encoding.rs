//! Byte encodings and digests shared by every part of the protocol.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// base64url without padding (RFC 7515 §2, RFC 7636 §3).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// How secrets (client secrets, codes, refresh tokens, registration tokens)
/// are stored: high-entropy values need no slow hash, only a one-way one.
pub fn secret_hash(secret: &str) -> String {
    b64url(&sha256(secret.as_bytes()))
}

/// Compares without an early exit, so timing does not reveal how long a
/// common prefix is.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a presented secret against its stored hash in constant time.
pub fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    ct_eq(secret_hash(presented).as_bytes(), stored_hash.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64url_round_trip_has_no_padding() {
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(b64url_decode("a=").is_none());
    }

    #[test]
    fn ct_eq_compares_whole_values() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn secret_hash_is_sha256_b64url() {
        // SHA-256("abc") from FIPS 180-2, Appendix B.1.
        assert_eq!(secret_hash("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
        assert!(secret_matches("abc", &secret_hash("abc")));
        assert!(!secret_matches("abd", &secret_hash("abc")));
    }
}
