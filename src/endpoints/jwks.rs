//! `GET /jwks.json` (RFC 7517 §5): the public signing keys, current and
//! recently retired; and `POST /admin/keys/rotate`, which replaces every
//! signing key at once (for a suspected compromise).

use super::http::{json, json_public, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::error::invalid_request;
use crate::store::keys;
use serde_json::json;

pub async fn get(ctx: &Ctx) -> Reply {
    let body = keys::jwks_json(&ctx.env, &ctx.config, ctx.now).await?;
    // Short caching: relying parties refetch on an unknown `kid` anyway.
    json_public(&body, 300)
}

pub async fn rotate(req: &Request, ctx: &Ctx) -> Reply {
    ctx.require_admin(req)?;
    if ctx.config.signing_keys.is_some() {
        return Err(
            invalid_request("signing keys come from the SIGNING_KEYS secret: rotate them there").with_status(409),
        );
    }
    let ring = keys::rotate(&ctx.env, &ctx.config, ctx.now).await?;
    let kids: Vec<_> = ring
        .keys
        .iter()
        .filter(|k| k.retired_at.is_none())
        .map(|k| json!({"kid": k.kid, "alg": k.alg}))
        .collect();
    json(200, &json!({ "signing_keys": kids }))
}
