//! The login step: the form, and its submission (`step=login`).

use super::{display_name, page_client, proceed, Pending};
use crate::endpoints::browser::{form_fields, read_form, stale_form, Browser};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::sign_in::{self, passkey_request, typed_username, SignIn};
use crate::endpoints::Ctx;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::client::ClientRecord;
use crate::protocol::params::Params;
use crate::ui::{login_page, FormContext, LoginView};

pub async fn page(req: AuthorizationRequest, client: &ClientRecord, ctx: &Ctx, browser: &mut Browser) -> Reply {
    show(req, client, ctx, browser, None, 200).await
}

async fn show(
    req: AuthorizationRequest,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let pending = Pending {
        req,
        fresh_login: false,
        sub: None,
    };
    let (handle, csrf) = form_fields(ctx, browser, "login", &pending).await?;
    let form = FormContext {
        action: "/authorize",
        handle: &handle,
        csrf: &csrf,
    };
    let body = login_page(&LoginView {
        form: &form,
        client_name: display_name(client),
        login_hint: pending.req.login_hint.as_deref(),
        error,
        passkey: passkey_request(ctx, &handle),
        passkey_required: pending.req.requires_passkey(),
    });
    html(status, body, &browser.cookies)
}

/// A client that requires a phishing-resistant sign-in (`acr` `phr`)
/// takes no password: refused unchecked (no throttle count, no PBKDF2,
/// the form not used up), 403, and the form again, whose page says why.
async fn passkey_only(req: AuthorizationRequest, client: &ClientRecord, ctx: &Ctx, browser: &mut Browser) -> Reply {
    show(req, client, ctx, browser, None, 403).await
}

/// A login form's post (`step=login`, a password, or `step=passkey`): the
/// method of [`sign_in`] it names, once the form is known to be ours and
/// its client still there.
pub async fn submit(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let Some(form) = read_form::<Pending>(params, ctx, browser, "login").await? else {
        return stale_form(browser);
    };
    let client = match page_client(ctx, browser, &form.data.req.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return stale_form(browser),
        Err(reply) => return reply,
    };
    if form.data.req.requires_passkey() && params.get("step") != Some("passkey") {
        return passkey_only(form.data.req.clone(), &client, ctx, browser).await;
    }
    let Some(outcome) = sign_in::method(form, params, ctx, browser).await? else {
        return stale_form(browser);
    };
    match outcome {
        SignIn::Done(pending) => proceed(pending.req, &client, ctx, browser, true, false).await,
        SignIn::Again(pending, again) => {
            let mut req = pending.req;
            if let Some(username) = typed_username(params) {
                req.login_hint = Some(username.to_owned());
            }
            let resp = show(req, &client, ctx, browser, Some(&again.alert), again.status).await?;
            again.finish(resp)
        }
        SignIn::Stale => stale_form(browser),
    }
}
