//! Registration tokens, the initial access tokens of `POST /register`
//! (RFC 7591 §3) apart from `ADMIN_TOKEN`: `POST /admin/registration-tokens`
//! mints one (shown once, only its hash kept), `DELETE
//! /admin/registration-tokens/{id}` revokes it. Both need the admin token.

use super::admin::audit::{record, Actor};
use super::http::{json, json_body, no_content, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::registration_token::{
    build_minted, is_token_id, parse_mint_request, RegistrationToken, TokenOp, TokenReply,
};
use crate::random;
use crate::store::ObjectStore;

pub async fn create(mut req: Request, ctx: &Ctx) -> Reply {
    ctx.require_admin(&req)?;
    let terms = parse_mint_request(&json_body(&mut req).await?, ctx.now)?;
    let id = random::id();
    let secret = random::token();
    let token = RegistrationToken {
        secret_hash: secret_hash(&secret),
        terms: terms.clone(),
        uses: 0,
        revoked: false,
    };
    ctx.registration_tokens()?
        .apply(&id, TokenOp::Create { token }, ctx.now)
        .await?;
    record(ctx, &Actor::token(&req), "registration_token.create", &id, None).await;
    json(201, &build_minted(&id, &format!("{id}.{secret}"), &terms))
}

/// 204, or 404 for a token that does not exist (or has ended and gone).
pub async fn revoke(req: &Request, ctx: &Ctx, id: &str) -> Reply {
    ctx.require_admin(req)?;
    let not_found = || OAuthError::new(ErrorCode::NotFound, "no such registration token");
    if !is_token_id(id) {
        return Err(not_found());
    }
    match ctx.registration_tokens()?.apply(id, TokenOp::Revoke, ctx.now).await? {
        TokenReply::Ok { .. } => {
            record(ctx, &Actor::token(req), "registration_token.revoke", id, None).await;
            no_content()
        }
        TokenReply::Refused { .. } => Err(not_found()),
    }
}
