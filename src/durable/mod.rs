//! Durable Objects: the key ring's class (one instance), and what the
//! JavaScript classes in src/entry.mjs call into: the grant object (one per
//! authorization) and the registration-token object (one per token).

pub mod grant;
pub mod keyring;
pub mod registration_token;
