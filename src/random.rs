//! Randomness from the platform CSPRNG (`crypto.getRandomValues` in the
//! Workers runtime, the OS generator on the host).

use crate::protocol::encoding::b64url;

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // getrandom only fails when the platform has no CSPRNG at all; running
    // without one would be worse than stopping.
    getrandom::getrandom(&mut buf).expect("platform CSPRNG unavailable");
    buf
}

/// A 256-bit random value, base64url: codes, refresh tokens, secrets.
pub fn token() -> String {
    b64url(&bytes::<32>())
}

/// A 128-bit random identifier: client ids, subjects, key ids.
pub fn id() -> String {
    b64url(&bytes::<16>())
}
