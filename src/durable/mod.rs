//! Durable Objects: the key ring's class (one instance), and the state
//! machines that our JavaScript object classes (src/entry.mjs: one grant
//! object per authorization, one throttle per account or address, one
//! single-use record per form) call into.

pub mod keyring;
pub mod step;
