//! Password hashing and checking, PBKDF2-HMAC-SHA256 through the platform.

use crate::protocol::encoding::{b64url, b64url_decode, ct_eq};
use crate::protocol::user::{PasswordHash, PASSWORD_HASH_ALG};
use crate::store::{PasswordHasher, StoreResult};

/// Hashes a new password with `iterations` (the `PASSWORD_ITERATIONS`
/// setting), which the hash records.
pub async fn hash_password(
    hasher: &dyn PasswordHasher,
    password: &str,
    salt: [u8; 16],
    iterations: u32,
) -> StoreResult<PasswordHash> {
    let hash = hasher.pbkdf2_sha256(password.as_bytes(), &salt, iterations).await?;
    Ok(PasswordHash {
        alg: PASSWORD_HASH_ALG.into(),
        iterations,
        salt: b64url(&salt),
        hash: b64url(&hash),
    })
}

/// Checks `password` with the parameters it was stored with, so changing
/// the iteration count later does not lock anyone out.
pub async fn verify_password(hasher: &dyn PasswordHasher, password: &str, stored: &PasswordHash) -> StoreResult<bool> {
    let (Some(salt), Some(expected)) = (b64url_decode(&stored.salt), b64url_decode(&stored.hash)) else {
        return Ok(false);
    };
    if stored.alg != PASSWORD_HASH_ALG {
        return Ok(false);
    }
    let actual = hasher
        .pbkdf2_sha256(password.as_bytes(), &salt, stored.iterations)
        .await?;
    Ok(ct_eq(&actual, &expected))
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::store::StoreResult;
    use async_trait::async_trait;

    /// PBKDF2 in Rust for host tests; the worker uses WebCrypto.
    pub struct HostHasher;

    #[async_trait(?Send)]
    impl PasswordHasher for HostHasher {
        async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], iterations: u32) -> StoreResult<Vec<u8>> {
            Ok(pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(password, salt, iterations).to_vec())
        }
    }

    #[test]
    fn hash_then_verify() {
        futures::executor::block_on(async {
            let stored = hash_password(&HostHasher, "correct horse", [7; 16], 1000)
                .await
                .unwrap();
            assert_eq!(stored.iterations, 1000);
            assert!(verify_password(&HostHasher, "correct horse", &stored).await.unwrap());
            assert!(!verify_password(&HostHasher, "correct hors", &stored).await.unwrap());
            let mut other_alg = stored.clone();
            other_alg.alg = "md5".into();
            assert!(!verify_password(&HostHasher, "correct horse", &other_alg).await.unwrap());
        });
    }

    #[test]
    fn each_hash_verifies_with_its_own_count() {
        futures::executor::block_on(async {
            let fewer = hash_password(&HostHasher, "correct horse", [7; 16], 1000)
                .await
                .unwrap();
            let more = hash_password(&HostHasher, "correct horse", [7; 16], 2000)
                .await
                .unwrap();
            assert_ne!(fewer.hash, more.hash, "the count is part of the hash");
            for stored in [&fewer, &more] {
                assert!(verify_password(&HostHasher, "correct horse", stored).await.unwrap());
            }
            // A hash read with another count than its own does not match.
            let relabelled = PasswordHash {
                iterations: 2000,
                ..fewer
            };
            assert!(!verify_password(&HostHasher, "correct horse", &relabelled)
                .await
                .unwrap());
        });
    }

    #[test]
    fn matches_rfc_7914_pbkdf2_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64), first 32 bytes.
        let out = pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(b"passwd", b"salt", 1);
        assert_eq!(out[..4], [0x55, 0xac, 0x04, 0x6e]);
    }
}
