//! The stored form of a secret we must read back later (an upstream's client
//! secret, an Apple signing key, kept upstream tokens): unlike our own
//! client secrets and tokens, these cannot be stored as a hash, so they are
//! encrypted (AES-256-GCM, store/secrets.rs). This module is only the
//! envelope: `v1.<b64url iv>.<b64url ciphertext and tag>`. The version lets
//! a later format sit beside this one.

use super::encoding::{b64url, b64url_decode};

/// AES-GCM's 96-bit IV (NIST SP 800-38D §8.2: the length to use with random IVs).
pub const IV_LEN: usize = 12;
/// GCM's 128-bit tag, which WebCrypto appends to the ciphertext.
const TAG_LEN: usize = 16;
const VERSION: &str = "v1";

/// A sealed secret's parts, read from its envelope; not yet authenticated.
#[derive(Debug, PartialEq, Eq)]
pub struct SealedSecret {
    pub iv: [u8; IV_LEN],
    /// The ciphertext with the tag at its end.
    pub ciphertext: Vec<u8>,
}

impl SealedSecret {
    pub fn format(&self) -> String {
        format!("{VERSION}.{}.{}", b64url(&self.iv), b64url(&self.ciphertext))
    }

    /// The parts of an envelope, or `None` when it is not one of ours in
    /// this version (whatever it is, it does not open).
    pub fn parse(sealed: &str) -> Option<Self> {
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(iv), Some(ciphertext), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let iv = b64url_decode(iv)?.try_into().ok()?;
        let ciphertext = b64url_decode(ciphertext)?;
        (ciphertext.len() >= TAG_LEN).then_some(Self { iv, ciphertext })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = SealedSecret {
            iv: [7; IV_LEN],
            ciphertext: vec![1; 20],
        };
        let text = s.format();
        assert_eq!(text, format!("v1.{}.{}", b64url(&[7; 12]), b64url(&[1; 20])));
        assert_eq!(SealedSecret::parse(&text), Some(s));
        // An empty secret is still a tag's worth of ciphertext.
        let empty = SealedSecret {
            iv: [0; IV_LEN],
            ciphertext: vec![9; TAG_LEN],
        };
        assert_eq!(SealedSecret::parse(&empty.format()), Some(empty));
    }

    #[test]
    fn anything_else_is_not_ours() {
        let iv = b64url(&[7; 12]);
        let ct = b64url(&[1; 16]);
        for bad in [
            String::new(),
            "plain client secret".into(),
            format!("v2.{iv}.{ct}"),
            format!("V1.{iv}.{ct}"),
            format!("v1.{iv}"),
            format!("v1.{iv}.{ct}."),
            format!("v1.{iv}.{ct}.{ct}"),
            format!("v1.{}.{ct}", b64url(&[7; 11])),
            format!("v1.{}.{ct}", b64url(&[7; 16])),
            format!("v1.{iv}.{}", b64url(&[1; 15])),
            format!("v1.{iv}.{ct}="),
            format!("v1.{iv}.{}", "!".repeat(22)),
        ] {
            assert_eq!(SealedSecret::parse(&bad), None, "{bad}");
        }
    }
}
