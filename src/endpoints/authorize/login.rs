//! The login step: the form, and its submission (`step=login`, a
//! password; `step=passkey`; `step=federation`, a provider's button). A
//! federated sign-in comes back through `/federation/{id}/callback`,
//! which resumes here ([`resumed`], or [`again`] saying what went wrong).

use super::{display_name, page_client, proceed, Pending};
use crate::endpoints::browser::{form_fields, read_form, stale_form, use_form, Browser};
use crate::endpoints::federation::{self, Resume};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::sign_in::{self, passkey_request, typed_username, SignIn};
use crate::endpoints::Ctx;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::client::ClientRecord;
use crate::protocol::params::Params;
use crate::ui::{login_page, FormContext, LoginView};

/// The login page of a request, or straight to the provider its `idp` (or
/// its `login_hint`'s domain) names.
pub async fn page(req: AuthorizationRequest, client: &ClientRecord, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let pending = Pending {
        req,
        fresh_login: false,
        sub: None,
        link: None,
    };
    let hinted = match pending.req.requires_passkey() {
        true => None,
        false => federation::hinted(ctx, pending.req.idp.as_deref(), pending.req.login_hint.as_deref()).await?,
    };
    let Some(provider) = hinted else {
        return show(pending, client, ctx, browser, None, 200).await;
    };
    let resume = Resume::Authorize(pending.clone());
    match federation::start(ctx, browser, &provider, &resume, pending.req.login_hint.as_deref()).await? {
        Ok(away) => Ok(away),
        Err(e) => {
            show(
                pending,
                client,
                ctx,
                browser,
                Some(&federation::alert(&provider.name, &e)),
                400,
            )
            .await
        }
    }
}

async fn show(
    pending: Pending,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let (handle, csrf) = form_fields(ctx, browser, "login", &pending).await?;
    let form = FormContext {
        action: "/authorize",
        handle: &handle,
        csrf: &csrf,
    };
    let passkey_required = pending.req.requires_passkey();
    // A client that requires a passkey takes no upstream's sign-in either.
    let providers = match passkey_required {
        true => Vec::new(),
        false => federation::buttons(ctx).await?,
    };
    let body = login_page(&LoginView {
        form: &form,
        client_name: display_name(client),
        login_hint: pending.req.login_hint.as_deref(),
        error,
        passkey: passkey_request(ctx, &handle),
        passkey_required,
        providers: &providers,
    });
    html(status, body, &browser.cookies)
}

/// The login page again after a federated sign-in that did not sign in
/// (`alert` says why), or that needs the person to sign in to an account
/// of theirs first (the pending request carries the identity to link).
pub async fn again(pending: Pending, ctx: &Ctx, browser: &mut Browser, alert: &str) -> Reply {
    match page_client(ctx, browser, &pending.req.client_id).await {
        Ok(Some(client)) => show(pending, &client, ctx, browser, Some(alert), 400).await,
        Ok(None) => stale_form(browser),
        Err(reply) => reply,
    }
}

/// The request goes on after a federated sign-in.
pub async fn resumed(pending: Pending, ctx: &Ctx, browser: &mut Browser) -> Reply {
    match page_client(ctx, browser, &pending.req.client_id).await {
        Ok(Some(client)) => proceed(pending.req, &client, ctx, browser, true, false).await,
        Ok(None) => stale_form(browser),
        Err(reply) => reply,
    }
}

/// A login form's post: the method of [`sign_in`] its `step` names, or a
/// provider's button (`step=federation`, `idp`), once the form is known to
/// be ours and its client still there.
pub async fn submit(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let Some(form) = read_form::<Pending>(params, ctx, browser, "login").await? else {
        return stale_form(browser);
    };
    let client = match page_client(ctx, browser, &form.data.req.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return stale_form(browser),
        Err(reply) => return reply,
    };
    let step = params.get("step");
    if form.data.req.requires_passkey() && step != Some("passkey") {
        // A client that requires a phishing-resistant sign-in (`acr`
        // `phr`) takes no password and no provider: refused unchecked (no
        // throttle count, no PBKDF2, the form not used up), 403, and the
        // form again, whose page says why.
        return show(form.data, &client, ctx, browser, None, 403).await;
    }
    if step == Some("federation") {
        return federated(form.data.clone(), form, params, &client, ctx, browser).await;
    }
    let Some(outcome) = sign_in::method(form, params, ctx, browser).await? else {
        return stale_form(browser);
    };
    match outcome {
        SignIn::Done(pending) => {
            if let (Some(link), Some(user)) = (&pending.link, &browser.user) {
                federation::link_pending(ctx, user, link).await?;
            }
            proceed(pending.req, &client, ctx, browser, true, false).await
        }
        SignIn::Again(mut pending, again) => {
            if let Some(username) = typed_username(params) {
                pending.req.login_hint = Some(username.to_owned());
            }
            let resp = show(pending, &client, ctx, browser, Some(&again.alert), again.status).await?;
            again.finish(resp)
        }
        SignIn::Stale => stale_form(browser),
    }
}

/// A provider's button: the form is used up, and the browser goes to the
/// provider (or the page says why it cannot).
async fn federated(
    pending: Pending,
    form: crate::protocol::handle::Opened<Pending>,
    params: &Params,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
) -> Reply {
    if use_form(ctx, form).await?.is_none() {
        return stale_form(browser);
    }
    let idp = params.get("idp").unwrap_or_default();
    let resume = Resume::Authorize(pending.clone());
    match federation::start_from_form(ctx, browser, idp, &resume, pending.req.login_hint.as_deref()).await? {
        Ok(away) => Ok(away),
        Err(alert) => show(pending, client, ctx, browser, Some(&alert), 400).await,
    }
}
