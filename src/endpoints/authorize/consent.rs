//! The consent step: the page listing what the client asks for, and its
//! submission (`step=consent`, `decision=allow|deny`).

use super::{display_name, page_client, proceed, redirect_error, Pending};
use crate::endpoints::browser::{form_fields, open_form, page_error, stale_form, Browser};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::Ctx;
use crate::protocol::authorize::{scope_descriptions, AuthorizationRequest};
use crate::protocol::client::ClientRecord;
use crate::protocol::client_document::{document_host, redirects_only_to_loopback};
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};
use crate::protocol::params::Params;
use crate::protocol::session::{ConsentRecord, SessionRecord};
use crate::store::RecordStore;
use crate::ui::{consent_page, DocumentClient, FormContext, Unverified};
use url::Url;

pub async fn page(
    req: AuthorizationRequest,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    session: &SessionRecord,
    fresh_login: bool,
) -> Reply {
    let pending = Pending {
        req,
        fresh_login,
        sub: Some(session.sub.clone()),
        link: None,
    };
    let (handle, csrf) = form_fields(ctx, browser, "consent", &pending).await?;
    let form = FormContext {
        action: "/authorize",
        handle: &handle,
        csrf: &csrf,
    };
    let host = document_host(&client.client_id);
    let document = host.as_deref().map(|host| DocumentClient {
        host,
        loopback_only: redirects_only_to_loopback(client),
    });
    let redirect = Url::parse(&pending.req.redirect_uri).ok();
    let issuer = Url::parse(&ctx.issuer).ok();
    let unverified = client.self_registered.map(|_| Unverified {
        issuer_host: issuer.as_ref().and_then(Url::host_str).unwrap_or(&ctx.issuer),
        redirect_host: redirect.as_ref().and_then(Url::host_str).unwrap_or_default(),
    });
    let body = consent_page(
        &form,
        display_name(client),
        document.as_ref(),
        &session.username,
        &scope_descriptions(&pending.req.scopes),
        unverified.as_ref(),
    );
    html(200, body, &browser.cookies)
}

/// Remembers the allowed scopes together with any allowed before, and the
/// client's name as the page showed it.
async fn remember(ctx: &Ctx, sub: &str, client: &ClientRecord, scopes: &[String]) -> OAuthResult<()> {
    let store = ctx.records()?;
    let key = ConsentRecord::key_for(sub, &client.client_id);
    let mut record: ConsentRecord = store.get(&key).await?.unwrap_or(ConsentRecord {
        key,
        scopes: Vec::new(),
        granted_at: ctx.now,
        client_name: None,
    });
    for s in scopes {
        if !record.scopes.contains(s) {
            record.scopes.push(s.clone());
        }
    }
    record.granted_at = ctx.now;
    record.client_name = Some(display_name(client).to_owned());
    Ok(store.put(&record).await?)
}

pub async fn submit(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let Some(pending) = open_form::<Pending>(params, ctx, browser, "consent").await? else {
        return stale_form(browser);
    };
    let client = match page_client(ctx, browser, &pending.req.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return stale_form(browser),
        Err(reply) => return reply,
    };
    // The consent must come from the person it was asked of; if the session
    // ended or changed hands meanwhile, start over from the login step.
    let same_person = browser.session.as_ref().map(|s| &s.sub) == pending.sub.as_ref();
    if !same_person {
        return proceed(pending.req, &client, ctx, browser, false, false).await;
    }
    match params.get("decision") {
        Some("allow") => {
            let sub = pending.sub.as_deref().unwrap_or_default();
            remember(ctx, sub, &client, &pending.req.scopes).await?;
            proceed(pending.req, &client, ctx, browser, pending.fresh_login, true).await
        }
        Some("deny") => {
            let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
            redirect_error(&pending.req, error, ctx, browser)
        }
        _ => page_error(browser, "Choose Allow or Deny."),
    }
}
