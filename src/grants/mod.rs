//! Orchestration of each grant and of logins: async, generic over the store
//! traits, tested on the host with the in-memory stores.

pub mod password;
