//! `GET, POST /account/enroll?token=…`: an account's one-time enrollment
//! link, which the admin hands to the person (`POST /admin/users` without a
//! password, or `POST /admin/users/{username}/enrollment`). It lets them
//! register a passkey without signing in, once, until it expires; the
//! registration then signs them in.
//!
//! Opening the link uses nothing up (mail scanners open links too): the
//! link is used when a passkey is registered with it, and only once.

use super::passkeys::{add_passkey, ceremony_page, stored_passkeys, verified_registration};
use crate::endpoints::browser::{
    first_use, form_secret, page_params, read_browser, read_form, stale_form, use_form, Browser,
};
use crate::endpoints::http::{html, redirect, Reply};
use crate::endpoints::request::Request;
use crate::endpoints::sign_in::start_session;
use crate::endpoints::Ctx;
use crate::protocol::error::OAuthResult;
use crate::protocol::handle::{open, seal};
use crate::protocol::params::Params;
use crate::protocol::user::UserRecord;
use crate::random;
use crate::store::RecordStore;
use crate::ui;
use serde::{Deserialize, Serialize};
use worker::Method;

/// How long an enrollment link works: long enough to reach someone by
/// mail over a weekend.
pub const ENROLLMENT_TTL: u64 = 7 * 86_400;
const LINK: &str = "enroll";
const FORM: &str = "enroll-passkey";

/// Who a link enrolls; sealed into it (readable by its holder, who may
/// see their own username).
#[derive(Serialize, Deserialize)]
struct Enrollment {
    sub: String,
    username: String,
}

/// The registration form of a link's page: the link, as opened.
#[derive(Serialize, Deserialize)]
struct EnrollForm {
    link_id: String,
    link_expires_at: u64,
    sub: String,
    username: String,
}

/// A fresh enrollment link for `user` and when it expires.
pub async fn link(ctx: &Ctx, user: &UserRecord) -> OAuthResult<(String, u64)> {
    let enrollment = Enrollment {
        sub: user.sub.clone(),
        username: user.username.clone(),
    };
    let token = seal(
        &form_secret(ctx).await?,
        LINK,
        &enrollment,
        ctx.now,
        ENROLLMENT_TTL,
        &random::id(),
    );
    let url = format!("{}/account/enroll?token={token}", ctx.issuer.trim_end_matches('/'));
    Ok((url, ctx.now + ENROLLMENT_TTL))
}

pub async fn handle(mut req: Request, ctx: &Ctx) -> Reply {
    let after_post = req.method() == Method::Post;
    let params = page_params(&mut req).await?;
    let mut browser = read_browser(&req, ctx, after_post).await?;
    if after_post {
        submit(&params, ctx, &mut browser).await
    } else {
        page(&params, ctx, &mut browser).await
    }
}

fn dead_link(browser: &Browser) -> Reply {
    html(
        400,
        ui::error_page(
            "This enrollment link cannot be used",
            "It has expired, was used already, or is not complete. Ask your administrator for a new one.",
        ),
        &browser.cookies,
    )
}

/// The account a link names, if it still exists as the same account.
async fn account(ctx: &Ctx, sub: &str, username: &str) -> OAuthResult<Option<UserRecord>> {
    let user: Option<UserRecord> = ctx.records()?.get(username).await?;
    Ok(user.filter(|u| u.sub == sub))
}

async fn page(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let secret = form_secret(ctx).await?;
    let Some(link) = params
        .get("token")
        .and_then(|t| open::<Enrollment>(&secret, LINK, t, ctx.now))
    else {
        return dead_link(browser);
    };
    let Some(user) = account(ctx, &link.data.sub, &link.data.username).await? else {
        return dead_link(browser);
    };
    let form = EnrollForm {
        link_id: link.id,
        link_expires_at: link.expires_at,
        sub: user.sub.clone(),
        username: user.username.clone(),
    };
    show(ctx, browser, &user, &form, None, 200).await
}

async fn show(
    ctx: &Ctx,
    browser: &mut Browser,
    user: &UserRecord,
    form: &EnrollForm,
    error: Option<&str>,
    status: u16,
) -> Reply {
    let existing = stored_passkeys(ctx, &user.sub).await?;
    ceremony_page(ctx, browser, FORM, form, user, &existing, error, status).await
}

/// The registration: verified before anything is used up, so a failed
/// attempt leaves the link working; then the form and the link are used,
/// in that order, each once.
async fn submit(params: &Params, ctx: &Ctx, browser: &mut Browser) -> Reply {
    let Some(opened) = read_form::<EnrollForm>(params, ctx, browser, FORM).await? else {
        return stale_form(browser);
    };
    let Some(user) = account(ctx, &opened.data.sub, &opened.data.username).await? else {
        return dead_link(browser);
    };
    let (new, name) = match verified_registration(ctx, params, &opened.id) {
        Some(Ok(verified)) => verified,
        Some(Err(refused)) => return show(ctx, browser, &user, &opened.data, Some(refused.message()), 400).await,
        None => return dead_link(browser),
    };
    let Some(form) = use_form(ctx, opened).await? else {
        return stale_form(browser);
    };
    if !first_use(ctx, &format!("{LINK}:{}", form.link_id), form.link_expires_at).await? {
        return dead_link(browser);
    }
    match add_passkey(ctx, &user, new, name).await? {
        Ok(passkey) => {
            start_session(ctx, browser, user, passkey.amr()).await?;
            redirect(true, "/account?done=passkey-added", &browser.cookies)
        }
        Err(refused) => html(
            400,
            ui::error_page("The passkey was not added", refused.message()),
            &browser.cookies,
        ),
    }
}
