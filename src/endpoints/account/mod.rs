//! `/account`: the signed-in person's own page. `GET /account` shows it;
//! each of its forms posts to a path of its own (one file each here), with
//! a handle sealed for that form's purpose and the `sub` it was shown to,
//! a CSRF token tied to this browser, and single use. `/account/login`
//! signs in to it; `/account/enroll` opens an enrollment link.
//!
//! Rules for every path here: without a live session, the person is sent
//! (303) to `/account/login`; a post's form must have been shown to the
//! person signed in now; and every error a person meets is a page, never
//! JSON.

pub mod consents;
pub mod enroll;
mod links;
mod login;
pub mod passkeys;
mod password;
mod sessions;

use super::browser::{form_fields, page_params, read_browser, read_form, use_form, Browser};
use super::http::{error_as_page, html, redirect, Reply};
use super::Ctx;
use crate::endpoints::request::Request;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::user::UserRecord;
use crate::ui::{
    account_page, AccountPage, AddPasskey, ConsentRow, FormContext, LinkRow, Notice, PasskeyRow, PasskeyView,
};
use worker::Method;

/// The posts of the account page, each to its own path.
#[derive(Clone, Copy)]
enum Action {
    Passkeys,
    Password,
    Consents,
    Sessions,
    Links,
}

impl Action {
    fn from_path(path: &str) -> Option<Self> {
        Some(match path {
            "/account/passkeys" => Action::Passkeys,
            "/account/password" => Action::Password,
            "/account/consents" => Action::Consents,
            "/account/sessions" => Action::Sessions,
            "/account/links" => Action::Links,
            _ => return None,
        })
    }

    fn path(self) -> &'static str {
        match self {
            Action::Passkeys => "/account/passkeys",
            Action::Password => "/account/password",
            Action::Consents => "/account/consents",
            Action::Sessions => "/account/sessions",
            Action::Links => "/account/links",
        }
    }

    /// What its forms are sealed for: a form for one action cannot be
    /// posted to another.
    fn purpose(self) -> &'static str {
        match self {
            Action::Passkeys => "account:passkeys",
            Action::Password => "account:password",
            Action::Consents => "account:consents",
            Action::Sessions => "account:sessions",
            Action::Links => "account:links",
        }
    }
}

/// What was done, said at the top of the page it leads back to
/// (`/account?done=…`): fixed words, so the query cannot put any on it.
#[derive(Clone, Copy)]
enum Done {
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
    Password,
    Withdrawn,
    Linked,
    Unlinked,
}

impl Done {
    const ALL: [Done; 7] = [
        Done::PasskeyAdded,
        Done::PasskeyRenamed,
        Done::PasskeyRemoved,
        Done::Password,
        Done::Withdrawn,
        Done::Linked,
        Done::Unlinked,
    ];

    fn name(self) -> &'static str {
        match self {
            Done::PasskeyAdded => "passkey-added",
            Done::PasskeyRenamed => "passkey-renamed",
            Done::PasskeyRemoved => "passkey-removed",
            Done::Password => "password",
            Done::Withdrawn => "withdrawn",
            Done::Linked => "linked",
            Done::Unlinked => "unlinked",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Done::PasskeyAdded => "Your passkey has been added. You can sign in with it from now on.",
            Done::PasskeyRenamed => "Your passkey has been renamed.",
            Done::PasskeyRemoved => "The passkey has been removed: it no longer signs you in.",
            Done::Password => "Your password has been changed. You have been signed out in every other browser.",
            Done::Withdrawn => "The app's access has been withdrawn.",
            Done::Linked => "The account has been linked: it signs you in here from now on.",
            Done::Unlinked => "The account has been unlinked: it no longer signs you in here.",
        }
    }
}

pub use login::again as login_again;

/// Every path under `/account`, its errors as pages.
pub async fn handle(req: Request, ctx: &Ctx, path: &str) -> Reply {
    answer(req, ctx, path).await.or_else(|e| failed(&e))
}

async fn answer(req: Request, ctx: &Ctx, path: &str) -> Reply {
    let method = req.method();
    let get = matches!(method, Method::Get | Method::Head);
    let post = method == Method::Post;
    match (path, Action::from_path(path)) {
        ("/account", _) if get => view(req, ctx).await,
        ("/account", _) => Err(not_allowed("GET")),
        ("/account/login", _) if get || post => login::handle(req, ctx).await,
        ("/account/login", _) => Err(not_allowed("GET, POST")),
        ("/account/enroll", _) if get || post => enroll::handle(req, ctx).await,
        ("/account/enroll", _) => Err(not_allowed("GET, POST")),
        (_, Some(action)) if post => act(req, ctx, action).await,
        (_, Some(_)) => Err(not_allowed("POST")),
        _ => Err(OAuthError::new(ErrorCode::NotFound, "There is no such page.")),
    }
}

fn not_allowed(methods: &'static str) -> OAuthError {
    let description = match methods {
        "GET" => "This page can only be opened, not posted to.",
        "POST" => "This address only takes the account page's forms.",
        _ => "This page only takes GET and POST.",
    };
    OAuthError::new(ErrorCode::MethodNotAllowed, description)
}

/// An error as a page, with the status it carries.
fn failed(e: &OAuthError) -> Reply {
    error_as_page("Your account", e, &[])
}

/// The person signed in on this browser, or the way to sign in (303 after
/// a GET too: go there, with GET).
fn signed_in(browser: &Browser) -> Result<UserRecord, Reply> {
    browser
        .user
        .clone()
        .ok_or_else(|| redirect(true, "/account/login", &browser.cookies))
}

/// Back to the page after something was done (post, redirect, get), so
/// that reloading it posts nothing again.
fn done(browser: &Browser, what: Done) -> Reply {
    redirect(true, &format!("/account?done={}", what.name()), &browser.cookies)
}

async fn view(mut req: Request, ctx: &Ctx) -> Reply {
    let params = page_params(&mut req).await?;
    let mut browser = read_browser(&req, ctx, false).await?;
    if let Err(to_login) = signed_in(&browser) {
        return to_login;
    }
    let notice = params
        .get("done")
        .and_then(|name| Done::ALL.into_iter().find(|d| d.name() == name))
        .map(|d| Notice::Done(d.words()));
    show(ctx, &mut browser, notice, 200).await
}

/// A post of one of the page's forms: it must carry a form of this
/// action, shown to the person signed in now, in this browser, not sent
/// before. A form that is not is refused, and the page shown again.
async fn act(mut req: Request, ctx: &Ctx, action: Action) -> Reply {
    let params: Params = page_params(&mut req).await?.reject_repeated()?;
    let mut browser = read_browser(&req, ctx, true).await?;
    let user = match signed_in(&browser) {
        Ok(user) => user,
        Err(to_login) => return to_login,
    };
    let refused = "This form has expired, was already sent, or did not come from this page. \
                   Nothing was changed; try again below.";
    let opened = read_form::<String>(&params, ctx, &browser, action.purpose()).await?;
    let Some(opened) = opened.filter(|f| f.data == user.sub) else {
        return refuse(ctx, &mut browser, refused, 400).await;
    };
    // A passkey added with this form answers the challenge of its id.
    let form_id = opened.id.clone();
    if use_form(ctx, opened).await?.is_none() {
        return refuse(ctx, &mut browser, refused, 400).await;
    }
    match action {
        Action::Passkeys => passkeys::post(&params, ctx, &mut browser, &user, &form_id).await,
        Action::Password => password::post(&params, ctx, &mut browser, user).await,
        Action::Consents => consents::withdraw(&params, ctx, &mut browser, &user).await,
        Action::Sessions => sessions::end_all(ctx, &mut browser, user).await,
        Action::Links => links::post(&params, ctx, &mut browser, user).await,
    }
}

/// The hidden fields of a form for `action`, sealed with the `sub` of the
/// person signed in.
async fn fields(ctx: &Ctx, browser: &mut Browser, action: Action, sub: &str) -> Result<(String, String), OAuthError> {
    form_fields(ctx, browser, action.purpose(), &sub).await
}

/// `n` forms' hidden fields for `action`, each its own single-use handle.
async fn fields_each(
    ctx: &Ctx,
    browser: &mut Browser,
    action: Action,
    sub: &str,
    n: usize,
) -> Result<Vec<(String, String)>, OAuthError> {
    let mut each = Vec::with_capacity(n);
    for _ in 0..n {
        each.push(fields(ctx, browser, action, sub).await?);
    }
    Ok(each)
}

fn form(action: Action, fields: &(String, String)) -> FormContext<'_> {
    FormContext {
        action: action.path(),
        handle: &fields.0,
        csrf: &fields.1,
    }
}

/// The account page of the person signed in on `browser`, with `notice`
/// at the top.
async fn show(ctx: &Ctx, browser: &mut Browser, notice: Option<Notice<'_>>, status: u16) -> Reply {
    let user = match signed_in(browser) {
        Ok(user) => user,
        Err(to_login) => return to_login,
    };
    let (apps, more_consents) = consents::list(ctx, &user.sub).await?;
    let withdraw = fields_each(ctx, browser, Action::Consents, &user.sub, apps.len()).await?;
    let stored = passkeys::stored_passkeys(ctx, &user.sub).await?;
    let views: Vec<PasskeyView> = stored.iter().map(passkeys::view).collect();
    let add_fields = fields(ctx, browser, Action::Passkeys, &user.sub).await?;
    // A rename and a remove form for each passkey.
    let row_fields = fields_each(ctx, browser, Action::Passkeys, &user.sub, 2 * views.len()).await?;
    let rows: Vec<PasskeyRow> = views
        .iter()
        .zip(row_fields.chunks(2))
        .map(|(passkey, f)| PasskeyRow {
            passkey,
            rename: form(Action::Passkeys, &f[0]),
            remove: form(Action::Passkeys, &f[1]),
        })
        .collect();
    let options = passkeys::creation_options(ctx, &add_fields.0, &user, &stored);
    let add_passkey = options.as_ref().map(|options| AddPasskey {
        options,
        form: form(Action::Passkeys, &add_fields),
    });
    let password = fields(ctx, browser, Action::Password, &user.sub).await?;
    let sign_out = fields(ctx, browser, Action::Sessions, &user.sub).await?;
    let providers = links::rows(ctx, &user).await?;
    let link_fields = fields_each(ctx, browser, Action::Links, &user.sub, providers.len()).await?;
    let links: Vec<LinkRow> = providers
        .iter()
        .zip(&link_fields)
        .map(|(p, f)| LinkRow {
            idp: &p.0,
            name: &p.1,
            linked_at: p.2,
            form: form(Action::Links, f),
        })
        .collect();
    let consents: Vec<ConsentRow> = apps
        .iter()
        .zip(&withdraw)
        .map(|(consent, f)| ConsentRow {
            consent,
            withdraw: form(Action::Consents, f),
        })
        .collect();
    let page = AccountPage {
        username: &user.username,
        name: user.name(),
        notice,
        has_password: user.password.is_some(),
        passkeys: &rows,
        add_passkey,
        password: form(Action::Password, &password),
        links: &links,
        consents: &consents,
        more_consents,
        sign_out: form(Action::Sessions, &sign_out),
    };
    html(status, account_page(&page), &browser.cookies)
}

/// The page again with `alert`: what was asked could not be done.
async fn refuse(ctx: &Ctx, browser: &mut Browser, alert: &str, status: u16) -> Reply {
    show(ctx, browser, Some(Notice::Failed(alert)), status).await
}
