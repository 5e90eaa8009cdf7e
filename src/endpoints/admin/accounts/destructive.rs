//! The Users section's destructive actions: resetting a password,
//! granting or revoking the administrator role, deleting. Each needs a
//! recent sign-in ([`Admin::recent`]): its GET page (the form, or the
//! confirmation that says what it ends) asks for it before anything is
//! typed, and its post again. An administrator can neither revoke their
//! own role nor delete their own account here, so as not to lock
//! themselves (and maybe everyone) out.

use super::super::Admin;
use super::actions::{accepted, done, refuse};
use super::{purpose, user_path, REFUSED, SECTION};
use crate::endpoints::http::{html, redirect, Reply};
use crate::endpoints::user_changes::{delete_user, update_user};
use crate::endpoints::Ctx;
use crate::protocol::params::Params;
use crate::protocol::user::{UserRecord, UserUpdate};
use crate::protocol::user_form::{password_from_form, FieldErrors};
use crate::ui::admin::{confirm_page, Confirm, Notice};
use crate::ui::admin_accounts::{password_page, Field, PasswordView};

/// The password form as shown again: why, and what was posted.
#[derive(Default)]
pub(super) struct Shown<'a> {
    alert: Option<&'a str>,
    error: Option<&'a str>,
    revoke_grants: bool,
}

/// `GET …/password`: the reset form (after a recent sign-in).
pub(super) async fn password_form(
    ctx: &Ctx,
    admin: &mut Admin,
    user: &UserRecord,
    shown: Shown<'_>,
    status: u16,
) -> Reply {
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
        password: Field::password(true, shown.error),
        revoke_grants: shown.revoke_grants,
    };
    let notice = shown.alert.map(Notice::Failed);
    html(
        status,
        password_page(admin.shell(SECTION, &sign_out, notice), &view),
        &admin.browser.cookies,
    )
}

/// `POST …/password`: a new password; every session of the user ends (as
/// with the JSON API), and with `revoke_grants` every grant too.
pub(super) async fn password(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
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
    let user = update_user(ctx, Some(&admin.actor()), user, update).await?;
    done(admin, &user, "password")
}

/// Revoking one's own role is refused here: the last administrator would
/// lock everyone out (another administrator, or the admin token, can).
const OWN_ROLE: &str = "You cannot revoke your own administrator role: another administrator can.";

/// `GET …/admin`: grant or revoke the role, asked once more.
pub(super) async fn role_form(ctx: &Ctx, admin: &mut Admin, user: &UserRecord) -> Reply {
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
    html(
        200,
        confirm_page(admin.shell(SECTION, &sign_out, None), &page),
        &admin.browser.cookies,
    )
}

/// `POST …/admin`: the role as the confirmation said (`role=grant|revoke`).
pub(super) async fn role(ctx: &Ctx, admin: &mut Admin, params: &Params, user: UserRecord) -> Reply {
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
    let user = update_user(ctx, Some(&admin.actor()), user, update).await?;
    done(admin, &user, if grant { "admin-granted" } else { "admin-revoked" })
}

/// Deleting one's own account is refused here, as revoking one's own role is.
const OWN_ACCOUNT: &str = "You cannot delete your own account here: another administrator can.";

/// `GET …/delete`: what deleting ends, asked once more.
pub(super) async fn delete_form(ctx: &Ctx, admin: &mut Admin, user: &UserRecord) -> Reply {
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
    html(
        200,
        confirm_page(admin.shell(SECTION, &sign_out, None), &page),
        &admin.browser.cookies,
    )
}

/// `POST …/delete`: the user deleted as the JSON API deletes one.
pub(super) async fn delete(ctx: &Ctx, admin: &mut Admin, params: &Params, user: &UserRecord) -> Reply {
    if let Err(to_login) = admin.recent(ctx, &format!("{}/delete", user_path(&user.username))) {
        return to_login;
    }
    if !accepted(ctx, admin, params, purpose::DELETE, user).await? {
        return refuse(ctx, admin, user, REFUSED).await;
    }
    if user.sub == admin.user.sub {
        return refuse(ctx, admin, user, OWN_ACCOUNT).await;
    }
    delete_user(ctx, &admin.actor(), user).await?;
    redirect(true, "/admin/accounts?done=deleted", &admin.browser.cookies)
}
