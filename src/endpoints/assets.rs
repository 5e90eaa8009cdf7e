//! `GET /assets/passkey.js`: the one script our pages load, served by the
//! worker itself so that no page depends on another origin. Pages load it
//! under their CSP nonce; it is public, so any cache may keep it a while.

use super::http::Reply;
use worker::{Headers, Response};

/// The WebAuthn calls of the login, enrollment and account pages.
pub const PASSKEY_JS: &str = include_str!("../ui/passkey.js");
pub const PASSKEY_JS_PATH: &str = "/assets/passkey.js";

pub fn passkey_js() -> Reply {
    let h = Headers::new();
    h.set("content-type", "text/javascript; charset=utf-8")?;
    // Short: a release that changes the script reaches pages within minutes.
    h.set("cache-control", "public, max-age=300")?;
    h.set("x-content-type-options", "nosniff")?;
    Ok(Response::from_bytes(PASSKEY_JS.as_bytes().to_vec())?.with_headers(h))
}
