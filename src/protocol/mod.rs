//! Pure OAuth 2.0 / OpenID Connect logic: no `worker` types, no I/O, no
//! clock, no randomness. Callers pass `now` and random values in, which
//! keeps every rule here testable with plain `cargo test`.

pub mod acr;
pub mod admin_session;
pub mod audit;
pub mod authorize;
pub mod client;
pub mod client_auth;
pub mod client_document;
pub mod client_form;
pub mod cookie;
pub mod cors;
pub mod discovery;
pub mod encoding;
pub mod error;
pub mod federation;
pub mod grant;
pub mod handle;
pub mod jose;
pub mod keys;
pub mod object;
pub mod once;
pub mod open_registration;
pub mod params;
pub mod passkey;
pub mod pkce;
pub mod privilege;
pub mod registration_token;
pub mod resource;
pub mod scope;
pub mod sealed_code;
pub mod sealed_secret;
pub mod session;
pub mod throttle;
pub mod token;
pub mod user;
pub mod user_form;
pub mod webauthn;

pub use error::{ErrorCode, OAuthError, OAuthResult};
