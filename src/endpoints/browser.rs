//! What a person's browser brings to the pages: its login session, a CSRF
//! nonce, and the forms it posts back (sealed handle + CSRF token).

use super::http::{content_type, cookie, html, read_body, utf8, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::cookie::set_cookie;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{invalid_request, server_error, OAuthResult};
use crate::protocol::handle::{csrf_matches, csrf_token, open, seal, Opened};
use crate::protocol::once::{OnceMachine, Use, UseReply};
use crate::protocol::params::{parse_form_lenient, Params};
use crate::protocol::session::SessionRecord;
use crate::protocol::user::UserRecord;
use crate::random;
use crate::store::durable::DurableObjects;
use crate::store::{keys, ObjectStore, RecordStore};
use crate::ui;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::Method;

pub const SESSION_COOKIE: &str = "oidc_session";
const BROWSER_COOKIE: &str = "oidc_browser";
/// How long a person has to fill in a form.
const FORM_TTL: u64 = 900;

/// What the browser brings: its session and its CSRF nonce.
pub struct Browser {
    pub session: Option<SessionRecord>,
    /// The session's user, as stored now (present exactly when `session` is).
    pub user: Option<UserRecord>,
    pub nonce: Option<String>,
    /// The federation cookie (`federation::FEDERATION_COOKIE`), which binds
    /// a round trip to an upstream provider to this browser.
    pub federation: Option<String>,
    /// Where the request comes from (`CF-Connecting-IP`, which Cloudflare
    /// sets on every request), for the sign-in throttle.
    pub address: String,
    pub after_post: bool,
    /// Cookies to set on whatever this request answers.
    pub cookies: Vec<String>,
}

/// The browser's session (if live, and still its user's: not ended by a
/// password change, the account not deleted) and its CSRF nonce, from its
/// cookies. A session that has ended is forgotten: its cookie is cleared.
pub async fn read_browser(req: &Request, ctx: &Ctx, after_post: bool) -> OAuthResult<Browser> {
    let mut browser = Browser {
        session: None,
        user: None,
        nonce: cookie(req, BROWSER_COOKIE),
        federation: cookie(req, super::federation::FEDERATION_COOKIE),
        // Absent only off Cloudflare (local development): one shared count.
        address: req.header("cf-connecting-ip").unwrap_or_else(|| "unknown".into()),
        after_post,
        cookies: Vec::new(),
    };
    let Some(sid) = cookie(req, SESSION_COOKIE) else {
        return Ok(browser);
    };
    let store = ctx.records()?;
    let session: Option<SessionRecord> = store.get(&secret_hash(&sid)).await?;
    let Some(session) = session.filter(|s| s.is_live(ctx.now)) else {
        return Ok(browser);
    };
    let user: Option<UserRecord> = store.get(&session.username).await?;
    match user.filter(|u| session.belongs_to(u)) {
        Some(user) => {
            browser.session = Some(session);
            browser.user = Some(user);
        }
        None => browser.cookies.push(set_cookie(SESSION_COOKIE, "", 0, secure(ctx))),
    }
    Ok(browser)
}

/// The parameters of a page request: the query of a GET, or the
/// form-serialised body of a POST (OIDC Core §3.1.2.1). Repeated parameters
/// are noted, not refused: each endpoint decides how to answer them.
pub async fn page_params(req: &mut Request) -> OAuthResult<Params> {
    if req.method() != Method::Post {
        return parse_form_lenient(req.url().query);
    }
    if content_type(req) != "application/x-www-form-urlencoded" {
        return Err(invalid_request("the request body must be application/x-www-form-urlencoded").with_status(415));
    }
    parse_form_lenient(utf8(&read_body(req).await?)?)
}

/// Ends the browser's session: its record (and its entry in its user's
/// list), and its cookie.
pub async fn end_session(ctx: &Ctx, browser: &mut Browser) -> OAuthResult<()> {
    if let Some(session) = browser.session.take() {
        super::sessions::forget(ctx, &session.sub, &session.key).await?;
    }
    browser.user = None;
    browser.cookies.push(set_cookie(SESSION_COOKIE, "", 0, secure(ctx)));
    Ok(())
}

pub fn secure(ctx: &Ctx) -> bool {
    crate::config::is_https(&ctx.issuer)
}

/// A page telling the person the request cannot go on, never a redirect:
/// used when the client or its redirect URI cannot be trusted.
pub fn page_error(browser: &Browser, description: &str) -> Reply {
    html(
        400,
        ui::error_page("This sign-in request cannot continue", description),
        &browser.cookies,
    )
}

pub async fn form_secret(ctx: &Ctx) -> OAuthResult<Vec<u8>> {
    Ok(keys::ring(&ctx.env, &ctx.config, ctx.now)
        .await?
        .form_secret
        .as_bytes()
        .to_vec())
}

/// The hidden fields for a form: the sealed pending request and a CSRF
/// token bound to this browser (whose nonce cookie is set if missing).
pub async fn form_fields(
    ctx: &Ctx,
    browser: &mut Browser,
    purpose: &str,
    pending: &impl Serialize,
) -> OAuthResult<(String, String)> {
    let pending = serde_json::to_value(pending).map_err(|_| server_error())?;
    sealed_fields(ctx, browser, purpose, &pending).await
}

/// [`form_fields`] of data already JSON: one copy of this async code in the
/// wasm, not one per kind of form.
async fn sealed_fields(
    ctx: &Ctx,
    browser: &mut Browser,
    purpose: &str,
    pending: &serde_json::Value,
) -> OAuthResult<(String, String)> {
    let secret = form_secret(ctx).await?;
    if browser.nonce.is_none() {
        let nonce = random::token();
        browser
            .cookies
            .push(set_cookie(BROWSER_COOKIE, &nonce, 30 * 86_400, secure(ctx)));
        browser.nonce = Some(nonce);
    }
    let handle = seal(&secret, purpose, pending, ctx.now, FORM_TTL, &random::id());
    let csrf = csrf_token(&secret, browser.nonce.as_deref().unwrap_or_default(), &handle);
    Ok((handle, csrf))
}

/// Opens a posted form and uses it up: see [`read_form`] and [`use_form`].
/// `None` means refuse.
pub async fn open_form<T: DeserializeOwned>(
    params: &Params,
    ctx: &Ctx,
    browser: &Browser,
    purpose: &str,
) -> OAuthResult<Option<T>> {
    match read_form(params, ctx, browser, purpose).await? {
        Some(form) => use_form(ctx, form).await,
        None => Ok(None),
    }
}

/// Reads a posted form without using it: its handle must be ours, fresh
/// and for `purpose`, and its CSRF token must match this browser. `None`
/// means refuse.
pub async fn read_form<T: DeserializeOwned>(
    params: &Params,
    ctx: &Ctx,
    browser: &Browser,
    purpose: &str,
) -> OAuthResult<Option<Opened<T>>> {
    let (Some(handle), Some(csrf), Some(nonce)) = (params.get("handle"), params.get("csrf"), browser.nonce.as_deref())
    else {
        return Ok(None);
    };
    let Some(secret) = csrf_secret(ctx, nonce, handle, csrf).await? else {
        return Ok(None);
    };
    Ok(open(&secret, purpose, handle, ctx.now))
}

/// The form secret, if `csrf` is this browser's token for `handle`; not
/// generic, so this await is in the wasm once.
async fn csrf_secret(ctx: &Ctx, nonce: &str, handle: &str, csrf: &str) -> OAuthResult<Option<Vec<u8>>> {
    let secret = form_secret(ctx).await?;
    Ok(csrf_matches(&secret, nonce, handle, csrf).then_some(secret))
}

/// Uses a form up: each form is single-use, so a second post of the same
/// login or consent form is refused (one consent, one code). `None` means
/// it was used before.
pub async fn use_form<T>(ctx: &Ctx, form: Opened<T>) -> OAuthResult<Option<T>> {
    Ok(first_use(ctx, &format!("form:{}", form.id), form.expires_at)
        .await?
        .then_some(form.data))
}

/// Whether this is the first use of the thing named `name` (a form, an
/// enrollment link): its single-use record is kept until `expires_at`.
pub async fn first_use(ctx: &Ctx, name: &str, expires_at: u64) -> OAuthResult<bool> {
    let once = DurableObjects::<OnceMachine>::bind(&ctx.env, "ONCE")?;
    let reply = once.apply(name, Use { expires_at }, ctx.now).await?;
    Ok(reply == UseReply::First)
}

/// The page shown for a form that cannot be trusted or has expired.
pub fn stale_form(browser: &Browser) -> Reply {
    page_error(
        browser,
        "This form has expired, was already sent, or did not come from this browser. Go back to the application and sign in again.",
    )
}
