//! User accounts: `POST /admin/users`, `GET/PUT/DELETE /admin/users/{username}`,
//! all behind the admin token. Passwords are kept only as PBKDF2 hashes.

use super::http::{json, json_body, no_content, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::grants::password::hash_password;
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError};
use crate::protocol::user::{parse_new_user, parse_user_update, UserRecord, UserRevocation};
use crate::random;
use crate::store::webcrypto::WebCryptoHasher;
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
    let user = UserRecord {
        sub: random::id(),
        password: hash_password(&WebCryptoHasher, &new.password, random::bytes::<16>()).await?,
        username: new.username,
        claims: new.claims,
        created_at: ctx.now,
        updated_at: ctx.now,
        session_epoch: 0,
    };
    store.put(&user).await?;
    json(201, &user.public_view())
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
            RecordStore::<UserRecord>::delete(&store, username).await?;
            no_content()
        }
        _ => {
            let update = parse_user_update(username, &json_body(&mut req).await?)?;
            if let Some(password) = &update.password {
                user.password = hash_password(&WebCryptoHasher, password, random::bytes::<16>()).await?;
            }
            if let Some(claims) = update.claims {
                user.claims = claims;
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
            json(200, &user.public_view())
        }
    }
}
