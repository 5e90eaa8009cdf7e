//! Durable Object classes: the key ring (one instance), grants (one per
//! authorization) and login sessions (one per browser session).

pub mod grant;
pub mod keyring;
