//! Verifying an authentication assertion (§7.2): the checks that need no
//! stored key, the bytes the signature covers, the signature in the form
//! WebCrypto verifies, and the checks against the stored credential.

use super::authenticator_data::parse_authenticator_data;
use super::client_data::{check_client_data, Ceremony};
use super::{binary, parse_response, Expected, WebAuthnError};
use crate::protocol::encoding::{b64url, sha256};
use crate::protocol::jose::SigningAlg;
use serde_json::Value;

/// An assertion whose client data, RP ID hash and flags passed; its
/// signature is still to be verified with the stored key.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// base64url, as [`super::NewCredential::id`].
    pub credential_id: String,
    /// The user handle the authenticator holds (our `sub`, as UTF-8 bytes);
    /// authenticators return it for discoverable credentials.
    pub user_handle: Option<Vec<u8>>,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// §7.2 step 22: "the binary concatenation of authData and hash", hash
    /// being SHA-256 of `clientDataJSON`.
    pub signed_data: Vec<u8>,
    /// As the authenticator sent it (ES256: ASN.1 DER).
    pub signature: Vec<u8>,
}

/// §7.2 steps 8–18 for the response in the `credential` form field (Level
/// 3 `AuthenticationResponseJSON`, §5.1.4): `id` = base64url(`rawId`), type "public-key", client data (steps 9–14),
/// RP ID hash and flags (steps 15–18).
pub fn check_assertion(expected: &Expected, response_json: &str) -> Result<Assertion, WebAuthnError> {
    let (response, raw_id) = parse_response(response_json)?;
    let client_data = binary(&response, "clientDataJSON")?;
    check_client_data(&client_data, Ceremony::Get, expected)?;
    let auth_bytes = binary(&response, "authenticatorData")?;
    let auth_data = parse_authenticator_data(&auth_bytes)?;
    auth_data.check(expected)?;
    let user_handle = match response.get("userHandle") {
        // Level 3's JSON writes an absent handle as absent, null or "".
        None | Some(Value::Null) => None,
        Some(Value::String(h)) if h.is_empty() => None,
        Some(_) => Some(binary(&response, "userHandle")?),
    };
    Ok(Assertion {
        credential_id: b64url(&raw_id),
        user_handle,
        sign_count: auth_data.sign_count,
        backup_eligible: auth_data.backup_eligible(),
        backed_up: auth_data.backed_up(),
        signed_data: [&auth_bytes[..], &sha256(&client_data)].concat(),
        signature: binary(&response, "signature")?,
    })
}

impl Assertion {
    /// §7.2 steps 19 and 23 against the stored credential, once the
    /// signature has verified.
    pub fn check_record(&self, stored_sign_count: u32, stored_backup_eligible: bool) -> Result<(), WebAuthnError> {
        if !backup_eligibility_ok(stored_backup_eligible, self.backup_eligible) {
            return Err(WebAuthnError::BackupEligibility);
        }
        if !counter_ok(stored_sign_count, self.sign_count) {
            return Err(WebAuthnError::Counter);
        }
        Ok(())
    }
}

/// §7.2 step 23: "If authData.signCount is nonzero or
/// credentialRecord.signCount is nonzero, then ... greater than
/// credentialRecord.signCount: The signature counter is valid. less than or
/// equal to credentialRecord.signCount: This is a signal, but not proof,
/// that the authenticator may be cloned" — which we refuse. Both zero: the
/// authenticator keeps no counter (most synced passkeys).
pub fn counter_ok(stored: u32, received: u32) -> bool {
    (stored == 0 && received == 0) || received > stored
}

/// §7.2 step 19: "If credentialRecord.backupEligible is set, verify that
/// currentBe is set. If credentialRecord.backupEligible is not set, verify
/// that currentBe is not set." (Backup *state* may change; eligibility is
/// fixed when the credential is made.)
pub fn backup_eligibility_ok(stored: bool, received: bool) -> bool {
    stored == received
}

/// The signature as `crypto.subtle.verify` takes it. §6.5.6: ES256
/// signatures "MUST be encoded as an ASN.1 DER Ecdsa-Sig-Value", while
/// WebCrypto's ECDSA takes `r || s`, each 32 octets (RFC 7518 §3.4's form).
/// EdDSA and RS256 signatures are passed as they are.
pub fn signature_for_webcrypto(alg: SigningAlg, signature: &[u8]) -> Result<Vec<u8>, WebAuthnError> {
    match alg {
        SigningAlg::ES256 => der_to_raw_p256(signature).ok_or(WebAuthnError::Signature),
        SigningAlg::EdDSA | SigningAlg::RS256 => Ok(signature.to_vec()),
    }
}

/// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279
/// §2.2.3) in DER, strictly: definite short-form lengths that match,
/// minimal positive integers (no superfluous leading zero, no sign bit),
/// each at most 32 octets of value, nothing after the sequence.
fn der_to_raw_p256(der: &[u8]) -> Option<Vec<u8>> {
    let body = match der {
        [0x30, len, body @ ..] if usize::from(*len) == body.len() && *len < 0x80 => body,
        _ => return None,
    };
    let (r, rest) = der_integer(body)?;
    let (s, rest) = der_integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut raw = vec![0; 64];
    raw[32 - r.len()..32].copy_from_slice(r);
    raw[64 - s.len()..].copy_from_slice(s);
    Some(raw)
}

/// One DER INTEGER that is positive and fits 32 octets: its value octets
/// (without the sign octet) and what follows.
fn der_integer(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let [0x02, len, rest @ ..] = bytes else {
        return None;
    };
    let len = usize::from(*len);
    if len == 0 || len >= 0x80 || rest.len() < len {
        return None;
    }
    let (int, rest) = rest.split_at(len);
    let value = match int {
        // A leading zero only to clear the sign bit of the next octet.
        [0, next, ..] if *next >= 0x80 => &int[1..],
        [0, _, ..] => return None,
        [first, ..] if *first >= 0x80 => return None,
        _ => int,
    };
    (value.len() <= 32).then_some((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters() {
        assert!(counter_ok(0, 0), "no counter kept");
        assert!(counter_ok(0, 1));
        assert!(counter_ok(5, 6));
        assert!(counter_ok(5, u32::MAX));
        assert!(!counter_ok(5, 5), "the same counter twice");
        assert!(!counter_ok(5, 4));
        assert!(!counter_ok(5, 0), "a counter that stopped");
    }

    #[test]
    fn backup_eligibility_is_fixed() {
        assert!(backup_eligibility_ok(true, true) && backup_eligibility_ok(false, false));
        assert!(!backup_eligibility_ok(true, false) && !backup_eligibility_ok(false, true));
    }

    #[test]
    fn der_signatures_become_r_and_s() {
        let int = |v: &[u8]| [&[0x02, v.len() as u8][..], v].concat();
        let seq = |parts: &[Vec<u8>]| {
            let body = parts.concat();
            [&[0x30, body.len() as u8][..], &body].concat()
        };
        let r = [0x7f; 32];
        let s_high = [&[0x00][..], &[0x80; 32]].concat();
        let raw = der_to_raw_p256(&seq(&[int(&r), int(&s_high)])).unwrap();
        assert_eq!(raw, [[0x7f; 32], [0x80; 32]].concat());
        // Short integers are left-padded.
        let raw = der_to_raw_p256(&seq(&[int(&[1]), int(&[0x00, 0xff])])).unwrap();
        assert_eq!(
            (raw[31], raw[63], raw[..31].iter().chain(&raw[32..63]).all(|b| *b == 0)),
            (1, 0xff, true)
        );
        let bad = [
            seq(&[int(&r)]),
            seq(&[int(&r), int(&r), int(&r)]),
            [seq(&[int(&r), int(&r)]), vec![0]].concat(),
            seq(&[int(&[0x00, 0x7f]), int(&r)]),
            seq(&[int(&[0x80]), int(&r)]),
            seq(&[int(&[]), int(&r)]),
            seq(&[int(&[1; 33]), int(&r)]),
            seq(&[int(&[&[0x00][..], &[0x80; 33]].concat()), int(&r)]),
            seq(&[vec![0x03, 0x01, 0x01], int(&r)]),
            seq(&[int(&r), vec![0x02, 0x81, 0x01, 0x01]]),
            vec![0x31, 0x00],
            vec![0x30, 0x81, 0x00],
            vec![],
        ];
        for bad in &bad {
            assert_eq!(
                signature_for_webcrypto(SigningAlg::ES256, bad),
                Err(WebAuthnError::Signature),
                "{bad:02x?}"
            );
        }
        let length_mismatch = seq(&[int(&r), int(&r)]);
        for end in 0..length_mismatch.len() {
            assert!(der_to_raw_p256(&length_mismatch[..end]).is_none());
        }
        assert_eq!(signature_for_webcrypto(SigningAlg::EdDSA, &[1, 2]), Ok(vec![1, 2]));
        assert_eq!(signature_for_webcrypto(SigningAlg::RS256, &[3]), Ok(vec![3]));
    }
}
