//! The passkeys of an account: the platform stores for the ceremonies, the
//! registration page that enrollment links open, and `POST
//! /account/passkeys`, the account page's passkey forms (`step=add`,
//! `rename` or `remove`, with `credential_id`; `add` with the registration
//! in `credential` and a `name`).

use super::{done as done_page, refuse, use_once, Done};
use crate::endpoints::browser::{form_fields, Browser};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::Ctx;
use crate::grants::passkey::{register, Owner, PasskeyStores, Refused};
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::handle::Opened;
use crate::protocol::params::Params;
use crate::protocol::passkey::{passkey_name, CreationOptions, Passkey, PasskeyMachine, PasskeyOp, PasskeyReply};
use crate::protocol::user::UserRecord;
use crate::protocol::webauthn::{challenge_for, verify_registration, Expected};
use crate::store::durable::DurableObjects;
use crate::store::webcrypto::WebCryptoVerifier;
use crate::store::ObjectStore;
use crate::ui::{self, FormContext};
use serde::Serialize;

pub fn passkey_stores(ctx: &Ctx) -> OAuthResult<(DurableObjects<PasskeyMachine>, WebCryptoVerifier)> {
    Ok((DurableObjects::bind(&ctx.env, "PASSKEYS")?, WebCryptoVerifier))
}

/// The account's passkeys, as its object holds them now.
pub async fn stored_passkeys(ctx: &Ctx, sub: &str) -> OAuthResult<Vec<Passkey>> {
    let objects = DurableObjects::<PasskeyMachine>::bind(&ctx.env, "PASSKEYS")?;
    match objects.apply(sub, PasskeyOp::List, ctx.now).await? {
        PasskeyReply::List { passkeys } => Ok(passkeys),
        _ => Ok(Vec::new()),
    }
}

/// The name a person sees for a user in a passkey prompt: their `name`
/// claim, else their username.
pub fn display_name(user: &UserRecord) -> &str {
    user.claims
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(&user.username)
}

/// The creation options of a registration bound to the form `handle`
/// (its challenge comes from the form's id).
pub fn creation_options(ctx: &Ctx, handle: &str, user: &UserRecord, existing: &[Passkey]) -> Option<CreationOptions> {
    let expect = expected(ctx, crate::protocol::handle::sealed_id(handle)?)?;
    let rp_name = expect.rp_id.clone();
    Some(CreationOptions::new(
        &expect,
        &rp_name,
        &user.sub,
        &user.username,
        display_name(user),
        existing,
    ))
}

/// What a ceremony run from the form `form_id` must show (`None` when the
/// issuer's host is an IP address, which cannot have passkeys).
pub fn expected(ctx: &Ctx, form_id: &str) -> Option<Expected> {
    Expected::for_issuer(&ctx.issuer, challenge_for(form_id))
}

/// The enrollment page for `user`: a registration form (`purpose`,
/// carrying `data`) whose challenge is bound to that form.
#[allow(clippy::too_many_arguments)]
pub async fn ceremony_page(
    ctx: &Ctx,
    browser: &mut Browser,
    purpose: &str,
    data: &impl Serialize,
    user: &UserRecord,
    existing: &[Passkey],
    error: Option<&str>,
    status: u16,
) -> Reply {
    let (handle, csrf) = form_fields(ctx, browser, purpose, data).await?;
    let Some(options) = creation_options(ctx, &handle, user, existing) else {
        return html(400, no_passkeys_here(), &browser.cookies);
    };
    let form = FormContext {
        action: "/account/enroll",
        handle: &handle,
        csrf: &csrf,
    };
    html(status, ui::enroll_page(&form, &options, error), &browser.cookies)
}

/// Browsers refuse an IP address as a WebAuthn RP ID.
pub fn no_passkeys_here() -> ui::Page {
    ui::error_page(
        "Passkeys are not available here",
        "This server is reached by an IP address; passkeys need a domain name (locally, use localhost).",
    )
}

/// A post of the account page's passkey forms (the form checked by
/// `account::act`: this person's, this browser's, not used yet).
pub async fn post(form: Opened<String>, params: &Params, ctx: &Ctx, browser: &mut Browser, user: &UserRecord) -> Reply {
    let step = params.get("step");
    if step == Some("add") {
        return add(form, params, ctx, browser, user).await;
    }
    if let Err(refused) = use_once(ctx, browser, form).await {
        return refused;
    }
    let objects = DurableObjects::<PasskeyMachine>::bind(&ctx.env, "PASSKEYS")?;
    let id = params.get("credential_id").unwrap_or_default().to_owned();
    let (op, done) = match step {
        Some("rename") => match passkey_name(params.get("name").unwrap_or_default()) {
            Some(name) => (PasskeyOp::Rename { id, name }, Done::PasskeyRenamed),
            None => return refuse(ctx, browser, NAME_RULES, 400).await,
        },
        Some("remove") => {
            // An account without a password keeps its last passkey: it
            // would have no way to sign in otherwise.
            let keep_one = user.password.is_none();
            (PasskeyOp::Remove { id, keep_one }, Done::PasskeyRemoved)
        }
        _ => return Err(invalid_request("This form does not say what to do with the passkey.")),
    };
    match objects.apply(&user.sub, op, ctx.now).await? {
        PasskeyReply::Done => done_page(browser, done),
        PasskeyReply::LastOne => {
            let last = "This passkey is your only way to sign in: set a password or add another passkey first.";
            refuse(ctx, browser, last, 400).await
        }
        _ => refuse(ctx, browser, "That passkey is not on your account (any more).", 400).await,
    }
}

const NAME_RULES: &str = "A passkey's name is 1 to 64 characters, without control characters.";

/// Adds a passkey: the registration is verified against the challenge of
/// the form it came with before the form is used up, so a cancelled or
/// failed ceremony leaves the page's form working.
async fn add(form: Opened<String>, params: &Params, ctx: &Ctx, browser: &mut Browser, user: &UserRecord) -> Reply {
    let Some(expect) = expected(ctx, &form.id) else {
        return html(400, no_passkeys_here(), &browser.cookies);
    };
    // As at enrollment: the ceremony has run by now, so a name that is not
    // one (the page keeps it within 64 characters) does not refuse it.
    let name = passkey_name(params.get("name").unwrap_or_default()).unwrap_or_else(|| "Passkey".into());
    let new = match verify_registration(&expect, params.get("credential").unwrap_or_default()) {
        Ok(new) => new,
        Err(e) => return refuse(ctx, browser, Refused::from(e).message(), 400).await,
    };
    if let Err(refused) = use_once(ctx, browser, form).await {
        return refused;
    }
    let (objects, verifier) = passkey_stores(ctx)?;
    let stores = PasskeyStores {
        passkeys: &objects,
        verifier: &verifier,
    };
    let owner = Owner {
        sub: &user.sub,
        username: &user.username,
    };
    match register(&stores, new, &owner, name, ctx.now).await? {
        Ok(_) => done_page(browser, Done::PasskeyAdded),
        Err(refused) => refuse(ctx, browser, refused.message(), 400).await,
    }
}
