//! The changes an administrator makes to user accounts, one function each,
//! called by the JSON API (`users.rs`, with `ADMIN_TOKEN`) and the console
//! (`admin/accounts.rs`) alike; the account page (`account/`) calls the ones
//! a person makes to their own account (withdrawing one app's access,
//! signing out everywhere). Each takes what was asked, already validated
//! (`protocol::user`), and does all of it: a caller only answers.

use super::account::enroll::link;
use super::account::passkeys::passkey_objects;
use super::admin::audit::{record, Actor};
use super::federation::unlink_all;
use super::Ctx;
use crate::grants::password::hash_password;
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::passkey::PasskeyOp;
use crate::protocol::session::ConsentRecord;
use crate::protocol::user::{EmailIndex, NewUser, PasswordHash, UserRecord, UserRevocation, UserUpdate};
use crate::random;
use crate::store::webcrypto::WebCryptoHasher;
use crate::store::{ObjectStore, RecordStore};

/// The refusal of a username that is taken (409, as the JSON API answers).
pub const TAKEN: &str = "a user with this username already exists";

/// Creates the account `new` describes; 409 when its username is taken.
/// Without a password it is passkey-only: give the person an enrollment
/// link ([`enrollment_link`], or the one made with it here).
pub async fn create_user(ctx: &Ctx, by: &Actor, new: NewUser) -> OAuthResult<UserRecord> {
    let store = ctx.records()?;
    let existing: Option<UserRecord> = store.get(&new.username).await?;
    if existing.is_some() {
        return Err(invalid_request(TAKEN).with_status(409));
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
    let detail = user.password.is_none().then_some("without a password");
    record(ctx, by, "user.create", &user.username, detail).await;
    Ok(user)
}

/// A new one-time enrollment link for `user` (a first passkey, or one to
/// replace a lost one) and when it expires. Links handed out before stay
/// good until used or expired.
pub async fn enrollment_link(ctx: &Ctx, by: &Actor, user: &UserRecord) -> OAuthResult<(String, u64)> {
    let made = link(ctx, user).await?;
    record(ctx, by, "user.enrollment", &user.username, None).await;
    Ok(made)
}

/// Applies `update` to `user` and stores it. A new password, or revoked
/// grants, end every session the user has; revoked grants also void every
/// token of every grant they have given until now. An administrator's
/// update (`by`) goes to the audit log, a change of each kind an entry
/// ([`UserUpdate::audit_actions`]); the person's own does not.
pub async fn update_user(
    ctx: &Ctx,
    by: Option<&Actor>,
    mut user: UserRecord,
    update: UserUpdate,
) -> OAuthResult<UserRecord> {
    let actions = update.audit_actions();
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
    if update.password.is_some() || update.revoke_grants {
        user.end_sessions();
    }
    if update.revoke_grants {
        let (now, lifetime) = (ctx.now, ctx.revocation_lifetime());
        ctx.withdraw(&user.sub, |r| UserRevocation::revoke_all(r, &user.sub, now, lifetime))
            .await?;
    }
    user.updated_at = ctx.now;
    ctx.records()?.put(&user).await?;
    reindex_email(ctx, Some(&before), Some(&user)).await?;
    if let Some(actor) = by {
        for (action, detail) in actions {
            record(ctx, actor, action, &user.username, detail).await;
        }
    }
    Ok(user)
}

/// Deletes `user`: everything issued to them stops working, their
/// upstream links and passkeys go, the username is free again.
pub async fn delete_user(ctx: &Ctx, by: &Actor, user: &UserRecord) -> OAuthResult<()> {
    // The tombstone outlives everything issued to the user. It is written
    // first: should the deletion then fail, the admin's retry finds the
    // user again, rather than a user gone whose tokens still work.
    let tombstone = UserRevocation::deletion(&user.sub, ctx.now, ctx.revocation_lifetime());
    ctx.revocations().put(&tombstone).await?;
    // Links go before the account: an upstream identity must never find
    // an account that is being deleted (see federation).
    unlink_all(ctx, user).await?;
    RecordStore::<UserRecord>::delete(&ctx.records()?, &user.username).await?;
    reindex_email(ctx, Some(user), None).await?;
    // No passkey signs in a deleted account anyway (the sign-in finds no
    // user with its sub); its public keys need not stay.
    passkey_objects(ctx)?
        .apply(&user.sub, PasskeyOp::Forget, ctx.now)
        .await?;
    record(ctx, by, "user.delete", &user.username, None).await;
    Ok(())
}

/// Ends every session `user` has, wherever it is (`session_epoch` moves
/// on); what apps were given stands. The user as now stored.
pub async fn end_sessions(ctx: &Ctx, mut user: UserRecord) -> OAuthResult<UserRecord> {
    user.end_sessions();
    user.updated_at = ctx.now;
    ctx.records()?.put(&user).await?;
    Ok(user)
}

/// Withdraws `sub`'s consent to `client_id`: the consent is forgotten and
/// every grant they gave that client until now is revoked (its refresh
/// tokens and codes answer `invalid_grant`, its access tokens are
/// refused); other clients' grants stand. `false`: there was no such
/// consent, nothing was changed. The revocation is written first: should
/// forgetting the consent then fail, a retry finds it again, rather than a
/// consent gone whose grants still work.
pub async fn withdraw_consent(ctx: &Ctx, sub: &str, client_id: &str) -> OAuthResult<bool> {
    let store = ctx.records()?;
    let key = ConsentRecord::key_for(sub, client_id);
    let consent: Option<ConsentRecord> = store.get(&key).await?;
    if consent.is_none() {
        return Ok(false);
    }
    let (now, lifetime) = (ctx.now, ctx.revocation_lifetime());
    ctx.withdraw(sub, |r| UserRevocation::withdraw(r, sub, client_id, now, lifetime))
        .await?;
    RecordStore::<ConsentRecord>::delete(&store, &key).await?;
    Ok(true)
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
