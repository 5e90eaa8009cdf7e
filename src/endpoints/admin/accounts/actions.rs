//! The Users section's posts, and the pages that ask for the destructive
//! ones first. Each post carries a form of its own purpose, for the user
//! it is about ([`Admin::accept`]); a refused one changes nothing and shows
//! the page again (400). Resetting a password, changing the administrator
//! role and deleting need a recent sign-in ([`Admin::recent`]): their GET
//! pages ask for it before anything is typed, and their posts again. What
//! is done goes to the audit log with the contract's action names, and
//! the answer is a 303 to the page that says so (a reload posts nothing).

use super::super::{audit, not_allowed, not_found, Admin, ConsolePage};
use super::{new_form, purpose, user_path, view, PostedClaims, REFUSED, SECTION};
use crate::endpoints::account::enroll::link;
use crate::endpoints::http::{html, redirect, Reply};
use crate::endpoints::sessions;
use crate::endpoints::user_changes::{create_user, delete_user, end_sessions, update_user, withdraw_consent, TAKEN};
use crate::endpoints::Ctx;
use crate::protocol::error::OAuthResult;
use crate::protocol::params::Params;
use crate::protocol::user::{UserRecord, UserUpdate};
use crate::protocol::user_form::{claims_from_form, new_user_from_form, password_from_form, FieldErrors};
use crate::ui::admin::{confirm_page, Confirm, Notice};
use crate::ui::admin_accounts::{link_page, password_page, LinkView, PasswordView};
use crate::ui::date_time;

/// The posts (and confirmation pages) of `user`'s sub-paths.
pub async fn handle(ctx: &Ctx, admin: &mut Admin, page: &ConsolePage, user: UserRecord, action: &str) -> Reply {
    let params = &page.params;
    match (action, page.post) {
        ("/claims", true) => claims(ctx, admin, params, user).await,
        ("/password", false) => password_form(ctx, admin, &user, Shown::default(), 200).await,
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
async fn accepted(
    ctx: &Ctx,
    admin: &Admin,
    params: &Params,
    purpose: &'static str,
    user: &UserRecord,
) -> OAuthResult<bool> {
    Ok(admin.accept(ctx, params, purpose).await?.as_deref() == Some(user.username.as_str()))
}

/// Back to `user`'s page, saying `done`.
fn done(admin: &Admin, user: &UserRecord, done: &str) -> Reply {
    let to = format!("{}?done={done}", user_path(&user.username));
    redirect(true, &to, &admin.browser.cookies)
}

/// `user`'s page again, saying why nothing was done.
async fn refuse(ctx: &Ctx, admin: &mut Admin, user: &UserRecord, alert: &str) -> Reply {
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
    let user = match create_user(ctx, new).await {
        Ok(user) => user,
        Err(e) if e.status == 409 => {
            let mut errors = FieldErrors::default();
            errors.add("username", TAKEN);
            return new_form(ctx, admin, params, &errors, None, 409).await;
        }
        Err(e) => return Err(e),
    };
    let passkey_only = user.password.is_none();
    let detail = passkey_only.then_some("without a password; enrollment link issued");
    audit::record(ctx, &admin.actor(), "user.create", &user.username, detail).await;
    if passkey_only {
        return link_shown(ctx, admin, &user, true).await;
    }
    done(admin, &user, "created")
}

/// The page that shows a new enrollment link for `user`, once.
async fn link_shown(ctx: &Ctx, admin: &mut Admin, user: &UserRecord, created: bool) -> Reply {
    let (url, expires_at) = link(ctx, user).await?;
    let sign_out = admin.sign_out_form(ctx).await?;
    let path = user_path(&user.username);
    let view = LinkView {
        username: &user.username,
        path: &path,
        url: &url,
        expires: date_time(expires_at),
        created,
    };
    html(200, link_page(admin.shell(SECTION, &sign_out, None), &view), &admin.browser.cookies)
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
    let user = update_user(ctx, user, update).await?;
    audit::record(ctx, &admin.actor(), "user.update", &user.username, Some("claims")).await;
    done(admin, &user, "claims")
}

/// The password form as shown again: why, and what was posted.
#[derive(Default)]
struct Shown<'a> {
    alert: Option<&'a str>,
    error: Option<&'a str>,
    revoke_grants: bool,
}

/// `GET …/password`: the reset form (after a recent sign-in).
async fn password_form(ctx: &Ctx, admin: &mut Admin, user: &UserRecord, shown: Shown<'_>, status: u16) -> Reply {
    let path = user_path(&user.username);
    let action = format!("{path}/password");
    if let Err(to_login) = admin.recent(ctx, &action) {
        return to_login;
    }
    let fields = admin.form(ctx, purpose::PASSWORD, &user.username).await?;
    let sign_out = admin.sign_out_form(ctx).await?;
    let view = PasswordView {
        username: &user.username,
        path: &path,
        form: fields.context(&action),
        error: shown.error,
        revoke_grants: shown.revoke_grants,
    };
    let notice = shown.alert.map(Notice::Failed);
    html(status, password_page(admin.shell(SECTION, &sign_out, notice), &view), &admin.browser.cookies)
}

/// `POST …/password`: a new password; every session of the user ends (as
/// with the JSON API), and with `revoke_grants` every grant too.
async fn password(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
    if let Err(to_login) = admin.recent(ctx, &format!("{}/password", user_path(&user.username))) {
        return to_login;
    }
    let revoke_grants = params.get("revoke_grants").is_some();
    if !accepted(ctx, admin, params, purpose::PASSWORD, &user).await? {
        let shown = Shown {
            alert: Some(REFUSED),
            revoke_grants,
            ..Shown::default()
        };
        return password_form(ctx, admin, &user, shown, 400).await;
    }
    let mut errors = FieldErrors::default();
    let Some(password) = password_from_form(params, "password", &mut errors) else {
        let shown = Shown {
            error: errors.get("password"),
            revoke_grants,
            ..Shown::default()
        };
        return password_form(ctx, admin, &user, shown, 400).await;
    };
    let update = UserUpdate {
        password: Some(password),
        revoke_grants,
        ..UserUpdate::default()
    };
    let user = update_user(ctx, user, update).await?;
    let detail = revoke_grants.then_some("grants revoked too");
    audit::record(ctx, &admin.actor(), "user.password", &user.username, detail).await;
    done(admin, &user, "password")
}

/// Revoking one's own role is refused here: the last administrator would
/// lock everyone out (another administrator, or the admin token, can).
const OWN_ROLE: &str = "You cannot revoke your own administrator role: another administrator can.";

/// `GET …/admin`: grant or revoke the role, asked once more.
async fn role_form(ctx: &Ctx, admin: &mut Admin, user: &UserRecord) -> Reply {
    let path = user_path(&user.username);
    let action = format!("{path}/admin");
    if let Err(to_login) = admin.recent(ctx, &action) {
        return to_login;
    }
    if user.admin && user.sub == admin.user.sub {
        return refuse(ctx, admin, user, OWN_ROLE).await;
    }
    let fields = admin.form(ctx, purpose::ROLE, &user.username).await?;
    let sign_out = admin.sign_out_form(ctx).await?;
    let (title, lead, consequences, role, button): (&str, String, &[&str], &str, &str) = if user.admin {
        (
            "Revoke the administrator role",
            format!("{} will no longer be an administrator.", user.username),
            &["Their console sessions end at their next request: every console page refuses them (403)."],
            "revoke",
            "Revoke the role",
        )
    } else {
        (
            "Grant the administrator role",
            format!("{} will be an administrator.", user.username),
            &[
                "They can sign in to this console and do everything you can: manage clients, users and keys, and grant or revoke this role.",
            ],
            "grant",
            "Grant the role",
        )
    };
    let page = Confirm {
        title,
        lead: &lead,
        consequences,
        form: fields.context(&action),
        step: "admin",
        fields: &[("role", role)],
        button,
        back: &path,
    };
    html(200, confirm_page(admin.shell(SECTION, &sign_out, None), &page), &admin.browser.cookies)
}

/// `POST …/admin`: the role as the confirmation said (`role=grant|revoke`).
async fn role(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
    if let Err(to_login) = admin.recent(ctx, &format!("{}/admin", user_path(&user.username))) {
        return to_login;
    }
    let grant = match params.get("role") {
        Some("grant") => true,
        Some("revoke") => false,
        _ => return refuse(ctx, admin, &user, REFUSED).await,
    };
    if !accepted(ctx, admin, params, purpose::ROLE, &user).await? {
        return refuse(ctx, admin, &user, REFUSED).await;
    }
    if !grant && user.sub == admin.user.sub {
        return refuse(ctx, admin, &user, OWN_ROLE).await;
    }
    let update = UserUpdate {
        admin: Some(grant),
        ..UserUpdate::default()
    };
    let user = update_user(ctx, user, update).await?;
    let (detail, said) = if grant { ("granted", "admin-granted") } else { ("revoked", "admin-revoked") };
    audit::record(ctx, &admin.actor(), "user.admin", &user.username, Some(detail)).await;
    done(admin, &user, said)
}

/// `POST …/sessions`: `step=end` ends the posted `session`; `step=end-all`
/// ends every one (`session_epoch`), listed or not.
async fn end(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
    let all = match params.get("step") {
        Some("end") => false,
        Some("end-all") => true,
        _ => return refuse(ctx, admin, &user, REFUSED).await,
    };
    let purpose = if all { purpose::SESSIONS } else { purpose::SESSION };
    if !accepted(ctx, admin, params, purpose, &user).await? {
        return refuse(ctx, admin, &user, REFUSED).await;
    }
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
    let all = match params.get("step") {
        Some("revoke") => false,
        Some("revoke-all") => true,
        _ => return refuse(ctx, admin, &user, REFUSED).await,
    };
    let purpose = if all { purpose::GRANTS } else { purpose::CONSENT };
    if !accepted(ctx, admin, params, purpose, &user).await? {
        return refuse(ctx, admin, &user, REFUSED).await;
    }
    if all {
        let update = UserUpdate {
            revoke_grants: true,
            ..UserUpdate::default()
        };
        let user = update_user(ctx, user, update).await?;
        audit::record(ctx, &admin.actor(), "user.grants", &user.username, None).await;
        return done(admin, &user, "grants");
    }
    let client_id = params.get("client_id").unwrap_or_default();
    if !withdraw_consent(ctx, &user.sub, client_id).await? {
        return refuse(ctx, admin, &user, "That app does not have the user's consent (any more).").await;
    }
    audit::record(ctx, &admin.actor(), "user.consent", &user.username, Some(client_id)).await;
    done(admin, &user, "consent")
}

/// `POST …/enrollment`: a new one-time enrollment link, shown once.
async fn enrollment(ctx: &Ctx, admin: &mut Admin, params: &Params, user: &UserRecord) -> Reply {
    if !accepted(ctx, admin, params, purpose::ENROLLMENT, user).await? {
        return refuse(ctx, admin, user, REFUSED).await;
    }
    audit::record(ctx, &admin.actor(), "user.enrollment", &user.username, None).await;
    link_shown(ctx, admin, user, false).await
}

/// Deleting one's own account is refused here, as revoking one's own role is.
const OWN_ACCOUNT: &str = "You cannot delete your own account here: another administrator can.";

/// `GET …/delete`: what deleting ends, asked once more.
async fn delete_form(ctx: &Ctx, admin: &mut Admin, user: &UserRecord) -> Reply {
    let path = user_path(&user.username);
    let action = format!("{path}/delete");
    if let Err(to_login) = admin.recent(ctx, &action) {
        return to_login;
    }
    if user.sub == admin.user.sub {
        return refuse(ctx, admin, user, OWN_ACCOUNT).await;
    }
    let fields = admin.form(ctx, purpose::DELETE, &user.username).await?;
    let sign_out = admin.sign_out_form(ctx).await?;
    let title = format!("Delete {}", user.username);
    let page = Confirm {
        title: &title,
        lead: "The account is deleted at once, for good. This ends:",
        consequences: &[
            "every session of the user, in every browser;",
            "every app's access: their refresh and access tokens stop working;",
            "their passkeys and their links to accounts elsewhere;",
            "the username's hold: an account made again under it is a different person (a new sub).",
        ],
        form: fields.context(&action),
        step: "delete",
        fields: &[],
        button: "Delete the user",
        back: &path,
    };
    html(200, confirm_page(admin.shell(SECTION, &sign_out, None), &page), &admin.browser.cookies)
}

/// `POST …/delete`: the user deleted as the JSON API deletes one.
async fn delete(ctx: &Ctx, admin: &mut Admin, params: &Params, user: &UserRecord) -> Reply {
    if let Err(to_login) = admin.recent(ctx, &format!("{}/delete", user_path(&user.username))) {
        return to_login;
    }
    if !accepted(ctx, admin, params, purpose::DELETE, user).await? {
        return refuse(ctx, admin, user, REFUSED).await;
    }
    if user.sub == admin.user.sub {
        return refuse(ctx, admin, user, OWN_ACCOUNT).await;
    }
    delete_user(ctx, user).await?;
    audit::record(ctx, &admin.actor(), "user.delete", &user.username, None).await;
    redirect(true, "/admin/accounts?done=deleted", &admin.browser.cookies)
}
