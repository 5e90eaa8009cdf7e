//! `GET /assets/passkey.js`, `GET /assets/admin.js`: the scripts our pages
//! load, served by the worker itself so that no page depends on another
//! origin. Pages load them under their CSP nonce; they are public, so any
//! cache may keep them a while.

use super::http::Reply;
use worker::{Headers, Response};

/// The WebAuthn calls of the login, enrollment and account pages.
pub const PASSKEY_JS: &str = include_str!("../ui/passkey.js");
pub const PASSKEY_JS_PATH: &str = "/assets/passkey.js";

/// The admin console's copy buttons.
pub const ADMIN_JS: &str = include_str!("../ui/admin.js");
pub const ADMIN_JS_PATH: &str = "/assets/admin.js";

/// The script served at `path`, if it is one of ours.
pub fn script(path: &str) -> Option<&'static str> {
    match path {
        PASSKEY_JS_PATH => Some(PASSKEY_JS),
        ADMIN_JS_PATH => Some(ADMIN_JS),
        _ => None,
    }
}

pub fn serve(body: &'static str) -> Reply {
    let h = Headers::new();
    h.set("content-type", "text/javascript; charset=utf-8")?;
    // Short: a release that changes a script reaches pages within minutes.
    h.set("cache-control", "public, max-age=300")?;
    h.set("x-content-type-options", "nosniff")?;
    Ok(Response::from_bytes(body.as_bytes().to_vec())?.with_headers(h))
}
