//! `GET /.well-known/openid-configuration` and
//! `GET /.well-known/oauth-authorization-server`.

use super::http::{json_public, Reply};
use super::Ctx;
use crate::protocol::discovery::provider_metadata;

pub fn get(ctx: &Ctx) -> Reply {
    json_public(&provider_metadata(&ctx.issuer), 3600)
}
