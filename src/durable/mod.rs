//! Durable Objects: the key ring's class (one instance), and what the grant
//! object's JavaScript class (src/entry.mjs, one instance per authorization)
//! calls into.

pub mod grant;
pub mod keyring;
