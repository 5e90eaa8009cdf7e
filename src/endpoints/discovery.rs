//! `GET /.well-known/openid-configuration` and
//! `GET /.well-known/oauth-authorization-server`.

use super::http::{json_public, Reply};
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
    json_public(&body, 3600)
}
