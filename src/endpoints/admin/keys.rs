//! `/admin/signing-keys`: the published signing keys with their ages and
//! states, the next scheduled rotation, and the two rotations of
//! `POST /admin/keys/rotate` (scheduled; suspected compromise), each asked
//! once more on a page of its own and behind a recent sign-in.

use super::audit;
use super::{not_allowed, not_found, Admin, ConsolePage};
use crate::endpoints::http::{html, redirect, Reply};
use crate::endpoints::Ctx;
use crate::protocol::error::{invalid_request, OAuthResult};
use crate::protocol::keys::SigningKey;
use crate::store::keys;
use crate::ui::admin::{confirm_page, keys_page, Confirm, KeyRow, KeysView, Notice};
use crate::ui::{date, date_time};

const ROTATE: &str = "admin:keys:rotate";
const ROTATE_PATH: &str = "/admin/signing-keys/rotate";

pub async fn handle(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, rest: &str) -> Reply {
    match (rest, page.post) {
        ("", false) => show(ctx, admin, page.params.get("done")).await,
        ("/rotate", false) => confirm(ctx, admin, page.params.get("reason").unwrap_or_default()).await,
        ("/rotate", true) => rotate(ctx, admin, page).await,
        ("", true) => Err(not_allowed()),
        _ => Err(not_found()),
    }
}

/// `reason` as `POST /admin/keys/rotate` takes it: compromised or not.
fn compromised(reason: &str) -> OAuthResult<bool> {
    match reason {
        "scheduled" => Ok(false),
        "compromise" => Ok(true),
        _ => Err(invalid_request(
            "A rotation is either scheduled or for a suspected compromise.",
        )),
    }
}

fn refuse_managed(ctx: &Ctx) -> OAuthResult<()> {
    if ctx.config.signing_keys.is_some() {
        return Err(
            invalid_request("The signing keys come from the SIGNING_KEYS secret: rotate them there.").with_status(409),
        );
    }
    Ok(())
}

async fn show(ctx: &Ctx, admin: &mut Admin, done: Option<&str>) -> Reply {
    let ring = keys::ring(&ctx.env, &ctx.config, ctx.now).await?;
    let interval = ctx.config.key_rotation_interval;
    let rows: Vec<KeyRow> = ring.keys.iter().map(|k| row(ctx, k)).collect();
    let managed = ctx.config.signing_keys.is_some();
    let view = KeysView {
        keys: &rows,
        managed,
        interval_days: interval.div_ceil(86_400),
        next_rotation: ring.next_rotation(interval).filter(|_| !managed).map(date_time),
    };
    let notice = match done {
        Some("scheduled") => Some(Notice::Done(
            "The signing keys have been replaced. The old ones stay published until what they signed has expired.",
        )),
        Some("compromise") => Some(Notice::Done(
            "The signing keys have been replaced and the old ones removed: what they signed is no longer accepted.",
        )),
        _ => None,
    };
    let sign_out = admin.sign_out_form(ctx).await?;
    html(
        200,
        keys_page(admin.shell("keys", &sign_out, notice), &view),
        &admin.browser.cookies,
    )
}

fn row(ctx: &Ctx, key: &SigningKey) -> KeyRow {
    let days = ctx.now.saturating_sub(key.created_at) / 86_400;
    let state = match key.retired_at {
        None => "signs new tokens".to_owned(),
        Some(at) => {
            let until = at + ctx.config.max_signed_token_ttl() + keys::cache_ttl(&ctx.config);
            format!("replaced {}; verifies until {}", date(at), date_time(until))
        }
    };
    KeyRow {
        alg: key.alg.as_str(),
        kid: key.kid.clone(),
        created: date(key.created_at),
        age: match days {
            0 => "less than a day".to_owned(),
            1 => "1 day".to_owned(),
            n => format!("{n} days"),
        },
        state,
    }
}

/// `GET /admin/signing-keys/rotate?reason=…`: what the rotation does,
/// and its form.
async fn confirm(ctx: &Ctx, admin: &mut Admin, reason: &str) -> Reply {
    refuse_managed(ctx)?;
    let compromise = compromised(reason)?;
    if let Err(sign_in) = admin.recent(ctx, &format!("{ROTATE_PATH}?reason={reason}")) {
        return sign_in;
    }
    let consequences: &[&str] = if compromise {
        &[
            "Every signing key is replaced, and the old ones are removed from /jwks.json at once.",
            "Every access and ID token they signed stops working (userinfo answers 401, introspection inactive).",
            "Every open sign-in, consent, logout or console form must be sent again (the form secret is replaced).",
            "Sessions and refresh tokens are not affected: revoke those per user if they may be exposed too.",
        ]
    } else {
        &[
            "Every signing key is replaced; new tokens are signed with the new keys.",
            "The old keys stay published, and keep verifying what they signed until it expires.",
        ]
    };
    let fields = admin.form(ctx, ROTATE, reason).await?;
    let sign_out = admin.sign_out_form(ctx).await?;
    let title = if compromise {
        "Rotate the signing keys after a suspected compromise"
    } else {
        "Rotate the signing keys"
    };
    let page = Confirm {
        title,
        lead: "This cannot be undone.",
        consequences,
        form: fields.context(ROTATE_PATH),
        step: "rotate",
        fields: &[],
        button: if compromise {
            "Replace and remove the old keys"
        } else {
            "Replace the keys"
        },
        back: "/admin/signing-keys",
    };
    html(
        200,
        confirm_page(admin.shell("keys", &sign_out, None), &page),
        &admin.browser.cookies,
    )
}

/// `POST /admin/signing-keys/rotate`: the confirmed rotation.
async fn rotate(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage) -> Reply {
    refuse_managed(ctx)?;
    let Some(reason) = admin.accept(ctx, &page.params, ROTATE).await? else {
        return Err(invalid_request(
            "This form has expired, was already sent, or did not come from this page. Nothing was changed.",
        ));
    };
    let compromise = compromised(&reason)?;
    if let Err(sign_in) = admin.recent(ctx, &format!("{ROTATE_PATH}?reason={reason}")) {
        return sign_in;
    }
    keys::rotate(&ctx.env, &ctx.config, ctx.now, compromise).await?;
    audit::record(ctx, &admin.actor(), "keys.rotate", "", Some(&reason)).await;
    redirect(
        true,
        &format!("/admin/signing-keys?done={reason}"),
        &admin.browser.cookies,
    )
}
