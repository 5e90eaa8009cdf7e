//! The passkeys of an account: the platform stores for the ceremonies and
//! the registration page that enrollment links open.

use crate::endpoints::browser::{form_fields, Browser};
use crate::endpoints::http::{html_with_script, Reply};
use crate::endpoints::Ctx;
use crate::protocol::error::OAuthResult;
use crate::protocol::passkey::{expected, CreationOptions, Passkey, PasskeyMachine, PasskeyOp, PasskeyReply};
use crate::protocol::user::UserRecord;
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
    let id = crate::protocol::handle::sealed_id(handle)?;
    let expect = expected(&ctx.issuer, id)?;
    let rp_name = expect.rp_id.clone();
    Some(CreationOptions::new(&expect, &rp_name, &user.sub, &user.username, display_name(user), existing))
}
