//! Upstream identity providers for federated sign-in: `POST /admin/idps`
//! (201), `GET /admin/idps`, `GET/PUT/DELETE /admin/idps/{id}`, all behind
//! the admin token. Secrets (a client secret, Apple's private key) are
//! write-only: sealed (AES-GCM, `store::secrets`) before they are stored,
//! never shown again; a `PUT` without one keeps the stored one.
//!
//! All providers are one KV record (the login page shows them all, with
//! one read): each change reads and rewrites it, so make changes one at a
//! time. Reads here go to KV, not the isolate's cache.

use super::admin::audit::{self, Actor};
use super::federation::{accounts_secret_context, save_providers};
use super::http::{json, json_body, no_content, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::error::{invalid_request, ErrorCode, OAuthError, OAuthResult};
use crate::protocol::federation::provider::{parse_provider, NewSecret, ProviderDraft, ProviderRecord, ProviderSet};
use crate::store::secrets::seal_secret;
use crate::store::RecordStore;
use serde_json::json;
use worker::Method;

fn not_found() -> OAuthError {
    OAuthError::new(ErrorCode::NotFound, "no such identity provider")
}

async fn stored(ctx: &Ctx) -> OAuthResult<ProviderSet> {
    let set: Option<ProviderSet> = ctx.records()?.get(ProviderSet::KEY).await?;
    Ok(set.unwrap_or_default())
}

/// `GET` lists the providers; `POST` adds one.
pub async fn collection(mut req: Request, ctx: &Ctx) -> Reply {
    ctx.require_admin(&req)?;
    let mut set = stored(ctx).await?;
    if req.method() != Method::Post {
        let idps: Vec<_> = set.providers.iter().map(ProviderRecord::public_view).collect();
        return json(200, &json!({ "idps": idps }));
    }
    let draft = parse_provider(&json_body(&mut req).await?, None, None, ctx.now)?;
    if set.get(&draft.record.id).is_some() {
        return Err(invalid_request("an identity provider with this id already exists").with_status(409));
    }
    let record = sealed(ctx, draft).await?;
    set.providers.push(record.clone());
    save_providers(ctx, &set).await?;
    audit::record(ctx, &Actor::token(&req), "idp.create", &record.id, None).await;
    json(201, &record.public_view())
}

/// One provider: `GET` shows it, `PUT` replaces it, `DELETE` removes it
/// (its links stay on the accounts, which can unlink it; no one signs in
/// with it any more).
pub async fn manage(mut req: Request, ctx: &Ctx, id: &str) -> Reply {
    ctx.require_admin(&req)?;
    let mut set = stored(ctx).await?;
    let at = set.providers.iter().position(|p| p.id == id).ok_or_else(not_found)?;
    match req.method() {
        Method::Get => json(200, &set.providers[at].public_view()),
        Method::Delete => {
            set.providers.remove(at);
            save_providers(ctx, &set).await?;
            audit::record(ctx, &Actor::token(&req), "idp.delete", id, None).await;
            no_content()
        }
        _ => {
            let body = json_body(&mut req).await?;
            let draft = parse_provider(&body, Some(id), Some(&set.providers[at]), ctx.now)?;
            let record = sealed(ctx, draft).await?;
            set.providers[at] = record.clone();
            save_providers(ctx, &set).await?;
            audit::record(ctx, &Actor::token(&req), "idp.update", id, None).await;
            json(200, &record.public_view())
        }
    }
}

/// The record to store: a new secret sealed under the storage key, bound
/// to this provider and field.
async fn sealed(ctx: &Ctx, draft: ProviderDraft) -> OAuthResult<ProviderRecord> {
    let id = draft.record.id.clone();
    let ciphertext = match &draft.new_secret {
        None => None,
        Some(NewSecret::ClientSecret(secret)) => Some((secret.as_str(), "client_secret")),
        Some(NewSecret::Apple { private_key_pem, .. }) => Some((private_key_pem.as_str(), "apple_private_key")),
    };
    let sealed = match ciphertext {
        Some((plaintext, field)) => Some(seal_secret(&ctx.env, plaintext, &accounts_secret_context(&id, field)).await?),
        None => None,
    };
    Ok(draft.into_record(sealed))
}
