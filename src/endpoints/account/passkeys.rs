//! The passkeys of an account: the platform stores for the ceremonies and
//! the registration page that enrollment links open.

use crate::endpoints::browser::{form_fields, Browser};
use crate::endpoints::http::{html, Reply};
use crate::endpoints::Ctx;
use crate::protocol::error::OAuthResult;
use crate::protocol::passkey::{CreationOptions, Passkey, PasskeyMachine, PasskeyOp, PasskeyReply};
use crate::protocol::user::UserRecord;
use crate::protocol::webauthn::{challenge_for, Expected};
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
