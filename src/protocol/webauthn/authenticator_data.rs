//! Authenticator data (§6.1): the bytes the authenticator signs. Layout:
//! rpIdHash (32) | flags (1) | signCount (4, big-endian) | attested
//! credential data (when AT) | extensions (a CBOR map, when ED).

use super::cbor::{map_len, skip};
use super::cose::{parse_cose_key, PublicKey};
use super::{Expected, WebAuthnError};
use crate::protocol::encoding::sha256;
use minicbor::Decoder;

// §6.1 flags. Bits 1 and 5 are reserved for future use and ignored.
const UP: u8 = 1 << 0;
const UV: u8 = 1 << 2;
const BE: u8 = 1 << 3;
const BS: u8 = 1 << 4;
const AT: u8 = 1 << 6;
const ED: u8 = 1 << 7;

/// §7.1 step 26: "Verify that the credentialId is ≤ 1023 bytes."
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// §6.5.2 attested credential data: present in a registration.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    pub public_key: PublicKey,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticatorData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential>,
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], WebAuthnError> {
    if rest.len() < n {
        return Err(WebAuthnError::Malformed("authenticator data"));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// Takes the bytes apart. "Trailing bytes" are refused: whatever follows
/// what the flags announce is not something the authenticator said.
pub fn parse_authenticator_data(bytes: &[u8]) -> Result<AuthenticatorData, WebAuthnError> {
    let mut rest = bytes;
    let rp_id_hash = take(&mut rest, 32)?.try_into().expect("32 bytes");
    let flags = take(&mut rest, 1)?[0];
    let sign_count = u32::from_be_bytes(take(&mut rest, 4)?.try_into().expect("4 bytes"));
    let attested = if flags & AT != 0 {
        let aaguid = take(&mut rest, 16)?.try_into().expect("16 bytes");
        let len = u16::from_be_bytes(take(&mut rest, 2)?.try_into().expect("2 bytes"));
        let credential_id = take(&mut rest, usize::from(len))?.to_vec();
        if credential_id.len() > MAX_CREDENTIAL_ID_LEN {
            return Err(WebAuthnError::CredentialId);
        }
        let mut d = Decoder::new(rest);
        let public_key = parse_cose_key(&mut d)?;
        rest = &rest[d.position()..];
        Some(AttestedCredential {
            aaguid,
            credential_id,
            public_key,
        })
    } else {
        None
    };
    if flags & ED != 0 {
        // We ask for no authenticator extensions; outputs are stepped over,
        // but they must be one well-formed map.
        let mut d = Decoder::new(rest);
        for _ in 0..map_len(&mut d, "authenticator extensions")? {
            skip(&mut d, "authenticator extensions")?;
            skip(&mut d, "authenticator extensions")?;
        }
        rest = &rest[d.position()..];
    }
    if !rest.is_empty() {
        return Err(WebAuthnError::Malformed("authenticator data: trailing bytes"));
    }
    Ok(AuthenticatorData {
        rp_id_hash,
        flags,
        sign_count,
        attested,
    })
}

impl AuthenticatorData {
    pub fn backup_eligible(&self) -> bool {
        self.flags & BE != 0
    }

    pub fn backed_up(&self) -> bool {
        self.flags & BS != 0
    }

    /// §7.1 steps 15–18 / §7.2 steps 15–18: "Verify that the rpIdHash in
    /// authData is the SHA-256 hash of the RP ID expected by the Relying
    /// Party", that "the UP bit of the flags in authData is set", that "the
    /// UV bit ... is set" (we always require user verification), and "If the
    /// BE bit of the flags in authData is not set, verify that the BS bit is
    /// not set."
    pub fn check(&self, expected: &Expected) -> Result<(), WebAuthnError> {
        if self.rp_id_hash != sha256(expected.rp_id.as_bytes()) {
            return Err(WebAuthnError::RpId);
        }
        if self.flags & UP == 0 {
            return Err(WebAuthnError::UserPresence);
        }
        if self.flags & UV == 0 {
            return Err(WebAuthnError::UserVerification);
        }
        if self.backed_up() && !self.backup_eligible() {
            return Err(WebAuthnError::BackupState);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected() -> Expected {
        Expected {
            rp_id: "localhost".into(),
            origin: "http://localhost".into(),
            challenge: [0; 32],
        }
    }

    fn data(flags: u8, tail: &[u8]) -> Vec<u8> {
        [&sha256(b"localhost")[..], &[flags, 0, 0, 1, 2], tail].concat()
    }

    #[test]
    fn flags_and_counter() {
        let a = parse_authenticator_data(&data(UP | UV, &[])).unwrap();
        assert_eq!(
            (a.sign_count, a.attested.is_none(), a.backup_eligible(), a.backed_up()),
            (258, true, false, false)
        );
        assert_eq!(a.check(&expected()), Ok(()));
        let flagged = |flags| parse_authenticator_data(&data(flags, &[])).unwrap().check(&expected());
        assert_eq!(flagged(UP | UV | BE | BS | 0b0010_0010), Ok(()));
        assert_eq!(flagged(UV), Err(WebAuthnError::UserPresence));
        assert_eq!(flagged(UP), Err(WebAuthnError::UserVerification));
        assert_eq!(flagged(UP | UV | BS), Err(WebAuthnError::BackupState));
        let mut other = expected();
        other.rp_id = "localhost.".into();
        assert_eq!(a.check(&other), Err(WebAuthnError::RpId));
    }

    #[test]
    fn extensions_are_one_map_and_nothing_may_follow() {
        // {"credProtect": 2}
        let ext = [
            0xa1, 0x6b, b'c', b'r', b'e', b'd', b'P', b'r', b'o', b't', b'e', b'c', b't', 0x02,
        ];
        assert!(parse_authenticator_data(&data(UP | UV | ED, &ext)).is_ok());
        let trailing = Err(WebAuthnError::Malformed("authenticator data: trailing bytes"));
        assert_eq!(parse_authenticator_data(&data(UP | UV, &ext)), trailing);
        assert_eq!(parse_authenticator_data(&data(UP | UV, &[0])), trailing);
        assert_eq!(
            parse_authenticator_data(&data(UP | UV | ED, &[&ext[..], &[0]].concat())),
            trailing
        );
        let bad_ext = Err(WebAuthnError::Malformed("authenticator extensions"));
        assert_eq!(parse_authenticator_data(&data(UP | UV | ED, &[])), bad_ext);
        assert_eq!(parse_authenticator_data(&data(UP | UV | ED, &[0x80])), bad_ext);
        assert_eq!(
            parse_authenticator_data(&data(UP | UV | ED, &ext[..ext.len() - 1])),
            bad_ext
        );
    }

    #[test]
    fn attested_credential_data_is_bounded() {
        let short = Err(WebAuthnError::Malformed("authenticator data"));
        assert_eq!(parse_authenticator_data(&data(UP | UV, &[])[..36]), short);
        assert_eq!(parse_authenticator_data(&data(UP | UV | AT, &[0; 17])), short);
        // A credential id longer than the data.
        assert_eq!(
            parse_authenticator_data(&data(UP | UV | AT, &[[0; 16].as_slice(), &[0, 9, 1]].concat())),
            short
        );
        // 1024 bytes of credential id: too long, whatever follows.
        let long = [[0; 16].as_slice(), &[4, 0], &[7; 1024]].concat();
        assert_eq!(
            parse_authenticator_data(&data(UP | UV | AT, &long)),
            Err(WebAuthnError::CredentialId)
        );
    }
}
