//! Proof Key for Code Exchange (RFC 7636), S256 only. The `plain` method
//! gives no protection against a stolen code, so we never offer it
//! (RFC 9700 §2.1.1).

use super::encoding::{b64url, ct_eq, sha256};

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`.
const MIN_VERIFIER_LEN: usize = 43;
const MAX_VERIFIER_LEN: usize = 128;

/// RFC 7636 §4.1: `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Whether `code_verifier` has the shape RFC 7636 §4.1 requires: 43 to 128
/// characters from the unreserved set.
pub fn is_valid_verifier(code_verifier: &str) -> bool {
    (MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&code_verifier.len()) && code_verifier.bytes().all(is_unreserved)
}

/// RFC 7636 §4.2: `code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`,
/// the S256 challenge we send with a verifier of our own (federated sign-in).
pub fn s256_challenge(code_verifier: &str) -> String {
    b64url(&sha256(code_verifier.as_bytes()))
}

/// RFC 7636 §4.6: "If the "code_challenge_method" from Section 4.3 was
/// "S256", the received "code_verifier" is hashed by SHA-256,
/// base64url-encoded, and then compared to the "code_challenge", i.e.:
/// BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge".
///
/// The comparison runs in constant time. A malformed verifier never matches.
pub fn verify(code_challenge: &str, code_verifier: &str) -> bool {
    if !is_valid_verifier(code_verifier) {
        return false;
    }
    ct_eq(s256_challenge(code_verifier).as_bytes(), code_challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_verification() {
        let max = "~".repeat(128);
        let max_challenge = b64url(&sha256(max.as_bytes()));
        let min = "a.b_c-d~".repeat(6)[..43].to_string();
        let min_challenge = b64url(&sha256(min.as_bytes()));
        let wrong_last = format!("{}Y", &VERIFIER[..42]);
        let cases: &[(&str, &str, bool, &str)] = &[
            (CHALLENGE, VERIFIER, true, "RFC 7636 Appendix B"),
            (&max_challenge, &max, true, "128 characters"),
            (&min_challenge, &min, true, "43 characters with every symbol"),
            (CHALLENGE, &wrong_last, false, "different verifier"),
            (VERIFIER, VERIFIER, false, "plain method is not accepted"),
            (&CHALLENGE[..42], VERIFIER, false, "truncated challenge"),
            (&format!("{CHALLENGE}="), VERIFIER, false, "padded challenge"),
            ("", VERIFIER, false, "empty challenge"),
            (CHALLENGE, "", false, "empty verifier"),
        ];
        for (challenge, verifier, expected, why) in cases {
            assert_eq!(verify(challenge, verifier), *expected, "{why}");
        }
    }

    #[test]
    fn s256_challenge_is_appendix_b() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
    }

    #[test]
    fn verifier_shape() {
        let cases = [
            ("a".repeat(42), false),
            ("a".repeat(43), true),
            ("a".repeat(128), true),
            ("a".repeat(129), false),
            (format!("{}+", "a".repeat(42)), false),
            (format!("{}/", "a".repeat(42)), false),
            (format!("{} ", "a".repeat(42)), false),
            (format!("{}=", "a".repeat(42)), false),
            (format!("{}é", "a".repeat(41)), false),
        ];
        for (verifier, expected) in cases {
            assert_eq!(is_valid_verifier(&verifier), expected, "{verifier:?}");
            let challenge = b64url(&sha256(verifier.as_bytes()));
            assert_eq!(verify(&challenge, &verifier), expected, "{verifier:?}");
        }
    }
}
