//! `GET, POST /admin/login`: signing in to the console, on the same
//! sign-in page as everywhere (password or passkey, throttled, each form
//! used once), but to a session of the console's own: a person's session
//! is neither needed nor made, and no upstream provider signs anyone in
//! here. Signed in already, the same page signs in again
//! (re-authentication before a destructive action, `return_to`).
//! `POST /admin/logout` ends the console session.

use super::audit::{self, Actor};
use super::{forbidden, live_session, sessions, Admin, ConsolePage, ADMIN_COOKIE, SIGN_OUT};
use crate::endpoints::browser::{read_browser, read_form, secure, Browser};
use crate::endpoints::http::{redirect, Reply};
use crate::endpoints::request::Request;
use crate::endpoints::sign_in::{own_page, typed_username, verify, Again, Checked};
use crate::endpoints::Ctx;
use crate::protocol::admin_session::{return_path, AdminSession, AdminSessionOp};
use crate::protocol::cookie::set_strict_cookie;
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::user::UserRecord;
use crate::random;
use crate::store::ObjectStore;

/// What the sign-in form is sealed for; it carries where to go after.
const PURPOSE: &str = "admin:login";

pub async fn handle(req: &Request, ctx: &Ctx, page: &ConsolePage) -> Reply {
    let mut browser = read_browser(req, ctx, page.post).await?;
    let current = live_session(req, ctx).await?;
    let signed_in_as = current.as_ref().map(|(_, s)| s.username.clone());
    if !page.post {
        let back = page.params.get("return_to").and_then(return_path).map(str::to_owned);
        if current.is_some() && back.is_none() {
            return redirect(false, "/admin", &browser.cookies);
        }
        let again = signed_in_as
            .is_some()
            .then(|| Again::new(200, "Sign in again to confirm it is you."));
        return show(ctx, &mut browser, signed_in_as.as_deref(), back, again).await;
    }
    let hint = typed_username(&page.params).map(str::to_owned).or(signed_in_as);
    let Some(form) = read_form::<Option<String>>(&page.params, ctx, &browser, PURPOSE).await? else {
        return show(ctx, &mut browser, hint.as_deref(), None, Some(stale())).await;
    };
    let Some(checked) = verify(form, &page.params, ctx, &browser).await? else {
        return Err(invalid_request("This form does not say how to sign in."));
    };
    let (back, user) = match checked {
        Checked::Verified(back, user, _) => (back, user),
        Checked::Again(back, again) => return show(ctx, &mut browser, hint.as_deref(), back, Some(again)).await,
        Checked::Stale => return show(ctx, &mut browser, hint.as_deref(), None, Some(stale())).await,
    };
    let actor = Actor {
        name: user.username.clone(),
        address: browser.address.clone(),
    };
    if !user.admin {
        audit::record(ctx, &actor, "admin.sign_in", "", Some("refused: not an administrator")).await;
        return forbidden(&browser, &user.username);
    }
    let detail = begin(ctx, &mut browser, current, &user).await?;
    audit::record(ctx, &actor, "admin.sign_in", "", Some(detail)).await;
    let to = back.as_deref().and_then(return_path).unwrap_or("/admin");
    redirect(true, to, &browser.cookies)
}

/// After a sign-in as `user`: the console session renewed, when this
/// browser's is theirs; otherwise a new one, with a new cookie (the old
/// one, someone else's, ends). Says which, for the audit log.
async fn begin(
    ctx: &Ctx,
    browser: &mut Browser,
    current: Option<(String, AdminSession)>,
    user: &UserRecord,
) -> OAuthResult<&'static str> {
    let sessions = sessions(ctx)?;
    match current {
        Some((name, s)) if s.sub == user.sub && s.session_epoch == user.session_epoch => {
            let reauth = AdminSessionOp::Reauth { sub: user.sub.clone() };
            if sessions.apply(&name, reauth, ctx.now).await?.is_some() {
                return Ok("signed in again");
            }
        }
        Some((name, _)) => {
            sessions.apply(&name, AdminSessionOp::End, ctx.now).await?;
        }
        None => {}
    }
    let secret = random::token();
    let idle = ctx.config.admin_session_idle_ttl;
    let session = AdminSession::new(&user.username, &user.sub, user.session_epoch, idle, ctx.now);
    let max_age = session.expires_at - ctx.now;
    let begun = sessions
        .apply(&secret_hash(&secret), AdminSessionOp::Begin(session), ctx.now)
        .await?;
    if begun.is_none() {
        return Err(crate::protocol::error::server_error());
    }
    browser
        .cookies
        .push(set_strict_cookie(ADMIN_COOKIE, &secret, "/admin", max_age, secure(ctx)));
    Ok("signed in")
}

/// The cookie that forgets the console session.
pub fn clear_cookie(ctx: &Ctx) -> String {
    set_strict_cookie(ADMIN_COOKIE, "", "/admin", 0, secure(ctx))
}

fn stale() -> Again {
    Again::new(
        400,
        "This form has expired, was already sent, or did not come from this browser. Sign in again.",
    )
}

/// The sign-in page with a new form (coming back to `back` after), and
/// `again`: why it is shown (again).
async fn show(
    ctx: &Ctx,
    browser: &mut Browser,
    hint: Option<&str>,
    back: Option<String>,
    again: Option<Again>,
) -> Reply {
    let form = ("/admin/login", PURPOSE, &back);
    own_page(ctx, browser, form, "the admin console", hint, again, &[]).await
}

/// `POST /admin/logout`, from the navigation's form: the session ends
/// everywhere at once (its object), and its cookie is cleared.
pub async fn sign_out(ctx: &Ctx, mut admin: Admin, page: &ConsolePage) -> Reply {
    if admin.accept(ctx, &page.params, SIGN_OUT).await?.is_none() {
        return Err(invalid_request(
            "This form has expired, was already sent, or did not come from this browser. You are still signed in.",
        ));
    }
    sessions(ctx)?
        .apply(&admin.session_name, AdminSessionOp::End, ctx.now)
        .await?;
    audit::record(ctx, &admin.actor(), "admin.sign_out", "", None).await;
    admin.browser.cookies.push(clear_cookie(ctx));
    redirect(true, "/admin/login", &admin.browser.cookies)
}
