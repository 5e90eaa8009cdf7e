//! `GET /.well-known/openid-configuration` and
//! `GET /.well-known/oauth-authorization-server`.

use super::http::{isolate_cache, json_public, Reply};
use super::Ctx;
use crate::memo::Memo;
use crate::protocol::discovery::provider_metadata;
use std::rc::Rc;

thread_local! {
    /// The document depends only on the issuer.
    static DOCUMENT: Memo<String, Rc<str>> = const { Memo::new() };
}

pub fn get(ctx: &Ctx) -> Reply {
    let body = DOCUMENT.with(|d| {
        d.get_or(ctx.issuer.as_str(), |issuer| {
            provider_metadata(issuer).to_string().into()
        })
    });
    // The settings are the isolate's for its life: the document can be
    // served as is for as long as a client may cache it.
    isolate_cache(json_public(&body, 3600)?, 3600)
}
