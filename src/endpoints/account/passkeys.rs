//! The passkeys of an account: the platform stores for the ceremonies, the
//! registration page that enrollment links open, and the account page's
//! passkey forms (`POST /account/passkeys`: add, rename, remove).

use super::{done, refuse, Done};
use crate::endpoints::browser::{form_fields, Browser};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::Ctx;
use crate::grants::passkey::{register, Owner, Refused};
use crate::protocol::error::OAuthResult;
use crate::protocol::params::Params;
use crate::protocol::passkey::passkey_name;
use crate::protocol::passkey::{CreationOptions, Passkey, PasskeyMachine, PasskeyOp, PasskeyReply};
use crate::protocol::user::UserRecord;
use crate::protocol::webauthn::{challenge_for, Expected};
use crate::protocol::webauthn::{verify_registration, NewCredential};
use crate::store::durable::DurableObjects;
use crate::store::ObjectStore;
use crate::ui::{self, FormContext, PasskeyView};
use serde::Serialize;

/// The accounts' passkey objects (binding `PASSKEYS`), one per `sub`.
pub fn passkey_objects(ctx: &Ctx) -> OAuthResult<DurableObjects<PasskeyMachine>> {
    Ok(DurableObjects::bind(&ctx.env, "PASSKEYS")?)
}

/// The account's passkeys, as its object holds them now.
pub async fn stored_passkeys(ctx: &Ctx, sub: &str) -> OAuthResult<Vec<Passkey>> {
    match passkey_objects(ctx)?.apply(sub, PasskeyOp::List, ctx.now).await? {
        PasskeyReply::List { passkeys } => Ok(passkeys),
        _ => Ok(Vec::new()),
    }
}

/// The name a person sees for a user in a passkey prompt: their `name`
/// claim, else their username.
pub fn display_name(user: &UserRecord) -> &str {
    user.name().unwrap_or(&user.username)
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

/// How the page lists a passkey.
pub fn view(passkey: &Passkey) -> PasskeyView {
    PasskeyView {
        id: passkey.id.clone(),
        name: passkey.name.clone(),
        created_at: passkey.created_at,
        last_used_at: passkey.last_used_at,
        synced: passkey.backup_eligible,
    }
}

/// `POST /account/passkeys` (its form already checked and used up by the
/// page, `form_id` its id): `step=add` registers the ceremony's credential
/// (`credential`, `name`), `rename` and `remove` act on `credential_id`.
pub async fn post(params: &Params, ctx: &Ctx, browser: &mut Browser, user: &UserRecord, form_id: &str) -> Reply {
    let objects = passkey_objects(ctx)?;
    let id = params.get("credential_id").unwrap_or_default().to_owned();
    let outcome = match params.get("step") {
        Some("add") => add(ctx, params, user, form_id).await?,
        Some("rename") => match passkey_name(params.get("name").unwrap_or_default()) {
            Some(name) => changed(
                objects
                    .apply(&user.sub, PasskeyOp::Rename { id, name }, ctx.now)
                    .await?,
                Done::PasskeyRenamed,
            ),
            None => Err("A passkey's name is 1 to 64 characters, with no line breaks."),
        },
        Some("remove") => {
            let op = PasskeyOp::Remove {
                id,
                keep_one: user.password.is_none(),
            };
            changed(objects.apply(&user.sub, op, ctx.now).await?, Done::PasskeyRemoved)
        }
        _ => Err("This form does not say what to do with the passkey."),
    };
    match outcome {
        Ok(what) => done(browser, what),
        Err(alert) => refuse(ctx, browser, alert, 400).await,
    }
}

/// A rename's or removal's answer: done, or why not.
fn changed(reply: PasskeyReply, what: Done) -> Result<Done, &'static str> {
    match reply {
        PasskeyReply::Done => Ok(what),
        PasskeyReply::LastOne => Err("This is your only passkey and your account has no password: \
                                      add another passkey or set a password before removing it."),
        _ => Err("That passkey is not on your account (any more)."),
    }
}

async fn add(ctx: &Ctx, params: &Params, user: &UserRecord, form_id: &str) -> OAuthResult<Result<Done, &'static str>> {
    let (new, name) = match verified_registration(ctx, params, form_id) {
        Some(Ok(verified)) => verified,
        Some(Err(refused)) => return Ok(Err(refused.message())),
        None => return Ok(Err("Passkeys are not available here.")),
    };
    Ok(match add_passkey(ctx, user, new, name).await? {
        Ok(_) => Ok(Done::PasskeyAdded),
        Err(refused) => Err(refused.message()),
    })
}

/// The registration posted with the form `form_id` (`credential`, and the
/// `name` to give the passkey), verified against that form's challenge;
/// `None` where the issuer cannot have passkeys. Nothing is stored yet.
pub fn verified_registration(
    ctx: &Ctx,
    params: &Params,
    form_id: &str,
) -> Option<Result<(NewCredential, String), Refused>> {
    let expected = expected(ctx, form_id)?;
    let name = passkey_name(params.get("name").unwrap_or_default()).unwrap_or_else(|| "Passkey".into());
    let verified = verify_registration(&expected, params.get("credential").unwrap_or_default());
    Some(verified.map(|new| (new, name)).map_err(Refused::from))
}

/// Adds a verified registration's credential to `user`'s passkeys.
pub async fn add_passkey(
    ctx: &Ctx,
    user: &UserRecord,
    new: NewCredential,
    name: String,
) -> OAuthResult<Result<Passkey, Refused>> {
    let owner = Owner {
        sub: &user.sub,
        username: &user.username,
    };
    register(&passkey_objects(ctx)?, new, &owner, name, ctx.now).await
}
