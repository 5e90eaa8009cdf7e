//! Federated sign-in: upstream OpenID Connect and plain OAuth 2.0 providers.

pub mod link;
