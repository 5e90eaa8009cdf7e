//! `/admin`: the admin console, HTML pages for administrators (users with
//! the `admin` role) on the same worker as everything else. The JSON admin
//! APIs (`/admin/users`, `/admin/keys/rotate`, ...) stay as they are; the
//! console's paths never collide with them.
//!
//! Rules for every console path: without a live console session the
//! person is sent (303) to `/admin/login`; a person signed in here who is
//! not an administrator gets 403 and nothing listed; every post carries a
//! form sealed for its purpose and the administrator it was shown to,
//! CSRF-bound and single-use ([`Admin::accept`]); destructive actions need
//! a sign-in of the last five minutes ([`Admin::recent`]); every error is a
//! page; every action goes to the audit log.

mod accounts;
pub mod audit;
mod clients;
mod keys;
mod login;

use super::browser::{form_fields, page_params, read_browser, read_form, use_form, Browser};
use super::http::{cookie, error_as_page, html, redirect, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::admin_session::{AdminSession, AdminSessionMachine, AdminSessionOp};
use crate::protocol::encoding::secret_hash;
use crate::protocol::error::{ErrorCode, OAuthError, OAuthResult};
use crate::protocol::params::Params;
use crate::protocol::user::UserRecord;
use crate::store::durable::DurableObjects;
use crate::store::{ObjectStore, RecordStore};
use crate::ui::admin::{home_page, Notice, Shell};
use crate::ui::{error_page, FormContext};
use audit::Actor;
use worker::Method;

/// The console session's cookie: only ever sent to `/admin` paths, never
/// on a request from another site (`SameSite=Strict`).
pub const ADMIN_COOKIE: &str = "oidc_admin";

/// What the navigation's sign-out form is sealed for.
const SIGN_OUT: &str = "admin:sign-out";

/// The console's paths besides `/admin` itself, each with the paths
/// beneath it; none is a JSON API's.
const PREFIXES: [&str; 6] = [
    "/admin/login",
    "/admin/logout",
    "/admin/clients",
    "/admin/accounts",
    "/admin/signing-keys",
    "/admin/audit",
];

/// Whether `path` is one of the console's (the router sends them here).
pub fn is_console(path: &str) -> bool {
    path == "/admin" || PREFIXES.iter().any(|p| under(path, p).is_some())
}

/// The rest of `path` after `prefix` ("" or "/…"), if it is beneath it.
fn under<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix).filter(|r| r.is_empty() || r.starts_with('/'))
}

/// A console request's parameters: the query of a GET, or the form of a
/// POST. Repeated names are kept (a form's checkboxes repeat them).
pub struct ConsolePage {
    pub params: Params,
    pub post: bool,
}

/// The administrator signed in to the console on this request.
pub struct Admin {
    pub user: UserRecord,
    pub browser: Browser,
    session: AdminSession,
    /// The session object's name (the SHA-256 of the cookie's secret).
    session_name: String,
}

/// A form's hidden fields (see [`Admin::form`]).
pub struct Fields {
    pub handle: String,
    pub csrf: String,
}

impl Fields {
    pub fn context<'a>(&'a self, action: &'a str) -> FormContext<'a> {
        FormContext {
            action,
            handle: &self.handle,
            csrf: &self.csrf,
        }
    }
}

impl Admin {
    /// The hidden fields of a single-use form sealed for `purpose`, this
    /// administrator and `target` (what it acts on: a client id, a
    /// username; empty for none).
    pub async fn form(&mut self, ctx: &Ctx, purpose: &'static str, target: &str) -> OAuthResult<Fields> {
        let (handle, csrf) = form_fields(ctx, &mut self.browser, purpose, &(&self.user.sub, target)).await?;
        Ok(Fields { handle, csrf })
    }

    /// The posted form's target, when the form is one of ours for
    /// `purpose`, shown to this administrator in this browser, fresh and
    /// not sent before (it is used up now). `None`: refuse it.
    pub async fn accept(&self, ctx: &Ctx, params: &Params, purpose: &'static str) -> OAuthResult<Option<String>> {
        let opened = read_form::<(String, String)>(params, ctx, &self.browser, purpose).await?;
        let Some(opened) = opened.filter(|f| f.data.0 == self.user.sub) else {
            return Ok(None);
        };
        Ok(use_form(ctx, opened).await?.map(|(_, target)| target))
    }

    /// `Ok` when the administrator signed in within `ADMIN_REAUTH_TTL`;
    /// else the way to sign in again, coming back to `back` (a console
    /// page: the one that asks to confirm the action).
    pub fn recent(&self, ctx: &Ctx, back: &str) -> Result<(), Reply> {
        if self.session.recent(ctx.now, ctx.config.admin_reauth_ttl) {
            return Ok(());
        }
        let to = format!("/admin/login?return_to={}", encode(back));
        Err(redirect(self.browser.after_post, &to, &self.browser.cookies))
    }

    pub fn actor(&self) -> Actor {
        Actor {
            name: self.user.username.clone(),
            address: self.browser.address.clone(),
        }
    }

    /// The layout's parts for a page of `section`: the sign-out form's
    /// fields (keep them alive while the [`Shell`] is) and the username.
    pub async fn sign_out_form(&mut self, ctx: &Ctx) -> OAuthResult<Fields> {
        self.form(ctx, SIGN_OUT, "").await
    }

    pub fn shell<'a>(&'a self, section: &'static str, sign_out: &'a Fields, notice: Option<Notice<'a>>) -> Shell<'a> {
        Shell {
            username: &self.user.username,
            section,
            sign_out: sign_out.context("/admin/logout"),
            notice,
        }
    }
}

/// `value` percent-encoded for a query string.
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Every console path, its errors as pages.
pub async fn handle(req: Request, ctx: &Ctx, path: &str) -> Reply {
    answer(req, ctx, path).await.or_else(|e| failed(&e))
}

async fn answer(mut req: Request, ctx: &Ctx, path: &str) -> Reply {
    let method = req.method();
    let post = method == Method::Post;
    if !post && !matches!(method, Method::Get | Method::Head) {
        return Err(OAuthError::new(
            ErrorCode::MethodNotAllowed,
            "This page only takes GET and POST.",
        ));
    }
    let page = ConsolePage {
        params: page_params(&mut req).await?,
        post,
    };
    if path == "/admin/login" {
        return login::handle(&req, ctx, &page).await;
    }
    let mut admin = match guard(&req, ctx, post).await? {
        Ok(admin) => admin,
        Err(refused) => return refused,
    };
    match path {
        "/admin" if !post => return home(ctx, &mut admin).await,
        "/admin/logout" if post => return login::sign_out(ctx, admin, &page).await,
        "/admin" | "/admin/logout" => return Err(not_allowed()),
        _ => {}
    }
    if let Some(rest) = under(path, "/admin/clients") {
        return clients::handle(ctx, &mut admin, &page, rest).await;
    }
    if let Some(rest) = under(path, "/admin/accounts") {
        return accounts::handle(ctx, &mut admin, &page, rest).await;
    }
    if let Some(rest) = under(path, "/admin/signing-keys") {
        return keys::handle(ctx, &mut admin, &page, rest).await;
    }
    if let Some(rest) = under(path, "/admin/audit") {
        return audit::handle(ctx, &mut admin, &page, rest).await;
    }
    Err(not_found())
}

/// A GET of a path that only takes a form, or a POST to a page.
pub fn not_allowed() -> OAuthError {
    OAuthError::new(
        ErrorCode::MethodNotAllowed,
        "This address does not take that: open the console's pages, and send its forms.",
    )
}

pub fn not_found() -> OAuthError {
    OAuthError::new(ErrorCode::NotFound, "There is no such page.")
}

/// An error as a page, with the status it carries.
fn failed(e: &OAuthError) -> Reply {
    error_as_page("Admin console", e, &[])
}

/// The administrator of this request: a live console session (which this
/// request counts as a use of), of a user who still exists, still has the
/// role, and has not changed password since. Otherwise the sign-in page
/// (303), or 403 for a person signed in who is no administrator.
async fn guard(req: &Request, ctx: &Ctx, post: bool) -> OAuthResult<Result<Admin, Reply>> {
    let mut browser = read_browser(req, ctx, post).await?;
    let Some((session_name, session)) = live_session(req, ctx).await? else {
        if cookie(req, ADMIN_COOKIE).is_some() {
            browser.cookies.push(login::clear_cookie(ctx));
        }
        return Ok(Err(not_signed_in(&browser)));
    };
    let user: Option<UserRecord> = ctx.records()?.get(&session.username).await?;
    let Some(user) = user.filter(|u| u.sub == session.sub && u.session_epoch == session.session_epoch) else {
        // Deleted, or its password changed: this session is over.
        sessions(ctx)?
            .apply(&session_name, AdminSessionOp::End, ctx.now)
            .await?;
        browser.cookies.push(login::clear_cookie(ctx));
        return Ok(Err(not_signed_in(&browser)));
    };
    if !user.admin {
        return Ok(Err(forbidden(&browser, &user.username)));
    }
    Ok(Ok(Admin {
        user,
        browser,
        session,
        session_name,
    }))
}

/// The console session this browser's cookie names, if it is live (this
/// request counting as a use of it), and its object's name.
async fn live_session(req: &Request, ctx: &Ctx) -> OAuthResult<Option<(String, AdminSession)>> {
    let Some(secret) = cookie(req, ADMIN_COOKIE) else {
        return Ok(None);
    };
    let name = secret_hash(&secret);
    let session = sessions(ctx)?.apply(&name, AdminSessionOp::Touch, ctx.now).await?;
    Ok(session.map(|s| (name, s)))
}

fn sessions(ctx: &Ctx) -> OAuthResult<DurableObjects<AdminSessionMachine>> {
    Ok(DurableObjects::bind(&ctx.env, "ADMIN_SESSIONS")?)
}

/// No console session: a person signed in (to their account, or to sign in
/// to apps) who is no administrator is refused outright; anyone else goes
/// to the console's sign-in.
fn not_signed_in(browser: &Browser) -> Reply {
    match &browser.user {
        Some(user) if !user.admin => forbidden(browser, &user.username),
        _ => redirect(browser.after_post, "/admin/login", &browser.cookies),
    }
}

fn forbidden(browser: &Browser, username: &str) -> Reply {
    let message = format!(
        "You are signed in as {username}, which is not an administrator. Nothing here is open to this account."
    );
    html(403, error_page("Admin console", &message), &browser.cookies)
}

async fn home(ctx: &Ctx, admin: &mut Admin) -> Reply {
    let sign_out = admin.sign_out_form(ctx).await?;
    let (idle, reauth) = (ctx.config.admin_session_idle_ttl, ctx.config.admin_reauth_ttl);
    let page = home_page(admin.shell("home", &sign_out, None), idle, reauth);
    html(200, page, &admin.browser.cookies)
}
