//! The Users section's posts (the destructive ones and the pages that ask
//! for them first are in `destructive`). Each post carries a form of its
//! own purpose, for the user it is about ([`Admin::accept`]); a refused one
//! changes nothing and shows the page again (400). What is done goes to
//! the audit log with the contract's action names, and the answer is a 303
//! to the page that says so (a reload posts nothing).

use super::super::{audit, not_allowed, not_found, Admin, ConsolePage};
use super::destructive::{delete, delete_form, password, password_form, role, role_form};
use super::{new_form, purpose, user_path, view, PostedClaims, REFUSED, SECTION};
use crate::endpoints::account::enroll::link;
use crate::endpoints::http::{html, redirect, Reply};
use crate::endpoints::sessions;
use crate::endpoints::user_changes::{
    create_user, end_sessions, enrollment_link, update_user, withdraw_consent, TAKEN,
};
use crate::endpoints::Ctx;
use crate::protocol::error::OAuthResult;
use crate::protocol::params::Params;
use crate::protocol::user::{UserRecord, UserUpdate};
use crate::protocol::user_form::{claims_from_form, new_user_from_form, FieldErrors};
use crate::ui::admin::Notice;
use crate::ui::admin_accounts::{link_page, LinkView};
use crate::ui::date_time;

/// The posts (and confirmation pages) of `user`'s sub-paths.
pub async fn handle(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, user: UserRecord, action: &str) -> Reply {
    let params = &page.params;
    match (action, page.post) {
        ("/claims", true) => claims(ctx, admin, params, user).await,
        ("/password", false) => password_form(ctx, admin, &user, Default::default(), 200).await,
        ("/password", true) => password(ctx, admin, params, user).await,
        ("/admin", false) => role_form(ctx, admin, &user).await,
        ("/admin", true) => role(ctx, admin, params, user).await,
        ("/sessions", true) => end(ctx, admin, params, user).await,
        ("/grants", true) => revoke(ctx, admin, params, user).await,
        ("/enrollment", true) => enrollment(ctx, admin, params, &user).await,
        ("/delete", false) => delete_form(ctx, admin, &user).await,
        ("/delete", true) => delete(ctx, admin, params, &user).await,
        ("" | "/claims" | "/sessions" | "/grants" | "/enrollment", _) => Err(not_allowed()),
        _ => Err(not_found()),
    }
}

/// Whether the posted form is one for `purpose` on `user` (used up now).
pub(super) async fn accepted(
    ctx: &Ctx,
    admin: &Admin,
    params: &Params,
    purpose: &'static str,
    user: &UserRecord,
) -> OAuthResult<bool> {
    Ok(admin.accept(ctx, params, purpose).await?.as_deref() == Some(user.username.as_str()))
}

/// Back to `user`'s page, saying `done`.
pub(super) fn done(admin: &Admin, user: &UserRecord, done: &str) -> Reply {
    let to = format!("{}?done={done}", user_path(&user.username));
    redirect(true, &to, &admin.browser.cookies)
}

/// `user`'s page again, saying why nothing was done.
pub(super) async fn refuse(ctx: &Ctx, admin: &mut Admin, user: &UserRecord, alert: &str) -> Reply {
    view(ctx, admin, user, Some(Notice::Failed(alert)), None, 400).await
}

/// `POST /admin/accounts/new`: the account the form describes, checked as
/// the JSON API checks it. Without a password, the page shows its
/// one-time enrollment link (once: it is in no URL).
pub async fn create(ctx: &Ctx, admin: &mut Admin, params: &Params) -> Reply {
    let none = FieldErrors::default();
    if admin.accept(ctx, params, purpose::CREATE).await?.is_none() {
        return new_form(ctx, admin, params, &none, Some(REFUSED), 400).await;
    }
    let new = match new_user_from_form(params) {
        Ok(new) => new,
        Err(errors) => return new_form(ctx, admin, params, &errors, None, 400).await,
    };
    let user = match create_user(ctx, &admin.actor(), new).await {
        Ok(user) => user,
        Err(e) if e.status == 409 => {
            let mut errors = FieldErrors::default();
            errors.add("username", TAKEN);
            return new_form(ctx, admin, params, &errors, None, 409).await;
        }
        Err(e) => return Err(e),
    };
    if user.password.is_none() {
        // Part of the creation (as with the JSON API): no entry of its own.
        let made = link(ctx, &user).await?;
        return link_shown(ctx, admin, &user, made, true).await;
    }
    done(admin, &user, "created")
}

/// The page that shows a new enrollment link for `user`, once.
async fn link_shown(
    ctx: &Ctx,
    admin: &mut Admin,
    user: &UserRecord,
    (url, expires_at): (String, u64),
    created: bool,
) -> Reply {
    let sign_out = admin.sign_out_form(ctx).await?;
    let path = user_path(&user.username);
    let view = LinkView {
        username: &user.username,
        path: &path,
        url: &url,
        expires: date_time(expires_at),
        created,
    };
    html(
        200,
        link_page(admin.shell(SECTION, &sign_out, None), &view),
        &admin.browser.cookies,
    )
}

/// `POST …/claims`: the claims, replaced as the JSON API's `claims` does.
async fn claims(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
    if !accepted(ctx, admin, params, purpose::CLAIMS, &user).await? {
        return refuse(ctx, admin, &user, REFUSED).await;
    }
    let mut errors = FieldErrors::default();
    let Some(claims) = claims_from_form(params, &mut errors) else {
        let posted = PostedClaims {
            params,
            errors: &errors,
        };
        return view(ctx, admin, &user, None, Some(posted), 400).await;
    };
    let update = UserUpdate {
        claims: Some(claims),
        ..UserUpdate::default()
    };
    let user = update_user(ctx, Some(&admin.actor()), user, update).await?;
    done(admin, &user, "claims")
}

/// Which of a path's two forms was posted: its `step` names the one (for
/// one session, one app) or the other (for all), each sealed for its own
/// purpose. `Some(true)` for all, `None` to refuse.
async fn one_or_all(
    ctx: &Ctx,
    admin: &Admin,
    params: &Params,
    user: &UserRecord,
    [(one, one_purpose), (all, all_purpose)]: [(&str, &'static str); 2],
) -> OAuthResult<Option<bool>> {
    let step = params.get("step");
    let all = match step {
        Some(s) if s == one => false,
        Some(s) if s == all => true,
        _ => return Ok(None),
    };
    let purpose = if all { all_purpose } else { one_purpose };
    Ok(accepted(ctx, admin, params, purpose, user).await?.then_some(all))
}

/// `POST …/sessions`: `step=end` ends the posted `session`; `step=end-all`
/// ends every one (`session_epoch`), listed or not.
async fn end(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
    let steps = [("end", purpose::SESSION), ("end-all", purpose::SESSIONS)];
    let Some(all) = one_or_all(ctx, admin, params, &user, steps).await? else {
        return refuse(ctx, admin, &user, REFUSED).await;
    };
    if all {
        let user = end_sessions(ctx, user).await?;
        audit::record(ctx, &admin.actor(), "user.sessions", &user.username, None).await;
        return done(admin, &user, "sessions");
    }
    let session = params.get("session").unwrap_or_default();
    if !sessions::end_one(ctx, &user, session).await? {
        return refuse(ctx, admin, &user, "That session has already ended.").await;
    }
    audit::record(ctx, &admin.actor(), "user.session", &user.username, None).await;
    done(admin, &user, "session")
}

/// `POST …/grants`: `step=revoke` withdraws the consent to the posted
/// `client_id` (as the account page's "withdraw" does); `step=revoke-all`
/// revokes every grant (the JSON API's `revoke_grants`), which ends the
/// user's sessions too.
async fn revoke(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
    let steps = [("revoke", purpose::CONSENT), ("revoke-all", purpose::GRANTS)];
    let Some(all) = one_or_all(ctx, admin, params, &user, steps).await? else {
        return refuse(ctx, admin, &user, REFUSED).await;
    };
    if all {
        let update = UserUpdate {
            revoke_grants: true,
            ..UserUpdate::default()
        };
        let user = update_user(ctx, Some(&admin.actor()), user, update).await?;
        return done(admin, &user, "grants");
    }
    let client_id = params.get("client_id").unwrap_or_default();
    if !withdraw_consent(ctx, &user.sub, client_id).await? {
        return refuse(
            ctx,
            admin,
            &user,
            "That app does not have the user's consent (any more).",
        )
        .await;
    }
    audit::record(ctx, &admin.actor(), "user.consent", &user.username, Some(client_id)).await;
    done(admin, &user, "consent")
}

/// `POST …/enrollment`: a new one-time enrollment link, shown once.
async fn enrollment(ctx: &Ctx, admin: &mut Admin, params: &Params, user: &UserRecord) -> Reply {
    if !accepted(ctx, admin, params, purpose::ENROLLMENT, user).await? {
        return refuse(ctx, admin, user, REFUSED).await;
    }
    let made = enrollment_link(ctx, &admin.actor(), user).await?;
    link_shown(ctx, admin, user, made, false).await
}
