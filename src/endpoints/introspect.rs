//! `POST /introspect` (RFC 7662), for authenticated (confidential) clients.
//! An inactive token gets `{"active": false}` and nothing else (§2.2), and
//! so does a token of another client, unless the caller is a resource
//! server (`ClientRecord::may_introspect`).

use super::access::{client_registered, verify_access_token};
use super::http::{body_params, json, Reply};
use super::{authenticate_client, Ctx};
use crate::endpoints::request::Request;
use crate::grants::{is_jwt, split_token};
use crate::protocol::client::ClientRecord;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};
use crate::protocol::grant::{GrantOp, GrantReply};
use crate::protocol::scope::join;
use crate::store::durable::DurableGrants;
use crate::store::GrantStore;
use serde_json::{json, Value};

async fn access_token(ctx: &Ctx, caller: &ClientRecord, token: &str) -> OAuthResult<Option<Value>> {
    let at = match verify_access_token(ctx, token).await {
        Ok((at, _)) => at,
        Err(e) if e.code == ErrorCode::InvalidToken => return Ok(None),
        Err(e) => return Err(e),
    };
    if !caller.may_introspect(&at.client_id) {
        return Ok(None);
    }
    Ok(Some(json!({
        "active": true,
        "scope": join(&at.scope),
        "client_id": at.client_id,
        "sub": at.sub,
        "exp": at.exp,
        "iat": at.iat,
        "iss": ctx.issuer,
        "aud": at.aud,
        "jti": at.jti,
        "token_type": "Bearer",
    })))
}

async fn refresh_token(ctx: &Ctx, caller: &ClientRecord, token: &str) -> OAuthResult<Option<Value>> {
    let Some((gid, secret)) = split_token(token) else {
        return Ok(None);
    };
    let op = GrantOp::InspectRefresh {
        presented_hash: secret_hash(secret),
        idle_ttl: ctx.config.refresh_token_idle_ttl,
    };
    let GrantReply::Ok { grant } = DurableGrants(ctx.env.durable_object("GRANTS")?)
        .apply(gid, op, ctx.now)
        .await?
    else {
        return Ok(None);
    };
    let Some(r) = grant
        .refresh
        .as_ref()
        .filter(|_| caller.may_introspect(&grant.client_id))
    else {
        return Ok(None);
    };
    if !client_registered(ctx, &grant.client_id).await? || ctx.revoked(&grant).await? {
        return Ok(None);
    }
    Ok(Some(json!({
        "active": true,
        "scope": join(&grant.scopes),
        "client_id": grant.client_id,
        "sub": grant.sub,
        "exp": r.expires_at.min(r.last_used_at + ctx.config.refresh_token_idle_ttl),
        "iat": r.last_used_at,
        "iss": ctx.issuer,
        "aud": grant.client_id,
        "token_type": "refresh_token",
    })))
}

pub async fn post(mut req: Request, ctx: &Ctx) -> Reply {
    let params = body_params(&mut req).await?;
    let client = authenticate_client(&req, &params, ctx).await?;
    // §2.1: "the endpoint MUST also require some form of authorization";
    // a public client proves nothing about itself.
    if !client.is_confidential() {
        return Err(OAuthError::new(
            ErrorCode::InvalidClient,
            "introspection requires an authenticated client",
        ));
    }
    let token = params.require("token")?;
    let found = if is_jwt(token) {
        access_token(ctx, &client, token).await?
    } else {
        refresh_token(ctx, &client, token).await?
    };
    json(200, &found.unwrap_or_else(|| json!({ "active": false })))
}
