//! `GET, POST /authorize`: the authorization endpoint (RFC 6749 §3.1,
//! OIDC Core §3.1.2). The request is validated, the person logs in and
//! consents (each step a page whose form posts back here with a sealed
//! `handle` and a `csrf` token), and the browser goes back to the client
//! with a code.
//!
//! Steps: `start` (a new request) → [`login`] → [`consent`] → `finish`.

mod consent;
pub mod login;

use super::browser::{page_error, page_params, read_browser, Browser};
use super::federation::PendingLink;
use super::http::{redirect, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::grants::authorization_code::issue_code;
use crate::grants::Site;
use crate::protocol::authorize::{
    error_redirect, interaction_error, needs_consent, needs_login, recheck, requested_client_id, success_redirect,
    validate, AuthorizationRequest, AuthorizeError,
};
use crate::protocol::client::ClientRecord;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::session::{ConsentRecord, SessionRecord};
use crate::store::durable::DurableGrants;
use crate::store::RecordStore;
use serde::{Deserialize, Serialize};
use worker::Method;

/// The pending request sealed into a form's `handle`.
#[derive(Clone, Serialize, Deserialize)]
pub struct Pending {
    pub req: AuthorizationRequest,
    /// Set once the person has logged in during this request.
    pub fresh_login: bool,
    /// Who the consent page was shown to (consent step only).
    pub sub: Option<String>,
    /// An upstream identity to link to the account the person signs in to
    /// (login step only: the account already had its e-mail address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<PendingLink>,
}

pub async fn handle(mut req: Request, ctx: &Ctx) -> Reply {
    let after_post = req.method() == Method::Post;
    // Repeated parameters are judged later, once the client is known, so
    // that the error can go where it belongs (`validate`).
    let params = page_params(&mut req).await?;
    let mut browser = read_browser(&req, ctx, after_post).await?;
    match params.get("step") {
        Some("login" | "passkey" | "federation") if after_post => login::submit(&params, ctx, &mut browser).await,
        Some("consent") if after_post => consent::submit(&params, ctx, &mut browser).await,
        _ => start(&params, ctx, &mut browser).await,
    }
}

pub fn site(ctx: &Ctx) -> Site<'_> {
    Site {
        issuer: &ctx.issuer,
        config: &ctx.config,
        now: ctx.now,
    }
}

/// Answers an error in the form it deserves (RFC 6749 §4.1.2.1).
pub fn answer_error(e: AuthorizeError, ctx: &Ctx, browser: &Browser) -> Reply {
    match e {
        AuthorizeError::Page(err) => page_error(browser, &err.description),
        AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        } => redirect(
            browser.after_post,
            &error_redirect(&redirect_uri, &error, state.as_deref(), &ctx.issuer),
            &browser.cookies,
        ),
    }
}

/// Redirects `error` to the client of a validated request.
pub fn redirect_error(req: &AuthorizationRequest, error: OAuthError, ctx: &Ctx, browser: &Browser) -> Reply {
    let e = AuthorizeError::Redirect {
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        error,
    };
    answer_error(e, ctx, browser)
}

pub fn display_name(client: &ClientRecord) -> &str {
    client.metadata.client_name.as_deref().unwrap_or(&client.client_id)
}

/// The client of a page request, or the page that answers instead. A
/// client's own document that cannot be used (now, or since the form was
/// shown) is said on the page: the redirect URI cannot be trusted without it.
pub async fn page_client(ctx: &Ctx, browser: &Browser, client_id: &str) -> Result<Option<ClientRecord>, Reply> {
    match ctx.client(client_id).await {
        Ok(found) => Ok(found),
        Err(e) if e.code == ErrorCode::InvalidClient => Err(page_error(browser, &e.description)),
        Err(e) => Err(Err(e)),
    }
}

/// A new authorization request.
async fn start(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let client_id = match requested_client_id(params) {
        Ok(id) => id,
        Err(e) => return answer_error(e, ctx, browser),
    };
    let client = match page_client(ctx, browser, client_id).await {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    match (validate(params, client.as_ref(), &ctx.config.allowed_resources), client) {
        (Ok(req), Some(client)) => proceed(req, &client, ctx, browser, false, false).await,
        (Err(e), _) => answer_error(e, ctx, browser),
        (Ok(_), None) => page_error(browser, "unknown client_id"),
    }
}

/// Decides the next step for a valid request: log in, consent, or done.
/// Once the request is valid, its redirect URI can be trusted, so storage
/// out of reach from here on goes back to the client as RFC 6749
/// §4.1.2.1's `temporarily_unavailable` ("needed because a 503 ... cannot
/// be returned to the client via an HTTP redirect"), with `state` and
/// `iss`: the client can start again, where a page would strand the person.
pub async fn proceed(
    req: AuthorizationRequest,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    fresh_login: bool,
    fresh_consent: bool,
) -> Reply {
    let (redirect_uri, state) = (req.redirect_uri.clone(), req.state.clone());
    match next_step(req, client, ctx, browser, fresh_login, fresh_consent).await {
        Err(error) if error.retry_after().is_some() => answer_error(
            AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
            },
            ctx,
            browser,
        ),
        reply => reply,
    }
}

async fn next_step(
    req: AuthorizationRequest,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    fresh_login: bool,
    fresh_consent: bool,
) -> Reply {
    let session = browser.session.clone();
    let login = needs_login(&req, session.as_ref(), ctx.now, fresh_login);
    let remembered: Option<ConsentRecord> = match (&session, login) {
        (Some(s), None) => {
            ctx.records()?
                .get(&ConsentRecord::key_for(&s.sub, &client.client_id))
                .await?
        }
        _ => None,
    };
    let consent =
        login.is_none() && needs_consent(&req, remembered.as_ref().map(|c| c.scopes.as_slice()), fresh_consent);
    if let Some(error) = interaction_error(&req, login, consent) {
        return redirect_error(&req, error, ctx, browser);
    }
    match session {
        Some(session) if login.is_none() && consent => {
            consent::page(req, client, ctx, browser, &session, fresh_login).await
        }
        Some(session) if login.is_none() => finish(req, client, ctx, browser, &session).await,
        _ => login::page(req, client, ctx, browser).await,
    }
}

/// Issues the code and sends the browser back to the client with it,
/// provided the client, as it is now, still takes this request.
async fn finish(
    req: AuthorizationRequest,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    session: &SessionRecord,
) -> Reply {
    if let Err(e) = recheck(&req, client, &ctx.config.allowed_resources) {
        return answer_error(e, ctx, browser);
    }
    // `read_browser` and the login step set the user with the session.
    let Some(user) = browser.user.clone() else {
        return login::page(req, client, ctx, browser).await;
    };
    let grants = DurableGrants(ctx.env.durable_object("GRANTS")?);
    let key = crate::store::secrets::code_key(&ctx.env).await?;
    let code = issue_code(&grants, &key, &site(ctx), &req, &user, session)?;
    let location = success_redirect(&req.redirect_uri, &code, req.state.as_deref(), &ctx.issuer);
    redirect(browser.after_post, &location, &browser.cookies)
}
