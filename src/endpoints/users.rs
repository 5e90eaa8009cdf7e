//! User accounts: `POST /admin/users`, `GET/PUT/DELETE /admin/users/{username}`,
//! `POST /admin/users/{username}/enrollment`, all behind the admin token.
//! Passwords are kept only as PBKDF2 hashes. An account created without a
//! password is passkey-only: the answer carries a one-time link with which
//! the person registers their first passkey.

use super::account::enroll::link;
use super::admin::audit::Actor;
use super::federation::kept_tokens;
use super::http::{json, json_body, no_content, Reply};
use super::user_changes::{create_user, delete_user, enrollment_link, update_user};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::user::{parse_new_user, parse_user_update, UserRecord};
use crate::store::RecordStore;
use worker::Method;

fn not_found() -> OAuthError {
    OAuthError::new(ErrorCode::NotFound, "no such user")
}

pub async fn create(mut req: Request, ctx: &Ctx) -> Reply {
    ctx.require_admin(&req)?;
    let new = parse_new_user(&json_body(&mut req).await?)?;
    let user = create_user(ctx, &Actor::token(&req), new).await?;
    let mut view = user.public_view();
    if user.password.is_none() {
        // Part of the creation: not logged as an enrollment of its own.
        add_enrollment(&mut view, link(ctx, &user).await?);
    }
    json(201, &view)
}

/// `POST /admin/users/{username}/enrollment`: a new one-time enrollment
/// link, for a first passkey or to replace a lost one. Links handed out
/// before stay good until used or expired.
pub async fn enrollment(req: &Request, ctx: &Ctx, username: &str) -> Reply {
    ctx.require_admin(req)?;
    let user: UserRecord = ctx.records()?.get(username).await?.ok_or_else(not_found)?;
    let mut view = serde_json::json!({ "username": user.username });
    add_enrollment(&mut view, enrollment_link(ctx, &Actor::token(req), &user).await?);
    json(201, &view)
}

fn add_enrollment(view: &mut serde_json::Value, (url, expires_at): (String, u64)) {
    view["enrollment_url"] = url.into();
    view["enrollment_expires_at"] = expires_at.into();
}

pub async fn manage(mut req: Request, ctx: &Ctx, username: &str) -> Reply {
    ctx.require_admin(&req)?;
    let user: UserRecord = ctx.records()?.get(username).await?.ok_or_else(not_found)?;
    match req.method() {
        Method::Get => json(200, &user.public_view()),
        Method::Delete => {
            delete_user(ctx, &Actor::token(&req), &user).await?;
            no_content()
        }
        _ => {
            let update = parse_user_update(username, &json_body(&mut req).await?)?;
            let user = update_user(ctx, Some(&Actor::token(&req)), user, update).await?;
            json(200, &user.public_view())
        }
    }
}

/// `GET /admin/users/{username}/idp-tokens/{idp}`: the upstream's tokens
/// kept for the account at provider `idp` (only for providers with
/// `keep_tokens`), from its latest sign-in or link there.
pub async fn idp_tokens(req: &Request, ctx: &Ctx, username: &str, idp: &str) -> Reply {
    ctx.require_admin(req)?;
    let user: UserRecord = ctx.records()?.get(username).await?.ok_or_else(not_found)?;
    match kept_tokens(ctx, &user.sub, idp).await? {
        Some(tokens) => json(200, &tokens),
        None => Err(OAuthError::new(
            ErrorCode::NotFound,
            "no tokens are kept for this user at this provider",
        )),
    }
}
