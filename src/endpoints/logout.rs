//! `GET, POST /logout`: OpenID Connect RP-Initiated Logout 1.0 (the
//! discovery document's `end_session_endpoint`). Ends the login session;
//! a later `prompt=none` request then gets `login_required`.
//!
//! With an `id_token_hint` naming the person signed in, the session ends
//! at once; otherwise the person is asked first (§2: a logout request can
//! be sent by anyone, "the OP SHOULD ask the End-User whether to log out").

use super::authorize::display_name;
use super::browser::{end_session, form_fields, open_form, page_error, page_params, read_browser, stale_form, Browser};
use super::http::{html, redirect, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::authorize::post_logout_redirect;
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::store::keys;
use crate::ui::{error_page, logged_out_page, logout_page, FormContext};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use worker::Method;

/// The validated logout request, sealed into the confirmation form.
#[derive(Serialize, Deserialize)]
struct Pending {
    redirect_uri: Option<String>,
    state: Option<String>,
    client_name: Option<String>,
}

/// §2: "The OP SHOULD accept ID Tokens when the RP identified by the ID
/// Token's aud claim ... has a current session ... even when the exp time
/// has passed": signature and issuer are checked, expiry is not. A key
/// ring out of reach is the service's failure, not the hint's: it is the
/// error (a 503 page), not "not valid".
async fn id_token_hint(ctx: &Ctx, token: &str) -> Result<Option<Map<String, Value>>, OAuthError> {
    let Some((typ, claims)) = keys::verify_jwt(&ctx.env, &ctx.config, ctx.now, token).await? else {
        return Ok(None);
    };
    Ok((typ == "JWT" && claims.get("iss").and_then(Value::as_str) == Some(&ctx.issuer)).then_some(claims))
}

fn audience(claims: &Map<String, Value>) -> Option<String> {
    match claims.get("aud")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first()?.as_str().map(str::to_string),
        _ => None,
    }
}

pub async fn handle(mut req: Request, ctx: &Ctx) -> Reply {
    let after_post = req.method() == Method::Post;
    let params = page_params(&mut req).await?.reject_repeated()?;
    let mut browser = read_browser(&req, ctx, after_post).await?;
    if after_post && params.get("step") == Some("logout") {
        return confirm(&params, ctx, &mut browser).await;
    }
    start(&params, ctx, &mut browser).await
}

async fn start(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let hint = match params.get("id_token_hint") {
        Some(t) => match id_token_hint(ctx, t).await? {
            Some(claims) => Some(claims),
            None => return page_error(browser, "The id_token_hint is not a valid ID token from this provider."),
        },
        None => None,
    };
    let client_id = match (params.get("client_id"), hint.as_ref().and_then(audience)) {
        (Some(a), Some(b)) if a != b => return page_error(browser, "client_id does not match the id_token_hint."),
        (Some(a), _) => Some(a.to_string()),
        (None, b) => b,
    };
    let client = match &client_id {
        Some(id) => match ctx.existing_client(id).await? {
            Some(c) => Some(c),
            None => return page_error(browser, "Unknown client_id."),
        },
        None => None,
    };
    // §3: the URI "MUST have been previously registered with the OP"; we
    // compare it exactly, as for redirect URIs.
    let redirect_uri = match params.get("post_logout_redirect_uri") {
        Some(uri)
            if client
                .as_ref()
                .is_some_and(|c| c.metadata.post_logout_redirect_uris.iter().any(|u| u == uri)) =>
        {
            Some(uri.to_string())
        }
        Some(_) => return page_error(browser, "post_logout_redirect_uri is not registered for this client."),
        None => None,
    };
    let pending = Pending {
        redirect_uri,
        state: params.get("state").map(str::to_string),
        client_name: client.as_ref().map(|c| display_name(c).to_string()),
    };
    let hinted_sub = hint.as_ref().and_then(|c| c.get("sub")).and_then(Value::as_str);
    match &browser.session {
        Some(s) if Some(s.sub.as_str()) != hinted_sub => ask(ctx, browser, &pending).await,
        _ => finish(ctx, browser, pending).await,
    }
}

async fn ask(ctx: &Ctx, browser: &mut Browser, pending: &Pending) -> Reply {
    let (handle, csrf) = form_fields(ctx, browser, "logout", pending).await?;
    let form = FormContext {
        action: "/logout",
        handle: &handle,
        csrf: &csrf,
    };
    html(
        200,
        logout_page(&form, pending.client_name.as_deref()),
        &browser.cookies,
    )
}

async fn confirm(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let Some(pending) = open_form::<Pending>(params, ctx, browser, "logout").await? else {
        return stale_form(browser);
    };
    match (params.get("decision"), &pending.redirect_uri) {
        (Some("yes"), _) => finish(ctx, browser, pending).await,
        (Some("no"), Some(uri)) => redirect(
            true,
            &post_logout_redirect(uri, pending.state.as_deref()),
            &browser.cookies,
        ),
        (Some("no"), None) => html(
            200,
            error_page("You are still signed in", "Nothing was changed."),
            &browser.cookies,
        ),
        _ => page_error(browser, "Choose whether to sign out."),
    }
}

/// Ends the session (its record and its cookie) and says so, or goes back
/// to the client.
async fn finish(ctx: &Ctx, browser: &mut Browser, pending: Pending) -> Reply {
    end_session(ctx, browser).await?;
    match &pending.redirect_uri {
        Some(uri) => redirect(
            browser.after_post,
            &post_logout_redirect(uri, pending.state.as_deref()),
            &browser.cookies,
        ),
        None => html(200, logged_out_page(), &browser.cookies),
    }
}
