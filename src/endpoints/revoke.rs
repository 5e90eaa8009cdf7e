//! `POST /revoke` (RFC 7009). Access tokens are self-contained JWTs, so
//! revoking one revokes its grant (§2.1: the server "MAY revoke the
//! respective refresh token as well"); revoking a refresh token revokes
//! its grant and so every token issued from it. A client_credentials
//! token has no grant; its `jti` is remembered in KV until it expires.

use super::http::{body_params, Reply};
use super::{authenticate_client, Ctx};
use crate::endpoints::request::Request;
use crate::grants::{is_jwt, split_token};
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::grant::{GrantOp, GrantReply, Refusal};
use crate::protocol::token::{check_access_token_claims, RevokedAccessToken};
use crate::store::durable::DurableGrants;
use crate::store::{keys, GrantStore, RecordStore};
use worker::Response;

/// §2.1: the server "verifies whether the token was issued to the client
/// making the revocation request. If this validation fails, the request is
/// refused".
fn not_yours() -> crate::protocol::error::OAuthError {
    invalid_request("the token was not issued to this client")
}

async fn revoke_access_token(ctx: &Ctx, client_id: &str, token: &str) -> OAuthResult<()> {
    let Some((typ, claims)) = keys::verify_jwt(&ctx.env, &ctx.config, ctx.now, token).await? else {
        return Ok(());
    };
    let Ok(at) = check_access_token_claims(&typ, &claims, &ctx.issuer, ctx.now) else {
        return Ok(());
    };
    if at.client_id != client_id {
        return Err(not_yours());
    }
    // A client_credentials token has no grant: remember its jti instead.
    if let Some(record) = RevokedAccessToken::of(&at) {
        ctx.records()?.put(&record).await?;
    }
    if let Some(gid) = at.grant_id {
        DurableGrants(ctx.env.durable_object("GRANTS")?)
            .apply(&gid, GrantOp::Revoke, ctx.now)
            .await?;
    }
    Ok(())
}

async fn revoke_refresh_token(ctx: &Ctx, client_id: &str, token: &str) -> OAuthResult<()> {
    let Some((gid, secret)) = split_token(token) else {
        return Ok(());
    };
    let op = GrantOp::RevokeRefresh {
        presented_hash: secret_hash(secret),
        client_id: client_id.to_string(),
    };
    match DurableGrants(ctx.env.durable_object("GRANTS")?)
        .apply(gid, op, ctx.now)
        .await?
    {
        GrantReply::Refused {
            refusal: Refusal::WrongClient,
        } => Err(not_yours()),
        _ => Ok(()),
    }
}

pub async fn post(mut req: Request, ctx: &Ctx) -> Reply {
    let params = body_params(&mut req).await?;
    let client = authenticate_client(&req, &params, ctx).await?;
    let token = params.require("token")?;
    // `token_type_hint` could only speed up a lookup; the token's own form
    // says which kind it is, so the hint is not needed and never trusted.
    if is_jwt(token) {
        revoke_access_token(ctx, &client.client_id, token).await?;
    } else {
        revoke_refresh_token(ctx, &client.client_id, token).await?;
    }
    // §2.2: 200 whether or not the token was valid.
    let resp = Response::empty()?.with_status(200);
    resp.headers().set("cache-control", "no-store")?;
    Ok(resp)
}
