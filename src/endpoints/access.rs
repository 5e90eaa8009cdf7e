//! Checking an access token presented to us (userinfo, introspection): our
//! signature, RFC 9068 claims, that its client is still registered, and —
//! for tokens issued from a grant — that the grant still stands and its
//! user was neither deleted nor had their grants revoked, nor withdrew their consent to its client, so revocation takes effect at once (a token without
//! a grant, from client_credentials: that it was not revoked).

use super::Ctx;
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};
use crate::protocol::grant::{Grant, GrantOp, GrantReply};
use crate::protocol::token::{check_access_token_claims, RevokedAccessToken, VerifiedAccessToken};
use crate::store::durable::DurableGrants;
use crate::store::{keys, GrantStore, RecordStore};
use serde_json::Value;

fn invalid(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
}

/// RFC 7592 §2.3: once a client is deleted, the server "SHOULD immediately
/// invalidate all existing authorization grants and currently-active access
/// tokens". Its grants stay stored until they end, but nothing of theirs is
/// honoured: codes and refresh tokens need the client to authenticate, and
/// userinfo and introspection ask this. "Immediately" within KV's reach:
/// other isolates see the deletion once their client cache (30 s) and KV
/// (about a minute) catch up.
pub async fn client_registered(ctx: &Ctx, client_id: &str) -> OAuthResult<bool> {
    Ok(ctx.existing_client(client_id).await?.is_some())
}

pub async fn verify_access_token(ctx: &Ctx, token: &str) -> OAuthResult<(VerifiedAccessToken, Option<Box<Grant>>)> {
    let (typ, claims) = keys::verify_jwt(&ctx.env, &ctx.config, ctx.now, token)
        .await?
        .ok_or_else(|| invalid("the access token is invalid"))?;
    // Signed by us: the request is about the token's client even when the
    // token turns out expired or revoked, so that its pages can read why.
    let client = match claims.get("client_id").and_then(Value::as_str) {
        Some(id) => ctx.existing_client(id).await?,
        None => None,
    };
    if let Some(c) = &client {
        ctx.identify(c);
    }
    let token = check_access_token_claims(&typ, &claims, &ctx.issuer, ctx.now)?;
    if client.is_none() {
        return Err(invalid("the access token's client is no longer registered"));
    }
    let grant = match &token.grant_id {
        Some(id) => {
            let grants = DurableGrants(ctx.env.durable_object("GRANTS")?);
            let grant = match grants.apply(id, GrantOp::Get, ctx.now).await? {
                GrantReply::Ok { grant } => grant,
                GrantReply::Refused { .. } => return Err(invalid("the access token has been revoked")),
            };
            if ctx.revoked(&grant).await? {
                return Err(invalid(
                    "the access token's user has been deleted, or its grants revoked or withdrawn",
                ));
            }
            Some(grant)
        }
        None => {
            let revoked: Option<RevokedAccessToken> = ctx.records()?.get(&token.jti).await?;
            if revoked.is_some() {
                return Err(invalid("the access token has been revoked"));
            }
            None
        }
    };
    Ok((token, grant))
}
