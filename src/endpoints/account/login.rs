//! `GET, POST /account/login`: signing in to the account page itself. The
//! same sign-in page as `/authorize`'s, for no client, and the same
//! sign-in ([`sign_in`]): throttled, each form used once, with the same
//! provider buttons. Signed in, the person goes (303) to `/account`.

use crate::endpoints::browser::{page_params, read_browser, read_form, use_form, Browser};
use crate::endpoints::federation::{self, PendingLink, Resume};
use crate::endpoints::http::{redirect, Reply};
use crate::endpoints::request::Request;
use crate::endpoints::sign_in::{self, own_page, typed_username, Again, SignIn};
use crate::endpoints::Ctx;
use crate::protocol::error::invalid_request;
use worker::Method;

/// What the form is sealed for. It carries the upstream identity to link
/// once the person has signed in, if a federated sign-in found that this
/// account has its e-mail address (forms sealed before carried `()`, which
/// reads as none).
const PURPOSE: &str = "account:login";

pub async fn handle(mut req: Request, ctx: &Ctx) -> Reply {
    let post = req.method() == Method::Post;
    let params = page_params(&mut req).await?.reject_repeated()?;
    let mut browser = read_browser(&req, ctx, post).await?;
    if browser.session.is_some() {
        return redirect(true, "/account", &browser.cookies);
    }
    if !post {
        return show(ctx, &mut browser, None, None, None).await;
    }
    let hint = typed_username(&params);
    let Some(form) = read_form::<Option<PendingLink>>(&params, ctx, &browser, PURPOSE).await? else {
        return show(ctx, &mut browser, hint, Some(stale()), None).await;
    };
    if params.get("step") == Some("federation") {
        let link = form.data.clone();
        if use_form(ctx, form).await?.is_none() {
            return show(ctx, &mut browser, hint, Some(stale()), link).await;
        }
        let idp = params.get("idp").unwrap_or_default();
        let resume = Resume::Account(link.clone());
        return match federation::start_from_form(ctx, &mut browser, idp, &resume, None).await? {
            Ok(away) => Ok(away),
            Err(alert) => show(ctx, &mut browser, hint, Some(Again::new(400, alert)), link).await,
        };
    }
    let Some(outcome) = sign_in::method(form, &params, ctx, &mut browser).await? else {
        return Err(invalid_request("This form does not say how to sign in."));
    };
    match outcome {
        SignIn::Done(link) => {
            if let (Some(link), Some(user)) = (&link, &browser.user) {
                federation::link_pending(ctx, user, link).await?;
            }
            redirect(true, "/account", &browser.cookies)
        }
        SignIn::Again(link, again) => show(ctx, &mut browser, hint, Some(again), link).await,
        SignIn::Stale => show(ctx, &mut browser, hint, Some(stale()), None).await,
    }
}

fn stale() -> Again {
    Again::new(
        400,
        "This form has expired, was already sent, or did not come from this browser. Sign in again.",
    )
}

/// The sign-in page again after a federated sign-in that did not sign in
/// (`alert`), carrying the identity to link, if any.
pub async fn again(ctx: &Ctx, browser: &mut Browser, link: Option<PendingLink>, alert: &str) -> Reply {
    show(ctx, browser, None, Some(Again::new(400, alert.to_owned())), link).await
}

/// The sign-in page with a new form; `again`: why it is shown again.
async fn show(
    ctx: &Ctx,
    browser: &mut Browser,
    hint: Option<&str>,
    again: Option<Again>,
    link: Option<PendingLink>,
) -> Reply {
    let providers = federation::buttons(ctx).await?;
    let form = ("/account/login", PURPOSE, &link);
    own_page(ctx, browser, form, "your account", hint, again, &providers).await
}
