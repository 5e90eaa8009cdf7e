//! The login step: the form, and its submission (`step=login`).

use super::{display_name, page_client, proceed, Pending};
use crate::endpoints::browser::{form_fields, read_form, secure, stale_form, use_form, Browser, SESSION_COOKIE};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::Ctx;
use crate::grants::sign_in::{admit, check, Attempt, SignInStores};
use crate::protocol::acr::password_amr;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::client::ClientRecord;
use crate::protocol::cookie::set_cookie;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::OAuthResult;
use crate::protocol::params::Params;
use crate::protocol::session::SessionRecord;
use crate::protocol::throttle::ThrottleMachine;
use crate::protocol::user::{validate_username, UserRecord};
use crate::random;
use crate::store::durable::DurableObjects;
use crate::store::webcrypto::WebCryptoHasher;
use crate::store::RecordStore;
use crate::ui::{login_page, FormContext};

/// Deliberately vague: the page must not tell which part was wrong.
const WRONG: &str = "Incorrect username or password.";

pub async fn page(
    req: AuthorizationRequest,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    error: Option<&str>,
) -> Reply {
    let status = if error.is_some() { 401 } else { 200 };
    form(req, client, ctx, browser, error, status).await
}

async fn form(
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
    let body = login_page(
        &form,
        display_name(client),
        pending.req.login_hint.as_deref(),
        error,
        pending.req.requires_passkey(),
    );
    html(status, body, &browser.cookies)
}

/// A client that requires a phishing-resistant sign-in (`acr` `phr`)
/// takes no password: refused unchecked (no throttle count, no PBKDF2,
/// the form not used up), 403, and the form again, whose page says why.
async fn passkey_only(req: AuthorizationRequest, client: &ClientRecord, ctx: &Ctx, browser: &mut Browser) -> Reply {
    form(req, client, ctx, browser, None, 403).await
}

/// RFC 6585 §4: 429 Too Many Requests, with `Retry-After` (RFC 9110
/// §10.2.3), and the form again, saying how long to wait.
async fn too_many(
    req: AuthorizationRequest,
    client: &ClientRecord,
    ctx: &Ctx,
    browser: &mut Browser,
    retry_after: u64,
) -> Reply {
    let unit = if retry_after == 1 { "second" } else { "seconds" };
    let message = format!("Too many sign-in attempts. Try again in {retry_after} {unit}.");
    let resp = form(req, client, ctx, browser, Some(&message), 429).await?;
    resp.headers().set("retry-after", &retry_after.to_string())?;
    Ok(resp)
}

/// A login form's post. The throttles are asked before the form is used
/// up: a refused attempt then costs no more than its two small counts (no
/// single-use record, no PBKDF2), and the same form works after the wait.
pub async fn submit(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let Some(form) = read_form::<Pending>(params, ctx, browser, "login").await? else {
        return stale_form(browser);
    };
    let client = match page_client(ctx, browser, &form.data.req.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return stale_form(browser),
        Err(reply) => return reply,
    };
    if form.data.req.requires_passkey() {
        return passkey_only(form.data.req.clone(), &client, ctx, browser).await;
    }
    let attempt = Attempt {
        username: params.get("username").unwrap_or_default(),
        password: params.get("password").unwrap_or_default(),
        address: &browser.address,
    };
    let throttles = DurableObjects::<ThrottleMachine>::bind(&ctx.env, "THROTTLES")?;
    let stores = SignInStores {
        throttles: &throttles,
        users: &ctx.records()?,
        hasher: &WebCryptoHasher,
    };
    // Keep what was typed as the username (if it could be one), so that
    // only the password needs typing again.
    let mut req = form.data.req.clone();
    if validate_username(attempt.username).is_ok() {
        req.login_hint = Some(attempt.username.to_owned());
    }
    if let Some(retry_after) = admit(&stores, &attempt, ctx.now).await? {
        return too_many(req, &client, ctx, browser, retry_after).await;
    }
    if use_form(ctx, form).await?.is_none() {
        return stale_form(browser);
    }
    let Some(user) = check(&stores, &attempt, ctx.now).await? else {
        return page(req, &client, ctx, browser, Some(WRONG)).await;
    };
    start_session(ctx, browser, user, password_amr()).await?;
    proceed(req, &client, ctx, browser, true, false).await
}

/// A fresh session id at every login (no session fixation); the old
/// session, if any, ends. `amr`: how the person signed in (RFC 8176).
pub(super) async fn start_session(
    ctx: &Ctx,
    browser: &mut Browser,
    user: UserRecord,
    amr: Vec<String>,
) -> OAuthResult<()> {
    let store = ctx.records()?;
    if let Some(old) = browser.session.take() {
        RecordStore::<SessionRecord>::delete(&store, &old.key).await?;
    }
    let sid = random::token();
    let ttl = ctx.config.session_ttl;
    let session = SessionRecord {
        key: secret_hash(&sid),
        username: user.username.clone(),
        sub: user.sub.clone(),
        auth_time: ctx.now,
        expires_at: ctx.now + ttl,
        epoch: user.session_epoch,
        amr,
    };
    store.put(&session).await?;
    browser.cookies.push(set_cookie(SESSION_COOKIE, &sid, ttl, secure(ctx)));
    browser.session = Some(session);
    browser.user = Some(user);
    Ok(())
}
