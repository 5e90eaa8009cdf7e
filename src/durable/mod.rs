//! Durable Object classes: the key ring (one instance) and grants (one per
//! authorization).

pub mod keyring;
