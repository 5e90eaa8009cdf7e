//! The login step: the form, and its submission (`step=login`).

use super::{display_name, proceed, Pending};
use crate::endpoints::browser::{form_fields, open_form, secure, stale_form, Browser, SESSION_COOKIE};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::Ctx;
use crate::grants::password::verify_password;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::client::ClientRecord;
use crate::protocol::cookie::set_cookie;
use crate::protocol::encoding::secret_hash;
use crate::protocol::params::Params;
use crate::protocol::session::SessionRecord;
use crate::protocol::user::{validate_username, PasswordHash, UserRecord, PASSWORD_HASH_ALG, PBKDF2_ITERATIONS};
use crate::random;
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
    let body = login_page(&form, display_name(client), pending.req.login_hint.as_deref(), error);
    html(if error.is_some() { 401 } else { 200 }, body, &browser.cookies)
}

/// Checks the password; an unknown username costs the same PBKDF2 work as
/// a known one, so timing does not reveal which usernames exist.
async fn authenticate(
    ctx: &Ctx,
    username: &str,
    password: &str,
) -> crate::protocol::error::OAuthResult<Option<UserRecord>> {
    let user: Option<UserRecord> = ctx.records()?.get(username).await?;
    let dummy = PasswordHash {
        alg: PASSWORD_HASH_ALG.into(),
        iterations: PBKDF2_ITERATIONS,
        salt: "c2FsdHNhbHRzYWx0c2FsdA".into(),
        hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    };
    let stored = user.as_ref().map_or(&dummy, |u| &u.password);
    let ok = verify_password(&WebCryptoHasher, password, stored).await?;
    Ok(user.filter(|_| ok))
}

pub async fn submit(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let Some(pending) = open_form::<Pending>(params, ctx, browser, "login").await? else {
        return stale_form(browser);
    };
    let Some(client) = ctx.client(&pending.req.client_id).await? else {
        return stale_form(browser);
    };
    let (username, password) = (
        params.get("username").unwrap_or_default(),
        params.get("password").unwrap_or_default(),
    );
    let Some(user) = authenticate(ctx, username, password).await? else {
        // Keep what was typed as the username (if it could be one), so that
        // only the password needs typing again.
        let mut req = pending.req;
        if validate_username(username).is_ok() {
            req.login_hint = Some(username.to_owned());
        }
        return page(req, &client, ctx, browser, Some(WRONG)).await;
    };
    // A fresh session id at every login (no session fixation); the old
    // session, if any, ends.
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
    };
    store.put(&session).await?;
    browser.cookies.push(set_cookie(SESSION_COOKIE, &sid, ttl, secure(ctx)));
    browser.session = Some(session);
    proceed(pending.req, &client, ctx, browser, true, false).await
}
