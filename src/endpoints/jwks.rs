//! `GET /jwks.json` (RFC 7517 §5): the public signing keys, current and
//! recently retired; and `POST /admin/keys/rotate`, which replaces every
//! signing key at once: scheduled (the old keys stay published for their
//! grace period) or for a suspected compromise (they are unpublished at
//! once, and the form secret is replaced).

use super::admin::audit::{record, Actor};
use super::http::{content_type, isolate_cache, json, json_body, json_public, read_body, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::keys::parse_rotation_reason;
use crate::store::keys;
use serde_json::json;

pub async fn get(ctx: &Ctx) -> Reply {
    let body = keys::jwks_json(&ctx.env, &ctx.config, ctx.now).await?;
    // Short caching: relying parties refetch on an unknown `kid` anyway.
    let reply = json_public(&body, 300)?;
    isolate_cache(reply, keys::fresh_for(&ctx.config, ctx.now))
}

/// The body is optional: none means a scheduled rotation.
async fn compromised(req: &mut Request) -> OAuthResult<bool> {
    if content_type(req).is_empty() {
        if read_body(req).await?.is_empty() {
            return Ok(false);
        }
        return Err(invalid_request("the request body must be application/json").with_status(415));
    }
    parse_rotation_reason(&json_body(req).await?)
}

pub async fn rotate(mut req: Request, ctx: &Ctx) -> Reply {
    ctx.require_admin(&req)?;
    if ctx.config.signing_keys.is_some() {
        return Err(
            invalid_request("signing keys come from the SIGNING_KEYS secret: rotate them there").with_status(409),
        );
    }
    let compromised = compromised(&mut req).await?;
    let ring = keys::rotate(&ctx.env, &ctx.config, ctx.now, compromised).await?;
    let reason = if compromised { "compromise" } else { "scheduled" };
    record(ctx, &Actor::token(&req), "keys.rotate", "", Some(reason)).await;
    let kids: Vec<_> = ring
        .keys
        .iter()
        .filter(|k| k.retired_at.is_none())
        .map(|k| json!({"kid": k.kid, "alg": k.alg}))
        .collect();
    json(200, &json!({ "signing_keys": kids }))
}
