//! User accounts: `POST /admin/users`, `GET/PUT/DELETE /admin/users/{username}`,
//! `POST /admin/users/{username}/enrollment`, all behind the admin token.
//! Passwords are kept only as PBKDF2 hashes. An account created without a
//! password is passkey-only: the answer carries a one-time link with which
//! the person registers their first passkey.

use super::account::enroll::link;
use super::account::passkeys::passkey_objects;
use super::federation::{kept_tokens, unlink_all};
use super::http::{json, json_body, no_content, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::grants::password::hash_password;
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::passkey::PasskeyOp;
use crate::protocol::user::{parse_new_user, parse_user_update, EmailIndex, PasswordHash, UserRecord, UserRevocation};
use crate::random;
use crate::store::webcrypto::WebCryptoHasher;
use crate::store::ObjectStore;
use crate::store::RecordStore;
use worker::Method;

fn not_found() -> OAuthError {
    OAuthError::new(ErrorCode::NotFound, "no such user")
}

pub async fn create(mut req: Request, ctx: &Ctx) -> Reply {
    ctx.require_admin(&req)?;
    let new = parse_new_user(&json_body(&mut req).await?)?;
    let store = ctx.records()?;
    let existing: Option<UserRecord> = store.get(&new.username).await?;
    if existing.is_some() {
        return Err(invalid_request("a user with this username already exists").with_status(409));
    }
    let password = match &new.password {
        Some(p) => Some(new_hash(ctx, p).await?),
        None => None,
    };
    let user = UserRecord {
        sub: random::id(),
        password,
        username: new.username,
        claims: new.claims,
        created_at: ctx.now,
        updated_at: ctx.now,
        session_epoch: 0,
        links: Vec::new(),
        admin: new.admin,
    };
    store.put(&user).await?;
    reindex_email(ctx, None, Some(&user)).await?;
    let mut view = user.public_view();
    if user.password.is_none() {
        add_enrollment(ctx, &user, &mut view).await?;
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
    add_enrollment(ctx, &user, &mut view).await?;
    json(201, &view)
}

async fn add_enrollment(ctx: &Ctx, user: &UserRecord, view: &mut serde_json::Value) -> OAuthResult<()> {
    let (url, expires_at) = link(ctx, user).await?;
    view["enrollment_url"] = url.into();
    view["enrollment_expires_at"] = expires_at.into();
    Ok(())
}

pub async fn manage(mut req: Request, ctx: &Ctx, username: &str) -> Reply {
    ctx.require_admin(&req)?;
    let store = ctx.records()?;
    let mut user: UserRecord = store.get(username).await?.ok_or_else(not_found)?;
    match req.method() {
        Method::Get => json(200, &user.public_view()),
        Method::Delete => {
            // The tombstone outlives everything issued to the user. It is
            // written first: should the deletion then fail, the admin's
            // retry finds the user again, rather than a user gone whose
            // tokens still work.
            let tombstone = UserRevocation::deletion(&user.sub, ctx.now, ctx.revocation_lifetime());
            ctx.revocations().put(&tombstone).await?;
            // Links go before the account: an upstream identity must never
            // find an account that is being deleted (see federation).
            unlink_all(ctx, &user).await?;
            RecordStore::<UserRecord>::delete(&store, username).await?;
            reindex_email(ctx, Some(&user), None).await?;
            // No passkey signs in a deleted account anyway (the sign-in
            // finds no user with its sub); its public keys need not stay.
            passkey_objects(ctx)?
                .apply(&user.sub, PasskeyOp::Forget, ctx.now)
                .await?;
            no_content()
        }
        _ => {
            let update = parse_user_update(username, &json_body(&mut req).await?)?;
            let before = user.clone();
            if let Some(password) = &update.password {
                user.password = Some(new_hash(ctx, password).await?);
            }
            if let Some(claims) = update.claims {
                user.claims = claims;
            }
            if let Some(admin) = update.admin {
                user.admin = admin;
            }
            // A new password, or revoked grants, end every session the user has.
            if update.password.is_some() || update.revoke_grants {
                user.end_sessions();
            }
            if update.revoke_grants {
                let (now, lifetime) = (ctx.now, ctx.revocation_lifetime());
                ctx.withdraw(&user.sub, |r| UserRevocation::revoke_all(r, &user.sub, now, lifetime))
                    .await?;
            }
            user.updated_at = ctx.now;
            store.put(&user).await?;
            reindex_email(ctx, Some(&before), Some(&user)).await?;
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

/// Keeps the e-mail index ([`EmailIndex`]) in step with a user's `email`
/// claim: the entry of `before` goes if it is still this account's (another
/// account may have taken the address since), the entry of `after` comes.
pub async fn reindex_email(ctx: &Ctx, before: Option<&UserRecord>, after: Option<&UserRecord>) -> OAuthResult<()> {
    let (old, new) = (before.and_then(EmailIndex::of), after.and_then(EmailIndex::of));
    if old == new {
        return Ok(());
    }
    let store = ctx.records()?;
    if let Some(old) = old.filter(|o| new.as_ref().is_none_or(|n| n.key != o.key)) {
        let current: Option<EmailIndex> = store.get(&old.key).await?;
        if current.is_some_and(|c| c.sub == old.sub) {
            RecordStore::<EmailIndex>::delete(&store, &old.key).await?;
        }
    }
    if let Some(new) = new {
        store.put(&new).await?;
    }
    Ok(())
}

/// A new password's hash, made with the current `PASSWORD_ITERATIONS`: a
/// password set again is how an older hash moves to a changed setting.
pub async fn new_hash(ctx: &Ctx, password: &str) -> OAuthResult<PasswordHash> {
    let salt = random::bytes::<16>();
    Ok(hash_password(&WebCryptoHasher, password, salt, ctx.config.password_iterations).await?)
}
