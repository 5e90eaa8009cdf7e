//! The local account of an upstream identity, and where the person goes
//! next. An identity is found by its link (one Durable Object per upstream
//! `iss` + `sub`, `protocol::federation::link`), never by e-mail alone. A
//! first sign-in makes a new account, unless an account here already has
//! the identity's e-mail address: then the link is made at once only when
//! the upstream says the address is verified, the account's own address is
//! verified too, and the admin allowed it for the provider
//! (`link_by_verified_email`); otherwise the person first
//! signs in to that account (password, passkey, or a provider already
//! linked to it), which makes the link.

use super::{PendingLink, Resume};
use crate::endpoints::account::passkeys::stored_passkeys;
use crate::endpoints::authorize::login;
use crate::endpoints::browser::{page_error, Browser};
use crate::endpoints::http::{redirect, Reply};
use crate::endpoints::sign_in::start_federated_session;
use crate::endpoints::user_changes::reindex_email;
use crate::endpoints::Ctx;
use crate::protocol::encoding::b64url;
use crate::protocol::error::{OAuthError, OAuthResult};
use crate::protocol::federation::identity::{
    copy_upstream_claims, email_verified, federated_username, link_key, UpstreamIdentity,
};
use crate::protocol::federation::link::{LinkMachine, LinkOp, Linked};
use crate::protocol::federation::provider::{ProviderRecord, StoredSecret};
use crate::protocol::federation::request::{apple_client_secret_input, pem_to_pkcs8_der};
use crate::protocol::federation::request::{KeptTokens, KeptTokensRecord};
use crate::protocol::user::{EmailIndex, UserLink, UserRecord};
use crate::random;
use crate::store::durable::DurableObjects;
use crate::store::secrets::{open_secret, seal_secret, sign_es256_pkcs8};
use crate::store::{ObjectStore, RecordStore};
use serde_json::{Map, Value};

fn link_objects(ctx: &Ctx) -> OAuthResult<DurableObjects<LinkMachine>> {
    Ok(DurableObjects::bind(&ctx.env, "LINKS")?)
}

/// The context a stored secret of provider `id` is sealed under, so that
/// no ciphertext can be moved to another provider or field.
pub fn secret_context(id: &str, field: &str) -> String {
    format!("idp:{id}:{field}")
}

/// The client secret to present at the provider's token endpoint: the
/// stored one, or for Apple a short-lived ES256 JWT signed with the team's
/// key (Apple's documented form of a client secret).
pub async fn client_secret(ctx: &Ctx, p: &ProviderRecord) -> OAuthResult<String> {
    let (env, now) = (&ctx.env, ctx.now);
    // Not a storage failure (the store answered): retrying will not help.
    let unreadable = || {
        crate::log::error(&format!("idp {}: the stored secret is unreadable", p.id));
        crate::protocol::error::server_error()
    };
    Ok(match &p.secret {
        StoredSecret::ClientSecret { sealed } => open_secret(env, sealed, &secret_context(&p.id, "client_secret"))
            .await?
            .ok_or_else(unreadable)?,
        StoredSecret::Apple {
            team_id,
            key_id,
            sealed_key,
        } => {
            let pem = open_secret(env, sealed_key, &secret_context(&p.id, "apple_private_key"))
                .await?
                .ok_or_else(unreadable)?;
            let der = pem_to_pkcs8_der(&pem).ok_or_else(unreadable)?;
            let input = apple_client_secret_input(team_id, key_id, &p.client_id, now);
            let signature = sign_es256_pkcs8(&der, input.as_bytes()).await?;
            format!("{input}.{}", b64url(&signature))
        }
        StoredSecret::None => String::new(),
    })
}

/// The person is back from `provider` as `identity`: find or make the
/// account, sign it in, and resume.
pub async fn arrive(
    ctx: &Ctx,
    browser: &mut Browser,
    provider: &ProviderRecord,
    identity: UpstreamIdentity,
    kept: Option<KeptTokens>,
    resume: Resume,
) -> Reply {
    let key = link_key(&identity.issuer, &identity.subject);
    let links = link_objects(ctx)?;
    let linked = links.apply(&key, LinkOp::Find, ctx.now).await?;
    if let Resume::Link { sub } = &resume {
        return link_signed_in(ctx, browser, provider, &identity, linked, sub, kept).await;
    }
    let user = match linked {
        Some(linked) => account_of(ctx, &linked, &identity, &key).await?,
        None => match email_owner(ctx, &identity).await? {
            Some(owner)
                if provider.link_by_verified_email && identity.email_verified && email_verified(&owner.claims) =>
            {
                claim(ctx, &key, owner, &provider.id).await?
            }
            Some(_) => return prove(ctx, browser, provider, identity, resume).await,
            None => create(ctx, provider, &identity, &key).await?,
        },
    };
    let user = copy_claims(ctx, user, &identity.claims).await?;
    keep_tokens(ctx, &user.sub, &provider.id, kept).await?;
    if let Some(pending) = resume.pending_link() {
        link_pending(ctx, &user, pending).await?;
    }
    let amr = identity.amr.unwrap_or_default();
    start_federated_session(ctx, browser, user, amr, Some(provider.id.clone())).await?;
    signed_in(ctx, browser, resume).await
}

/// Where a signed-in person goes: the authorization request goes on, the
/// account page opens.
async fn signed_in(ctx: &Ctx, browser: &mut Browser, resume: Resume) -> Reply {
    match resume {
        Resume::Authorize(pending) => login::resumed(pending, ctx, browser).await,
        Resume::Account(_) => redirect(true, "/account", &browser.cookies),
        Resume::Link { .. } => redirect(true, "/account?done=linked", &browser.cookies),
    }
}

/// The page the person came from, saying what went wrong (`alert`).
pub async fn failed(ctx: &Ctx, browser: &mut Browser, resume: Resume, alert: &str) -> Reply {
    match resume {
        Resume::Authorize(pending) => login::again(pending, ctx, browser, alert).await,
        Resume::Account(link) => crate::endpoints::account::login_again(ctx, browser, link, alert).await,
        Resume::Link { .. } => page_error(browser, alert),
    }
}

/// An account here has the identity's address: the person signs in to it
/// first, the identity riding along with the sign-in form (sealed, so it
/// cannot be altered, and single-use like every form).
async fn prove(
    ctx: &Ctx,
    browser: &mut Browser,
    provider: &ProviderRecord,
    identity: UpstreamIdentity,
    resume: Resume,
) -> Reply {
    let link = PendingLink {
        idp: provider.id.clone(),
        issuer: identity.issuer,
        subject: identity.subject,
        claims: identity.claims,
    };
    let alert = format!(
        "An account here already uses the e-mail address of your {} account. Sign in to it once, and {} will sign you in to it from then on.",
        provider.name, provider.name
    );
    failed(ctx, browser, resume.with_link(link), &alert).await
}

/// The account of a link. A link whose account KV does not show (yet: the
/// first sign-in that made both, seconds ago elsewhere; or a write that
/// failed after the link was claimed) is the account the link names, made
/// again: links are released before an account is deleted, so this is
/// never a deleted account coming back.
async fn account_of(ctx: &Ctx, linked: &Linked, identity: &UpstreamIdentity, key: &str) -> OAuthResult<UserRecord> {
    let user: Option<UserRecord> = ctx.records()?.get(&linked.username).await?;
    match user.filter(|u| u.sub == linked.sub) {
        Some(user) => Ok(user),
        None => save_new(ctx, new_user(linked, identity, key, ctx.now)).await,
    }
}

/// The account that has the identity's e-mail address, if any.
async fn email_owner(ctx: &Ctx, identity: &UpstreamIdentity) -> OAuthResult<Option<UserRecord>> {
    let Some(key) = identity.email.as_deref().and_then(crate::protocol::user::email_key) else {
        return Ok(None);
    };
    let store = ctx.records()?;
    let Some(index) = RecordStore::<EmailIndex>::get(&store, &key).await? else {
        return Ok(None);
    };
    let user: Option<UserRecord> = store.get(&index.username).await?;
    Ok(user.filter(|u| u.sub == index.sub))
}

/// Links the identity `key` to `user`, unless another account took it
/// first (two sign-ins at once): then it is that account's.
async fn claim(ctx: &Ctx, key: &str, user: UserRecord, idp: &str) -> OAuthResult<UserRecord> {
    let mine = Linked {
        sub: user.sub.clone(),
        username: user.username.clone(),
        idp: idp.to_owned(),
        linked_at: ctx.now,
    };
    let winner = link_objects(ctx)?.apply(key, LinkOp::Claim(mine), ctx.now).await?;
    match winner {
        Some(w) if w.sub != user.sub => {
            let other: Option<UserRecord> = ctx.records()?.get(&w.username).await?;
            other.filter(|u| u.sub == w.sub).ok_or_else(not_ready)
        }
        _ => note_link(ctx, user, idp, key).await,
    }
}

fn not_ready() -> OAuthError {
    crate::protocol::error::invalid_request("This account is still being set up. Try again in a minute.")
}

/// A new account for a first sign-in: a fresh `sub`, a username made from
/// the provider's id and the upstream's subject (`federated_username`; a
/// random one if that is no username or already taken), no password, the
/// identity's claims. The link is claimed first, so of two first sign-ins
/// at once only one account is ever written.
async fn create(
    ctx: &Ctx,
    provider: &ProviderRecord,
    identity: &UpstreamIdentity,
    key: &str,
) -> OAuthResult<UserRecord> {
    let free = match federated_username(&provider.id, &identity.subject) {
        Some(name) => RecordStore::<UserRecord>::get(&ctx.records()?, &name)
            .await?
            .is_none()
            .then_some(name),
        None => None,
    };
    let username = free.unwrap_or_else(|| format!("{}.{}", provider.id, random::id()));
    let linked = Linked {
        sub: random::id(),
        username,
        idp: provider.id.clone(),
        linked_at: ctx.now,
    };
    let winner = link_objects(ctx)?
        .apply(key, LinkOp::Claim(linked.clone()), ctx.now)
        .await?
        .unwrap_or_else(|| linked.clone());
    if winner != linked {
        return account_of(ctx, &winner, identity, key).await;
    }
    save_new(ctx, new_user(&linked, identity, key, ctx.now)).await
}

fn new_user(linked: &Linked, identity: &UpstreamIdentity, key: &str, now: u64) -> UserRecord {
    UserRecord {
        username: linked.username.clone(),
        sub: linked.sub.clone(),
        password: None,
        claims: identity.claims.clone(),
        created_at: now,
        updated_at: now,
        session_epoch: 0,
        links: vec![UserLink {
            idp: linked.idp.clone(),
            key: key.to_owned(),
            linked_at: linked.linked_at,
        }],
        admin: false,
    }
}

async fn save_new(ctx: &Ctx, user: UserRecord) -> OAuthResult<UserRecord> {
    ctx.records()?.put(&user).await?;
    reindex_email(ctx, None, Some(&user)).await?;
    Ok(user)
}

/// Records on the account that the link `key` signs in to it.
async fn note_link(ctx: &Ctx, mut user: UserRecord, idp: &str, key: &str) -> OAuthResult<UserRecord> {
    if user.links.iter().any(|l| l.key == key) {
        return Ok(user);
    }
    user.links.push(UserLink {
        idp: idp.to_owned(),
        key: key.to_owned(),
        linked_at: ctx.now,
    });
    user.updated_at = ctx.now;
    ctx.records()?.put(&user).await?;
    Ok(user)
}

/// The upstream's claims copied onto the account at each sign-in (those
/// the provider's mapping names); written only when something changed.
async fn copy_claims(ctx: &Ctx, mut user: UserRecord, claims: &Map<String, Value>) -> OAuthResult<UserRecord> {
    let before = user.clone();
    copy_upstream_claims(&mut user.claims, claims);
    if user.claims == before.claims {
        return Ok(user);
    }
    user.updated_at = ctx.now;
    ctx.records()?.put(&user).await?;
    reindex_email(ctx, Some(&before), Some(&user)).await?;
    Ok(user)
}

/// The identity a sign-in form carried, linked now that the person has
/// signed in to `user`. One linked meanwhile to another account stays so.
pub async fn link_pending(ctx: &Ctx, user: &UserRecord, pending: &PendingLink) -> OAuthResult<()> {
    let key = link_key(&pending.issuer, &pending.subject);
    let linked = claim(ctx, &key, user.clone(), &pending.idp).await?;
    if linked.sub == user.sub {
        copy_claims(ctx, linked, &pending.claims).await?;
    }
    Ok(())
}

/// The account page's "Link" round trip has come back: link the identity
/// to the signed-in account, unless it is another account's.
async fn link_signed_in(
    ctx: &Ctx,
    browser: &mut Browser,
    provider: &ProviderRecord,
    identity: &UpstreamIdentity,
    linked: Option<Linked>,
    sub: &str,
    kept: Option<KeptTokens>,
) -> Reply {
    let Some(user) = browser.user.clone().filter(|u| u.sub == sub) else {
        return page_error(browser, "You are no longer signed in to the account this link was for.");
    };
    if linked.as_ref().is_some_and(|l| l.sub != user.sub) {
        let msg = format!(
            "This {} account already signs in to another account here.",
            provider.name
        );
        return page_error(browser, &msg);
    }
    let key = link_key(&identity.issuer, &identity.subject);
    let user = claim(ctx, &key, user, &provider.id).await?;
    let user = copy_claims(ctx, user, &identity.claims).await?;
    keep_tokens(ctx, &user.sub, &provider.id, kept).await?;
    redirect(true, "/account?done=linked", &browser.cookies)
}

/// The context a kept token record is sealed under: its own key.
fn kept_context(key: &str) -> String {
    format!("idp_tokens:{key}")
}

/// Keeps the upstream's tokens for the admin, when the provider says so
/// (`keep_tokens`), sealed; replaces what was kept before.
async fn keep_tokens(ctx: &Ctx, sub: &str, idp: &str, kept: Option<KeptTokens>) -> OAuthResult<()> {
    let Some(kept) = kept else {
        return Ok(());
    };
    let key = KeptTokensRecord::key_for(sub, idp);
    let json = serde_json::to_string(&kept).map_err(|_| crate::protocol::error::server_error())?;
    let sealed = seal_secret(&ctx.env, &json, &kept_context(&key)).await?;
    Ok(ctx.records()?.put(&KeptTokensRecord { key, sealed }).await?)
}

/// The tokens kept of `sub` at `idp`, opened; `None` if none are kept.
pub async fn kept_tokens(ctx: &Ctx, sub: &str, idp: &str) -> OAuthResult<Option<Value>> {
    let key = KeptTokensRecord::key_for(sub, idp);
    let Some(record) = RecordStore::<KeptTokensRecord>::get(&ctx.records()?, &key).await? else {
        return Ok(None);
    };
    let json = open_secret(&ctx.env, &record.sealed, &kept_context(&key)).await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

async fn forget_tokens(ctx: &Ctx, sub: &str, idp: &str) -> OAuthResult<()> {
    let key = KeptTokensRecord::key_for(sub, idp);
    Ok(RecordStore::<KeptTokensRecord>::delete(&ctx.records()?, &key).await?)
}

/// Unlinks the provider `idp` from the account, unless it is the last way
/// in (no password, no passkey, no other link): `Ok(false)`.
pub async fn unlink(ctx: &Ctx, mut user: UserRecord, idp: &str) -> OAuthResult<bool> {
    let others = user.links.iter().filter(|l| l.idp != idp).count();
    if user.password.is_none() && others == 0 && stored_passkeys(ctx, &user.sub).await?.is_empty() {
        return Ok(false);
    }
    let links = link_objects(ctx)?;
    for link in user.links.iter().filter(|l| l.idp == idp) {
        release(ctx, &links, &user.sub, link).await?;
    }
    user.links.retain(|l| l.idp != idp);
    user.updated_at = ctx.now;
    ctx.records()?.put(&user).await?;
    Ok(true)
}

/// Releases every link of an account being deleted: its upstream
/// identities then make a new account, never find the deleted one.
pub async fn unlink_all(ctx: &Ctx, user: &UserRecord) -> OAuthResult<()> {
    let links = link_objects(ctx)?;
    for link in &user.links {
        release(ctx, &links, &user.sub, link).await?;
    }
    Ok(())
}

/// Releases one link of the account `sub` and forgets the tokens kept
/// from its provider.
async fn release(ctx: &Ctx, links: &DurableObjects<LinkMachine>, sub: &str, link: &UserLink) -> OAuthResult<()> {
    let op = LinkOp::Release { sub: sub.to_owned() };
    links.apply(&link.key, op, ctx.now).await?;
    forget_tokens(ctx, sub, &link.idp).await
}
